package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/filter"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/kinesis"
	"github.com/trackless/trackless/internal/pipeline"
	"github.com/trackless/trackless/internal/report"
	"github.com/trackless/trackless/internal/sink"
	"github.com/trackless/trackless/internal/source"
)

// follow is send --follow: it sends what is new in the inputs again and
// again, every --poll, until a signal stops it: each run reads the lines
// written since the last confirmed one (a half-written last line waits
// for the next run), finds the file a path was after a rotation, and
// records its progress as it is confirmed; with outs (--report-state,
// --lake) it gives the same lines to them. An outage of Matomo longer
// than --max-outage does not stop it: it waits and goes on where it
// stopped. It returns once stopped, with progress saved (exit 0), or on an
// error no run can get past (a state directory that cannot be written).
// parse --follow is the same loop, printing instead of sending.
func (j *job) follow(ctx, sendCtx context.Context, outs sides, args []string) error {
	name, did := "send", "sent"
	switch {
	case j.parse && j.c.output == "jsonl":
		name, did = "parse", "printed"
	case j.parse:
		name, did = "parse", "printed as requests"
	}
	var runs int
	var missing listFailures
	var last string  // the inputs' signature at the last round
	var settled bool // the last round read everything there was (no half line, no outage)
	var total struct{ sent, tracked, inDoubt, deadLettered, rejected int64 }
	// The next round starts a --poll after the last one started (at once
	// when that one took longer: it was catching up), or a --poll after
	// it ended when it failed.
	var started time.Time
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(j.c.poll - time.Since(started)):
			return true
		}
	}
	// Matomo's first batch of a day goes alone (see pipeline.Days): once
	// per day for the whole follow, not once per round.
	j.opt.Days = pipeline.NewDays()
	for ctx.Err() == nil {
		started = time.Now()
		set, _, err := j.sources().Resolve(ctx, args)
		if err != nil {
			// A path missing for a moment (between a rotation's rename and
			// create): tried again, said once it lasts.
			missing.failed(j.log, err)
			if !wait() {
				break
			}
			continue
		}
		missing = 0
		j.withRemainders(ctx, set)
		// Nothing changed since the last round (no file grew, moved or
		// appeared): nothing to read. The round's cost is a few stats.
		if sig := signature(set.Names); sig == last && settled && !hasStream(set.Names) {
			if err := outs.idle(); err != nil {
				return outs.stop(err, j.log)
			}
			if !wait() {
				break
			}
			continue
		} else {
			last = sig
		}
		opt := j.options(set)
		onDone := opt.OnDone
		opt = outs.feed(opt)
		stats, err := pipeline.Run(ctx, sendCtx, set.Names, opt)
		var fatal *exitError
		if err = outs.finish(stats, err, onDone, j.log); errors.As(err, &fatal) {
			return outs.stop(err, j.log) // an output cannot be written
		}
		if ierr := outs.idle(); ierr != nil {
			return outs.stop(ierr, j.log)
		}
		if j.out != nil {
			if ferr := j.out.Flush(); ferr != nil {
				return fatalError(fmt.Errorf("writing output: %w", ferr))
			}
		}
		runs++
		settled = err == nil && stats != nil && len(stats.InputsWaiting) == 0
		if stats != nil {
			total.sent += stats.Sent
			total.tracked += stats.Tracked
			total.inDoubt += stats.InDoubt
			total.deadLettered += stats.DeadLettered
			total.rejected += stats.Invalid
			switch {
			case j.parse && j.c.output == "jsonl":
				total.sent += stats.Hits
			case j.parse:
				total.sent += stats.Queued
			}
			if stats.Sent > 0 || stats.InDoubt > 0 || stats.DeadLettered > 0 {
				j.log.Info("sent", "hits", stats.Sent, "in_doubt", stats.InDoubt, "dead_lettered", stats.DeadLettered)
			}
		}
		var outage *pipeline.OutageError
		switch {
		case ctx.Err() != nil:
		case errors.As(err, &outage):
			j.log.Warn("Matomo is failing: waiting, then going on where it stopped", "error", err)
			started = time.Now()
		case errors.Is(err, pipeline.ErrOldHits), errors.Is(err, pipeline.ErrNoHost):
			return usageError(err)
		case err != nil:
			return fatalError(err)
		}
		if !wait() {
			break
		}
	}
	if err := outs.stop(nil, j.log); err != nil {
		return err
	}
	fmt.Fprintf(j.stderr, "trackless %s --follow: stopped after %s: %s %s", name, plural(runs, "run", "runs"), plural(total.sent, "hit", "hits"), did)
	if !j.parse {
		fmt.Fprintf(j.stderr, " (tracked %d)", total.tracked)
	}
	for _, o := range outs {
		fmt.Fprintf(j.stderr, ", written to %s", o.what())
	}
	if j.parse {
		fmt.Fprintln(j.stderr)
		return said(ExitOK)
	}
	if total.inDoubt > 0 || total.deadLettered > 0 || total.rejected > 0 {
		fmt.Fprintf(j.stderr, ", %d in doubt, %d refused (dead letters), %d rejected: see the files in the state directory", total.inDoubt, total.deadLettered, total.rejected)
	}
	fmt.Fprintln(j.stderr, "; what was confirmed is saved, the next run goes on from there")
	if total.inDoubt > 0 || total.deadLettered > 0 || total.rejected > 0 {
		return said(ExitUndelivered)
	}
	return said(ExitOK)
}

