package kinesis

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/trackless/trackless/internal/kinesis/kinesistest"
)

// The emulator (kinesis-local) is started once for the package, by the
// first test that needs it, and stopped by TestMain.
var emu struct {
	once sync.Once
	s    *kinesistest.Server
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if emu.s != nil {
		emu.s.Close()
	}
	os.Exit(code)
}

// emulator returns the package's emulator, skipping the test when it is not
// installed (failing it under CI=true).
func emulator(t *testing.T) *kinesistest.Server {
	t.Helper()
	emu.once.Do(func() {
		start := time.Now()
		emu.s, emu.err = kinesistest.Start(context.Background())
		if emu.err == nil {
			t.Logf("kinesis-local started in %v on %s", time.Since(start).Round(time.Millisecond), emu.s.Endpoint)
		}
	})
	if emu.err != nil {
		kinesistest.Unavailable(t, emu.err)
		t.Fatal(emu.err)
	}
	return emu.s
}

// fastOptions poll the emulator (which has no limits) more often than
// Kinesis allows, to keep the tests short.
var fastOptions = ReaderOptions{MinInterval: 5 * time.Millisecond, IdleInterval: 20 * time.Millisecond}

// put puts n records "PREFIX-i\n" in the shard holding hashKey, and returns
// their data and sequence numbers.
func put(t *testing.T, s *kinesistest.Server, stream, hashKey, prefix string, n int) (shard string, data, seqs []string) {
	t.Helper()
	for i := range n {
		d := fmt.Sprintf("%s-%d\n", prefix, i)
		sh, seq := s.Put(t, stream, hashKey, []byte(d))
		if shard != "" && sh != shard {
			t.Fatalf("hash key %s went to %s and %s", hashKey, shard, sh)
		}
		shard = sh
		data = append(data, d)
		seqs = append(seqs, seq)
	}
	return shard, data, seqs
}

// collect is a Handler that keeps every record, by shard, and the order of
// events ("SHARD SEQ" per record, "SHARD END" per end).
type collect struct {
	mu      sync.Mutex
	records map[string][]Record
	events  []string
	onBatch func(total int)
}

func (c *collect) handle(_ context.Context, b Batch) error {
	c.mu.Lock()
	if c.records == nil {
		c.records = make(map[string][]Record)
	}
	c.records[b.ShardID] = append(c.records[b.ShardID], b.Records...)
	for _, r := range b.Records {
		c.events = append(c.events, b.ShardID+" "+r.SequenceNumber)
	}
	if b.End {
		c.events = append(c.events, b.ShardID+" END")
	}
	total := 0
	for _, rs := range c.records {
		total += len(rs)
	}
	f := c.onBatch
	c.mu.Unlock()
	if f != nil {
		f(total)
	}
	return nil
}

func dataOf(rs []Record) []string {
	var d []string
	for _, r := range rs {
		d = append(d, string(r.Data))
	}
	return d
}

func seqsOf(rs []Record) []string {
	var d []string
	for _, r := range rs {
		d = append(d, r.SequenceNumber)
	}
	return d
}

// runBounded runs cons (without Follow) under a time limit that only
// bounds a hang: a Run that does not stop at the end of what exists fails
// with DeadlineExceeded instead of stalling the test binary.
func runBounded(cons *Consumer, handle Handler) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return cons.Run(ctx, handle)
}

