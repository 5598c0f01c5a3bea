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
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/matomo/matomotest"
	"github.com/trackless/trackless/tools/bench/benchkit"
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
	arr := benchkit.NewArrivals(n, marker)

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
	srv := &http.Server{Handler: arr.Wrap(mt.Handler()), ReadHeaderTimeout: 30 * time.Second}
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
	cmd.Env = append(benchkit.CleanEnv(),
		"MATOMO_URL=http://"+ln.Addr().String(), "MATOMO_SITE_ID=1", "MATOMO_TOKEN_AUTH="+token,
		"TRACKLESS_STATE_DIR="+filepath.Join(dir, "state"))
	started := time.Now()
	proc, err := benchkit.Start(cmd, stderr)
	if err != nil {
		return fmt.Errorf("starting %s: %w", c.bin, err)
	}

	if c.idle > 0 {
		if !arr.Wait(c.wait, proc.Exited) {
			_ = proc.Stop()
			return fmt.Errorf("only %d of %d lines arrived within %s (trackless's stderr: %s)", arr.Unique(), n, c.wait, stderr.Name())
		}
		firstSent := time.Since(idleWritten)
		time.Sleep(2 * c.poll) // let the round that sent them end
		t0, err := benchkit.CPUTicks(cmd.Process.Pid)
		if err != nil {
			_ = proc.Stop()
			return fmt.Errorf("reading trackless's CPU time: %w", err)
		}
		time.Sleep(c.idle)
		t1, err := benchkit.CPUTicks(cmd.Process.Pid)
		if err != nil {
			_ = proc.Stop()
			return fmt.Errorf("reading trackless's CPU time: %w", err)
		}
		stopErr := proc.Stop()
		wall := time.Since(started)
		ps := cmd.ProcessState
		idleCPU := time.Duration(t1-t0) * 10 * time.Millisecond
		fmt.Println("| poll | idle | CPU while idle (user+sys) | share of a core | whole run: wall, user, sys | first lines in Matomo after |")
		fmt.Println("|---|---|---|---|---|---|")
		fmt.Printf("| %s | %s | %s | %.3f %% | %s, %s, %s | %s |\n", c.poll, c.idle, idleCPU,
			100*idleCPU.Seconds()/c.idle.Seconds(), wall.Round(10*time.Millisecond),
			ps.UserTime().Round(time.Millisecond), ps.SystemTime().Round(time.Millisecond), firstSent.Round(time.Millisecond))
		benchkit.PrintExit(stopErr, stderr.Name())
		return nil
	}

	written, err := writer(f, n, c.rate)
	if err != nil {
		_ = proc.Stop()
		return err
	}
	writeEnd := time.Now()
	all := arr.Wait(c.wait, proc.Exited)
	waited := time.Since(writeEnd)
	stopErr := proc.Stop()
	wall := time.Since(started)
	ps := cmd.ProcessState

	got := arr.Snapshot()
	var lat []time.Duration
	dups := 0
	bySlice := map[int][]time.Duration{}
	for seq := range n {
		if got.Count[seq] == 0 {
			continue
		}
		dups += got.Count[seq] - 1
		d := got.First[seq].Sub(written[seq])
		lat = append(lat, d)
		s := int(written[seq].Sub(written[0]) / c.slice)
		bySlice[s] = append(bySlice[s], d)
	}
	cpu := ps.UserTime() + ps.SystemTime()
	fmt.Println("| rate | duration | poll | written | received | duplicates | lost | p50 | p95 | p99 | max | CPU user+sys (share of wall) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	fmt.Printf("| %g/s | %s | %s | %d | %d | %d | %d | %s | %s | %s | %s | %s + %s (%.1f %% of %s) |\n",
		c.rate, c.duration, c.poll, n, got.Received, dups, n-len(lat),
		benchkit.Pct(lat, 50), benchkit.Pct(lat, 95), benchkit.Pct(lat, 99), benchkit.Pct(lat, 100),
		ps.UserTime().Round(10*time.Millisecond), ps.SystemTime().Round(10*time.Millisecond),
		100*cpu.Seconds()/wall.Seconds(), wall.Round(100*time.Millisecond))
	fmt.Println()
	fmt.Printf("| lines written in | lines | p50 | p95 | max |\n|---|---|---|---|---|\n")
	for s := 0; s*int(c.slice) < int(c.duration); s++ {
		l := bySlice[s]
		fmt.Printf("| %s-%s | %d | %s | %s | %s |\n", time.Duration(s)*c.slice, min(time.Duration(s+1)*c.slice, c.duration),
			len(l), benchkit.Pct(l, 50), benchkit.Pct(l, 95), benchkit.Pct(l, 100))
	}
	fmt.Printf("\nbulk requests committed: %d, other requests (API): %d; after the writer stopped, waited %s for the rest%s\n",
		got.Batches, got.Other, waited.Round(10*time.Millisecond), map[bool]string{true: "", false: " (gave up: lines missing)"}[all])
	if got.Foreign > 0 {
		fmt.Printf("items without a marker of this run: %d\n", got.Foreign)
	}
	printRounds(stderr.Name())
	benchkit.PrintExit(stopErr, stderr.Name())
	return nil
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
		len(rounds), benchkit.Pct(rounds, 50), benchkit.Pct(rounds, 100), len(last), last)
}
