package kinesis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Position is where a Reader starts in its shard.
type Position struct {
	typ types.ShardIteratorType
	seq string
	ts  time.Time
}

// TrimHorizon starts at the oldest record still in the shard.
func TrimHorizon() Position { return Position{typ: types.ShardIteratorTypeTrimHorizon} }

// AtTimestamp starts at the first record that arrived at t or later
// (--since).
func AtTimestamp(t time.Time) Position {
	return Position{typ: types.ShardIteratorTypeAtTimestamp, ts: t}
}

// AfterSequence starts just after the record with sequence number seq of
// the shard (a checkpoint). The record must exist: kinesis-local refuses a
// number it never gave.
func AfterSequence(seq string) Position {
	return Position{typ: types.ShardIteratorTypeAfterSequenceNumber, seq: seq}
}

// AtSequence starts at the record with sequence number seq of the shard.
func AtSequence(seq string) Position {
	return Position{typ: types.ShardIteratorTypeAtSequenceNumber, seq: seq}
}

// String describes the position, as "TRIM_HORIZON",
// "AT_TIMESTAMP 2026-01-02T03:04:05Z" or "AFTER_SEQUENCE_NUMBER 4959…".
func (p Position) String() string {
	switch p.typ {
	case "":
		return string(types.ShardIteratorTypeTrimHorizon)
	case types.ShardIteratorTypeAtTimestamp:
		return string(p.typ) + " " + p.ts.UTC().Format(time.RFC3339Nano)
	case types.ShardIteratorTypeAfterSequenceNumber, types.ShardIteratorTypeAtSequenceNumber:
		return string(p.typ) + " " + p.seq
	}
	return string(p.typ)
}

// Record is one record of a shard, as Kinesis returned it.
type Record struct {
	ShardID        string
	SequenceNumber string
	// ArrivalTime is the record's ApproximateArrivalTimestamp.
	ArrivalTime  time.Time
	PartitionKey string
	// Data is the record's payload: for CloudFront real-time logs, one TSV
	// line ending in "\n".
	Data []byte
}

// Batch is what one GetRecords call returned.
type Batch struct {
	ShardID string
	// Records are in the shard's order (increasing sequence numbers); may
	// be empty.
	Records []Record
	// Behind is MillisBehindLatest: how far the last record returned is
	// from the tip of the shard; -1 when the answer did not say.
	Behind time.Duration
	// CaughtUp is true when the call returned no records and Behind is 0:
	// everything that exists in the shard now has been returned. A caller
	// that stops at the end of what exists stops here; one that follows
	// calls Next again (the Reader then waits IdleInterval).
	CaughtUp bool
	// End is true when the shard is closed and its last record has been
	// returned (NextShardIterator nil); Records may still hold the last
	// ones. Next returns io.EOF afterwards.
	End bool
	// Children are the shards that took over from a shard that ended, as
	// GetRecords gave them (ChildShards; kinesalite gives none: list the
	// shards again and look for the parent).
	Children []Shard
}

// ReadBytesPerSecond is what GetRecords gives a shard's readers together
// at most: 2 MiB a second.
const ReadBytesPerSecond = 2 << 20

// ReaderOptions tune a Reader. The zero value follows AWS's advice.
type ReaderOptions struct {
	// Backoff retries throttled and failed calls; its Clock also paces
	// GetRecords.
	Backoff
	// Limit is the most records one GetRecords call returns; 0 is the API's
	// maximum, 10,000.
	Limit int32
	// MinInterval is the least time between the starts of two GetRecords
	// calls on the shard; 0 means 200ms, the API's limit of 5 calls a
	// second per shard (shared by every consumer of the stream).
	MinInterval time.Duration
	// IdleInterval is the least time between two calls after a call that
	// found the shard caught up (no records, MillisBehindLatest 0); 0 means
	// 1s, as AWS advises.
	IdleInterval time.Duration
}

