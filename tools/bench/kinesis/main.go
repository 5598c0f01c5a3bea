// Command kinesis measures how fast trackless reads a Kinesis Data Stream
// of CloudFront real-time log records, and how long a record put with
// PutRecords takes to reach Matomo under `send --follow` (issue 15).
//
// Everything runs on this machine: the emulator kinesis-local 0.6.2
// (through internal/kinesis/kinesistest; install it with
// `(cd tools/kinesislocal && npm ci)` and run this command from inside the
// module, whose root it finds from the working directory), the Matomo
// stand-in internal/matomo/matomotest in this process on loopback (site 1,
// main URL https://www.example.org, answering at once), and the trackless
// binary -bin. trackless reaches the emulator through a reverse proxy in
// this process (AWS_ENDPOINT_URL_KINESIS), which counts its calls by
// operation (X-Amz-Target; GetShardIterator also by iterator type), counts
// the records each GetRecords answer holds and, with -latency, notes when
// each record was first returned. -cpuprofile has trackless write CPU
// profiles (--cpu-profile) into the kept temporary directory.
//
// Each record is one CloudFront real-time log line: the 69 fields of
// logformat.RealtimeFields in order, 18 of them set as a distribution
// logging a dozen or two fields would have them (time, client IP, status,
// bytes, method, protocol, host, path, edge location, a 56-character
// x-edge-request-id, user agent, ...), the others "-"; each a page view of
// a unique path (/kin/SEQ) by a browser, status 200, text/html, so that
// every record is one tracked request with --mode visits. Records are
// spread over the shards by explicit hash key (record i to shard i mod S).
//
// Throughput (the default): it creates a stream of -shards shards, puts
// -records records (PutRecords, 500 a call) before measuring, then
//
//  1. drains every shard with a bare GetRecords loop (the aws-sdk-go-v2
//     client, Limit 10000, no pacing, one goroutine per shard): the
//     emulator's own ceiling;
//  2. times `trackless parse --mode visits --output jsonl --progress
//     never kinesis://STREAM > /dev/null`;
//  3. times `trackless send --mode visits --progress never
//     kinesis://STREAM` against the receiver, with a fresh state
//     directory, and checks every record arrived once;
//  4. for comparison, times the parse of 2. over the same records written
//     to a file;
//
// and prints records/s and MiB/s per shard, against Kinesis's read limits
// per shard: 2 MiB/s, and 5 GetRecords calls a second of at most 10,000
// records (50,000 records/s); trackless's CPU (user + sys) and peak RSS
// (from its exit status), the emulator's CPU (node, /proc/PID/stat), and
// how busy the whole machine was (/proc/stat); and, from the proxy,
// trackless's calls and how many records GetRecords returned to it.
//
// Latency (-latency): it creates a stream, starts
//
//	trackless send --follow --poll P --mode visits --progress never --log-level info kinesis://STREAM
//
// waits for its first GetRecords call, then puts -rate records a second for
// -duration: every 10 ms one PutRecords of the records due, each record's
// timestamp the time it was made, its put time the time PutRecords
// returned. It notes when the receiver answered 200 to the bulk request
// that held each record (the batch committed), waits until all arrived (at
// most -wait), stops trackless with SIGTERM and prints put → stored
// p50/p95/p99/max, put → first returned by GetRecords, records lost or
// stored twice, trackless's CPU and exit status, and its calls (per shard
// and second, against Kinesis's 5 GetRecords and 5 GetShardIterator a
// second per shard); put → stored is also given per -slice of put time.
// It fails, after printing, when trackless did not exit 0 or a record was
// lost.
// The emulator slows down as a stream fills: a -rate it cannot take is
// reported as the rate achieved.
//
// Usage (see tools/bench/kinesis.sh, which builds the binaries):
//
//	go run ./tools/bench/kinesis -bin /tmp/trackless -shards 1 -records 15000
//	go run ./tools/bench/kinesis -bin /tmp/trackless -latency -poll 1s -rate 20 -duration 30s
//
// The emulator, the receiver, this process and trackless share the
// machine: the numbers include its noise. Nothing here asserts a timing.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/trackless/trackless/internal/kinesis/kinesistest"
	"github.com/trackless/trackless/internal/logformat"
	"github.com/trackless/trackless/internal/matomo/matomotest"
	"github.com/trackless/trackless/tools/bench/benchkit"
)

const (
	token  = "kinesisbench0123456789abcdef0123" // the receiver's super-user token
	marker = "/kin/"
	ua     = "Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/131.0.0.0%20Safari/537.36"

	// Kinesis's read limits per shard.
	readBytesPerSec = 2 << 20 // 2 MiB/s
	callsPerSec     = 5       // GetRecords calls a second
	recordsPerCall  = 10000   // records a GetRecords call returns at most
	mib             = 1 << 20
)

