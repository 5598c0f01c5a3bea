package report

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/filter"
	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/sink"
)

// ErrState marks an error of the state directory: nothing more is
// committed.
var ErrState = errors.New("report state")

// SinkOptions configure a Sink.
type SinkOptions struct {
	// Filter leaves hits out of the report (the reading flags); hits it
	// skips are counted as excluded.
	Filter filter.Filter
	// DefaultHost is the host of hits whose log has none.
	DefaultHost string
	// State, if set, keeps the days and the inputs counted: an input
	// counted whole is not counted again, a grown one is counted from
	// where it was left.
	State *State
	// Checkpoint, with a State, commits the days and inputs counted so far
	// when an input ends and this long has passed since the last commit
	// (0: only Commit commits).
	Checkpoint time.Duration
	// KeepDays, with a State, keeps that many days back from the newest
	// (0: all).
	KeepDays int
	// Force counts every input again, whatever the State says of it.
	Force bool
	// Alongside: the sink runs beside another output (send --report-state),
	// and an error of its state stops only the sink: it takes no more
	// hits and commits nothing, Err and Commit report the error, and the
	// other output goes on. Without it, the error stops the run.
	Alongside bool
	Log       *slog.Logger
	Now       func() time.Time // the time recorded for an input counted
}

// Sink counts the hits of a run into an Aggregator (a sink.Sink) and,
// with a State, records each input's progress there: the state is the
// sink's checkpoint, committed with the days it counted.
type Sink struct {
	agg *Aggregator
	opt SinkOptions

	entries  map[string]*InputEntry // this run's inputs, by key (or name for stdin)
	lastSave time.Time
	err      error // a day of the state could not be loaded
	dirty    bool  // something was counted since the last commit

	// whole: the inputs, by name, the sink has whole (counted by this run
	// or an earlier one).
	whole   map[string]bool
	counted int // inputs counted whole by this run
	// Skipped counts inputs the state has whole already.
	Skipped int
	// Damaged lists inputs not counted whole (smaller than when they
	// were counted, damaged, format unknown).
	Damaged []string
	// Excluded counts hits the filter or KeepDays left out.
	Excluded int64
}

// NewSink returns a sink that counts into agg.
func NewSink(agg *Aggregator, opt SinkOptions) *Sink {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Sink{agg: agg, opt: opt, entries: map[string]*InputEntry{}, whole: map[string]bool{}, lastSave: opt.Now()}
}

// Begin implements sink.Sink.
func (s *Sink) Begin(in sink.Info) (sink.Input, int64, error) {
	if s.err != nil {
		return nil, 0, s.stopped()
	}
	key := in.Key
	var prev *InputEntry
	var oldKey string
	var byContent bool
	if key != "" && s.opt.State != nil && !s.opt.Force {
		prev, oldKey, byContent = s.lookup(in)
	}
	e := &InputEntry{Name: in.Name, Size: in.Size, Malformed: map[string]int64{}}
	if prev != nil {
		switch {
		case byContent:
			// The content of a file counted before (it, compressed or
			// copied by a rotation): its size says nothing; counted on
			// after the lines counted of it.
			s.opt.Log.Info("input known by its content (a rotated file compressed or copied): counting on after what was counted of it", "input", in.Name)
		case prev.Done && prev.Size == in.Size:
			s.opt.Log.Info("input already counted", "input", in.Name)
			s.Skipped++
			s.whole[in.Name] = true
			return nil, 0, nil
		case sink.NotALog(prev.Failed):
			s.opt.Log.Error("input not counted again: an earlier run found it "+prev.Failed+"; to count it with another --format: --force", "input", in.Name)
			s.Damaged = append(s.Damaged, in.Name)
			return nil, 0, nil
		case in.Size < prev.Size:
			s.opt.Log.Error("input is smaller than when it was counted: not counted again", "input", in.Name)
			s.Damaged = append(s.Damaged, in.Name)
			return nil, 0, nil
		}
		*e = *prev
		e.Name, e.Size, e.Done, e.Failed = in.Name, in.Size, false, ""
		e.Malformed = map[string]int64{}
		for k, v := range prev.Malformed {
			e.Malformed[k] = v
		}
		if byContent {
			// Another file: its own first bytes, no place in it known,
			// and nothing counted of it yet.
			e.Mark, e.From = nil, prev.Lines
			e.Hits, e.Excluded, e.Malformed = 0, 0, map[string]int64{}
		} else {
			s.opt.Log.Info("input grew: counting what follows", "input", in.Name, "after_line", prev.Lines)
		}
	}
	if key == "" {
		key = "name:" + in.Name
		if s.opt.State != nil {
			s.opt.Log.Warn("input has no identity (stdin): counted again on every run", "input", in.Name)
		}
	}
	e.Fingerprint, e.FingerprintLen = in.Fingerprint, in.FingerprintLen
	si := &sinkInput{s: s, key: key, oldKey: oldKey, alias: in.Alias, e: e, lastDate: -1 << 31}
	if t, err := time.Parse(time.DateOnly, e.LastDate); err == nil {
		si.lastDate = DateOf(t)
	}
	return si, e.Lines, nil
}

