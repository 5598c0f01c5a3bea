package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/logformat"
	"github.com/trackless/trackless/internal/matomo"
	"github.com/trackless/trackless/internal/sink"
)

// fakeSink has every input through a fixed line (has), or whole (all),
// and records what it is given.
type fakeSink struct {
	has   int64
	all   bool
	begun []sink.Info
	lines []int64 // of the hits given
	ended []int64 // the last line of each input ended
	mark  input.Mark
	marks []input.Mark // of each input ended
}

func (f *fakeSink) Begin(in sink.Info) (sink.Input, int64, error) {
	f.begun = append(f.begun, in)
	if f.all {
		return nil, 0, nil
	}
	return fakeInput{f}, f.has, nil
}

type fakeInput struct{ f *fakeSink }

func (fi fakeInput) Hit(line int64, h *hit.Hit) error {
	fi.f.lines = append(fi.f.lines, line)
	return nil
}
func (fi fakeInput) Malformed(int64, string) {}
func (fi fakeInput) End(e sink.End) error {
	fi.f.ended = append(fi.f.ended, e.Lines)
	fi.f.marks = append(fi.f.marks, e.Mark)
	return nil
}

// Mark implements sink.Marked: the sink's mark field.
func (fi fakeInput) Mark() input.Mark { return fi.f.mark }

