package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/matomo"
	"github.com/trackless/trackless/internal/sink"
)

// liveLine is line i of a CloudFront log a writer appends to.
func liveLine(i int) string {
	ts := testNow.Add(-time.Hour).Add(time.Duration(i) * time.Second)
	return fmt.Sprintf("%s\t%s\t192.0.2.%d\tGET\twww.example.com\thttps\t/page/%d\t200\tAgent%%20v%d%%20ChatGPT-User/1.0\n",
		ts.Format("2006-01-02"), ts.Format("15:04:05"), i%10, i, i%10)
}

// appendTo appends s to the file p and sets its modification time: 30 s
// in the future while its writer is at work (the file is live whatever
// the clock, a future time being believed for a minute), an hour back once
// it has stopped (settled).
func appendTo(t *testing.T, p, s string, live bool) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
	mtime := time.Now().Add(-time.Hour)
	if live {
		mtime = time.Now().Add(30 * time.Second)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// TestPartialLastLine: runs over a log whose writer is in the middle of
// a line (cron runs over a live log) read only whole lines: the
// unterminated last line waits for its newline and is read whole by the
// next run, once; nothing is lost, nothing sent twice, nothing malformed,
// and the input is not done (no --after) while it waits. A line its
// writer never finishes is read as it is once the file has settled.
func TestPartialLastLine(t *testing.T) {
	srv, client := newOKServer(t)
	led := testLedger(t)
	var after []string
	fs := &fakeSink{}
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		Client: client, Ledger: led, Now: fixedNow, Sinks: []sink.Sink{fs}, WholeLines: true,
	}
	p := filepath.Join(t.TempDir(), "access.log")
	header := "#Fields: date time c-ip cs-method x-host-header cs-protocol cs-uri-stem sc-status cs(User-Agent)\n"
	body := header
	for i := 1; i <= 10; i++ {
		body += liveLine(i)
	}
	l11 := liveLine(11)
	appendTo(t, p, body+l11[:25], true) // line 11 cut in the middle of its time
	run := func() *Stats {
		t.Helper()
		st, err := Run(context.Background(), context.Background(), []string{p}, opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Malformed) > 0 {
			t.Errorf("malformed lines: %v", st.Malformed)
		}
		return st
	}
	st := run()
	if len(srv.items) != 10 || len(st.InputsWaiting) != 1 || len(fs.lines) != 10 {
		t.Fatalf("first run: sent %d (want 10), waiting %v, the sink got %d", len(srv.items), st.InputsWaiting, len(fs.lines))
	}
	if e, _ := led.Get(context.Background(), ledgerKey(t, p)); e == nil || e.Done || e.ConfirmedLine != 11 {
		t.Fatalf("ledger after the first run: %+v; want not done, confirmed through line 11 (the header and 10 hits)", e)
	}
	fs.has = 11 // the sink keeps where it was told the input ended
	appendTo(t, p, l11[25:]+liveLine(12), true)
	st = run()
	if len(srv.items) != 12 || len(st.InputsWaiting) != 0 {
		t.Fatalf("second run: %d sent in all (want 12), waiting %v", len(srv.items), st.InputsWaiting)
	}
	if fs.lines[len(fs.lines)-2] != 12 || fs.lines[len(fs.lines)-1] != 13 {
		t.Errorf("the sink got lines %v, want 12 and 13 last", fs.lines)
	}
	opt.Sinks, opt.OnDone = nil, func(name string) error { after = append(after, name); return nil }
	// The writer dies in the middle of line 13: while the file is live the
	// line waits (and the input is not done); once settled it is read as
	// it is (here: malformed, so counted as such).
	appendTo(t, p, liveLine(13)[:30], true)
	if st = run(); len(st.InputsWaiting) != 1 || len(after) != 0 {
		t.Fatalf("a live file with a cut line: waiting %v, after-delivery on %v", st.InputsWaiting, after)
	}
	mtime := time.Now().Add(-time.Hour)
	os.Chtimes(p, mtime, mtime)
	st, err := Run(context.Background(), context.Background(), []string{p}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.InputsWaiting) != 0 || st.LinesRead-st.LinesResumed != 1 || len(after) != 1 {
		t.Errorf("settled: waiting %v, lines read %d (want the cut line only), after-delivery on %v", st.InputsWaiting, st.LinesRead-st.LinesResumed, after)
	}
	if len(srv.items) != 12 {
		t.Errorf("%d hits sent in all, want 12", len(srv.items))
	}
}

