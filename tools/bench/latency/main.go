// Command latency measures how long `trackless send --follow` takes to get a
// line written to a live log into Matomo, and how much CPU it uses while the
// log is idle (issue 14).
//
// It starts the Matomo stand-in (internal/matomo/matomotest) in this
// process, on loopback, with site 1 whose main URL is https://www.example.org
// (a combined log has no host: trackless takes it from the site, as Matomo's
// importer does). The receiver's handler is wrapped: each bulk request's body
// ({"requests":["?idsite=1&url=...",...]}) is decoded to find each item's url,
// and when matomotest has answered it with 200 (the batch committed), the
// time is noted for each marker in it. The request reaches matomotest
// unchanged.
//
// Meanwhile it appends a combined-format log (as nginx and Apache write it)
// in a temporary directory, -rate lines a second for -duration: every 10 ms
// it writes the lines due, in one write, and notes the time that write
// returned as each line's write time. Each line is a page view of a unique
// path, /lat/SEQ, by a browser user agent, status 200, its time field the
// time of writing. trackless runs as
//
//	trackless send --follow --poll P --mode visits --progress never --log-level info LOG
//
// with MATOMO_URL, MATOMO_SITE_ID=1, MATOMO_TOKEN_AUTH and a fresh
// TRACKLESS_STATE_DIR in its environment, so that every line is one tracked
// request. Once the writer has stopped, it waits until every marker arrived
// (at most -wait), sends trackless SIGTERM and prints, as markdown: lines
// written, received, duplicates (markers stored more than once), lost, the
// latency (arrival - write) p50/p95/p99/max, the same per -slice of write
// time (does latency grow with the file?), and trackless's CPU time (user +
// sys of the whole process, from its exit status) over the run; and, from
// trackless's log, how long its rounds that sent something took. -keep
// keeps the directory (the log, the state, trackless's stderr).
//
// With -idle D it instead writes -idle-lines lines, starts trackless, waits
// for them to arrive, and reports the CPU trackless used over the next D
// (utime + stime from /proc/PID/stat, Linux, 10 ms ticks) while nothing is
// written.
//
// The receiver answers at once unless -per-item-delay and -workers make it
// as slow as a real Matomo's PHP (see matomotest.Config).
//
// Usage (see tools/bench/latency.sh, which builds the binary):
//
//	go run ./tools/bench/latency -bin /tmp/trackless -rate 2000 -duration 30s
//	go run ./tools/bench/latency -bin /tmp/trackless -idle 60s
//
// The receiver, the writer and trackless share the machine: on a loaded
// machine the numbers include its noise. Nothing here asserts a timing.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
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

	"github.com/trackless/trackless/internal/matomo/matomotest"
)

const (
	token  = "latencybench0123456789abcdef0123" // the receiver's super-user token
	marker = "/lat/"
	ua     = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)

type config struct {
	rate      float64
	duration  time.Duration
	poll      time.Duration
	bin       string
	keep      bool
	wait      time.Duration
	slice     time.Duration
	idle      time.Duration
	idleLines int
	perItem   time.Duration
	workers   int
}

func main() {
	var c config
	flag.Float64Var(&c.rate, "rate", 20, "lines written per second")
	flag.DurationVar(&c.duration, "duration", 30*time.Second, "how long lines are written")
	flag.DurationVar(&c.poll, "poll", time.Second, "trackless --poll")
	flag.StringVar(&c.bin, "bin", "trackless", "the trackless binary")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory (log, state, trackless's stderr)")
	flag.DurationVar(&c.wait, "wait", 60*time.Second, "how long to wait for the last lines once the writer stopped")
	flag.DurationVar(&c.slice, "slice", 20*time.Second, "latency is also given per slice of this much write time")
	flag.DurationVar(&c.idle, "idle", 0, "measure CPU over this long with nothing written, instead of latency")
	flag.IntVar(&c.idleLines, "idle-lines", 100, "with -idle: lines in the log before trackless starts")
	flag.DurationVar(&c.perItem, "per-item-delay", 0, "the receiver's PHP time per item of a bulk request (a real Matomo on 2 cores: 2-3ms)")
	flag.IntVar(&c.workers, "workers", 0, "the receiver's PHP workers (0: no limit; a real one had 4)")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(1)
	}
}

