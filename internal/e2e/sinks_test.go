package e2e_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/matomo/matomotest"
	"github.com/trackless/trackless/internal/testfs"
)

// This file checks issue 13's promise end to end: one read feeds several
// outputs (Matomo and a report state), each exactly once on its own.

// reportFigures runs report with args and returns its JSON without what
// says when it was made (generated, and when each input was counted).
func reportFigures(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out := filepath.Join(t.TempDir(), "r.json")
	r := run(t, nil, append([]string{"report", "--json", out}, args...)...)
	if r.code != 0 {
		t.Fatalf("report %v exited %d:\n%s", args, r.code, r.stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "generated")
	if ins, ok := m["inputs"].([]any); ok {
		for _, in := range ins {
			if e, ok := in.(map[string]any); ok {
				delete(e, "counted")
			}
		}
	}
	return m
}

// dirFiles returns the files under dir and their bytes (the lock file
// left out: it is rewritten by every run that opens the directory).
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "lock" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[strings.TrimPrefix(p, dir)] = string(data)
		return nil
	})
	return out
}

// TestSendFeedsReportState: send --report-state DIR sends to Matomo and
// counts into a report state from the same read; report --state DIR then
// gives the figures report FILES gives; a rerun changes neither Matomo
// nor the state. A state added later (Matomo has the inputs already) gets
// them counted without anything sent again, and a grown input adds only
// its new lines to each.
func TestSendFeedsReportState(t *testing.T) {
	dir := t.TempDir()
	logs := []string{
		genLog(t, dir, 3000, 61, clock.Add(-20*time.Hour)),
		genLog(t, dir, 2000, 62, clock.Add(-10*time.Hour)),
	}
	want := reportFigures(t, logs...)
	srv := siteServer(t, matomotest.Config{})
	state, reportState := filepath.Join(dir, "state"), filepath.Join(dir, "report")
	env := sendEnv(srv, state)
	r := run(t, env, append([]string{"send", "--report-state", reportState}, logs...)...)
	if r.code != 0 {
		t.Fatalf("send --report-state exited %d:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "report state "+reportState+": 2 inputs counted") {
		t.Errorf("send's summary does not say what the state counted:\n%s", r.stderr)
	}
	wantItems := parseItems(t, append([]string{"--site-id", "1"}, logs...)...)
	stored := srv.StoredRaw()
	if missing, extra := compare(wantItems, stored); len(missing) > 0 || extra > 0 {
		t.Fatalf("Matomo: %d missing, %d extra", len(missing), extra)
	}
	if got := reportFigures(t, "--state", reportState); !reflect.DeepEqual(got, want) {
		t.Errorf("report --state after send --report-state differs from report FILES:\n%s", jsonDiff(want, got))
	}

	// A rerun: nothing sent, the state byte for byte as it was.
	before := dirFiles(t, reportState)
	r = run(t, env, append([]string{"send", "--report-state", reportState}, logs...)...)
	if r.code != 0 {
		t.Fatalf("rerun exited %d:\n%s", r.code, r.stderr)
	}
	if n := len(srv.StoredRaw()); n != len(stored) {
		t.Errorf("the rerun stored %d more hits", n-len(stored))
	}
	if after := dirFiles(t, reportState); !reflect.DeepEqual(before, after) {
		t.Errorf("the rerun changed the report state")
	}

	// A state added later: Matomo has everything, the state nothing.
	late := filepath.Join(dir, "late")
	r = run(t, env, append([]string{"send", "--report-state", late}, logs...)...)
	if r.code != 0 {
		t.Fatalf("send with a new state exited %d:\n%s", r.code, r.stderr)
	}
	if n := len(srv.StoredRaw()); n != len(stored) {
		t.Errorf("counting into a new state sent %d hits again", n-len(stored))
	}
	if got := reportFigures(t, "--state", late); !reflect.DeepEqual(got, want) {
		t.Errorf("a state added later differs from report FILES:\n%s", jsonDiff(want, got))
	}

	// The first log grows: each output gets the new lines once.
	grown := genLog(t, t.TempDir(), 500, 63, clock.Add(-5*time.Hour))
	appendGzip(t, logs[0], grown)
	wantGrown := reportFigures(t, logs...)
	r = run(t, env, append([]string{"send", "--report-state", reportState}, logs...)...)
	if r.code != 0 {
		t.Fatalf("send of a grown log exited %d:\n%s", r.code, r.stderr)
	}
	wantItems = parseItems(t, append([]string{"--site-id", "1"}, logs...)...)
	if missing, extra := compare(wantItems, srv.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Fatalf("Matomo after the log grew: %d missing, %d extra", len(missing), extra)
	}
	if got := reportFigures(t, "--state", reportState); !reflect.DeepEqual(got, wantGrown) {
		t.Errorf("the state after the log grew differs from report FILES:\n%s", jsonDiff(wantGrown, got))
	}
}

// TestAfterWaitsForEveryOutput: --after moves an input only once Matomo
// and the report state both have it: an input Matomo had before is moved
// by the run that counts it into the state, not before.
func TestAfterWaitsForEveryOutput(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 1000, 64, clock.Add(-3*time.Hour))
	srv := siteServer(t, matomotest.Config{})
	env := sendEnv(srv, filepath.Join(dir, "state"))
	if r := run(t, env, "send", logf); r.code != 0 {
		t.Fatalf("send exited %d:\n%s", r.code, r.stderr)
	}
	stored := len(srv.StoredRaw())
	done := filepath.Join(dir, "done")
	r := run(t, env, "send", "--report-state", filepath.Join(dir, "report"), "--after", "move="+done, logf)
	if r.code != 0 {
		t.Fatalf("send --report-state --after exited %d:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(done, filepath.Base(logf))); err != nil {
		t.Errorf("not moved once both outputs had it: %v\n%s", err, r.stderr)
	}
	if n := len(srv.StoredRaw()); n != stored {
		t.Errorf("%d hits sent again", n-stored)
	}
	if !strings.Contains(r.stderr, "report state "+filepath.Join(dir, "report")+": 1 input counted") {
		t.Errorf("summary:\n%s", r.stderr)
	}
}

// appendGzip appends the gzip file src to dst (a gzip of several members
// is read as their concatenation, as a log rotated with copytruncate and
// compressed in parts is).
func appendGzip(t *testing.T, dst, src string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(dst, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// jsonDiff names the first top-level members of two reports that differ.
func jsonDiff(want, got map[string]any) string {
	var b strings.Builder
	for k, w := range want {
		if g, ok := got[k]; !ok || !reflect.DeepEqual(w, g) {
			wj, _ := json.Marshal(w)
			gj, _ := json.Marshal(g)
			fmt.Fprintf(&b, "%s:\n  want %.400s\n  got  %.400s\n", k, wj, gj)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "%s: not wanted\n", k)
		}
	}
	return b.String()
}

// TestReportStateFullDisk: a report state that cannot be written (a full
// disk) stops only the report: Matomo gets every hit, the run exits 3
// saying so, the state is left as it was; once there is room, the next
// run counts into the state what it missed and sends nothing again.
func TestReportStateFullDisk(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "report")
	testfs.Mount(t, state, "size=2m")
	logs := []string{genLog(t, dir, 1500, 65, clock.Add(-6*time.Hour)), genLog(t, dir, 1500, 66, clock.Add(-3*time.Hour))}
	srv := siteServer(t, matomotest.Config{})
	env := sendEnv(srv, filepath.Join(dir, "state"))
	if r := run(t, env, "send", "--report-state", state, logs[0]); r.code != 0 {
		t.Fatalf("first send exited %d:\n%s", r.code, r.stderr)
	}
	before := dirFiles(t, state)
	fill := testfs.Fill(t, state)
	// A checkpoint after each input: the state's error comes mid-run.
	r := run(t, env, "send", "--report-state", state, "--checkpoint", "1ns", logs[0], logs[1])
	if r.code != 3 || !strings.Contains(r.stderr, "report state") {
		t.Fatalf("send with a full report state: exit %d, want 3 naming the report state:\n%s", r.code, r.stderr)
	}
	want := parseItems(t, append([]string{"--site-id", "1"}, logs...)...)
	if missing, extra := compare(want, srv.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Fatalf("Matomo with the report state full: %d missing, %d extra", len(missing), extra)
	}
	os.Remove(fill)
	after := dirFiles(t, state)
	delete(after, strings.TrimPrefix(fill, state))
	if !reflect.DeepEqual(before, after) {
		t.Errorf("the report state changed although it could not be written")
	}
	if r := run(t, env, "send", "--report-state", state, logs[0], logs[1]); r.code != 0 {
		t.Fatalf("send once there is room exited %d:\n%s", r.code, r.stderr)
	}
	if missing, extra := compare(want, srv.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Fatalf("Matomo after the rerun: %d missing, %d extra", len(missing), extra)
	}
	if got, wantFig := reportFigures(t, "--state", state), reportFigures(t, logs...); !reflect.DeepEqual(got, wantFig) {
		t.Errorf("the report state after the rerun differs from report FILES:\n%s", jsonDiff(wantFig, got))
	}
	// The report state cannot be the ledger's directory.
	if r := run(t, env, "send", "--report-state", filepath.Join(dir, "state"), logs[0]); r.code != 2 || !strings.Contains(r.stderr, "directory of its own") {
		t.Errorf("--report-state = the state directory: exit %d\n%s", r.code, r.stderr)
	}
}
