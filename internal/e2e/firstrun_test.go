package e2e_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/matomo/matomotest"
	"github.com/trackless/trackless/internal/testfs"
)

// This file checks issue 12's promises end to end: the recipes people
// follow work with no extra flags, an outage never consumes input, nothing
// is stored twice, and faults of the machine cost nothing twice.

// genFormat writes n lines of generated traffic as Apache/nginx would log
// them (format combined or nginx_json), uncompressed.
func genFormat(t *testing.T, dir, format string, n int, seed int64) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("access-%s-%d.log", format, seed))
	out, err := exec.Command(genlogsPath, "-lines", fmt.Sprint(n), "-seed", fmt.Sprint(seed), "-format", format,
		"-start", clock.Add(-3*time.Hour).Format(time.RFC3339), "-hosts", "www.example.org", "-out", p).CombinedOutput()
	if err != nil {
		t.Fatalf("genlogs: %v\n%s", err, out)
	}
	return p
}

// commonFrom turns a combined log into Apache's common format: the same
// lines without referrer and user agent.
func commonFrom(t *testing.T, combined string) string {
	t.Helper()
	data, err := os.ReadFile(combined)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		// Cut before the referrer: the second-last quoted field.
		i := strings.LastIndex(l, `" "`)
		j := strings.LastIndex(l[:i], ` "`)
		b.WriteString(l[:j] + "\n")
	}
	p := strings.TrimSuffix(combined, ".log") + "-common.log"
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// siteServer is a Matomo whose site 1 has https://www.example.org as its
// main URL.
func siteServer(t *testing.T, cfg matomotest.Config) *matomotest.Server {
	t.Helper()
	cfg.SuperUserTokens = []string{token}
	if cfg.SiteURLs == nil {
		cfg.SiteURLs = map[int][]string{1: {"https://www.example.org"}}
	}
	srv := matomotest.NewServer(cfg)
	t.Cleanup(srv.Close)
	return srv
}

func urlsOf(t *testing.T, srv *matomotest.Server) []string {
	var out []string
	for _, r := range srv.Stored() {
		out = append(out, r.Params.Get("url"))
	}
	return out
}

// TestWebServerRecipes: nginx JSON (the "real-time Matomo import" recipe),
// Apache combined and Apache common logs, with only --mode visits and a
// site id, send every page view with the site's scheme and host, as
// Matomo's importer does; parse with the same settings prints the same.
func TestWebServerRecipes(t *testing.T) {
	dir := t.TempDir()
	combined := genFormat(t, dir, "combined", 3000, 41)
	logs := map[string]string{
		"nginx_json": genFormat(t, dir, "nginx_json", 3000, 42),
		"combined":   combined,
		"common":     commonFrom(t, combined),
	}
	for name, logf := range logs {
		t.Run(name, func(t *testing.T) {
			srv := siteServer(t, matomotest.Config{})
			env := sendEnv(srv, filepath.Join(dir, name+"-state"))
			want := parseItemsEnv(t, env, "--mode", "visits", logf)
			if len(want) < 100 {
				t.Fatalf("only %d page views to send", len(want))
			}
			r := run(t, env, "send", "--mode", "visits", logf)
			if r.code != 0 {
				t.Fatalf("send exited %d:\n%s", r.code, r.stderr)
			}
			// Matomo tracks every hit sent; it stores all but those from
			// its bot address ranges (a common log has no user agent to
			// tell a crawler).
			st := srv.Stats()
			missing, extra := compare(want, srv.StoredRaw())
			if extra > 0 || st.Tracked != len(want) || len(missing) != st.Discarded {
				t.Fatalf("%d sent, %d tracked, %d stored: %d missing (%d discarded), %d extra", len(want), st.Tracked, srv.StoredCount(), len(missing), st.Discarded, extra)
			}
			if name != "common" && st.Discarded > 0 {
				t.Errorf("%d discarded: bots were sent", st.Discarded)
			}
			for _, u := range urlsOf(t, srv) {
				if !strings.HasPrefix(u, "https://www.example.org/") {
					t.Fatalf("URL %q: not the site's scheme and host", u)
				}
			}
			if !strings.Contains(r.stderr, "https://www.example.org, the site's main URL in Matomo") {
				t.Errorf("the summary does not say where scheme and host came from:\n%s", r.stderr)
			}
			if strings.Contains(r.stderr, "cs-protocol") || strings.Contains(r.stderr, "CLOUDFRONT_") {
				t.Errorf("an nginx/Apache user is told about CloudFront fields:\n%s", r.stderr)
			}
		})
	}
}