type config struct {
	bin        string
	shards     int
	records    int
	latency    bool
	rate       float64
	duration   time.Duration
	poll       time.Duration
	wait       time.Duration
	slice      time.Duration
	keep       bool
	cpuProfile bool
}

func main() {
	var c config
	flag.StringVar(&c.bin, "bin", "trackless", "the trackless binary")
	flag.IntVar(&c.shards, "shards", 1, "shards of the stream")
	flag.IntVar(&c.records, "records", 200000, "throughput: records put before the measure (all shards)")
	flag.BoolVar(&c.latency, "latency", false, "measure send --follow's latency instead of throughput")
	flag.Float64Var(&c.rate, "rate", 20, "latency: records put per second")
	flag.DurationVar(&c.duration, "duration", 30*time.Second, "latency: how long records are put")
	flag.DurationVar(&c.poll, "poll", time.Second, "latency: trackless --poll")
	flag.DurationVar(&c.slice, "slice", 10*time.Second, "latency: also given per slice of this much put time")
	flag.DurationVar(&c.wait, "wait", 60*time.Second, "latency: how long to wait for the last records once the producer stopped")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory (state, trackless's stderr, profiles)")
	flag.BoolVar(&c.cpuProfile, "cpuprofile", false, "have trackless write CPU profiles (--cpu-profile) into the temporary directory; implies -keep")
	flag.Parse()
	if c.cpuProfile {
		c.keep = true
	}
	var err error
	if c.latency {
		err = runLatency(c)
	} else {
		err = runThroughput(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kinesis bench:", err)
		os.Exit(1)
	}
}

// bench is what both measures share: the emulator, the proxy to it, the
// receiver and a temporary directory.
type bench struct {
	c      config
	dir    string
	kin    *kinesistest.Server
	proxy  *proxy
	proxyL net.Listener
	arr    *benchkit.Arrivals
	mtL    net.Listener
	srvs   []*http.Server
}

func newBench(c config, n int) (*bench, error) {
	if c.shards < 1 {
		return nil, errors.New("-shards must be at least 1")
	}
	dir, err := os.MkdirTemp("", "trackless-kinesis-")
	if err != nil {
		return nil, err
	}
	b := &bench{c: c, dir: dir}
	kin, err := kinesistest.Start(context.Background())
	if err != nil {
		b.close()
		return nil, fmt.Errorf("starting the emulator (install: (cd tools/kinesislocal && npm ci)): %w", err)
	}
	b.kin = kin
	target, _ := url.Parse(kin.Endpoint)
	b.proxy = &proxy{target: target, watch: c.latency,
		rp: &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}}
	b.proxy.reset()
	if b.proxyL, err = serve(b, b.proxy); err != nil {
		b.close()
		return nil, err
	}
	b.arr = benchkit.NewArrivals(n, marker)
	mt := matomotest.New(matomotest.Config{
		SuperUserTokens: []string{token},
		Sites:           []int{1},
		SiteURLs:        map[int][]string{1: {"https://www.example.org"}},
	})
	if b.mtL, err = serve(b, b.arr.Wrap(mt.Handler())); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// openBench is newBench(c, n) with a new stream (createStream); the
// caller closes the bench, which is already closed on an error.
func openBench(ctx context.Context, c config, n int) (*bench, string, error) {
	b, err := newBench(c, n)
	if err != nil {
		return nil, "", err
	}
	stream, err := b.createStream(ctx)
	if err != nil {
		b.close()
		return nil, "", err
	}
	return b, stream, nil
}

// serve serves h on a loopback port until b.close.
func serve(b *bench, h http.Handler) (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	b.srvs = append(b.srvs, srv)
	return ln, nil
}

func (b *bench) close() {
	for _, s := range b.srvs {
		s.Close()
	}
	if b.kin != nil {
		b.kin.Close()
	}
	if b.c.keep {
		fmt.Println("kept:", b.dir)
	} else {
		os.RemoveAll(b.dir)
	}
}

// createStream creates a stream of b.c.shards shards and waits until it
// is ACTIVE.
func (b *bench) createStream(ctx context.Context) (string, error) {
	var r [4]byte
	rand.Read(r[:])
	name := fmt.Sprintf("bench-%d-%s", b.c.shards, hex.EncodeToString(r[:]))
	if _, err := b.kin.Client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &name, ShardCount: aws.Int32(int32(b.c.shards))}); err != nil {
		return "", fmt.Errorf("CreateStream: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := b.kin.Client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &name})
		if err != nil {
			return "", fmt.Errorf("DescribeStreamSummary: %w", err)
		}
		if out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return name, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("stream %s still %s after 30 s", name, out.StreamDescriptionSummary.StreamStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hashKeys are the explicit hash keys of the shards, record i going to
// shard i mod len.
func (b *bench) hashKeys() []string {
	keys := make([]string, b.c.shards)
	for i := range keys {
		keys[i] = kinesistest.HashKey(int64(i), int64(b.c.shards))
	}
	return keys
}

// putRecords puts data with one PutRecords call (at most 500), record i
// of the call with hash key keys[(first+i) mod len(keys)].
func (b *bench) putRecords(ctx context.Context, stream string, keys []string, first int, data [][]byte) error {
	entries := make([]types.PutRecordsRequestEntry, len(data))
	for i, d := range data {
		entries[i] = types.PutRecordsRequestEntry{Data: d, PartitionKey: aws.String("k"), ExplicitHashKey: aws.String(keys[(first+i)%len(keys)])}
	}
	out, err := b.kin.Client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: &stream, Records: entries})
	if err != nil {
		return fmt.Errorf("PutRecords: %w", err)
	}
	if n := aws.ToInt32(out.FailedRecordCount); n > 0 {
		return fmt.Errorf("PutRecords: %d records refused", n)
	}
	return nil
}

// command is trackless with args, its environment the emulator's (through
// the proxy), the receiver's and a fresh state directory.
func (b *bench) command(name string, args ...string) *exec.Cmd {
	if b.c.cpuProfile {
		args = append([]string{args[0], "--cpu-profile", filepath.Join(b.dir, name+".pprof")}, args[1:]...)
	}
	cmd := exec.Command(b.c.bin, args...)
	env := append(benchkit.CleanEnv("AWS_"), b.kin.Env()...)
	env = append(env, "AWS_ENDPOINT_URL_KINESIS=http://"+b.proxyL.Addr().String(), // the later one wins
		"MATOMO_URL=http://"+b.mtL.Addr().String(), "MATOMO_SITE_ID=1", "MATOMO_TOKEN_AUTH="+token,
		"TRACKLESS_STATE_DIR="+filepath.Join(b.dir, name+"-state"))
	cmd.Env = env
	return cmd
}

// record is record seq: a CloudFront real-time log line (69 fields) of a
// page view of /kin/SEQ at t; run makes its x-edge-request-id unique to
// the run.
func record(run string, seq int, t time.Time) []byte {
	ip := fmt.Sprintf("198.51.%d.%d", 100+seq/250%50, seq%250+1)
	// A request id as CloudFront's: 56 characters of base64.
	id := fmt.Sprintf("%s%048d", run, seq)
	id = id[len(id)-54:] + "=="
	vals := map[string]string{
		"timestamp": fmt.Sprintf("%d.%03d", t.Unix(), t.Nanosecond()/1e6), "c-ip": ip, "sc-status": "200",
		"sc-bytes": strconv.Itoa(2000 + seq%30000), "cs-method": "GET", "cs-protocol": "https", "cs-host": "www.example.org",
		"cs-uri-stem": marker + strconv.Itoa(seq), "x-edge-location": "CDG50-C1", "x-edge-request-id": id,
		"x-host-header": "d111111abcdef8.cloudfront.net", "time-taken": "0.012", "cs-protocol-version": "HTTP/2.0",
		"c-ip-version": "IPv4", "cs-user-agent": ua,
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
	return []byte(strings.Join(f, "\t") + "\n")
}

func runID() string {
	var r [3]byte
	rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// ---- throughput

// result is one timed reader of the stream.
type result struct {
	name       string
	wall       time.Duration
	user, sys  time.Duration
	rssKiB     int64
	emulCPU    time.Duration
	machine    float64 // share of the machine's CPU busy (all cores)
	records    int
	returned   int  // records GetRecords returned
	file       bool // read from a file, not the stream
	calls      map[string]int
	emuCallDur time.Duration // time GetRecords calls spent in the emulator
	note       string
}

func runThroughput(c config) error {
	if c.records <= 0 {
		return errors.New("-records must be positive")
	}
	ctx := context.Background()
	b, stream, err := openBench(ctx, c, c.records)
	if err != nil {
		return err
	}
	defer b.close()
	keys := b.hashKeys()
	run := runID()
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	// Put them all, 4 calls in flight.
	var size int64
	putStart := time.Now()
	type job struct{ first, n int }
	jobs := make(chan job)
	errs := make(chan error, 4)
	var mu sync.Mutex
	done, lastDone, lastAt := 0, 0, putStart
	for range 4 {
		go func() {
			var err error
			for j := range jobs {
				if err != nil {
					continue
				}
				data := make([][]byte, j.n)
				var s int64
				for i := range data {
					data[i] = record(run, j.first+i, base.Add(time.Duration(j.first+i)*10*time.Millisecond))
					s += int64(len(data[i]))
				}
				err = b.putRecords(ctx, stream, keys, j.first, data)
				mu.Lock()
				size += s
				done += j.n
				if done*10/c.records != (done-j.n)*10/c.records {
					fmt.Fprintf(os.Stderr, "put %d of %d records in %s (the last %d at %.0f/s)\n", done, c.records,
						time.Since(putStart).Round(100*time.Millisecond), done-lastDone, float64(done-lastDone)/time.Since(lastAt).Seconds())
					lastDone, lastAt = done, time.Now()
				}
				mu.Unlock()
			}
			errs <- err
		}()
	}
	for first := 0; first < c.records; first += 500 {
		jobs <- job{first, min(500, c.records-first)}
	}
	close(jobs)
	for range 4 {
		if err := <-errs; err != nil {
			return err
		}
	}
	putWall := time.Since(putStart)
	avg := float64(size) / float64(c.records)
	fmt.Printf("stream %s: %d shards, %d records put in %s (%.0f records/s, 4 PutRecords calls of 500 in flight), %.1f MiB, %.0f bytes a record on average\n\n",
		stream, c.shards, c.records, putWall.Round(10*time.Millisecond), float64(c.records)/putWall.Seconds(), float64(size)/mib, avg)

	var results []result
	// 1. The emulator's ceiling: a bare GetRecords loop per shard.
	r, err := b.drain(ctx, stream)
	if err != nil {
		return err
	}
	results = append(results, r)
	// 2. parse to /dev/null.
	r, err = b.timeParse("kinesis://"+stream, "trackless parse --mode visits --output jsonl > /dev/null")
	if err != nil {
		return err
	}
	results = append(results, r)
	// 3. send to the receiver.
	r, err = b.timeSend(stream)
	if err != nil {
		return err
	}
	results = append(results, r)
	// 4. For comparison, parse the same records from a file.
	file := filepath.Join(b.dir, "records.log")
	var all bytes.Buffer
	for seq := range c.records {
		all.Write(record(run, seq, base.Add(time.Duration(seq)*10*time.Millisecond)))
	}
	if err := os.WriteFile(file, all.Bytes(), 0o644); err != nil {
		return err
	}
	r, err = b.timeParse(file, "for comparison: the same records from a file, parse as above")
	if err != nil {
		return err
	}
	results = append(results, r)

	perShardRec := float64(c.records) / float64(c.shards)
	ceilBytes := readBytesPerSec / avg
	ceilCalls := float64(callsPerSec * recordsPerCall)
	fmt.Printf("Kinesis's read limits per shard for records of %.0f bytes: 2 MiB/s = %.0f records/s; 5 calls/s x 10,000 records = %.0f records/s; the lower binds: %.0f records/s\n\n",
		avg, ceilBytes, ceilCalls, math.Min(ceilBytes, ceilCalls))
	fmt.Println("| reader | shards | records | wall | records/s per shard | MiB/s per shard | of 2 MiB/s | trackless CPU user+sys | peak RSS | emulator CPU | machine busy (2 cores) | calls | records returned |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		recPerShard := perShardRec / r.wall.Seconds()
		mibPerShard := recPerShard * avg / mib
		cpu, rss := "-", "-"
		if r.rssKiB > 0 {
			cpu = fmt.Sprintf("%s + %s (%.0f %% of a core; %.1f µs a record)", r.user.Round(10*time.Millisecond), r.sys.Round(10*time.Millisecond),
				100*(r.user+r.sys).Seconds()/r.wall.Seconds(), 1e6*(r.user+r.sys).Seconds()/float64(r.records))
			rss = fmt.Sprintf("%d MiB", r.rssKiB/1024)
		}
		shards, limit, emul := strconv.Itoa(c.shards), fmt.Sprintf("%.2fx", mibPerShard/2), fmt.Sprintf("%s (%.0f %% of a core)", r.emulCPU.Round(10*time.Millisecond), 100*r.emulCPU.Seconds()/r.wall.Seconds())
		if r.file {
			// All the records, from one file: rates are totals.
			recPerShard, mibPerShard = float64(r.records)/r.wall.Seconds(), float64(r.records)*avg/mib/r.wall.Seconds()
			shards, limit, emul = "(file)", "-", "-"
		}
		fmt.Printf("| %s | %s | %d | %s | %.0f | %.2f | %s | %s | %s | %s | %.0f %% | %s | %d |\n",
			r.name, shards, r.records, r.wall.Round(10*time.Millisecond), recPerShard, mibPerShard, limit,
			cpu, rss, emul, 100*r.machine, callsString(r.calls), r.returned)
	}
	fmt.Println()
	for _, r := range results {
		if r.note != "" {
			fmt.Printf("%s: %s\n", r.name, r.note)
		}
	}
	return nil
}

// drain reads every shard from TRIM_HORIZON with GetRecords (Limit
// 10000, no pacing) until a call returns nothing and says the shard is
// caught up, one goroutine per shard, and times it.
func (b *bench) drain(ctx context.Context, stream string) (result, error) {
	shards, err := b.kin.Client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: &stream})
	if err != nil {
		return result{}, fmt.Errorf("ListShards: %w", err)
	}
	type got struct {
		records, calls int
		inCall         time.Duration
		err            error
	}
	out := make(chan got, len(shards.Shards))
	m := startMeter()
	start := time.Now()
	for _, sh := range shards.Shards {
		go func() {
			var g got
			it, err := b.kin.Client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: &stream, ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			if err != nil {
				g.err = fmt.Errorf("GetShardIterator: %w", err)
				out <- g
				return
			}
			iter := it.ShardIterator
			for iter != nil {
				t := time.Now()
				r, err := b.kin.Client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(recordsPerCall)})
				g.inCall += time.Since(t)
				g.calls++
				if err != nil {
					g.err = fmt.Errorf("GetRecords: %w", err)
					break
				}
				g.records += len(r.Records)
				iter = r.NextShardIterator
				if len(r.Records) == 0 && aws.ToInt64(r.MillisBehindLatest) == 0 {
					break
				}
			}
			out <- g
		}()
	}
	res := result{name: "bare GetRecords loop (Go SDK, Limit 10000, no pacing)", calls: map[string]int{"GetShardIterator TRIM_HORIZON": len(shards.Shards)}}
	maxCalls := 0
	for range shards.Shards {
		g := <-out
		if g.err != nil {
			return result{}, g.err
		}
		res.records += g.records
		res.calls["GetRecords"] += g.calls
		res.emuCallDur += g.inCall
		maxCalls = max(maxCalls, g.calls)
	}
	res.wall = time.Since(start)
	res.emulCPU, res.machine = m.stop()
	res.returned = res.records
	if res.records != b.c.records {
		return result{}, fmt.Errorf("the bare loop read %d records of %d", res.records, b.c.records)
	}
	calls := res.calls["GetRecords"]
	res.note = fmt.Sprintf("%d GetRecords calls (the last of each shard empty), %.0f records a call with records, %s a call on average",
		calls, float64(res.records)/float64(calls-len(shards.Shards)), (res.emuCallDur / time.Duration(calls)).Round(time.Millisecond))
	return res, nil
}