// hasStream reports whether names has a stream's shard, which no
// signature tells has grown: each round reads on in it.
func hasStream(names []string) bool {
	return slices.ContainsFunc(names, kinesis.IsURL)
}

// listFailures counts the rounds in a row that could not list the inputs:
// a path is missing for a moment at each rotation (between logrotate's
// rename and the server's reopening), which is not worth a warning; a
// path missing for several rounds is.
type listFailures int

// failed counts a failure, and warns at the fifth in a row.
func (n *listFailures) failed(log *slog.Logger, err error) {
	*n++
	if *n == 5 {
		log.Warn("cannot list the inputs: trying again every round", "error", err)
	} else {
		log.Debug("cannot list the inputs: trying again", "error", err)
	}
}

// signature says what the named files are now: a change of any (it grew,
// was replaced, appeared) changes it.
func signature(names []string) string {
	var b strings.Builder
	for _, n := range names {
		st, err := os.Stat(n)
		if err != nil {
			fmt.Fprintf(&b, "%s:missing\n", n)
			continue
		}
		dev, ino, _ := input.DeviceInode(st)
		fmt.Fprintf(&b, "%s:%d:%d:%d:%d\n", n, dev, ino, st.Size(), st.ModTime().UnixNano())
	}
	return b.String()
}

// followReport is report --follow: it counts what is written to the inputs
// into the state, round after round, and rewrites the HTML (and JSON)
// after each round that read something, at most every --refresh; the page
// reloads itself as often. It returns once stopped (a signal), its state
// saved.
func (j *job) followReport(ctx context.Context, env Env, ro *reportOutput, args []string, flt filter.Filter) error {
	c, rc := j.c, &j.c.rep
	var last string
	var settled bool
	rounds := 0
	rot := reportRotations(ro.state, j.log, j.stderr)
	var missing listFailures
	// round counts what is new in set and rewrites the page; an error when
	// the state or the page cannot be written.
	round := func(set *source.Set) error {
		sig := signature(set.Names)
		if sig == last && settled && !hasStream(set.Names) {
			return nil // nothing changed since the last round
		}
		opt := pipeline.Options{
			SinksOnly: true, Sinks: []sink.Sink{ro.sink}, WholeLines: true,
			Format: c.format, Reader: c.readerOptions(), Filter: flt, Log: j.log, Dedup: j.opt.Dedup,
		}
		if set.HasObjects() {
			opt.Open, opt.Identify, opt.FirstHint = set.Open, set.Identify, set.FirstHint
		}
		stats, runErr := pipeline.Run(ctx, ctx, set.Names, opt)
		if errors.Is(runErr, report.ErrState) {
			return runErr
		}
		if err := ro.sink.Commit(); err != nil {
			return err
		}
		days, err := ro.sink.Days()
		if err != nil {
			return err
		}
		live := *rc
		live.live = true
		now := time.Now()
		if _, err := ro.render(env, live, days, report.Meta{Version: Version, Generated: now, Top: rc.top, TableSize: ro.tableSize, Inputs: ro.sink.Inputs(), Title: rc.title}, now); err != nil {
			return err
		}
		rounds++
		last, settled = sig, runErr == nil && stats != nil && len(stats.InputsWaiting) == 0
		return nil
	}
	for ctx.Err() == nil {
		if set, _, err := j.sources().Resolve(ctx, args); err != nil {
			missing.failed(j.log, err)
		} else {
			missing = 0
			// After a rotation, the rest of the file a path was.
			given := slices.Clone(set.Names)
			rot.add(ctx, set)
			rot.record(given)
			if err := round(set); err != nil {
				return fatalError(err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(rc.refresh):
		}
	}
	fmt.Fprintf(j.stderr, "trackless report --follow: stopped after %s; the state and %s are saved\n", plural(rounds, "update", "updates"), rc.html)
	return said(ExitOK)
}