// TestNoHostNoMatomo: parse of a host-less log with no Matomo to ask stops
// before printing anything, naming --default-host; the flag wins over
// TRACKLESS_LOG_HOSTNAME (the environment, under another name of it).
func TestNoHostNoMatomo(t *testing.T) {
	dir := t.TempDir()
	logf := genFormat(t, dir, "combined", 50, 43)
	r := run(t, nil, "parse", "--mode", "visits", "--site-id", "1", logf)
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "--default-host") || !strings.Contains(r.stderr, "no host") {
		t.Fatalf("exit %d, stdout %d bytes:\n%s", r.code, len(r.stdout), r.stderr)
	}
	items := parseItemsEnv(t, []string{"TRACKLESS_LOG_HOSTNAME=env.example"}, "--mode", "visits", "--site-id", "1", "--default-host", "flag.example", logf)
	if len(items) == 0 {
		t.Fatal("nothing printed")
	}
	for _, it := range items {
		q, _ := url.ParseQuery(it[1:])
		if !strings.HasPrefix(q.Get("url"), "https://flag.example/") {
			t.Fatalf("url %q: the flag must win over TRACKLESS_LOG_HOSTNAME", q.Get("url"))
		}
	}
}

// TestPreflight: a wrong URL, something that is not Matomo, or a bad token
// stop send before it reads anything (no ledger entry, nothing sent), with
// a message that says what failed; the next run with the right settings
// sends everything.
func TestPreflight(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 2000, 44, clock.Add(-2*time.Hour))
	srv := siteServer(t, matomotest.Config{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + ln.Addr().String()
	ln.Close()
	notMatomo := httptest.NewServer(http.NotFoundHandler())
	defer notMatomo.Close()
	state := filepath.Join(dir, "state")
	for _, tt := range []struct {
		name, url, tok, want string
	}{
		{"refused", refused, token, "connection refused"},
		{"dns", "http://matomo.invalid", token, "matomo.invalid"},
		{"not matomo", notMatomo.URL, token, "is not Matomo's tracker"},
		{"bad token", srv.URL(), "ffffffffffffffffffffffffffffffff", "does not accept the token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := append(sendEnv(srv, state), "MATOMO_URL="+tt.url, "MATOMO_TOKEN_AUTH="+tt.tok)
			r := run(t, env, "send", logf)
			if r.code != 4 || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "nothing was read") {
				t.Fatalf("exit %d, want 4 saying %q:\n%s", r.code, tt.want, r.stderr)
			}
			if ents, _ := os.ReadDir(filepath.Join(state, "inputs")); len(ents) > 0 {
				t.Fatalf("the ledger has %d entries: the input was read", len(ents))
			}
		})
	}
	if n := srv.Stats().BulkRequests; n != 0 {
		t.Fatalf("%d bulk requests before the right settings", n)
	}
	want := parseItems(t, "--site-id", "1", logf)
	r := run(t, sendEnv(srv, state), "send", logf)
	if missing, extra := compare(want, srv.StoredRaw()); r.code != 0 || len(missing) > 0 || extra > 0 {
		t.Fatalf("exit %d, %d missing, %d extra:\n%s", r.code, len(missing), extra, r.stderr)
	}
}

// outageServer goes down at its bulk request number after (down is set
// then; the test may clear it to bring it back): while down, every bulk
// request fails with 503, as a Matomo behind a proxy that is down.
func outageServer(t *testing.T, down *atomic.Bool, after int) *matomotest.Server {
	var wentDown atomic.Bool
	return siteServer(t, matomotest.Config{FaultFunc: func(n int) matomotest.Fault {
		if n >= after && !wentDown.Swap(true) {
			down.Store(true)
		}
		if down.Load() {
			return matomotest.Fault{Kind: matomotest.Fault503}
		}
		return matomotest.Fault{}
	}})
}