// timeParse times trackless parse --mode visits --output jsonl INPUT >
// /dev/null (a stream's URL or a file).
func (b *bench) timeParse(input, name string) (result, error) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return result{}, err
	}
	defer devnull.Close()
	var stderr bytes.Buffer
	short := "parse-stream"
	if !strings.HasPrefix(input, "kinesis://") {
		short = "parse-file"
	}
	cmd := b.command(short, "parse", "--mode", "visits", "--output", "jsonl", "--progress", "never", input)
	cmd.Stdout, cmd.Stderr = devnull, &stderr
	res, err := b.time(cmd, name)
	if err != nil {
		return result{}, fmt.Errorf("%w: %s", err, lastLines(stderr.String(), 5))
	}
	res.records = b.c.records
	res.file = short == "parse-file"
	res.note = lastLines(stderr.String(), 3)
	return res, nil
}

// timeSend times trackless send --mode visits kinesis://STREAM and checks
// that every record arrived once.
func (b *bench) timeSend(stream string) (result, error) {
	var stderr bytes.Buffer
	cmd := b.command("send", "send", "--mode", "visits", "--progress", "never", "kinesis://"+stream)
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	res, err := b.time(cmd, "trackless send --mode visits")
	if err != nil {
		return result{}, fmt.Errorf("%w: %s", err, lastLines(stderr.String(), 5))
	}
	got := b.arr.Snapshot()
	uniq, dups := 0, 0
	for _, c := range got.Count {
		if c > 0 {
			uniq++
			dups += c - 1
		}
	}
	batches := got.Batches
	res.records = uniq
	res.note = fmt.Sprintf("%d of %d records stored, %d twice, in %d bulk requests; %s", uniq, b.c.records, dups, batches, lastLines(stderr.String(), 2))
	return res, nil
}

