package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/trackless/trackless/internal/matomo"
)

// worker sends the batches of its shards one after the other, records what
// could not be delivered, confirms the lines and waits until the ledger has
// them before taking the next batch.
func (r *runner) worker(ctx context.Context, ch chan *batch) {
	for b := range ch {
		if r.fatalErr() != nil || ctx.Err() != nil {
			continue // drain: unconfirmed lines are sent again by the next run
		}
		res, err := r.opt.Client.Send(ctx, b.items)
		if err != nil && ctx.Err() != nil {
			continue
		}
		r.mu.Lock()
		r.stats.Batches++
		if res.Attempts > 1 {
			r.stats.Retries += int64(res.Attempts - 1)
		}
		r.mu.Unlock()
		if err != nil {
			if !r.deadLetter(b, err) {
				continue
			}
		} else {
			r.mu.Lock()
			r.stats.Sent += int64(len(b.items))
			r.stats.Tracked += int64(res.Tracked)
			r.stats.Invalid += int64(res.Invalid)
			r.mu.Unlock()
			if res.Invalid > 0 && !r.rejected(b, res) {
				continue
			}
		}
		r.confirm(b)
	}
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

// deadLetter writes a batch that failed for good. It reports whether the
// batch is safely recorded (and so may be confirmed).
func (r *runner) deadLetter(b *batch, err error) bool {
	var doubt *matomo.DoubtError
	inDoubt := errors.As(err, &doubt)
	r.log.Error("batch not delivered", "hits", len(b.items), "in_doubt", inDoubt, "error", err)
	if r.opt.DeadLetter == nil {
		r.setFatal(fmt.Errorf("batch of %d hits not delivered and no dead-letter file: %w", len(b.items), err))
		return false
	}
	rec := DeadLetter{Reason: err.Error(), InDoubt: inDoubt, Requests: itemsToStrings(b.items), Sources: sourcesOf(b)}
	if r.opt.Client != nil {
		rec.Endpoint = r.opt.Client.EndpointURL()
	}
	if werr := r.opt.DeadLetter.Write(rec); werr != nil {
		r.setFatal(fmt.Errorf("cannot write dead-letter file: %w", werr))
		return false
	}
	r.mu.Lock()
	r.stats.DeadLettered += int64(len(b.items))
	if inDoubt {
		r.stats.InDoubt += int64(len(b.items))
	}
	r.mu.Unlock()
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
