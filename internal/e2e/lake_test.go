package e2e_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/kinesis/kinesistest"
	"github.com/trackless/trackless/internal/lake/duckdbtest"
	"github.com/trackless/trackless/internal/matomo/matomotest"
	"github.com/trackless/trackless/internal/s3test"
)

// jsonHits runs parse --output jsonl on inputs: every hit read, as
// "input:line status bytes", sorted.
func jsonHits(t *testing.T, args ...string) []string {
	t.Helper()
	r := run(t, nil, append([]string{"parse", "--output", "jsonl"}, args...)...)
	if r.code != 0 {
		t.Fatalf("parse exited %d:\n%s", r.code, r.stderr)
	}
	var out []string
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var h struct {
			Input  string `json:"input"`
			Line   int64  `json:"line"`
			Status int    `json:"status"`
			Bytes  int64  `json:"bytes"`
		}
		if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s:%d %d %d", h.Input, h.Line, h.Status, h.Bytes))
	}
	slices.Sort(out)
	return out
}

// lakeHits reads a lake with DuckDB: every row as jsonHits gives hits.
func lakeHits(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, r := range duckdbtest.Query(t, "SELECT source, line, status, bytes FROM "+duckdbtest.Glob(dir)) {
		out = append(out, fmt.Sprintf("%s:%s %v %s", r["source"], r["line"], r["status"], r["bytes"]))
	}
	slices.Sort(out)
	return out
}

// dataFiles lists a lake's data files with their modification times.
func dataFiles(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(p, ".parquet") && !strings.HasPrefix(info.Name(), ".") {
			rel, _ := filepath.Rel(dir, p)
			out[rel] = info.ModTime()
		}
		return nil
	})
	return out
}

func diffHits(t *testing.T, what string, want, got []string) {
	t.Helper()
	if slices.Equal(want, got) {
		return
	}
	missing, extra := compare(want, got)
	t.Fatalf("%s: %d rows for %d hits: %d missing (first %q), %d extra", what, len(got), len(want), len(missing), first(missing), extra)
}

// TestLake: lake --out writes every hit once, with its status and bytes,
// into the hour partitions of its time; a rerun writes nothing; a late
// input adds only its own files; DuckDB reads it all.
func TestLake(t *testing.T) {
	dir := t.TempDir()
	a := genLog(t, dir, 3000, 31, clock.Add(-3*time.Hour))
	b := genLog(t, dir, 3000, 32, clock.Add(-2*time.Hour))
	late := genLog(t, dir, 2000, 33, clock.Add(-30*time.Hour))
	out := filepath.Join(dir, "lake")

	r := run(t, nil, "lake", "--out", out, a, b)
	if r.code != 0 || !strings.Contains(r.stderr, "6000 rows in") {
		t.Fatalf("lake exited %d:\n%s", r.code, r.stderr)
	}
	diffHits(t, "first run", jsonHits(t, a, b), lakeHits(t, out))
	// Partitions: each row is in the hour of its time, UTC.
	bad := duckdbtest.Query(t, "SET TimeZone='UTC'", "SELECT count(*) AS n FROM "+duckdbtest.Glob(out)+
		" WHERE CAST(ts AS DATE) <> dt OR hour(ts) <> hour")
	if fmt.Sprint(bad[0]["n"]) != "0" {
		t.Errorf("%v rows outside their partition", bad[0]["n"])
	}
	files := dataFiles(t, out)
	if len(files) < 20 {
		t.Errorf("%d files for 2 logs of about a day each: not one per hour", len(files))
	}

	// A rerun writes nothing.
	r = run(t, nil, "lake", "--out", out, a, b)
	if r.code != 0 || !strings.Contains(r.stderr, "(2 in the lake already)") || !strings.Contains(r.stderr, "0 rows in 0 files") {
		t.Fatalf("rerun exited %d:\n%s", r.code, r.stderr)
	}
	if again := dataFiles(t, out); fmt.Sprint(again) != fmt.Sprint(files) {
		t.Errorf("the rerun changed the files")
	}

	// A late input adds its own files, the others are left as they are.
	r = run(t, nil, "lake", "--out", out, a, b, late)
	if r.code != 0 || !strings.Contains(r.stderr, "2000 rows in") {
		t.Fatalf("late run exited %d:\n%s", r.code, r.stderr)
	}
	diffHits(t, "after the late input", jsonHits(t, a, b, late), lakeHits(t, out))
	after := dataFiles(t, out)
	for name, mod := range files {
		if !after[name].Equal(mod) {
			t.Errorf("%s was written again for the late input", name)
		}
	}
	// Page views per day, as docs/lake.md asks it.
	days := duckdbtest.Query(t, "SELECT dt, count(*) AS views FROM "+duckdbtest.Glob(out)+
		" WHERE kind = 'page' AND agent = 'person' AND status < 400 GROUP BY dt ORDER BY dt")
	if len(days) < 2 {
		t.Errorf("page views per day: %v", days)
	}
}