// time runs cmd and measures it, and counts the calls it made through the
// proxy.
func (b *bench) time(cmd *exec.Cmd, name string) (result, error) {
	b.proxy.reset()
	m := startMeter()
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("%s: %w", name, err)
	}
	res := result{name: name, wall: time.Since(start)}
	res.emulCPU, res.machine = m.stop()
	ps := cmd.ProcessState
	res.user, res.sys = ps.UserTime(), ps.SystemTime()
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		res.rssKiB = ru.Maxrss
	}
	res.calls, res.emuCallDur, res.returned = b.proxy.counts()
	return res, nil
}

func callsString(calls map[string]int) string {
	var ops []string
	for op := range calls {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	var parts []string
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%s %d", op, calls[op]))
	}
	return strings.Join(parts, ", ")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " / ")
}

// meter measures the emulator's CPU time (node, a child of this process)
// and the machine's busy share over a span.
type meter struct {
	pid         int
	emul0       int64
	busy0, tot0 int64
}

func startMeter() *meter {
	m := &meter{pid: emulatorPID()}
	m.emul0, _ = benchkit.CPUTicks(m.pid)
	m.busy0, m.tot0 = machineTicks()
	return m
}

func (m *meter) stop() (emul time.Duration, machine float64) {
	e, _ := benchkit.CPUTicks(m.pid)
	busy, tot := machineTicks()
	if tot > m.tot0 {
		machine = float64(busy-m.busy0) / float64(tot-m.tot0)
	}
	return time.Duration(e-m.emul0) * 10 * time.Millisecond, machine
}