// arrivals notes, per line, when Matomo first stored it and how often.
type arrivals struct {
	mu       sync.Mutex
	first    []time.Time // by line number
	count    []int
	received int // items with a marker, in committed batches
	batches  int // committed bulk requests
	foreign  int // items without a marker of this run
	other    int // other requests (API calls: version, the site's main URL)
	changed  chan struct{}
}

func newArrivals(n int) *arrivals {
	return &arrivals{first: make([]time.Time, n), count: make([]int, n), changed: make(chan struct{}, 1)}
}

// unique is how many distinct lines arrived.
func (a *arrivals) unique() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.count {
		if c > 0 {
			n++
		}
	}
	return n
}

// wrap passes every request to next unchanged and notes, for a bulk
// request answered 200, the markers of its items.
func (a *arrivals) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || (r.URL.Path != "/matomo.php" && r.URL.Path != "/piwik.php") {
			a.mu.Lock()
			a.other++
			a.mu.Unlock()
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		now := time.Now()
		if sw.status != http.StatusOK {
			return
		}
		var bulk struct {
			Requests []string `json:"requests"`
		}
		if json.Unmarshal(body, &bulk) != nil {
			return
		}
		a.mu.Lock()
		a.batches++
		for _, item := range bulk.Requests {
			seq, ok := markerOf(item)
			if !ok || seq >= len(a.count) {
				a.foreign++
				continue
			}
			a.received++
			if a.count[seq] == 0 {
				a.first[seq] = now
			}
			a.count[seq]++
		}
		a.mu.Unlock()
		select {
		case a.changed <- struct{}{}:
		default:
		}
	})
}

