package e2e_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/loggen"
	"github.com/trackless/trackless/internal/matomo/matomotest"
)

const token = "0123456789abcdef0123456789abcdef"

// binPath is trackless, the binary under test; genlogsPath is
// tools/genlogs, which writes the logs the tests read.
var binPath, genlogsPath string

func TestMain(m *testing.M) {
	// The end-to-end suite builds and runs the binary against real local
	// servers; go test -short is the unit suite alone (under a minute).
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped with -short (the end-to-end suite runs without it, as .ci/run does)")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "trackless-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "trackless")
	genlogsPath = filepath.Join(dir, "genlogs")
	// Both built without the race detector, whatever the tests are built
	// with: generating the logs in this process under -race took a quarter
	// of the package's time.
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/trackless/trackless/cmd/trackless", "github.com/trackless/trackless/tools/genlogs")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building trackless and genlogs:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// clock is the tests' "now": the traffic they generate starts a fixed time
// before it, never at the wall clock, so what a test generates, and what it
// asserts, is the same at any hour, on any day, in any time zone. Hits this
// old need a token, and every test that sends has one (sendEnv) but
// TestOldHitsNeedAToken, which is about that rule, and those refused for
// their settings before anything is read.
var clock = loggen.DefaultStart.Add(12 * time.Hour)

// genLog writes a gzip CloudFront log of n lines whose requests start at
// start and span about a day (loggen's default span); the file name has the
// hour of start, as CloudFront's names do.
func genLog(t testing.TB, dir string, n int, seed int64, start time.Time) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("E2E2ETEST.%s.%d.gz", start.Format("2006-01-02-15"), seed))
	// The bytes of loggen.Write(gzip.NewWriter(f), loggen.Config{Seed: seed,
	// Lines: n, Start: start}): gzip's default level.
	out, err := exec.Command(genlogsPath, "-lines", fmt.Sprint(n), "-seed", fmt.Sprint(seed),
		"-start", start.UTC().Format(time.RFC3339), "-gzip", "-level", "-1", "-out", p).CombinedOutput()
	if err != nil {
		t.Fatalf("genlogs: %v\n%s", err, out)
	}
	return p
}

type result struct {
	stdout, stderr string
	code           int
}

func run(t testing.TB, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// parseItems runs `trackless parse` and returns every item it prints.
// parseItems runs `trackless parse` with the token (so that the items have
// the visitor's IP, as send posts them) and returns every item it prints.
func parseItems(t testing.TB, args ...string) []string {
	t.Helper()
	return parseItemsEnv(t, []string{"MATOMO_TOKEN_AUTH=" + token}, args...)
}

// parseItemsEnv runs `trackless parse` in env and returns every item it
// prints.
func parseItemsEnv(t testing.TB, env []string, args ...string) []string {
	t.Helper()
	r := run(t, env, append([]string{"parse", "--log-level", "error"}, args...)...)
	if r.code != 0 {
		t.Fatalf("parse exited %d: %s", r.code, r.stderr)
	}
	var items []string
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var body struct {
			Requests []string `json:"requests"`
		}
		if err := json.Unmarshal(sc.Bytes(), &body); err != nil {
			t.Fatalf("parse printed a line that is not a bulk body: %v", err)
		}
		items = append(items, body.Requests...)
	}
	return items
}

// multiset counts items.
func multiset(items []string) map[string]int {
	m := make(map[string]int, len(items))
	for _, it := range items {
		m[it]++
	}
	return m
}

// compare reports what is missing from got and how many items got has too many.
func compare(want, got []string) (missing []string, extra int) {
	w, g := multiset(want), multiset(got)
	for it, n := range w {
		if g[it] < n {
			missing = append(missing, it)
		}
	}
	for it, n := range g {
		if n > w[it] {
			extra += n - w[it]
		}
	}
	sort.Strings(missing)
	return missing, extra
}

// noToken fails when the token shows up in any output or file under dir.
func noToken(t *testing.T, dir string, outputs ...string) {
	t.Helper()
	for _, o := range outputs {
		if strings.Contains(o, token) {
			t.Error("the token appears in the output")
		}
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if data, _ := os.ReadFile(p); bytes.Contains(data, []byte(token)) {
				t.Errorf("the token appears in %s", p)
			}
		}
		return nil
	})
}

