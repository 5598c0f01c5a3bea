package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/matomo/matomotest"
	"github.com/trackless/trackless/internal/s3test"
)

// fakeRuntime is the Lambda Runtime API as the real bootstrap sees it:
// invocation/next hands out queued events, .../response and .../error
// record how each ended.
type fakeRuntime struct {
	t     *testing.T
	srv   *http.Server
	addr  string
	queue chan invocation
	seq   atomic.Int64

	mu      sync.Mutex
	results map[string]chan invResult
	initErr string
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
}

type invResult struct {
	ok   bool
	body string
}

func newFakeRuntime(t *testing.T) *fakeRuntime {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRuntime{t: t, addr: ln.Addr().String(), queue: make(chan invocation, 16), results: map[string]chan invResult{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case inv := <-f.queue:
			h := w.Header()
			h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:trackless")
			h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
			w.Write(inv.payload)
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/{kind}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.result(r.PathValue("id")) <- invResult{ok: r.PathValue("kind") == "response", body: string(body)}
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.initErr = string(body)
		f.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	f.srv = &http.Server{Handler: mux}
	go f.srv.Serve(ln)
	t.Cleanup(func() { f.srv.Close() })
	return f
}

func (f *fakeRuntime) result(id string) chan invResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.results[id]
	if !ok {
		ch = make(chan invResult, 1)
		f.results[id] = ch
	}
	return ch
}

// invoke queues an event whose deadline is timeout away; wait returns how
// it ended.
func (f *fakeRuntime) invoke(payload string, timeout time.Duration) (wait func() invResult) {
	id := fmt.Sprintf("req-%d", f.seq.Add(1))
	ch := f.result(id)
	f.queue <- invocation{id: id, payload: []byte(payload), deadline: time.Now().Add(timeout)}
	return func() invResult {
		select {
		case r := <-ch:
			return r
		case <-time.After(timeout + 30*time.Second):
			f.t.Fatalf("invocation %s never ended", id)
			return invResult{}
		}
	}
}

var (
	bootstrapOnce sync.Once
	bootstrapPath string
	bootstrapErr  error
)

// buildBootstrap builds the binary as `make lambda` does.
func buildBootstrap(t *testing.T) string {
	bootstrapOnce.Do(func() {
		dir, err := os.MkdirTemp("", "trackless-lambda-")
		if err != nil {
			bootstrapErr = err
			return
		}
		bootstrapPath = filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", bootstrapPath, "github.com/trackless/trackless/cmd/trackless")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			bootstrapErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if bootstrapErr != nil {
		t.Fatal("building bootstrap:", bootstrapErr)
	}
	return bootstrapPath
}

// startBootstrap starts the real bootstrap against the fake runtime, as
// Lambda does: no arguments, the runtime API's address in the environment.
func startBootstrap(t *testing.T, f *fakeRuntime, env []string) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.Command(buildBootstrap(t))
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+f.addr, "AWS_LAMBDA_FUNCTION_NAME=trackless", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST")
	cmd.Env = append(cmd.Env, env...)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &errb, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("bootstrap output:\n%s", errb.String())
		}
	})
	return cmd, &errb
}

func s3EventJSON(bucket string, objs ...string) string {
	var recs []string
	for _, key := range objs {
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-11-23T09:02:11.520Z","eventName":"ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","configurationId":"logs","bucket":{"name":%q,"arn":"arn:aws:s3:::%s"},"object":{"key":%q,"sequencer":"0067D3F1A2B3C4D5E6"}}}`,
			bucket, bucket, strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")))
	}
	return `{"Records":[` + strings.Join(recs, ",") + `]}`
}

func sqsEventJSON(bodies map[string]string, order ...string) string {
	var recs []string
	for _, id := range order {
		b, _ := json.Marshal(bodies[id])
		recs = append(recs, fmt.Sprintf(`{"messageId":%q,"receiptHandle":"rh","body":%s,"attributes":{"ApproximateReceiveCount":"1"},"eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:logs","awsRegion":"us-east-1"}`, id, b))
	}
	return `{"Records":[` + strings.Join(recs, ",") + `]}`
}

