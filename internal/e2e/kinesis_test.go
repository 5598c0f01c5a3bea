package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/kinesis/kinesistest"
	"github.com/trackless/trackless/internal/matomo/matomotest"
	"github.com/trackless/trackless/internal/s3test"
)

// realtimeStream is a Kinesis stream of the emulator holding CloudFront
// real-time records, and the records put, in order, for comparison with a
// local file of the same records.
type realtimeStream struct {
	t       *testing.T
	kin     *kinesistest.Server
	name    string
	shards  int
	records []string
	n       int // records put so far, for their times and paths
}

func newRealtimeStream(t *testing.T, kin *kinesistest.Server, shards int) *realtimeStream {
	return &realtimeStream{t: t, kin: kin, name: kin.CreateStream(t, shards), shards: shards}
}

// put puts n records, one page view each, spread over the shards of the
// stream's creation by their hash key.
func (s *realtimeStream) put(n int) {
	s.t.Helper()
	for range n {
		i := s.n
		s.n++
		rec := realtimeRecord(clock.Add(-2*time.Hour+time.Duration(i)*time.Second), fmt.Sprintf("198.51.100.%d", i%9+1), fmt.Sprintf("/stream/page-%d", i))
		s.kin.Put(s.t, s.name, kinesistest.HashKey(int64(i%s.shards), int64(s.shards)), []byte(rec))
		s.records = append(s.records, rec)
	}
}

// url is the stream as trackless is given it.
func (s *realtimeStream) url() string { return "kinesis://" + s.name }

// want is what parse prints of records from..to-1 read from a file.
func (s *realtimeStream) want(env []string, from, to int) []string {
	s.t.Helper()
	f := filepath.Join(s.t.TempDir(), "records.log")
	if err := os.WriteFile(f, []byte(strings.Join(s.records[from:to], "")), 0o644); err != nil {
		s.t.Fatal(err)
	}
	return parseItemsEnv(s.t, env, "--mode", "visits", f)
}

// kinesisMatomo is a Matomo stand-in for the records of realtimeRecord.
func kinesisMatomo(t *testing.T) *matomotest.Server {
	srv := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{token}, SiteURLs: map[int][]string{1: {"https://www.example.org"}}})
	t.Cleanup(srv.Close)
	return srv
}

// TestKinesisStream: send reads every shard of a stream from its oldest
// record, stops at the end of what exists, and keeps a checkpoint per
// shard: a rerun sends nothing, records put since are sent once; a record
// put twice (same x-edge-request-id) is read once; parse and report read
// the stream too.
func TestKinesisStream(t *testing.T) {
	kin := kinesistest.New(t)
	st := newRealtimeStream(t, kin, 2)
	st.put(40)
	// The producer wrote record 5 twice (as CloudFront may).
	kin.Put(t, st.name, kinesistest.HashKey(int64(5%st.shards), int64(st.shards)), []byte(st.records[5]))
	srv := kinesisMatomo(t)
	dir := t.TempDir()
	env := append(sendEnv(srv, filepath.Join(dir, "state")), kin.Env()...)
	want := st.want(env, 0, 40)
	if len(want) != 40 {
		t.Fatalf("%d page views in 40 records", len(want))
	}
	check := func(want []string) {
		t.Helper()
		if missing, extra := compare(want, srv.StoredRaw()); len(missing) > 0 || extra > 0 {
			t.Fatalf("%d page views missing, %d extra (of %d)", len(missing), extra, len(want))
		}
	}
	r := run(t, env, "send", "--mode", "visits", st.url())
	if r.code != 0 || !strings.Contains(r.stderr, "records the stream holds twice (same x-edge-request-id), read once: 1") {
		t.Fatalf("send exited %d:\n%s", r.code, r.stderr)
	}
	check(want)
	if r = run(t, env, "send", "--mode", "visits", st.url()); r.code != 0 {
		t.Fatalf("rerun exited %d:\n%s", r.code, r.stderr)
	}
	check(want)
	st.put(25)
	if r = run(t, env, "send", "--mode", "visits", st.url()); r.code != 0 {
		t.Fatalf("send after new records exited %d:\n%s", r.code, r.stderr)
	}
	check(st.want(env, 0, 65))

	// parse prints the records; report counts them.
	p := run(t, kin.Env(), "parse", "--mode", "visits", "--output", "jsonl", st.url())
	if p.code != 0 || strings.Count(p.stdout, "\n") != 65 {
		t.Fatalf("parse exited %d, %d lines:\n%s", p.code, strings.Count(p.stdout, "\n"), p.stderr)
	}
	rep := run(t, kin.Env(), "report", "--json", "-", st.url())
	if rep.code != 0 || !strings.Contains(rep.stdout, `"hits": 65`) {
		t.Fatalf("report exited %d:\n%s\n%.600s", rep.code, rep.stderr, rep.stdout)
	}
	// A report state reads each shard on from where it counted.
	state := filepath.Join(dir, "report-state")
	for _, c := range []struct{ put, hits int }{{0, 65}, {0, 65}, {7, 72}} {
		st.put(c.put)
		rep = run(t, kin.Env(), "report", "--state", state, "--json", "-", st.url())
		if want := fmt.Sprintf(`"hits": %d`, c.hits); rep.code != 0 || !strings.Contains(rep.stdout, want) {
			t.Fatalf("report --state after %d more records: exit %d, want %s\n%s", c.put, rep.code, want, rep.stderr)
		}
	}
	if !strings.Contains(rep.stderr, "2 inputs, 7 lines, 7 hits") {
		t.Errorf("report --state read more than the new records:\n%s", rep.stderr)
	}
}