// TestOutageMidRun: Matomo goes down in mid-run for longer than
// --max-outage: the run stops (exit 4) with nothing dead-lettered or in
// doubt, and once Matomo is back the next run sends every hit once.
func TestOutageMidRun(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 20000, 45, clock.Add(-2*time.Hour))
	want := parseItems(t, "--site-id", "1", "--batch-size", "50", logf)
	var down atomic.Bool
	srv := outageServer(t, &down, 3)
	state := filepath.Join(dir, "state")
	env := sendEnv(srv, state, "BATCH_SIZE=50", "TRACKLESS_MAX_OUTAGE=1s", "TRACKLESS_RETRY_BACKOFF=100ms")
	r := run(t, env, "send", logf)
	if r.code != 4 || !strings.Contains(r.stderr, "nothing was lost") {
		t.Fatalf("exit %d, want 4 saying nothing was lost:\n%s", r.code, r.stderr)
	}
	for _, sub := range []string{"dead-letter", "in-doubt"} {
		if ents, _ := os.ReadDir(filepath.Join(state, sub)); len(ents) > 0 {
			t.Fatalf("%s has %d files after an outage", sub, len(ents))
		}
	}
	stored := srv.StoredCount()
	if stored == 0 || stored >= len(want) {
		t.Fatalf("%d of %d stored before the outage: the test tests little", stored, len(want))
	}
	down.Store(false) // Matomo is back
	r = run(t, sendEnv(srv, state, "BATCH_SIZE=50"), "send", logf)
	if r.code != 0 {
		t.Fatalf("rerun exited %d:\n%s", r.code, r.stderr)
	}
	if missing, extra := compare(want, srv.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Fatalf("after the rerun: %d missing, %d extra", len(missing), extra)
	}
}

// TestSlowAnswerNotResent: Matomo answers a batch after the client's
// timeout (it stores it anyway, as a real one does): the batch is in doubt,
// never sent a second time, and the run says so.
func TestSlowAnswerNotResent(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 3000, 46, clock.Add(-2*time.Hour))
	want := parseItems(t, "--site-id", "1", "--batch-size", "100", logf)
	srv := siteServer(t, matomotest.Config{FaultFunc: func(n int) matomotest.Fault {
		if n == 2 {
			return matomotest.Fault{Kind: matomotest.FaultSlow, Delay: 1500 * time.Millisecond}
		}
		return matomotest.Fault{}
	}})
	state := filepath.Join(dir, "state")
	r := run(t, sendEnv(srv, state, "BATCH_SIZE=100", "MATOMO_TIMEOUT_MS=300"), "send", logf)
	if r.code != 1 || !strings.Contains(r.stderr, "IN DOUBT") || !strings.Contains(r.stderr, "trackless replay") {
		t.Fatalf("exit %d, want 1 saying IN DOUBT:\n%s", r.code, r.stderr)
	}
	deadline := time.Now().Add(20 * time.Second) // the slow batch commits after its delay
	for srv.StoredCount() < len(want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if missing, extra := compare(want, srv.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Fatalf("%d missing, %d extra: the slow batch was sent again", len(missing), extra)
	}
	if st := srv.Stats(); st.CommittedClientGone != 1 {
		t.Errorf("stats %+v: want one batch stored after its client gave up", st)
	}
	ents, _ := os.ReadDir(filepath.Join(state, "in-doubt"))
	if len(ents) != 1 {
		t.Fatalf("in-doubt files: %v", ents)
	}
	// The rerun sends nothing: the in-doubt batch is recorded, and the run
	// reminds of it.
	before := srv.Stats().BulkRequests
	r = run(t, sendEnv(srv, state), "send", logf)
	if r.code != 0 || srv.Stats().BulkRequests != before || !strings.Contains(r.stderr, "not replayed: trackless replay") {
		t.Fatalf("rerun: exit %d, %d more requests:\n%s", r.code, srv.Stats().BulkRequests-before, r.stderr)
	}
}

// TestFirstBatchOfEachDayAlone: with 4 batches in flight over two days and
// two sites, Matomo never creates a day's salt twice (no split visitor), and
// every visitor has one fingerprint per day, as with a single sender.
func TestFirstBatchOfEachDayAlone(t *testing.T) {
	dir := t.TempDir()
	logf := filepath.Join(dir, "E2ETWOSITES.2026-11-01-06.gz")
	if out, err := exec.Command(genlogsPath, "-lines", "30000", "-seed", "47", "-gzip", "-hosts", "www.example.com,shop.example.com",
		"-start", clock.Add(-6*time.Hour).Format(time.RFC3339), "-out", logf).CombinedOutput(); err != nil {
		t.Fatalf("genlogs: %v\n%s", err, out)
	}
	srv := siteServer(t, matomotest.Config{
		Sites: []int{1, 2}, SiteTimezones: map[int]string{1: "Europe/Paris", 2: "America/New_York"},
		SiteURLs: map[int][]string{1: {"https://www.example.com"}, 2: {"https://shop.example.com"}},
		FaultFunc: func(int) matomotest.Fault {
			return matomotest.Fault{Kind: matomotest.FaultSlow, Delay: 20 * time.Millisecond}
		},
	})
	state := filepath.Join(dir, "state")
	r := run(t, sendEnv(srv, state, "TRACKLESS_MODE=auto", "BATCH_SIZE=50", "TRACKLESS_CONCURRENCY=4", "TRACKLESS_SITE=shop.example.com=2"), "send", logf)
	if r.code != 0 {
		t.Fatalf("send exited %d:\n%s", r.code, r.stderr)
	}
	st := srv.Stats()
	if st.SaltRaces != 0 || len(srv.SplitVisitors()) != 0 {
		for i, v := range srv.SplitVisitors() {
			if i < 5 {
				t.Logf("split: site %d day %s ip %s hits %d ids %v", v.SiteID, v.Day, v.IP, v.Hits, v.ConfigIDs)
			}
		}
		t.Fatalf("%d salt races, %d split visitors", st.SaltRaces, len(srv.SplitVisitors()))
	}
	days := map[string]bool{}
	for _, v := range srv.Visitors() {
		days[fmt.Sprint(v.SiteID, v.Day)] = true
	}
	if len(days) < 3 {
		t.Fatalf("visits on %d site-days: the test tests little", len(days))
	}
	// Every visit carries the visitor's IP (cip), also in rec mode 2.
	for _, rec := range srv.Stored() {
		if rec.Kind == matomotest.KindVisit && rec.IP == "127.0.0.1" {
			t.Fatalf("a visit stored under the sender's address: %s", rec.Raw)
		}
	}
}

