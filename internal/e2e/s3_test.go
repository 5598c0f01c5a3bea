package e2e_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/logformat"
	"github.com/trackless/trackless/internal/matomo/matomotest"
	"github.com/trackless/trackless/internal/s3test"
)

// upload puts local files under prefix, keeping their names.
func upload(t *testing.T, s *s3test.Server, bucket, prefix string, files ...string) {
	t.Helper()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s.Put(t, bucket, prefix+filepath.Base(f), data)
	}
}

// TestS3Prefix: send reads a prefix (streamed, merged by time), keeps its
// ledger on S3, sends nothing again on a rerun, sends a late file when it
// arrives, and moves delivered objects away with --after.
func TestS3Prefix(t *testing.T) {
	s3srv := s3test.Start(t)
	bucket := s3srv.Bucket(t)
	dir := t.TempDir()
	now := clock
	a := genLog(t, dir, 3000, 21, now.Add(-3*time.Hour))
	b := genLog(t, dir, 3000, 22, now.Add(-2*time.Hour))
	late := genLog(t, dir, 2000, 23, now.Add(-4*time.Hour))
	upload(t, s3srv, bucket, "cf/", a, b)
	srv := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{token}})
	defer srv.Close()
	env := append(sendEnv(srv, filepath.Join(dir, "state")), s3srv.Env()...)
	env = append(env, "TRACKLESS_LEDGER=s3://"+bucket+"/state/")

	// AI-assistant GETs, the default mode's hits, are under 2 % of the
	// lines: 110 for these seeds at these fixed times. (At the wall clock,
	// how many depended on the hour: loggen paces its random stream by the
	// time of day of Start, and three hours of the day gave 91-99.)
	want := parseItems(t, "--site-id", "1", a, b)
	if len(want) < 100 {
		t.Fatalf("only %d hits to send: the test tests little", len(want))
	}
	r := run(t, env, "send", "s3://"+bucket+"/cf/")
	if r.code != 0 {
		t.Fatalf("send exited %d:\n%s", r.code, r.stderr)
	}
	if missing, extra := compare(want, srv.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Fatalf("%d hits missing, %d extra", len(missing), extra)
	}
	if len(s3srv.Keys(t, bucket, "state/inputs/")) != 2 || len(s3srv.Keys(t, bucket, "state/claims/")) != 0 {
		t.Fatalf("ledger objects %q", s3srv.Keys(t, bucket, "state/"))
	}

	// Rerun: nothing new.
	r = run(t, env, "send", "s3://"+bucket+"/cf/")
	if r.code != 0 || len(srv.StoredRaw()) != len(want) || !strings.Contains(r.stderr, "2 already delivered") {
		t.Fatalf("rerun exited %d, stored %d (want %d):\n%s", r.code, len(srv.StoredRaw()), len(want), r.stderr)
	}

	// A file for an earlier hour arrives late: it is sent, the others are
	// not, and every delivered object is moved.
	upload(t, s3srv, bucket, "cf/", late)
	r = run(t, env, "send", "--after", "move=s3://"+bucket+"/done/", "s3://"+bucket+"/cf/")
	if r.code != 0 {
		t.Fatalf("late run exited %d:\n%s", r.code, r.stderr)
	}
	want = parseItems(t, "--site-id", "1", a, b, late)
	if missing, extra := compare(want, srv.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Fatalf("after the late file: %d hits missing, %d extra", len(missing), extra)
	}
	if k := s3srv.Keys(t, bucket, "cf/"); len(k) != 0 {
		t.Errorf("left in cf/: %q", k)
	}
	if k := s3srv.Keys(t, bucket, "done/"); len(k) != 3 {
		t.Errorf("moved: %q", k)
	}
	noToken(t, dir, r.stdout, r.stderr)
}

// TestS3Range: --since/--until read only the hours asked for, from the key
// names.
func TestS3Range(t *testing.T) {
	s3srv := s3test.Start(t)
	bucket := s3srv.Bucket(t)
	dir := t.TempDir()
	now := clock
	var files []string
	for h := 5; h >= 1; h-- {
		files = append(files, genLog(t, dir, 500, int64(30+h), now.Add(-time.Duration(h)*time.Hour)))
	}
	upload(t, s3srv, bucket, "logs/", files...)
	since, until := now.Add(-4*time.Hour).Format(time.RFC3339), now.Add(-2*time.Hour).Format(time.RFC3339)
	want := parseItems(t, "--site-id", "1", files[1], files[2]) // hours -4 and -3
	r := run(t, append(s3srv.Env(), "MATOMO_TOKEN_AUTH="+token), "parse", "--site-id", "1", "--log-level", "error", "--since", since, "--until", until, "s3://"+bucket+"/logs/")
	if r.code != 0 {
		t.Fatalf("parse exited %d: %s", r.code, r.stderr)
	}
	if got := strings.Count(r.stdout, `"requests"`); got == 0 {
		t.Fatal("nothing printed")
	}
	got := 0
	for _, w := range want {
		if strings.Contains(r.stdout, w) {
			got++
		}
	}
	if got != len(want) || strings.Count(r.stdout, "idsite=") != len(want) {
		t.Fatalf("printed %d requests, %d of the %d wanted", strings.Count(r.stdout, "idsite="), got, len(want))
	}
	// The same range over the files on disk.
	local := parseItems(t, "--site-id", "1", "--since", since, "--until", until, dir)
	if len(local) != len(want) {
		t.Fatalf("files: %d requests, want %d", len(local), len(want))
	}
}

