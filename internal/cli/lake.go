package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/filter"
	"github.com/trackless/trackless/internal/geoip"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/lake"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/logformat"
	"github.com/trackless/trackless/internal/pipeline"
	"github.com/trackless/trackless/internal/s3src"
	"github.com/trackless/trackless/internal/sink"
	"github.com/trackless/trackless/internal/source"
)

// lakeConfig holds the lake's settings.
type lakeConfig struct {
	where      string        // lake --out, send --lake, TRACKLESS_LAKE
	flushEvery time.Duration // --flush-interval, with --follow
	ipHashKey  string        // --ip-hash-key
	maxOpen    int           // --lake-open-hours
	minAge     time.Duration // lake compact --min-age
}

// lakeOutput is the lake, as an output of a run.
type lakeOutput struct {
	sink    *lake.Sink
	out     lake.Out
	closers []func() error
}

// openLake opens the lake at where (a directory or s3://BUCKET/PREFIX/)
// and its sink, whose reads and writes ctx bounds: a context that outlives
// the reading by the grace a signal or a deadline leaves, so that what was
// read is published. alongside: it goes with Matomo (send --lake, the
// Lambda), and an error of the lake stops only the lake.
func (j *job) openLake(ctx context.Context, where string, flt filter.Filter, alongside bool) (_ *lakeOutput, err error) {
	c, lc := j.c, &j.c.lake
	lo := &lakeOutput{}
	defer func() {
		if err != nil {
			lo.close()
		}
	}()
	if lo.out, err = j.lakeOut(ctx, where); err != nil {
		return nil, err
	}
	lo.closers = append(lo.closers, lo.out.Close)
	opt := lake.Options{
		Rows: lake.RowOptions{
			AnonymizeIP: c.anonymizeIP, DefaultScheme: c.defScheme, DefaultHost: c.defHost,
		},
		Classify:  classify.Config{DocumentRegex: c.docRe, URLExcludeRegex: c.excludeRe},
		Filter:    flt,
		MaxOpen:   lc.maxOpen,
		Force:     c.force,
		Alongside: alongside,
		Version:   Version,
		Log:       j.log,
	}
	if c.follow {
		opt.FlushEvery = lc.flushEvery
		// An after-delivery action (send --after) waits for every
		// output to have an input whole: the lake publishes such an
		// input at once.
		opt.FlushWhole = c.after != "" && c.after != "keep"
	}
	if lc.ipHashKey != "" {
		opt.Rows.IPHashKey = []byte(lc.ipHashKey)
	}
	if c.rep.geoip != "" {
		db, err := geoip.Open(c.rep.geoip)
		if err != nil {
			return nil, usagef("--geoip: %v", err)
		}
		lo.closers = append(lo.closers, db.Close)
		opt.Rows.Country = func(ip string) string { return db.Country(ip).Code }
	}
	sites, err := c.siteMap()
	if err != nil {
		return nil, err
	}
	switch {
	case sites != nil:
		opt.Rows.Site = func(host string) int {
			id, _ := sites.Lookup(host)
			if id == 0 {
				id = c.siteID
			}
			return id
		}
	case c.siteID > 0:
		opt.Rows.Site = func(string) int { return c.siteID }
	}
	if lo.sink, err = lake.NewSink(ctx, lo.out, opt); err != nil {
		return nil, usageError(err)
	}
	return lo, nil
}

