package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/kinesis/kinesistest"
	"github.com/trackless/trackless/internal/matomo/matomotest"
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
// shard: a rerun sends nothing, records put since are sent once; parse
// and report read the stream too.
func TestKinesisStream(t *testing.T) {
	kin := kinesistest.New(t)
	st := newRealtimeStream(t, kin, 2)
	st.put(40)
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
	if r.code != 0 {
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
}