// ledgerKey is the ledger key of the file p.
func ledgerKey(t *testing.T, p string) string {
	t.Helper()
	in, err := input.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	return in.Identity.Key()
}

// TestGrowsPastTheFingerprint: a log shorter than the fingerprint's
// size, whose fingerprint grows with it, keeps its ledger entry as it
// grows past it: only new lines are sent. An entry at the file's device
// and inode that its first bytes do not match (another file reusing the
// inode) is not the file's: the file is read whole.
func TestGrowsPastTheFingerprint(t *testing.T) {
	srv, client := newOKServer(t)
	led := testLedger(t)
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		Client: client, Ledger: led, Now: fixedNow,
	}
	p := filepath.Join(t.TempDir(), "access.log")
	body := "#Fields: date time c-ip cs-method x-host-header cs-protocol cs-uri-stem sc-status cs(User-Agent)\n"
	for i := 1; i <= 10; i++ {
		body += liveLine(i)
	}
	appendTo(t, p, body, false)
	if in, _ := input.Open(p); in == nil || in.Identity.FingerprintLen >= input.FingerprintSize {
		t.Fatal("the log should start shorter than the fingerprint")
	} else {
		in.Close()
	}
	sent := 0
	for round, lines := range []int{10, 50, 5} {
		if round > 0 {
			more := ""
			for i := 0; i < lines; i++ {
				more += liveLine(100*round + i)
			}
			appendTo(t, p, more, false)
		}
		sent += lines
		if _, err := Run(context.Background(), context.Background(), []string{p}, opt); err != nil {
			t.Fatal(err)
		}
		if len(srv.items) != sent {
			t.Fatalf("round %d: %d hits sent in all, want %d (the file is %d bytes)", round, len(srv.items), sent, fileSize(t, p))
		}
	}
	// The entry the file had while short now holds the whole fingerprint:
	// no shorter file reusing the inode can be taken for this one.
	in, err := input.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	old, err := led.Get(context.Background(), in.Identity.ShortKey())
	in.Close()
	if err != nil || old == nil || old.Identity.FingerprintLen != input.FingerprintSize {
		t.Errorf("the short key's entry after the file grew: %+v, %v", old, err)
	}
	// Another file at the same device and inode: rewrite the log in place
	// with other content (the ledger's entry no longer matches its start).
	other := "#Fields: date time c-ip cs-method x-host-header cs-protocol cs-uri-stem sc-status cs(User-Agent)\n"
	for i := 0; i < 70; i++ {
		other += liveLine(1000 + i)
	}
	if err := os.WriteFile(p, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	mtime := time.Now().Add(-time.Hour)
	os.Chtimes(p, mtime, mtime)
	srv.items = nil
	if _, err := Run(context.Background(), context.Background(), []string{p}, opt); err != nil {
		t.Fatal(err)
	}
	if len(srv.items) != 70 {
		t.Errorf("a new file at a known inode: %d hits sent, want 70", len(srv.items))
	}
}