// lambdaSetup: a bucket holding logs, a Matomo test receiver, and the
// environment of the function (the peer Lambda's variable names).
type lambdaSetup struct {
	s3     *s3test.Server
	bucket string
	dir    string
	mat    *matomotest.Server
	env    []string
	rt     *fakeRuntime
}

func newLambdaSetup(t *testing.T, fault func(n int) matomotest.Fault, extraEnv ...string) *lambdaSetup {
	return newLambdaSetupWith(t, matomotest.Config{SuperUserTokens: []string{token}, FaultFunc: fault}, extraEnv...)
}

// newLambdaSetupWith is newLambdaSetup with a Matomo stand-in configured
// as cfg says.
func newLambdaSetupWith(t *testing.T, cfg matomotest.Config, extraEnv ...string) *lambdaSetup {
	s := &lambdaSetup{s3: s3test.Start(t), dir: t.TempDir(), rt: newFakeRuntime(t)}
	s.bucket = s.s3.Bucket(t)
	s.mat = matomotest.NewServer(cfg)
	t.Cleanup(s.mat.Close)
	s.env = append(s.s3.Env(),
		"MATOMO_URL="+s.mat.URL(), "MATOMO_SITE_ID=1", "MATOMO_TOKEN_AUTH="+token, "LOG_LEVEL=info",
		"TRACKLESS_LEDGER=s3://"+s.bucket+"/trackless-ledger/", "TRACKLESS_RETRY_BACKOFF=5ms", "HOME="+s.dir)
	s.env = append(s.env, extraEnv...)
	return s
}

// object uploads a generated log under key and returns what parse sends of it.
func (s *lambdaSetup) object(t *testing.T, key string, lines int, seed int64, hoursAgo int) []string {
	f := genLog(t, s.dir, lines, seed, clock.Add(-time.Duration(hoursAgo)*time.Hour))
	data, _ := os.ReadFile(f)
	s.s3.Put(t, s.bucket, key, data)
	return parseItems(t, "--site-id", "1", f)
}

func checkStored(t *testing.T, srv *matomotest.Server, want []string) {
	t.Helper()
	missing, extra := compare(want, srv.StoredRaw())
	if len(missing) > 0 || extra > 0 {
		t.Fatalf("Matomo has %d hits: %d missing, %d twice or more (want %d)", len(srv.StoredRaw()), len(missing), extra, len(want))
	}
}

// An S3 event → its hits reach Matomo; the same event again (S3 and
// Lambda both deliver at least once) sends nothing; keys are decoded ('+'
// is a space); the test event and an EventBridge event are understood.
func TestLambdaS3Event(t *testing.T) {
	s := newLambdaSetup(t, nil)
	startBootstrap(t, s.rt, s.env)
	key := "cf/my logs/E2E2ETEST.a+b.gz"
	want := s.object(t, key, 4000, 51, 2)
	if len(want) < 50 {
		t.Fatalf("only %d hits", len(want))
	}
	ev := s3EventJSON(s.bucket, key)
	if r := s.rt.invoke(ev, time.Minute)(); !r.ok {
		t.Fatalf("invocation failed: %s", r.body)
	}
	checkStored(t, s.mat, want)
	if r := s.rt.invoke(ev, time.Minute)(); !r.ok {
		t.Fatalf("second delivery failed: %s", r.body)
	}
	checkStored(t, s.mat, want)
	if r := s.rt.invoke(`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-23T09:02:11.520Z","Bucket":"b","RequestId":"r","HostId":"h"}`, time.Minute)(); !r.ok {
		t.Fatalf("test event: %s", r.body)
	}
	key2 := "cf/E2E2ETEST.eb.gz"
	want = append(want, s.object(t, key2, 2000, 52, 1)...)
	eb := fmt.Sprintf(`{"version":"0","id":"1","detail-type":"Object Created","source":"aws.s3","account":"123456789012","time":"2026-11-23T09:02:11Z","region":"us-east-1","resources":[],"detail":{"version":"0","bucket":{"name":%q},"object":{"key":%q,"sequencer":"1"},"reason":"PutObject"}}`, s.bucket, key2)
	if r := s.rt.invoke(eb, time.Minute)(); !r.ok {
		t.Fatalf("EventBridge event: %s", r.body)
	}
	checkStored(t, s.mat, want)
	if r := s.rt.invoke(`{"hello":"world"}`, time.Minute)(); r.ok || !strings.Contains(r.body, "not an S3") {
		t.Fatalf("an unknown event must fail the invocation: %v %s", r.ok, r.body)
	}
	noToken(t, s.dir)
}

