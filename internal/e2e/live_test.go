package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
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
		// Its writer is at work: modified "now" whatever the clock says.
		future := time.Now().Add(time.Hour)
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
