package kinesis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// fakeClock is a Clock whose Sleep returns at once, moving the time on.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	// onSleep, when set, is called after each sleep (with the count so far).
	onSleep func(n int)
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	n, f := len(c.sleeps), c.onSleep
	c.mu.Unlock()
	if f != nil {
		f(n)
	}
	return ctx.Err()
}

func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// call is one call the fake API received.
type call struct {
	op    string // "ListShards", "GetShardIterator", "GetRecords"
	shard string
	at    time.Time
	// GetShardIterator's type and position (sequence number or time).
	itype types.ShardIteratorType
	pos   string
	// ListShards' arguments.
	name, arn, token string
}

// fakeShard is a shard of the fake stream.
type fakeShard struct {
	id, parent, adjacent string
	records              []types.Record
	closed               bool
	children             []types.ChildShard
}

// fakeAPI is an in-memory stream. Iterators are "SHARD/INDEX".
type fakeAPI struct {
	mu     sync.Mutex
	clock  *fakeClock
	name   string
	shards []*fakeShard
	calls  []call

	// pageSize is the most shards a ListShards page holds (0: all).
	pageSize int
	// perCall is the most records a GetRecords call returns (0: all).
	perCall int
	// failGetRecords, when set, is asked before each GetRecords call; an
	// error it returns is the call's.
	failGetRecords func(n int) error
	// failListShards likewise for ListShards.
	failListShards func(n int) error
	// noIterator makes GetShardIterator answer without an iterator.
	noIterator bool
	// gap is how many GetRecords calls (the first ones) return no records
	// with MillisBehindLatest 5000, as Kinesis does while an iterator
	// crosses a stretch of the shard with no records.
	gap int
	// onIterator, when set, is called (outside the lock) with the shard of
	// each GetShardIterator call.
	onIterator               func(shard string)
	getRecordsN, listShardsN int
}

func newFakeAPI(clock *fakeClock, shardIDs ...string) *fakeAPI {
	f := &fakeAPI{clock: clock, name: "s"}
	for _, id := range shardIDs {
		f.shards = append(f.shards, &fakeShard{id: id})
	}
	return f
}

func (f *fakeAPI) shard(id string) *fakeShard {
	for _, s := range f.shards {
		if s.id == id {
			return s
		}
	}
	return nil
}

// put appends n records "SHARD-i\n" to the shard, arriving one second apart
// from base.
func (f *fakeAPI) put(id string, n int, base time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.shard(id)
	for range n {
		i := len(s.records)
		s.records = append(s.records, types.Record{
			SequenceNumber:              aws.String(fmt.Sprintf("%s-%06d", id, i)),
			Data:                        fmt.Appendf(nil, "%s-%d\n", id, i),
			PartitionKey:                aws.String("k"),
			ApproximateArrivalTimestamp: aws.Time(base.Add(time.Duration(i) * time.Second)),
		})
	}
}

func (f *fakeAPI) record(c call) {
	c.at = f.clock.Now()
	f.calls = append(f.calls, c)
}

func (f *fakeAPI) callsOf(op string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var cs []call
	for _, c := range f.calls {
		if c.op == op {
			cs = append(cs, c)
		}
	}
	return cs
}

func invalid(msg string) error {
	return &types.InvalidArgumentException{Message: aws.String(msg)}
}

