package kinesis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

func shardIDs(shards []Shard) []string {
	var ids []string
	for _, s := range shards {
		ids = append(ids, s.ID)
	}
	return ids
}

// ListShards follows NextToken, and names the stream on the first page
// only (the API refuses StreamName with NextToken, as the fake does).
func TestListShardsPaginates(t *testing.T) {
	for _, stream := range []Stream{{Name: "s"}, {ARN: "arn:aws:kinesis:us-east-1:123456789012:stream/s"}} {
		t.Run(stream.String(), func(t *testing.T) {
			clock := newFakeClock()
			var ids []string
			for i := range 7 {
				ids = append(ids, fmt.Sprintf("shardId-%012d", i))
			}
			api := newFakeAPI(clock, ids...)
			api.pageSize = 3
			api.shards[5].parent = ids[1]
			api.shards[5].adjacent = ids[2]
			api.shards[1].closed = true
			shards, err := ListShards(context.Background(), api, stream, Backoff{Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(shardIDs(shards), ids) {
				t.Errorf("listed %v", shardIDs(shards))
			}
			if s := shards[5]; s.ParentID != ids[1] || s.AdjacentParentID != ids[2] || !slices.Equal(s.Parents(), []string{ids[1], ids[2]}) {
				t.Errorf("shard 5: %+v", s)
			}
			if !shards[1].Closed() || shards[0].Closed() || shards[1].StartingSequenceNumber != ids[1]+"-000000" {
				t.Errorf("sequence ranges: %+v, %+v", shards[0], shards[1])
			}
			calls := api.callsOf("ListShards")
			if len(calls) != 3 {
				t.Fatalf("%d calls", len(calls))
			}
			if calls[0].name != stream.Name || calls[0].arn != stream.ARN || calls[0].token != "" {
				t.Errorf("first call %+v", calls[0])
			}
			for _, c := range calls[1:] {
				if c.name != "" || c.arn != "" || c.token == "" {
					t.Errorf("later call %+v", c)
				}
			}
		})
	}
}

func TestListShardsRetriesLimitExceeded(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(clock, "a", "b", "c")
	api.pageSize = 2
	api.failListShards = func(n int) error {
		if n == 2 { // the second page, once
			return &types.LimitExceededException{}
		}
		return nil
	}
	shards, err := ListShards(context.Background(), api, Stream{Name: "s"}, Backoff{Clock: clock, Rand: fixedRand})
	if err != nil || !slices.Equal(shardIDs(shards), []string{"a", "b", "c"}) {
		t.Fatalf("ListShards = %v, %v", shardIDs(shards), err)
	}
	if len(clock.slept()) != 1 {
		t.Errorf("slept %v", clock.slept())
	}
	api.failListShards = func(int) error { return &types.ResourceNotFoundException{} }
	_, err = ListShards(context.Background(), api, Stream{Name: "s"}, Backoff{Clock: clock})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "kinesis://s") {
		t.Errorf("err = %v", err)
	}
}

func TestReady(t *testing.T) {
	split := []Shard{{ID: "p"}, {ID: "c1", ParentID: "p"}, {ID: "c2", ParentID: "p"}, {ID: "other"}}
	merge := []Shard{{ID: "a"}, {ID: "b"}, {ID: "m", ParentID: "a", AdjacentParentID: "b"}}
	for _, tc := range []struct {
		name     string
		shards   []Shard
		finished []string
		want     []string
	}{
		{"split, parent unread", split, nil, []string{"p", "other"}},
		{"split, parent done", split, []string{"p"}, []string{"c1", "c2", "other"}},
		{"split, all done", split, []string{"p", "c1", "c2", "other"}, nil},
		{"merge, no parent done", merge, nil, []string{"a", "b"}},
		{"merge, one parent done", merge, []string{"a"}, []string{"b"}},
		{"merge, both done", merge, []string{"b", "a"}, []string{"m"}},
		{"parent expired from retention", []Shard{{ID: "c1", ParentID: "gone"}, {ID: "m", ParentID: "gone", AdjacentParentID: "x"}, {ID: "x"}},
			nil, []string{"c1", "x"}},
		{"grandchildren wait", []Shard{{ID: "g", ParentID: "c"}, {ID: "c", ParentID: "p"}, {ID: "p"}}, []string{"p"}, []string{"c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := shardIDs(Ready(tc.shards, func(id string) bool { return slices.Contains(tc.finished, id) }))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Ready = %v, want %v", got, tc.want)
			}
		})
	}
	if got := shardIDs(Ready(split, nil)); !slices.Equal(got, []string{"p", "other"}) {
		t.Errorf("Ready(nil finished) = %v", got)
	}
}

func TestParseURL(t *testing.T) {
	const arn = "arn:aws:kinesis:eu-west-3:123456789012:stream/cf-realtime"
	for _, tc := range []struct {
		in      string
		want    Stream
		region  string
		wantErr string
	}{
		{in: "kinesis://cf-realtime", want: Stream{Name: "cf-realtime"}},
		{in: "kinesis://A.b_c-1", want: Stream{Name: "A.b_c-1"}},
		{in: "kinesis://" + strings.Repeat("x", 128), want: Stream{Name: strings.Repeat("x", 128)}},
		{in: "kinesis://" + arn, want: Stream{ARN: arn}, region: "eu-west-3"},
		{in: "kinesis://arn:aws-cn:kinesis:cn-north-1:123456789012:stream/s", want: Stream{ARN: "arn:aws-cn:kinesis:cn-north-1:123456789012:stream/s"}, region: "cn-north-1"},
		{in: "kinesis://", wantErr: "names no stream"},
		{in: "s3://bucket/x", wantErr: "not a kinesis:// URL"},
		{in: "cf-realtime", wantErr: "not a kinesis:// URL"},
		{in: "kinesis://cf-realtime/", wantErr: "a stream name has"},
		{in: "kinesis://cf realtime", wantErr: "a stream name has"},
		{in: "kinesis://" + strings.Repeat("x", 129), wantErr: "a stream name has"},
		{in: "kinesis://arn:aws:s3:::bucket", wantErr: "not a Kinesis stream ARN"},
		{in: "kinesis://arn:aws:kinesis:us-east-1:123:stream/s", wantErr: "not a Kinesis stream ARN"},
		{in: "kinesis://arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1", wantErr: "not a Kinesis stream ARN"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseURL(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseURL = %+v, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseURL = %+v, %v; want %+v", got, err, tc.want)
			}
			if got.String() != tc.in || got.Region() != tc.region || !IsURL(tc.in) {
				t.Errorf("String %q, Region %q", got.String(), got.Region())
			}
			if name := got.StreamName(); name != tc.in[strings.LastIndexAny(tc.in, "/")+1:] {
				t.Errorf("StreamName %q", name)
			}
		})
	}
}