// lookup finds what the state recorded of an input: under its key, or
// under a key it had before (a file grown past input.FingerprintSize);
// oldKey is that other key. An entry is the input's only if the input
// still starts with the bytes it recorded (an entry of before this check,
// without them, is taken as it is).
func (s *Sink) lookup(in sink.Info) (prev *InputEntry, oldKey string, byContent bool) {
	key, byContent, _ := sink.Find(in, func(k string) (*sink.Recorded, error) {
		if p := s.opt.State.Input(k); p != nil {
			return &sink.Recorded{Fingerprint: p.Fingerprint, FingerprintLen: p.FingerprintLen, Lines: p.Lines}, nil
		}
		return nil, nil
	})
	if key == "" {
		return nil, "", false
	}
	if !byContent && key != in.Key {
		oldKey = key
	}
	return s.opt.State.Input(key), oldKey, byContent
}

// sinkInput counts one input.
type sinkInput struct {
	s        *Sink
	key      string
	oldKey   string // the key the input was recorded under before (see lookup)
	alias    string // the key its entry is also recorded under (sink.Info.Alias)
	e        *InputEntry
	lastDate int32
	listed   bool // e is in s.entries
}

// list records the input's entry, once it has something to say (an input
// that cannot be opened leaves none).
func (si *sinkInput) list() {
	si.s.dirty = true
	if !si.listed {
		si.s.entries[si.key] = si.e
		if si.oldKey != "" {
			si.s.entries[si.oldKey] = nil // recorded under its key from now on
		}
		if si.alias != "" {
			si.s.entries[si.alias] = si.e // the same entry: known by its content too
		}
		si.listed = true
	}
}

func (si *sinkInput) Hit(line int64, h *hit.Hit) error {
	if si.s.err != nil {
		return si.s.stopped()
	}
	si.list()
	s, e := si.s, si.e
	e.Hits++
	e.Lines = line
	host := h.Host
	if host == "" {
		host = s.opt.DefaultHost
	}
	if s.opt.Filter.Skip(h, host) != "" {
		e.Excluded++
		s.Excluded++
		return nil
	}
	ok, err := s.agg.Add(h)
	if err != nil {
		s.fail(err)
		return s.stopped()
	}
	if !ok {
		e.Excluded++
		s.Excluded++
		return nil
	}
	if d := s.agg.Date(h.Time); d > si.lastDate {
		si.lastDate = d
		e.LastDate = DayString(d)
	}
	return nil
}

func (si *sinkInput) Malformed(line int64, reason string) {
	si.list()
	si.e.Malformed[reason]++
	si.e.Lines = line
}

// Mark implements sink.Marked: where a line counted before ends.
func (si *sinkInput) Mark() input.Mark {
	if m := si.e.Mark; m != nil && m.Line <= si.e.Lines {
		return *m
	}
	return input.Mark{}
}

// Start implements sink.Started.
func (si *sinkInput) Start(m input.Mark) {
	si.list()
	if si.e.Mark == nil {
		si.e.Mark = &m
	}
}