// TestLakeKillAndResume: a lake run killed (SIGKILL) while it writes, then
// run again, has each hit once.
func TestLakeKillAndResume(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.Mkdir(logs, 0o755)
	for i := range 30 {
		genLog(t, logs, 2000, int64(100+i), clock.Add(time.Duration(-60+i)*time.Hour))
	}
	out := filepath.Join(dir, "lake")
	cmd := exec.Command(binPath, "lake", "--out", out, logs)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ents, _ := os.ReadDir(filepath.Join(out, "_trackless", "inputs")); len(ents) >= 8 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	ents, _ := os.ReadDir(filepath.Join(out, "_trackless", "inputs"))
	if len(ents) == 0 || len(ents) >= 30 {
		t.Fatalf("the kill came too early or too late: %d inputs recorded", len(ents))
	}
	r := run(t, nil, "lake", "--out", out, logs)
	if r.code != 0 {
		t.Fatalf("second run exited %d:\n%s", r.code, r.stderr)
	}
	t.Logf("killed with %d of 30 inputs recorded; %s", len(ents), strings.TrimSpace(r.stderr))
	diffHits(t, "after the kill", jsonHits(t, logs), lakeHits(t, out))
}

// cloudFrontLine is a CloudFront standard log line (33 fields) for path
// and query.
func cloudFrontLine(path, query string) string {
	f := strings.Split("2026-11-01\t10:00:00\tFRA60-P1\t16668\t192.0.2.158\tGET\td111111abcdef8.cloudfront.net\t/\t200\t-\tMozilla/5.0%20(X11;%20Linux%20x86_64)%20Firefox/140.0\t-\t-\tHit\tAbC123==\twww.example.com\thttps\t93\t0.001\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/2.0\t-\t-\t443\t0.001\tHit\timage/gif\t43\t-\t-", "\t")
	f[7], f[11] = path, query
	return strings.Join(f, "\t")
}

// TestLakeParams: the query's parameters are data, for the lake and for
// JSON lines: a CloudFront standard log's pixel request, and CloudFront
// real-time records of 4 fields (timestamp, c-ip, cs-user-agent,
// cs-uri-query), the tracking pixel of AWS's post.
func TestLakeParams(t *testing.T) {
	dir := t.TempDir()
	std := filepath.Join(dir, "E1.2026-11-01-10.abcd")
	os.WriteFile(std, []byte("#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n"+
		cloudFrontLine("/", "page=blog&ref=google.com")+"\n"+cloudFrontLine("/pixel.gif", "e=signup&plan=pro%2520plus")+"\n"), 0o644)
	rt := filepath.Join(dir, "pixel-records.log")
	os.WriteFile(rt, []byte("1762000000.123\t198.51.100.7\tMozilla/5.0%20(iPhone)\tpage=home&ref=news.example\n"+
		"1762000060.456\t198.51.100.8\tcurl/8.5.0\tpage=pricing&utm_source=mail\n"), 0o644)

	r := run(t, nil, "parse", "--output", "jsonl", std)
	if !strings.Contains(r.stdout, `"params":{"page":"blog","ref":"google.com"}`) || !strings.Contains(r.stdout, `"params":{"e":"signup","plan":"pro plus"}`) {
		t.Errorf("parse --output jsonl: no params:\n%s%s", r.stdout, r.stderr)
	}
	out := filepath.Join(dir, "lake")
	if r = run(t, nil, "lake", "--out", out, std); r.code != 0 {
		t.Fatalf("lake exited %d:\n%s", r.code, r.stderr)
	}
	rtOut := filepath.Join(dir, "rt-lake")
	if r = run(t, nil, "lake", "--out", rtOut, "--format", "cloudfront-realtime", "--realtime-fields", "timestamp,c-ip,cs-user-agent,cs-uri-query", "--default-host", "www.example.com", rt); r.code != 0 {
		t.Fatalf("lake (real-time records) exited %d:\n%s", r.code, r.stderr)
	}
	rows := duckdbtest.Query(t, "SELECT path, params['page'] AS page, params['ref'] AS ref, params['plan'] AS plan FROM "+duckdbtest.Glob(out)+" ORDER BY line")
	if len(rows) != 2 || rows[0]["page"] != "blog" || rows[0]["ref"] != "google.com" || rows[1]["plan"] != "pro plus" {
		t.Errorf("standard log's params: %v", rows)
	}
	rows = duckdbtest.Query(t, "SELECT params['page'] AS page, params['utm_source'] AS src, client_ip, agent, host, status FROM "+duckdbtest.Glob(rtOut)+" ORDER BY line")
	if len(rows) != 2 || rows[0]["page"] != "home" || rows[1]["page"] != "pricing" || rows[1]["src"] != "mail" ||
		rows[0]["client_ip"] != "198.51.100.7" || rows[1]["agent"] != "http_library" || rows[0]["host"] != "www.example.com" || rows[0]["status"] != nil {
		t.Errorf("real-time records' rows: %v", rows)
	}
}

