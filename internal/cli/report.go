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
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/filter"
	"github.com/trackless/trackless/internal/geoip"
	"github.com/trackless/trackless/internal/logformat"
	"github.com/trackless/trackless/internal/pipeline"
	"github.com/trackless/trackless/internal/report"
	"github.com/trackless/trackless/internal/s3src"
	"github.com/trackless/trackless/internal/sink"
	"github.com/trackless/trackless/internal/source"
	"github.com/trackless/trackless/internal/useragent"
)

// reportConfig holds report's own settings (config.rep).
type reportConfig struct {
	html, json, state, geoip, title string
	timezone, host, from, to        string
	reportOut                       string        // the Lambda's TRACKLESS_REPORT_OUT
	reportEvery                     time.Duration // the Lambda's TRACKLESS_REPORT_EVERY
	byHost                          bool
	params                          listFlag
	reportState                     string // send's --report-state
	keepDays, top, tableSize        int
	checkpoint, refresh             time.Duration
	live                            bool // the HTML reloads itself every refresh (report --follow)
}

// runReport reads logs into per-day aggregates and renders them: an HTML
// file (-o), JSON (--json), or a text summary.
func runReport(env Env, args []string) error {
	var c config
	positional, _, err := parseCommand(env, cmdReport, &c, args)
	if err != nil {
		return err
	}
	rc := &c.rep
	if _, err := logformat.NewReader(c.format, "", c.readerOptions()); err != nil {
		return usagef("--format: %v", err)
	}
	if rc.top < 1 {
		return usagef("--top must be at least 1")
	}
	// The period's days are read before anything is: a typo fails now.
	for _, d := range []struct{ flag, v string }{{"--from", rc.from}, {"--to", rc.to}} {
		if d.v != "" {
			if _, _, err := parseDay(d.v, 0); err != nil {
				return usagef("%s: %v", d.flag, err)
			}
		}
	}
	if _, err := report.LoadZone(rc.timezone); err != nil {
		return usagef("--timezone: %v", err)
	}
	if err := rc.validateParams(); err != nil {
		return usageError(err)
	}
	if rc.byHost && rc.host != "" {
		return usagef("--by-host reports every host (an index and a page each), --host one of them: give one of the two")
	}
	if rc.html == "-" && rc.json == "-" {
		return usagef("-o - and --json - both write to stdout: give one of them a file")
	}
	if rc.byHost && (rc.html == "-" || rc.json == "-") {
		return usagef("--by-host writes a page per host beside the index: -o and --json need a file name, not -")
	}
	if err := rc.validate(rc.state, "--state"); err != nil {
		return usageError(err)
	}
	for _, out := range []struct{ flag, path string }{{"-o", rc.html}, {"--json", rc.json}} {
		if out.path == "" || out.path == "-" {
			continue
		}
		if st, err := os.Stat(filepath.Dir(out.path)); err != nil || !st.IsDir() {
			return usagef("%s %s: the directory %s does not exist", out.flag, out.path, filepath.Dir(out.path))
		}
	}
	filter, rng, log, stopProfile, err := c.readSetup(env)
	if err != nil {
		return err
	}
	defer stopProfile()
	ctx, _, stop := signalContexts(log, c.follow)
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

	if c.follow && (rc.state == "" || rc.html == "" || rc.refresh <= 0) {
		return usagef("report --follow needs --state DIR, -o FILE and a positive --refresh")
	}
	if c.follow && s3src.IsURL(rc.state) {
		return usagef("report --follow keeps its state in a directory (--state DIR): it follows live logs on this machine")
	}
	if len(positional) == 0 && rc.state != "" && !s3src.IsURL(rc.state) && !report.StateExists(rc.state) {
		// Nothing to read and nothing counted: a mistyped path would
		// otherwise give an empty report.
		return usagef("--state %s: no report state there yet (nothing was counted into it): give inputs to start one, or check the path", rc.state)
	}
	j := &job{c: &c, log: log, stderr: env.Stderr, rng: rng, opt: pipeline.Options{Dedup: pipeline.NewDedup()}}
	ro, err := c.openReport(ctx, rc.state, j.s3Client, filter, false, nil, log)
	if err != nil {
		return err
	}
	defer ro.close()
	sk, state := ro.sink, ro.state
	if len(positional) == 0 && state != nil && len(state.Days()) == 0 && len(state.Inputs()) == 0 {
		return usagef("--state %s: no report state there yet (nothing was counted into it): give inputs to start one, or check the path", rc.state)
	}
	if c.follow {
		return j.followReport(ctx, env, ro, positional, filter)
	}
	set := &source.Set{}
	if len(positional) > 0 || state == nil { // with a state and no input: the report of the state
		if set, err = j.resolve(ctx, positional); err != nil {
			return usageError(err)
		}
	}
	if state != nil && !s3src.IsURL(rc.state) {
		// A live log given by its path: the rest of the file it was
		// before a rotation is counted too (the paths are recorded in the
		// state directory; a state in S3 reads no live log).
		rot := reportRotations(state, log, env.Stderr)
		given := slices.Clone(set.Names)
		rot.add(ctx, set)
		rot.record(given)
	}
	popt := j.options(set)
	popt = pipeline.Options{
		SinksOnly: true, Sinks: []sink.Sink{sk}, WholeLines: state != nil,
		Format: c.format, Reader: c.readerOptions(), Filter: filter,
		Open: popt.Open, Identify: popt.Identify, Log: log, Dedup: popt.Dedup,
	}
	stats, runErr := pipeline.Run(ctx, ctx, set.Names, popt)
	if state != nil && !errors.Is(runErr, report.ErrState) {
		if err := sk.Commit(); err != nil {
			runErr = err
		}
	}
	days, err := sk.Days()
	if err != nil && runErr == nil {
		runErr = err
	}
	now := time.Now()
	out, err := ro.render(env, *rc, days, report.Meta{Version: Version, Generated: now, Top: rc.top, TableSize: ro.tableSize, Inputs: sk.Inputs(), Title: rc.title}, now)
	if err != nil {
		var e *exitError
		if errors.As(err, &e) {
			return err
		}
		return fatalError(err)
	}
	damaged := union(stats.InputsDamaged, sk.Damaged)
	code := readExitCode(env, runErr, damaged)
	if out.empty() && (rc.from != "" || rc.to != "") && out.avail[0] != "" {
		fmt.Fprintf(env.Stderr, "trackless: no hits in the period asked for (--from %q --to %q): the days counted are %s to %s\n", rc.from, rc.to, out.avail[0], out.avail[1])
	}
	if len(set.Names) == 0 && state != nil {
		// The report of a state: what it covers.
		fmt.Fprintf(env.Stderr, "report of the state %s: %s counted, %s", rc.state, plural(len(sk.Inputs()), "input", "inputs"), out.what())
		fmt.Fprintln(env.Stderr)
		return said(code)
	}
	printReportSummary(env.Stderr, len(set.Names), stats, sk, damaged)
	for _, w := range stats.InputsWaiting {
		fmt.Fprintln(env.Stderr, "  last line still being written (counted by a later run, once complete):", w)
	}
	return said(code)
}

