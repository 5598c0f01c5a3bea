package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/trackless/trackless/internal/matomo"
)

// worker sends the batches of its shards one after the other, records what
// could not be delivered, confirms the lines and waits until the ledger has
// them before taking the next batch. Once the run stops (r.retry ends), it
// starts no batch: their lines stay unconfirmed, for the next run.
func (r *runner) worker(ch chan *batch) {
	for b := range ch {
		if r.retry.Err() != nil {
			r.notSent(b)
			continue
		}
		owned, ok := r.gate.enter(r.retry, b.days)
		if !ok {
			r.notSent(b)
			continue
		}
		if !r.limit.acquire(r.retry) {
			r.gate.leave(owned, nil, false)
			r.notSent(b)
			continue
		}
		res, err := r.opt.Client.Send(r.sendCtx, r.retry, b.items)
		r.learn(b, res, err)
		if !r.settle(b, owned, res, err) {
			continue
		}
		r.confirm(b)
	}
}

// learn tells the limiter how Matomo answered.
func (r *runner) learn(b *batch, res matomo.Result, err error) {
	var doubt *matomo.DoubtError
	var ns *matomo.NotStoredError
	switch {
	case err == nil:
		r.limit.release(answerOK, len(b.items), res.Elapsed)
	case errors.As(err, &doubt), errors.As(err, &ns) && !ns.Stopped:
		r.limit.release(answerOverload, 0, 0)
	default:
		r.limit.release(answerOther, 0, 0)
	}
}

// settle records the outcome of a batch. It reports whether its lines are
// handled (delivered, rejected, dead-lettered or in doubt, and recorded so)
// and may be confirmed.
func (r *runner) settle(b *batch, owned []dayKey, res matomo.Result, err error) bool {
	var ns *matomo.NotStoredError
	var doubt *matomo.DoubtError
	reached := err == nil || errors.As(err, &doubt)
	r.gate.leave(owned, b.visits, reached)
	r.mu.Lock()
	if err == nil || !errors.As(err, &ns) {
		r.stats.Batches++
	}
	if res.Attempts > 1 {
		r.stats.Retries += int64(res.Attempts - 1)
	}
	if ns != nil && ns.Attempts > 1 {
		r.stats.Retries += int64(ns.Attempts - 1)
	}
	r.mu.Unlock()
	switch {
	case err == nil:
		r.mu.Lock()
		r.stats.Sent += int64(len(b.items))
		r.stats.Tracked += int64(res.Tracked)
		r.stats.Invalid += int64(res.Invalid)
		r.mu.Unlock()
		return res.Invalid == 0 || r.rejected(b, res)
	case ns != nil:
		// Not stored: left for the next run, never dead-lettered.
		r.notSent(b)
		if !ns.Stopped {
			r.log.Error("Matomo failed for longer than --max-outage: stopping", "failing_for", ns.Outage.Round(time.Second), "error", ns.Last)
			r.setFatal(&OutageError{Err: ns})
		}
		return false
	case doubt != nil:
		return r.inDoubt(b, doubt)
	case r.sendCtx.Err() != nil:
		r.notSent(b) // stopped at once (a second interrupt) before it was sent
		return false
	}
	return r.deadLetter(b, err)
}

// notSent counts a batch left for the next run.
func (r *runner) notSent(b *batch) {
	r.mu.Lock()
	r.stats.NotSent += int64(len(b.items))
	r.mu.Unlock()
}

// confirm pops the batch's lines and waits until the ledger has them.
func (r *runner) confirm(b *batch) {
	if len(b.refs) == 0 {
		return
	}
	var touched []*inputState
	for _, rf := range b.refs {
		rf.in.confirm(rf.shard, rf.line)
		if len(touched) == 0 || touched[len(touched)-1] != rf.in {
			touched = append(touched, rf.in)
		}
	}
	if err := r.pers.wait(r.pers.mark(touched...)); err != nil {
		r.setFatal(fmt.Errorf("cannot record progress: %w", err))
	}
}

// deadLetter writes a batch that Matomo refused. It reports whether the
// batch is safely recorded (and so may be confirmed).
func (r *runner) deadLetter(b *batch, err error) bool {
	r.log.Error("batch not delivered: Matomo refused it", "hits", len(b.items), "error", err)
	if !r.record(r.opt.DeadLetter, "dead-letter", b, err, false) {
		return false
	}
	r.mu.Lock()
	r.stats.DeadLettered += int64(len(b.items))
	r.mu.Unlock()
	return true
}

// inDoubt writes a batch that Matomo may have stored, not to be resent
// automatically. It reports whether the batch is safely recorded.
func (r *runner) inDoubt(b *batch, err *matomo.DoubtError) bool {
	r.log.Error("batch in doubt: Matomo may have stored it; it is not sent again", "hits", len(b.items), "error", err)
	if !r.record(r.opt.InDoubt, "in-doubt", b, err, true) {
		return false
	}
	r.mu.Lock()
	r.stats.InDoubt += int64(len(b.items))
	r.mu.Unlock()
	return true
}

// record appends a batch to rec (what names the file in messages); with
// no file, the run stops and the lines stay unconfirmed.
func (r *runner) record(rec *Recorder, what string, b *batch, err error, inDoubt bool) bool {
	if rec == nil {
		r.setFatal(fmt.Errorf("batch of %d hits not delivered and no %s file: %w", len(b.items), what, err))
		return false
	}
	dl := DeadLetter{Reason: err.Error(), InDoubt: inDoubt, Requests: itemsToStrings(b.items), Sources: sourcesOf(b)}
	if r.opt.Client != nil {
		dl.Endpoint = r.opt.Client.EndpointURL()
	}
	if werr := rec.Write(dl); werr != nil {
		r.setFatal(fmt.Errorf("cannot write the %s file: %w", what, werr))
		return false
	}
	return true
}

// rejected writes the hits Matomo counted as invalid.
func (r *runner) rejected(b *batch, res matomo.Result) bool {
	if r.opt.Rejected == nil {
		return true
	}
	srcs := sourcesOf(b)
	var recs []any
	if res.HasIndices {
		for _, i := range res.InvalidIndices {
			if i < 0 || i >= len(b.items) {
				continue
			}
			rec := Rejected{Request: string(b.items[i]), Reason: "Matomo rejected this request (invalid_indices)"}
			if i < len(srcs) {
				rec.Input, rec.Line = srcs[i].Input, srcs[i].Line
			}
			recs = append(recs, rec)
		}
	} else {
		recs = append(recs, DeadLetter{
			Reason:   fmt.Sprintf("Matomo rejected %d of these %d requests without saying which (invalid_indices are given to a super user's token only)", res.Invalid, len(b.items)),
			Requests: itemsToStrings(b.items), Sources: srcs,
		})
	}
	r.log.Warn("Matomo rejected hits", "invalid", res.Invalid, "batch", len(b.items), "file", r.opt.Rejected.Path())
	for _, rec := range recs {
		if err := r.opt.Rejected.Write(rec); err != nil {
			r.setFatal(fmt.Errorf("cannot write rejected-hits file: %w", err))
			return false
		}
	}
	return true
}

func itemsToStrings(items [][]byte) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = string(it)
	}
	return out
}

func sourcesOf(b *batch) []Source {
	if len(b.refs) == 0 {
		return nil
	}
	out := make([]Source, len(b.refs))
	for i, rf := range b.refs {
		out[i] = Source{Input: rf.in.name, Line: rf.line}
	}
	return out
}