// TestLakeOnS3: the lake on S3 (versitygw or the in-process server), from
// objects on S3, exactly once; the objects read are those DuckDB reads.
func TestLakeOnS3(t *testing.T) {
	s3srv := s3test.Start(t)
	bucket := s3srv.Bucket(t)
	dir := t.TempDir()
	a := genLog(t, dir, 2000, 41, clock.Add(-3*time.Hour))
	b := genLog(t, dir, 2000, 42, clock.Add(-2*time.Hour))
	upload(t, s3srv, bucket, "cf/", a, b)
	env := s3srv.Env()
	r := run(t, env, "lake", "--out", "s3://"+bucket+"/lake/hits/", "s3://"+bucket+"/cf/")
	if r.code != 0 {
		t.Fatalf("lake exited %d:\n%s", r.code, r.stderr)
	}
	r = run(t, env, "lake", "--out", "s3://"+bucket+"/lake/hits/", "s3://"+bucket+"/cf/")
	if r.code != 0 || !strings.Contains(r.stderr, "(2 in the lake already)") {
		t.Fatalf("rerun exited %d:\n%s", r.code, r.stderr)
	}
	local := filepath.Join(dir, "copy")
	var n int
	for _, k := range s3srv.Keys(t, bucket, "lake/hits/") {
		if !strings.HasSuffix(k, ".parquet") {
			if !strings.HasPrefix(k, "lake/hits/_trackless/inputs/") {
				t.Errorf("unexpected object %s", k)
			}
			continue
		}
		p := filepath.Join(local, strings.TrimPrefix(k, "lake/hits/"))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, s3srv.Get(t, bucket, k), 0o644)
		n++
	}
	if n == 0 {
		t.Fatal("no Parquet object")
	}
	// The objects' source names are the inputs as read: s3://bucket/cf/...
	want := jsonHits(t, a, b)
	for i, h := range want {
		want[i] = "s3://" + bucket + "/cf/" + strings.TrimPrefix(h, dir+"/")
	}
	slices.Sort(want)
	diffHits(t, "lake on S3", want, lakeHits(t, local))
}

// TestSendWithLake: send --lake writes the lake in the same pass as it
// sends to Matomo; each keeps its own progress.
func TestSendWithLake(t *testing.T) {
	dir := t.TempDir()
	a := genLog(t, dir, 3000, 51, clock.Add(-3*time.Hour))
	srv := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{token}})
	defer srv.Close()
	out := filepath.Join(dir, "lake")
	env := sendEnv(srv, filepath.Join(dir, "state"), "TRACKLESS_LAKE="+out)
	want := parseItems(t, "--site-id", "1", a)
	r := run(t, env, "send", a)
	if r.code != 0 || !strings.Contains(r.stderr, "lake "+out+": 3000 rows") {
		t.Fatalf("send --lake exited %d:\n%s", r.code, r.stderr)
	}
	if missing, extra := compare(want, srv.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Fatalf("%d hits missing, %d extra", len(missing), extra)
	}
	diffHits(t, "send --lake", jsonHits(t, a), lakeHits(t, out))
	// The lake lost: written again from the log alone, Matomo gets nothing.
	os.RemoveAll(out)
	r = run(t, env, "send", a)
	if r.code != 0 || len(srv.StoredRaw()) != len(want) {
		t.Fatalf("send after the lake was removed: exit %d, %d stored:\n%s", r.code, len(srv.StoredRaw()), r.stderr)
	}
	diffHits(t, "the lake rebuilt", jsonHits(t, a), lakeHits(t, out))
	noToken(t, dir, r.stdout, r.stderr)
}

// lakeCount is the number of rows DuckDB reads in a lake (0 when it has
// no file yet).
func lakeCount(t *testing.T, dir string) int {
	t.Helper()
	if len(dataFiles(t, dir)) == 0 {
		return 0
	}
	rows := duckdbtest.Query(t, "SELECT count(*) AS n FROM "+duckdbtest.Glob(dir))
	var n int
	fmt.Sscan(fmt.Sprint(rows[0]["n"]), &n)
	return n
}

// waitRows waits until a lake has n rows.
func waitRows(t *testing.T, dir string, n int, errb fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a bound on a hang
	for lakeCount(t, dir) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the lake never had %d rows (%d):\n%s", n, lakeCount(t, dir), errb)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// combinedLines appends n lines of the combined format to path, numbered
// from first, a second apart from the tests' clock.
func combinedLines(t *testing.T, path string, first, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := first; i < first+n; i++ {
		ts := clock.Add(-time.Hour + time.Duration(i)*time.Second).UTC().Format("02/Jan/2006:15:04:05 -0700")
		fmt.Fprintf(f, "192.0.2.%d - - [%s] \"GET /f/%d?n=%d HTTP/1.1\" 200 %d \"-\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0\"\n", i%200+1, ts, i, i, 1000+i)
	}
}

// TestLakeFollow: lake --follow writes what is appended to a live log,
// through a rotation, publishing every --flush-interval and on SIGTERM;
// each line once.
func TestLakeFollow(t *testing.T) {
	dir := t.TempDir()
	logf := filepath.Join(dir, "access.log")
	out := filepath.Join(dir, "lake")
	combinedLines(t, logf, 0, 100)
	cmd, errb := startTrackless(t, nil, "lake", "--follow", "--poll", "100ms", "--flush-interval", "300ms", "--out", out, logf)
	waitRows(t, out, 100, errb)
	combinedLines(t, logf, 100, 100)
	waitRows(t, out, 200, errb)
	// A rotation: the file is renamed, lines are still written to it, and
	// a new one is started.
	if err := os.Rename(logf, logf+".1"); err != nil {
		t.Fatal(err)
	}
	combinedLines(t, logf+".1", 200, 20)
	combinedLines(t, logf, 220, 30)
	waitRows(t, out, 250, errb)
	combinedLines(t, logf, 250, 5)
	time.Sleep(300 * time.Millisecond) // read, not yet published: SIGTERM publishes
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("lake --follow: %v\n%s", err, errb)
	}
	if !strings.Contains(errb.String(), "trackless lake --follow: stopped after") {
		t.Errorf("no summary on exit:\n%s", errb)
	}
	rows := duckdbtest.Query(t, "SELECT count(*) AS n, count(DISTINCT path) AS paths, min(params['n']::INT) AS lo, max(params['n']::INT) AS hi FROM "+duckdbtest.Glob(out))
	if fmt.Sprint(rows[0]) != "map[hi:254 lo:0 n:255 paths:255]" {
		t.Errorf("after SIGTERM: %v, want the 255 lines once each", rows[0])
	}
}

