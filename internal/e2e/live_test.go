package e2e_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/matomo/matomotest"
)

// This file checks issue 14's promises end to end (the part done so far):
// cron runs over a log being written read whole lines only.

// TestCronOverALiveLog: the logtail-and-cron recipe, with trackless alone:
// a combined log written in chunks that end in the middle of a line, and
// a run of send after each chunk. Every page view reaches Matomo once, no
// line is malformed (a cut line is neither dropped nor sent with cut
// fields), and the run in the middle of a line says it waits for it.
func TestCronOverALiveLog(t *testing.T) {
	dir := t.TempDir()
	full, err := os.ReadFile(genFormat(t, dir, "combined", 2000, 43))
	if err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(dir, "access.log")
	srv := siteServer(t, matomotest.Config{})
	env := sendEnv(srv, filepath.Join(dir, "state"))
	// Cut points in the middle of lines: a fixed sequence, for the same
	// run on every machine.
	cuts := []int{len(full) / 7, len(full) / 3, len(full)/2 + 17, 2 * len(full) / 3, len(full) - 5, len(full)}
	written := 0
	for i, cut := range cuts {
		f, err := os.OpenFile(live, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(full[written:cut])
		f.Close()
		written = cut
		// Its writer is at work: modified "now" whatever the clock says
		// (30 s ahead: a future time is believed for a minute).
		future := time.Now().Add(30 * time.Second)
		os.Chtimes(live, future, future)
		r := run(t, env, "send", "--mode", "visits", live)
		if r.code != 0 {
			t.Fatalf("run %d exited %d:\n%s", i, r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "malformed") {
			t.Fatalf("run %d read a malformed line (a cut one?):\n%s", i, r.stderr)
		}
		cutLine := full[cut-1] != '\n'
		if says := strings.Contains(r.stderr, "last line still being written"); says != cutLine {
			t.Errorf("run %d (cut in a line: %v): the summary says it waits: %v\n%s", i, cutLine, says, r.stderr)
		}
	}
	want := parseItemsEnv(t, env, "--mode", "visits", live)
	if missing, extra := compare(want, srv.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Fatalf("Matomo after %d runs over the live log: %d missing, %d twice (of %d)", len(cuts), len(missing), extra, len(want))
	}
}

// TestRotationGivenOnlyThePath: cron runs given only the live path (as
// logtail is), through a rename rotation (logrotate's default with
// delaycompress: access.log becomes access.log.1, nginx goes on writing
// into it until it reopens its log): the lines written to the old file
// after the last run, also after the rotation, are read from access.log.1,
// the new file from its start; nothing twice. A rotation whose old file is
// not beside the path (compressed at once, moved) is said.
func TestRotationGivenOnlyThePath(t *testing.T) {
	c := newCronLog(t, 1200, 44)
	live := c.live
	c.write(live, 0, 400)
	c.send("first run")
	// More lines, then the rotation; nginx writes into the renamed file
	// until it reopens, then into the new one.
	c.write(live, 400, 500)
	c.rename(live, live+".1")
	c.write(live+".1", 500, 550)
	c.write(live, 550, 700)
	c.send("after the rotation")
	// Late lines into the rotated file, and new ones.
	c.write(live+".1", 700, 720)
	c.write(live, 720, 800)
	c.send("late lines")
	c.check("given only the path")
	// A second rotation whose old file goes elsewhere (compressed at once,
	// say): the run says its end may be lost.
	c.rename(live, filepath.Join(c.dir, "moved.log"))
	ageBeside(t, live) // rotated a while ago: nothing beside it is being written
	c.write(live, 800, 900)
	if stderr := c.send("rotated away"); !strings.Contains(stderr, "was rotated, and the file it was is not beside it") {
		t.Errorf("a rotation whose old file is gone is not said:\n%s", stderr)
	}
	c.check("after the old file went away")
}

// gzipFile compresses src into dst and removes src, as logrotate's
// compress does.
func gzipFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(dst, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(src)
}

// TestCompressedRotation: rotations that compress or copy. Without
// delaycompress the rest of the old file is only in access.log.1.gz: a run
// given the live path finds it by its content and sends what it had not;
// with a glob over the rotated files, a compressed one (access.log.2.gz,
// the access.log.1 it was) is known by its content and not sent again;
// copytruncate's copy is known by its content too.
func TestCompressedRotation(t *testing.T) {
	dir := t.TempDir()
	_, part := logLines(t, dir, 1500, 46)
	logs := filepath.Join(dir, "nginx")
	os.Mkdir(logs, 0o755)
	live := filepath.Join(logs, "access.log")
	srv := siteServer(t, matomotest.Config{})
	env := sendEnv(srv, filepath.Join(dir, "state"))
	send := func(step string, args ...string) string {
		t.Helper()
		r := run(t, env, append([]string{"send", "--mode", "visits"}, args...)...)
		if r.code != 0 {
			t.Fatalf("%s: send exited %d:\n%s", step, r.code, r.stderr)
		}
		return r.stderr
	}
	all := ""
	appendLog(t, live, part(0, 500))
	all += part(0, 500)
	send("first run", live)
	// compress without delaycompress: the rest is only in access.log.1.gz.
	appendLog(t, live, part(500, 600))
	gzipFile(t, live, live+".1.gz")
	appendLog(t, live, part(600, 800))
	all += part(500, 800)
	if stderr := send("after a compressing rotation", live); strings.Contains(stderr, "not beside it") {
		t.Errorf("the compressed rest was not found:\n%s", stderr)
	}
	checkStoredAs(t, "compress without delay, given only the path", srv, env, dir, all)
	// delaycompress, then a glob over the rotated files: access.log.1
	// (renamed) is read on, then compressed as access.log.2.gz.
	appendLog(t, live, part(800, 900))
	os.Rename(live, live+".1")
	appendLog(t, live, part(900, 1000))
	all += part(800, 1000)
	send("delaycompress", live)
	gzipFile(t, live+".1", live+".2.gz")
	os.Rename(live+".1.gz", live+".3.gz")
	appendLog(t, live, part(1000, 1100))
	all += part(1000, 1100)
	rotated, _ := filepath.Glob(live + "*")
	send("a glob over the rotated files", rotated...)
	checkStoredAs(t, "a glob over compressed rotated files", srv, env, dir, all)
	// copytruncate: lines written after the last run, the copy, then the
	// truncation and new lines; a glob with the copy reads the rest from
	// the copy (known by its content) and the new file from its start.
	appendLog(t, live, part(1100, 1200))
	data, _ := os.ReadFile(live)
	os.WriteFile(live+".1", data, 0o644)
	os.Truncate(live, 0)
	appendLog(t, live, part(1200, 1300))
	all += part(1100, 1300)
	send("copytruncate", live, live+".1")
	checkStoredAs(t, "copytruncate", srv, env, dir, all)
}

// TestFollow: send --follow keeps sending what is written to a live log,
// through a rotation (rename, then a new file), a half-written line
// included; SIGTERM stops it with exit 0 and its progress saved: a run
// afterwards sends nothing again. (The waits are bounds against a hang,
// not measures: the test never asserts how fast.)
func TestFollow(t *testing.T) {
	dir := t.TempDir()
	lines, part := logLines(t, dir, 900, 47)
	live := filepath.Join(dir, "access.log")
	srv := siteServer(t, matomotest.Config{})
	env := sendEnv(srv, filepath.Join(dir, "state"))
	all := ""
	want := func() []string {
		whole := filepath.Join(dir, "all.log")
		os.WriteFile(whole, []byte(all), 0o644)
		return parseItemsEnv(t, env, "--mode", "visits", whole)
	}
	waitFor := func(step string, n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for len(srv.StoredRaw()) < n && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := len(srv.StoredRaw()); got != n {
			t.Fatalf("%s: Matomo has %d page views, want %d", step, got, n)
		}
	}
	appendLog(t, live, part(0, 300))
	all += part(0, 300)
	repState := filepath.Join(dir, "report-state")
	cmd := exec.Command(binPath, "send", "--follow", "--poll", "100ms", "--mode", "visits", "--report-state", repState, live)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor("the first lines", len(want()))
	// A line written in two halves, then a rotation by renaming with
	// late lines into the renamed file, then new lines.
	half := lines[300]
	appendLog(t, live, half[:len(half)/2])
	time.Sleep(300 * time.Millisecond) // a few rounds see the half line
	appendLog(t, live, half[len(half)/2:]+part(301, 400))
	os.Rename(live, live+".1")
	appendLog(t, live+".1", part(400, 450))
	appendLog(t, live, part(450, 600))
	all += part(300, 600)
	w := want()
	waitFor("through the rotation", len(w))
	if missing, extra := compare(w, srv.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Fatalf("while following: %d missing, %d twice", len(missing), extra)
	}
	exitIn(t, cmd, &errb, 0)
	if !strings.Contains(errb.String(), "trackless send --follow: stopped after") {
		t.Errorf("no summary at the stop:\n%s", errb.String())
	}
	stored := len(srv.StoredRaw())
	if r := run(t, env, "send", "--mode", "visits", live); r.code != 0 || len(srv.StoredRaw()) != stored {
		t.Errorf("a run after the stop: exit %d, %d sent again\n%s", r.code, len(srv.StoredRaw())-stored, r.stderr)
	}
	// The report state (--report-state) counted the same lines, once.
	checkCountedAs(t, "the report state after following", repState, dir, all)
}

// TestParseFollow: parse --follow prints what is written to a live log,
// like tail -F: the lines there at the start, then each new line once, a
// half-written one once whole, through a rename rotation with late lines
// in the renamed file; SIGTERM stops it with exit 0.
func TestParseFollow(t *testing.T) {
	dir := t.TempDir()
	lines, part := logLines(t, dir, 400, 49)
	live := filepath.Join(dir, "access.log")
	appendLog(t, live, part(0, 100))
	cmd := exec.Command(binPath, "parse", "--follow", "--poll", "100ms", "--output", "jsonl", "--default-host", "www.example.org", live)
	var out, errb bytes.Buffer
	var mu sync.Mutex
	cmd.Stdout, cmd.Stderr = lockedWriter{&mu, &out}, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	printed := func() int {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(out.String(), "\n")
	}
	waitFor := func(step string, n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second) // a bound against a hang, not a measure
		for printed() < n && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := printed(); got != n {
			t.Fatalf("%s: %d lines printed, want %d:\n%s", step, got, n, errb.String())
		}
	}
	waitFor("the lines there at the start", 100)
	half := lines[100]
	appendLog(t, live, half[:len(half)/2])
	time.Sleep(300 * time.Millisecond) // a few rounds see the half line
	appendLog(t, live, half[len(half)/2:]+part(101, 200))
	waitFor("new lines", 200)
	os.Rename(live, live+".1")
	appendLog(t, live+".1", part(200, 250))
	appendLog(t, live, part(250, 300))
	waitFor("through a rotation", 300)
	exitIn(t, cmd, &errb, 0)
	seen := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var h struct {
			Input string `json:"input"`
			Line  int64  `json:"line"`
			Time  string `json:"time"`
			Path  string `json:"path"`
		}
		if err := json.Unmarshal([]byte(l), &h); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		seen[fmt.Sprint(h.Input, h.Line, h.Time, h.Path)]++
	}
	if len(seen) != 300 || printed() != 300 {
		t.Errorf("%d lines printed, %d distinct, want 300 once each", printed(), len(seen))
	}
	if !strings.Contains(errb.String(), "trackless parse --follow: stopped after") {
		t.Errorf("no summary at the stop:\n%s", errb.String())
	}
}

