package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/trackless/trackless/internal/atomicfile"
	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/filter"
	"github.com/trackless/trackless/internal/geoip"
	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/lineparse"
	"github.com/trackless/trackless/internal/logformat"
	"github.com/trackless/trackless/internal/report"
	"github.com/trackless/trackless/internal/useragent"
)

// reportConfig holds report's own settings (config.rep).
type reportConfig struct {
	html, json, state, geoip, title string
	keepDays, top, tableSize        int
	checkpoint                      time.Duration
}

// runReport reads logs into per-day aggregates and renders them: an HTML
// file (-o), JSON (--json), or a text summary.
func runReport(env Env, args []string) int {
	var c config
	positional, _, code, ok := parseArgs(env, cmdReport, &c, args)
	if !ok {
		return code
	}
	rc := &c.rep
	fail := func(code int, args ...any) int {
		fmt.Fprintln(env.Stderr, append([]any{"trackless:"}, args...)...)
		return code
	}
	if _, err := logformat.NewReader(c.format, "", c.readerOptions()); err != nil {
		return fail(ExitUsage, "--format:", err)
	}
	if rc.top < 1 || rc.tableSize < 10 || rc.keepDays < 0 {
		return fail(ExitUsage, "--top must be at least 1, --table-size at least 10, --keep-days at least 0")
	}
	if rc.keepDays > 0 && rc.state == "" {
		return fail(ExitUsage, "--keep-days needs --state")
	}
	for _, out := range []struct{ flag, path string }{{"-o", rc.html}, {"--json", rc.json}} {
		if out.path == "" || out.path == "-" {
			continue
		}
		if st, err := os.Stat(filepath.Dir(out.path)); err != nil || !st.IsDir() {
			return fail(ExitUsage, fmt.Sprintf("%s %s: the directory %s does not exist", out.flag, out.path, filepath.Dir(out.path)))
		}
	}
	filter, rng, err := c.readFilter()
	if err != nil {
		return fail(ExitUsage, err)
	}
	log, err := newLogger(env.Stderr, c.logLevel)
	if err != nil {
		return fail(ExitUsage, err)
	}
	if c.cpuProfile != "" {
		stop, err := startCPUProfile(c.cpuProfile)
		if err != nil {
			return fail(ExitUsage, err)
		}
		defer stop()
	}
	ctx, _, stop := signalContexts(log)
	defer stop()
	// The report holds the day's visitors: a tighter garbage collector
	// than send's keeps the peak near the live heap (GOGC and GOMEMLIMIT,
	// when set, win).
	if env.Getenv("GOGC") == "" {
		debug.SetGCPercent(100)
	}
	if env.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(reportMemoryLimit)
	}

	rr := &reportRun{log: log, filter: filter, c: &c, entries: map[string]*report.InputEntry{}}
	opt := report.Options{
		Classify:      classify.Config{DocumentRegex: c.docRe, URLExcludeRegex: c.excludeRe},
		DefaultScheme: c.defScheme, DefaultHost: c.defHost, TableSize: rc.tableSize,
	}
	var uap *useragent.Parser // made when first needed: compiling uap-core's rules takes a while
	opt.ParseUA = func(ua string) (string, string, string) {
		if uap == nil {
			if uap, err = useragent.New(20000); err != nil {
				log.Error("user-agent parser", "error", err)
				return "Other", "Other", useragent.DeviceOther
			}
		}
		i := uap.Parse(ua)
		return i.Browser, i.OS, i.Device
	}
	if rc.geoip != "" {
		db, err := geoip.Open(rc.geoip)
		if err != nil {
			return fail(ExitUsage, "--geoip:", err)
		}
		defer db.Close()
		opt.Country = func(ip string) string { return db.Country(ip).Code }
	}
	if rc.state != "" {
		st, err := report.OpenState(rc.state, rc.tableSize)
		if err != nil {
			return fail(ExitFatal, err)
		}
		defer st.Close()
		rr.state = st
		opt.TableSize = st.TableSize()
		opt.Load = st.Load
		if dates := st.Dates(); rc.keepDays > 0 && len(dates) > 0 {
			opt.MinDate = dates[len(dates)-1] - int32(rc.keepDays) + 1
		}
	}
	if rr.agg, err = report.New(opt); err != nil {
		return fail(ExitUsage, err)
	}
	j := &job{c: &c, log: log, stderr: env.Stderr, rng: rng}
	set := &inputSet{}
	if len(positional) > 0 || rr.state == nil { // with a state and no input: the report of the state
		if set, err = j.resolve(ctx, positional); err != nil {
			return fail(ExitUsage, err)
		}
		jo := j.options(set)
		rr.open, rr.identify = jo.Open, jo.Identify
	}
	rr.checkpoint = rc.checkpoint
	rr.keepDays = rc.keepDays

	runErr := rr.read(ctx, set.names)
	days := rr.agg.Days()
	all := days
	if rr.state != nil && !errors.Is(runErr, errState) {
		if err := rr.commit(days); err != nil {
			runErr = err
		}
		if all, err = rr.stateDays(days); err != nil && runErr == nil {
			runErr = err
		}
	}
	inputs := rr.entries
	if rr.state != nil {
		inputs = rr.state.Inputs()
	}
	rep := report.Build(all, report.Meta{Version: Version, Generated: time.Now(), Top: rc.top, TableSize: opt.TableSize, Inputs: inputs, Title: rc.title})
	if err := writeReport(env, *rc, rep); err != nil {
		return fail(ExitFatal, err)
	}
	code = ExitOK
	switch {
	case errors.Is(runErr, context.Canceled):
		code = ExitInterrupted
	case runErr != nil:
		fmt.Fprintln(env.Stderr, "trackless:", runErr)
		code = ExitFatal
	case len(rr.damaged) > 0:
		code = ExitUndelivered
	}
	rr.printSummary(env.Stderr)
	return code
}