func (f *fakeAPI) ListShards(ctx context.Context, in *kinesis.ListShardsInput, _ ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(call{op: "ListShards", name: aws.ToString(in.StreamName), arn: aws.ToString(in.StreamARN), token: aws.ToString(in.NextToken)})
	f.listShardsN++
	if f.failListShards != nil {
		if err := f.failListShards(f.listShardsN); err != nil {
			return nil, err
		}
	}
	start := 0
	switch {
	case in.NextToken != nil && (in.StreamName != nil || in.StreamARN != nil):
		return nil, invalid("Cannot define ExclusiveStartShardId, StreamCreationTimestamp or StreamName if NextToken is defined")
	case in.NextToken != nil:
		n, err := strconv.Atoi(strings.TrimPrefix(*in.NextToken, "page-"))
		if err != nil {
			return nil, invalid("bad token")
		}
		start = n
	case aws.ToString(in.StreamName) != f.name && aws.ToString(in.StreamARN) != "arn:aws:kinesis:us-east-1:123456789012:stream/"+f.name:
		return nil, &types.ResourceNotFoundException{Message: aws.String("no such stream")}
	}
	end := len(f.shards)
	if f.pageSize > 0 {
		end = min(end, start+f.pageSize)
	}
	out := &kinesis.ListShardsOutput{}
	for _, s := range f.shards[start:end] {
		sh := types.Shard{
			ShardId:             aws.String(s.id),
			SequenceNumberRange: &types.SequenceNumberRange{StartingSequenceNumber: aws.String(s.id + "-000000")},
		}
		if s.parent != "" {
			sh.ParentShardId = aws.String(s.parent)
		}
		if s.adjacent != "" {
			sh.AdjacentParentShardId = aws.String(s.adjacent)
		}
		if s.closed {
			sh.SequenceNumberRange.EndingSequenceNumber = aws.String(s.id + "-999999")
		}
		out.Shards = append(out.Shards, sh)
	}
	if end < len(f.shards) {
		out.NextToken = aws.String("page-" + strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeAPI) GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, _ ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	if f.onIterator != nil {
		f.onIterator(aws.ToString(in.ShardId))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := call{op: "GetShardIterator", shard: aws.ToString(in.ShardId), itype: in.ShardIteratorType, pos: aws.ToString(in.StartingSequenceNumber)}
	if in.Timestamp != nil {
		c.pos = in.Timestamp.Format(time.RFC3339)
	}
	f.record(c)
	s := f.shard(c.shard)
	if s == nil {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no shard " + c.shard)}
	}
	if f.noIterator {
		return &kinesis.GetShardIteratorOutput{}, nil
	}
	i := 0
	switch in.ShardIteratorType {
	case types.ShardIteratorTypeTrimHorizon:
	case types.ShardIteratorTypeAfterSequenceNumber:
		i = -1
		for j, r := range s.records {
			if *r.SequenceNumber == c.pos {
				i = j + 1
			}
		}
		if i < 0 {
			return nil, &types.ResourceNotFoundException{Message: aws.String("no record " + c.pos)}
		}
	case types.ShardIteratorTypeAtTimestamp:
		for i < len(s.records) && s.records[i].ApproximateArrivalTimestamp.Before(*in.Timestamp) {
			i++
		}
	default:
		return nil, invalid("unsupported iterator type " + string(in.ShardIteratorType))
	}
	return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String(fmt.Sprintf("%s/%d", s.id, i))}, nil
}

func (f *fakeAPI) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, idx, ok := strings.Cut(aws.ToString(in.ShardIterator), "/")
	f.record(call{op: "GetRecords", shard: id})
	f.getRecordsN++
	if f.failGetRecords != nil {
		if err := f.failGetRecords(f.getRecordsN); err != nil {
			return nil, err
		}
	}
	s := f.shard(id)
	i, err := strconv.Atoi(idx)
	if !ok || s == nil || err != nil {
		return nil, invalid("bad iterator " + aws.ToString(in.ShardIterator))
	}
	if f.getRecordsN <= f.gap {
		return &kinesis.GetRecordsOutput{MillisBehindLatest: aws.Int64(5000), NextShardIterator: in.ShardIterator}, nil
	}
	n := len(s.records) - i
	if f.perCall > 0 {
		n = min(n, f.perCall)
	}
	if in.Limit != nil {
		n = min(n, int(*in.Limit))
	}
	out := &kinesis.GetRecordsOutput{Records: append([]types.Record(nil), s.records[i:i+n]...)}
	next := i + n
	behind := int64(0)
	if next < len(s.records) {
		behind = 1000
	}
	out.MillisBehindLatest = aws.Int64(behind)
	if s.closed && next == len(s.records) {
		out.ChildShards = s.children
	} else {
		out.NextShardIterator = aws.String(fmt.Sprintf("%s/%d", id, next))
	}
	return out, nil
}

var _ API = (*fakeAPI)(nil)

// throttled is the error Kinesis returns past a shard's read limits.
func throttled() error {
	return &types.ProvisionedThroughputExceededException{Message: aws.String("Rate exceeded for shard")}
}

// httpError is an error with an HTTP status, as the SDK returns for a 5xx
// with no modelled error.
func httpError(status int) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      errors.New(http.StatusText(status)),
	}}
}