// lockedWriter is a writer a test reads while a command writes to it.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestReportFollow: report --follow --state DIR -o FILE counts what is
// written to a live log and rewrites the HTML (which reloads itself: a
// meta refresh, no script) with it; SIGTERM stops it with exit 0, the
// state saved: report --state then gives the figures of report FILES.
func TestReportFollow(t *testing.T) {
	dir := t.TempDir()
	full, err := os.ReadFile(genFormat(t, dir, "combined", 400, 48))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(full), "\n")
	live := filepath.Join(dir, "access.log")
	os.WriteFile(live, []byte(strings.Join(lines[:200], "")), 0o644)
	html, state := filepath.Join(dir, "r.html"), filepath.Join(dir, "state")
	cmd := exec.Command(binPath, "report", "--follow", "--refresh", "100ms", "--top", "100000", "--state", state, "-o", html, "--default-host", "www.example.org", live)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// A page view written only after the follower started: a person's
	// request of a page (no extension) answered 200.
	var marker string
	for _, l := range lines[250:] {
		if f := strings.Fields(l); len(f) > 11 && f[5] == `"GET` && f[8] == "200" && !strings.Contains(f[6], ".") && strings.Contains(l, "Mozilla/5.0 (Windows") && !strings.Contains(strings.ToLower(l), "bot") {
			marker = strings.Replace(l, "GET /", "GET /written-while-following/", 1)
			break
		}
	}
	if marker == "" {
		t.Fatal("no page view in the generated log")
	}
	appendLog(t, live, strings.Join(lines[200:250], "")+marker)
	deadline := time.Now().Add(30 * time.Second) // a bound against a hang, not a measure
	var page []byte
	for time.Now().Before(deadline) {
		if page, _ = os.ReadFile(html); bytes.Contains(page, []byte("/written-while-following/")) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !bytes.Contains(page, []byte("/written-while-following/")) {
		t.Fatalf("the HTML does not show a page written while following:\n%s", errb.String())
	}
	if !bytes.Contains(page, []byte(`<meta http-equiv="refresh" content="1">`)) || bytes.Contains(page, []byte("<script")) {
		t.Error("the live page does not reload itself with a meta refresh, or has a script")
	}
	exitIn(t, cmd, &errb, 0)
	checkCountedAs(t, "the state after following", state, dir, strings.Join(lines[:250], "")+marker)
}