func sendEnv(srv *matomotest.Server, state string, extra ...string) []string {
	return append([]string{
		"MATOMO_URL=" + srv.URL(), "MATOMO_SITE_ID=1", "MATOMO_TOKEN_AUTH=" + token,
		"TRACKLESS_STATE_DIR=" + state, "TRACKLESS_RETRY_BACKOFF=5ms", "LOG_LEVEL=info",
	}, extra...)
}

// TestSendUnderFaults: the multiset of hits Matomo stored equals what parse
// prints, once each, although the receiver fails in every way that proves
// a batch was not stored (a dropped connection or a timeout after the batch
// was sent leaves it in doubt: see TestSlowAnswerNotResent).
func TestSendUnderFaults(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 40000, 7, clock.Add(-3*time.Hour))
	want := parseItems(t, "--site-id", "1", "--batch-size", "25", logf)
	if len(want) < 500 {
		t.Fatalf("only %d hits to send", len(want))
	}
	srv := matomotest.NewServer(matomotest.Config{
		SuperUserTokens: []string{token},
		FaultFunc: func(n int) matomotest.Fault {
			// Four failing kinds in ten requests; a batch is retried for as
			// long as the outage lasts (--max-outage), never dead-lettered.
			switch n % 10 {
			case 1:
				return matomotest.Fault{Kind: matomotest.Fault500, ProcessBefore: 7}
			case 2:
				if n < 20 {
					return matomotest.Fault{Kind: matomotest.Fault429, RetryAfter: time.Second}
				}
				return matomotest.Fault{Kind: matomotest.Fault429}
			case 4:
				return matomotest.Fault{Kind: matomotest.FaultSlow, Delay: 30 * time.Millisecond}
			case 5:
				return matomotest.Fault{Kind: matomotest.Fault503}
			case 6:
				return matomotest.Fault{Kind: matomotest.Fault500, ProcessBefore: 1000} // fails at commit time
			}
			return matomotest.Fault{}
		},
	})
	defer srv.Close()
	state := filepath.Join(dir, "state")
	r := run(t, sendEnv(srv, state, "BATCH_SIZE=25"), "send", logf)
	if r.code != 0 {
		t.Fatalf("send exited %d:\n%s", r.code, r.stderr)
	}
	got := srv.StoredRaw()
	missing, extra := compare(want, got)
	if len(missing) > 0 || extra > 0 {
		t.Fatalf("%d sent, Matomo stored %d: %d missing (first %q), %d extra", len(want), len(got), len(missing), first(missing), extra)
	}
	if st := srv.Stats(); st.RolledBack == 0 || st.Faults < 10 {
		t.Errorf("the faults did not happen: %+v", st)
	}
	noToken(t, dir, r.stdout, r.stderr)

	// The same command again sends nothing.
	before := srv.Stats().BulkRequests
	r = run(t, sendEnv(srv, state), "send", logf)
	if r.code != 0 || srv.Stats().BulkRequests != before {
		t.Fatalf("rerun: exit %d, %d more requests\n%s", r.code, srv.Stats().BulkRequests-before, r.stderr)
	}
	if !strings.Contains(r.stderr, "1 already delivered") {
		t.Errorf("rerun summary: %s", r.stderr)
	}
}