// TestS3ConcurrentRuns: two runs over the same prefix at the same time,
// sharing an S3 ledger, send every hit once: each object is claimed by one.
func TestS3ConcurrentRuns(t *testing.T) {
	s3srv := s3test.Start(t)
	bucket := s3srv.Bucket(t)
	dir := t.TempDir()
	now := clock
	var files []string
	for i := 0; i < 6; i++ {
		files = append(files, genLog(t, dir, 1500, int64(40+i), now.Add(-time.Duration(6-i)*time.Hour)))
	}
	upload(t, s3srv, bucket, "cf/", files...)
	want := parseItems(t, append([]string{"--site-id", "1"}, files...)...)
	if len(want) < 100 {
		t.Fatalf("only %d hits to send", len(want))
	}
	srv := matomotest.NewServer(matomotest.Config{
		SuperUserTokens: []string{token},
		FaultFunc: func(n int) matomotest.Fault {
			return matomotest.Fault{Kind: matomotest.FaultSlow, Delay: 2 * time.Millisecond}
		},
	})
	defer srv.Close()
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			env := append(sendEnv(srv, filepath.Join(dir, "state", string(rune('a'+i)))), s3srv.Env()...)
			env = append(env, "TRACKLESS_LEDGER=s3://"+bucket+"/ledger/", "BATCH_SIZE=50", "TRACKLESS_MAX_OPEN_INPUTS=1")
			results[i] = run(t, env, "send", "s3://"+bucket+"/cf/")
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("run %d exited %d:\n%s", i, r.code, r.stderr)
		}
	}
	missing, extra := compare(want, srv.StoredRaw())
	if len(missing) > 0 || extra > 0 {
		t.Fatalf("%d hits missing, %d sent twice", len(missing), extra)
	}
	t.Logf("%d hits stored once each; run summaries:\n%s\n%s", len(want), lastLines(results[0].stderr, 4), lastLines(results[1].stderr, 4))
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// TestAfterLocal: --after works on files too, once their hits are
// confirmed; a file found delivered by an earlier run is moved as well.
func TestAfterLocal(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	now := clock
	a := genLog(t, in, 2000, 61, now.Add(-2*time.Hour))
	b := genLog(t, in, 2000, 62, now.Add(-1*time.Hour))
	srv := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{token}})
	defer srv.Close()
	want := parseItems(t, "--site-id", "1", a, b)
	env := sendEnv(srv, filepath.Join(dir, "state"))
	if r := run(t, env, "send", a); r.code != 0 {
		t.Fatalf("send: %d %s", r.code, r.stderr)
	}
	done := filepath.Join(dir, "done")
	if r := run(t, env, "send", "--after", "move="+done, in); r.code != 0 {
		t.Fatalf("send --after: %d %s", r.code, r.stderr)
	}
	checkStored(t, srv, want)
	if left, _ := os.ReadDir(in); len(left) != 0 {
		t.Errorf("left in the input directory: %v", left)
	}
	if moved, _ := os.ReadDir(done); len(moved) != 2 {
		t.Errorf("moved: %v", moved)
	}
	if r := run(t, nil, "parse", "--site-id", "1", "--after", "delete", done); r.code != 2 || !strings.Contains(r.stderr, "-after") {
		t.Errorf("parse --after: %d %s", r.code, r.stderr)
	}
}