// TestBinaryRefused: /bin/ls is not read as a log.
func TestBinaryRefused(t *testing.T) {
	r := run(t, nil, "parse", "--site-id", "1", "/bin/ls")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "not a text log") || strings.Contains(r.stderr, "malformed lines") {
		t.Fatalf("exit %d, %d bytes out:\n%s", r.code, len(r.stdout), r.stderr)
	}
}

// TestOldMatomoRefusesRecModes: rec modes 1 and 2 against Matomo 5.0.2 stop
// before reading (it would store Claude-User and Perplexity-User as
// visits); --allow-old-matomo sends anyway; visits mode is fine.
func TestOldMatomoRefusesRecModes(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 3000, 48, clock.Add(-2*time.Hour))
	srv := siteServer(t, matomotest.Config{Version: "5.0.2"})
	state := filepath.Join(dir, "state")
	r := run(t, sendEnv(srv, state), "send", logf)
	if r.code != 2 || !strings.Contains(r.stderr, "ordinary visits") || !strings.Contains(r.stderr, "--allow-old-matomo") || srv.Stats().BulkRequests != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	r = run(t, sendEnv(srv, state, "TRACKLESS_ALLOW_OLD_MATOMO=true"), "send", logf)
	if r.code != 0 || srv.Stats().BulkRequests == 0 {
		t.Fatalf("with --allow-old-matomo: exit %d:\n%s", r.code, r.stderr)
	}
}

// TestStateDiskFaults: a read-only state directory stops send before it
// sends anything, run after run; a state disk that fills up in mid-run
// stops it at once, the runs while it is full send nothing, and once there
// is room again the run completes: at most the batches in flight at the
// failure were sent twice, once.
func TestStateDiskFaults(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 20000, 49, clock.Add(-2*time.Hour))
	const batch, conc = 50, 4
	want := parseItems(t, "--site-id", "1", "--batch-size", fmt.Sprint(batch), logf)

	t.Run("read-only inputs", func(t *testing.T) {
		state := filepath.Join(t.TempDir(), "state")
		inputs := filepath.Join(state, "inputs")
		testfs.Mount(t, inputs, "size=1m")
		testfs.Remount(t, inputs, "remount,ro")
		srv := siteServer(t, matomotest.Config{})
		for i := 0; i < 2; i++ {
			r := run(t, sendEnv(srv, state), "send", logf)
			if r.code != 3 || !strings.Contains(r.stderr, "read-only") || srv.Stats().BulkRequests != 0 {
				t.Fatalf("run %d: exit %d, %d requests:\n%s", i+1, r.code, srv.Stats().BulkRequests, r.stderr)
			}
		}
	})

	t.Run("full", func(t *testing.T) {
		state := filepath.Join(t.TempDir(), "state")
		testfs.Mount(t, state, "size=2m")
		srv := siteServer(t, matomotest.Config{FaultFunc: func(int) matomotest.Fault {
			return matomotest.Fault{Kind: matomotest.FaultSlow, Delay: 10 * time.Millisecond}
		}})
		env := sendEnv(srv, state, fmt.Sprintf("BATCH_SIZE=%d", batch), fmt.Sprintf("TRACKLESS_CONCURRENCY=%d", conc))
		cmd, errb := startSendWhen(t, srv, env, logf, 5)
		filler := testfs.Fill(t, state)
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 3 {
			t.Fatalf("exit %d after the disk filled, want 3:\n%s", code, errb)
		}
		first := srv.StoredCount()
		for i := 0; i < 2; i++ {
			before := srv.Stats().BulkRequests
			r := run(t, env, "send", logf)
			if r.code != 3 || srv.Stats().BulkRequests != before {
				t.Fatalf("full, run %d: exit %d, %d requests:\n%s", i+1, r.code, srv.Stats().BulkRequests-before, r.stderr)
			}
		}
		os.Remove(filler)
		r := run(t, env, "send", logf)
		if r.code != 0 {
			t.Fatalf("with room again: exit %d:\n%s", r.code, r.stderr)
		}
		missing, extra := compare(want, srv.StoredRaw())
		t.Logf("%d stored when the disk filled; %d sent twice (bound %d)", first, extra, batch*conc)
		if len(missing) > 0 || extra > batch*conc {
			t.Fatalf("%d missing, %d sent twice (more than the %d in flight)", len(missing), extra, batch*conc)
		}
	})
}