func (o ReaderOptions) withDefaults() ReaderOptions {
	o.Backoff = o.Backoff.withDefaults()
	if o.MinInterval <= 0 {
		o.MinInterval = 200 * time.Millisecond
	}
	if o.IdleInterval <= 0 {
		o.IdleInterval = time.Second
	}
	o.IdleInterval = max(o.IdleInterval, o.MinInterval)
	return o
}

// maxRenewals bounds the iterator renewals in a row that are followed by
// ExpiredIteratorException again (a clock far off, say), so that Next
// cannot loop for ever.
const maxRenewals = 3

// Reader reads one shard with GetRecords, one call per Next. It is not
// safe for concurrent use; read several shards with several Readers.
//
// It keeps within the API's limits: at most one call per MinInterval and
// one per IdleInterval once caught up, and, after a call that returned
// many bytes, no more than ReadBytesPerSecond on average (a shard gives 2
// MiB/s to all its readers; a call over that budget makes the next ones
// fail with ProvisionedThroughputExceededException for up to 5 seconds); throttling, server and connection
// errors are retried with back-off (ReaderOptions.Backoff); an iterator
// that expired (ExpiredIteratorException: an iterator lives 5 minutes, so
// a caller that holds a batch longer meets it) is renewed just after the
// last record returned, or at the start position if none was, so no record
// is lost or returned twice.
type Reader struct {
	api    API
	stream Stream
	shard  string
	start  Position
	opts   ReaderOptions

	started  bool      // the first iterator was asked for
	iter     *string   // the next iterator; nil at the shard's end
	last     string    // the sequence number of the last record returned
	lastCall time.Time // the start of the last GetRecords call
	called   bool      // lastCall is set
	interval time.Duration
	ended    bool
}

// NewReader returns a Reader of the shard shardID of stream, starting at
// start. It makes no call until Next.
func NewReader(api API, stream Stream, shardID string, start Position, opts ReaderOptions) *Reader {
	if start.typ == "" {
		start = TrimHorizon()
	}
	opts = opts.withDefaults()
	return &Reader{api: api, stream: stream, shard: shardID, start: start, opts: opts, interval: opts.MinInterval}
}

// ShardID is the shard the Reader reads.
func (r *Reader) ShardID() string { return r.shard }

// LastSequence is the sequence number of the last record Next returned, ""
// before the first record. AfterSequence(LastSequence()) starts a Reader
// where this one would go on.
func (r *Reader) LastSequence() string { return r.last }

// Next makes one GetRecords call (waiting first as the limits require,
// renewing the iterator and retrying as needed) and returns what it got.
// After a Batch with End it returns io.EOF. Errors name the stream and the
// shard; a retryable error is returned only once the retries are spent,
// and ctx's error as soon as ctx is done.
func (r *Reader) Next(ctx context.Context) (Batch, error) {
	if r.ended {
		return Batch{}, io.EOF
	}
	if !r.started {
		if err := r.renew(ctx); err != nil {
			return Batch{}, err
		}
		r.started = true
	}
	for renewals := 0; ; renewals++ {
		if r.iter == nil { // renew found the shard's end
			r.ended = true
			return Batch{ShardID: r.shard, Behind: -1, End: true}, nil
		}
		out, err := r.getRecords(ctx)
		var expired *types.ExpiredIteratorException
		if errors.As(err, &expired) && renewals < maxRenewals && ctx.Err() == nil {
			if err := r.renew(ctx); err != nil {
				return Batch{}, err
			}
			continue
		}
		if err != nil {
			return Batch{}, fmt.Errorf("%s shard %s: GetRecords: %w", r.stream, r.shard, err)
		}
		return r.batch(out), nil
	}
}

// getRecords makes one GetRecords call, paced and retried.
func (r *Reader) getRecords(ctx context.Context) (*kinesis.GetRecordsOutput, error) {
	var out *kinesis.GetRecordsOutput
	err := r.opts.retry(ctx, func() error {
		if err := r.pace(ctx); err != nil {
			return err
		}
		var err error
		out, err = r.api.GetRecords(ctx, &kinesis.GetRecordsInput{
			ShardIterator: r.iter,
			StreamARN:     r.arn(),
			Limit:         r.limit(),
		})
		return err
	})
	return out, err
}