// markerOf is the line number in an item's url (…/lat/SEQ).
func markerOf(item string) (int, bool) {
	_, q, ok := strings.Cut(item, "?")
	if !ok {
		return 0, false
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return 0, false
	}
	u := v.Get("url")
	i := strings.LastIndex(u, marker)
	if i < 0 {
		return 0, false
	}
	seq, err := strconv.Atoi(u[i+len(marker):])
	return seq, err == nil && seq >= 0
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// logLine is line seq of the log, a page view at t.
func logLine(seq int, t time.Time) string {
	return fmt.Sprintf("203.0.113.%d - - [%s] \"GET %s%d HTTP/1.1\" 200 %d \"https://www.example.org/\" \"%s\"\n",
		seq%250+1, t.Format("02/Jan/2006:15:04:05 -0700"), marker, seq, 2000+seq%5000, ua)
}

// writer appends n lines to f at rate lines a second, every 10 ms the lines
// due, and returns each line's write time.
func writer(f *os.File, n int, rate float64) ([]time.Time, error) {
	written := make([]time.Time, n)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	var buf bytes.Buffer
	for seq := 0; seq < n; {
		now := <-tick.C
		due := min(n, int(rate*now.Sub(start).Seconds())+1)
		buf.Reset()
		t := time.Now()
		from := seq
		for ; seq < due; seq++ {
			buf.WriteString(logLine(seq, t))
		}
		if buf.Len() == 0 {
			continue
		}
		if _, err := f.Write(buf.Bytes()); err != nil {
			return nil, fmt.Errorf("writing the log: %w", err)
		}
		done := time.Now()
		for i := from; i < seq; i++ {
			written[i] = done
		}
	}
	return written, nil
}

func run(c config) error {
	dir, err := os.MkdirTemp("", "trackless-latency-")
	if err != nil {
		return err
	}
	if c.keep {
		defer fmt.Println("kept:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	n := int(math.Ceil(c.rate * c.duration.Seconds()))
	if c.idle > 0 {
		n = c.idleLines
	}
	if n <= 0 {
		return errors.New("no line to write: -rate and -duration (or -idle-lines) must be positive")
	}
	arr := newArrivals(n)

	mt := matomotest.New(matomotest.Config{
		SuperUserTokens: []string{token},
		Sites:           []int{1},
		SiteURLs:        map[int][]string{1: {"https://www.example.org"}},
		PerItemDelay:    c.perItem,
		Workers:         c.workers,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: arr.wrap(mt.Handler()), ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	logPath := filepath.Join(dir, "access.log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	var idleWritten time.Time
	if c.idle > 0 {
		// The log holds a few lines before trackless starts; nothing more
		// is written.
		var b strings.Builder
		now := time.Now()
		for seq := 0; seq < n; seq++ {
			b.WriteString(logLine(seq, now))
		}
		if _, err := f.WriteString(b.String()); err != nil {
			return err
		}
		idleWritten = time.Now()
	}

	stderr, err := os.Create(filepath.Join(dir, "trackless.stderr"))
	if err != nil {
		return err
	}
	defer stderr.Close()
	cmd := exec.Command(c.bin, "send", "--follow", "--poll", c.poll.String(), "--mode", "visits",
		"--progress", "never", "--log-level", "info", logPath)
	cmd.Env = append(cleanEnv(),
		"MATOMO_URL=http://"+ln.Addr().String(), "MATOMO_SITE_ID=1", "MATOMO_TOKEN_AUTH="+token,
		"TRACKLESS_STATE_DIR="+filepath.Join(dir, "state"))
	cmd.Stdout, cmd.Stderr = stderr, stderr
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", c.bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("trackless did not stop within 30 s of SIGTERM: killed")
		}
	}

	if c.idle > 0 {
		if !waitAll(arr, n, c.wait, exited) {
			_ = stop()
			return fmt.Errorf("only %d of %d lines arrived within %s (trackless's stderr: %s)", arr.unique(), n, c.wait, stderr.Name())
		}
		firstSent := time.Since(idleWritten)
		time.Sleep(2 * c.poll) // let the round that sent them end
		t0, err := cpuTicks(cmd.Process.Pid)
		if err != nil {
			_ = stop()
			return err
		}
		time.Sleep(c.idle)
		t1, err := cpuTicks(cmd.Process.Pid)
		if err != nil {
			_ = stop()
			return err
		}
		stopErr := stop()
		wall := time.Since(started)
		ps := cmd.ProcessState
		idleCPU := time.Duration(t1-t0) * 10 * time.Millisecond
		fmt.Println("| poll | idle | CPU while idle (user+sys) | share of a core | whole run: wall, user, sys | first lines in Matomo after |")
		fmt.Println("|---|---|---|---|---|---|")
		fmt.Printf("| %s | %s | %s | %.3f %% | %s, %s, %s | %s |\n", c.poll, c.idle, idleCPU,
			100*idleCPU.Seconds()/c.idle.Seconds(), wall.Round(10*time.Millisecond),
			ps.UserTime().Round(time.Millisecond), ps.SystemTime().Round(time.Millisecond), firstSent.Round(time.Millisecond))
		printExit(stopErr, stderr.Name())
		return nil
	}

	written, err := writer(f, n, c.rate)
	if err != nil {
		_ = stop()
		return err
	}
	writeEnd := time.Now()
	all := waitAll(arr, n, c.wait, exited)
	waited := time.Since(writeEnd)
	stopErr := stop()
	wall := time.Since(started)
	ps := cmd.ProcessState

	arr.mu.Lock()
	defer arr.mu.Unlock()
	var lat []time.Duration
	dups := 0
	bySlice := map[int][]time.Duration{}
	for seq := range n {
		if arr.count[seq] == 0 {
			continue
		}
		dups += arr.count[seq] - 1
		d := arr.first[seq].Sub(written[seq])
		lat = append(lat, d)
		s := int(written[seq].Sub(written[0]) / c.slice)
		bySlice[s] = append(bySlice[s], d)
	}
	cpu := ps.UserTime() + ps.SystemTime()
	fmt.Println("| rate | duration | poll | written | received | duplicates | lost | p50 | p95 | p99 | max | CPU user+sys (share of wall) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	fmt.Printf("| %g/s | %s | %s | %d | %d | %d | %d | %s | %s | %s | %s | %s + %s (%.1f %% of %s) |\n",
		c.rate, c.duration, c.poll, n, arr.received, dups, n-len(lat),
		pct(lat, 50), pct(lat, 95), pct(lat, 99), pct(lat, 100),
		ps.UserTime().Round(10*time.Millisecond), ps.SystemTime().Round(10*time.Millisecond),
		100*cpu.Seconds()/wall.Seconds(), wall.Round(100*time.Millisecond))
	fmt.Println()
	fmt.Printf("| lines written in | lines | p50 | p95 | max |\n|---|---|---|---|---|\n")
	for s := 0; s*int(c.slice) < int(c.duration); s++ {
		l := bySlice[s]
		fmt.Printf("| %s-%s | %d | %s | %s | %s |\n", time.Duration(s)*c.slice, min(time.Duration(s+1)*c.slice, c.duration),
			len(l), pct(l, 50), pct(l, 95), pct(l, 100))
	}
	fmt.Printf("\nbulk requests committed: %d, other requests (API): %d; after the writer stopped, waited %s for the rest%s\n",
		arr.batches, arr.other, waited.Round(10*time.Millisecond), map[bool]string{true: "", false: " (gave up: lines missing)"}[all])
	if arr.foreign > 0 {
		fmt.Printf("items without a marker of this run: %d\n", arr.foreign)
	}
	printRounds(stderr.Name())
	printExit(stopErr, stderr.Name())
	return nil
}

// printExit says how trackless ended, with the last line it wrote.
func printExit(err error, stderrFile string) {
	data, _ := os.ReadFile(stderrFile)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	status := "exit 0"
	if err != nil {
		status = err.Error()
	}
	fmt.Printf("trackless: %s: %s\n", status, lines[len(lines)-1])
}

// printRounds says how long trackless's rounds that sent something took,
// from its log (--log-level info): from "resuming input" to "sent".
func printRounds(stderrFile string) {
	data, err := os.ReadFile(stderrFile)
	if err != nil {
		return
	}
	var rounds []time.Duration
	var start time.Time
	for _, line := range strings.Split(string(data), "\n") {
		ts, rest, ok := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		if !ok {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			continue
		}
		switch {
		case strings.Contains(rest, `msg="resuming input"`):
			start = t
		case strings.Contains(rest, "msg=sent ") && !start.IsZero():
			rounds = append(rounds, t.Sub(start))
			start = time.Time{}
		}
	}
	if len(rounds) == 0 {
		return
	}
	last := rounds[max(0, len(rounds)-5):]
	fmt.Printf("rounds that resumed and sent: %d; their time from \"resuming input\" to \"sent\": p50 %s, max %s, last %d: %v\n",
		len(rounds), pct(rounds, 50), pct(rounds, 100), len(last), last)
}

// waitAll waits until n distinct lines arrived, at most d, or trackless
// exited; it tells whether they all arrived.
func waitAll(a *arrivals, n int, d time.Duration, exited chan error) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if a.unique() >= n {
			return true
		}
		select {
		case <-a.changed:
		case <-deadline.C:
			return false
		case err := <-exited:
			exited <- err // for stop
			return a.unique() >= n
		}
	}
}

// pct is the p-th percentile (nearest rank) of d, "-" if d is empty.
func pct(d []time.Duration, p float64) string {
	if len(d) == 0 {
		return "-"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := max(0, int(math.Ceil(p/100*float64(len(s))))-1)
	return s[i].Round(time.Millisecond).String()
}

// cpuTicks is a process's user + system CPU time in clock ticks
// (/proc/PID/stat fields 14 and 15; 100 a second on Linux).
func cpuTicks(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading trackless's CPU time: %w", err)
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	f := strings.Fields(string(data[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	return u + s, nil
}

// cleanEnv is this process's environment without the settings trackless
// reads (MATOMO_*, TRACKLESS_*, CLOUDFRONT_*, ...), so that only the
// benchmark's apply.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "MATOMO_") || strings.HasPrefix(name, "TRACKLESS_") ||
			strings.HasPrefix(name, "CLOUDFRONT_") || name == "BATCH_SIZE" || name == "LOG_LEVEL" ||
			name == "USER_AGENT_ALLOWLIST_REGEX" || name == "HTTP_METHOD_ALLOWLIST" ||
			name == "URL_EXCLUDE_REGEX" || name == "DOCUMENT_REGEX" {
			continue
		}
		env = append(env, kv)
	}
	return env
}
