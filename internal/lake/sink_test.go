package lake

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/sink"
)

// t0 is the fixed clock of the tests.
var t0 = time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC)

// testHit is the hit of line n: one every 10 minutes from t0.
func testHit(n int64) *hit.Hit {
	return &hit.Hit{
		Time: t0.Add(time.Duration(n-1) * 10 * time.Minute), Method: "GET", Scheme: "https", Host: "example.com",
		Path: fmt.Sprintf("/p/%d", n), Query: "page=blog&ref=google.com", Status: 200, Bytes: 1000 + n,
		Duration: 5 * time.Millisecond, TTFB: -1, UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
		ClientIP: "192.0.2.7",
	}
}

// feed gives lines from..to of an input (each a hit) to a sink, then End.
func feed(t *testing.T, sk *Sink, info sink.Info, to int64, end sink.End) (fed int64) {
	t.Helper()
	h, from, err := sk.Begin(info)
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		return 0
	}
	for n := from + 1; n <= to; n++ {
		if err := h.Hit(n, testHit(n)); err != nil {
			t.Fatal(err)
		}
		fed++
	}
	end.Lines = to
	if err := h.End(end); err != nil {
		t.Fatal(err)
	}
	return fed
}

func newTestSink(t *testing.T, out Out, opt Options) *Sink {
	t.Helper()
	opt.Now = func() time.Time { return t0 }
	sk, err := NewSink(context.Background(), out, opt)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// openDir opens the lake in dir, closing the one the test opened before
// (a run after another).
func openDir(t *testing.T, dir string) *Dir {
	t.Helper()
	if d := opened[t.Name()]; d != nil {
		d.Close()
	}
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	opened[t.Name()] = d
	t.Cleanup(func() { d.Close(); delete(opened, t.Name()) })
	return d
}

var opened = map[string]*Dir{}

// lakeRows reads every data file under dir: rows by file name.
func lakeRows(t *testing.T, dir string) map[string][]Row {
	t.Helper()
	out := map[string][]Row{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isDataFile(d.Name()) {
			return err
		}
		rows, err := parquet.ReadFile[Row](p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = rows
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// lines lists the (source, line) of every row, sorted: each once when the
// lake has each hit once.
func lines(files map[string][]Row) []string {
	var out []string
	for _, rows := range files {
		for _, r := range rows {
			out = append(out, fmt.Sprintf("%s:%04d", r.Source, r.Line))
		}
	}
	slices.Sort(out)
	return out
}

func want(name string, from, to int64) []string {
	var out []string
	for n := from; n <= to; n++ {
		out = append(out, fmt.Sprintf("%s:%04d", name, n))
	}
	return out
}

func TestSinkWritesHoursOnceAndGrows(t *testing.T) {
	dir := t.TempDir()
	info := sink.Info{Name: "access.log", Key: "file:1", Size: 100}
	sk := newTestSink(t, openDir(t, dir), Options{})
	// 9 lines, every 10 minutes from 08:00: hours 08 (6) and 09 (3).
	feed(t, sk, info, 9, sink.End{})
	files := lakeRows(t, dir)
	if len(files) != 2 {
		t.Fatalf("files %v, want one per hour", keys(files))
	}
	if rows := files["dt=2025-03-14/hour=08/part-"+fileID("file:1")+"-1.parquet"]; len(rows) != 6 {
		t.Errorf("hour 08: %d rows, want 6 (files %v)", len(rows), keys(files))
	}
	if rows := files["dt=2025-03-14/hour=09/part-"+fileID("file:1")+"-7.parquet"]; len(rows) != 3 {
		t.Errorf("hour 09: %d rows, want 3 (files %v)", len(rows), keys(files))
	}
	if !sk.HasWhole("access.log") || sk.Rows != 9 || sk.Files != 2 {
		t.Errorf("HasWhole %v, rows %d, files %d", sk.HasWhole("access.log"), sk.Rows, sk.Files)
	}

	// A rerun writes nothing.
	sk = newTestSink(t, openDir(t, dir), Options{})
	if n := feed(t, sk, info, 9, sink.End{}); n != 0 || sk.Skipped != 1 {
		t.Errorf("rerun fed %d lines, skipped %d", n, sk.Skipped)
	}
	// Grown: only the new lines, in files of their own.
	info.Size = 150
	sk = newTestSink(t, openDir(t, dir), Options{})
	if n := feed(t, sk, info, 12, sink.End{}); n != 3 {
		t.Errorf("grown: fed %d lines, want 3", n)
	}
	files = lakeRows(t, dir)
	if got := lines(files); !slices.Equal(got, want("access.log", 1, 12)) {
		t.Errorf("rows %v", got)
	}
	if _, ok := files["dt=2025-03-14/hour=09/part-"+fileID("file:1")+"-10.parquet"]; !ok {
		t.Errorf("files %v: no file of the lines that grew", keys(files))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// failingOut fails the publication of the n-th file.
type failingOut struct {
	Out
	n *int
}

func (f failingOut) Create(name string) (File, error) {
	file, err := f.Out.Create(name)
	return failingFile{file, f.n}, err
}

type failingFile struct {
	File
	n *int
}

func (f failingFile) Publish(ctx context.Context) error {
	*f.n--
	if *f.n == 0 {
		return errors.New("disk on fire")
	}
	return f.File.Publish(ctx)
}

func TestSinkCrashInFlushRewritesTheSameNames(t *testing.T) {
	for _, failAt := range []int{1, 2} {
		t.Run(fmt.Sprint("publication ", failAt), func(t *testing.T) {
			dir := t.TempDir()
			info := sink.Info{Name: "access.log", Key: "file:1", Size: 100}
			n := failAt
			sk := newTestSink(t, failingOut{openDir(t, dir), &n}, Options{})
			h, _, _ := sk.Begin(info)
			for l := int64(1); l <= 9; l++ {
				h.Hit(l, testHit(l))
			}
			if err := h.End(sink.End{Lines: 9}); !errors.Is(err, ErrLake) {
				t.Fatalf("End: %v, want the publication's error", err)
			}
			before := keys(lakeRows(t, dir))
			if len(before) != failAt-1 {
				t.Fatalf("published before the failure: %v", before)
			}
			sk.Close()

			// The next run writes the input again, under the same names.
			sk = newTestSink(t, openDir(t, dir), Options{})
			if fed := feed(t, sk, info, 9, sink.End{}); fed != 9 {
				t.Errorf("fed %d lines again, want 9", fed)
			}
			files := lakeRows(t, dir)
			if got := lines(files); !slices.Equal(got, want("access.log", 1, 9)) {
				t.Errorf("rows %v", got)
			}
			for _, name := range before {
				if _, ok := files[name]; !ok {
					t.Errorf("%s was not written again", name)
				}
			}
		})
	}
}

// A flush that failed, read again by a run that sees fewer lines (a
// window of a stream): the names not written again are removed.
func TestSinkReplayRemovesNamesNotWrittenAgain(t *testing.T) {
	dir := t.TempDir()
	info := sink.Info{Name: "kinesis://s/shardId-0", Key: "kinesis:1"}
	n := 2
	sk := newTestSink(t, failingOut{openDir(t, dir), &n}, Options{})
	h, _, _ := sk.Begin(info)
	for l := int64(1); l <= 9; l++ {
		h.Hit(l, testHit(l))
	}
	h.End(sink.End{Lines: 9, Stream: true, Waiting: true})
	if got := keys(lakeRows(t, dir)); len(got) != 1 || !strings.Contains(got[0], "hour=08") {
		t.Fatalf("published %v, want hour 08's file", got)
	}
	sk = newTestSink(t, openDir(t, dir), Options{})
	// Lines 1-4 only this time: hour 08 is written again with 4 rows.
	feed(t, sk, info, 4, sink.End{Stream: true, Waiting: true})
	if got := lines(lakeRows(t, dir)); !slices.Equal(got, want(info.Name, 1, 4)) {
		t.Errorf("rows %v", got)
	}
	// The rest comes later, into files of its own.
	sk = newTestSink(t, openDir(t, dir), Options{})
	feed(t, sk, info, 9, sink.End{Stream: true, Waiting: true})
	if got := lines(lakeRows(t, dir)); !slices.Equal(got, want(info.Name, 1, 9)) {
		t.Errorf("rows %v", got)
	}
}

// A flush that failed, written again with other settings (--lake-open-hours
// changed between the runs): the files are cut elsewhere, and the earlier
// run's names not written again are removed, or their rows would be there
// twice.
func TestSinkReplayWithOtherCuts(t *testing.T) {
	dir := t.TempDir()
	info := sink.Info{Name: "access.log", Key: "file:1", Size: 100}
	// Lines alternate between hours 08 and 09: with one file open at a
	// time, each line starts a file.
	hitAt := func(l int64) *hit.Hit {
		h := testHit(l)
		h.Time = t0.Add(time.Duration((l+1)%2)*time.Hour + time.Duration(l)*time.Second)
		return h
	}
	n := 4
	sk := newTestSink(t, failingOut{openDir(t, dir), &n}, Options{MaxOpen: 1})
	h, _, _ := sk.Begin(info)
	for l := int64(1); l <= 4; l++ {
		h.Hit(l, hitAt(l))
	}
	if err := h.End(sink.End{Lines: 4}); err == nil {
		t.Fatal("the fourth publication did not fail")
	}
	if got := keys(lakeRows(t, dir)); len(got) != 3 {
		t.Fatalf("published %v, want 3 files", got)
	}
	sk = newTestSink(t, openDir(t, dir), Options{})
	h, from, _ := sk.Begin(info)
	for l := from + 1; l <= 4; l++ {
		h.Hit(l, hitAt(l))
	}
	if err := h.End(sink.End{Lines: 4}); err != nil {
		t.Fatal(err)
	}
	files := lakeRows(t, dir)
	if got := lines(files); !slices.Equal(got, want("access.log", 1, 4)) {
		t.Errorf("rows %v", got)
	}
	if len(files) != 2 {
		t.Errorf("files %v, want one per hour", keys(files))
	}
}

// With a replay through line 6 and an input read on to line 9, the
// replay's flush comes at line 6, the rest at the end.
func TestSinkReplayFlushesAtItsLine(t *testing.T) {
	dir := t.TempDir()
	info := sink.Info{Name: "access.log", Key: "file:1", Size: 100}
	n := 1
	sk := newTestSink(t, failingOut{openDir(t, dir), &n}, Options{})
	feedErr := func() {
		h, _, _ := sk.Begin(info)
		for l := int64(1); l <= 6; l++ {
			h.Hit(l, testHit(l))
		}
		h.End(sink.End{Lines: 6, Waiting: true})
	}
	feedErr()
	info.Size = 200
	sk = newTestSink(t, openDir(t, dir), Options{})
	feed(t, sk, info, 9, sink.End{})
	files := lakeRows(t, dir)
	if got := lines(files); !slices.Equal(got, want("access.log", 1, 9)) {
		t.Errorf("rows %v", got)
	}
	if got := keys(files); !slices.Equal(got, []string{
		"dt=2025-03-14/hour=08/part-" + fileID("file:1") + "-1.parquet",
		"dt=2025-03-14/hour=09/part-" + fileID("file:1") + "-7.parquet",
	}) {
		t.Errorf("files %v", got)
	}
}

func TestSinkFlushEveryKeepsFilesOpen(t *testing.T) {
	dir := t.TempDir()
	info := sink.Info{Name: "access.log", Key: "file:1", Size: 100}
	now := t0
	sk, _ := NewSink(context.Background(), openDir(t, dir), Options{FlushEvery: time.Minute, Now: func() time.Time { return now }})
	mark := func(l int64) sink.End { return sink.End{Waiting: true, Mark: input.Mark{Line: l, Offset: l * 100}} }
	feed(t, sk, info, 3, mark(3))
	feed(t, sk, info, 5, mark(5))
	if got := lakeRows(t, dir); len(got) != 0 {
		t.Fatalf("published before a minute passed: %v", keys(got))
	}
	now = now.Add(2 * time.Minute)
	feed(t, sk, info, 6, mark(6))
	if got := lines(lakeRows(t, dir)); !slices.Equal(got, want("access.log", 1, 6)) {
		t.Fatalf("rows %v", got)
	}
	feed(t, sk, info, 8, mark(8))
	if err := sk.Close(); err != nil {
		t.Fatal(err)
	}
	if got := lines(lakeRows(t, dir)); !slices.Equal(got, want("access.log", 1, 8)) {
		t.Errorf("rows after Close %v", got)
	}
	e, _ := openDir(t, dir).Get(context.Background(), "file:1")
	if e.Lines != 8 || e.Mark == nil || e.Mark.Offset != 800 {
		t.Errorf("entry %+v", e)
	}
}

func fileID(key string) string {
	p := (&Sink{}).newPart(sink.Info{}, key, &Entry{}, false)
	return p.id
}

// An input kept open and not read again is published by FlushDue once
// FlushEvery passed.
func TestSinkFlushDue(t *testing.T) {
	dir := t.TempDir()
	now := t0
	sk, _ := NewSink(context.Background(), openDir(t, dir), Options{FlushEvery: time.Minute, Now: func() time.Time { return now }})
	feed(t, sk, sink.Info{Name: "access.log", Key: "file:1", Size: 100}, 3, sink.End{Waiting: true, Mark: input.Mark{Line: 3, Offset: 300}})
	sk.FlushDue()
	if got := lakeRows(t, dir); len(got) != 0 {
		t.Fatalf("published before a minute passed: %v", keys(got))
	}
	now = now.Add(time.Minute)
	if err := sk.FlushDue(); err != nil {
		t.Fatal(err)
	}
	if got := lines(lakeRows(t, dir)); !slices.Equal(got, want("access.log", 1, 3)) {
		t.Errorf("rows %v", got)
	}
}

// An input stopped while being read (no End: a signal, a Lambda's
// deadline) leaves no file, published or temporary, once the sink is
// closed; its entry says nothing of it.
func TestSinkCloseRemovesTemporaries(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	sk := newTestSink(t, d, Options{})
	h, _, _ := sk.Begin(sink.Info{Name: "access.log", Key: "file:1", Size: 100})
	for l := int64(1); l <= 9; l++ {
		h.Hit(l, testHit(l))
	}
	if err := sk.Close(); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && !strings.Contains(p, StateDir) {
			t.Errorf("left: %s", p)
		}
		return nil
	})
	if e, _ := d.Get(context.Background(), "file:1"); e != nil {
		t.Errorf("entry %+v", e)
	}
}

// The client IP as the user chose: kept, masked (--anonymize-ip), or a
// keyed hash of the masked address (--ip-hash-key); the country is looked
// up on the address as logged.
func TestRowPrivacy(t *testing.T) {
	key := []byte("secret key")
	for _, tt := range []struct {
		opt  RowOptions
		ip   string
		want string
	}{
		{RowOptions{}, "192.0.2.7", "192.0.2.7"},
		{RowOptions{AnonymizeIP: 2}, "192.0.2.7", "192.0.0.0"},
		{RowOptions{AnonymizeIP: 1}, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"},
		{RowOptions{IPHashKey: key}, "192.0.2.7", HashIP(key, "192.0.2.7")},
		{RowOptions{AnonymizeIP: 2, IPHashKey: key}, "192.0.2.7", HashIP(key, "192.0.0.0")},
		{RowOptions{IPHashKey: key}, "", ""},
	} {
		var looked string
		tt.opt.Country = func(ip string) string { looked = ip; return "FR" }
		var r Row
		h := testHit(1)
		h.ClientIP = tt.ip
		tt.opt.fill(&r, h, &classify.Facts{}, "x", 1)
		if r.ClientIP != tt.want {
			t.Errorf("%+v %q: client_ip %q, want %q", tt.opt, tt.ip, r.ClientIP, tt.want)
		}
		if tt.ip != "" && looked != tt.ip {
			t.Errorf("%+v %q: country looked up for %q", tt.opt, tt.ip, looked)
		}
	}
	if h := HashIP(key, "192.0.2.7"); len(h) != 32 || h == HashIP([]byte("other key"), "192.0.2.7") || h != HashIP(key, "192.0.2.7") {
		t.Errorf("HashIP: %q", h)
	}
}

// With FlushEvery, a live log read to its end (End whole: it is not being
// written this moment) stays open too, so that each round of a follower
// does not make files of its own; FlushDue publishes it and records it
// whole. With FlushWhole (an after-delivery action waits), it is
// published at once.
func TestSinkFlushEveryKeepsWholeInputsOpen(t *testing.T) {
	for _, flushWhole := range []bool{false, true} {
		dir := t.TempDir()
		now := t0
		d := openDir(t, dir)
		sk, _ := NewSink(context.Background(), d, Options{FlushEvery: time.Minute, FlushWhole: flushWhole, Now: func() time.Time { return now }})
		info := sink.Info{Name: "access.log", Key: "file:1", Size: 100}
		feed(t, sk, info, 3, sink.End{})
		info.Size = 200
		feed(t, sk, info, 6, sink.End{})
		files := lakeRows(t, dir)
		if flushWhole {
			if len(files) != 2 || !sk.HasWhole("access.log") {
				t.Errorf("FlushWhole: files %v, whole %v; want each round's published at once", keys(files), sk.HasWhole("access.log"))
			}
			continue
		}
		if len(files) != 0 || sk.HasWhole("access.log") {
			t.Fatalf("published before a minute passed: %v", keys(files))
		}
		now = now.Add(time.Minute)
		if err := sk.FlushDue(); err != nil {
			t.Fatal(err)
		}
		files = lakeRows(t, dir)
		if got := lines(files); !slices.Equal(got, want("access.log", 1, 6)) || len(files) != 1 || !sk.HasWhole("access.log") {
			t.Errorf("after FlushDue: files %v, rows %v, whole %v", keys(files), got, sk.HasWhole("access.log"))
		}
		if e, _ := d.Get(context.Background(), "file:1"); e == nil || !e.Done || e.Lines != 6 {
			t.Errorf("entry %+v", e)
		}
	}
}

// An input found mostly malformed is not read again, unless Force (read
// with another --format now).
func TestSinkNotALogNeedsForce(t *testing.T) {
	dir := t.TempDir()
	info := sink.Info{Name: "odd.log", Key: "file:odd", Size: 100}
	sk := newTestSink(t, openDir(t, dir), Options{})
	h, _, _ := sk.Begin(info)
	h.Malformed(1, "bad_format")
	h.End(sink.End{Lines: 1, Failed: sink.FailMostlyMalformed + "1 of 1 lines"})
	for _, force := range []bool{false, true} {
		sk = newTestSink(t, openDir(t, dir), Options{Force: force})
		h, _, err := sk.Begin(info)
		if err != nil || (h != nil) != force {
			t.Errorf("force %v: handle %v, error %v", force, h != nil, err)
		}
	}
}