func fileSize(t *testing.T, p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestPartialLineWithoutProgress: a run that records no progress (parse,
// a report without a state) has no later run to finish a half-written
// line: it reads the line as it is.
func TestPartialLineWithoutProgress(t *testing.T) {
	p := filepath.Join(t.TempDir(), "access.log")
	appendTo(t, p, "#Fields: date time c-ip cs-method x-host-header cs-protocol cs-uri-stem sc-status cs(User-Agent)\n"+liveLine(1)+liveLine(2)[:40], true)
	opt := Options{Encoder: matomo.Encoder{SiteID: 1, RecMode: 2}, Classify: classify.Config{RecMode: 2}, Emit: func([][]byte) error { return nil }}
	st, err := Run(context.Background(), context.Background(), []string{p}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.InputsWaiting) != 0 || st.Hits != 1 || st.Malformed["field_count"] != 1 {
		t.Errorf("waiting %v, hits %d, malformed %v; want the cut line read (malformed)", st.InputsWaiting, st.Hits, st.Malformed)
	}
}

// TestLiveFileIsNotDone: a log being written is not done, even when it
// ends with a whole line: no after-delivery action moves or deletes a
// file its writer still writes to. Once settled, it is.
func TestLiveFileIsNotDone(t *testing.T) {
	_, client := newOKServer(t)
	led := testLedger(t)
	var after []string
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		Client: client, Ledger: led, Now: fixedNow, WholeLines: true,
		OnDone: func(name string) error { after = append(after, name); return nil },
	}
	p := filepath.Join(t.TempDir(), "access.log")
	appendTo(t, p, "#Fields: date time c-ip cs-method x-host-header cs-protocol cs-uri-stem sc-status cs(User-Agent)\n"+liveLine(1)+liveLine(2), true)
	if _, err := Run(context.Background(), context.Background(), []string{p}, opt); err != nil || len(after) != 0 {
		t.Fatalf("a live log: after-delivery action on %v, %v", after, err)
	}
	mtime := time.Now().Add(-time.Hour)
	os.Chtimes(p, mtime, mtime)
	if _, err := Run(context.Background(), context.Background(), []string{p}, opt); err != nil || len(after) != 1 {
		t.Fatalf("settled: after-delivery action on %v, %v", after, err)
	}
}

// TestSameFirstLines: two logs that start with the same lines (a header
// and a first request), each longer than the fingerprint or not, are two
// inputs: all the hits of both are sent, once.
func TestSameFirstLines(t *testing.T) {
	for _, n := range []int{5, 80} { // shorter and longer than the fingerprint
		srv, client := newOKServer(t)
		led, err := ledger.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		opt := Options{
			Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
			Client: client, Ledger: led, Now: fixedNow,
		}
		head := "#Fields: date time c-ip cs-method x-host-header cs-protocol cs-uri-stem sc-status cs(User-Agent)\n" + liveLine(1)
		var paths []string
		for f := 0; f < 2; f++ {
			body := head
			for i := 0; i < n; i++ {
				body += liveLine(100*(f+1) + i)
			}
			p := filepath.Join(t.TempDir(), "access.log")
			appendTo(t, p, body, false)
			paths = append(paths, p)
		}
		for _, p := range paths { // one run each, as cron would
			if _, err := Run(context.Background(), context.Background(), []string{p}, opt); err != nil {
				t.Fatal(err)
			}
		}
		if want := 2 * (n + 1); len(srv.items) != want {
			t.Errorf("%d lines each: %d hits sent, want %d", n, len(srv.items), want)
		}
		led.Close()
	}
}

// TestReadOnFromMark: a run over a log that grew reads on from where the
// line every output has ends (input.Mark, recorded by Matomo's ledger and
// the sinks), not from the log's start: the bytes in between are not
// read, and each output gets what it lacks, once. An output that has less
// than the others (a sink with no mark) makes the run read from its line.
func TestReadOnFromMark(t *testing.T) {
	srv, client := newOKServer(t)
	led := testLedger(t)
	fs := &fakeSink{}
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		Client: client, Ledger: led, Now: fixedNow, Sinks: []sink.Sink{fs}, WholeLines: true,
	}
	p := filepath.Join(t.TempDir(), "access.log")
	body := "#Fields: date time c-ip cs-method x-host-header cs-protocol cs-uri-stem sc-status cs(User-Agent)\n"
	for i := 1; i <= 1000; i++ {
		body += liveLine(i)
	}
	appendTo(t, p, body, false)
	run := func() *Stats {
		t.Helper()
		st, err := Run(context.Background(), context.Background(), []string{p}, opt)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := run(); len(srv.items) != 1000 || st.BytesSkipped != 0 {
		t.Fatalf("first run: %d sent, %d bytes skipped", len(srv.items), st.BytesSkipped)
	}
	e, _ := led.Get(context.Background(), ledgerKey(t, p))
	if e == nil || e.Mark == nil || e.Mark.Line != 1001 || e.Mark.Offset != int64(len(body)) {
		t.Fatalf("the ledger has no mark at the end of the log: %+v", e)
	}
	if len(fs.marks) != 1 || fs.marks[0] != *e.Mark {
		t.Fatalf("the sink was told the mark %v, want %+v", fs.marks, *e.Mark)
	}
	fs.has, fs.mark, fs.lines = 1001, fs.marks[0], nil
	appendTo(t, p, liveLine(1001)+liveLine(1002), false)
	st := run()
	if len(srv.items) != 1002 || len(fs.lines) != 2 || fs.lines[0] != 1002 {
		t.Fatalf("after growing: %d sent in all (want 1002), the sink got lines %v", len(srv.items), fs.lines)
	}
	if st.BytesSkipped < int64(len(body))-input.HeadSize || st.LinesRead != 2 {
		t.Errorf("the run read %d lines and skipped %d bytes: want only the head and the 2 new lines, %d bytes skipped", st.LinesRead, st.BytesSkipped, len(body)-int(e.Mark.HeadOffset))
	}
	// A sink that has only the first 500 lines, and no mark: read from
	// there, and Matomo sends nothing again.
	fs.has, fs.mark, fs.lines = 500, input.Mark{}, nil
	appendTo(t, p, liveLine(1003), false)
	st = run()
	if len(srv.items) != 1003 || len(fs.lines) != 504 || fs.lines[0] != 501 {
		t.Fatalf("a sink behind: %d sent in all (want 1003), the sink got %d lines from %v", len(srv.items), len(fs.lines), fs.lines[:1])
	}
	if st.BytesSkipped != 0 {
		t.Errorf("%d bytes skipped that a sink needed", st.BytesSkipped)
	}
}

// TestNoMarkPastAHeader: a W3C log whose #Fields change in its middle (a
// server restarted with other fields) is not read on past the change
// from a mark: a later run would read the new lines with the old fields.
func TestNoMarkPastAHeader(t *testing.T) {
	srv, client := newOKServer(t)
	led := testLedger(t)
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		Client: client, Ledger: led, Now: fixedNow, WholeLines: true,
	}
	p := filepath.Join(t.TempDir(), "access.log")
	body := "#Fields: date time c-ip cs-method x-host-header cs-protocol cs-uri-stem sc-status cs(User-Agent)\n"
	for i := 1; i <= 300; i++ {
		body += liveLine(i)
	}
	// The same fields in another order: the status first.
	swapped := func(i int) string {
		f := strings.Split(strings.TrimSuffix(liveLine(i), "\n"), "\t")
		status := f[7]
		return status + "\t" + strings.Join(f[:7], "\t") + "\t" + f[8] + "\n"
	}
	body += "#Fields: sc-status date time c-ip cs-method x-host-header cs-protocol cs-uri-stem cs(User-Agent)\n"
	for i := 301; i <= 600; i++ {
		body += swapped(i)
	}
	appendTo(t, p, body, false)
	for step := range 2 {
		st, err := Run(context.Background(), context.Background(), []string{p}, opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Malformed) > 0 || len(srv.items) != 600+step {
			t.Fatalf("run %d: malformed %v, %d sent in all", step+1, st.Malformed, len(srv.items))
		}
		appendTo(t, p, swapped(601), false)
	}
	if last := srv.items[len(srv.items)-1]; !strings.Contains(last, "page%2F601") {
		t.Errorf("the line after the second #Fields was sent as %s", last)
	}
}