// startSendWhen starts `trackless send logf` and returns once the server
// has seen n bulk requests (or after 30 s).
func startSendWhen(t *testing.T, srv *matomotest.Server, env []string, logf string, n int) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binPath, "send", logf)
	cmd.Env = append(os.Environ(), env...)
	errb := &bytes.Buffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for srv.Stats().BulkRequests < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	return cmd, errb
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// TestKillAndResume kills send with SIGKILL in the middle, runs it again,
// and checks that nothing is lost and at most the batches in flight were
// sent twice.
func TestKillAndResume(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 60000, 11, clock.Add(-2*time.Hour))
	const batch, conc = 20, 4
	want := parseItems(t, "--site-id", "1", "--batch-size", fmt.Sprint(batch), "--concurrency", fmt.Sprint(conc), logf)
	srv := matomotest.NewServer(matomotest.Config{
		SuperUserTokens: []string{token},
		FaultFunc: func(n int) matomotest.Fault {
			return matomotest.Fault{Kind: matomotest.FaultSlow, Delay: 15 * time.Millisecond}
		},
	})
	defer srv.Close()
	state := filepath.Join(dir, "state")
	env := sendEnv(srv, state, fmt.Sprintf("BATCH_SIZE=%d", batch), fmt.Sprintf("TRACKLESS_CONCURRENCY=%d", conc))
	cmd, _ := startSendWhen(t, srv, env, logf, (len(want)+batch-1)/batch/3)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	time.Sleep(100 * time.Millisecond) // let the receiver finish what it was doing
	firstRun := len(srv.StoredRaw())
	if firstRun == 0 || firstRun >= len(want) {
		t.Fatalf("the kill came too early or too late: %d of %d stored", firstRun, len(want))
	}
	r := run(t, env, "send", logf)
	if r.code != 0 {
		t.Fatalf("second run exited %d:\n%s", r.code, r.stderr)
	}
	got := srv.StoredRaw()
	missing, extra := compare(want, got)
	t.Logf("killed after %d of %d hits were stored; after the rerun %d stored, %d sent twice (bound: %d)", firstRun, len(want), len(got), extra, batch*conc)
	if len(missing) > 0 {
		t.Fatalf("%d hits lost, first %q", len(missing), first(missing))
	}
	if extra > batch*conc {
		t.Fatalf("%d hits sent twice, more than the %d in flight", extra, batch*conc)
	}
}

// TestDeadLetterAndReplay: batches Matomo refuses (a 4xx no retry can fix:
// here a proxy's body-size limit) go to the dead-letter file, the run says
// so and exits 1; replay delivers them once, and a second replay sends
// nothing.
func TestDeadLetterAndReplay(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 5000, 3, clock.Add(-time.Hour))
	want := parseItems(t, "--site-id", "1", logf)
	up := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{token}})
	defer up.Close()
	target, _ := url.Parse(up.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/matomo.php" {
			http.Error(w, "<html><body><h1>413 Request Entity Too Large</h1></body></html>", http.StatusRequestEntityTooLarge)
			return
		}
		proxy.ServeHTTP(w, r) // the probe and the API reach Matomo
	}))
	defer refusing.Close()
	state := filepath.Join(dir, "state")
	dl := filepath.Join(dir, "dead.jsonl")
	env := append(sendEnv(up, state, "TRACKLESS_DEAD_LETTER_FILE="+dl), "MATOMO_URL="+refusing.URL)
	r := run(t, env, "send", logf, "--summary-json", filepath.Join(dir, "summary.json"))
	if r.code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("NOT DELIVERED: Matomo refused %d hits, written to %s", len(want), dl)) {
		t.Errorf("the summary does not say what was not delivered and where:\n%s", r.stderr)
	}
	var sum struct {
		Stats struct {
			DeadLettered int `json:"dead_lettered"`
		} `json:"stats"`
		ExitCode int `json:"exit_code"`
	}
	data, _ := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err := json.Unmarshal(data, &sum); err != nil || sum.Stats.DeadLettered != len(want) || sum.ExitCode != 1 {
		t.Errorf("summary JSON %s", data)
	}
	// A rerun does not send them again (they are in the dead-letter file),
	// and says the file was not replayed.
	r = run(t, env, "send", logf)
	if r.code != 0 || !strings.Contains(r.stderr, "not replayed: trackless replay "+dl) {
		t.Errorf("rerun exit %d:\n%s", r.code, r.stderr)
	}
	r = run(t, sendEnv(up, state), "replay", dl)
	if r.code != 0 {
		t.Fatalf("replay exit %d:\n%s", r.code, r.stderr)
	}
	if missing, extra := compare(want, up.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Fatalf("replay: %d missing, %d extra", len(missing), extra)
	}
	r = run(t, sendEnv(up, state), "replay", dl)
	if r.code != 0 || len(up.StoredRaw()) != len(want) {
		t.Fatalf("a second replay sent again: exit %d, %d stored", r.code, len(up.StoredRaw()))
	}
	if r = run(t, env, "send", logf); strings.Contains(r.stderr, "not replayed") {
		t.Errorf("a replayed file is still reported:\n%s", r.stderr)
	}
	noToken(t, dir, r.stdout, r.stderr)
}