// TestLakeFollowKinesis: lake --follow on a stream of two shards; a run
// after it reads on where it stopped.
func TestLakeFollowKinesis(t *testing.T) {
	kin := kinesistest.New(t)
	st := newRealtimeStream(t, kin, 2)
	out := filepath.Join(t.TempDir(), "lake")
	cmd, errb := startTrackless(t, kin.Env(), "lake", "--follow", "--poll", "200ms", "--flush-interval", "500ms", "--out", out, st.url())
	st.put(20)
	waitRows(t, out, 20, errb)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("lake --follow: %v\n%s", err, errb)
	}
	st.put(10)
	r := run(t, kin.Env(), "lake", "--out", out, st.url())
	if r.code != 0 {
		t.Fatalf("lake after --follow exited %d:\n%s", r.code, r.stderr)
	}
	rows := duckdbtest.Query(t, "SELECT count(*) AS n, count(DISTINCT path) AS paths FROM "+duckdbtest.Glob(out))
	if fmt.Sprint(rows[0]) != "map[n:30 paths:30]" {
		t.Errorf("rows %v, want the 30 records once each", rows[0])
	}
}

// downloadLake copies the Parquet objects of a lake on S3 into a local
// directory, for DuckDB.
func downloadLake(t *testing.T, s *s3test.Server, bucket, prefix string) string {
	t.Helper()
	local := t.TempDir()
	for _, k := range s.Keys(t, bucket, prefix) {
		if strings.HasSuffix(k, ".parquet") {
			p := filepath.Join(local, strings.TrimPrefix(k, prefix))
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, s.Get(t, bucket, k), 0o644)
		}
	}
	return local
}

// TestLambdaLake: TRACKLESS_LAKE in the Lambda: two objects' events at
// the same time on two function instances, and one of them again; the
// lake on S3 has each hit of both once, beside Matomo's hits.
func TestLambdaLake(t *testing.T) {
	s := newLambdaSetup(t, nil)
	s.env = append(s.env, "TRACKLESS_LAKE=s3://"+s.bucket+"/lake/")
	keys := []string{"cf/E2E2ETEST.l1.gz", "cf/E2E2ETEST.l2.gz"}
	var want []string
	for i, k := range keys {
		want = append(want, s.object(t, k, 2000, int64(81+i), 3-i)...)
	}
	startBootstrap(t, s.rt, s.env)
	startBootstrap(t, s.rt, s.env)
	w1, w2 := s.rt.invoke(s3EventJSON(s.bucket, keys[0]), time.Minute), s.rt.invoke(s3EventJSON(s.bucket, keys[1]), time.Minute)
	for _, r := range []invResult{w1(), w2()} {
		if !r.ok {
			t.Fatalf("invocation failed: %s", r.body)
		}
	}
	checkStored(t, s.mat, want)
	before := s.s3.Keys(t, s.bucket, "lake/")
	if r := s.rt.invoke(s3EventJSON(s.bucket, keys[0]), time.Minute)(); !r.ok {
		t.Fatalf("the same event again: %s", r.body)
	}
	if after := s.s3.Keys(t, s.bucket, "lake/"); !slices.Equal(before, after) {
		t.Errorf("the same event again changed the lake: %d objects, then %d", len(before), len(after))
	}
	files, _ := filepath.Glob(filepath.Join(s.dir, "E2E2ETEST.*.gz"))
	wantRows := jsonHits(t, files...)
	dup := duckdbtest.Query(t, "SELECT count(*) AS n, count(DISTINCT (source, line)) AS d, count(DISTINCT source) AS s FROM "+duckdbtest.Glob(downloadLake(t, s.s3, s.bucket, "lake/")))
	if fmt.Sprint(dup[0]) != fmt.Sprintf("map[d:%d n:%d s:2]", len(wantRows), len(wantRows)) {
		t.Errorf("rows %v, want %d rows of 2 objects, each once", dup[0], len(wantRows))
	}
}