// The function crashes (SIGKILL) in the middle of an object; the retry, in
// a new process, resumes where the ledger says: nothing lost, nothing twice.
func TestLambdaCrashResumes(t *testing.T) {
	var hold atomic.Bool
	hold.Store(true)
	const batch, before = 20, 10
	s := newLambdaSetup(t, func(n int) matomotest.Fault {
		if n >= before && hold.Load() {
			return matomotest.Fault{Kind: matomotest.FaultSlow, Delay: time.Minute} // the crash comes while this one waits
		}
		return matomotest.Fault{}
	}, fmt.Sprintf("BATCH_SIZE=%d", batch), "TRACKLESS_CONCURRENCY=1", "TRACKLESS_CLAIM_TTL=2s")
	key := "cf/E2E2ETEST.crash.gz"
	want := s.object(t, key, 30000, 53, 2)
	if len(want) < 2*before*batch {
		t.Fatalf("only %d hits", len(want))
	}
	cmd, _ := startBootstrap(t, s.rt, s.env)
	s.rt.invoke(s3EventJSON(s.bucket, key), time.Minute)
	deadline := time.Now().Add(30 * time.Second)
	for s.mat.Stats().BulkRequests <= before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	stored := len(s.mat.StoredRaw())
	if stored != before*batch {
		t.Fatalf("stored %d before the crash, want %d", stored, before*batch)
	}
	hold.Store(false)
	startBootstrap(t, s.rt, s.env)
	time.Sleep(2500 * time.Millisecond) // the crashed worker's claim expires (TRACKLESS_CLAIM_TTL)
	if r := s.rt.invoke(s3EventJSON(s.bucket, key), time.Minute)(); !r.ok {
		t.Fatalf("retry failed: %s", r.body)
	}
	checkStored(t, s.mat, want)
	t.Logf("crashed after %d of %d hits; the retry sent the rest once", stored, len(want))
}

// Close to its deadline the function stops at a confirmed point and fails;
// the retry resumes there.
func TestLambdaDeadline(t *testing.T) {
	s := newLambdaSetup(t, func(n int) matomotest.Fault {
		return matomotest.Fault{Kind: matomotest.FaultSlow, Delay: 150 * time.Millisecond}
	}, "BATCH_SIZE=20", "TRACKLESS_CONCURRENCY=2", "TRACKLESS_LAMBDA_STOP_BEFORE=2s")
	key := "cf/E2E2ETEST.deadline.gz"
	want := s.object(t, key, 40000, 54, 2)
	startBootstrap(t, s.rt, s.env)
	r := s.rt.invoke(s3EventJSON(s.bucket, key), 4*time.Second)()
	if r.ok || !strings.Contains(r.body, "stopped before the Lambda deadline") {
		t.Fatalf("want a failure naming the deadline, got ok=%v %s", r.ok, r.body)
	}
	first := len(s.mat.StoredRaw())
	if first == 0 || first >= len(want) {
		t.Fatalf("first invocation stored %d of %d", first, len(want))
	}
	for i := 0; ; i++ {
		r = s.rt.invoke(s3EventJSON(s.bucket, key), 20*time.Second)()
		if r.ok {
			break
		}
		if i == 5 || !strings.Contains(r.body, "stopped before the Lambda deadline") {
			t.Fatalf("retry %d: %s", i, r.body)
		}
	}
	checkStored(t, s.mat, want)
	t.Logf("first invocation stopped after %d of %d hits; retries sent the rest once", first, len(want))
}