// TestRejectedHits: an unknown site makes every hit invalid; Matomo names
// them to a super user, and they land in the rejected-hits file.
func TestRejectedHits(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 3000, 5, clock.Add(-time.Hour))
	srv := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{token}, Sites: []int{2}})
	defer srv.Close()
	rej := filepath.Join(dir, "rejected.jsonl")
	r := run(t, sendEnv(srv, filepath.Join(dir, "state"), "TRACKLESS_REJECTED_FILE="+rej), "send", logf)
	if r.code != 1 || !strings.Contains(r.stderr, "REJECTED by Matomo") {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	data, err := os.ReadFile(rej)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var rec struct {
		Input   string `json:"input"`
		Line    int64  `json:"line"`
		Request string `json:"request"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil || rec.Input != logf || rec.Line < 3 || !strings.HasPrefix(rec.Request, "?idsite=1&") {
		t.Errorf("rejected record %s", lines[0])
	}
	noToken(t, dir, r.stdout, r.stderr)
}

// TestOldHitsNeedAToken: without a token, hits older than 24 h are refused
// before anything is sent. trackless measures age by the wall clock, and
// traffic of October 2026 is old on any machine that runs this test.
func TestOldHitsNeedAToken(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 2000, 9, clock.Add(-72*time.Hour))
	srv := matomotest.NewServer(matomotest.Config{})
	defer srv.Close()
	env := []string{"MATOMO_URL=" + srv.URL(), "MATOMO_SITE_ID=1", "TRACKLESS_STATE_DIR=" + filepath.Join(dir, "state")}
	r := run(t, env, "send", logf)
	if r.code != 2 || !strings.Contains(r.stderr, "older than 24 hours") || !strings.Contains(r.stderr, "MATOMO_TOKEN_AUTH") {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if n := srv.Stats().BulkRequests; n != 0 {
		t.Errorf("%d requests were sent", n)
	}
}

// TestConfigErrors: one clear line that names the setting, exit 2.
func TestConfigErrors(t *testing.T) {
	logf := genLog(t, t.TempDir(), 10, 1, clock)
	tests := []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"send", logf}, "--site-id or MATOMO_SITE_ID"},
		{[]string{"MATOMO_SITE_ID=1"}, []string{"send", logf}, "MATOMO_URL"},
		{[]string{"MATOMO_SITE_ID=1", "USER_AGENT_ALLOWLIST_REGEX=("}, []string{"parse", logf}, "USER_AGENT_ALLOWLIST_REGEX"},
		{[]string{"MATOMO_SITE_ID=1", "URL_EXCLUDE_REGEX=a**"}, []string{"parse", logf}, "URL_EXCLUDE_REGEX"},
		{[]string{"MATOMO_SITE_ID=x"}, []string{"parse", logf}, "MATOMO_SITE_ID"},
		{[]string{"MATOMO_SITE_ID=1", "MATOMO_REC_MODE=3"}, []string{"parse", logf}, "MATOMO_REC_MODE"},
		{[]string{"TRACKLESS_SITE_ID=1", "MATOMO_URL=ftp://x"}, []string{"send", logf}, "MATOMO_URL"},
	}
	for _, tt := range tests {
		r := run(t, append(tt.env, "HOME="+t.TempDir()), tt.args...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 2 || len(lines) != 1 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v %v: exit %d, stderr %q; want exit 2 and one line naming %s", tt.env, tt.args, r.code, r.stderr, tt.want)
		}
	}
	// Flags win over the environment.
	r := run(t, []string{"MATOMO_SITE_ID=1", "TRACKLESS_SITE_ID=2"}, "parse", "--site-id", "3", "--rec-mode", "2", logf)
	if !strings.Contains(r.stdout, "idsite=3&") {
		t.Errorf("the flag did not win: %.200s", r.stdout)
	}
	r = run(t, []string{"MATOMO_SITE_ID=1", "TRACKLESS_SITE_ID=2"}, "parse", "--rec-mode", "2", logf)
	if !strings.Contains(r.stdout, "idsite=2&") {
		t.Errorf("TRACKLESS_SITE_ID did not win over MATOMO_SITE_ID: %.200s", r.stdout)
	}
}

// TestInDoubtAndWriteToken: an answer that does not account for the batch
// is not retried (it may be stored) but written to the in-doubt file; with a
// write token Matomo does not say which hits it rejected, and the whole
// batch is written to the rejected-hits file with the count.
func TestInDoubtAndWriteToken(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 3000, 21, clock.Add(-time.Hour))
	srv := matomotest.NewServer(matomotest.Config{WriteTokens: []string{token}})
	defer srv.Close()
	srv.Script(matomotest.Fault{Kind: matomotest.FaultMismatch}, matomotest.Fault{Kind: matomotest.FaultBadJSONAnswer})
	dl := filepath.Join(dir, "in-doubt.jsonl")
	r := run(t, sendEnv(srv, filepath.Join(dir, "state"), "TRACKLESS_CONCURRENCY=1", "BATCH_SIZE=10", "TRACKLESS_IN_DOUBT_FILE="+dl), "send", logf)
	if r.code != 1 || !strings.Contains(r.stderr, "IN DOUBT: 20 hits") {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	data, _ := os.ReadFile(dl)
	if n := strings.Count(string(data), `"in_doubt":true`); n != 2 {
		t.Errorf("%d in-doubt records, want 2", n)
	}
	// One request per batch: nothing was retried.
	batches := 0
	for _, line := range strings.Split(strings.TrimSpace(run(t, nil, "parse", "--site-id", "1", "--batch-size", "10", "--concurrency", "1", logf).stdout), "\n") {
		if line != "" {
			batches++
		}
	}
	if st := srv.Stats(); st.BulkRequests != batches {
		t.Errorf("%d requests for %d batches", st.BulkRequests, batches)
	}

	// A write token: invalid hits are counted, not named.
	srv2 := matomotest.NewServer(matomotest.Config{WriteTokens: []string{token}, Sites: []int{5}})
	defer srv2.Close()
	rej := filepath.Join(dir, "rejected.jsonl")
	r = run(t, sendEnv(srv2, filepath.Join(dir, "state2"), "TRACKLESS_REJECTED_FILE="+rej), "send", logf)
	data, _ = os.ReadFile(rej)
	if r.code != 1 || !strings.Contains(string(data), "without saying which") {
		t.Fatalf("exit %d, rejected file %.300s\n%s", r.code, data, r.stderr)
	}
	noToken(t, dir, r.stdout, r.stderr)
}

// TestDamagedInputAndCorruptLedger: a truncated gzip file has its complete
// lines sent and is reported (exit 1); a corrupt ledger file stops the run
// with its path (exit 3) instead of sending everything again.
func TestDamagedInputAndCorruptLedger(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 20000, 13, clock.Add(-time.Hour))
	data, _ := os.ReadFile(logf)
	cut := filepath.Join(dir, "cut.gz")
	os.WriteFile(cut, data[:len(data)/2], 0o600)
	// Cut and left so (a file cut short while it is being written is not
	// damaged: TestGzipBeingWritten).
	old := time.Now().Add(-time.Hour)
	os.Chtimes(cut, old, old)
	srv := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{token}})
	defer srv.Close()
	state := filepath.Join(dir, "state")
	r := run(t, sendEnv(srv, state), "send", "--progress", "always", cut)
	if r.code != 1 || !strings.Contains(r.stderr, "DAMAGED or unreadable input: "+cut) || srv.StoredCount() == 0 {
		t.Fatalf("exit %d, %d stored:\n%s", r.code, srv.StoredCount(), r.stderr)
	}
	if !strings.Contains(r.stderr, "hits/s") {
		t.Errorf("no progress bar with --progress always:\n%s", r.stderr)
	}
	// What was read before the damage is not sent again.
	n := srv.StoredCount()
	if r = run(t, sendEnv(srv, state), "send", cut); srv.StoredCount() != n {
		t.Errorf("rerun of a damaged input sent %d again", srv.StoredCount()-n)
	}
	files, _ := filepath.Glob(filepath.Join(state, "inputs", "*.json"))
	if len(files) != 1 {
		t.Fatalf("ledger files %v", files)
	}
	// The ledger says why the input is not done.
	if entry, _ := os.ReadFile(files[0]); !strings.Contains(string(entry), `"failed":"damaged after line`) || strings.Contains(string(entry), `"done":true`) {
		t.Errorf("ledger entry of the damaged input: %s", entry)
	}
	os.WriteFile(files[0], []byte(`{"version":1,"confirm`), 0o600)
	r = run(t, sendEnv(srv, state), "send", cut)
	if r.code != 3 || !strings.Contains(r.stderr, files[0]) || !strings.Contains(r.stderr, "corrupt") || srv.StoredCount() != n {
		t.Fatalf("corrupt ledger: exit %d\n%s", r.code, r.stderr)
	}
}

