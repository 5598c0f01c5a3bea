// Command genlogs writes a realistic, deterministic CloudFront standard
// (legacy) access log, for tests and benchmarks (see internal/loggen).
//
//	go run ./tools/genlogs -lines 1000000 -seed 1 -gzip -out E2EXAMPLE.2026-11-01-00.a1b2c3d4.gz -truth truth.json
//
// With -out - (the default) the log goes to standard output and nothing else
// is written there; -v reports on standard error.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trackless/trackless/internal/loggen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "genlogs:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("genlogs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lines := fs.Int("lines", 10000, "number of data lines")
	seed := fs.Int64("seed", 1, "random seed: same flags, same bytes")
	gz := fs.Bool("gzip", false, "gzip the output")
	level := fs.Int("level", gzip.BestSpeed, "gzip level (1 fastest .. 9 smallest, -1 default)")
	out := fs.String("out", "-", "output file, - for standard output")
	truthPath := fs.String("truth", "", "write the counts of what was generated (JSON) to this file")
	start := fs.String("start", loggen.DefaultStart.Format(time.RFC3339), "time of the first requests (RFC 3339)")
	span := fs.Duration("span", loggen.DefaultSpan, "about how long the lines last")
	hosts := fs.String("hosts", strings.Join(loggen.DefaultHosts, ","), "comma-separated site hosts (x-host-header)")
	noHeader := fs.Bool("no-header", false, "leave out the #Version and #Fields lines")
	verbose := fs.Bool("v", false, "report lines, bytes and time on standard error")
	format := fs.String("format", "cloudfront", "cloudfront, or the same requests as Apache/nginx would log them: combined, nginx_json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *lines < 0 {
		return errors.New("-lines must not be negative")
	}
	st, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		return fmt.Errorf("-start: %w", err)
	}
	cfg := loggen.Config{Seed: *seed, Lines: *lines, Start: st, Span: *span, NoHeader: *noHeader}
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			cfg.Hosts = append(cfg.Hosts, h)
		}
	}

	t0 := time.Now()
	var dst io.Writer = stdout
	var f *os.File
	if *out != "-" && *out != "" {
		if f, err = os.Create(*out); err != nil {
			return err
		}
		defer f.Close()
		dst = f
	}
	cw := &countWriter{w: dst}
	var truth loggen.Truth
	var conv *convertWriter
	if *gz {
		zw, err := gzip.NewWriterLevel(cw, *level)
		if err != nil {
			return err
		}
		aw := newAsyncWriter(zw)
		var w io.Writer = aw
		if *format != "cloudfront" {
			if conv, err = newConvertWriter(aw, *format); err != nil {
				return err
			}
			w = conv
		}
		truth, err = loggen.Write(w, cfg)
		if cerr := aw.Close(); err == nil {
			err = cerr
		}
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	} else {
		var w io.Writer = cw
		if *format != "cloudfront" {
			if conv, err = newConvertWriter(cw, *format); err != nil {
				return err
			}
			w = conv
		}
		if truth, err = loggen.Write(w, cfg); err != nil {
			return err
		}
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
	}
	if *truthPath != "" {
		b, err := json.MarshalIndent(truth, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*truthPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if *verbose {
		fmt.Fprintf(stderr, "genlogs: %d lines, %d bytes written, %.2fs\n", truth.Lines, cw.n, time.Since(t0).Seconds())
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// asyncWriter hands copies of what it is given to a goroutine that writes
// them to w, so that generating and compressing use two cores.
type asyncWriter struct {
	w    io.Writer
	ch   chan []byte
	free chan []byte
	done chan struct{}
	err  error       // the first write error, set before failed
	fail atomic.Bool // a write failed
}

func newAsyncWriter(w io.Writer) *asyncWriter {
	a := &asyncWriter{w: w, ch: make(chan []byte, 4), free: make(chan []byte, 6), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for b := range a.ch {
			if !a.fail.Load() {
				if _, err := a.w.Write(b); err != nil {
					a.err = err
					a.fail.Store(true)
				}
			}
			a.free <- b[:0]
		}
	}()
	for i := 0; i < 6; i++ {
		a.free <- make([]byte, 0, 256<<10)
	}
	return a
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	if a.fail.Load() {
		return 0, a.err
	}
	b := <-a.free
	b = append(b, p...)
	a.ch <- b
	return len(p), nil
}

// Close waits until everything was written and returns the first error.
func (a *asyncWriter) Close() error {
	close(a.ch)
	<-a.done
	return a.err
}