// logLines generates a combined log of n lines and returns its lines,
// each with its newline, and part(from, to) joining lines[from:to].
func logLines(t *testing.T, dir string, n int, seed int64) (lines []string, part func(from, to int) string) {
	t.Helper()
	full, err := os.ReadFile(genFormat(t, dir, "combined", n, seed))
	if err != nil {
		t.Fatal(err)
	}
	lines = strings.SplitAfter(string(full), "\n")
	return lines, func(from, to int) string { return strings.Join(lines[from:to], "") }
}

// ageBeside dates the files beside the path p an hour back: a rotation
// done a while ago (a file beside the path written to in the last
// seconds is a rotation in progress, and a rotated file not found then is
// not said lost yet).
func ageBeside(t *testing.T, p string) {
	t.Helper()
	names, _ := filepath.Glob(p + "?*")
	old := time.Now().Add(-time.Hour)
	for _, n := range names {
		if err := os.Chtimes(n, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// appendLog appends s to the file p, creating it, as a log writer does.
func appendLog(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(s)
	f.Close()
}

// checkCountedAs fails when the report state holds other figures than a
// report of the lines all (host www.example.org): each line counted once.
// The inputs (how many files held them) are not compared.
func checkCountedAs(t *testing.T, step, state, dir, all string) {
	t.Helper()
	strip := func(m map[string]any) map[string]any {
		delete(m, "inputs")
		delete(m, "title")
		if o, ok := m["overview"].(map[string]any); ok {
			delete(o, "inputs")
		}
		return m
	}
	whole := filepath.Join(dir, "all.log")
	os.WriteFile(whole, []byte(all), 0o644)
	if got, want := reportFigures(t, "--state", state), reportFigures(t, "--default-host", "www.example.org", whole); !reflect.DeepEqual(strip(got), strip(want)) {
		t.Errorf("%s differs from a report of the same lines:\n%s", step, jsonDiff(want, got))
	}
}

// checkStoredAs fails when Matomo does not hold, once each, the page views
// of the lines all (parse --mode visits of them, in env).
func checkStoredAs(t *testing.T, step string, srv *matomotest.Server, env []string, dir, all string) {
	t.Helper()
	whole := filepath.Join(dir, "all.log")
	os.WriteFile(whole, []byte(all), 0o644)
	want := parseItemsEnv(t, env, "--mode", "visits", whole)
	if missing, extra := compare(want, srv.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Fatalf("%s: Matomo has %d of %d page views: %d missing, %d twice", step, len(srv.StoredRaw()), len(want), len(missing), extra)
	}
}

// TestTwoRotationsBetweenRuns: cron stopped while the log was rotated
// twice (access.log became .1, then .2.gz, and the file in between, never
// seen at the path, became .1): a run given only the path reads the rest
// of the first file (by its content), the whole file in between, and the
// new file; nothing twice. A rotated file that is gone is said with what
// of it was not read: the bytes of a half-written line left at the last
// run.
func TestTwoRotationsBetweenRuns(t *testing.T) {
	c := newCronLog(t, 1000, 50)
	live := c.live
	c.write(live, 0, 300)
	c.send("first run")
	// Rotated twice while no run came: delaycompress, so the first file
	// is compressed at the second rotation.
	c.write(live, 300, 350)
	c.rename(live, live+".1")
	c.write(live+".1", 350, 370)
	c.write(live, 370, 600)
	gzipFile(t, live+".1", live+".2.gz")
	c.rename(live, live+".1")
	c.write(live+".1", 600, 620)
	c.write(live, 620, 700)
	c.send("after two rotations")
	c.check("two rotations between runs")
	c.send("again")
	c.check("a run after")
	// A half-written line left by a run, then the file moved away: the
	// run says how many bytes of it were not read.
	half := c.part(710, 711)[:20]
	c.write(live, 700, 710)
	appendLog(t, live, half)
	future := time.Now().Add(30 * time.Second) // being written, whatever the clock
	os.Chtimes(live, future, future)
	c.send("a half line")
	c.rename(live, filepath.Join(c.dir, "elsewhere.log"))
	ageBeside(t, live)
	c.write(live, 711, 720)
	stderr := c.send("moved away")
	if want := fmt.Sprintf("%d bytes of it after line 90", len(half)); !strings.Contains(stderr, want) {
		t.Errorf("the run does not say what was lost (%q):\n%s", want, stderr)
	}
	c.check("after the file went away")
}

// TestReportStateRotations: report --state run after run over a live log
// and its rotated files (a glob over access.log*): a file compressed by
// the rotation (access.log.1.gz, then .2.gz) and copytruncate's copy are
// known by their content and not counted again; the state gives the
// figures of a report of all the lines once.
func TestReportStateRotations(t *testing.T) {
	dir := t.TempDir()
	_, part := logLines(t, dir, 900, 51)
	logs := filepath.Join(dir, "nginx")
	os.Mkdir(logs, 0o755)
	live := filepath.Join(logs, "access.log")
	state := filepath.Join(dir, "state")
	report := func(step string) {
		t.Helper()
		names, _ := filepath.Glob(live + "*")
		r := run(t, nil, append([]string{"report", "--state", state, "-o", filepath.Join(dir, "r.html"), "--default-host", "www.example.org"}, names...)...)
		if r.code != 0 {
			t.Fatalf("%s: report exited %d:\n%s", step, r.code, r.stderr)
		}
	}
	appendLog(t, live, part(0, 300))
	report("first run")
	// compress without delay: the rest only in access.log.1.gz.
	appendLog(t, live, part(300, 400))
	gzipFile(t, live, live+".1.gz")
	appendLog(t, live, part(400, 600))
	report("after a compressing rotation")
	os.Rename(live+".1.gz", live+".2.gz")
	gzipFile(t, live, live+".1.gz")
	appendLog(t, live, part(600, 700))
	report("after a second rotation")
	// copytruncate: the copy holds what was counted and more.
	appendLog(t, live, part(700, 800))
	data, _ := os.ReadFile(live)
	os.WriteFile(live+".1", data, 0o644)
	os.Truncate(live, 0)
	appendLog(t, live, part(800, 900))
	report("after copytruncate")
	checkCountedAs(t, "the state after the rotations", state, dir, part(0, 900))
}

// TestReportRotationGivenOnlyThePath: report --state given only the live
// path, run after run through rename rotations with late lines written
// into the renamed file, and a rotation that compresses at once: the
// state counts every line once, as a report of all of them.
func TestReportRotationGivenOnlyThePath(t *testing.T) {
	dir := t.TempDir()
	_, part := logLines(t, dir, 800, 52)
	logs := filepath.Join(dir, "nginx")
	os.Mkdir(logs, 0o755)
	live := filepath.Join(logs, "access.log")
	state := filepath.Join(dir, "state")
	report := func(step string) string {
		t.Helper()
		r := run(t, nil, "report", "--state", state, "-o", filepath.Join(dir, "r.html"), "--default-host", "www.example.org", live)
		if r.code != 0 {
			t.Fatalf("%s: report exited %d:\n%s", step, r.code, r.stderr)
		}
		return r.stderr
	}
	appendLog(t, live, part(0, 300))
	report("first run")
	appendLog(t, live, part(300, 350))
	os.Rename(live, live+".1")
	appendLog(t, live+".1", part(350, 400))
	appendLog(t, live, part(400, 500))
	report("after the rotation")
	appendLog(t, live+".1", part(500, 520)) // late lines into the renamed file
	appendLog(t, live, part(520, 600))
	report("late lines")
	// The next rotation shifts .1 to .2 and compresses without delay:
	// the rest only in access.log.1.gz.
	appendLog(t, live, part(600, 650))
	os.Rename(live+".1", live+".2")
	gzipFile(t, live, live+".1.gz")
	appendLog(t, live, part(650, 800))
	if stderr := report("compressed at once"); strings.Contains(stderr, "not beside it") {
		t.Errorf("the compressed rest was not found:\n%s", stderr)
	}
	checkCountedAs(t, "the state after the rotations", state, dir, part(0, 800))
}

// TestFollowThroughAnOutage: Matomo goes away while send --follow runs,
// longer than --max-outage: the follower waits (no dead letters, nothing
// in doubt, it does not exit), and once Matomo is back it sends what was
// written meanwhile, once; SIGTERM then stops it with exit 0.
func TestFollowThroughAnOutage(t *testing.T) {
	dir := t.TempDir()
	_, part := logLines(t, dir, 600, 53)
	live := filepath.Join(dir, "access.log")
	srv := siteServer(t, matomotest.Config{})
	state := filepath.Join(dir, "state")
	env := sendEnv(srv, state, "TRACKLESS_MAX_OUTAGE=300ms")
	appendLog(t, live, part(0, 200))
	all := part(0, 200)
	cmd := exec.Command(binPath, "send", "--follow", "--poll", "100ms", "--mode", "visits", live)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	var mu sync.Mutex
	cmd.Stderr = lockedWriter{&mu, &errb}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	want := func() int {
		os.WriteFile(filepath.Join(dir, "all.log"), []byte(all), 0o644)
		return len(parseItemsEnv(t, env, "--mode", "visits", filepath.Join(dir, "all.log")))
	}
	waitFor := func(step string, n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second) // a bound against a hang, not a measure
		for len(srv.StoredRaw()) < n && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := len(srv.StoredRaw()); got != n {
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("%s: Matomo has %d page views, want %d:\n%s", step, got, n, errb.String())
		}
	}
	waitFor("before the outage", want())
	srv.Stop()
	appendLog(t, live, part(200, 400))
	all += part(200, 400)
	// Several rounds fail, each longer than --max-outage.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := strings.Count(errb.String(), "Matomo is failing: waiting")
		mu.Unlock()
		if n >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A follower that gave up would not send what follows.
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	appendLog(t, live, part(400, 600))
	all += part(400, 600)
	waitFor("after the outage", want())
	checkStoredAs(t, "after the outage", srv, env, dir, all)
	mu.Lock()
	stopped := errb.String()
	mu.Unlock()
	exitIn(t, cmd, &bytes.Buffer{}, 0)
	for _, sub := range []string{"dead-letter", "in-doubt"} {
		if files, _ := filepath.Glob(filepath.Join(state, sub, "*")); len(files) > 0 {
			t.Errorf("the outage left %s files: %v\n%s", sub, files, stopped)
		}
	}
}

// TestQuiet: send --quiet (for cron) prints no summary when the run did
// everything, and says why when it did not (Matomo unreachable), with a
// non-zero exit.
func TestQuiet(t *testing.T) {
	dir := t.TempDir()
	_, part := logLines(t, dir, 100, 54)
	live := filepath.Join(dir, "access.log")
	appendLog(t, live, part(0, 100))
	srv := siteServer(t, matomotest.Config{})
	env := sendEnv(srv, filepath.Join(dir, "state"), "LOG_LEVEL=warn", "TRACKLESS_MAX_OUTAGE=200ms")
	if r := run(t, env, "send", "--quiet", "--mode", "visits", live); r.code != 0 || strings.Contains(r.stderr, "trackless send:") {
		t.Errorf("a run that did everything: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	appendLog(t, live, part(0, 10))
	srv.Stop()
	if r := run(t, env, "send", "--quiet", "--mode", "visits", live); r.code == 0 || !strings.Contains(r.stderr, "cannot reach Matomo") {
		t.Errorf("a run that could not send: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
