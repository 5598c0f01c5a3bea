// Package s3src reads logs from S3: it lists the objects under a prefix
// (skipping, by the time in CloudFront's key names and partitions, what lies
// outside a time range), opens them as streams (no temporary files; a read
// cut short is resumed with a ranged request on the same ETag), and deletes
// or moves them once delivered.
package s3src

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trackless/trackless/internal/input"
)

// Config says how to reach S3. The credentials and the region come from the
// standard AWS chain: environment, shared config and credentials files
// (AWS_PROFILE, SSO), web identity, container and instance roles.
type Config struct {
	// Endpoint is the URL of an S3-compatible server (http://127.0.0.1:7070);
	// "" is AWS.
	Endpoint string
	// PathStyle addresses buckets as ENDPOINT/BUCKET/KEY rather than
	// BUCKET.ENDPOINT/KEY, as most S3-compatible servers need.
	PathStyle bool
	// Region overrides the region of the AWS configuration.
	Region string
	// ResponseTimeout is how long a request waits for the answer's headers
	// once it is sent (a body is not bounded: a large object streams for
	// as long as it takes); 0 is DefaultResponseTimeout. A server that
	// takes the connection and never answers (a wrong endpoint, a
	// firewall, a proxy) fails the request, retried by the SDK, instead of
	// holding the run for ever.
	ResponseTimeout time.Duration
}

// DefaultResponseTimeout is Config.ResponseTimeout's default.
const DefaultResponseTimeout = 30 * time.Second

// NewClient returns an S3 client for cfg.
func NewClient(ctx context.Context, cfg Config) (*s3.Client, error) {
	timeout := cfg.ResponseTimeout
	if timeout <= 0 {
		timeout = DefaultResponseTimeout
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.ResponseHeaderTimeout = timeout
	})
	opts := []func(*config.LoadOptions) error{config.WithHTTPClient(httpClient)}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1" // S3 answers with a redirect naming the right one
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// S3-compatible servers do not all check the newer checksums.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}), nil
}

// IsURL reports whether s names an S3 location (s3://bucket/...).
func IsURL(s string) bool { return strings.HasPrefix(s, "s3://") }

// ParseURL splits s3://bucket/prefix into its bucket and key prefix.
func ParseURL(s string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URL", s)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q names no bucket (s3://BUCKET/PREFIX)", s)
	}
	return bucket, prefix, nil
}

// Object is one object to read.
type Object struct {
	Bucket string
	Key    string
	ETag   string // without quotes; "" when unknown (Open then learns it)
	Size   int64
}

// Name is the object's name in messages and in the ledger: s3://bucket/key.
func (o Object) Name() string { return "s3://" + o.Bucket + "/" + o.Key }

// Identity is the object's ledger identity.
func (o Object) Identity() *input.Identity {
	return &input.Identity{Object: o.Name(), ETag: o.ETag, Size: o.Size}
}

// HeadAPI is the part of the S3 client Head uses.
type HeadAPI interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// Head fills in the ETag and size of o.
func Head(ctx context.Context, c HeadAPI, o Object) (Object, error) {
	out, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &o.Bucket, Key: &o.Key})
	if err != nil {
		return o, fmt.Errorf("%s: %w", o.Name(), err)
	}
	o.ETag = strings.Trim(aws.ToString(out.ETag), `"`)
	o.Size = aws.ToInt64(out.ContentLength)
	return o, nil
}

// ErrChanged says that an object is no longer the one listed or notified:
// it was overwritten (another ETag) since.
var ErrChanged = input.ErrSuperseded

// Open opens o as an input whose identity is its name and ETag. The body is
// streamed; when the connection breaks, reading resumes where it stopped
// with a ranged GET of the same ETag (up to 3 times in a row).
func Open(ctx context.Context, c *s3.Client, o Object) (*input.Input, error) {
	r := &objectReader{ctx: ctx, c: c, o: o}
	if err := r.get(0); err != nil {
		if IsPreconditionFailed(err) {
			err = ErrChanged
		}
		return nil, fmt.Errorf("%s: %w", o.Name(), err)
	}
	o = r.o
	return input.FromStream(o.Name(), r, o.Identity(), o.Size)
}

// objectReader reads an object, resuming a broken body with a ranged GET.
type objectReader struct {
	ctx     context.Context
	c       *s3.Client
	o       Object
	body    io.ReadCloser
	off     int64
	retries int
}

func (r *objectReader) get(off int64) error {
	in := &s3.GetObjectInput{Bucket: &r.o.Bucket, Key: &r.o.Key}
	if r.o.ETag != "" {
		in.IfMatch = aws.String(`"` + r.o.ETag + `"`)
	}
	if off > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
	}
	out, err := r.c.GetObject(r.ctx, in)
	if err != nil {
		return err
	}
	got := strings.Trim(aws.ToString(out.ETag), `"`)
	switch {
	case r.o.ETag == "":
		r.o.ETag = got
	case got != "" && got != r.o.ETag:
		// Not every S3-compatible server honours If-Match on GET.
		out.Body.Close()
		return ErrChanged
	}
	if off == 0 && out.ContentLength != nil {
		r.o.Size = *out.ContentLength
	}
	r.body = out.Body
	return nil
}

