package pipeline

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/sink"
)

// This file is Matomo's side of a run, an output of the read path like the
// sinks: its handle of an input (matomoInput) takes the input's hits,
// classifies, maps and encodes them (pipeline.go: hit), puts them back in
// time order within the reorder window, and hands them to the batches of
// the workers (worker.go); the ledger records, per input, what Matomo
// confirmed (track.go).

// DefaultReorderWindow is the default of Options.ReorderWindow.
const DefaultReorderWindow = 5 * time.Minute

// queued is an encoded item waiting for its turn.
type queued struct {
	item []byte
	unix int64 // hit time, ns
	seq  int   // the input's place in the merge, for ties
	site int   // the Matomo site it goes to
	// mayVisit: Matomo may make it a visit (not rec mode 1); person: it is
	// not a bot's (see saltGate).
	mayVisit, person bool
	ref              ref
	tracked          bool
}

// matomoInput is Matomo's handle of one input (a sink.Input).
type matomoInput struct {
	r  *runner
	st *inputState
	// sendFrom: Matomo has every hit through this line (the read path
	// gives it only later lines; st.resume says which of those it has).
	sendFrom int64
	seq      int // the input's place in the merge, for ties
}

// beginMatomo claims an input and looks it up in the ledger (id is nil
// for an input without identity: stdin). It returns Matomo's handle of
// the input; nil and whole when Matomo has it whole; leave when the input
// is not to be read at all: another worker reads it, or it is smaller
// than when it was read.
func (r *runner) beginMatomo(ctx context.Context, name string, id *input.Identity, same func(string, int) bool, recent bool, seq int) (m *matomoInput, whole, leave bool, err error) {
	st := &inputState{name: name}
	var prev *ledger.Entry
	if id != nil && r.opt.Ledger != nil {
		var why skipReason
		if prev, why, err = r.consult(ctx, st, id, same, recent); err != nil {
			return nil, false, true, err
		}
		switch why {
		case skipOther:
			return nil, false, true, nil
		case skipDelivered:
			return nil, true, false, nil
		}
	}
	m = &matomoInput{r: r, st: st, seq: seq}
	st.read = true
	if prev != nil {
		switch {
		case prev.Done:
			m.sendFrom = prev.Lines // it grew: go on after the old end
		default:
			m.sendFrom = prev.ConfirmedLine
			if len(prev.ShardLines) == Shards {
				st.resume = prev.ShardLines
				st.resumeDone = prev.ShardDone
			}
		}
	}
	if prev != nil && prev.Mark != nil && prev.Mark.Line <= m.sendFrom {
		st.mark = *prev.Mark
	}
	st.readLine.Store(m.sendFrom)
	return m, false, false, nil
}

// Hit takes a hit of the input: skipped, or encoded and put in the
// reorder window, from which the hits older than the window go to the
// batches.
func (m *matomoInput) Hit(line int64, h *hit.Hit) error {
	r, st := m.r, m.st
	q, err := r.hit(st, h, line)
	if err != nil {
		st.mu.Lock()
		st.failed = true
		st.mu.Unlock()
		r.pers.mark(st)
		return err
	}
	if q == nil {
		st.advance(line)
		return nil
	}
	q.seq = m.seq
	heap.Push(&r.window, q)
	r.maxSeen = max(r.maxSeen, q.unix)
	return r.releaseWindow(false)
}

// Start implements sink.Started: the stream's start is where the ledger
// reads on from until a later mark is confirmed.
func (m *matomoInput) Start(mk input.Mark) { m.st.reached(mk) }

// Malformed lines are counted by the read path; Matomo has nothing to do.
func (m *matomoInput) Malformed(int64, string) {}

// End records that the input was read to its end (or failed, or waits
// for its last line): its ledger entry is done once every hit is
// confirmed, when it was read whole.
func (m *matomoInput) End(e sink.End) error {
	r, st := m.r, m.st
	failed := e.Failed
	if failed == "" && m.sendFrom > e.Lines && !e.Stream {
		// The ledger says lines were delivered that the input does not
		// have: it was replaced by a shorter file that starts the same.
		failed = fmt.Sprintf("the ledger says line %d was delivered, but the input has %d lines: it was replaced or cut; nothing of it was sent (use --force to send it all again)", m.sendFrom, e.Lines)
		r.log.Error("input does not match its ledger entry", "input", st.name, "reason", failed)
		r.stats.InputsDamaged = append(r.stats.InputsDamaged, st.name+": "+failed)
	}
	st.mu.Lock()
	if failed != "" {
		st.failed, st.failReason = true, failed
	}
	st.waiting = e.Waiting
	if e.FingerprintLen > st.identity.FingerprintLen && st.key != "" {
		st.identity.Fingerprint, st.identity.FingerprintLen = e.Fingerprint, e.FingerprintLen
	}
	st.eof = true
	st.lines = e.Lines
	if st.lines > st.readLine.Load() {
		st.readLine.Store(st.lines)
	}
	st.mu.Unlock()
	r.pers.mark(st)
	return nil
}