// reportMemoryLimit is the report's soft memory limit unless GOMEMLIMIT
// is set: the garbage collector works harder as the heap nears it (a live
// heap above it is allowed; it only costs CPU).
const reportMemoryLimit = 192 << 20

// errState marks an error of the state directory: nothing is committed.
var errState = errors.New("report state")

// writeReport writes the outputs the flags ask for: HTML, JSON, or else the
// text summary on stdout.
func writeReport(env Env, rc reportConfig, rep *report.Report) error {
	if rc.json != "" {
		data, err := json.MarshalIndent(rep, "", " ")
		if err != nil {
			return err
		}
		data = append(data, '\n')
		if rc.json == "-" {
			if _, err := env.Stdout.Write(data); err != nil {
				return err
			}
		} else if err := atomicfile.WriteFile(rc.json, data, 0o644); err != nil {
			return fmt.Errorf("--json %s (the previous file, if any, is left as it was): %w", rc.json, err)
		}
	}
	if rc.html != "" {
		// Whole or not at all: a full disk leaves the previous report.
		f, err := atomicfile.Create(rc.html, 0o644)
		if err != nil {
			return fmt.Errorf("-o: %w", err)
		}
		defer f.Abort()
		if err := report.WriteHTML(f, rep); err != nil {
			return fmt.Errorf("-o %s (the previous file, if any, is left as it was): %w", rc.html, err)
		}
		if err := f.Commit(); err != nil {
			return fmt.Errorf("-o %s (the previous file, if any, is left as it was): %w", rc.html, err)
		}
	}
	if rc.html == "" && rc.json == "" {
		return report.WriteText(env.Stdout, rep)
	}
	return nil
}

// reportRun reads inputs into an aggregator and records them in the state.
type reportRun struct {
	c          *config
	log        *slog.Logger
	filter     filter.Filter
	agg        *report.Aggregator
	state      *report.State
	open       func(context.Context, string) (*input.Input, error)
	identify   func(string) *input.Identity
	checkpoint time.Duration
	keepDays   int

	entries  map[string]*report.InputEntry // this run's inputs, by ledger key (or name for stdin)
	lastSave time.Time

	inputs, skipped int
	damaged         []string
	lines, hits     int64
	malformed       map[string]int64
	excluded        int64
	loadErr         error // a day of the state could not be read
}