// TestEmptyEntryDoesNotHideContent: logrotate creates access.log.1.gz
// empty, then fills it; a run that opens it while empty and just created
// records nothing of it (and an entry that read nothing, of an earlier
// version, does not hide the content's). The full file, on the same
// inode, is known by its content: only the lines not read of the plain
// file are sent. (Either defence alone passes; without both, 102 twice.)
func TestEmptyEntryDoesNotHideContent(t *testing.T) {
	srv, client := newOKServer(t)
	led := testLedger(t)
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		Client: client, Ledger: led, Now: fixedNow, WholeLines: true,
	}
	dir := t.TempDir()
	plain := filepath.Join(dir, "access.log")
	body := "#Fields: date time c-ip cs-method x-host-header cs-protocol cs-uri-stem sc-status cs(User-Agent)\n"
	for i := 1; i <= 100; i++ {
		body += liveLine(i)
	}
	appendTo(t, plain, body, false)
	run := func(p string) {
		t.Helper()
		if _, err := Run(context.Background(), context.Background(), []string{p}, opt); err != nil {
			t.Fatal(err)
		}
	}
	run(plain)
	gz := filepath.Join(dir, "access.log.1.gz")
	appendTo(t, gz, "", true) // empty, just created
	run(gz)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(body + liveLine(101) + liveLine(102)))
	zw.Close()
	f, err := os.OpenFile(gz, os.O_WRONLY, 0) // the same inode, filled
	if err != nil {
		t.Fatal(err)
	}
	f.Write(z.Bytes())
	f.Close()
	old := time.Now().Add(-time.Hour)
	os.Chtimes(gz, old, old)
	run(gz)
	if len(srv.items) != 102 {
		t.Errorf("%d hits sent in all, want 102: the compressed file was read again from its start", len(srv.items))
	}
}