// emulatorPID is the process id of the node child of this process (the
// emulator kinesistest started), 0 if there is none.
func emulatorPID() int {
	entries, _ := os.ReadDir("/proc")
	me := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(data, ')')
		j := bytes.IndexByte(data, '(')
		if i < 0 || j < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(me) && string(data[j+1:i]) == "node" {
			return pid
		}
	}
	return 0
}

// machineTicks is the machine's busy and total CPU ticks, all cores
// (/proc/stat's cpu line; idle and iowait are not busy).
func machineTicks() (busy, total int64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i >= 8 { // guest time is already in user
			break
		}
		total += n
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return busy, total
}

// ---- the proxy

// proxy passes trackless's calls to the emulator, counting them by
// operation; with watch it reads each GetRecords answer and notes when
// each record (by its marker) was first returned, and each call.
type proxy struct {
	target *url.URL
	watch  bool

	mu     sync.Mutex
	calls  map[string]int
	inCall time.Duration // GetRecords
	// recordsOut are the records GetRecords returned (counted in the
	// answers' JSON).
	recordsOut int
	returned   map[int]time.Time
	gets       []getCall
	rp         *httputil.ReverseProxy
}

// getCall is one GetRecords call: when its answer came, how many records
// it held and its MillisBehindLatest.
type getCall struct {
	at      time.Time
	records int
	behind  int64
}

