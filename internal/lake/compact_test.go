package lake

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/sink"
)

// feedHour gives an input lines from..to, all in the hour of t0 + hour.
func feedHour(t *testing.T, sk *Sink, key string, hour, from, to int64) {
	t.Helper()
	h, _, err := sk.Begin(sink.Info{Name: key + ".log", Key: key, Size: 100})
	if err != nil || h == nil {
		t.Fatalf("Begin: %v %v", h, err)
	}
	for n := from; n <= to; n++ {
		hh := testHit(n)
		hh.Time = t0.Add(time.Duration(hour)*time.Hour + time.Duration(n)*time.Second)
		if err := h.Hit(n, hh); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.End(sink.End{Lines: to}); err != nil {
		t.Fatal(err)
	}
}

func compact(t *testing.T, out Out, now time.Time) CompactStats {
	t.Helper()
	st, err := Compact(context.Background(), out, CompactOptions{From: t0.Add(-24 * time.Hour), MinAge: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestCompact(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	sk := newTestSink(t, d, Options{})
	for i, key := range []string{"a", "b", "c"} {
		feedHour(t, sk, key, 0, 1, int64(10+i))
	}
	feedHour(t, sk, "d", 1, 1, 5)
	before := lines(lakeRows(t, dir))
	later := time.Now().Add(48 * time.Hour) // the files' times are the wall clock's
	st := compact(t, d, later)
	if st.Partitions != 1 || st.Files != 3 || st.Rows != 33 {
		t.Errorf("stats %+v, want 1 hour of 3 files, 33 rows", st)
	}
	files := lakeRows(t, dir)
	if got := lines(files); !slices.Equal(got, before) {
		t.Errorf("rows after the compaction differ: %d, were %d", len(got), len(before))
	}
	if got := keys(files); len(got) != 2 || !strings.Contains(got[0], "hour=08/compact-") || !strings.Contains(got[1], "hour=09/part-") {
		t.Errorf("files %v", got)
	}
	// Nothing more to do.
	if st := compact(t, d, later); st.Partitions != 0 {
		t.Errorf("second compaction: %+v", st)
	}
	// A late input's file is merged with the compacted one.
	feedHour(t, sk, "e", 0, 1, 4)
	if st := compact(t, d, later); st.Partitions != 1 || st.Files != 2 || st.Rows != 37 {
		t.Errorf("after a late input: %+v", st)
	}
	if got := lines(lakeRows(t, dir)); len(got) != len(before)+4 {
		t.Errorf("%d rows, want %d", len(got), len(before)+4)
	}
	// Files written less than MinAge ago are left.
	feedHour(t, sk, "f", 0, 1, 2)
	if st := compact(t, d, time.Now()); st.Partitions != 0 || st.Left != 3 {
		t.Errorf("young files: %+v", st)
	}
}

// A compaction stopped after its record: finished (or forgotten) by the next.
func TestCompactFinishesAnEarlierOne(t *testing.T) {
	for _, published := range []bool{false, true} {
		dir := t.TempDir()
		d := openDir(t, dir)
		sk := newTestSink(t, d, Options{})
		feedHour(t, sk, "a", 0, 1, 10)
		feedHour(t, sk, "b", 0, 1, 10)
		files := keys(lakeRows(t, dir))
		c := compaction{Target: "dt=2025-03-14/hour=08/compact-0000000000000000.parquet", Sources: files, Started: time.Now().Add(-2 * time.Hour)}
		if published {
			if _, err := mergeFiles(context.Background(), d, c, ""); err != nil {
				t.Fatal(err)
			}
		}
		data, _ := json.Marshal(c)
		if err := d.CreateMeta(context.Background(), "compactions/dt=2025-03-14/hour=08.json", data); err != nil {
			t.Fatal(err)
		}
		st := compact(t, d, time.Now().Add(48*time.Hour))
		got := lakeRows(t, dir)
		if n := len(lines(got)); n != 20 {
			t.Errorf("published %v: %d rows, want 20 (files %v)", published, n, keys(got))
		}
		if len(got) != 1 {
			t.Errorf("published %v: files %v, want one", published, keys(got))
		}
		if published != (st.Partitions == 0) {
			t.Errorf("published %v: %+v", published, st)
		}
		if m, _ := d.GetMeta(context.Background(), "compactions/dt=2025-03-14/hour=08.json"); m != nil {
			t.Errorf("the record is still there")
		}
	}
}

// A file named by an input's unfinished flush is left until that input's
// next run writes it again; another process's compaction of the hour is
// left to it.
func TestCompactLeavesPendingAndBusy(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	sk := newTestSink(t, d, Options{})
	feedHour(t, sk, "a", 0, 1, 10)
	n := 2 // the second file of b's flush fails: the first is published, pending
	skb := newTestSink(t, failingOut{d, &n}, Options{})
	h, _, _ := skb.Begin(sink.Info{Name: "b.log", Key: "b", Size: 100})
	for l := int64(1); l <= 10; l++ {
		hh := testHit(l)
		hh.Time = t0.Add(time.Duration(l) * time.Second)
		if l > 5 {
			hh.Time = hh.Time.Add(time.Hour)
		}
		h.Hit(l, hh)
	}
	h.End(sink.End{Lines: 10})
	later := time.Now().Add(48 * time.Hour)
	if st := compact(t, d, later); st.Partitions != 0 || st.Left != 1 {
		t.Fatalf("with b's flush pending: %+v", st)
	}
	// b's next run: its files again, then the hour is compacted.
	feedHour(t, newTestSink(t, d, Options{}), "b", 0, 1, 10)
	if st := compact(t, d, later); st.Partitions != 1 || st.Files != 2 {
		t.Errorf("after b's run: %+v", st)
	}
	if got := lines(lakeRows(t, dir)); len(got) != 20 || len(slices.Compact(got)) != 20 {
		t.Errorf("rows %v", got)
	}
	// Busy: another process recorded the hour (less than compactionTTL
	// ago): the hour is left to it.
	feedHour(t, sk, "c", 0, 1, 3)
	feedHour(t, sk, "d", 0, 1, 3)
	busy, _ := json.Marshal(compaction{Target: "dt=2025-03-14/hour=08/compact-x.parquet", Started: later.Add(-time.Minute)})
	d.CreateMeta(context.Background(), "compactions/dt=2025-03-14/hour=08.json", busy)
	if st := compact(t, d, later); st.Partitions != 0 {
		t.Errorf("an hour another process compacts: %+v", st)
	}
	if st := compact(t, d, later.Add(2*time.Hour)); st.Partitions != 1 || st.Files != 3 {
		t.Errorf("once the other's record expired: %+v", st)
	}
}
