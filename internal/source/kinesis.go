package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/trackless/trackless/internal/awslambda"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/kinesis"
	"github.com/trackless/trackless/internal/s3src"
)

// A stream's shards are inputs named STREAM_URL/SHARD_ID
// (kinesis://NAME/shardId-000000000000), each identified by the stream's
// name and the shard, so that the ledger keeps a checkpoint per shard
// whoever reads it (a run given the stream's name, one given its ARN, the
// Lambda).
type streamShard struct {
	name    string
	readers *Readers
	api     kinesis.API
	stream  kinesis.Stream
	shard   kinesis.Shard
	// records are a Lambda event's records of the shard, read instead of
	// the stream (api is then nil).
	records []input.Record
}

// ShardIdentity is the identity of a shard of a stream: the ledger's and
// the report state's key of its progress.
func ShardIdentity(stream kinesis.Stream, shardID string) *input.Identity {
	return &input.Identity{Object: kinesis.Scheme + stream.StreamName() + "/" + shardID}
}

// IsRemote reports whether an input name is not a local path: an object
// (s3://) or a stream's shard (kinesis://).
func IsRemote(name string) bool {
	return s3src.IsURL(name) || kinesis.IsURL(name)
}

// addStream lists the shards of the stream at url and adds each as an
// input: every shard still in the stream's retention, open or closed.
// Shards read to their end are left out by the outputs' progress (their
// entries are done); a closed parent and its children read in one run are
// merged by time, which puts the parent's records first.
func (s *Sources) addStream(ctx context.Context, set *Set, url string) error {
	stream, err := kinesis.ParseURL(url)
	if err != nil {
		return err
	}
	if s.After.Kind != AfterKeep && s.After.Kind != "" {
		return fmt.Errorf("%s: --after %s applies to files and objects; a stream's records are not deleted or moved (they expire after the stream's retention)", url, s.After.Kind)
	}
	if s.Kinesis == nil {
		return errors.New(url + ": no Kinesis client")
	}
	api, err := s.Kinesis(ctx, stream)
	if err != nil {
		return err
	}
	shards, err := kinesis.ListShards(ctx, api, stream, kinesis.Backoff{})
	if err != nil {
		return err
	}
	s.log().Info("listed", "stream", url, "shards", len(shards))
	if set.shards == nil {
		set.shards = map[string]streamShard{}
	}
	for _, sh := range shards {
		name := stream.String() + "/" + sh.ID
		if _, ok := set.shards[name]; ok {
			continue
		}
		set.shards[name] = streamShard{name: name, readers: s.Readers, api: api, stream: stream, shard: sh}
		set.Names = append(set.Names, name)
	}
	return nil
}

// openShard makes the input of a shard: its records from where the
// outputs have it (input.Input.Jump), or from the start of the shard's
// retention (or the first record at --since or later) the first time.
func (set *Set) openShard(sh streamShard, name string, since time.Time) *input.Input {
	return input.FromRecords(name, ShardIdentity(sh.stream, sh.shard.ID), func(ctx context.Context, from input.Mark) (input.RecordReader, error) {
		if sh.api == nil {
			return eventRecords(sh.records, from), nil
		}
		if r := sh.readers.take(sh.name, from); r != nil {
			return &shardRecords{r: r, keep: sh.keep}, nil
		}
		pos := kinesis.TrimHorizon()
		switch {
		case from.At:
			pos = kinesis.AtSequence(from.Position)
		case from.Position != "":
			pos = kinesis.AfterSequence(from.Position)
		case !since.IsZero():
			// Kinesis refuses a time to come: now is where it starts.
			if now := time.Now(); since.After(now) {
				since = now
			}
			pos = kinesis.AtTimestamp(since)
		}
		return &shardRecords{r: kinesis.NewReader(sh.api, sh.stream, sh.shard.ID, pos, kinesis.ReaderOptions{}), keep: sh.keep}, nil
	})
}

// keep keeps the reader of a shard read up to its tip for the next run.
func (sh streamShard) keep(r *kinesis.Reader) {
	sh.readers.keep(sh.name, r)
}

// Readers keeps each shard's Reader from one run to the next (the rounds
// of send --follow): a round that reads on from where the last one
// stopped goes on with its iterator, and keeps to the pace of the API
// (5 calls a second, one a second once caught up, 2 MiB/s), instead of
// asking for a new iterator each round. Safe for concurrent use; the
// zero value and nil keep nothing.
type Readers struct {
	mu sync.Mutex
	m  map[string]*kinesis.Reader
}