// TestLambdaKinesisLake: TRACKLESS_LAKE on a Kinesis event source. Each
// record is in the lake once, through repeated and overlapping events, an
// invocation stopped at its deadline (the answer names the first record
// the ledger or the lake lacks: here the lake's, which publishes a shard's
// rows only when its event is read to its end), and records the event
// source mapping gave up on (bisected: it gives up on the first half of a
// failed batch and gives the second half again; the lake, which read the
// whole batch, has them already).
func TestLambdaKinesisLake(t *testing.T) {
	var faults kinesisFaults
	s := newKinesisLambda(t, &faults)
	s.env = append(s.env, "TRACKLESS_LAKE=s3://"+s.bucket+"/lake/")
	const arn = "arn:aws:kinesis:us-east-1:123456789012:stream/pixel"
	var recs []string
	for i := range 600 {
		recs = append(recs, realtimeRecord(clock.Add(-3*time.Hour+time.Duration(i)*time.Second), fmt.Sprintf("198.51.100.%d", i%9+1), fmt.Sprintf("/lake/page-%d", i)))
	}
	_, lambdaLog := startBootstrap(t, s.rt, s.env)
	defer func() {
		if t.Failed() {
			t.Logf("the function logged:\n%s", lambdaLog)
		}
	}()
	for _, ev := range [][2]int{{0, 40}, {0, 40}, {30, 60}} {
		if f := kinesisFailures(t, s.rt.invoke(kinesisEvent(arn, recs, ev[0], ev[1]), time.Minute)()); len(f) > 0 {
			t.Fatalf("event %v: failures %v", ev, f)
		}
	}
	// Matomo fails after 70 batches of 5, until the deadline: the lake
	// has the event (read to its end), Matomo's ledger its checkpoint at
	// record 316 (60 + 256): the retry starts there.
	faults.from.Store(int64(s.mat.Stats().BulkRequests + 1 + 70))
	faults.failing.Store(true)
	f := kinesisFailures(t, s.rt.invoke(kinesisEvent(arn, recs, 60, 600), 5*time.Second)())
	if len(f) != 1 || f[0] != kinesisSeq(316) {
		t.Fatalf("stopped at the deadline: failures %v, want record 316", f)
	}
	faults.failing.Store(false)
	if f := kinesisFailures(t, s.rt.invoke(kinesisEvent(arn, recs, 316, 600), time.Minute)()); len(f) > 0 {
		t.Fatalf("the retry: failures %v", f)
	}
	all := filepath.Join(t.TempDir(), "records.log")
	os.WriteFile(all, []byte(strings.Join(recs, "")), 0o644)
	checkStored(t, s.mat, parseItemsEnv(t, s.env, "--mode", "visits", all))

	// A second shard: its first event stops at the deadline (Matomo
	// failing; its 200 records were read, and are in the lake), the mapping
	// gives up on records 0-99 and gives 100-199 again.
	const arn2 = "arn:aws:kinesis:us-east-1:123456789012:stream/pixel-2"
	var recs2 []string
	for i := range 200 {
		recs2 = append(recs2, realtimeRecord(clock.Add(-90*time.Minute+time.Duration(i)*time.Second), fmt.Sprintf("203.0.113.%d", i%9+1), fmt.Sprintf("/lake2/page-%d", i)))
	}
	faults.from.Store(int64(s.mat.Stats().BulkRequests + 1 + 8))
	faults.failing.Store(true)
	if f = kinesisFailures(t, s.rt.invoke(kinesisEvent(arn2, recs2, 0, 200), 5*time.Second)()); len(f) != 1 || f[0] != kinesisSeq(0) {
		t.Fatalf("the second shard's first event: failures %v", f)
	}
	faults.failing.Store(false)
	if f := kinesisFailures(t, s.rt.invoke(kinesisEvent(arn2, recs2, 100, 200), time.Minute)()); len(f) > 0 {
		t.Fatalf("the event after the records given up on: failures %v", f)
	}
	rows := duckdbtest.Query(t, `SELECT count(*) AS n, count(DISTINCT path) AS paths,
		count(*) FILTER (WHERE path LIKE '/lake2/%') AS second,
		min(CASE WHEN path LIKE '/lake2/%' THEN CAST(split_part(path, '-', 2) AS INT) END) AS first2
		FROM `+duckdbtest.Glob(downloadLake(t, s.s3, s.bucket, "lake/")))
	if got := fmt.Sprint(rows[0]); got != "map[first2:0 n:800 paths:800 second:200]" {
		t.Errorf("the lake: %s, want the 600 records of the first shard and the 200 of the second, each once", got)
	}

	// The lake cannot be written (its bucket is gone), Matomo can: the
	// answer names the event's first record, which the lake lacks.
	s2 := newLambdaSetupWith(t, matomotest.Config{SuperUserTokens: []string{token}, SiteURLs: map[int][]string{1: {"https://www.example.org"}}},
		"TRACKLESS_MODE=visits", "TRACKLESS_FORMAT=cloudfront-realtime")
	s2.env = append(s2.env, "TRACKLESS_LAKE=s3://no-such-bucket-trackless/lake/")
	startBootstrap(t, s2.rt, s2.env)
	r := s2.rt.invoke(kinesisEvent(arn, recs, 0, 40), time.Minute)()
	if !strings.Contains(r.body, kinesisSeq(0)) || len(s2.mat.StoredRaw()) == 0 {
		t.Errorf("the lake failing: answer %s, %d hits stored; want record 0 named, the hits sent", r.body, len(s2.mat.StoredRaw()))
	}
}