func (p *proxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls, p.inCall, p.recordsOut, p.returned, p.gets = map[string]int{}, 0, 0, map[int]time.Time{}, nil
}

func (p *proxy) counts() (calls map[string]int, inGetRecords time.Duration, returned int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.calls), p.inCall, p.recordsOut
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	if op == "GetShardIterator" {
		// Counted by iterator type: TRIM_HORIZON, AFTER_SEQUENCE_NUMBER...
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var in struct{ ShardIteratorType string }
		if json.Unmarshal(body, &in) == nil && in.ShardIteratorType != "" {
			op += " " + in.ShardIteratorType
		}
	}
	p.mu.Lock()
	p.calls[op]++
	p.mu.Unlock()
	if op != "GetRecords" {
		p.rp.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	p.rp.ServeHTTP(rec, r)
	now := time.Now()
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body.Bytes())
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inCall += now.Sub(start)
	if rec.status != http.StatusOK {
		return
	}
	p.recordsOut += bytes.Count(rec.body.Bytes(), []byte(`"SequenceNumber"`))
	if !p.watch {
		return
	}
	var out struct {
		MillisBehindLatest int64
		Records            []struct{ Data []byte }
	}
	if json.Unmarshal(rec.body.Bytes(), &out) != nil {
		return
	}
	p.gets = append(p.gets, getCall{at: now, records: len(out.Records), behind: out.MillisBehindLatest})
	for _, r := range out.Records {
		if seq, ok := recordMarker(r.Data); ok {
			if _, seen := p.returned[seq]; !seen {
				p.returned[seq] = now
			}
		}
	}
}

