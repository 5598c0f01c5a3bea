// Package kinesis reads a Kinesis Data Stream with GetRecords polling (no
// enhanced fan-out): it lists a stream's shards (ListShards, paginated),
// orders them so that a parent is read to its end before its children
// (Ready), and reads one shard at a time within the API's limits (Reader):
// at most 5 GetRecords calls a second per shard and one a second when idle,
// exponential back-off with jitter on throttling and server errors, expired
// iterators renewed after the last record returned, the end of a closed
// shard and "caught up" reported to the caller. Consumer puts these
// together for a whole stream.
//
// It hands records on as they are (shard, sequence number, arrival time,
// data): CloudFront real-time log records, one TSV line each, are parsed
// elsewhere. Checkpoints and leases are the caller's: a Reader starts where
// it is told (TRIM_HORIZON, AT_TIMESTAMP or AFTER_SEQUENCE_NUMBER) and
// reports every sequence number it returns.
package kinesis

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// API is the part of the Kinesis client this package uses; *kinesis.Client
// satisfies it, and tests fake it.
type API interface {
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, opts ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, opts ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

var _ API = (*kinesis.Client)(nil)

// Config says how to reach Kinesis. The credentials, the region and the
// endpoint come from the standard AWS configuration: environment, shared
// config and credentials files (AWS_PROFILE, SSO), web identity, container
// and instance roles. The endpoint of a Kinesis-compatible server (an
// emulator) is taken from AWS_ENDPOINT_URL_KINESIS (or AWS_ENDPOINT_URL,
// or endpoint_url in the shared config file), which the SDK resolves by
// itself.
type Config struct {
	// Region overrides the region of the AWS configuration. A stream named
	// by ARN is in the ARN's region (Stream.Region): pass it here.
	Region string
	// Endpoint overrides every endpoint setting (http://127.0.0.1:4568);
	// "" leaves the choice to the AWS configuration.
	Endpoint string
}

// NewClient returns a Kinesis client for cfg, built from the SDK's default
// configuration (config.LoadDefaultConfig), so that AWS_ENDPOINT_URL_KINESIS
// and the other standard settings apply. The SDK's own retries (3 attempts
// for throttling and connection errors) stay on; Reader and ListShards
// retry further with their own back-off.
func NewClient(ctx context.Context, cfg Config) (*kinesis.Client, error) {
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, fmt.Errorf("AWS configuration: no region (set AWS_REGION)")
	}
	return kinesis.NewFromConfig(awsCfg, func(o *kinesis.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	}), nil
}

// Stream names a stream: by name, or by ARN (arn:aws:kinesis:REGION:
// ACCOUNT:stream/NAME), exactly one of the two being set. An ARN is sent as
// StreamARN, a name as StreamName.
type Stream struct {
	Name string
	ARN  string
}

// Scheme is the prefix of a stream's URL.
const Scheme = "kinesis://"

// IsURL reports whether s names a Kinesis stream (kinesis://...).
func IsURL(s string) bool { return strings.HasPrefix(s, Scheme) }

var (
	// streamName is the API's pattern for StreamName (1 to 128 characters).
	streamName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,128}$`)
	// streamARN is the API's pattern for StreamARN, with the name's.
	streamARN = regexp.MustCompile(`^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/([a-zA-Z0-9_.-]{1,128})$`)
)

// ParseURL parses kinesis://NAME or kinesis://ARN into a Stream. A name is
// 1 to 128 of the characters a-z, A-Z, 0-9, '_', '.', '-'; an ARN is
// arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME. Nothing may follow (no
// path, query or trailing slash).
func ParseURL(s string) (Stream, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return Stream{}, fmt.Errorf("%q is not a kinesis:// URL", s)
	}
	switch {
	case rest == "":
		return Stream{}, fmt.Errorf("%q names no stream (kinesis://NAME or kinesis://arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)", s)
	case strings.HasPrefix(rest, "arn:"):
		if !streamARN.MatchString(rest) {
			return Stream{}, fmt.Errorf("%q: not a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)", s)
		}
		return Stream{ARN: rest}, nil
	case !streamName.MatchString(rest):
		return Stream{}, fmt.Errorf("%q: a stream name has 1 to 128 of the characters a-z A-Z 0-9 _ . -", s)
	}
	return Stream{Name: rest}, nil
}

// String is the stream's URL: kinesis://NAME or kinesis://ARN.
func (s Stream) String() string {
	if s.ARN != "" {
		return Scheme + s.ARN
	}
	return Scheme + s.Name
}

// StreamName is the stream's name, from the ARN when named by ARN.
func (s Stream) StreamName() string {
	if m := streamARN.FindStringSubmatch(s.ARN); m != nil {
		return m[1]
	}
	return s.Name
}

// Region is the region of a stream named by ARN, "" for a name.
func (s Stream) Region() string {
	if !streamARN.MatchString(s.ARN) {
		return ""
	}
	return strings.Split(s.ARN, ":")[3]
}

// ids returns the StreamName and StreamARN fields of a request.
func (s Stream) ids() (name, arn *string) {
	if s.ARN != "" {
		return nil, aws.String(s.ARN)
	}
	return aws.String(s.Name), nil
}

// CompareSequence compares two sequence numbers of one shard (decimal
// strings of up to 128 digits, without leading zeros): -1 when a comes
// before b, 0 when equal, +1 after.
func CompareSequence(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}