// TestS3EndpointFromTheSDKVariable: an S3-compatible server named only by
// the SDK's standard AWS_ENDPOINT_URL_S3 (no --s3-endpoint), by host name,
// is read with path-style addresses, which such servers serve.
func TestS3EndpointFromTheSDKVariable(t *testing.T) {
	s3srv := s3test.Start(t)
	bucket := s3srv.Bucket(t)
	dir := t.TempDir()
	a := genLog(t, dir, 500, 24, clock.Add(-3*time.Hour))
	upload(t, s3srv, bucket, "cf/", a)
	var env []string
	for _, e := range s3srv.Env() {
		if !strings.HasPrefix(e, "TRACKLESS_S3_ENDPOINT=") {
			env = append(env, e)
		}
	}
	env = append(env, "AWS_ENDPOINT_URL_S3="+strings.Replace(s3srv.Endpoint, "127.0.0.1", "localhost", 1))
	r := run(t, env, "parse", "--site-id", "1", "s3://"+bucket+"/cf/")
	if r.code != 0 || !strings.Contains(r.stderr, "1 input") {
		t.Fatalf("parse exited %d:\n%s", r.code, r.stderr)
	}
}

// realtimeRecord is a CloudFront real-time log record with every current
// field (logformat.RealtimeFields), as Kinesis Firehose writes them end to
// end: a page view of path at t by a browser.
func realtimeRecord(t time.Time, ip, path string) string {
	vals := map[string]string{
		"timestamp": fmt.Sprintf("%d.%03d", t.Unix(), t.Nanosecond()/1e6), "c-ip": ip, "sc-status": "200",
		"sc-bytes": "5120", "cs-method": "GET", "cs-protocol": "https", "cs-host": "www.example.org",
		"cs-uri-stem": path, "x-edge-location": "CDG50-C1", "x-edge-request-id": fmt.Sprintf("req%d%s", t.UnixNano(), ip),
		"x-host-header": "d111111abcdef8.cloudfront.net", "time-taken": "0.012", "cs-protocol-version": "HTTP/2.0",
		"c-ip-version": "IPv4", "cs-user-agent": "Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/131.0.0.0%20Safari/537.36",
		"x-edge-result-type": "Miss", "x-edge-response-result-type": "Miss", "sc-content-type": "text/html",
	}
	f := make([]string, len(logformat.RealtimeFields))
	for i, name := range logformat.RealtimeFields {
		if v, ok := vals[name]; ok {
			f[i] = v
		} else {
			f[i] = "-"
		}
	}
	return strings.Join(f, "\t") + "\n"
}

// TestFirehoseObjects: CloudFront real-time records delivered by Kinesis
// Firehose to S3 (records end to end, gzip, keys YYYY/MM/dd/HH/...) are
// read from the prefix with the S3 source and ledger, their format told
// by their shape; --since and --until take the hour from the key; a rerun
// sends nothing again.
func TestFirehoseObjects(t *testing.T) {
	s3srv := s3test.Start(t)
	bucket := s3srv.Bucket(t)
	dir := t.TempDir()
	var all [3]string
	for h := range 3 {
		hour := clock.Add(time.Duration(h-3) * time.Hour).Truncate(time.Hour)
		var b strings.Builder
		for i := range 40 {
			b.WriteString(realtimeRecord(hour.Add(time.Duration(i)*time.Minute), fmt.Sprintf("198.51.100.%d", i%7+1), fmt.Sprintf("/h%d/page-%d", h, i)))
		}
		all[h] = b.String()
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write([]byte(b.String()))
		zw.Close()
		key := fmt.Sprintf("rt/%s/pixel-stream-1-%s-1b2c3d4e.gz", hour.Format("2006/01/02/15"), hour.Format("2006-01-02-15-04-05"))
		s3srv.Put(t, bucket, key, z.Bytes())
	}
	srv := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{token}, SiteURLs: map[int][]string{1: {"https://www.example.org"}}})
	defer srv.Close()
	env := append(sendEnv(srv, filepath.Join(dir, "state")), s3srv.Env()...)
	// The last two hours only: the first object is not read.
	since := clock.Add(-2 * time.Hour).Truncate(time.Hour).Format(time.RFC3339)
	r := run(t, env, "send", "--mode", "visits", "--since", since, "s3://"+bucket+"/rt/")
	if r.code != 0 {
		t.Fatalf("send exited %d:\n%s", r.code, r.stderr)
	}
	local := filepath.Join(dir, "records.log")
	os.WriteFile(local, []byte(all[1]+all[2]), 0o644)
	want := parseItemsEnv(t, env, "--mode", "visits", local)
	if len(want) == 0 {
		t.Fatal("no page view in the records")
	}
	if missing, extra := compare(want, srv.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Fatalf("%d page views missing, %d extra (of %d)\n%s", len(missing), extra, len(want), r.stderr)
	}
	if r = run(t, env, "send", "--mode", "visits", "--since", since, "s3://"+bucket+"/rt/"); r.code != 0 || len(srv.StoredRaw()) != len(want) {
		t.Errorf("a rerun: exit %d, %d stored, want %d", r.code, len(srv.StoredRaw()), len(want))
	}
}