func (r *objectReader) Read(p []byte) (int, error) {
	for {
		n, err := r.body.Read(p)
		r.off += int64(n)
		if err == nil || err == io.EOF {
			if n > 0 {
				r.retries = 0
			}
			if err == io.EOF && r.o.Size > 0 && r.off < r.o.Size {
				err = io.ErrUnexpectedEOF // cut short: resume below
			} else {
				return n, err
			}
		}
		if n > 0 {
			return n, nil // report the error on the next call
		}
		if r.ctx.Err() != nil || r.retries >= 3 {
			return 0, fmt.Errorf("reading %s at byte %d: %w", r.o.Name(), r.off, err)
		}
		r.retries++
		r.body.Close()
		if gerr := r.get(r.off); gerr != nil {
			if IsPreconditionFailed(gerr) || errors.Is(gerr, ErrChanged) {
				return 0, fmt.Errorf("reading %s at byte %d: %w", r.o.Name(), r.off, ErrChanged)
			}
			return 0, fmt.Errorf("reading %s at byte %d: %v; resuming: %w", r.o.Name(), r.off, err, gerr)
		}
	}
}

func (r *objectReader) Close() error {
	if r.body == nil {
		return nil
	}
	return r.body.Close()
}

// Delete deletes o, only if it is still the version read (same ETag).
func Delete(ctx context.Context, c *s3.Client, o Object) error {
	in := &s3.DeleteObjectInput{Bucket: &o.Bucket, Key: &o.Key}
	if o.ETag != "" {
		in.IfMatch = aws.String(`"` + o.ETag + `"`)
	}
	if _, err := c.DeleteObject(ctx, in); err != nil && !IsNotFound(err) {
		return fmt.Errorf("deleting %s: %w", o.Name(), err)
	}
	return nil
}

// Move copies o to dest (s3://bucket/prefix/: the key's part after
// fromPrefix is appended to it), then deletes o. The copy is of the version
// read: a changed object is not copied.
func Move(ctx context.Context, c *s3.Client, o Object, fromPrefix, dest string) error {
	db, dp, err := ParseURL(dest)
	if err != nil {
		return err
	}
	// Whole path segments: listed under "in" or "in/", moved to "done" or
	// "done/", in/2026/x.gz becomes done/2026/x.gz.
	rel := strings.TrimPrefix(strings.TrimPrefix(o.Key, fromPrefix), "/")
	if dp != "" && !strings.HasSuffix(dp, "/") {
		dp += "/"
	}
	src := o.Bucket + "/" + escapeKey(o.Key)
	in := &s3.CopyObjectInput{Bucket: &db, Key: aws.String(dp + rel), CopySource: &src}
	if o.ETag != "" {
		in.CopySourceIfMatch = aws.String(`"` + o.ETag + `"`)
	}
	if _, err := c.CopyObject(ctx, in); err != nil {
		return fmt.Errorf("moving %s to s3://%s/%s: %w", o.Name(), db, dp+rel, err)
	}
	return Delete(ctx, c, o)
}

// escapeKey escapes a key for CopySource, keeping its slashes.
func escapeKey(k string) string {
	parts := strings.Split(k, "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(url.QueryEscape(p), "+", "%20") // '+' itself is %2B
	}
	return strings.Join(parts, "/")
}

// KeyTime returns the hour a CloudFront log object holds, from its key: the
// file name DIST.YYYY-MM-DD-HH.ID[.gz] (standard logs, legacy and v2) or the
// partition path .../YYYY/MM/DD/HH/... or .../year=YYYY/month=MM/day=DD/hour=HH/...
// (v2). ok is false when the key says neither.
func KeyTime(key string) (t time.Time, ok bool) {
	base := key[strings.LastIndexByte(key, '/')+1:]
	if parts := strings.Split(base, "."); len(parts) >= 3 {
		if t, err := time.Parse("2006-01-02-15", parts[1]); err == nil {
			return t, true
		}
	}
	from, to, ok := partitionRange(key[:strings.LastIndexByte(key, '/')+1])
	if ok && to.Sub(from) == time.Hour {
		return from, true
	}
	return time.Time{}, false
}

// partitionRange reads the date partitions of a key prefix: the time range
// [from, to) that every key under it lies in. ok is false when the prefix
// holds no year partition.
func partitionRange(prefix string) (from, to time.Time, ok bool) {
	segs := strings.Split(strings.TrimSuffix(prefix, "/"), "/")
	var vals []int
	names := []string{"year", "month", "day", "hour"}
	for _, s := range segs {
		want := len(vals)
		if want == 4 {
			break
		}
		v := s
		if name, val, hive := strings.Cut(s, "="); hive {
			if name != names[want] {
				if want > 0 {
					break
				}
				continue
			}
			v = val
		}
		n, okN := digits(v, want)
		if !okN {
			if want > 0 {
				break // a date must be contiguous
			}
			continue
		}
		vals = append(vals, n)
	}
	if len(vals) == 0 {
		return time.Time{}, time.Time{}, false
	}
	y, mo, d, h := vals[0], 1, 1, 0
	if len(vals) > 1 {
		mo = vals[1]
	}
	if len(vals) > 2 {
		d = vals[2]
	}
	if len(vals) > 3 {
		h = vals[3]
	}
	from = time.Date(y, time.Month(mo), d, h, 0, 0, 0, time.UTC)
	switch len(vals) {
	case 1:
		to = from.AddDate(1, 0, 0)
	case 2:
		to = from.AddDate(0, 1, 0)
	case 3:
		to = from.AddDate(0, 0, 1)
	default:
		to = from.Add(time.Hour)
	}
	return from, to, true
}

// digits parses a partition value: 4 digits for a year (1990-2999), 2 for
// the others, in range.
func digits(s string, level int) (int, bool) {
	want := 2
	if level == 0 {
		want = 4
	}
	if len(s) != want {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	switch level {
	case 0:
		return n, n >= 1990 && n < 3000
	case 1:
		return n, n >= 1 && n <= 12
	case 2:
		return n, n >= 1 && n <= 31
	default:
		return n, n <= 23
	}
}