// TestGzipBeingWritten: a compressed file cut short while it is being
// written (logrotate compressing a rotated log this very moment) is not
// damaged: the lines before the cut are sent, the input waits, and the
// next run, once it is whole, sends the rest once. Cut short and left so,
// it is damaged.
func TestGzipBeingWritten(t *testing.T) {
	srv, client := newOKServer(t)
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		Client: client, Ledger: testLedger(t), Now: fixedNow, WholeLines: true,
	}
	body := "#Fields: date time c-ip cs-method x-host-header cs-protocol cs-uri-stem sc-status cs(User-Agent)\n"
	for i := 1; i <= 3000; i++ {
		body += liveLine(i)
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.NoCompression)
	zw.Write([]byte(body))
	zw.Close()
	gz := filepath.Join(t.TempDir(), "access.log.1.gz")
	os.WriteFile(gz, z.Bytes()[:z.Len()/2], 0o644) // being written: now
	st, err := Run(context.Background(), context.Background(), []string{gz}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.InputsDamaged) != 0 || len(st.InputsWaiting) != 1 || len(srv.items) == 0 {
		t.Fatalf("cut short while written: damaged %v, waiting %v, %d sent", st.InputsDamaged, st.InputsWaiting, len(srv.items))
	}
	os.WriteFile(gz, z.Bytes(), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(gz, old, old)
	if st, err = Run(context.Background(), context.Background(), []string{gz}, opt); err != nil || len(st.InputsDamaged) != 0 || len(srv.items) != 3000 {
		t.Fatalf("whole: %v, damaged %v, %d sent in all, want 3000", err, st.InputsDamaged, len(srv.items))
	}
	cut := filepath.Join(t.TempDir(), "cut.log.gz")
	os.WriteFile(cut, z.Bytes()[:z.Len()/2], 0o644)
	os.Chtimes(cut, old, old)
	if st, _ = Run(context.Background(), context.Background(), []string{cut}, opt); len(st.InputsDamaged) != 1 {
		t.Errorf("cut short and left so: damaged %v", st.InputsDamaged)
	}
}