// batch turns a GetRecords answer into a Batch and moves the Reader on.
func (r *Reader) batch(out *kinesis.GetRecordsOutput) Batch {
	b := Batch{ShardID: r.shard, Behind: -1}
	if out.MillisBehindLatest != nil {
		b.Behind = time.Duration(*out.MillisBehindLatest) * time.Millisecond
	}
	b.Records = make([]Record, 0, len(out.Records))
	for _, rec := range out.Records {
		b.Records = append(b.Records, Record{
			ShardID:        r.shard,
			SequenceNumber: aws.ToString(rec.SequenceNumber),
			ArrivalTime:    aws.ToTime(rec.ApproximateArrivalTimestamp),
			PartitionKey:   aws.ToString(rec.PartitionKey),
			Data:           rec.Data,
		})
	}
	if n := len(b.Records); n > 0 {
		r.last = b.Records[n-1].SequenceNumber
	}
	r.iter = out.NextShardIterator
	if r.iter == nil {
		r.ended = true
		b.End = true
		for _, c := range out.ChildShards {
			b.Children = append(b.Children, childFromAPI(c))
		}
	}
	b.CaughtUp = !b.End && len(b.Records) == 0 && b.Behind == 0
	r.interval = r.opts.MinInterval
	if b.CaughtUp {
		r.interval = r.opts.IdleInterval
	}
	var size int
	for _, rec := range b.Records {
		size += len(rec.Data)
	}
	// Time for the shard's read budget to pay for what was returned.
	r.interval = max(r.interval, time.Duration(float64(size)/float64(ReadBytesPerSecond)*float64(time.Second)))
	return b
}

// pace waits until the next GetRecords call is allowed, and marks its
// start.
func (r *Reader) pace(ctx context.Context) error {
	if r.called {
		if wait := r.lastCall.Add(r.interval).Sub(r.opts.Clock.Now()); wait > 0 {
			if err := r.opts.Clock.Sleep(ctx, wait); err != nil {
				return err
			}
		}
	}
	r.called = true
	r.lastCall = r.opts.Clock.Now()
	return nil
}

// renew gets an iterator just after the last record returned, or at the
// start position if none was. It leaves r.iter nil when Kinesis gives no
// iterator: the shard is closed and has nothing after the position.
func (r *Reader) renew(ctx context.Context) error {
	pos := r.start
	if r.last != "" {
		pos = AfterSequence(r.last)
	}
	name, arn := r.stream.ids()
	in := &kinesis.GetShardIteratorInput{
		StreamName:        name,
		StreamARN:         arn,
		ShardId:           aws.String(r.shard),
		ShardIteratorType: pos.typ,
	}
	switch pos.typ {
	case types.ShardIteratorTypeAfterSequenceNumber, types.ShardIteratorTypeAtSequenceNumber:
		in.StartingSequenceNumber = aws.String(pos.seq)
	case types.ShardIteratorTypeAtTimestamp:
		in.Timestamp = aws.Time(pos.ts)
	}
	var out *kinesis.GetShardIteratorOutput
	err := r.opts.retry(ctx, func() error {
		var err error
		out, err = r.api.GetShardIterator(ctx, in)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s shard %s: GetShardIterator %s: %w", r.stream, r.shard, pos, err)
	}
	// No iterator: the shard is closed and nothing follows the position.
	r.iter = out.ShardIterator
	return nil
}

func (r *Reader) arn() *string {
	if r.stream.ARN == "" {
		return nil
	}
	return aws.String(r.stream.ARN)
}

func (r *Reader) limit() *int32 {
	if r.opts.Limit <= 0 {
		return nil
	}
	return aws.Int32(min(r.opts.Limit, 10000))
}
