package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/s3test"
)

// TestLambdaServerlessReport: a function without Matomo counts S3 objects
// into a report state in S3 and publishes the report there. Two
// invocations at once (two functions, two objects) and an event that
// comes again: each object is counted once (the report of the state,
// rendered by the CLI elsewhere, has every line of both, and the same as
// a report of the files); the page is in S3, by host an index and a page
// per host.
func TestLambdaServerlessReport(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	dir := t.TempDir()
	rt := newFakeRuntime(t)
	env := append(srv.Env(), "LOG_LEVEL=info", "HOME="+dir,
		"TRACKLESS_REPORT_STATE=s3://"+bucket+"/state/", "TRACKLESS_REPORT_OUT=s3://"+bucket+"/site/index.html",
		"TRACKLESS_BY_HOST=true", "TRACKLESS_TIMEZONE=Europe/Paris")
	keys := []string{"cf/E2E2ETEST.r1.gz", "cf/E2E2ETEST.r2.gz"}
	var files []string
	for i, k := range keys {
		f := genLog(t, dir, 3000, int64(91+i), clock.Add(-time.Duration(3-i)*time.Hour))
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srv.Put(t, bucket, k, data)
		files = append(files, f)
	}
	_, log1 := startBootstrap(t, rt, env)
	_, log2 := startBootstrap(t, rt, env)
	defer func() {
		if t.Failed() {
			t.Logf("the functions logged:\n%s\n%s", log1, log2)
		}
	}()
	w1, w2 := rt.invoke(s3EventJSON(bucket, keys[0]), time.Minute), rt.invoke(s3EventJSON(bucket, keys[1]), time.Minute)
	for _, r := range []invResult{w1(), w2()} {
		if !r.ok {
			t.Fatalf("invocation failed: %s", r.body)
		}
	}
	if r := rt.invoke(s3EventJSON(bucket, keys[0]), time.Minute)(); !r.ok {
		t.Fatalf("the same event again: %s", r.body)
	}

	// The state, rendered anywhere, is the report of the two files.
	got := run(t, srv.Env(), "report", "--state", "s3://"+bucket+"/state/", "--host", "www.example.com", "--json", "-")
	if got.code != 0 {
		t.Fatalf("report --state s3://: exit %d: %s", got.code, got.stderr)
	}
	want := run(t, nil, append([]string{"report", "--timezone", "Europe/Paris", "--host", "www.example.com", "--json", "-"}, files...)...)
	if want.code != 0 {
		t.Fatalf("report of the files: exit %d: %s", want.code, want.stderr)
	}
	for _, field := range []string{"overview", "days", "hours", "pages"} {
		if g, w := jsonField(t, got.stdout, field), jsonField(t, want.stdout, field); g != w {
			t.Errorf("%s of the state differs from the files':\n%.300s\n%.300s", field, g, w)
		}
	}
	var ov struct {
		Inputs int   `json:"inputs"`
		Lines  int64 `json:"lines"`
	}
	json.Unmarshal([]byte(jsonField(t, got.stdout, "overview")), &ov)
	if ov.Inputs != 2 || ov.Lines != 6004 {
		t.Errorf("overview of the state: %+v, want the 6,004 lines of both objects, once", ov)
	}

	// The published pages: the index and the host's page, linked.
	index := string(srv.Get(t, bucket, "site/index.html"))
	if !strings.Contains(index, `href="index-www.example.com.html"`) {
		t.Errorf("the index in S3 does not link the host's page:\n%.500s", index)
	}
	page := string(srv.Get(t, bucket, "site/index-www.example.com.html"))
	if !strings.Contains(page, "<h1>www.example.com</h1>") || !strings.Contains(page, "Europe/Paris") {
		t.Errorf("the host's page in S3:\n%.500s", page)
	}
	if claims := srv.Keys(t, bucket, "state/claims/"); len(claims) != 0 {
		t.Errorf("claims left: %v", claims)
	}
}

// jsonField is one field of a JSON object, as JSON.
func jsonField(t *testing.T, doc, field string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("%v: %.200s", err, doc)
	}
	return string(m[field])
}

// TestLambdaKinesisReport: a function without Matomo counts a Kinesis
// event's records into its report state in S3. An event that comes again,
// or overlaps the one before, adds nothing twice: the state's report is
// that of the records, each once. A state that cannot be written makes
// the answer name the first record of the event (the retry reads it all).
func TestLambdaKinesisReport(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	dir := t.TempDir()
	rt := newFakeRuntime(t)
	env := append(srv.Env(), "LOG_LEVEL=info", "HOME="+dir, "TRACKLESS_FORMAT=cloudfront-realtime",
		"TRACKLESS_REPORT_STATE=s3://"+bucket+"/state/", "TRACKLESS_LAMBDA_STOP_BEFORE=2s")
	const arn = "arn:aws:kinesis:us-east-1:123456789012:stream/pixel"
	var recs []string
	for i := range 300 {
		recs = append(recs, realtimeRecord(clock.Add(-3*time.Hour+time.Duration(i)*time.Second), fmt.Sprintf("198.51.100.%d", i%9+1), fmt.Sprintf("/report/page-%d", i)))
	}
	_, log := startBootstrap(t, rt, env)
	defer func() {
		if t.Failed() {
			t.Logf("the function logged:\n%s", log)
		}
	}()
	for _, ev := range [][2]int{{0, 40}, {0, 40}, {30, 120}, {120, 300}} {
		if f := kinesisFailures(t, rt.invoke(kinesisEvent(arn, recs, ev[0], ev[1]), time.Minute)()); len(f) > 0 {
			t.Fatalf("event %v: failures %v", ev, f)
		}
	}
	// A state in a bucket that is not there: nothing is counted, the
	// answer names the event's first record.
	rt2 := newFakeRuntime(t)
	startBootstrap(t, rt2, append(srv.Env(), "LOG_LEVEL=info", "HOME="+dir, "TRACKLESS_FORMAT=cloudfront-realtime",
		"TRACKLESS_REPORT_STATE=s3://no-such-bucket-"+bucket+"/state/"))
	r := rt2.invoke(kinesisEvent(arn, recs, 10, 20), time.Minute)()
	if f := kinesisFailures(t, r); len(f) != 1 || f[0] != kinesisSeq(10) {
		t.Errorf("a state that cannot be written: failures %v, want record 10 (%s)", f, r.body)
	}
	all := filepath.Join(dir, "records.log")
	os.WriteFile(all, []byte(strings.Join(recs, "")), 0o644)
	got := run(t, srv.Env(), "report", "--state", "s3://"+bucket+"/state/", "--json", "-")
	want := run(t, nil, "report", "--format", "cloudfront-realtime", "--json", "-", all)
	if got.code != 0 || want.code != 0 {
		t.Fatalf("reports: exit %d (%s), %d (%s)", got.code, got.stderr, want.code, want.stderr)
	}
	for _, field := range []string{"days", "hours", "pages"} {
		if g, w := jsonField(t, got.stdout, field), jsonField(t, want.stdout, field); g != w {
			t.Errorf("%s of the state differs from the records':\n%.300s\n%.300s", field, g, w)
		}
	}
	var ov struct {
		Requests int64 `json:"requests"`
	}
	json.Unmarshal([]byte(jsonField(t, got.stdout, "overview")), &ov)
	if ov.Requests != 300 {
		t.Errorf("the state counted %d requests, want the 300 records once", ov.Requests)
	}
}
