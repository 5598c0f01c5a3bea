package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/trackless/trackless/internal/awslambda"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/lake"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/pipeline"
	"github.com/trackless/trackless/internal/s3src"
	"github.com/trackless/trackless/internal/source"
)

// lambdaClaimTTL is the default lifetime of a Lambda's claims.
const lambdaClaimTTL = 45 * time.Second

// IsLambda reports whether the process runs in AWS Lambda (the runtime API
// is there) and was given no command.
func IsLambda(args []string, getenv func(string) string) bool {
	return len(args) == 0 && getenv("AWS_LAMBDA_RUNTIME_API") != ""
}

// Lambda runs trackless as an AWS Lambda function: it reads the settings
// of the command "lambda" (settings.go) from the environment once, the
// variables of Matomo's CloudFront Lambda among them, then serves
// invocations until the runtime ends the process. It returns only when the
// configuration is not usable.
func Lambda(env Env) int {
	h, code := newLambdaHandler(env)
	if h == nil {
		return code
	}
	lambda.Start(h.Handle)
	return ExitOK
}

// newLambdaHandler builds the handler Lambda serves, from the environment.
func newLambdaHandler(env Env) (*awslambda.Handler, int) {
	var c config
	_, set, code, ok := parseArgs(env, cmdLambda, &c, nil)
	if !ok {
		return nil, code
	}
	if set["claim-ttl"] == "" {
		// A Lambda killed at its timeout cannot release its claims: a short
		// lifetime (renewed while it runs) lets the retry take them soon.
		c.claimTTL = lambdaClaimTTL
	}
	// Without Matomo, the function feeds its report state and lake only
	// (a report from logs in S3 with no server at all).
	noMatomo := c.matomoURL == "" && (c.rep.reportState != "" || c.lake.where != "")
	validate := c.validate
	if noMatomo {
		validate = func(parse bool) error {
			for _, check := range []func(bool) error{c.validateInput, c.validateOutput} {
				if err := check(parse); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if err := validate(false); err != nil {
		fmt.Fprintln(env.Stderr, "trackless:", err)
		return nil, ExitUsage
	}
	if c.rep.reportOut != "" && (c.rep.reportState == "" || !s3src.IsURL(c.rep.reportOut)) {
		fmt.Fprintln(env.Stderr, "trackless: TRACKLESS_REPORT_OUT=s3://BUCKET/KEY.html needs TRACKLESS_REPORT_STATE (the report is rendered from it)")
		return nil, ExitUsage
	}
	if err := c.rep.validate(c.rep.reportState, "TRACKLESS_REPORT_STATE"); err != nil {
		fmt.Fprintln(env.Stderr, "trackless:", err)
		return nil, ExitUsage
	}
	log, err := newLogger(env.Stderr, c.logLevel)
	if err != nil {
		fmt.Fprintln(env.Stderr, "trackless:", err)
		return nil, ExitUsage
	}
	ctx := context.Background()
	j, err := newJob(ctx, env, &c, false, log)
	if err != nil {
		return nil, exit(env.Stderr, err)
	}
	j.lambda, j.noMatomo = true, noMatomo
	if noMatomo {
		log.Info("no MATOMO_URL: the function counts into its report state and lake only")
		return &awslambda.Handler{Process: j.lambdaProcess(env, c.lambdaStopBefore), Records: j.lambdaRecords(env, c.lambdaStopBefore), Log: log, StopBefore: c.lambdaStopBefore}, ExitOK
	}
	if strings.EqualFold(c.ledger, "none") {
		log.Warn("TRACKLESS_LEDGER=none: no ledger; an S3 event that comes twice (as Lambda allows) is sent twice")
	} else if err := j.openLedger(ctx, false); err != nil {
		return nil, exit(env.Stderr, err)
	}
	// No dead-letter file on a disk that is gone after the run: a batch
	// that cannot be delivered fails the invocation, and Lambda's retries
	// and dead-letter queue take over.
	j.opt.DeadLetter, j.opt.Rejected = nil, nil
	j.opt.Progress = nil
	// An outage is retried until the invocation stops reading, before its
	// deadline (the retry context ends then): the invocation then fails at
	// a confirmed point and Lambda retries the event.
	j.opt.Client.MaxOutage = 24 * time.Hour
	j.siteInfo(ctx)
	return &awslambda.Handler{Process: j.lambdaProcess(env, c.lambdaStopBefore), Records: j.lambdaRecords(env, c.lambdaStopBefore), Log: log, StopBefore: c.lambdaStopBefore}, ExitOK
}

// lambdaReady runs the preflight of send (Matomo answers, takes the token,
// is recent enough) until it succeeds once in the life of the process.
func (j *job) lambdaReady(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ready || j.noMatomo {
		return nil
	}
	if err := preflight(ctx, j, j.c, j.log); err != nil {
		return err
	}
	j.ready = true
	return nil
}

// lambdaProcess reads the objects of one event (or SQS message).
func (j *job) lambdaProcess(env Env, stopBefore time.Duration) awslambda.Process {
	return func(ctx context.Context, objs []awslambda.Object) error {
		if err := j.lambdaReady(ctx); err != nil {
			return err
		}
		set, err := j.sources().FromEvent(ctx, objs)
		if err != nil {
			return err
		}
		if len(set.Names) == 0 {
			return nil
		}
		return j.lambdaRun(env, ctx, set, stopBefore)
	}
}

// lambdaRecords reads the records of a Kinesis event, each shard an input
// whose checkpoint is in the ledger (the same as a run given the stream
// has: a record read by either is not read again), and returns the first
// record not confirmed: the first after the ledger's checkpoint of its
// shard, or after the lake's (TRACKLESS_LAKE) when that one is earlier.
// Records between the checkpoint and the last confirmed line come again
// and are skipped (the ledger, or the lake, has them), so that the lines
// of a shard keep one numbering.
func (j *job) lambdaRecords(env Env, stopBefore time.Duration) awslambda.ProcessRecords {
	return func(ctx context.Context, recs []awslambda.KinesisRecord) (string, error) {
		if j.noMatomo {
			return j.lambdaRecordsSides(env, ctx, recs, stopBefore)
		}
		if err := j.lambdaReady(ctx); err != nil {
			return "", err
		}
		set, err := j.sources().FromKinesisEvent(recs)
		if err != nil {
			return "", err
		}
		// The lake's entries (TRACKLESS_LAKE): a shard's retry starts at
		// the first record the ledger or the lake lacks.
		var lakeOut lake.Out
		if j.c.lake.where != "" {
			if lakeOut, err = j.lakeOut(ctx, j.c.lake.where); err != nil {
				return "", err
			}
		}
		if j.led != nil {
			for _, name := range set.Names {
				shardRecs, key := set.ShardRecords(name)
				j.readOnAfterGap(ctx, name, key, shardRecs, lakeOut)
			}
		}
		runErr := j.lambdaRun(env, ctx, set, stopBefore)
		if j.led == nil {
			// No ledger (TRACKLESS_LEDGER=none): all or nothing.
			if runErr != nil {
				return recs[0].Sequence, runErr
			}
			return "", nil
		}
		// The checkpoint of each shard says where its retry starts.
		for _, name := range set.Names {
			shardRecs, key := set.ShardRecords(name)
			e, err := j.led.Get(ctx, key)
			if err != nil {
				return shardRecs[0].Position, errors.Join(runErr, err)
			}
			var at input.Mark
			if e != nil && e.Mark != nil {
				at = *e.Mark
			}
			marks := []input.Mark{at}
			if lakeOut != nil {
				lat, err := lakeMark(ctx, lakeOut, key)
				if err != nil {
					return shardRecs[0].Position, errors.Join(runErr, err)
				}
				marks = append(marks, lat)
			}
			r, ok := firstUnreadOf(shardRecs, marks...)
			if ok {
				if runErr == nil {
					runErr = fmt.Errorf("%s: records from %s on were not all confirmed", name, r.Position)
				}
				if at.Position != "" {
					// The retry starts there: an event that starts
					// further on comes after a gap.
					j.updateEntry(ctx, key, func(e *ledger.Entry) bool {
						if e.Mark == nil || e.Mark.Position != at.Position || e.Mark.At != at.At {
							return false
						}
						e.Mark.Next = r.Position
						return true
					})
				}
				return r.Position, runErr
			}
		}
		return "", runErr
	}
}

// lambdaRecordsSides reads the records of a Kinesis event into the side
// outputs of a function without Matomo (its report state, its lake), each
// of which keeps how far it has read each shard (its entry's mark); the
// answer names the first record one of them lacks, where the retry starts
// (records it has come again and are skipped).
func (j *job) lambdaRecordsSides(env Env, ctx context.Context, recs []awslambda.KinesisRecord, stopBefore time.Duration) (string, error) {
	set, err := j.sources().FromKinesisEvent(recs)
	if err != nil {
		return "", err
	}
	runErr := j.lambdaRun(env, ctx, set, stopBefore)
	marks := j.sideMarks
	j.sideMarks = nil
	var lakeOut lake.Out
	if j.c.lake.where != "" {
		if lakeOut, err = j.lakeOut(ctx, j.c.lake.where); err != nil {
			return recs[0].Sequence, errors.Join(runErr, err)
		}
	}
	for _, name := range set.Names {
		shardRecs, key := set.ShardRecords(name)
		var outMarks []input.Mark
		if j.c.rep.reportState != "" {
			outMarks = append(outMarks, marks[key])
		}
		if lakeOut != nil {
			at, err := lakeMark(ctx, lakeOut, key)
			if err != nil {
				return shardRecs[0].Position, errors.Join(runErr, err)
			}
			outMarks = append(outMarks, at)
		}
		first, found := firstUnreadOf(shardRecs, outMarks...)
		if found {
			if runErr == nil {
				runErr = fmt.Errorf("%s: records from %s on were not all counted", name, first.Position)
			}
			return first.Position, runErr
		}
	}
	return "", runErr
}

// lakeMark is how far the lake has read the shard of key (zero: nothing).
func lakeMark(ctx context.Context, out lake.Out, key string) (input.Mark, error) {
	e, err := out.Get(ctx, key)
	if err != nil || e == nil || e.Mark == nil {
		return input.Mark{}, err
	}
	return *e.Mark, nil
}

// firstUnreadOf returns the first record of recs that one of the outputs
// whose marks are given lacks (see firstUnread): the earliest of theirs.
func firstUnreadOf(recs []input.Record, marks ...input.Mark) (input.Record, bool) {
	var first input.Record
	found := false
	for _, at := range marks {
		if r, ok := firstUnread(recs, at); ok && (!found || index(recs, r) < index(recs, first)) {
			first, found = r, true
		}
	}
	return first, found
}

// index is the place of r in recs.
func index(recs []input.Record, r input.Record) int {
	return slices.IndexFunc(recs, func(x input.Record) bool { return x.Position == r.Position })
}

// firstUnread returns the first record of recs with a line that comes
// after what the mark at says was read (the first with a line when at is
// zero).
func firstUnread(recs []input.Record, at input.Mark) (input.Record, bool) {
	for _, r := range recs {
		if len(r.Data) > 0 && (at.Position == "" || source.Unread(r.Position, at)) {
			return r, true
		}
	}
	return input.Record{}, false
}

// readOnAfterGap looks whether an event's records of a shard follow its
// checkpoint: when the ledger knows the record that comes next (the one
// named as failed) and the event's first record not read is another,
// the event source mapping gave up on the records between (they are in
// its on-failure destination). The lines of the shard are then numbered
// on after every line the ledger has, from that record, so that none of
// them is taken for one confirmed before: nothing of the event is
// skipped.
func (j *job) readOnAfterGap(ctx context.Context, name, key string, recs []input.Record, lakeOut lake.Out) {
	e, err := j.led.Get(ctx, key)
	if err != nil || e == nil || e.Mark == nil || e.Mark.Next == "" {
		return
	}
	at := *e.Mark
	r, ok := firstUnread(recs, at)
	if !ok || r.Position == at.Next {
		return
	}
	j.log.Warn("records of the shard were not given to this function (the event source mapping gave up on them: see its on-failure destination); reading on from the event's first record", "input", name, "missing_from", at.Next, "read_from", r.Position)
	// The lake's lines are numbered on after the same line, after every
	// line the ledger or the lake has; the lake has the event's records
	// up to its own mark's (its reading may have gone further than
	// Matomo's confirmations): they are its next lines.
	var le *lake.Entry
	var lakeHi, lakeHas int64
	var lakeLast input.Record // the last record of the event the lake has
	if lakeOut != nil {
		if le, err = lakeOut.Get(ctx, key); err != nil {
			j.log.Warn("cannot read the lake's entry of the shard", "input", name, "error", err)
			return
		}
		if le != nil {
			lakeHi = le.Lines
			lm := le.Mark
			if p := le.Pending; p != nil {
				// A flush under way is taken as done: its records were
				// given up on, they are not read again either way.
				lakeHi = max(lakeHi, p.Through)
				if p.Mark != nil {
					lm = p.Mark
				}
			}
			for _, rec := range recs[index(recs, r):] {
				if lm == nil || lm.Position == "" || source.Unread(rec.Position, *lm) {
					break
				}
				if len(rec.Data) > 0 {
					lakeHas++
					lakeLast = rec
				}
			}
		}
	}
	var mark *input.Mark
	j.updateEntry(ctx, key, func(e *ledger.Entry) bool {
		if e.Mark == nil || e.Mark.Position != at.Position || e.Mark.Next != at.Next {
			return false
		}
		hi := max(e.ConfirmedLine, lakeHi)
		for _, l := range e.ShardLines {
			hi = max(hi, l)
		}
		for _, done := range e.ShardDone {
			for _, l := range done {
				hi = max(hi, l)
			}
		}
		e.ConfirmedLine, e.ShardLines, e.ShardDone = hi, nil, nil
		e.Mark = &input.Mark{Line: hi, Position: r.Position, At: true}
		mark = e.Mark
		return true
	})
	if le != nil && mark != nil {
		lm := *mark
		if lakeHas > 0 {
			lm = input.Mark{Line: mark.Line + lakeHas, Position: lakeLast.Position}
		}
		le.Lines, le.Mark, le.Pending, le.Done = lm.Line, &lm, nil, false
		if err := lakeOut.Put(ctx, key, le); err != nil {
			j.log.Warn("cannot update the lake's entry of the shard", "input", name, "error", err)
		}
	}
	if j.opt.Dedup != nil {
		j.opt.Dedup.Forget(key) // its line numbers say other records now
	}
}

// updateEntry changes the ledger entry of key with f (false: no change),
// holding its claim; it says why when it cannot.
func (j *job) updateEntry(ctx context.Context, key string, f func(*ledger.Entry) bool) {
	if err := j.led.Claim(ctx, key); err != nil {
		j.log.Warn("cannot update the shard's checkpoint", "key", key, "error", err)
		return
	}
	defer j.led.Release(ctx, key)
	e, err := j.led.Get(ctx, key)
	if err == nil && e != nil && f(e) {
		err = j.led.Put(ctx, key, e)
	}
	if err != nil {
		j.log.Warn("cannot update the shard's checkpoint", "key", key, "error", err)
	}
}

// lambdaRun reads an invocation's inputs, stopping at stopBefore its
// deadline.
func (j *job) lambdaRun(env Env, ctx context.Context, set *source.Set, stopBefore time.Duration) error {
	readCtx, sendCtx := ctx, ctx
	if d, ok := ctx.Deadline(); ok {
		var cancel, cancelSend context.CancelFunc
		readCtx, cancel = context.WithDeadline(ctx, d.Add(-stopBefore))
		defer cancel()
		// Batches in flight at the stop have most of stopBefore to be
		// answered; the last quarter is for the ledger's last write.
		sendCtx, cancelSend = context.WithDeadline(context.Background(), d.Add(-stopBefore/4))
		defer cancelSend()
	}
	outs, err := j.lambdaOutputs(readCtx, sendCtx)
	defer outs.close()
	if err != nil {
		return err
	}
	popt := j.options(set)
	if j.noMatomo {
		// Only the side outputs: each keeps its own progress.
		popt = pipeline.Options{
			SinksOnly: true, WholeLines: true, Format: j.c.format, Reader: j.c.readerOptions(), Filter: j.opt.Filter,
			Open: popt.Open, Identify: popt.Identify, FirstHint: popt.FirstHint, Log: j.log, Dedup: j.opt.Dedup, OnDone: popt.OnDone,
		}
	}
	stats, runErr := pipeline.Run(readCtx, sendCtx, set.Names, outs.feed(popt))
	runErr = outs.finish(stats, runErr, popt.OnDone, j.log)
	if runErr == nil {
		runErr = j.publishReport(env, outs)
	}
	if j.noMatomo {
		// How far the report state has each input, for the answer to a
		// Kinesis event (lambdaRecordsSides).
		j.sideMarks = map[string]input.Mark{}
		for _, s := range outs {
			if ro, ok := s.(*reportOutput); ok && ro.state != nil {
				for _, name := range set.Names {
					if _, key := set.ShardRecords(name); key != "" {
						if e := ro.state.Input(key); e != nil && e.Mark != nil {
							j.sideMarks[key] = *e.Mark
						}
					}
				}
			}
		}
	}
	runErr = outs.stop(runErr, j.log)
	return j.lambdaResult(env, ctx, readCtx, set, stats, runErr, outs)
}

// lambdaOutputs opens an invocation's side outputs: the report state
// (waiting for it until ctx ends), the lake (writing until writeCtx ends:
// after reading stopped, what was read is published).
func (j *job) lambdaOutputs(ctx, writeCtx context.Context) (sides, error) {
	var outs sides
	if dir := j.c.rep.reportState; dir != "" {
		// Invocations take turns on the state (it is on a file system
		// they share, EFS): one waits while another holds it.
		ro, err := j.c.openReport(writeCtx, dir, j.s3Client, j.opt.Filter, true, ctx, j.log)
		if err != nil {
			return outs, err
		}
		outs = append(outs, ro)
	}
	if where := j.c.lake.where; where != "" {
		if !s3src.IsURL(where) {
			return outs, usagef("a Lambda writes its lake to S3: set TRACKLESS_LAKE=s3://BUCKET/PREFIX/ (its disk is gone after each run)")
		}
		lo, err := j.openLake(writeCtx, where, j.opt.Filter, true)
		if err != nil {
			return outs, err
		}
		outs = append(outs, lo)
	}
	return outs, nil
}

// lambdaResult is an invocation's outcome: nil when every object was
// delivered (and counted, with a report state), else why not; Lambda
// retries a failed invocation.
func (j *job) lambdaResult(env Env, ctx, readCtx context.Context, set *source.Set, stats *pipeline.Stats, runErr error, outs sides) error {
	if stats != nil {
		if j.noMatomo {
			printReadSummary(env.Stderr, "trackless lambda (no Matomo)", len(set.Names), stats, 0, "", 0)
			fmt.Fprintln(env.Stderr)
		} else {
			printSummary(env.Stderr, "lambda", stats, false)
		}
		outs.summary(env.Stderr)
	}
	switch {
	case runErr != nil && readCtx.Err() != nil && ctx.Err() == nil:
		return fmt.Errorf("%w (%s)", awslambda.ErrDeadline, strings.Join(set.Names, ", "))
	case runErr != nil:
		return runErr
	case len(stats.InputsDamaged) > 0:
		return fmt.Errorf("not read or damaged: %s", strings.Join(stats.InputsDamaged, ", "))
	case len(stats.InputsBusy) > 0:
		// Left to the invocation that holds it; failing makes this
		// one come again, and find it done or its claim expired.
		return fmt.Errorf("being read by another invocation, try again later: %s", strings.Join(stats.InputsBusy, ", "))
	case stats.AfterFailed > 0:
		return errors.New("delivered, but the --after action failed (see above); the retry does it again")
	case len(outs.damaged()) > 0:
		return fmt.Errorf("not written whole: %s", strings.Join(outs.damaged(), ", "))
	}
	return nil
}