// validateParams checks the paths of --params: a request's path, without
// host, query or pattern.
func (rc *reportConfig) validateParams() error {
	for _, p := range rc.params {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?*#") {
			return fmt.Errorf("--params %q: give the path of the requests, from its first /, without query string or pattern (--params /pixel.gif)", p)
		}
	}
	return nil
}

// validate checks the report's settings that send shares; state is the
// state directory, named flag.
func (rc *reportConfig) validate(state, flag string) error {
	if err := rc.validateParams(); err != nil {
		return err
	}
	if rc.tableSize < 10 || rc.keepDays < 0 {
		return errors.New("--table-size must be at least 10, --keep-days at least 0")
	}
	if rc.keepDays > 0 && state == "" {
		return fmt.Errorf("--keep-days needs %s", flag)
	}
	return nil
}

// reportOutput is the report's aggregator, as a sink of a run, with its
// state when one is kept.
type reportOutput struct {
	sink      *report.Sink
	state     *report.State // nil: none
	tableSize int
	dir       string // the state's directory, "" for none
	zone      *time.Location
	byHost    bool // days are counted per host
	closers   []func() error
}

// openReport builds the report's sink from the report settings; dir is
// its state directory ("" for none). alongside: the report goes with
// Matomo (send --report-state, the Lambda), and an error of the state
// stops only the report. With wait, a state another process holds is
// waited for until ctx ends (Lambda invocations take turns); without, it
// is an error at once (a fatalError; a bad setting is a
// usageError).
//
// dir may be s3://BUCKET/PREFIX/: the state is then there (see
// report.OpenStateS3), with the client s3c gives.
func (c *config) openReport(ctx context.Context, dir string, s3c func(context.Context) (*s3.Client, error), flt filter.Filter, alongside bool, wait context.Context, log *slog.Logger) (_ *reportOutput, err error) {
	rc := &c.rep
	ro := &reportOutput{tableSize: rc.tableSize, dir: dir}
	defer func() {
		if err != nil {
			ro.close() // what was opened before the error
		}
	}()
	opt := report.Options{
		Classify:      classify.Config{DocumentRegex: c.docRe, URLExcludeRegex: c.excludeRe},
		DefaultScheme: c.defScheme, DefaultHost: c.defHost, TableSize: rc.tableSize,
		ParseUA: lazyUAParser(log),
	}
	if rc.geoip != "" {
		db, err := geoip.Open(rc.geoip)
		if err != nil {
			return nil, usagef("--geoip: %v", err)
		}
		ro.closers = append(ro.closers, db.Close)
		opt.Country = func(ip string) string { return db.Country(ip).Code }
	}
	if opt.Zone, err = report.LoadZone(rc.timezone); err != nil {
		return nil, usagef("--timezone: %v", err)
	}
	// --host reports one host: its days are counted apart.
	opt.ByHost, opt.ParamPaths = rc.byHost || rc.host != "", rc.params
	if dir != "" {
		so := report.StateOptions{TableSize: rc.tableSize, Timezone: rc.timezone, ByHost: opt.ByHost}
		switch {
		case s3src.IsURL(dir):
			bucket, prefix, perr := s3src.ParseURL(dir)
			if perr != nil {
				return nil, usagef("report state %s: %v", dir, perr)
			}
			client, cerr := s3c(ctx)
			if cerr != nil {
				return nil, fatalError(fmt.Errorf("report state %s: %w", dir, cerr))
			}
			ro.state, err = report.OpenStateS3(ctx, client, bucket, prefix, so, wait, log)
		case wait != nil:
			ro.state, err = report.OpenStateWait(wait, dir, so)
		default:
			ro.state, err = report.OpenState(dir, so)
		}
		if errors.Is(err, report.ErrStateMismatch) {
			return nil, usageError(err)
		}
		if err != nil {
			return nil, fatalError(err)
		}
		ro.closers = append(ro.closers, ro.state.Close)
		opt.TableSize = ro.state.TableSize()
		opt.Zone, opt.ByHost = ro.state.Zone(), ro.state.ByHost()
		opt.Load = ro.state.Load
		if dates := ro.state.Dates(); rc.keepDays > 0 && len(dates) > 0 {
			opt.MinDate = dates[len(dates)-1] - int32(rc.keepDays) + 1
		}
	}
	ro.tableSize, ro.zone, ro.byHost = opt.TableSize, opt.Zone, opt.ByHost
	agg, err := report.New(opt)
	if err != nil {
		return nil, usageError(err)
	}
	ro.sink = report.NewSink(agg, report.SinkOptions{
		Filter: flt, DefaultHost: c.defHost, State: ro.state,
		Checkpoint: rc.checkpoint, KeepDays: rc.keepDays, Log: log, Force: c.force,
		Alongside: alongside,
	})
	return ro, nil
}