// abandon records that the run stopped before the input's end: what was
// confirmed is recorded, the rest is read again by the next run.
func (m *matomoInput) abandon() {
	m.st.mu.Lock()
	m.st.failed = true
	m.st.mu.Unlock()
	m.r.pers.mark(m.st)
}

// releaseWindow hands the hits older than the reorder window (all of them
// with all) to the batches, in time order.
func (r *runner) releaseWindow(all bool) error {
	for r.window.Len() > 0 && (all || r.window[0].unix <= r.maxSeen-int64(r.opt.ReorderWindow)) {
		if err := r.enqueue(heap.Pop(&r.window).(*queued)); err != nil {
			return err
		}
	}
	return nil
}

// pathRecorder is a ledger that remembers which file a path was
// (ledger.Ledger).
type pathRecorder interface {
	RecordAt(path string, id input.Identity) error
}

// skipReason says why consult leaves an input out.
type skipReason int

const (
	skipNone      skipReason = iota
	skipDelivered            // Matomo has it all
	skipOther                // another worker reads it, or it shrank
)

// consult claims an input in the ledger and reads its entry. It says why
// Matomo does not need the input: delivered already, smaller than when it
// was read, or claimed by another worker.
func (r *runner) consult(ctx context.Context, st *inputState, id *input.Identity, same func(string, int) bool, recent bool) (prev *ledger.Entry, why skipReason, err error) {
	var byContent bool
	if r.opt.Ledger == nil {
		return nil, skipNone, nil
	}
	st.key, st.identity = id.Key(), *id
	if err := r.opt.Ledger.Claim(ctx, st.key); err != nil {
		var ce *ledger.ClaimedError
		if errors.As(err, &ce) {
			r.log.Info("input is being read by another worker: left to it", "input", st.name, "owner", ce.Owner, "until", ce.Until)
			r.stats.InputsBusy = append(r.stats.InputsBusy, st.name)
			return nil, skipOther, nil
		}
		return nil, skipNone, err
	}
	r.claimed = append(r.claimed, st)
	if pr, ok := r.opt.Ledger.(pathRecorder); ok && recent && id.Object == "" && id.Content == "" && st.name != "-" {
		// The next run can then tell that the path was rotated, and find
		// the file it was (source.Remainder). Plain files only: a
		// compressed one is no live log, and its record would only say,
		// when logrotate deletes it, that it is gone.
		if err := pr.RecordAt(st.name, *id); err != nil {
			r.log.Warn("cannot record which file the path is", "input", st.name, "error", err)
		}
	}
	if !r.opt.Force {
		if prev, byContent, err = r.lookup(ctx, st.name, id, same); err != nil {
			return nil, skipNone, err
		}
	}
	switch {
	case prev == nil:
	case byContent:
		// The content another file had (this file is it, compressed or
		// copied): its size says nothing; read on after what was read.
		r.log.Info("input known by its content (a rotated file compressed or copied): reading on after what was read of it", "input", st.name)
	case prev.Done && prev.Identity.Size == id.Size && !byContent:
		r.log.Info("input already delivered", "input", st.name, "lines", prev.Lines)
		r.stats.InputsSkipped++
		st.released = true
		if err := r.opt.Ledger.Release(ctx, st.key); err != nil {
			return nil, skipNone, err
		}
		r.inputDone(st.name)
		return nil, skipDelivered, nil
	case sink.NotALog(prev.Failed):
		r.log.Error("input not read again: an earlier run found it "+prev.Failed+"; to read it with another --format: --force", "input", st.name)
		r.stats.InputsMostlyMalformed = append(r.stats.InputsMostlyMalformed, st.name)
		return nil, skipOther, nil
	case id.Size < prev.Identity.Size && !byContent:
		r.log.Error("input is smaller than when it was last read: not sending it again; use --force to send it all", "input", st.name)
		r.stats.InputsDamaged = append(r.stats.InputsDamaged, st.name)
		return nil, skipOther, nil
	}
	return prev, skipNone, nil
}