// TestInterrupt: the first SIGINT stops reading, lets the batches in flight
// finish and records them; the rerun sends the rest, and nothing twice.
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 60000, 17, clock.Add(-2*time.Hour))
	want := parseItems(t, "--site-id", "1", "--batch-size", "20", logf)
	srv := matomotest.NewServer(matomotest.Config{
		SuperUserTokens: []string{token},
		FaultFunc: func(int) matomotest.Fault {
			return matomotest.Fault{Kind: matomotest.FaultSlow, Delay: 20 * time.Millisecond}
		},
	})
	defer srv.Close()
	env := sendEnv(srv, filepath.Join(dir, "state"), "BATCH_SIZE=20")
	cmd, errb := startSendWhen(t, srv, env, logf, 10)
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130:\n%s", err, errb.String())
	}
	first := len(srv.StoredRaw())
	if first >= len(want) {
		t.Skipf("the run finished before the interrupt (%d hits)", first)
	}
	r := run(t, env, "send", logf)
	if r.code != 0 {
		t.Fatalf("rerun exit %d:\n%s", r.code, r.stderr)
	}
	missing, extra := compare(want, srv.StoredRaw())
	if len(missing) > 0 || extra > 0 {
		t.Fatalf("after an interrupt and a rerun: %d missing, %d sent twice", len(missing), extra)
	}
}

