package kinesis

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// handled logs what a Handler received, in the order received.
type handled struct {
	mu     sync.Mutex
	events []string // "SHARD DATA" per record, "SHARD END" per end
	// then, when set, is called with each batch after it is logged.
	then func(b Batch, records int) error
}

func (h *handled) handle(_ context.Context, b Batch) error {
	h.mu.Lock()
	for _, r := range b.Records {
		h.events = append(h.events, b.ShardID+" "+string(r.Data))
	}
	if b.End {
		h.events = append(h.events, b.ShardID+" END")
	}
	n := 0
	for _, e := range h.events {
		if !hasSuffix(e, " END") {
			n++
		}
	}
	then := h.then
	h.mu.Unlock()
	if then != nil {
		return then(b, n)
	}
	return nil
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

func (h *handled) log() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

// index returns the position of event e in the log, -1 if absent.
func index(log []string, e string) int { return slices.Index(log, e) }

// mergeStream is a: 3 records and b: 2, both closed and merged into m: 4
// (open), and c: 1, open.
func mergeStream(clock *fakeClock) *fakeAPI {
	api := newFakeAPI(clock, "a", "b", "m", "c")
	for id, n := range map[string]int{"a": 3, "b": 2, "m": 4, "c": 1} {
		api.put(id, n, base)
	}
	m := []types.ChildShard{{ShardId: aws.String("m"), ParentShards: []string{"a", "b"}}}
	api.shard("a").closed, api.shard("a").children = true, m
	api.shard("b").closed, api.shard("b").children = true, m
	api.shard("m").parent, api.shard("m").adjacent = "a", "b"
	return api
}

// A merge's child is read after both its parents ended; without Follow,
// Run returns once every shard is caught up or ended.
func TestConsumerReadsParentsBeforeChildren(t *testing.T) {
	clock := newFakeClock()
	api := mergeStream(clock)
	// m must not even be started (GetShardIterator) before the handler has
	// returned from both parents' last batches. The handler of a's last
	// batch gives m a moment to start, so that a wrong order shows at once.
	var mu sync.Mutex
	parentsDone := 0
	mStarted := make(chan struct{})
	var startedEarly bool
	api.onIterator = func(shard string) {
		if shard == "m" {
			mu.Lock()
			startedEarly = parentsDone < 2
			mu.Unlock()
			close(mStarted)
		}
	}
	h := &handled{then: func(b Batch, _ int) error {
		if (b.ShardID == "a" || b.ShardID == "b") && b.End {
			if b.ShardID == "a" {
				select {
				case <-mStarted:
				case <-time.After(100 * time.Millisecond):
				}
			}
			mu.Lock()
			parentsDone++
			mu.Unlock()
		}
		return nil
	}}
	c := &Consumer{API: api, Stream: Stream{Name: "s"}, Options: fakeOptions(clock)}
	if err := c.Run(context.Background(), h.handle); err != nil {
		t.Fatal(err)
	}
	if startedEarly {
		t.Error("m started before both its parents were handled to their ends")
	}
	log := h.log()
	want := append(append(append(recordData("a", 0, 3), recordData("b", 0, 2)...), recordData("m", 0, 4)...), recordData("c", 0, 1)...)
	var got []string
	for _, e := range log {
		if !hasSuffix(e, " END") {
			got = append(got, e[len("x "):])
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("records %q, want each of %q once", got, want)
	}
	firstM := index(log, "m m-0\n")
	if firstM < 0 || index(log, "a END") > firstM || index(log, "b END") > firstM || index(log, "a END") < 0 || index(log, "b END") < 0 {
		t.Errorf("m read before its parents ended: %q", log)
	}
	// Each shard's records in order.
	for _, id := range []string{"a", "b", "m"} {
		var seen []string
		for _, e := range log {
			if e[:1] == id && !hasSuffix(e, " END") {
				seen = append(seen, e[2:])
			}
		}
		if !slices.IsSorted(seen) {
			t.Errorf("shard %s out of order: %q", id, seen)
		}
	}
}

// A shard finished in an earlier run is not read again, and its children
// start once the other parent ends; Start positions each shard.
func TestConsumerFinishedAndStart(t *testing.T) {
	clock := newFakeClock()
	api := mergeStream(clock)
	h := &handled{}
	c := &Consumer{
		API: api, Stream: Stream{Name: "s"}, Options: fakeOptions(clock),
		Finished: func(id string) bool { return id == "a" },
		Start: func(s Shard) Position {
			if s.ID == "m" {
				return AfterSequence("m-000001")
			}
			return TrimHorizon()
		},
	}
	if err := c.Run(context.Background(), h.handle); err != nil {
		t.Fatal(err)
	}
	log := h.log()
	for _, e := range log {
		if e[:1] == "a" {
			t.Errorf("read finished shard a: %q", e)
		}
	}
	if i := index(log, "m m-2\n"); i < 0 || i < index(log, "b END") || index(log, "m m-1\n") >= 0 {
		t.Errorf("log %q", log)
	}
	for _, call := range api.callsOf("GetShardIterator") {
		if call.shard == "a" {
			t.Errorf("GetShardIterator on a")
		}
	}
}

// With Follow, the children of a shard that ends while being read are read
// after it, whether GetRecords names them (ChildShards) or ListShards must
// find them (kinesalite gives no ChildShards).
func TestConsumerFollowsIntoChildren(t *testing.T) {
	for _, childShards := range []bool{true, false} {
		t.Run(map[bool]string{true: "ChildShards", false: "ListShards"}[childShards], func(t *testing.T) {
			clock := newFakeClock()
			api := newFakeAPI(clock, "p")
			api.put("p", 2, base)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h := &handled{}
			var split sync.Once
			h.then = func(b Batch, n int) error {
				split.Do(func() { // reshard after the first batch
					api.mu.Lock()
					p := api.shard("p")
					p.closed = true
					api.shards = append(api.shards, &fakeShard{id: "q1", parent: "p"}, &fakeShard{id: "q2", parent: "p"})
					if childShards {
						p.children = []types.ChildShard{
							{ShardId: aws.String("q1"), ParentShards: []string{"p"}},
							{ShardId: aws.String("q2"), ParentShards: []string{"p"}},
						}
					}
					api.mu.Unlock()
					api.put("q1", 2, base)
					api.put("q2", 1, base)
				})
				if n == 5 {
					cancel()
				}
				return nil
			}
			c := &Consumer{API: api, Stream: Stream{Name: "s"}, Options: fakeOptions(clock), Follow: true}
			err := c.Run(ctx, h.handle)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run = %v, want context.Canceled", err)
			}
			log := h.log()
			end := index(log, "p END")
			if end != 2 || len(log) != 6 {
				t.Errorf("log %q", log)
			}
			for _, e := range []string{"q1 q1-0\n", "q1 q1-1\n", "q2 q2-0\n"} {
				if i := index(log, e); i < end {
					t.Errorf("%q at %d, p ended at %d", e, i, end)
				}
			}
		})
	}
}

// Without Follow, shards created during the run are left for the next run.
func TestConsumerWithoutFollowStopsAtShardsOfTheStart(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(clock, "p")
	api.put("p", 2, base)
	h := &handled{}
	var split sync.Once
	h.then = func(Batch, int) error {
		split.Do(func() {
			api.mu.Lock()
			p := api.shard("p")
			p.closed = true
			api.shards = append(api.shards, &fakeShard{id: "q", parent: "p"})
			p.children = []types.ChildShard{{ShardId: aws.String("q"), ParentShards: []string{"p"}}}
			api.mu.Unlock()
			api.put("q", 1, base)
		})
		return nil
	}
	c := &Consumer{API: api, Stream: Stream{Name: "s"}, Options: fakeOptions(clock)}
	if err := c.Run(context.Background(), h.handle); err != nil {
		t.Fatal(err)
	}
	if log := h.log(); !slices.Equal(log, []string{"p p-0\n", "p p-1\n", "p END"}) {
		t.Errorf("log %q", log)
	}
}

func TestConsumerStopsOnHandlerError(t *testing.T) {
	clock := newFakeClock()
	api := mergeStream(clock)
	boom := errors.New("boom")
	h := &handled{then: func(b Batch, _ int) error {
		if b.ShardID == "b" {
			return boom
		}
		return nil
	}}
	c := &Consumer{API: api, Stream: Stream{Name: "s"}, Options: fakeOptions(clock)}
	err := c.Run(context.Background(), h.handle)
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v", err)
	}
	if index(h.log(), "m m-0\n") >= 0 {
		t.Errorf("m read after b failed: %q", h.log())
	}
}