func (si *sinkInput) End(end sink.End) error {
	si.list()
	s, e := si.s, si.e
	e.Lines = max(e.Lines, end.Lines)
	if m := end.Mark; m.Valid() && m.Line == e.Lines {
		e.Mark = &m
	}
	e.Failed = end.Failed
	if end.FingerprintLen > e.FingerprintLen {
		e.Fingerprint, e.FingerprintLen = end.Fingerprint, end.FingerprintLen
	}
	e.Done = end.Whole()
	switch {
	case end.Failed != "":
		s.Damaged = append(s.Damaged, e.Name)
	case e.Done:
		s.whole[e.Name] = true
		s.counted++
	}
	e.Counted = s.opt.Now().UTC()
	if s.err == nil && s.opt.State != nil && s.opt.Checkpoint > 0 && s.opt.Now().Sub(s.lastSave) > s.opt.Checkpoint {
		s.Commit()
		return s.stopped()
	}
	return nil
}

// fail stops the sink on an error of its state.
func (s *Sink) fail(err error) {
	if s.err == nil {
		s.err = fmt.Errorf("%w: %v", ErrState, err)
		if s.opt.Alongside {
			s.opt.Log.Error("the report state cannot be updated: it is left as it was, the run goes on without it", "error", err)
		}
	}
}

// stopped is what the sink answers once stopped: its error, or nil
// alongside another output.
func (s *Sink) stopped() error {
	if s.err == nil || s.opt.Alongside {
		return nil
	}
	return s.err
}

// Counted is the number of inputs this run counted whole.
func (s *Sink) Counted() int { return s.counted }

// Err is the error that stopped the sink (ErrState), or nil.
func (s *Sink) Err() error { return s.err }

// Inputs are the entries of the inputs counted: of the state, with its
// State, or of this run.
func (s *Sink) Inputs() map[string]*InputEntry {
	if s.opt.State != nil {
		return s.opt.State.Inputs()
	}
	out := make(map[string]*InputEntry, len(s.entries))
	for k, e := range s.entries {
		if !strings.HasPrefix(k, AliasPrefix) {
			out[k] = e
		}
	}
	return out
}

// Commit saves the days counted so far and this run's inputs in the state
// (without one, it does nothing). After a state error it commits nothing;
// with nothing counted since the last commit, it leaves the state as it is
// (but for KeepDays, which may drop days).
func (s *Sink) Commit() error {
	if s.opt.State == nil || s.err != nil || (!s.dirty && s.opt.KeepDays <= 0) {
		return s.err
	}
	days := s.agg.Days()
	if err := s.opt.State.Commit(days, s.entries, s.minDate(days)); err != nil {
		s.fail(err)
		return s.err
	}
	s.lastSave = s.opt.Now()
	s.dirty = false
	return nil
}

// minDate is the first day KeepDays keeps: counted back from the newest
// day of the state and of this run.
func (s *Sink) minDate(days []*Day) int32 {
	if s.opt.KeepDays <= 0 {
		return 0
	}
	newest := int32(-1 << 31)
	for _, d := range days {
		newest = max(newest, d.Date)
	}
	if dates := s.opt.State.Dates(); len(dates) > 0 {
		newest = max(newest, dates[len(dates)-1])
	}
	return newest - int32(s.opt.KeepDays) + 1
}

// Days returns the days to report: with a State, every day it keeps
// (those counted by this run as they are in memory, the others' summaries
// read from the state); without, the days counted.
func (s *Sink) Days() ([]*Day, error) {
	touched := s.agg.Days()
	if s.opt.State == nil {
		return touched, nil
	}
	byKey := map[DayKey]*Day{}
	for _, d := range touched {
		byKey[d.Key()] = d
	}
	var out []*Day
	for _, k := range s.opt.State.Days() {
		if d := byKey[k]; d != nil {
			out = append(out, d)
			continue
		}
		d, err := s.opt.State.Summary(k)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrState, err)
		}
		if d != nil {
			out = append(out, d)
		}
	}
	return out, nil
}

// HasWhole reports whether the sink has an input whole: counted whole by
// this run, or by an earlier one (for after-delivery actions: once
// Commit succeeded, it is durable).
func (s *Sink) HasWhole(name string) bool { return s.whole[name] }