// An SQS batch with one bad message: exactly that message is reported in
// batchItemFailures, the others are delivered.
func TestLambdaSQSBatch(t *testing.T) {
	s := newLambdaSetup(t, nil)
	startBootstrap(t, s.rt, s.env)
	want := s.object(t, "cf/E2E2ETEST.q1.gz", 2000, 55, 2)
	want = append(want, s.object(t, "cf/E2E2ETEST.q2.gz", 2000, 56, 1)...)
	bodies := map[string]string{
		"m-good-1": s3EventJSON(s.bucket, "cf/E2E2ETEST.q1.gz"),
		"m-bad":    s3EventJSON(s.bucket, "cf/E2E2ETEST.missing.gz"),
		"m-test":   `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-23T09:02:11.520Z","Bucket":"b","RequestId":"r","HostId":"h"}`,
		"m-good-2": s3EventJSON(s.bucket, "cf/E2E2ETEST.q2.gz"),
	}
	r := s.rt.invoke(sqsEventJSON(bodies, "m-good-1", "m-bad", "m-test", "m-good-2"), time.Minute)()
	if !r.ok {
		t.Fatalf("invocation failed: %s", r.body)
	}
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal([]byte(r.body), &resp); err != nil {
		t.Fatal(err, r.body)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m-bad" {
		t.Fatalf("batchItemFailures %s, want exactly m-bad", r.body)
	}
	checkStored(t, s.mat, want)
}

// Two invocations for the same object at the same time, in two function
// instances: it is read once; the one that found it claimed fails (and so
// comes again), and its retry finds it delivered.
func TestLambdaConcurrentInvocations(t *testing.T) {
	s := newLambdaSetup(t, func(n int) matomotest.Fault {
		return matomotest.Fault{Kind: matomotest.FaultSlow, Delay: 10 * time.Millisecond}
	}, "BATCH_SIZE=20")
	key := "cf/E2E2ETEST.twice.gz"
	want := s.object(t, key, 20000, 57, 2)
	startBootstrap(t, s.rt, s.env)
	startBootstrap(t, s.rt, s.env)
	ev := s3EventJSON(s.bucket, key)
	w1, w2 := s.rt.invoke(ev, time.Minute), s.rt.invoke(ev, time.Minute)
	r1, r2 := w1(), w2()
	if r1.ok == r2.ok {
		t.Fatalf("want one success and one 'claimed' failure: %v %s / %v %s", r1.ok, r1.body, r2.ok, r2.body)
	}
	failed := r1
	if r1.ok {
		failed = r2
	}
	if !strings.Contains(failed.body, "being read by another invocation") {
		t.Fatalf("failure: %s", failed.body)
	}
	checkStored(t, s.mat, want)
	if r := s.rt.invoke(ev, time.Minute)(); !r.ok {
		t.Fatalf("retry: %s", r.body)
	}
	checkStored(t, s.mat, want)
}

// TRACKLESS_REPORT_STATE: two function instances share a report state
// (an EFS mount in AWS, a directory here); invocations of different
// objects at the same time take turns on it, each object is counted once
// (the same event again adds nothing), and report --state gives the
// figures of report on the objects' files.
func TestLambdaReportState(t *testing.T) {
	state := filepath.Join(t.TempDir(), "report")
	s := newLambdaSetup(t, func(n int) matomotest.Fault {
		return matomotest.Fault{Kind: matomotest.FaultSlow, Delay: 5 * time.Millisecond}
	}, "TRACKLESS_REPORT_STATE="+state, "BATCH_SIZE=50")
	keys := []string{"cf/E2E2ETEST.r1.gz", "cf/E2E2ETEST.r2.gz"}
	var want []string
	for i, k := range keys {
		want = append(want, s.object(t, k, 3000, int64(71+i), 3-i)...)
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
	// The objects' files, as genLog wrote them, are what report reads.
	files, _ := filepath.Glob(filepath.Join(s.dir, "E2E2ETEST.*.gz"))
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	wantFig := reportFigures(t, files...)
	strip := func(m map[string]any) map[string]any {
		delete(m, "inputs") // named by object here, by file there
		return m
	}
	if got := reportFigures(t, "--state", state); !reflect.DeepEqual(strip(got), strip(wantFig)) {
		t.Errorf("the Lambda's report state differs from report on the files:\n%s", jsonDiff(wantFig, got))
	}
	before := dirFiles(t, state)
	if r := s.rt.invoke(s3EventJSON(s.bucket, keys[0]), time.Minute)(); !r.ok {
		t.Fatalf("the same event again: %s", r.body)
	}
	checkStored(t, s.mat, want)
	if after := dirFiles(t, state); !reflect.DeepEqual(before, after) {
		t.Error("the same event again changed the report state")
	}
}