// TestReportFullDisk: a report written to a full disk leaves the previous
// one whole, and no temporary file behind.
func TestReportFullDisk(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	testfs.Mount(t, out, "size=512k")
	logf := genLog(t, dir, 2000, 50, clock.Add(-2*time.Hour))
	html := filepath.Join(out, "report.html")
	if r := run(t, nil, "report", logf, "-o", html); r.code != 0 {
		t.Fatalf("report exited %d:\n%s", r.code, r.stderr)
	}
	before, _ := os.ReadFile(html)
	testfs.Fill(t, out)
	r := run(t, nil, "report", logf, genLog(t, dir, 2000, 51, clock.Add(-time.Hour)), "-o", html)
	if r.code == 0 {
		t.Fatal("a report on a full disk succeeded")
	}
	after, _ := os.ReadFile(html)
	if !bytes.Equal(before, after) {
		t.Fatalf("the previous report changed (%d bytes, was %d)", len(after), len(before))
	}
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	if r := run(t, nil, "report", logf, "-o", filepath.Join(dir, "missing", "r.html")); r.code != 2 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("-o into a missing directory: exit %d:\n%s", r.code, r.stderr)
	}
}

// TestSignalDuringOutage: SIGTERM while Matomo is down (batches waiting to
// be retried) ends the run within seconds, sends no new batch, dead-letters
// nothing; the same while opening a named pipe that has no writer.
func TestSignalDuringOutage(t *testing.T) {
	dir := t.TempDir()
	logf := genLog(t, dir, 20000, 52, clock.Add(-2*time.Hour))
	var down atomic.Bool
	srv := outageServer(t, &down, 5)
	state := filepath.Join(dir, "state")
	env := sendEnv(srv, state, "BATCH_SIZE=50", "TRACKLESS_MODE=auto", "TRACKLESS_RETRY_BACKOFF=50ms")
	cmd, errb := startSendWhen(t, srv, env, logf, 12) // a few 503s in
	if !down.Load() {
		t.Fatal("the outage did not start")
	}
	before := srv.Stats().BulkRequests
	exitIn(t, cmd, errb, 130)
	if after := srv.Stats().BulkRequests; after > before+4 {
		t.Errorf("%d requests after the signal: batches were started or retried", after-before)
	}
	for _, sub := range []string{"dead-letter", "in-doubt"} {
		if ents, _ := os.ReadDir(filepath.Join(state, sub)); len(ents) > 0 {
			t.Fatalf("%s written after the signal", sub)
		}
	}

	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	srv2 := siteServer(t, matomotest.Config{})
	cmd = exec.Command(binPath, "send", fifo)
	cmd.Env = append(os.Environ(), sendEnv(srv2, filepath.Join(dir, "state2"))...)
	errb = &bytes.Buffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for srv2.Stats().APIRequests == 0 && time.Now().Before(deadline) { // the preflight, then the open
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	exitIn(t, cmd, errb, 130)
}

// exitIn sends SIGTERM and checks the process exits with code within 5 s
// (a generous bound on something that must not hang).
func exitIn(t *testing.T, cmd *exec.Cmd, errb *bytes.Buffer, code int) {
	t.Helper()
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running 5 s after SIGTERM:\n%s", errb)
	}
	if got := cmd.ProcessState.ExitCode(); got != code {
		t.Fatalf("exit %d after %v, want %d:\n%s", got, time.Since(start), code, errb)
	}
}