// A stream of 2 shards: Run reads every record once, in order within each
// shard, with its arrival time, and returns once both shards are caught
// up. The same through the stream's ARN, and with the default (AWS) pacing.
func TestEmulatorReadsAllShards(t *testing.T) {
	s := emulator(t)
	name := s.CreateStream(t, 2)
	shard0, data0, seqs0 := put(t, s, name, kinesistest.HashKey(0, 2), "zero", 6)
	shard1, data1, seqs1 := put(t, s, name, kinesistest.HashKey(1, 2), "one", 4)
	if shard0 == shard1 {
		t.Fatalf("both hash keys went to %s", shard0)
	}
	for _, tc := range []struct {
		name   string
		stream Stream
		opts   ReaderOptions
	}{
		{"name", Stream{Name: name}, ReaderOptions{}},
		{"ARN", Stream{ARN: "arn:aws:kinesis:" + kinesistest.Region + ":" + kinesistest.Account + ":stream/" + name}, fastOptions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &collect{}
			cons := &Consumer{API: s.Client, Stream: tc.stream, Options: tc.opts}
			if err := runBounded(cons, c.handle); err != nil {
				t.Fatal(err)
			}
			if got := dataOf(c.records[shard0]); !slices.Equal(got, data0) {
				t.Errorf("%s: %q, want %q", shard0, got, data0)
			}
			if got := seqsOf(c.records[shard1]); !slices.Equal(got, seqs1) {
				t.Errorf("%s: %q, want %q", shard1, got, seqs1)
			}
			if got := dataOf(c.records[shard1]); !slices.Equal(got, data1) {
				t.Errorf("%s: %q, want %q", shard1, got, data1)
			}
			if len(c.records) != 2 {
				t.Errorf("records from %d shards", len(c.records))
			}
			for _, r := range c.records[shard0] {
				if r.ShardID != shard0 || r.ArrivalTime.IsZero() || r.PartitionKey != "k" {
					t.Errorf("record %+v", r)
				}
			}
		})
	}
	_ = seqs0
}

// A Reader started after a checkpoint (AFTER_SEQUENCE_NUMBER) reads only
// the records put after it.
func TestEmulatorRestartsAfterCheckpoint(t *testing.T) {
	s := emulator(t)
	name := s.CreateStream(t, 1)
	shard, data, _ := put(t, s, name, kinesistest.HashKey(0, 1), "r", 5)
	r := NewReader(s.Client, Stream{Name: name}, shard, TrimHorizon(), fastOptions)
	got, last := readAll(t, r)
	if !slices.Equal(got, data) || !last.CaughtUp {
		t.Fatalf("first run read %q (%+v)", got, last)
	}
	checkpoint := r.LastSequence()
	_, more, _ := put(t, s, name, kinesistest.HashKey(0, 1), "later", 3)

	r2 := NewReader(s.Client, Stream{Name: name}, shard, AfterSequence(checkpoint), fastOptions)
	got, _ = readAll(t, r2)
	if !slices.Equal(got, more) {
		t.Errorf("after the checkpoint read %q, want %q", got, more)
	}
	// A checkpoint in the middle.
	_, _, seqs := put(t, s, name, kinesistest.HashKey(0, 1), "x", 3)
	r3 := NewReader(s.Client, Stream{Name: name}, shard, AfterSequence(seqs[0]), fastOptions)
	got, _ = readAll(t, r3)
	if !slices.Equal(got, []string{"x-1\n", "x-2\n"}) {
		t.Errorf("after %s read %q", seqs[0], got)
	}
}

// AT_TIMESTAMP (--since) starts at the first record that arrived at the
// time or later.
func TestEmulatorAtTimestamp(t *testing.T) {
	s := emulator(t)
	name := s.CreateStream(t, 1)
	shard, _, _ := put(t, s, name, kinesistest.HashKey(0, 1), "before", 3)
	time.Sleep(20 * time.Millisecond) // arrival times have a millisecond's precision
	_, after, _ := put(t, s, name, kinesistest.HashKey(0, 1), "after", 3)

	var all []Record
	r := NewReader(s.Client, Stream{Name: name}, shard, TrimHorizon(), fastOptions)
	for {
		b, err := r.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b.Records...)
		if b.CaughtUp {
			break
		}
	}
	if len(all) != 6 || !all[3].ArrivalTime.After(all[2].ArrivalTime) {
		t.Fatalf("records %+v", all)
	}
	since := all[3].ArrivalTime
	got, _ := readAll(t, NewReader(s.Client, Stream{Name: name}, shard, AtTimestamp(since), fastOptions))
	if !slices.Equal(got, after) {
		t.Errorf("AT_TIMESTAMP %v read %q, want %q", since, got, after)
	}
}