// lakeOut opens the lake at where: a directory (locked) or
// s3://BUCKET/PREFIX/.
func (j *job) lakeOut(ctx context.Context, where string) (lake.Out, error) {
	if !s3src.IsURL(where) {
		d, err := lake.OpenDir(where)
		if err != nil {
			return nil, fatalError(err)
		}
		return d, nil
	}
	bucket, prefix, err := s3src.ParseURL(where)
	if err != nil {
		return nil, usagef("the lake %s: %v", where, err)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	client, err := j.s3Client(ctx)
	if err != nil {
		return nil, fatalError(fmt.Errorf("the lake %s: %w", where, err))
	}
	out := lake.NewS3(client, bucket, prefix)
	if !j.lambda {
		// A missing bucket is said before anything is read.
		if err := out.Probe(ctx); err != nil {
			return nil, fatalError(err)
		}
	}
	return out, nil
}

func (lo *lakeOutput) output() sink.Sink { return lo.sink }

func (lo *lakeOutput) commit() error { return lo.sink.Err() }

func (lo *lakeOutput) stop() error { return lo.sink.Close() }

func (lo *lakeOutput) idle() error { return lo.sink.FlushDue() }

func (lo *lakeOutput) hasWhole(name string) bool { return lo.sink.HasWhole(name) }

func (lo *lakeOutput) damaged() []string { return lo.sink.Damaged }

func (lo *lakeOutput) what() string { return "the lake " + lo.out.String() }

func (lo *lakeOutput) summary(w io.Writer) {
	sk := lo.sink
	fmt.Fprintf(w, "lake %s: %s in %s", lo.out, plural(sk.Rows, "row", "rows"), plural(sk.Files, "file", "files"))
	if sk.Written > 0 {
		fmt.Fprintf(w, ", %s written whole", plural(sk.Written, "input", "inputs"))
	}
	if sk.Skipped > 0 {
		fmt.Fprintf(w, " (%d in the lake already)", sk.Skipped)
	}
	if sk.Excluded > 0 {
		fmt.Fprintf(w, ", %d hits excluded", sk.Excluded)
	}
	fmt.Fprintln(w)
	for _, d := range sk.Damaged {
		fmt.Fprintln(w, "  not written whole:", d)
	}
}

func (lo *lakeOutput) close() {
	for i := len(lo.closers) - 1; i >= 0; i-- {
		lo.closers[i]()
	}
	lo.closers = nil
}

// lakeMemoryLimit is lake's soft memory limit unless GOMEMLIMIT is set:
// its live heap (open files' pages and dictionaries, lake.maxBuffered rows
// of row groups) is 60-70 MiB on the 1M-line benchmark (BENCHMARKS.md).
const lakeMemoryLimit = 128 << 20

// runLake reads logs into the lake: trackless lake --out DIR|s3://… [inputs].
func runLake(env Env, args []string) error {
	var c config
	positional, _, err := parseCommand(env, cmdLake, &c, args)
	if err != nil {
		return err
	}
	lc := &c.lake
	if lc.where == "" {
		return usagef("lake needs --out DIR or --out s3://BUCKET/PREFIX/: where the Parquet files go")
	}
	if len(positional) == 0 {
		return usagef("lake needs inputs: files, directories, s3://BUCKET/PREFIX, kinesis://STREAM or - for stdin")
	}
	if _, err := logformat.NewReader(c.format, "", c.readerOptions()); err != nil {
		return usagef("--format: %v", err)
	}
	if c.follow && lc.flushEvery <= 0 {
		return usagef("--follow needs a positive --flush-interval")
	}
	if c.anonymizeIP < 0 || c.anonymizeIP > 3 {
		return usagef("--anonymize-ip must be 0 to 3")
	}
	filter, rng, log, stopProfile, err := c.readSetup(env)
	if err != nil {
		return err
	}
	defer stopProfile()
	if env.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(lakeMemoryLimit)
	}
	// The lake's writes have the signal's grace: the files a SIGTERM
	// publishes (--follow) are written after reading stopped.
	ctx, writeCtx, stop := signalContexts(log, c.follow)
	defer stop()
	j := &job{c: &c, log: log, stderr: env.Stderr, rng: rng, opt: pipeline.Options{Dedup: pipeline.NewDedup()},
		envEndpoint: env.Getenv("AWS_ENDPOINT_URL_S3") != "" || env.Getenv("AWS_ENDPOINT_URL") != ""}
	lo, err := j.openLake(writeCtx, lc.where, filter, false)
	if err != nil {
		return err
	}
	defer lo.close()
	var rot *rotations
	if d, ok := lo.out.(*lake.Dir); ok {
		rot = lakeRotations(d, lo.out, log, env.Stderr)
	}
	opts := func(set *source.Set) pipeline.Options {
		opt := pipeline.Options{
			SinksOnly: true, Sinks: []sink.Sink{lo.sink}, WholeLines: true,
			Format: c.format, Reader: c.readerOptions(), Filter: filter, Log: log, Dedup: j.opt.Dedup,
		}
		if set.HasObjects() {
			opt.Open, opt.Identify, opt.FirstHint = set.Open, set.Identify, set.FirstHint
		}
		return opt
	}
	if c.follow {
		return j.followLake(ctx, lo, rot, positional, opts)
	}
	set, err := j.resolve(ctx, positional)
	if err != nil {
		return usageError(err)
	}
	if rot != nil {
		given := slices.Clone(set.Names)
		rot.add(ctx, set)
		rot.record(given)
	}
	stats, runErr := pipeline.Run(ctx, ctx, set.Names, opts(set))
	if err := lo.sink.Close(); err != nil && runErr == nil {
		runErr = err
	}
	damaged := union(stats.InputsDamaged, lo.sink.Damaged)
	code := readExitCode(env, runErr, damaged)
	printLakeSummary(env.Stderr, len(set.Names), stats, lo, damaged)
	for _, w := range stats.InputsWaiting {
		fmt.Fprintln(env.Stderr, "  last line still being written (written by a later run, once complete):", w)
	}
	return said(code)
}