// TestVisitsMode: classic visits with the importer's filters; the visitor
// IP needs a token (or --no-ip); Matomo stores what parse prints.
func TestVisitsMode(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 20000, 23, clock.Add(-3*time.Hour))
	want := parseItems(t, "--site-id", "1", "--mode", "visits", logf)
	if len(want) < 1000 {
		t.Fatalf("only %d visit hits", len(want))
	}
	for _, it := range want[:50] {
		if !strings.Contains(it, "&apiv=1&") || !strings.Contains(it, "&cip=") || strings.Contains(it, "recMode") {
			t.Fatalf("not a visit request: %s", it)
		}
	}
	srv := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{token}})
	defer srv.Close()
	noTok := []string{"MATOMO_URL=" + srv.URL(), "MATOMO_SITE_ID=1", "TRACKLESS_STATE_DIR=" + filepath.Join(dir, "s0")}
	if r := run(t, noTok, "send", "--mode", "visits", logf); r.code != 2 || !strings.Contains(r.stderr, "--no-ip") {
		t.Fatalf("visits without a token: exit %d\n%s", r.code, r.stderr)
	}
	r := run(t, sendEnv(srv, filepath.Join(dir, "state"), "TRACKLESS_MODE=visits"), "send", logf)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	got := srv.Stored()
	var raws []string
	for _, rec := range got {
		if rec.Kind != matomotest.KindVisit {
			t.Fatalf("stored as %s: %s", rec.Kind, rec.Raw)
		}
		raws = append(raws, rec.Raw)
	}
	// Matomo itself drops some visits without an error (bots it knows by
	// their address, such as Google's ranges): all must be tracked, none
	// stored twice.
	if _, extra := compare(want, raws); extra > 0 {
		t.Fatalf("%d stored twice or not sent", extra)
	}
	if st := srv.Stats(); st.Tracked != len(want) || st.Invalid != 0 {
		t.Fatalf("tracked %d, invalid %d, for %d sent", st.Tracked, st.Invalid, len(want))
	}
	// Errors enabled: titled like Matomo's importer; bots enabled: bots=1.
	more := parseItems(t, "--site-id", "1", "--mode", "visits", "--enable-http-errors", "--enable-bots", "--anonymize-ip", "2", logf)
	var titled, bots int
	for _, it := range more {
		if strings.Contains(it, "&action_name=404%2FURL+%3D+") {
			titled++
		}
		if strings.HasSuffix(it, "&bots=1") {
			bots++
		}
		if strings.Contains(it, "&cip=") && !strings.Contains(it, ".0.0&") && !strings.Contains(it, "%3A") {
			t.Fatalf("IPv4 not anonymized: %s", it)
		}
	}
	if titled == 0 || bots == 0 || len(more) <= len(want) {
		t.Errorf("titled %d, bots %d, %d hits vs %d", titled, bots, len(more), len(want))
	}
}