func (ro *reportOutput) close() {
	for i := len(ro.closers) - 1; i >= 0; i-- {
		ro.closers[i]()
	}
	ro.closers = nil
}

func (ro *reportOutput) output() sink.Sink { return ro.sink }

func (ro *reportOutput) commit() error { return ro.sink.Commit() }

func (ro *reportOutput) stop() error { return nil }

func (ro *reportOutput) idle() error { return nil }

func (ro *reportOutput) hasWhole(name string) bool { return ro.sink.HasWhole(name) }

func (ro *reportOutput) damaged() []string { return ro.sink.Damaged }

func (ro *reportOutput) what() string { return "the report state " + ro.dir }

// summary says what the report's state counted, for send's summary.
func (ro *reportOutput) summary(w io.Writer) {
	fmt.Fprintf(w, "report state %s: %s counted", ro.dir, plural(ro.sink.Counted(), "input", "inputs"))
	if ro.sink.Skipped > 0 {
		fmt.Fprintf(w, " (%d had it already)", ro.sink.Skipped)
	}
	if ro.sink.Excluded > 0 {
		fmt.Fprintf(w, ", %d hits excluded", ro.sink.Excluded)
	}
	fmt.Fprintln(w)
	for _, d := range ro.sink.Damaged {
		fmt.Fprintln(w, "  not counted whole:", d)
	}
}