// kinesisEvent is a Lambda Kinesis event of records from..to-1 of recs,
// all from shard 0 of the stream arn, as the event source mapping gives
// them (base64 data, sequence numbers of 56 digits).
func kinesisEvent(arn string, recs []string, from, to int) string {
	type rec struct {
		Kinesis struct {
			Schema  string  `json:"kinesisSchemaVersion"`
			Key     string  `json:"partitionKey"`
			Seq     string  `json:"sequenceNumber"`
			Data    []byte  `json:"data"`
			Arrival float64 `json:"approximateArrivalTimestamp"`
		} `json:"kinesis"`
		Source  string `json:"eventSource"`
		Version string `json:"eventVersion"`
		ID      string `json:"eventID"`
		Name    string `json:"eventName"`
		Region  string `json:"awsRegion"`
		ARN     string `json:"eventSourceARN"`
	}
	var ev struct {
		Records []rec `json:"Records"`
	}
	for i := from; i < to; i++ {
		var r rec
		r.Kinesis.Schema, r.Kinesis.Key, r.Kinesis.Seq, r.Kinesis.Data = "1.0", "k", kinesisSeq(i), []byte(recs[i])
		r.Kinesis.Arrival = float64(clock.Add(time.Duration(i) * time.Second).Unix())
		r.Source, r.Version, r.Name, r.Region, r.ARN = "aws:kinesis", "1.0", "aws:kinesis:record", "us-east-1", arn
		r.ID = "shardId-000000000000:" + r.Kinesis.Seq
		ev.Records = append(ev.Records, r)
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

// kinesisSeq is the sequence number of record i of kinesisEvent.
func kinesisSeq(i int) string {
	return fmt.Sprintf("49590338271490256608559692538361571095921575989136%06d", i)
}

// kinesisFailures returns the batchItemFailures of a Kinesis invocation's
// answer.
func kinesisFailures(t *testing.T, r invResult) []string {
	t.Helper()
	if !r.ok {
		t.Fatalf("invocation failed: %s", r.body)
	}
	var resp struct {
		Failures []struct {
			ID string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal([]byte(r.body), &resp); err != nil || !strings.Contains(r.body, "batchItemFailures") {
		t.Fatalf("answer %q: %v", r.body, err)
	}
	var ids []string
	for _, f := range resp.Failures {
		ids = append(ids, f.ID)
	}
	return ids
}

// TestLambdaKinesis: the Lambda reads a Kinesis event's records and
// answers batchItemFailures: an empty list when all were confirmed; the
// same event again, and an event overlapping one read, send nothing
// twice (the S3 ledger has a checkpoint per shard); when Matomo fails
// until the invocation's deadline, the answer names the first record not
// confirmed, and the event source mapping's retry from there sends the
// rest once.
func TestLambdaKinesis(t *testing.T) {
	var faults kinesisFaults
	s := newKinesisLambda(t, &faults)
	const arn = "arn:aws:kinesis:us-east-1:123456789012:stream/pixel"
	var recs []string
	for i := range 1200 {
		recs = append(recs, realtimeRecord(clock.Add(-3*time.Hour+time.Duration(i)*time.Second), fmt.Sprintf("198.51.100.%d", i%9+1), fmt.Sprintf("/lambda/page-%d", i)))
	}
	want := func(to int) []string {
		f := filepath.Join(t.TempDir(), "records.log")
		os.WriteFile(f, []byte(strings.Join(recs[:to], "")), 0o644)
		return parseItemsEnv(t, s.env, "--mode", "visits", f)
	}
	_, lambdaLog := startBootstrap(t, s.rt, s.env)
	defer func() {
		if t.Failed() {
			t.Logf("the function logged:\n%s", lambdaLog)
		}
	}()
	ev := kinesisEvent(arn, recs, 0, 40)
	if f := kinesisFailures(t, s.rt.invoke(ev, time.Minute)()); len(f) > 0 {
		t.Fatalf("failures %v", f)
	}
	checkStored(t, s.mat, want(40))
	if f := kinesisFailures(t, s.rt.invoke(ev, time.Minute)()); len(f) > 0 {
		t.Fatalf("the same event again: failures %v", f)
	}
	checkStored(t, s.mat, want(40))
	if f := kinesisFailures(t, s.rt.invoke(kinesisEvent(arn, recs, 30, 60), time.Minute)()); len(f) > 0 {
		t.Fatalf("an overlapping event: failures %v", f)
	}
	checkStored(t, s.mat, want(60))

	// Matomo fails (503, nothing stored) after 70 batches of 5 of the
	// next event, until the invocation stops before its deadline: the
	// answer names the record after the last checkpoint (one every 256
	// records), 316.
	faults.from.Store(int64(s.mat.Stats().BulkRequests + 1 + 70))
	faults.failing.Store(true)
	f := kinesisFailures(t, s.rt.invoke(kinesisEvent(arn, recs, 60, 1200), 5*time.Second)())
	stored := len(s.mat.StoredRaw())
	if len(f) != 1 || stored <= 60 || stored >= 1200 {
		t.Fatalf("failures %v with %d stored", f, stored)
	}
	first := -1
	for i := 60; i < 1200; i++ {
		if kinesisSeq(i) == f[0] {
			first = i
		}
	}
	if first <= 60 || first > stored {
		t.Fatalf("first record not confirmed %s (record %d), with %d stored: records stored are not all before it", f[0], first, stored)
	}
	faults.failing.Store(false)
	if f := kinesisFailures(t, s.rt.invoke(kinesisEvent(arn, recs, first, 1200), time.Minute)()); len(f) > 0 {
		t.Fatalf("the retry: failures %v", f)
	}
	checkStored(t, s.mat, want(1200))
	t.Logf("the invocation that failed stored %d of 1200; it named record %d as the first not confirmed", stored, first)

	// The first event of another shard fails before its first checkpoint
	// (8 batches of 5, fewer than 256 records): the answer names its first
	// record, and the retry sends the rest once (the ledger keeps where the
	// shard's reading started).
	const arn2 = "arn:aws:kinesis:us-east-1:123456789012:stream/pixel-2"
	var recs2 []string
	for i := range 200 {
		recs2 = append(recs2, realtimeRecord(clock.Add(-90*time.Minute+time.Duration(i)*time.Second), fmt.Sprintf("203.0.113.%d", i%9+1), fmt.Sprintf("/lambda2/page-%d", i)))
	}
	faults.from.Store(int64(s.mat.Stats().BulkRequests + 1 + 8))
	faults.failing.Store(true)
	before := len(s.mat.StoredRaw())
	f = kinesisFailures(t, s.rt.invoke(kinesisEvent(arn2, recs2, 0, 200), 5*time.Second)())
	if stored = len(s.mat.StoredRaw()) - before; len(f) != 1 || f[0] != kinesisSeq(0) || stored == 0 || stored >= 200 {
		t.Fatalf("a first event failing: failures %v with %d stored", f, stored)
	}
	faults.failing.Store(false)
	if f := kinesisFailures(t, s.rt.invoke(kinesisEvent(arn2, recs2, 0, 200), time.Minute)()); len(f) > 0 {
		t.Fatalf("its retry: failures %v", f)
	}
	f2 := filepath.Join(t.TempDir(), "records2.log")
	os.WriteFile(f2, []byte(strings.Join(recs2, "")), 0o644)
	checkStored(t, s.mat, append(want(1200), parseItemsEnv(t, s.env, "--mode", "visits", f2)...))

	// A third shard's first event fails at its deadline; the event source
	// mapping gives up on its records 0-99 (retries spent: they go to its
	// on-failure destination) and goes on with 100-199. Those are all
	// sent, although the ledger had lines confirmed past its checkpoint.
	const arn3 = "arn:aws:kinesis:us-east-1:123456789012:stream/pixel-3"
	var recs3 []string
	for i := range 200 {
		recs3 = append(recs3, realtimeRecord(clock.Add(-80*time.Minute+time.Duration(i)*time.Second), fmt.Sprintf("203.0.113.%d", i%9+11), fmt.Sprintf("/lambda3/page-%d", i)))
	}
	faults.from.Store(int64(s.mat.Stats().BulkRequests + 1 + 8))
	faults.failing.Store(true)
	before = len(s.mat.StoredRaw())
	if f = kinesisFailures(t, s.rt.invoke(kinesisEvent(arn3, recs3, 0, 200), 5*time.Second)()); len(f) != 1 || f[0] != kinesisSeq(0) {
		t.Fatalf("a third shard's first event failing: failures %v", f)
	}
	first3 := s.mat.StoredRaw()[before:]
	faults.failing.Store(false)
	if f := kinesisFailures(t, s.rt.invoke(kinesisEvent(arn3, recs3, 100, 200), time.Minute)()); len(f) > 0 {
		t.Fatalf("the batch after the one given up on: failures %v", f)
	}
	f3 := filepath.Join(t.TempDir(), "records3.log")
	os.WriteFile(f3, []byte(strings.Join(recs3[100:], "")), 0o644)
	want3 := append(want(1200), parseItemsEnv(t, s.env, "--mode", "visits", f2)...)
	want3 = append(append(want3, first3...), parseItemsEnv(t, s.env, "--mode", "visits", f3)...)
	checkStored(t, s.mat, want3)
	noToken(t, s.dir)
}

// kinesisFaults makes the Matomo stand-in of newKinesisLambda refuse (503,
// nothing stored) every bulk request from the one numbered from on, while
// failing is set.
type kinesisFaults struct {
	failing atomic.Bool
	from    atomic.Int64
}

// newKinesisLambda is a Lambda setup for Kinesis events of realtimeRecord
// records (visits mode, batches of 5, one worker, a 2 s stop before the
// deadline), whose Matomo fails as faults says.
func newKinesisLambda(t *testing.T, faults *kinesisFaults) *lambdaSetup {
	return newLambdaSetupWith(t, matomotest.Config{
		SuperUserTokens: []string{token}, SiteURLs: map[int][]string{1: {"https://www.example.org"}},
		FaultFunc: func(n int) matomotest.Fault {
			if faults.failing.Load() && int64(n) >= faults.from.Load() {
				return matomotest.Fault{Kind: matomotest.Fault503}
			}
			return matomotest.Fault{}
		},
	}, "TRACKLESS_MODE=visits", "TRACKLESS_FORMAT=cloudfront-realtime", "BATCH_SIZE=5", "TRACKLESS_CONCURRENCY=1", "TRACKLESS_LAMBDA_STOP_BEFORE=2s")
}

// putBatch puts n records with PutRecords, spread over the shards of the
// stream's creation.
func (s *realtimeStream) putBatch(n int) {
	s.t.Helper()
	var keys []string
	for k := range s.shards {
		keys = append(keys, kinesistest.HashKey(int64(k), int64(s.shards)))
	}
	var data [][]byte
	for range n {
		i := s.n
		s.n++
		rec := realtimeRecord(clock.Add(-2*time.Hour+time.Duration(i)*time.Second), fmt.Sprintf("198.51.100.%d", i%9+1), fmt.Sprintf("/stream/page-%d", i))
		s.records = append(s.records, rec)
		data = append(data, []byte(rec))
	}
	// Record i of the stream goes to shard i%shards, as put does.
	rot := make([]string, len(keys))
	for j := range keys {
		rot[j] = keys[(s.n-n+j)%len(keys)]
	}
	s.kin.PutBatch(s.t, s.name, rot, data)
}

// startTrackless starts trackless with args and returns the command and
// its stderr (read it once the command has ended, or under its lock).
func startTrackless(t *testing.T, env []string, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	errb := &syncBuffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, errb
}

// waitStored waits until Matomo holds n hits or more (30 s at most: a
// bound on a hang, not a timing assertion).
func waitStored(t *testing.T, srv *matomotest.Server, n int, why string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(srv.StoredRaw()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: Matomo holds %d hits after 30 s, want %d", why, len(srv.StoredRaw()), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKinesisKillAndResume: send is killed (SIGKILL) in the middle of a
// stream; the next run reads each shard on from its checkpoint: nothing
// lost, at most the batches in flight sent twice.
func TestKinesisKillAndResume(t *testing.T) {
	kin := kinesistest.New(t)
	st := newRealtimeStream(t, kin, 2)
	st.putBatch(3000)
	const batch, conc = 20, 4
	srv := matomotest.NewServer(matomotest.Config{
		SuperUserTokens: []string{token}, SiteURLs: map[int][]string{1: {"https://www.example.org"}},
		FaultFunc: func(n int) matomotest.Fault {
			return matomotest.Fault{Kind: matomotest.FaultSlow, Delay: 15 * time.Millisecond}
		},
	})
	defer srv.Close()
	env := append(sendEnv(srv, filepath.Join(t.TempDir(), "state"), fmt.Sprintf("BATCH_SIZE=%d", batch), fmt.Sprintf("TRACKLESS_CONCURRENCY=%d", conc)), kin.Env()...)
	want := st.want(env, 0, 3000)
	cmd, _ := startTrackless(t, env, "send", "--mode", "visits", st.url())
	deadline := time.Now().Add(30 * time.Second)
	for srv.Stats().BulkRequests < len(want)/batch/3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	time.Sleep(100 * time.Millisecond) // let the receiver finish what it was doing
	firstRun := len(srv.StoredRaw())
	if firstRun == 0 || firstRun >= len(want) {
		t.Fatalf("the kill came too early or too late: %d of %d stored", firstRun, len(want))
	}
	if r := run(t, env, "send", "--mode", "visits", st.url()); r.code != 0 {
		t.Fatalf("second run exited %d:\n%s", r.code, r.stderr)
	}
	missing, extra := compare(want, srv.StoredRaw())
	t.Logf("killed after %d of %d hits were stored; the rerun sent %d twice (bound: %d)", firstRun, len(want), extra, batch*conc)
	if len(missing) > 0 || extra > batch*conc {
		t.Fatalf("%d hits lost (first %q), %d sent twice, bound %d", len(missing), first(missing), extra, batch*conc)
	}
}

// TestKinesisFollowSplit: send --follow reads records as they are put;
// when the shard is split while it reads, it reads the parent to its end
// and goes on with the children, and when these are merged, with the
// shard they make: every record once; SIGTERM stops it with exit 0.
func TestKinesisFollowSplit(t *testing.T) {
	kin := kinesistest.New(t)
	st := newRealtimeStream(t, kin, 1)
	srv := kinesisMatomo(t)
	env := append(sendEnv(srv, filepath.Join(t.TempDir(), "state")), kin.Env()...)
	cmd, errb := startTrackless(t, env, "send", "--follow", "--poll", "100ms", "--mode", "visits", st.url())
	st.putBatch(100)
	waitStored(t, srv, 100, "before the split")
	st.putBatch(50) // read or not when the split comes: the parent's last records
	kin.Split(t, st.name, "shardId-000000000000", kinesistest.HashKey(1, 2))
	st.shards = 2 // the children: hash keys in either half
	st.putBatch(100)
	waitStored(t, srv, 250, "after the split")
	st.putBatch(20)
	kin.Merge(t, st.name, "shardId-000000000001", "shardId-000000000002")
	st.putBatch(30) // into the merged shard
	waitStored(t, srv, 300, "after the merge")
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("send --follow: %v\n%s", err, errb.String())
	}
	if missing, extra := compare(st.want(env, 0, 300), srv.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Fatalf("%d page views missing, %d extra\n%s", len(missing), extra, errb.String())
	}
	// Records put after the split are in the children, those after the
	// merge in the shard merged (a closed shard takes no records): stored,
	// they were read.
}

// TestKinesisLeases: two followers share a stream through an S3 ledger
// (versitygw): each shard is read by the one holding its claim; one is
// killed (SIGKILL) and the other takes its shards over once its claims
// expire: every record reaches Matomo, at most the batches in flight at
// the kill twice.
func TestKinesisLeases(t *testing.T) {
	kin := kinesistest.New(t)
	s3srv := s3test.Start(t)
	bucket := s3srv.Bucket(t)
	st := newRealtimeStream(t, kin, 4)
	srv := kinesisMatomo(t)
	const batch = 10
	env := append(sendEnv(srv, filepath.Join(t.TempDir(), "state"), fmt.Sprintf("BATCH_SIZE=%d", batch), "TRACKLESS_CONCURRENCY=2", "TRACKLESS_CLAIM_TTL=2s", "TRACKLESS_LEDGER=s3://"+bucket+"/ledger/"), kin.Env()...)
	env = append(env, s3srv.Env()...)
	args := []string{"send", "--follow", "--poll", "100ms", "--mode", "visits", st.url()}
	a, aerr := startTrackless(t, env, args...)
	b, berr := startTrackless(t, env, args...)
	st.putBatch(400)
	waitStored(t, srv, 400, "both followers")
	st.putBatch(400)
	waitStored(t, srv, 500, "in the second batch of records")
	a.Process.Signal(syscall.SIGKILL)
	a.Wait()
	st.putBatch(400)
	// Every page view, not 1,200 hits: those the killed follower had in
	// flight may be there twice, and stopping the other at 1,200 would cut
	// it short.
	want := st.want(env, 0, 1200)
	deadline := time.Now().Add(30 * time.Second) // a bound on a hang
	for missing, _ := compare(want, srv.StoredRaw()); len(missing) > 0; missing, _ = compare(want, srv.StoredRaw()) {
		if time.Now().After(deadline) {
			t.Fatalf("after the kill (the other follower takes over once the claims expire): %d page views missing after 30 s", len(missing))
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Process.Signal(syscall.SIGTERM)
	if err := b.Wait(); err != nil {
		t.Fatalf("the follower left: %v\n%s", err, berr.String())
	}
	missing, extra := compare(want, srv.StoredRaw())
	t.Logf("%d sent twice (bound %d); busy shards met: %d by the killed follower, %d by the other", extra, 2*batch, strings.Count(aerr.String(), "being read by another worker"), strings.Count(berr.String(), "being read by another worker"))
	if len(missing) > 0 || extra > 2*batch {
		t.Fatalf("%d page views missing (%.300q), %d extra\n%s\nkilled follower:\n%s", len(missing), missing, extra, berr.String(), aerr.String())
	}
}

// TestKinesisMalformedIsNotForever: a record that is not a log (a test
// put by hand) makes the run say so and exit 1, but the shard is not
// given up: the records after it are read by the next run.
func TestKinesisMalformedIsNotForever(t *testing.T) {
	kin := kinesistest.New(t)
	st := newRealtimeStream(t, kin, 1)
	kin.Put(t, st.name, kinesistest.HashKey(0, 1), []byte("hello from the console\n"))
	srv := kinesisMatomo(t)
	env := append(sendEnv(srv, filepath.Join(t.TempDir(), "state")), kin.Env()...)
	args := []string{"send", "--mode", "visits", "--format", "cloudfront-realtime", st.url()}
	if r := run(t, env, args...); r.code != 1 || !strings.Contains(r.stderr, "malformed") {
		t.Fatalf("a stream of one malformed record: exit %d\n%s", r.code, r.stderr)
	}
	st.put(3)
	if r := run(t, env, args...); r.code != 0 || len(srv.StoredRaw()) != 3 {
		t.Fatalf("the records after it: exit %d, %d stored\n%s", r.code, len(srv.StoredRaw()), r.stderr)
	}
}

// TestKinesisReportFollow: report --follow counts a stream's records as
// they are put into its state and page; stopped, the state holds each
// once.
func TestKinesisReportFollow(t *testing.T) {
	kin := kinesistest.New(t)
	st := newRealtimeStream(t, kin, 2)
	dir := t.TempDir()
	state, page := filepath.Join(dir, "state"), filepath.Join(dir, "report.html")
	cmd, errb := startTrackless(t, kin.Env(), "report", "--follow", "--refresh", "200ms", "--state", state, "-o", page, st.url())
	st.put(20)
	deadline := time.Now().Add(30 * time.Second) // a bound on a hang
	for {
		if html, err := os.ReadFile(page); err == nil && strings.Contains(string(html), "/stream/page-19") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page never showed the records:\n%s", errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("report --follow: %v\n%s", err, errb.String())
	}
	rep := run(t, kin.Env(), "report", "--state", state, "--json", "-")
	if rep.code != 0 || !strings.Contains(rep.stdout, `"hits": 20`) {
		t.Fatalf("the state after --follow: exit %d\n%s", rep.code, rep.stderr)
	}
}