// TestSinksKeepTheirOwnProgress: a run reads an input from the earliest
// line Matomo's ledger or a sink needs; each gets only what it has not:
// a sink added after Matomo has everything gets every hit and Matomo
// nothing, a sink that has the first lines gets the others, and an input
// that Matomo and every sink have whole is not opened.
func TestSinksKeepTheirOwnProgress(t *testing.T) {
	srv, client := newOKServer(t)
	logf := writeLog(t, 300) // line 1 is the header, hits on lines 2-301
	led := testLedger(t)
	var after []string
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		BatchSize: 7, Concurrency: 4, Client: client, Ledger: led, Now: fixedNow,
		OnDone: func(name string) error { after = append(after, name); return nil },
	}
	run := func(sinks ...sink.Sink) *Stats {
		t.Helper()
		o := opt
		o.Sinks = sinks
		st, err := Run(context.Background(), context.Background(), []string{logf}, o)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	fresh := &fakeSink{}
	st := run(fresh)
	if len(srv.items) != 300 || len(fresh.lines) != 300 || fresh.lines[0] != 2 || !slices.IsSorted(fresh.lines) {
		t.Fatalf("first run: Matomo got %d, the sink %d hits (want 300 each, in line order)", len(srv.items), len(fresh.lines))
	}
	if !slices.Equal(fresh.ended, []int64{301}) {
		t.Errorf("the sink was told the input ended at %v, want [301]", fresh.ended)
	}
	if len(after) != 0 || !slices.Equal(st.Delivered, []string{logf}) {
		t.Errorf("with a sink, OnDone must wait for the caller (ran on %v), and Delivered list the input (%v)", after, st.Delivered)
	}
	id, err := input.Open(logf)
	if err != nil {
		t.Fatal(err)
	}
	key := id.Identity.Key()
	id.Close()
	if len(fresh.begun) != 1 || fresh.begun[0].Key != key || fresh.begun[0].Size != id.Identity.Size {
		t.Errorf("the sink was begun with %+v, want the input's key and size", fresh.begun)
	}

	// Matomo has it whole; a sink that has the first 100 lines gets the rest.
	late := &fakeSink{has: 101}
	st = run(late)
	if len(srv.items) != 300 || st.Sent != 0 {
		t.Errorf("Matomo had the input: %d sent again", len(srv.items)-300)
	}
	if len(late.lines) != 200 || late.lines[0] != 102 {
		t.Errorf("a sink through line 101 got %d hits from line %v, want 200 from 102", len(late.lines), first64(late.lines))
	}
	if st.InputsSkipped != 1 || !slices.Equal(st.Delivered, []string{logf}) {
		t.Errorf("skipped %d, delivered %v", st.InputsSkipped, st.Delivered)
	}

	// Everyone has it: not opened, the sink told nothing but Begin.
	whole := &fakeSink{all: true}
	st = run(whole)
	if len(whole.begun) != 1 || st.LinesRead != 0 {
		t.Errorf("an input every output has was read: %d lines", st.LinesRead)
	}

	// Matomo has confirmed lines up to 151 (an interrupted run); a fresh
	// sink makes the run read from the start, and Matomo gets only the
	// hits after line 151.
	if err := led.Put(context.Background(), key, &ledger.Entry{Version: ledger.FormatVersion, Name: logf, Identity: *id.Identity, ConfirmedLine: 151, Updated: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	srv.items = nil
	again := &fakeSink{}
	st = run(again)
	if len(srv.items) != 150 || len(again.lines) != 300 {
		t.Errorf("Matomo through line 151, a fresh sink: Matomo got %d (want 150), the sink %d (want 300)", len(srv.items), len(again.lines))
	}
}

func first64(s []int64) any {
	if len(s) == 0 {
		return "none"
	}
	return s[0]
}

// TestRefusedInputKeepsNothing: an input refused for its format ("format
// unknown") was not read, so every output keeps where it was, and a rerun
// with the format named (as the message advises) sends and counts all of
// it. (The lines the format check looked at used to be recorded as had.)
func TestRefusedInputKeepsNothing(t *testing.T) {
	srv, client := newOKServer(t)
	data, err := os.ReadFile(writeLog(t, 300)) // line 1 is the #Fields header
	if err != nil {
		t.Fatal(err)
	}
	header, body, _ := strings.Cut(string(data), "\n")
	logf := filepath.Join(t.TempDir(), "noheader.log")
	if err := os.WriteFile(logf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	led := testLedger(t)
	fs := &fakeSink{}
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		BatchSize: 7, Concurrency: 2, Client: client, Ledger: led, Now: fixedNow,
		Sinks: []sink.Sink{fs},
	}
	st, err := Run(context.Background(), context.Background(), []string{logf}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.InputsDamaged) != 1 || len(srv.items) != 0 || !slices.Equal(fs.ended, []int64{0}) {
		t.Fatalf("a W3C log without its header, auto: damaged %v, sent %d, the sink told it ended at %v (want 0: nothing read)", st.InputsDamaged, len(srv.items), fs.ended)
	}
	fs.has = fs.ended[0] // the sink keeps where it was told it ended
	opt.Format, opt.Reader, opt.DefaultHost = "w3c", logformat.ReaderOptions{W3CFields: header}, "www.example.com"
	st, err = Run(context.Background(), context.Background(), []string{logf}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.items) != 300 || len(fs.lines) != 300 {
		t.Errorf("rerun with the format named: Matomo got %d hits, the sink %d; want 300 each", len(srv.items), len(fs.lines))
	}
}

// TestMostlyMalformedIsNeverWhole: an input read in the wrong format
// (mostly malformed) is not whole for any output, so no after-delivery
// action touches it; a rerun does not take it for whole either (it finds
// nothing new to read): it is refused again until --force.
func TestMostlyMalformedIsNeverWhole(t *testing.T) {
	_, client := newOKServer(t)
	logf := writeLog(t, 100) // CloudFront lines
	led := testLedger(t)
	var after []string
	fs := &fakeSink{}
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 2}, Classify: classify.Config{RecMode: 2},
		Client: client, Ledger: led, Now: fixedNow, Format: "combined", DefaultHost: "www.example.com",
		OnDone: func(name string) error { after = append(after, name); return nil },
	}
	for run := 1; run <= 3; run++ {
		if run == 3 { // it grew a little: still refused, not forgotten
			f, _ := os.OpenFile(logf, os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("more\nlines\n")
			f.Close()
		}
		st, err := Run(context.Background(), context.Background(), []string{logf}, opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.InputsMostlyMalformed) != 1 || len(after) != 0 {
			t.Fatalf("run %d: mostly malformed %v, after-delivery action on %v", run, st.InputsMostlyMalformed, after)
		}
	}
	// With a sink, the sink is told it failed.
	opt.Force, opt.Sinks, opt.OnDone = true, []sink.Sink{fs}, nil
	st, err := Run(context.Background(), context.Background(), []string{logf}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Delivered) != 0 {
		t.Errorf("a mostly malformed input is listed as delivered: %v", st.Delivered)
	}
	// --force with the right format reads it.
	opt.Format, opt.Sinks = "cloudfront", nil
	if st, err = Run(context.Background(), context.Background(), []string{logf}, opt); err != nil || st.Hits != 100 || len(st.InputsMostlyMalformed) != 0 {
		t.Errorf("--force with the right format: %d hits, %v, %v", st.Hits, st.InputsMostlyMalformed, err)
	}
}

// TestSameInputTwice: an input given twice in one run (or reached under
// two names) is read once: Matomo and every sink get its hits once.
func TestSameInputTwice(t *testing.T) {
	srv, client := newOKServer(t)
	logf := writeLog(t, 50)
	link := filepath.Join(t.TempDir(), "hardlink")
	if err := os.Link(logf, link); err != nil {
		t.Skip("no hard links here:", err)
	}
	fs := &fakeSink{}
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		Client: client, Now: fixedNow, Sinks: []sink.Sink{fs},
	}
	if _, err := Run(context.Background(), context.Background(), []string{logf, logf, link}, opt); err != nil {
		t.Fatal(err)
	}
	if len(srv.items) != 50 || len(fs.lines) != 50 {
		t.Errorf("Matomo got %d hits, the sink %d; want 50 each", len(srv.items), len(fs.lines))
	}
}