// printLakeSummary writes what a lake run read and wrote on w.
func printLakeSummary(w io.Writer, inputs int, st *pipeline.Stats, lo *lakeOutput, damaged []string) {
	sk := lo.sink
	printReadSummary(w, "lake", inputs, st, sk.Skipped, "in the lake already", sk.Excluded)
	fmt.Fprintf(w, "; %s in %s written to %s\n", plural(sk.Rows, "row", "rows"), plural(sk.Files, "file", "files"), lo.out)
	for _, d := range damaged {
		fmt.Fprintln(w, "  not read whole:", d)
	}
}

// followLake is lake --follow: every --poll, what is new in the inputs
// goes to the lake; an input's files are published once --flush-interval
// has passed since its first row not published, and on exit.
func (j *job) followLake(ctx context.Context, lo *lakeOutput, rot *rotations, args []string, opts func(*source.Set) pipeline.Options) error {
	var last string
	var settled bool
	var missing listFailures
	rounds := 0
	for ctx.Err() == nil {
		if set, _, err := j.sources().Resolve(ctx, args); err != nil {
			missing.failed(j.log, err)
		} else {
			missing = 0
			if rot != nil {
				given := slices.Clone(set.Names)
				rot.add(ctx, set)
				rot.record(given)
			}
			if sig := signature(set.Names); sig != last || !settled || hasStream(set.Names) {
				stats, runErr := pipeline.Run(ctx, ctx, set.Names, opts(set))
				if errors.Is(runErr, lake.ErrLake) {
					lo.sink.Close()
					return fatalError(runErr)
				}
				rounds++
				last, settled = sig, runErr == nil && stats != nil && len(stats.InputsWaiting) == 0
				if stats != nil {
					j.log.Debug("round read", "inputs", len(set.Names), "lines", stats.LinesRead-stats.LinesResumed, "hits", stats.Hits, "rows_published", lo.sink.Rows)
				}
			}
			if err := lo.sink.FlushDue(); err != nil {
				lo.sink.Close()
				return fatalError(err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(j.c.poll):
		}
	}
	if err := lo.sink.Close(); err != nil {
		return fatalError(err)
	}
	fmt.Fprintf(j.stderr, "trackless lake --follow: stopped after %s: %s in %s written to %s\n", plural(rounds, "round", "rounds"), plural(lo.sink.Rows, "row", "rows"), plural(lo.sink.Files, "file", "files"), lo.out)
	return said(ExitOK)
}

// lakeRotations finds the rest of a live log given by its path after a
// rotation, with a local lake: the paths are recorded in its StateDir.
func lakeRotations(d *lake.Dir, out lake.Out, log *slog.Logger, stderr io.Writer) *rotations {
	entry := func(ctx context.Context, key string) (*ledger.Entry, error) {
		e, err := out.Get(ctx, key)
		if e == nil || err != nil {
			return nil, err
		}
		return &ledger.Entry{
			Name: e.Name, Identity: input.Identity{Size: e.Size, Fingerprint: e.Fingerprint, FingerprintLen: e.FingerprintLen},
			ConfirmedLine: e.Lines, Lines: e.Lines, Done: e.Done, Updated: e.Updated, Mark: e.Mark,
		}, nil
	}
	return &rotations{paths: ledger.NewPaths(filepath.Join(d.String(), lake.StateDir)), entry: entry, log: log, stderr: stderr}
}

// compactDefaultSince is how far back lake compact looks without --since.
const compactDefaultSince = 7 * 24 * time.Hour

// runCompact merges each closed hour's files of a lake into one: trackless
// lake compact --out DIR|s3://….
func runCompact(env Env, args []string) error {
	var c config
	positional, _, err := parseCommand(env, cmdCompact, &c, args)
	if err != nil {
		return err
	}
	if c.lake.where == "" {
		return usagef("lake compact needs --out DIR or --out s3://BUCKET/PREFIX/: the lake to compact")
	}
	if len(positional) > 0 {
		return usagef("lake compact reads no inputs (%s): it merges the files of the lake --out names", positional[0])
	}
	if c.lake.minAge < 0 {
		return usagef("--min-age must not be negative")
	}
	_, rng, log, stopProfile, err := c.readSetup(env)
	if err != nil {
		return err
	}
	defer stopProfile()
	ctx, _, stop := signalContexts(log, false)
	defer stop()
	j := &job{c: &c, log: log, stderr: env.Stderr,
		envEndpoint: env.Getenv("AWS_ENDPOINT_URL_S3") != "" || env.Getenv("AWS_ENDPOINT_URL") != ""}
	var out lake.Out
	if s3src.IsURL(c.lake.where) {
		if out, err = j.lakeOut(ctx, c.lake.where); err != nil {
			return err
		}
		if ok, err := out.(*lake.S3).HasState(ctx); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("no lake at %s (nothing under %s/): check the path", out, lake.StateDir)
			}
			return fatalError(err)
		}
	} else if out, err = lake.OpenDirCompactor(c.lake.where); err != nil {
		return fatalError(err)
	}
	defer out.Close()
	now := time.Now()
	from, to := rng.Since, rng.Until
	if from.IsZero() {
		from = now.Add(-compactDefaultSince)
	}
	st, err := lake.Compact(ctx, out, lake.CompactOptions{From: from, To: to, MinAge: c.lake.minAge, Version: Version, Log: log, Now: func() time.Time { return now }})
	last := now.Add(-c.lake.minAge)
	if !to.IsZero() && to.Before(last) {
		last = to
	}
	fmt.Fprintf(env.Stderr, "lake compact %s: the hours between %s and %s UTC (--since, --until, --min-age): %s merged (%s, %s)", out,
		from.UTC().Truncate(time.Hour).Format("2006-01-02 15:04"), last.UTC().Truncate(time.Hour).Format("2006-01-02 15:04"),
		plural(st.Partitions, "hour", "hours"), plural(st.Files, "file", "files"), plural(st.Rows, "row", "rows"))
	if st.Left > 0 {
		fmt.Fprintf(env.Stderr, "; %s left for later (written less than --min-age ago, or named by an unfinished flush)", plural(st.Left, "file", "files"))
	}
	fmt.Fprintln(env.Stderr)
	switch {
	case errors.Is(err, context.Canceled):
		return said(ExitInterrupted)
	case err != nil:
		return fatalError(err)
	}
	return said(ExitOK)
}