// take returns the Reader kept for the shard name when it stopped just
// where a run reads on from (after the record of from, or at the shard's
// start when neither read a record), and forgets it; nil otherwise.
func (c *Readers) take(name string, from input.Mark) *kinesis.Reader {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.m[name]
	delete(c.m, name)
	if r == nil || from.At || r.LastSequence() != from.Position {
		return nil
	}
	return r
}

func (c *Readers) keep(name string, r *kinesis.Reader) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*kinesis.Reader{}
	}
	c.m[name] = r
}

// shardRecords reads a shard until it is caught up (the last call said the
// records it returned reach the shard's tip) or ended.
type shardRecords struct {
	r     *kinesis.Reader
	keep  func(*kinesis.Reader) // given the reader once at the tip
	tip   bool                  // the last batch reached the tip: the next Next says io.EOF
	ended bool
}

func (s *shardRecords) Next(ctx context.Context) ([]input.Record, error) {
	for !s.tip {
		b, err := s.r.Next(ctx)
		if errors.Is(err, io.EOF) {
			s.ended = true
			break
		}
		if err != nil {
			return nil, err
		}
		recs := make([]input.Record, len(b.Records))
		for i, r := range b.Records {
			recs[i] = input.Record{Data: r.Data, Position: r.SequenceNumber}
		}
		switch {
		case b.End:
			s.tip, s.ended = true, true
		case b.Behind == 0 || b.Behind < 0 && len(recs) == 0:
			// At the tip (or, when the answer says nothing of it, nothing
			// returned): what exists now is read.
			s.tip = true
		}
		if len(recs) > 0 {
			return recs, nil
		}
	}
	if !s.ended && s.keep != nil {
		s.keep(s.r)
		s.keep = nil
	}
	return nil, io.EOF
}

func (s *shardRecords) Ended() bool { return s.ended }

// FromKinesisEvent makes the inputs of a Lambda Kinesis event's records:
// one per shard, named and identified as the shards of kinesis://NAME
// are, so that the Lambda and a run reading the stream keep one
// checkpoint per shard. A record whose data could not be decoded is an
// error: the caller reads the records before it only.
func (s *Sources) FromKinesisEvent(recs []awslambda.KinesisRecord) (*Set, error) {
	set := newSet()
	set.shards = map[string]streamShard{}
	for _, r := range recs {
		if r.Err != nil {
			return nil, fmt.Errorf("record %s of shard %s: %w", r.Sequence, r.ShardID, r.Err)
		}
		stream, err := kinesis.ParseURL(kinesis.Scheme + r.StreamARN)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", r.Sequence, err)
		}
		name := kinesis.Scheme + stream.StreamName() + "/" + r.ShardID
		sh, ok := set.shards[name]
		if !ok {
			set.Names = append(set.Names, name)
			sh = streamShard{stream: stream, shard: kinesis.Shard{ID: r.ShardID}}
		}
		sh.records = append(sh.records, input.Record{Data: r.Data, Position: r.Sequence})
		set.shards[name] = sh
	}
	return set, nil
}

// ShardRecords returns the records of the set's shard name (a Lambda
// event's), in order, and the key of its progress.
func (set *Set) ShardRecords(name string) (recs []input.Record, key string) {
	sh := set.shards[name]
	return sh.records, ShardIdentity(sh.stream, sh.shard.ID).Key()
}

// eventRecords reads a Lambda event's records from from (after its
// record, or at it for a start mark): those before were read by an
// earlier invocation (an event delivered again, or retried from a record
// that failed). The records after from are taken as its successors in the
// shard (the event source mapping gives a shard's records in order, from
// the record the last invocation named as failed): see docs/realtime.md
// for the one case where they are not. The shard goes on: its end is
// never reached.
func eventRecords(recs []input.Record, from input.Mark) input.RecordReader {
	i := 0
	if from.Position != "" {
		for i < len(recs) && !Unread(recs[i].Position, from) {
			i++
		}
	}
	return &memRecords{recs: recs[i:]}
}

type memRecords struct{ recs []input.Record }

func (m *memRecords) Next(context.Context) ([]input.Record, error) {
	if len(m.recs) == 0 {
		return nil, io.EOF
	}
	r := m.recs
	m.recs = nil
	return r, nil
}

func (m *memRecords) Ended() bool { return false }

// Unread reports whether the record at position pos comes after what a
// mark of its shard says was read: after the mark's record, or at or after
// it for a start mark (whose record is line 1, not yet had).
func Unread(pos string, m input.Mark) bool {
	c := kinesis.CompareSequence(pos, m.Position)
	return c > 0 || c == 0 && m.At
}