// A shard split while being read: its records before the split, and those
// put in the meantime, are read to its end before any of its children's;
// every record once.
func TestEmulatorSplitWhileReading(t *testing.T) {
	s := emulator(t)
	name := s.CreateStream(t, 1)
	parent, before, _ := put(t, s, name, kinesistest.HashKey(0, 1), "before", 5)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &collect{}
	firstBatch := make(chan struct{})
	var once sync.Once
	want := 5 + 3 + 4 + 4
	c.onBatch = func(total int) {
		once.Do(func() { close(firstBatch) })
		if total == want {
			cancel()
		}
	}
	cons := &Consumer{API: s.Client, Stream: Stream{Name: name}, Options: fastOptions, Follow: true}
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx, c.handle) }()

	select {
	case <-firstBatch:
	case err := <-done:
		t.Fatalf("Run returned %v before reading", err)
	case <-time.After(30 * time.Second): // bounds a hang only
		t.Fatal("no batch in 30s")
	}
	_, during, _ := put(t, s, name, kinesistest.HashKey(1, 3), "during", 3) // maybe read before the split, maybe not
	if _, err := s.Client.SplitShard(context.Background(), &kinesis.SplitShardInput{
		StreamName: &name, ShardToSplit: &parent, NewStartingHashKey: aws.String(kinesistest.HashKey(1, 2)),
	}); err != nil {
		t.Fatal(err)
	}
	s.WaitActive(t, name)
	low, lowData, _ := put(t, s, name, kinesistest.HashKey(1, 4), "low", 4)
	high, highData, _ := put(t, s, name, kinesistest.HashKey(3, 4), "high", 4)
	if low == parent || high == parent || low == high {
		t.Fatalf("records went to %s and %s after splitting %s", low, high, parent)
	}

	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(30 * time.Second): // bounds a hang only
		t.Fatalf("still reading after 30s; events %q", c.events)
	}
	if got := dataOf(c.records[parent]); !slices.Equal(got, append(before, during...)) {
		t.Errorf("parent %s: %q", parent, got)
	}
	if got := dataOf(c.records[low]); !slices.Equal(got, lowData) {
		t.Errorf("child %s: %q", low, got)
	}
	if got := dataOf(c.records[high]); !slices.Equal(got, highData) {
		t.Errorf("child %s: %q", high, got)
	}
	end := slices.Index(c.events, parent+" END")
	if end < 0 {
		t.Fatalf("parent never ended: %q", c.events)
	}
	for i, e := range c.events {
		if i != end && (i < end) != (e[:len(parent)] == parent) {
			t.Errorf("event %d %q, the parent ending at %d", i, e, end)
		}
	}
	if len(c.events) != want+1 {
		t.Errorf("%d events, want %d records and an end: %q", len(c.events), want, c.events)
	}
}

// A stream split before the run: the closed parent and its children are
// listed, and without Follow the parent is read to its end, then the
// children until caught up.
func TestEmulatorSplitBeforeRun(t *testing.T) {
	s := emulator(t)
	name := s.CreateStream(t, 1)
	parent, before, _ := put(t, s, name, kinesistest.HashKey(0, 1), "before", 3)
	if _, err := s.Client.SplitShard(context.Background(), &kinesis.SplitShardInput{
		StreamName: &name, ShardToSplit: &parent, NewStartingHashKey: aws.String(kinesistest.HashKey(1, 2)),
	}); err != nil {
		t.Fatal(err)
	}
	s.WaitActive(t, name)
	low, lowData, _ := put(t, s, name, kinesistest.HashKey(0, 1), "low", 2)
	high, highData, _ := put(t, s, name, kinesistest.HashKey(2, 3), "high", 2)

	shards, err := ListShards(context.Background(), s.Client, Stream{Name: name}, Backoff{})
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 3 || !shards[0].Closed() || shards[1].ParentID != parent || shards[2].ParentID != parent {
		t.Fatalf("shards %+v", shards)
	}
	if got := shardIDs(Ready(shards, nil)); !slices.Equal(got, []string{parent}) {
		t.Errorf("Ready = %v", got)
	}

	c := &collect{}
	cons := &Consumer{API: s.Client, Stream: Stream{Name: name}, Options: fastOptions}
	if err := runBounded(cons, c.handle); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dataOf(c.records[parent]), before) || !slices.Equal(dataOf(c.records[low]), lowData) || !slices.Equal(dataOf(c.records[high]), highData) {
		t.Errorf("records %v", c.records)
	}
	end := slices.Index(c.events, parent+" END")
	if end != len(before) || len(c.events) != len(before)+1+len(lowData)+len(highData) {
		t.Errorf("events %q", c.events)
	}
}