// TestLakeCompact: lake compact merges each hour's files into one, the
// rows unchanged; again, it merges nothing; a rerun of lake writes
// nothing; the same on S3.
func TestLakeCompact(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.Mkdir(logs, 0o755)
	for i := range 8 {
		genLog(t, logs, 300, int64(200+i), clock.Add(-5*time.Hour)) // about a day each, the same hours
	}
	out := filepath.Join(dir, "lake")
	if r := run(t, nil, "lake", "--out", out, logs); r.code != 0 {
		t.Fatalf("lake exited %d:\n%s", r.code, r.stderr)
	}
	before := lakeHits(t, out)
	nBefore := len(dataFiles(t, out))
	since := clock.Add(-72 * time.Hour).Format(time.RFC3339)
	r := run(t, nil, "lake", "compact", "--out", out, "--since", since, "--min-age", "0s")
	if r.code != 0 || !strings.Contains(r.stderr, "hours merged") {
		t.Fatalf("compact exited %d:\n%s", r.code, r.stderr)
	}
	diffHits(t, "after compact", before, lakeHits(t, out))
	hours := duckdbtest.Query(t, "SELECT count(DISTINCT (dt, hour)) AS hours, count(DISTINCT filename) AS files FROM read_parquet('"+out+"/**/*.parquet', hive_partitioning=true, filename=true)")
	if fmt.Sprint(hours[0]["hours"]) != fmt.Sprint(hours[0]["files"]) {
		t.Errorf("%v: not one file per hour (there were %d files)", hours[0], nBefore)
	}
	t.Logf("%d files before, %v after: %s", nBefore, hours[0]["files"], strings.TrimSpace(r.stderr))
	if r := run(t, nil, "lake", "compact", "--out", out, "--since", since, "--min-age", "0s"); r.code != 0 || !strings.Contains(r.stderr, ": 0 hours merged") {
		t.Errorf("compact again exited %d:\n%s", r.code, r.stderr)
	}
	if r := run(t, nil, "lake", "--out", out, logs); r.code != 0 || !strings.Contains(r.stderr, "0 rows in 0 files") {
		t.Errorf("lake after compact exited %d:\n%s", r.code, r.stderr)
	}
	diffHits(t, "lake after compact", before, lakeHits(t, out))
	// A follower writing the lake does not keep compact out of it; a
	// path with no lake is said.
	live := filepath.Join(dir, "live.log")
	combinedLines(t, live, 0, 10)
	cmd, errb := startTrackless(t, nil, "lake", "--follow", "--log-level", "debug", "--out", out, live)
	defer cmd.Process.Signal(syscall.SIGTERM)
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(errb.String(), `msg="round read"`); { // it holds the lake
		if time.Now().After(deadline) { // a bound on a hang
			t.Fatalf("lake --follow never read:\n%s", errb)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := run(t, nil, "lake", "compact", "--out", out, "--since", since); r.code != 0 {
		t.Errorf("compact beside lake --follow exited %d:\n%s", r.code, r.stderr)
	}
	if r := run(t, nil, "lake", "compact", "--out", filepath.Join(dir, "no-lake")); r.code != 3 || !strings.Contains(r.stderr, "no lake at") {
		t.Errorf("compact of no lake exited %d:\n%s", r.code, r.stderr)
	}

	// On S3.
	s3srv := s3test.Start(t)
	bucket := s3srv.Bucket(t)
	files, _ := filepath.Glob(filepath.Join(logs, "*.gz"))
	upload(t, s3srv, bucket, "cf/", files[:4]...)
	lakeURL := "s3://" + bucket + "/lake/"
	if r := run(t, s3srv.Env(), "lake", "--out", lakeURL, "s3://"+bucket+"/cf/"); r.code != 0 {
		t.Fatalf("lake on S3 exited %d:\n%s", r.code, r.stderr)
	}
	s3Before := lakeHits(t, downloadLake(t, s3srv, bucket, "lake/"))
	if r := run(t, s3srv.Env(), "lake", "compact", "--out", lakeURL, "--since", since, "--min-age", "0s"); r.code != 0 {
		t.Fatalf("compact on S3 exited %d:\n%s", r.code, r.stderr)
	}
	diffHits(t, "compact on S3", s3Before, lakeHits(t, downloadLake(t, s3srv, bucket, "lake/")))
	if k := s3srv.Keys(t, bucket, "lake/_trackless/compactions/"); len(k) != 0 {
		t.Errorf("compaction records left: %v", k)
	}
}

// cloudFrontParquetColumns are the columns of CloudFront's Parquet output
// (standard logging v2), in the order of the legacy fields: snake_case, all
// strings, as AWS's Athena table for them has them.
var cloudFrontParquetColumns = strings.Fields(`date time x_edge_location sc_bytes c_ip cs_method cs_host cs_uri_stem sc_status
	cs_referer cs_user_agent cs_uri_query cs_cookie x_edge_result_type x_edge_request_id x_host_header cs_protocol cs_bytes
	time_taken x_forwarded_for ssl_protocol ssl_cipher x_edge_response_result_type cs_protocol_version fle_status
	fle_encrypted_fields c_port time_to_first_byte x_edge_detailed_result_type sc_content_type sc_content_len
	sc_range_start sc_range_end`)

// TestCloudFrontParquet: a CloudFront log delivered as Parquet (written by
// DuckDB in the schema of AWS's Athena table: no real sample exists here)
// is read by parse, report and lake as the same log in text.
func TestCloudFrontParquet(t *testing.T) {
	dir := t.TempDir()
	sample, err := filepath.Abs("../../testdata/cloudfront/E2EXAMPLE.2026-10-29.sample.gz")
	if err != nil {
		t.Fatal(err)
	}
	pq := filepath.Join(dir, "E2EXAMPLE.2026-10-29.parquet")
	names := "'" + strings.Join(cloudFrontParquetColumns, "','") + "'"
	duckdbtest.Query(t, fmt.Sprintf(`COPY (SELECT * REPLACE (NULLIF(cs_cookie, '-') AS cs_cookie) FROM read_csv('%s', delim='\t', skip=2, header=false, all_varchar=true, names=[%s]))
		TO '%s' (FORMAT parquet)`, sample, names, pq), "SELECT 1")
	// The hits, by what they are: the line numbers differ (the text has
	// two header lines).
	hits := func(path string) []string {
		r := run(t, nil, "parse", "--output", "jsonl", path)
		if r.code != 0 {
			t.Fatalf("parse %s exited %d:\n%s", path, r.code, r.stderr)
		}
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var h map[string]any
			json.Unmarshal([]byte(l), &h)
			delete(h, "input")
			delete(h, "line")
			b, _ := json.Marshal(h)
			out = append(out, string(b))
		}
		return out
	}
	want, got := hits(sample), hits(pq)
	if len(want) < 1000 || !slices.Equal(want, got) {
		t.Fatalf("parse of the Parquet log: %d hits, the text log's %d; first of each:\n%s\n%s", len(got), len(want), first(got), first(want))
	}
	rep := func(path string) string {
		r := run(t, nil, "report", "--json", "-", path)
		if r.code != 0 {
			t.Fatalf("report %s exited %d:\n%s", path, r.code, r.stderr)
		}
		var m map[string]any
		json.Unmarshal([]byte(r.stdout), &m)
		delete(m, "inputs")
		delete(m, "generated")
		delete(m["overview"].(map[string]any), "lines") // the text has 2 header lines
		b, _ := json.Marshal(m)
		return string(b)
	}
	if a, b := rep(sample), rep(pq); a != b {
		t.Errorf("report of the Parquet log differs from the text log's")
	}
	out := filepath.Join(dir, "lake")
	if r := run(t, nil, "lake", "--out", out, pq); r.code != 0 || !strings.Contains(r.stderr, fmt.Sprintf("%d rows", len(want))) {
		t.Fatalf("lake of the Parquet log exited %d:\n%s", r.code, r.stderr)
	}
}

// TestAthenaViews: deploy/athena's views run (with DuckDB, over a lake of
// the sample logs) and give the report's figures; hits.sql's columns are
// the lake's, with Athena's names for their types.
func TestAthenaViews(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "lake")
	samples, err := filepath.Abs("../../testdata/cloudfront")
	if err != nil {
		t.Fatal(err)
	}
	if r := run(t, nil, "lake", "--out", out, samples); r.code != 0 {
		t.Fatalf("lake exited %d:\n%s", r.code, r.stderr)
	}
	views, err := os.ReadFile("../../deploy/athena/views.sql")
	if err != nil {
		t.Fatal(err)
	}
	table := "CREATE VIEW trackless_hits AS SELECT * FROM read_parquet('" + out + "/**/*.parquet', hive_partitioning=true, hive_types={'dt': VARCHAR, 'hour': INTEGER})"
	got := duckdbtest.Query(t, table, string(views), `SELECT
		(SELECT sum(page_views) FROM trackless_days) AS pages,
		(SELECT sum(views) FROM trackless_pages) AS views,
		(SELECT sum(requests) + sum(bot_requests) FROM trackless_days) AS requests,
		(SELECT sum(bot_requests) FROM trackless_days) AS bots,
		(SELECT sum(requests) FROM trackless_ai_assistants) AS ai,
		(SELECT count(*) FROM trackless_bots WHERE category = 'ai_crawler') AS crawlers,
		(SELECT count(*) FROM trackless_days) AS days`)[0]
	r := run(t, nil, "report", "--json", "-", samples)
	var rep struct {
		Overview struct {
			Requests            int `json:"requests"`
			Pages               int `json:"pages"`
			BotRequests         int `json:"bot_requests"`
			AIAssistantRequests int `json:"ai_assistant_requests"`
		} `json:"overview"`
		Period struct{ Days int } `json:"period"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	o := rep.Overview
	want := fmt.Sprint(map[string]string{
		"pages": fmt.Sprint(o.Pages), "views": fmt.Sprint(o.Pages), "requests": fmt.Sprint(o.Requests),
		"bots": fmt.Sprint(o.BotRequests), "ai": fmt.Sprint(o.AIAssistantRequests), "days": fmt.Sprint(rep.Period.Days),
	})
	delete(got, "crawlers")
	if fmt.Sprint(got) != want {
		t.Errorf("the views give %v, the report %v", got, want)
	}

	// hits.sql names the lake's columns, in order, with Athena's types.
	ddl, err := os.ReadFile("../../deploy/athena/hits.sql")
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, l := range strings.Split(string(ddl), "\n") {
		if f := strings.Fields(strings.TrimSpace(l)); len(f) == 2 && strings.HasPrefix(f[0], "`") {
			cols = append(cols, strings.Trim(f[0], "`")+" "+strings.TrimSuffix(f[1], ","))
		}
	}
	athena := map[string]string{"TIMESTAMP WITH TIME ZONE": "timestamp", "VARCHAR": "string", "INTEGER": "int", "BIGINT": "bigint",
		"DOUBLE": "double", "MAP(VARCHAR, VARCHAR)": "map<string,string>"}
	var lake []string
	for _, c := range duckdbtest.Query(t, "DESCRIBE SELECT * FROM read_parquet('"+out+"/**/*.parquet', hive_partitioning=true, hive_types={'dt': VARCHAR, 'hour': INTEGER})") {
		name, ty := c["column_name"].(string), c["column_type"].(string)
		if name == "dt" {
			ty = "string" // a partition: its value is in the path
		} else {
			ty = athena[ty]
		}
		lake = append(lake, name+" "+ty)
	}
	// The partitions come last in both: PARTITIONED BY (dt string, hour int).
	cols = append(cols, "dt string", "hour int")
	if !slices.Equal(cols, lake) {
		t.Errorf("hits.sql's columns:\n%v\nthe lake's:\n%v", cols, lake)
	}
}

