// Package kinesistest runs a Kinesis emulator for tests: npm kinesis-local
// 0.6.2 (kinesis-mock compiled to JavaScript), installed in
// tools/kinesislocal, run by node with cwd = its package folder (it reads
// server.json there) and tools/kinesislocal/preload-loopback.cjs preloaded
// to bind its plain and TLS ports to 127.0.0.1 (it listens on all
// interfaces and has no setting for the host). Stream creation and
// resharding take no time (the *_DURATION settings are 0ms).
//
// The emulator needs an Authorization header but checks no signature: a
// client signing with any credentials will do. It differs from Kinesis in
// ways tests meet: a closed shard's EndingSequenceNumber is
// 9223372036854775807; AFTER_SEQUENCE_NUMBER needs a sequence number it
// gave; it enforces no throughput limit (test back-off with a fake API).
//
// It needs node (>= 20) and the package; when either is missing a test is
// skipped, unless the environment variable CI is "true", when it fails. To
// install:
//
//	(cd tools/kinesislocal && npm ci)
package kinesistest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/trackless/trackless/internal/reporoot"
)

// Region and Account are the emulator's: stream ARNs are
// arn:aws:kinesis:us-east-1:000000000000:stream/NAME.
const (
	Region  = "us-east-1"
	Account = "000000000000"
)

// ErrUnavailable says that node or the emulator package is not installed.
var ErrUnavailable = errors.New("kinesis-local is not available")

// startTimeout bounds the wait for the emulator to answer; it starts in a
// few seconds (parsing 9 MB of JavaScript), more on a busy machine.
const startTimeout = 60 * time.Second

// Server is a running emulator.
type Server struct {
	// Endpoint is its plain HTTP endpoint, http://127.0.0.1:PORT.
	Endpoint string
	// Client talks to Endpoint, signing with dummy credentials, with the
	// SDK's retries off (the emulator has no limits to retry on).
	Client *kinesis.Client

	cmd  *exec.Cmd
	stop chan struct{} // closed once the process has exited
	log  *logBuffer
	once sync.Once
}

// Start starts the emulator and waits until it answers. The error wraps
// ErrUnavailable when node or tools/kinesislocal/node_modules/kinesis-local
// is missing. Close stops it.
func Start(ctx context.Context) (*Server, error) {
	dir, err := packageDir()
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: node is not on PATH", ErrUnavailable)
	}
	if _, err := os.Stat(filepath.Join(dir, "main.js")); err != nil {
		return nil, fmt.Errorf("%w: %s is not installed", ErrUnavailable, dir)
	}
	// Two free ports, chosen here and freed just before the start: another
	// process may take one in between, so a start that fails is retried.
	var lastErr error
	for range 3 {
		s, err := start(ctx, node, dir)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func start(ctx context.Context, node, dir string) (*Server, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	plain, tls := ports[0], ports[1]
	cmd := exec.Command(node, "-r", filepath.Join(dir, "..", "..", "preload-loopback.cjs"), "main.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"KINESIS_MOCK_PLAIN_PORT="+strconv.Itoa(plain),
		"KINESIS_MOCK_TLS_PORT="+strconv.Itoa(tls),
		"AWS_REGION="+Region,
		"AWS_ACCOUNT_ID="+Account,
		"LOG_LEVEL=WARN",
		"SHOULD_PERSIST_DATA=false",
		"LOAD_DATA_IF_EXISTS=false",
		// The preload exits when its standard input closes: when this
		// process dies without Close, the emulator does not outlive it.
		"KINESISLOCAL_EXIT_ON_STDIN_EOF=1",
	)
	for _, d := range []string{"CREATE_STREAM", "DELETE_STREAM", "REGISTER_STREAM_CONSUMER", "DEREGISTER_STREAM_CONSUMER",
		"START_STREAM_ENCRYPTION", "STOP_STREAM_ENCRYPTION", "MERGE_SHARDS", "SPLIT_SHARD", "UPDATE_SHARD_COUNT", "UPDATE_STREAM_MODE"} {
		cmd.Env = append(cmd.Env, d+"_DURATION=0ms")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	log := &logBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting kinesis-local: %w", err)
	}
	s := &Server{
		Endpoint: "http://127.0.0.1:" + strconv.Itoa(plain),
		cmd:      cmd,
		stop:     make(chan struct{}),
		log:      log,
	}
	go func() {
		cmd.Wait()
		stdin.Close()
		close(s.stop)
	}()
	s.Client = NewClient(s.Endpoint)

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		_, err := s.Client.ListStreams(attempt, &kinesis.ListStreamsInput{})
		cancelAttempt()
		if err == nil {
			return s, nil
		}
		select {
		case <-s.stop:
			return nil, fmt.Errorf("kinesis-local exited at start (%v); its output:\n%s", cmd.ProcessState, log.String())
		case <-ctx.Done():
			s.Close()
			return nil, fmt.Errorf("kinesis-local did not answer on %s within %v: %v; its output:\n%s", s.Endpoint, startTimeout, err, log.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// NewClient returns a client of endpoint signing with dummy credentials in
// Region, with the SDK's retries off.
func NewClient(endpoint string) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		Region:           Region,
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("kinesistest", "kinesistest-secret", ""),
		RetryMaxAttempts: 1,
	})
}

// Close kills the emulator (by its process id) and waits for it to exit.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.cmd.Process.Kill()
		<-s.stop
	})
	return nil
}

// Output is what the emulator printed so far.
func (s *Server) Output() string { return s.log.String() }