func (rr *reportRun) openInput(ctx context.Context, name string) (*input.Input, error) {
	switch {
	case name == "-":
		return input.FromReader("-", os.Stdin)
	case rr.open != nil:
		return rr.open(ctx, name)
	}
	return input.OpenContext(ctx, name)
}

// read counts the inputs one after the other (each is decompressed and
// parsed in goroutines of its own, ahead of the counting).
func (rr *reportRun) read(ctx context.Context, names []string) error {
	rr.lastSave = time.Now()
	rr.malformed = map[string]int64{}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := rr.readInput(ctx, name); err != nil {
			return err
		}
		if rr.state != nil && rr.checkpoint > 0 && time.Since(rr.lastSave) > rr.checkpoint {
			if err := rr.commit(rr.agg.Days()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (rr *reportRun) readInput(ctx context.Context, name string) error {
	rr.inputs++
	var key string
	var prev *report.InputEntry
	if rr.identify != nil {
		if id := rr.identify(name); id != nil {
			key = id.Key()
			if rr.state != nil {
				prev = rr.state.Input(key)
				if prev != nil && prev.Done && prev.Size == id.Size {
					rr.log.Info("input already counted", "input", name)
					rr.skipped++
					return nil
				}
			}
		}
	}
	in, err := rr.openInput(ctx, name)
	if errors.Is(err, input.ErrSuperseded) {
		rr.log.Warn("input skipped", "input", name, "reason", err)
		return nil
	}
	if err != nil {
		rr.log.Error("cannot read input", "input", name, "error", err)
		rr.damaged = append(rr.damaged, name)
		return nil
	}
	defer in.Close()
	if key == "" && in.Identity != nil {
		key = in.Identity.Key()
		if rr.state != nil {
			prev = rr.state.Input(key)
		}
	}
	var size int64
	if in.Identity != nil {
		size = in.Identity.Size
	}
	e := &report.InputEntry{Name: name, Size: size, Malformed: map[string]int64{}}
	if prev != nil {
		switch {
		case prev.Done && prev.Size == size:
			rr.log.Info("input already counted", "input", name)
			rr.skipped++
			return nil
		case size < prev.Size:
			rr.log.Error("input is smaller than when it was counted: not counted again", "input", name)
			rr.damaged = append(rr.damaged, name)
			return nil
		}
		*e = *prev
		e.Name, e.Size, e.Done, e.Failed = name, size, false, ""
		e.Malformed = map[string]int64{}
		for k, v := range prev.Malformed {
			e.Malformed[k] = v
		}
		rr.log.Info("input grew: counting what follows", "input", name, "after_line", prev.Lines)
	}
	if key == "" {
		key = "name:" + name
		if rr.state != nil {
			rr.log.Warn("input has no identity (stdin): counted again on every run", "input", name)
		}
	}
	rr.entries[key] = e
	reader, err := logformat.NewReader(rr.c.format, name, rr.c.readerOptions())
	if err != nil {
		return err
	}
	lines := in.Lines()
	defer lines.Close()
	ahead := lineparse.Start(lines, reader, e.Lines)
	defer ahead.Stop()
	warned := 0
	lastDate := int32(-1 << 31)
	if t, err := time.Parse(time.DateOnly, e.LastDate); err == nil {
		lastDate = report.DateOf(t)
	}
	defer func() {
		if lastDate > -1<<31 {
			e.LastDate = report.DayString(lastDate)
		}
	}()
	for {
		var b *lineparse.Batch
		select {
		case b = <-ahead.Out:
		case <-ctx.Done():
			return ctx.Err()
		}
		for i := range b.Lines {
			pl := &b.Lines[i]
			switch pl.Kind {
			case lineparse.Hit:
				if d := rr.hit(e, &pl.H); d > lastDate {
					lastDate = d
				}
			case lineparse.Bad, lineparse.TooLong:
				reason := logformat.ReasonLineTooLong
				var pe *logformat.ParseError
				if errors.As(pl.Err, &pe) {
					reason = pe.Reason
				}
				e.Malformed[reason]++
				rr.malformed[reason]++
				if warned++; warned <= 5 {
					rr.log.Warn("malformed line", "input", name, "line", pl.Line, "reason", reason)
				}
			}
			if pl.Kind != lineparse.Resumed {
				rr.lines++
			}
			e.Lines = pl.Line
		}
		if rr.loadErr != nil {
			return fmt.Errorf("%w: %v", errState, rr.loadErr)
		}
		if b.End {
			e.Lines = max(e.Lines, b.Last)
			switch {
			case b.Unknown != nil:
				rr.log.Error("input not read: its format is unknown", "input", name, "error", b.Unknown.Error())
				e.Failed = "format unknown: " + b.Unknown.Error()
				rr.damaged = append(rr.damaged, name)
			case b.Damage != nil:
				rr.log.Error("input is damaged: lines before the damage were counted", "input", name, "after_line", b.Last, "error", b.Damage)
				e.Failed = fmt.Sprintf("damaged after line %d: %v", b.Last, b.Damage)
				rr.damaged = append(rr.damaged, name)
			default:
				e.Done = true
			}
			e.Counted = time.Now().UTC()
			return nil
		}
		ahead.Recycle(b)
	}
}

// hit counts a hit of an input; it returns the hit's date, or the lowest
// date for a hit left out.
func (rr *reportRun) hit(e *report.InputEntry, h *hit.Hit) int32 {
	const none = -1 << 31
	rr.hits++
	e.Hits++
	rr.filter.Apply(h)
	host := h.Host
	if host == "" {
		host = rr.c.defHost
	}
	if rr.filter.Skip(h, host) != "" {
		e.Excluded++
		rr.excluded++
		return none
	}
	ok, err := rr.agg.Add(h)
	if err != nil {
		rr.loadErr = err
		return none
	}
	if !ok {
		e.Excluded++
		rr.excluded++
		return none
	}
	return report.DateOf(h.Time)
}

// minDate is the first day --keep-days keeps: counted back from the newest
// day of the state and of this run.
func (rr *reportRun) minDate(days []*report.Day) int32 {
	if rr.keepDays <= 0 {
		return 0
	}
	newest := int32(-1 << 31)
	for _, d := range days {
		newest = max(newest, d.Date)
	}
	if dates := rr.state.Dates(); len(dates) > 0 {
		newest = max(newest, dates[len(dates)-1])
	}
	return newest - int32(rr.keepDays) + 1
}

// commit saves the days counted so far and this run's inputs.
func (rr *reportRun) commit(days []*report.Day) error {
	if err := rr.state.Commit(days, rr.entries, rr.minDate(days)); err != nil {
		return fmt.Errorf("%w: %v", errState, err)
	}
	rr.lastSave = time.Now()
	return nil
}

// stateDays returns every day the state keeps: those counted by this run
// as they are in memory, the others' summaries read from the state.
func (rr *reportRun) stateDays(touched []*report.Day) ([]*report.Day, error) {
	byDate := map[int32]*report.Day{}
	for _, d := range touched {
		byDate[d.Date] = d
	}
	var out []*report.Day
	for _, date := range rr.state.Dates() {
		if d := byDate[date]; d != nil {
			out = append(out, d)
			continue
		}
		d, err := rr.state.Summary(date)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errState, err)
		}
		if d != nil {
			out = append(out, d)
		}
	}
	return out, nil
}

// printSummary writes what the run read on w.
func (rr *reportRun) printSummary(w io.Writer) {
	fmt.Fprintf(w, "report: %s", plural(rr.inputs, "input", "inputs"))
	if rr.skipped > 0 {
		fmt.Fprintf(w, " (%d already counted)", rr.skipped)
	}
	fmt.Fprintf(w, ", %s, %s", plural(rr.lines, "line", "lines"), plural(rr.hits, "hit", "hits"))
	if rr.excluded > 0 {
		fmt.Fprintf(w, ", %d excluded", rr.excluded)
	}
	var bad int64
	for _, n := range rr.malformed {
		bad += n
	}
	if bad > 0 {
		fmt.Fprintf(w, ", %d malformed (%s)", bad, counts(rr.malformed))
	}
	fmt.Fprintln(w)
	for _, d := range rr.damaged {
		fmt.Fprintln(w, "  not read whole:", d)
	}
}