// TestSiteAuto: sites are asked of Matomo once per host; hosts of no site
// are not sent and are listed.
func TestSiteAuto(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 20000, 31, clock.Add(-2*time.Hour))
	srv := matomotest.NewServer(matomotest.Config{
		SuperUserTokens: []string{token}, Sites: []int{1, 2},
		SiteURLs: map[int][]string{2: {"https://www.example.com"}},
	})
	defer srv.Close()
	// A second input with a host that no site has.
	other := filepath.Join(dir, "other.log")
	ts := clock.Add(-time.Hour)
	os.WriteFile(other, []byte("#Fields: date time c-ip cs-method x-host-header cs-protocol cs-uri-stem sc-status cs(User-Agent)\n"+
		ts.Format("2006-01-02\t15:04:05")+"\t192.0.2.7\tGET\tblog.unknown.org\thttps\t/\t200\tMozilla/5.0%20(X11)\n"), 0o600)
	env := []string{"MATOMO_URL=" + srv.URL(), "MATOMO_TOKEN_AUTH=" + token, "TRACKLESS_STATE_DIR=" + filepath.Join(dir, "state"), "MATOMO_REC_MODE=2"}
	r := run(t, env, "send", "--site-auto", "--no-version-check", logf, other)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	recs := srv.Stored()
	if len(recs) < 1000 {
		t.Fatalf("%d stored", len(recs))
	}
	for _, rec := range recs {
		if rec.SiteID != 2 {
			t.Fatalf("stored for site %d: %s", rec.SiteID, rec.Raw)
		}
	}
	if st := srv.Stats(); st.APIRequests > 5 {
		t.Errorf("%d API requests: the answers are not cached", st.APIRequests)
	}
	if !strings.Contains(r.stderr, "hosts mapped to no site (hits not sent): ") || !strings.Contains(r.stderr, "blog.unknown.org=1") {
		t.Errorf("unmapped hosts not listed:\n%s", r.stderr)
	}
	noToken(t, dir, r.stdout, r.stderr)
}

// TestAddSites: a host of no site gets a new site, once.
func TestAddSites(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.log")
	ts := clock.Add(-time.Hour)
	var b strings.Builder
	b.WriteString("#Fields: date time c-ip cs-method x-host-header cs-protocol cs-uri-stem sc-status cs(User-Agent)\n")
	for i := 0; i < 5; i++ {
		fmt.Fprintf(&b, "%s\t192.0.2.%d\tGET\tnew.example.net\thttps\t/p%d\t200\tMozilla/5.0%%20(X11)\n", ts.Format("2006-01-02\t15:04:05"), i, i)
	}
	os.WriteFile(p, []byte(b.String()), 0o600)
	srv := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{token}, Sites: []int{1}})
	defer srv.Close()
	env := []string{"MATOMO_URL=" + srv.URL(), "MATOMO_TOKEN_AUTH=" + token, "TRACKLESS_STATE_DIR=" + filepath.Join(dir, "state"), "MATOMO_REC_MODE=2"}
	r := run(t, env, "send", "--site-auto", "--add-sites", "--no-version-check", p)
	if r.code != 0 || !strings.Contains(r.stderr, "created a site in Matomo") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	recs := srv.Stored()
	if len(recs) != 5 {
		t.Fatalf("%d stored", len(recs))
	}
	for _, rec := range recs {
		if rec.SiteID != 2 {
			t.Fatalf("site %d", rec.SiteID)
		}
	}
	if strings.Count(r.stderr, "created a site") != 1 {
		t.Errorf("more than one site created:\n%s", r.stderr)
	}
}