// TestLakePrivacy: --anonymize-ip masks every address in the lake, and
// TRACKLESS_IP_HASH_KEY replaces each by its keyed hash; the key appears
// nowhere (output, logs at debug level, the lake's files).
func TestLakePrivacy(t *testing.T) {
	dir := t.TempDir()
	a := genLog(t, dir, 2000, 61, clock.Add(-3*time.Hour))
	masked, hashed := filepath.Join(dir, "masked"), filepath.Join(dir, "hashed")
	if r := run(t, nil, "lake", "--out", masked, "--anonymize-ip", "2", a); r.code != 0 {
		t.Fatalf("lake --anonymize-ip exited %d:\n%s", r.code, r.stderr)
	}
	const key = "k3y-that-must-not-leak-0123456789"
	r := run(t, []string{"TRACKLESS_IP_HASH_KEY=" + key}, "lake", "--out", hashed, "--log-level", "debug", a)
	if r.code != 0 {
		t.Fatalf("lake with TRACKLESS_IP_HASH_KEY exited %d:\n%s", r.code, r.stderr)
	}
	rows := duckdbtest.Query(t, `SELECT count(*) FILTER (WHERE client_ip LIKE '%.0.0' OR client_ip LIKE '%::' OR client_ip LIKE '%:0') AS ok, count(client_ip) AS n FROM `+duckdbtest.Glob(masked))
	if rows[0]["ok"] != rows[0]["n"] {
		t.Errorf("masked: %v of %v addresses end in zeros", rows[0]["ok"], rows[0]["n"])
	}
	rows = duckdbtest.Query(t, `SELECT count(*) FILTER (WHERE regexp_full_match(client_ip, '[0-9a-f]{32}')) AS ok, count(client_ip) AS n,
		count(DISTINCT client_ip) AS d FROM `+duckdbtest.Glob(hashed))
	if rows[0]["ok"] != rows[0]["n"] || rows[0]["d"] == "1" {
		t.Errorf("hashed: %v", rows[0])
	}
	if strings.Contains(r.stdout+r.stderr, key) {
		t.Error("the key was printed")
	}
	filepath.Walk(hashed, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			if data, _ := os.ReadFile(p); strings.Contains(string(data), key) {
				t.Errorf("the key is in %s", p)
			}
		}
		return nil
	})
}

