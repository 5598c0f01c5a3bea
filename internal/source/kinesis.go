package source

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/kinesis"
)

// A stream's shards are inputs named STREAM_URL/SHARD_ID
// (kinesis://NAME/shardId-000000000000), each identified by the stream's
// name and the shard, so that the ledger keeps a checkpoint per shard
// whoever reads it (a run given the stream's name, one given its ARN, the
// Lambda).
type streamShard struct {
	api    kinesis.API
	stream kinesis.Stream
	shard  kinesis.Shard
}

// ShardIdentity is the identity of a shard of a stream: the ledger's and
// the report state's key of its progress.
func ShardIdentity(stream kinesis.Stream, shardID string) *input.Identity {
	return &input.Identity{Object: kinesis.Scheme + stream.StreamName() + "/" + shardID}
}

// IsRemote reports whether an input name is not a local path: an object
// (s3://) or a stream's shard (kinesis://).
func IsRemote(name string) bool {
	return strings.HasPrefix(name, "s3://") || kinesis.IsURL(name)
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
		set.shards[name] = streamShard{api: api, stream: stream, shard: sh}
		set.Names = append(set.Names, name)
	}
	return nil
}

// openShard makes the input of a shard: its records from where the
// outputs have it (input.Input.Jump), or from the start of the shard's
// retention (or the first record at --since or later) the first time.
func (set *Set) openShard(sh streamShard, name string, since time.Time) *input.Input {
	return input.FromRecords(name, ShardIdentity(sh.stream, sh.shard.ID), func(ctx context.Context, after string) (input.RecordReader, error) {
		pos := kinesis.TrimHorizon()
		switch {
		case after != "":
			pos = kinesis.AfterSequence(after)
		case !since.IsZero():
			pos = kinesis.AtTimestamp(since)
		}
		return &shardRecords{r: kinesis.NewReader(sh.api, sh.stream, sh.shard.ID, pos, kinesis.ReaderOptions{})}, nil
	})
}

// shardRecords reads a shard until it is caught up (the last call said the
// records it returned reach the shard's tip) or ended.
type shardRecords struct {
	r     *kinesis.Reader
	tip   bool // the last batch reached the tip: the next Next says io.EOF
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
	return nil, io.EOF
}

func (s *shardRecords) Ended() bool { return s.ended }