// TestUnknownFormat: an input in no detected format is not read, with a
// message that lists the candidates and the way out; the others are.
func TestUnknownFormat(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.log")
	if err := os.WriteFile(junk, []byte("hello world, this is no access log\nsecond line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.log")
	if err := os.WriteFile(good, []byte(`192.0.2.1 - - [10/Nov/2026:16:42:07 +0100] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "parse", "--mode", "visits", "--token-auth", "x", "--site-id", "1", "--default-protocol", "https", "--default-host", "e.com", junk, good)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"cannot tell the log format", "nginx_json", "--log-format", "DAMAGED or unreadable input: " + junk} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "url=https%3A%2F%2Fe.com%2F") {
		t.Errorf("the good input was not sent:\n%s", r.stdout)
	}
}

// TestImporterOptions: the options of Matomo's importer that trackless
// takes under the same names.
func TestImporterOptions(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ua := `"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"`
	vhost := write("vhost.log", ""+
		`www.example.com:443 192.0.2.1 - - [10/Nov/2026:16:42:07 +0000] "GET /Blog/Post HTTP/1.1" 200 5 "-" `+ua+"\n"+
		`shop.example.com:443 192.0.2.1 - - [10/Nov/2026:16:42:08 +0000] "GET /Admin/x HTTP/1.1" 200 5 "-" `+ua+"\n"+
		`other.org:443 192.0.2.1 - - [10/Nov/2026:16:42:09 +0000] "GET /a HTTP/1.1" 200 5 "-" `+ua+"\n")
	globs := write("exclude.txt", "# admin pages\n/admin/*\n\n")
	r := run(t, nil, "parse", "--mode", "visits", "--token-auth", "x", "--site-id", "1", "--default-protocol", "https", "--output", "jsonl",
		"--hostname", "*.example.com", "--exclude-path-from", globs, "--force-lowercase-path", "--add-to-date", "-1.5", vhost)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var sent, skipped []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var h struct{ Path, Skip, Time, Request string }
		if err := json.Unmarshal([]byte(l), &h); err != nil {
			t.Fatal(err)
		}
		if h.Request != "" {
			sent = append(sent, h.Path+" "+h.Time)
		} else {
			skipped = append(skipped, h.Path+" "+h.Skip)
		}
	}
	if got := strings.Join(sent, ","); got != "/blog/post 2026-11-10T15:12:07Z" {
		t.Errorf("sent %s", got)
	}
	if got := strings.Join(skipped, ","); got != "/admin/x path_excluded,/a host_excluded" {
		t.Errorf("skipped %s", got)
	}

	// A W3C log without a header, its time in a field of another name.
	w3c := write("noheader.log", "2026-11-10 16:42:07 /x 192.0.2.1 Mozilla/5.0+(X11;+Linux+x86_64)+Firefox/128.0 250\n")
	r = run(t, nil, "parse", "--mode", "visits", "--token-auth", "x", "--site-id", "1", "--default-protocol", "https", "--default-host", "e.com", "--output", "jsonl",
		"--w3c-fields", "#Fields: date time cs-uri-stem c-ip cs(User-Agent) TimeTaken", "--w3c-map-field", "TimeTaken=time-taken", "--w3c-time-taken-millisecs", w3c)
	if r.code != 0 || !strings.Contains(r.stdout, `"duration_ms":250`) || !strings.Contains(r.stdout, "pf_srv=250") {
		t.Errorf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