// readExitCode is the exit code of a report or lake run: interrupted, the
// run's error (said on stderr), or inputs not read whole.
func readExitCode(env Env, runErr error, damaged []string) int {
	switch {
	case errors.Is(runErr, context.Canceled):
		return ExitInterrupted
	case runErr != nil:
		fmt.Fprintln(env.Stderr, "trackless:", runErr)
		return ExitFatal
	case len(damaged) > 0:
		return ExitUndelivered
	}
	return ExitOK
}

// printReadSummary writes, without ending the line, what a run of report
// or lake (name) read: its inputs (skipped of them: the output had them,
// said as skippedWhat), lines, hits, hits excluded, malformed lines.
func printReadSummary(w io.Writer, name string, inputs int, st *pipeline.Stats, skipped int, skippedWhat string, excluded int64) {
	fmt.Fprintf(w, "%s: %s", name, plural(inputs, "input", "inputs"))
	if skipped > 0 {
		fmt.Fprintf(w, " (%d %s)", skipped, skippedWhat)
	}
	fmt.Fprintf(w, ", %s, %s", plural(st.LinesRead-st.LinesResumed, "line", "lines"), plural(st.Hits, "hit", "hits"))
	if excluded > 0 {
		fmt.Fprintf(w, ", %d excluded", excluded)
	}
	var bad int64
	for _, n := range st.Malformed {
		bad += n
	}
	if bad > 0 {
		fmt.Fprintf(w, ", %d malformed (%s)", bad, counts(st.Malformed))
	}
}

// lazyUAParser returns the report's user-agent parser, made when first
// needed: compiling uap-core's rules takes a while.
func lazyUAParser(log *slog.Logger) report.UAFunc {
	var uap *useragent.Parser
	var failed bool
	return func(ua string) (string, string, string) {
		if uap == nil && !failed {
			var err error
			if uap, err = useragent.New(20000); err != nil {
				log.Error("user-agent parser", "error", err)
				failed = true
			}
		}
		if uap == nil {
			return "Other", "Other", useragent.DeviceOther
		}
		i := uap.Parse(ua)
		return i.Browser, i.OS, i.Device
	}
}

// union returns the strings of a and b, each once, in order.
func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(slices.Clone(a), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// reportMemoryLimit is the report's soft memory limit unless GOMEMLIMIT
// is set: the garbage collector works harder as the heap nears it (a live
// heap above it is allowed; it only costs CPU).
const reportMemoryLimit = 192 << 20

// writeReport writes the outputs the flags ask for: HTML, JSON, or else the
// text summary on stdout.
func writeReport(env Env, rc reportConfig, rep *report.Report) error {
	if rc.json != "" {
		data, err := json.MarshalIndent(rep, "", " ")
		if err != nil {
			return err
		}
		if err := writeOut(env, rc.json, "--json", append(data, '\n')); err != nil {
			return err
		}
	}
	if rc.html == "-" {
		return report.WritePage(env.Stdout, rep, liveSeconds(rc))
	}
	if rc.html != "" {
		refresh := liveSeconds(rc)
		if err := writeAtomic(rc.html, "-o", func(w io.Writer) error { return report.WritePage(w, rep, refresh) }); err != nil {
			return err
		}
	}
	if rc.html == "" && rc.json == "" {
		return report.WriteText(env.Stdout, rep)
	}
	return nil
}

// printReportSummary writes what the run read on w.
func printReportSummary(w io.Writer, inputs int, st *pipeline.Stats, sk *report.Sink, damaged []string) {
	printReadSummary(w, "report", inputs, st, sk.Skipped, "already counted", sk.Excluded)
	fmt.Fprintln(w)
	for _, d := range damaged {
		fmt.Fprintln(w, "  not read whole:", d)
	}
}