// TestLakeFollowS3: lake --follow to S3 stopped by SIGTERM publishes what
// it read (its writes outlive the reading by the signal's grace) and exits 0.
func TestLakeFollowS3(t *testing.T) {
	s3srv := s3test.Start(t)
	bucket := s3srv.Bucket(t)
	logf := filepath.Join(t.TempDir(), "access.log")
	combinedLines(t, logf, 0, 100)
	cmd, errb := startTrackless(t, s3srv.Env(), "lake", "--follow", "--poll", "100ms", "--flush-interval", "1h", "--log-level", "debug", "--out", "s3://"+bucket+"/lake/", logf)
	// Each round says what it read (--log-level debug); the rows are kept
	// (--flush-interval 1h) until SIGTERM.
	waitLog := func(s string) {
		deadline := time.Now().Add(30 * time.Second) // a bound on a hang
		for !strings.Contains(errb.String(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("never logged %q:\n%s", s, errb)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitLog(`msg="round read" inputs=1 lines=100`)
	combinedLines(t, logf, 100, 50)
	waitLog(`msg="round read" inputs=1 lines=50`)
	if strings.Contains(errb.String(), "rows_published=1") {
		t.Fatalf("published before the interval:\n%s", errb)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("lake --follow: %v\n%s", err, errb)
	}
	rows := duckdbtest.Query(t, "SELECT count(*) AS n, count(DISTINCT path) AS paths FROM "+duckdbtest.Glob(downloadLake(t, s3srv, bucket, "lake/")))
	if fmt.Sprint(rows[0]) != "map[n:150 paths:150]" {
		t.Errorf("after SIGTERM: %v, want the 150 lines once each in one flush", rows[0])
	}
	if n := len(s3srv.Keys(t, bucket, "lake/dt=")); n != 1 {
		t.Errorf("%d files, want 1: the rounds' rows in one file", n)
	}
}
