package report

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/sink"
)

// newStateSink opens a state in dir and a sink that counts into it.
func newStateSink(t *testing.T, dir string, now func() time.Time, checkpoint time.Duration) (*Sink, *State) {
	t.Helper()
	st, err := OpenState(dir, StateOptions{TableSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	agg, err := New(Options{TableSize: st.TableSize(), Load: st.Load})
	if err != nil {
		t.Fatal(err)
	}
	return NewSink(agg, SinkOptions{State: st, Now: now, Checkpoint: checkpoint}), st
}

// feed gives the sink the hits of one input, lines 1..n, and ends it.
func feed(t *testing.T, s *Sink, in sink.Info, hits int, failed string) (through int64) {
	t.Helper()
	si, through, err := s.Begin(in)
	if err != nil {
		t.Fatal(err)
	}
	if si == nil {
		return -1
	}
	all := genHits(t, hits, time.Hour, 3)
	for i := int(through); i < len(all); i++ {
		if err := si.Hit(int64(i+1), &all[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := si.End(sink.End{Lines: int64(len(all)), Failed: failed}); err != nil {
		t.Fatal(err)
	}
	return through
}

// TestSinkProgress: the state is the sink's checkpoint: an input counted
// whole is not counted again, a grown one from where it was left, a
// smaller one not at all (damaged), a failed one again from the start of
// what is missing; a commit with nothing new leaves the state as it was.
func TestSinkProgress(t *testing.T) {
	dir := t.TempDir()
	now := func() time.Time { return time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC) }
	s, st := newStateSink(t, dir, now, 0)
	a := sink.Info{Name: "a.log", Key: "ka", Size: 1000}
	if through := feed(t, s, a, 50, ""); through != 0 {
		t.Fatalf("a new input begins at line %d", through)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if e := st.Input("ka"); e == nil || !e.Done || e.Lines != 50 || e.Hits != 50 {
		t.Fatalf("entry after commit: %+v", e)
	}
	manifest := filepath.Join(dir, manifestName)
	before, _ := os.ReadFile(manifest)
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(manifest); string(after) != string(before) {
		t.Error("a commit with nothing new rewrote the state")
	}
	st.Close()

	s, st = newStateSink(t, dir, now, 0)
	if through := feed(t, s, a, 50, ""); through != -1 || s.Skipped != 1 || !s.HasWhole("a.log") {
		t.Errorf("an input counted whole: begun at %d, skipped %d", through, s.Skipped)
	}
	a.Size = 2000
	if through := feed(t, s, a, 80, ""); through != 50 {
		t.Errorf("a grown input begins at line %d, want 50", through)
	}
	if through := feed(t, s, sink.Info{Name: "a.log", Key: "ka", Size: 10}, 80, ""); through != -1 || len(s.Damaged) != 1 {
		t.Errorf("a smaller input: begun at %d, damaged %v", through, s.Damaged)
	}
	b := sink.Info{Name: "b.log", Key: "kb", Size: 500}
	feed(t, s, b, 20, "damaged after line 20: unexpected EOF")
	if s.HasWhole("b.log") || s.Counted() != 1 {
		t.Errorf("a damaged input counts as whole (counted %d)", s.Counted())
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if e := st.Input("ka"); e == nil || e.Lines != 80 || e.Hits != 80 {
		t.Errorf("grown entry: %+v", e)
	}
	if e := st.Input("kb"); e == nil || e.Done || e.Failed == "" || e.Lines != 20 {
		t.Errorf("damaged entry: %+v", e)
	}
	days, err := s.Days()
	if err != nil {
		t.Fatal(err)
	}
	var hits int64
	for _, d := range days {
		hits += d.Total.Requests
	}
	if hits != 100 { // 80 of a, 20 of b
		t.Errorf("the state counts %d hits, want 100", hits)
	}
}

// TestSinkCheckpoint: with a checkpoint, the sink commits when an input
// ends and the time has passed.
func TestSinkCheckpoint(t *testing.T) {
	dir := t.TempDir()
	clock := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	s, st := newStateSink(t, dir, now, time.Minute)
	feed(t, s, sink.Info{Name: "a", Key: "ka", Size: 1}, 10, "")
	if st.Input("ka") != nil {
		t.Fatal("committed before the checkpoint's time")
	}
	clock = clock.Add(2 * time.Minute)
	feed(t, s, sink.Info{Name: "b", Key: "kb", Size: 1}, 10, "")
	if st.Input("ka") == nil || st.Input("kb") == nil {
		t.Fatal("not committed when an input ended after the checkpoint's time")
	}
}

// TestSinkStateError: a day that cannot be loaded stops the sink with
// ErrState, and nothing is committed after it.
func TestSinkStateError(t *testing.T) {
	broken := errors.New("disk gone")
	agg, err := New(Options{Load: func(DayKey) (*Day, error) { return nil, broken }})
	if err != nil {
		t.Fatal(err)
	}
	s := NewSink(agg, SinkOptions{})
	si, _, err := s.Begin(sink.Info{Name: "a", Key: "ka"})
	if err != nil {
		t.Fatal(err)
	}
	h := genHits(t, 1, time.Hour, 1)[0]
	if err := si.Hit(1, &h); !errors.Is(err, ErrState) || !errors.Is(s.Err(), ErrState) {
		t.Errorf("Hit: %v, want ErrState", err)
	}
	if _, _, err := s.Begin(sink.Info{Name: "b"}); !errors.Is(err, ErrState) {
		t.Errorf("Begin after a state error: %v", err)
	}
}

// TestSinkKeyOfAGrownFile: a file recorded while shorter than the
// fingerprint (under its short key) is found again once longer, under
// its new key, if it still starts with the bytes recorded, and its old
// entry goes; a file that does not (another file reusing the inode) is a
// new input.
func TestSinkKeyOfAGrownFile(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC) }
	for _, tt := range []struct {
		name      string
		same      bool
		wantFrom  int64
		wantInput int
	}{{"the same file, grown", true, 10, 1}, {"another file at the inode", false, 0, 2}} {
		// (An entry recorded before fingerprints were is taken as it is:
		// TestSinkEntryOfBefore.)
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, st := newStateSink(t, dir, now, 0)
			short := sink.Info{Name: "a.log", Key: "1-2-short", Keys: []string{"1-2-short", "1-2-aaaa"}, Size: 900, Fingerprint: "fp900", FingerprintLen: 900}
			feed(t, s, short, 10, "")
			if err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			st.Close()
			s, st = newStateSink(t, dir, now, 0)
			grown := sink.Info{Name: "a.log", Key: "1-2-bbbb", Keys: []string{"1-2-bbbb", "1-2-short"}, Size: 5000, Fingerprint: "fp4096", FingerprintLen: 4096,
				SamePrefix: func(fp string, n int) bool { return tt.same && fp == "fp900" && n == 900 }}
			if from := feed(t, s, grown, 30, ""); from != tt.wantFrom {
				t.Errorf("read from line %d, want %d", from, tt.wantFrom)
			}
			if err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			if n := len(st.Inputs()); n != tt.wantInput {
				t.Errorf("the state holds %d inputs, want %d: %v", n, tt.wantInput, st.Inputs())
			}
			if e := st.Input("1-2-bbbb"); e == nil || e.Fingerprint != "fp4096" {
				t.Errorf("entry under the new key: %+v", e)
			}
		})
	}
}

// TestSinkEntryOfBefore: an entry a state recorded before it kept
// fingerprints (under the key that holds the content's fingerprint) is
// the input's: a small log counted before an upgrade is not counted again.
func TestSinkEntryOfBefore(t *testing.T) {
	dir := t.TempDir()
	now := func() time.Time { return time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC) }
	s, st := newStateSink(t, dir, now, 0)
	feed(t, s, sink.Info{Name: "a.log", Key: "1-2-aaaa", Size: 900}, 10, "") // no fingerprint: as before
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	s, _ = newStateSink(t, dir, now, 0)
	now2 := sink.Info{Name: "a.log", Key: "1-2-short", Keys: []string{"1-2-short", "1-2-aaaa"}, Size: 900, Fingerprint: "fp900", FingerprintLen: 900,
		SamePrefix: func(string, int) bool { return false }}
	if from := feed(t, s, now2, 10, ""); from != -1 || s.Skipped != 1 {
		t.Errorf("an unchanged small log counted before: begun at %d, skipped %d; want it found and skipped", from, s.Skipped)
	}
}

// TestSinkMark: where the last line counted ends (sink.End.Mark) is kept
// in the state and given back to the next run (sink.Marked), so that it
// reads a grown file on from there.
func TestSinkMark(t *testing.T) {
	dir := t.TempDir()
	now := func() time.Time { return time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC) }
	s, st := newStateSink(t, dir, now, 0)
	a := sink.Info{Name: "a.log", Key: "ka", Size: 1000}
	si, _, err := s.Begin(a)
	if err != nil {
		t.Fatal(err)
	}
	m := input.Mark{Line: 50, Offset: 990, HeadLine: 3, HeadOffset: 60}
	hits := genHits(t, 50, time.Hour, 3)
	for i := range hits {
		si.Hit(int64(i+1), &hits[i])
	}
	if err := si.End(sink.End{Lines: 50, Mark: m}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	s, _ = newStateSink(t, dir, now, 0)
	a.Size = 1100
	si, through, err := s.Begin(a)
	if err != nil || si == nil || through != 50 {
		t.Fatalf("a grown input: %v %d %v", si, through, err)
	}
	if got := si.(sink.Marked).Mark(); got != m {
		t.Errorf("the state gives back the mark %+v, want %+v", got, m)
	}
}

// TestSinkStreamStart: a stream's start (sink.Started) is kept as the
// mark of lines counted before the stream's first other mark, so that a
// run interrupted there is read on from the stream's start, not refused.
func TestSinkStreamStart(t *testing.T) {
	dir := t.TempDir()
	now := func() time.Time { return time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC) }
	s, st := newStateSink(t, dir, now, 0)
	a := sink.Info{Name: "kinesis://s/shardId-0", Key: "object:kinesis://s/shardId-0#"}
	si, _, err := s.Begin(a)
	if err != nil {
		t.Fatal(err)
	}
	start := input.Mark{Position: "4959001", At: true}
	si.(sink.Started).Start(start)
	hits := genHits(t, 20, time.Hour, 3)
	for i := range hits {
		si.Hit(int64(i+1), &hits[i])
	}
	// Interrupted: no End.
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	s, _ = newStateSink(t, dir, now, 0)
	si, through, err := s.Begin(a)
	if err != nil || si == nil || through != 20 {
		t.Fatalf("the stream again: %v %d %v", si, through, err)
	}
	if got := si.(sink.Marked).Mark(); got != start {
		t.Errorf("the state gives back the mark %+v, want the stream's start %+v", got, start)
	}
}
