package kinesis

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Shard is one shard of a stream and its lineage.
type Shard struct {
	ID string
	// ParentID is the shard this one was split from, or the first of the
	// two it was merged from; "" for a shard of the stream's creation.
	ParentID string
	// AdjacentParentID is the second parent of a merge; "" otherwise.
	AdjacentParentID string
	// StartingSequenceNumber and EndingSequenceNumber bound the sequence
	// numbers of its records; EndingSequenceNumber is "" while the shard is
	// open. (kinesis-local gives a closed shard 9223372036854775807, not its
	// last record's number: read a shard to its end, NextShardIterator nil,
	// rather than compare with it.)
	StartingSequenceNumber string
	EndingSequenceNumber   string
	// StartingHashKey and EndingHashKey bound the partition-key hashes it
	// takes (decimal, 0 to 2^128-1); "" when not given (ChildShards).
	StartingHashKey string
	EndingHashKey   string
}

// Parents lists the shard's parents: none, one (a split) or two (a merge).
func (s Shard) Parents() []string {
	var p []string
	if s.ParentID != "" {
		p = append(p, s.ParentID)
	}
	if s.AdjacentParentID != "" {
		p = append(p, s.AdjacentParentID)
	}
	return p
}

// Closed reports whether the shard takes no new records (it was split or
// merged): its EndingSequenceNumber is set.
func (s Shard) Closed() bool { return s.EndingSequenceNumber != "" }

func shardFromAPI(s types.Shard) Shard {
	sh := Shard{
		ID:               aws.ToString(s.ShardId),
		ParentID:         aws.ToString(s.ParentShardId),
		AdjacentParentID: aws.ToString(s.AdjacentParentShardId),
	}
	if r := s.SequenceNumberRange; r != nil {
		sh.StartingSequenceNumber = aws.ToString(r.StartingSequenceNumber)
		sh.EndingSequenceNumber = aws.ToString(r.EndingSequenceNumber)
	}
	if r := s.HashKeyRange; r != nil {
		sh.StartingHashKey = aws.ToString(r.StartingHashKey)
		sh.EndingHashKey = aws.ToString(r.EndingHashKey)
	}
	return sh
}

func childFromAPI(c types.ChildShard) Shard {
	sh := Shard{ID: aws.ToString(c.ShardId)}
	if len(c.ParentShards) > 0 {
		sh.ParentID = c.ParentShards[0]
	}
	if len(c.ParentShards) > 1 {
		sh.AdjacentParentID = c.ParentShards[1]
	}
	if r := c.HashKeyRange; r != nil {
		sh.StartingHashKey = aws.ToString(r.StartingHashKey)
		sh.EndingHashKey = aws.ToString(r.EndingHashKey)
	}
	return sh
}

// ListShards lists every shard of the stream that is still within its
// retention period, open or closed, following NextToken from page to page
// (a page after the first names no stream, as the API requires). Throttling
// (LimitExceededException) and server errors are retried as b says. Shards that expired from retention are not listed: their
// children have no listed parent, and Ready lets them start at once.
func ListShards(ctx context.Context, api API, stream Stream, b Backoff) ([]Shard, error) {
	b = b.withDefaults()
	name, arn := stream.ids()
	var shards []Shard
	var next *string
	for {
		in := &kinesis.ListShardsInput{NextToken: next}
		if next == nil {
			in.StreamName, in.StreamARN = name, arn
		}
		var out *kinesis.ListShardsOutput
		err := b.retry(ctx, func() error {
			var err error
			out, err = api.ListShards(ctx, in)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: listing shards: %w", stream, err)
		}
		for _, s := range out.Shards {
			shards = append(shards, shardFromAPI(s))
		}
		if aws.ToString(out.NextToken) == "" {
			return shards, nil
		}
		next = out.NextToken
	}
}

// Ready returns the shards of shards that may be read now, in the order
// given: those not finished whose every parent is finished or not in
// shards (a parent that expired from retention, or was never listed).
// finished(id) reports whether a shard was read to its end (its
// NextShardIterator came back nil); nil means none was. A split's children
// are thus read after their parent, a merge's child after both parents.
func Ready(shards []Shard, finished func(id string) bool) []Shard {
	if finished == nil {
		finished = func(string) bool { return false }
	}
	listed := make(map[string]bool, len(shards))
	for _, s := range shards {
		listed[s.ID] = true
	}
	var ready []Shard
	for _, s := range shards {
		if finished(s.ID) {
			continue
		}
		if !slices.ContainsFunc(s.Parents(), func(p string) bool { return listed[p] && !finished(p) }) {
			ready = append(ready, s)
		}
	}
	return ready
}