// Env is the environment a process (trackless, or a client built by
// config.LoadDefaultConfig) needs to reach the emulator: its endpoint in
// AWS_ENDPOINT_URL_KINESIS, dummy credentials, the region, and no shared
// config files or instance metadata.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_KINESIS=" + s.Endpoint,
		"AWS_ACCESS_KEY_ID=kinesistest", "AWS_SECRET_ACCESS_KEY=kinesistest-secret", "AWS_REGION=" + Region,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}
}

// New starts an emulator for the test and stops it when the test ends. It
// skips the test when the emulator is not installed, or fails it under
// CI=true.
func New(t testing.TB) *Server {
	t.Helper()
	s, err := Start(context.Background())
	if err != nil {
		Unavailable(t, err)
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Unavailable skips the test when err wraps ErrUnavailable (or fails it
// under CI=true), saying how to install the emulator; it does nothing for
// another error.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, ErrUnavailable) {
		return
	}
	install := "install with: (cd tools/kinesislocal && npm ci), node >= 20"
	if os.Getenv("CI") == "true" {
		t.Fatalf("kinesistest: %v; %s", err, install)
	}
	t.Skipf("kinesistest: %v (%s)", err, install)
}

// CreateStream creates a stream of shards shards with a name unique to the
// test, and returns the name once the stream is ACTIVE.
func (s *Server) CreateStream(t testing.TB, shards int) string {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	if len(name) > 100 {
		name = name[:100]
	}
	name += "-" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if _, err := s.Client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &name, ShardCount: aws.Int32(int32(shards))}); err != nil {
		t.Fatalf("CreateStream %s: %v", name, err)
	}
	s.WaitActive(t, name)
	return name
}

// WaitActive waits until the stream is ACTIVE again (after CreateStream,
// SplitShard, MergeShards...): at once with 0ms durations, but the
// emulator changes the state asynchronously.
func (s *Server) WaitActive(t testing.TB, stream string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second) // bounds a hang only
	for {
		out, err := s.Client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &stream})
		if err != nil {
			t.Fatalf("DescribeStreamSummary %s: %v", stream, err)
		}
		if out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s still %s", stream, out.StreamDescriptionSummary.StreamStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// HashKey returns the decimal hash key at fraction num/den of the key
// space (0 to 2^128-1): with ExplicitHashKey it puts a record in the shard
// that holds that part of the space (HashKey(0, 2) is the first of two
// even shards, HashKey(1, 2) the second).
func HashKey(num, den int64) string {
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	k := new(big.Int).Mul(space, big.NewInt(num))
	return k.Quo(k, big.NewInt(den)).String()
}

// Put puts one record with the given explicit hash key (see HashKey) and
// returns the shard it went to and its sequence number.
func (s *Server) Put(t testing.TB, stream, hashKey string, data []byte) (shardID, seq string) {
	t.Helper()
	out, err := s.Client.PutRecord(context.Background(), &kinesis.PutRecordInput{
		StreamName:      &stream,
		PartitionKey:    aws.String("k"),
		ExplicitHashKey: aws.String(hashKey),
		Data:            data,
	})
	if err != nil {
		t.Fatalf("PutRecord %s: %v", stream, err)
	}
	return aws.ToString(out.ShardId), aws.ToString(out.SequenceNumber)
}

// PutBatch puts records with PutRecords, 500 at a time (the API's most),
// record i with hash key keys[i%len(keys)], in order within each shard;
// a record PutRecords refused is put again.
func (s *Server) PutBatch(t testing.TB, stream string, keys []string, data [][]byte) {
	t.Helper()
	for start := 0; start < len(data); start += 500 {
		var entries []types.PutRecordsRequestEntry
		for i := start; i < min(start+500, len(data)); i++ {
			entries = append(entries, types.PutRecordsRequestEntry{Data: data[i], PartitionKey: aws.String("k"), ExplicitHashKey: aws.String(keys[i%len(keys)])})
		}
		out, err := s.Client.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: &stream, Records: entries})
		if err != nil {
			t.Fatalf("PutRecords %s: %v", stream, err)
		}
		if aws.ToInt32(out.FailedRecordCount) > 0 {
			t.Fatalf("PutRecords %s: %d records refused", stream, aws.ToInt32(out.FailedRecordCount))
		}
	}
}

// Split splits a shard in two halves of its hash key range and waits
// until the stream is active again.
func (s *Server) Split(t testing.TB, stream, shardID, newStartingHashKey string) {
	t.Helper()
	if _, err := s.Client.SplitShard(context.Background(), &kinesis.SplitShardInput{
		StreamName: &stream, ShardToSplit: &shardID, NewStartingHashKey: &newStartingHashKey,
	}); err != nil {
		t.Fatalf("SplitShard %s %s: %v", stream, shardID, err)
	}
	s.WaitActive(t, stream)
}

// Merge merges two adjacent shards and waits until the stream is active
// again.
func (s *Server) Merge(t testing.TB, stream, shardID, adjacentID string) {
	t.Helper()
	if _, err := s.Client.MergeShards(context.Background(), &kinesis.MergeShardsInput{
		StreamName: &stream, ShardToMerge: &shardID, AdjacentShardToMerge: &adjacentID,
	}); err != nil {
		t.Fatalf("MergeShards %s %s %s: %v", stream, shardID, adjacentID, err)
	}
	s.WaitActive(t, stream)
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// packageDir returns tools/kinesislocal/node_modules/kinesis-local of the
// repository.
func packageDir() (string, error) {
	root, err := reporoot.Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "tools", "kinesislocal", "node_modules", "kinesis-local"), nil
}

// logBuffer keeps the first 64 KiB the emulator prints.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := 64<<10 - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

var _ io.Writer = (*logBuffer)(nil)