// lookup finds an input's ledger entry: under its key, or under a key it
// had before (a file that has grown past input.FingerprintSize, recorded
// while shorter). An entry is the input's only if the input still starts
// with the bytes it recorded: otherwise its file was replaced by another
// that reuses the inode (or rewritten), and it is a new input.
func (r *runner) lookup(ctx context.Context, name string, id *input.Identity, same func(string, int) bool) (_ *ledger.Entry, byContent bool, _ error) {
	// An entry that read nothing (the file was empty: logrotate creates
	// access.log.1.gz empty, then fills it) tells nothing: the content's
	// key may know more. It is taken only when no other key has one.
	var empty *ledger.Entry
	for i, key := range id.Keys() {
		prev, err := r.opt.Ledger.Get(ctx, key)
		if err != nil || prev == nil {
			if err != nil {
				return nil, false, err
			}
			continue
		}
		p := prev.Identity
		if key == id.ContentKey() {
			// An alias: the content of a file read before. The file's own
			// entry may have got further since the alias was written (a
			// run stopped before its end): the furthest of the two.
			pf, pn := p.ContentFingerprint()
			if cf, cn := id.ContentFingerprint(); pf == cf && pn == cn && (p.Device != id.Device || p.Inode != id.Inode) {
				if own, err := r.opt.Ledger.Get(ctx, p.Key()); err == nil && own != nil && own.Identity.Fingerprint == p.Fingerprint && further(own, prev) {
					return own, true, nil
				}
				return prev, true, nil
			}
			continue
		}
		switch {
		case id.Object != "":
		case p.Fingerprint == id.Fingerprint && p.FingerprintLen == id.FingerprintLen:
		case same != nil && (p.FingerprintLen > 0 || prev.ConfirmedLine == 0 && !prev.Done) && p.FingerprintLen <= id.FingerprintLen && same(p.Fingerprint, p.FingerprintLen):
		default:
			if i == 0 {
				r.log.Info("a new file at this device and inode (the old one was rotated in place, or deleted and its inode reused): read from its start", "input", name)
			}
			continue
		}
		if prev.ConfirmedLine == 0 && !prev.Done && prev.Identity.FingerprintLen == 0 {
			if empty == nil {
				empty = prev
			}
			continue
		}
		if i > 0 && key != id.Key() {
			// Found under the key the file had while shorter: from now on
			// it is recorded under its own. The old entry is made to hold
			// the whole fingerprint, so that no shorter file reusing the
			// inode is ever taken for this one.
			stale := *prev
			stale.Identity = *id
			if err := r.opt.Ledger.Put(ctx, key, &stale); err != nil {
				return nil, false, err
			}
		}
		return prev, false, nil
	}
	return empty, false, nil
}

// further reports whether entry a has an input further than entry b.
func further(a, b *ledger.Entry) bool {
	through := func(e *ledger.Entry) int64 {
		if e.Done {
			return e.Lines
		}
		return e.ConfirmedLine
	}
	return through(a) > through(b)
}

// inputDone tells Options.OnDone that every hit of an input is confirmed.
// With sinks, it only records the input (Stats.Delivered): the caller
// runs the after-delivery action once the sinks have it durably too.
func (r *runner) inputDone(name string) {
	if len(r.opt.Sinks) > 0 {
		r.mu.Lock()
		r.stats.Delivered = append(r.stats.Delivered, name)
		r.mu.Unlock()
		return
	}
	if r.opt.OnDone == nil {
		return
	}
	if err := r.opt.OnDone(name); err != nil {
		r.log.Error("input delivered, but its after-delivery action failed", "input", name, "error", err)
		r.afterFailed.Add(1)
	}
}

// itemHeap orders items by time, then input, then line.
type itemHeap []*queued

func (h itemHeap) Len() int { return len(h) }
func (h itemHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if a.unix != b.unix {
		return a.unix < b.unix
	}
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	return a.ref.line < b.ref.line
}
func (h itemHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *itemHeap) Push(x any)   { *h = append(*h, x.(*queued)) }
func (h *itemHeap) Pop() any {
	old := *h
	q := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return q
}