// recorder keeps a response to read it before passing it on.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(code int)        { r.status = code }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

// recordMarker is the sequence number in a record's path.
func recordMarker(data []byte) (int, bool) {
	i := bytes.Index(data, []byte("\t"+marker))
	if i < 0 {
		return 0, false
	}
	rest := data[i+1+len(marker):]
	j := bytes.IndexByte(rest, '\t')
	if j < 0 {
		return 0, false
	}
	seq, err := strconv.Atoi(string(rest[:j]))
	return seq, err == nil && seq >= 0
}

// ---- latency

func runLatency(c config) error {
	n := int(math.Ceil(c.rate * c.duration.Seconds()))
	if n <= 0 {
		return errors.New("no record to put: -rate and -duration must be positive")
	}
	if c.slice <= 0 {
		return errors.New("-slice must be positive")
	}
	ctx := context.Background()
	b, stream, err := openBench(ctx, c, n)
	if err != nil {
		return err
	}
	defer b.close()
	b.proxy.reset()
	stderr, err := os.Create(filepath.Join(b.dir, "trackless.stderr"))
	if err != nil {
		return err
	}
	defer stderr.Close()
	cmd := b.command("follow", "send", "--follow", "--poll", c.poll.String(), "--mode", "visits",
		"--progress", "never", "--log-level", "info", "kinesis://"+stream)
	started := time.Now()
	proc, err := benchkit.Start(cmd, stderr)
	if err != nil {
		return fmt.Errorf("starting %s: %w", c.bin, err)
	}
	// Wait for trackless's first GetRecords answer: its start is not
	// measured.
	for {
		calls, _, _ := b.proxy.counts()
		if calls["GetRecords"] > 0 {
			break
		}
		select {
		case err := <-proc.Exited:
			return fmt.Errorf("trackless exited at start (%v): see %s", err, stderr.Name())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Since(started) > 60*time.Second {
			_ = proc.Stop()
			return errors.New("trackless made no GetRecords call within 60 s")
		}
	}
	firstCall := time.Since(started)
	b.proxy.mu.Lock()
	getsBefore := len(b.proxy.gets)
	b.proxy.mu.Unlock()

	putStart := time.Now()
	put, putDur, err := b.producer(ctx, stream, n, c.rate)
	if err != nil {
		_ = proc.Stop()
		return err
	}
	putEnd := time.Now()
	all := b.arr.Wait(c.wait, proc.Exited)
	waited := time.Since(putEnd)
	stopErr := proc.Stop()
	wall := time.Since(started)
	ps := cmd.ProcessState

	got := b.arr.Snapshot()
	b.proxy.mu.Lock()
	defer b.proxy.mu.Unlock()
	var lat, read, after []time.Duration
	bySlice := map[int][]time.Duration{}
	dups := 0
	for seq := range n {
		if got.Count[seq] == 0 {
			continue
		}
		dups += got.Count[seq] - 1
		lat = append(lat, got.First[seq].Sub(put[seq]))
		sl := int(put[seq].Sub(putStart) / c.slice)
		bySlice[sl] = append(bySlice[sl], got.First[seq].Sub(put[seq]))
		if t, ok := b.proxy.returned[seq]; ok {
			read = append(read, t.Sub(put[seq]))
			after = append(after, got.First[seq].Sub(t))
		}
	}
	cpu := ps.UserTime() + ps.SystemTime()
	fmt.Printf("stream %s, %d shards; trackless's first GetRecords %s after its start; %d records put, %.0f bytes a record\n\n",
		stream, c.shards, firstCall.Round(time.Millisecond), n, float64(len(record("000000", n, time.Now()))))
	fmt.Println("| rate | duration | poll | shards | put | received | twice | lost | put→stored p50 | p95 | p99 | max | put→returned by GetRecords p50 / max | returned→stored p50 / max | trackless CPU user+sys (share of wall) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	fmt.Printf("| %g/s | %s | %s | %d | %d | %d | %d | %d | %s | %s | %s | %s | %s / %s | %s / %s | %s + %s (%.1f %% of %s) |\n",
		c.rate, c.duration, c.poll, c.shards, n, got.Received, dups, n-len(lat),
		benchkit.Pct(lat, 50), benchkit.Pct(lat, 95), benchkit.Pct(lat, 99), benchkit.Pct(lat, 100), benchkit.Pct(read, 50), benchkit.Pct(read, 100), benchkit.Pct(after, 50), benchkit.Pct(after, 100),
		ps.UserTime().Round(10*time.Millisecond), ps.SystemTime().Round(10*time.Millisecond),
		100*cpu.Seconds()/wall.Seconds(), wall.Round(100*time.Millisecond))
	fmt.Println()
	fmt.Printf("| records put in | records | put→stored p50 | p95 | max |\n|---|---|---|---|---|\n")
	for sl := 0; sl*int(c.slice) < int(putEnd.Sub(putStart)); sl++ {
		l := bySlice[sl]
		fmt.Printf("| %s-%s | %d | %s | %s | %s |\n", time.Duration(sl)*c.slice, time.Duration(sl+1)*c.slice,
			len(l), benchkit.Pct(l, 50), benchkit.Pct(l, 95), benchkit.Pct(l, 100))
	}
	fmt.Println()
	fmt.Printf("PutRecords (every 10 ms, the records due): %d calls, p50 %s, max %s a call; %d records put in %s: %.0f records/s (asked: %g/s)\n",
		len(putDur), benchkit.Pct(putDur, 50), benchkit.Pct(putDur, 100), n, putEnd.Sub(putStart).Round(10*time.Millisecond), float64(n)/putEnd.Sub(putStart).Seconds(), c.rate)
	// The calls trackless made while records were put and read.
	gets := b.proxy.gets[getsBefore:]
	empty, withRecs, behindWith := 0, 0, 0
	var gaps []time.Duration
	for i, g := range gets {
		if g.records == 0 {
			empty++
		} else {
			withRecs++
			if g.behind > 0 {
				behindWith++
			}
		}
		if i > 0 {
			gaps = append(gaps, g.at.Sub(gets[i-1].at))
		}
	}
	iters := 0
	for op, n := range b.proxy.calls {
		if strings.HasPrefix(op, "GetShardIterator") {
			iters += n
		}
	}
	secs := wall.Seconds() * float64(c.shards)
	fmt.Printf("trackless's calls over the run (%s): %s; rounds (ListShards): %d; per shard and second: GetRecords %.2f, GetShardIterator %.2f (Kinesis allows 5 of each); records GetRecords returned: %d (%.2f per record put)\n",
		wall.Round(100*time.Millisecond), callsString(b.proxy.calls), b.proxy.calls["ListShards"],
		float64(b.proxy.calls["GetRecords"])/secs, float64(iters)/secs, b.proxy.recordsOut, float64(b.proxy.recordsOut)/float64(n))
	fmt.Printf("GetRecords after trackless's first: %d with records (%d of them MillisBehindLatest > 0), %d empty; time between two GetRecords answers (all shards): p50 %s, max %s\n",
		withRecs, behindWith, empty, benchkit.Pct(gaps, 50), benchkit.Pct(gaps, 100))
	fmt.Printf("bulk requests committed: %d; after the producer stopped, waited %s for the rest%s\n",
		got.Batches, waited.Round(10*time.Millisecond), map[bool]string{true: "", false: " (gave up: records missing)"}[all])
	if got.Foreign > 0 {
		fmt.Printf("items without a marker of this run: %d\n", got.Foreign)
	}
	benchkit.PrintExit(stopErr, stderr.Name())
	switch {
	case stopErr != nil:
		return fmt.Errorf("trackless did not exit 0 on SIGTERM: %w (its stderr: %s; run with -keep)", stopErr, stderr.Name())
	case len(lat) < n:
		return fmt.Errorf("%d of %d records never reached Matomo", n-len(lat), n)
	}
	return nil
}

// producer puts n records at rate a second: every 10 ms one PutRecords
// call (500 records at most each) of the records due, each made with the
// time of making as its timestamp. It returns each record's put time (when
// its call returned) and each call's duration.
func (b *bench) producer(ctx context.Context, stream string, n int, rate float64) ([]time.Time, []time.Duration, error) {
	keys := b.hashKeys()
	run := runID()
	put := make([]time.Time, n)
	var durs []time.Duration
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for seq := 0; seq < n; {
		now := <-tick.C
		due := min(n, int(rate*now.Sub(start).Seconds())+1)
		for seq < due {
			t := time.Now()
			from := seq
			var data [][]byte
			for ; seq < due && len(data) < 500; seq++ {
				data = append(data, record(run, seq, t))
			}
			if err := b.putRecords(ctx, stream, keys, from, data); err != nil {
				return nil, nil, err
			}
			done := time.Now()
			durs = append(durs, done.Sub(t))
			for i := from; i < seq; i++ {
				put[i] = done
			}
		}
	}
	return put, durs, nil
}
