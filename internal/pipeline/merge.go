package pipeline

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/lineparse"
	"github.com/trackless/trackless/internal/logformat"
	"github.com/trackless/trackless/internal/sink"
)

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

// cursor reads the hits of one input, in line order.
type cursor struct {
	name        string
	seq         int
	in          *input.Input
	st          *inputState
	lines       *input.Lines
	parse       *lineparse.Ahead
	batch       *lineparse.Batch // being read, from i
	i           int
	skipThrough int64   // lines read before: no one needs them
	sendFrom    int64   // Matomo has every hit through this line
	next        *queued // the next item of this input; nil at its end
	n           int
	// hits and malformed count the lines read (not resumed) of each kind.
	hits, malformed int64
}

// merge reads the inputs and hands their items to the batches in time
// order: the inputs are merged by the time of their hits (an input is
// opened when the merge reaches the time of its first hit), and a window
// of ReorderWindow puts back in order hits that come late within an input.
// Memory is bounded by the open inputs and the hits within the window.
func (r *runner) merge(ctx context.Context, names []string) error {
	order := r.orderInputs(ctx, names)
	var active cursorHeap
	window := &itemHeap{}
	var maxSeen int64
	release := func(all bool) error {
		for window.Len() > 0 && (all || (*window)[0].unix <= maxSeen-int64(r.opt.ReorderWindow)) {
			if err := r.enqueue(heap.Pop(window).(*queued)); err != nil {
				return err
			}
		}
		return nil
	}
	next := 0
	for {
		if err := ctx.Err(); err != nil {
			r.abandon(active)
			return err
		}
		if err := r.fatalErr(); err != nil {
			r.abandon(active)
			return err
		}
		// Open the inputs whose first hit the merge has reached.
		for next < len(order) && (active.Len() == 0 || (order[next].first <= active[0].next.unix && active.Len() < r.opt.MaxOpen)) {
			c, err := r.open(ctx, order[next].name, next)
			next++
			if err != nil {
				r.abandon(active)
				return err
			}
			if c != nil && c.next != nil {
				heap.Push(&active, c)
			}
		}
		if active.Len() == 0 {
			break
		}
		c := active[0]
		q := c.next
		heap.Push(window, q)
		maxSeen = max(maxSeen, q.unix)
		if err := r.advance(ctx, c); err != nil {
			r.abandon(active)
			return err
		}
		if c.next == nil {
			heap.Pop(&active)
		} else {
			heap.Fix(&active, 0)
		}
		if err := release(false); err != nil {
			return err
		}
	}
	return release(true)
}

// abandon closes the inputs left open when a run stops early; their lines
// not confirmed are read again by the next run.
func (r *runner) abandon(active cursorHeap) {
	for _, c := range active {
		c.st.mu.Lock()
		c.st.failed = true
		c.st.mu.Unlock()
		if !c.st.matomoOff {
			r.pers.mark(c.st)
		}
		c.close()
	}
}

type firstHit struct {
	name  string
	first int64
}

// orderInputs sorts the inputs by the time of their first hit: the time
// FirstHint knows (from an object's name), or a quick look at the input,
// several inputs at once (stdin and unreadable inputs keep their place
// first).
func (r *runner) orderInputs(ctx context.Context, names []string) []firstHit {
	out := make([]firstHit, len(names))
	sem := make(chan struct{}, peekParallel)
	var wg sync.WaitGroup
	for i, n := range names {
		out[i] = firstHit{name: n, first: -1 << 63}
		if len(names) == 1 || r.opt.SinksOnly { // sinks need no time order
			continue
		}
		if r.opt.FirstHint != nil {
			if t, ok := r.opt.FirstHint(n); ok {
				out[i].first = t
				continue
			}
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			out[i].first = r.peekFirst(ctx, out[i].name)
		}(i)
	}
	wg.Wait()
	slices.SortStableFunc(out, func(a, b firstHit) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})
	return out
}

// peekParallel is how many inputs orderInputs looks into at once.
const peekParallel = 8

// peekFirst returns the time of the first hit of an input, or the lowest
// time when there is none or it cannot be read (the merge opens it first
// and reports the problem then).
func (r *runner) peekFirst(ctx context.Context, name string) int64 {
	const none = -1 << 63
	if name == "-" || (r.opt.Open == nil && !input.Rewindable(name)) {
		return none // reading a pipe or device consumes it: never twice
	}
	in, err := r.openInput(ctx, name)
	if err != nil {
		return none
	}
	defer in.Close()
	p, err := logformat.NewReader(r.opt.Format, name, r.opt.Reader)
	if err != nil {
		return none
	}
	lines := in.PeekLines()
	var h hit.Hit
	for i := 0; i < 10000; i++ {
		line, err := lines.Next()
		if err != nil {
			if errors.Is(err, input.ErrLineTooLong) {
				continue
			}
			return none
		}
		if ok, err := p.Parse(line, lines.Line(), &h); ok && err == nil {
			return h.Time.UnixNano()
		}
	}
	return none
}

// openInput opens a named input: stdin, a file, or what Options.Open opens.
func (r *runner) openInput(ctx context.Context, name string) (*input.Input, error) {
	switch {
	case name == "-":
		return input.FromReader("-", os.Stdin)
	case r.opt.Open != nil:
		return r.opt.Open(ctx, name)
	}
	return input.OpenContext(ctx, name) // a named pipe with no writer must not block an interrupt
}

// open opens an input, consults the ledger and the sinks, and reads up to
// its first item. It returns nil for an input that is skipped or cannot be
// read. An input whose identity is known without opening it (an object) is
// claimed and looked up before it is opened, so that a delivered object is
// not downloaded again.
func (r *runner) open(ctx context.Context, name string, seq int) (*cursor, error) {
	st := &inputState{name: name, matomoOff: r.opt.SinksOnly}
	var prev *ledger.Entry
	var id *input.Identity
	if r.opt.Identify != nil {
		id = r.opt.Identify(name)
	}
	if id != nil {
		r.stats.Inputs++
		var skip bool
		var err error
		if prev, skip, err = r.begin(ctx, st, id); skip || err != nil {
			return nil, err
		}
	}
	in, err := r.openInput(ctx, name)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err() // interrupted while opening (a named pipe with no writer)
	}
	if errors.Is(err, input.ErrSuperseded) {
		r.log.Warn("input skipped", "input", name, "reason", err)
		r.stats.InputsSuperseded++
		return nil, nil
	}
	if err != nil {
		r.log.Error("cannot read input", "input", name, "error", err)
		r.stats.InputsDamaged = append(r.stats.InputsDamaged, name)
		st.failed = true
		return nil, nil
	}
	c := &cursor{name: name, seq: seq, in: in, st: st}
	if id == nil {
		r.stats.Inputs++
		var skip bool
		if prev, skip, err = r.begin(ctx, st, in.Identity); skip || err != nil {
			in.Close()
			return nil, err
		}
	}
	// Matomo's ledger says where sending goes on; a sink may need the
	// input from an earlier line: lines up to Matomo's point are then read
	// again for the sink, and not sent (st.resume).
	var sendFrom int64
	if prev != nil && !st.matomoOff {
		switch {
		case prev.Done:
			sendFrom = prev.Lines // it grew: go on after the old end
		default:
			sendFrom = prev.ConfirmedLine
			if len(prev.ShardLines) == Shards {
				st.resume = prev.ShardLines
				st.resumeDone = prev.ShardDone
			}
		}
	}
	c.skipThrough, c.sendFrom = sendFrom, sendFrom
	if st.matomoOff {
		c.skipThrough = math.MaxInt64
	}
	for _, s := range st.sinks {
		c.skipThrough = min(c.skipThrough, s.through)
	}
	if c.skipThrough < sendFrom && st.resume == nil {
		st.resume = make([]int64, Shards)
		for i := range st.resume {
			st.resume[i] = sendFrom
		}
	}
	st.readLine = c.skipThrough
	if c.skipThrough > 0 {
		r.log.Info("resuming input", "input", name, "after_line", c.skipThrough)
	}
	if r.opt.Progress != nil {
		r.opt.Progress(in)
	}
	parser, err := logformat.NewReader(r.opt.Format, name, r.opt.Reader)
	if err != nil {
		in.Close()
		return nil, err
	}
	c.lines = in.Lines()
	c.parse = lineparse.Start(c.lines, parser, c.skipThrough)
	return c, r.advance(ctx, c)
}

// begin consults Matomo's ledger and the sinks on an input about to be
// read (id is nil when it has no identity: stdin). skip is true when none
// of them needs it: Matomo has it (or another worker reads it, or it
// shrank) and every sink has it.
func (r *runner) begin(ctx context.Context, st *inputState, id *input.Identity) (prev *ledger.Entry, skip bool, err error) {
	if !st.matomoOff && id != nil {
		var why skipReason
		if prev, why, err = r.consult(ctx, st, id); err != nil {
			return nil, false, err
		}
		switch why {
		case skipOther:
			return nil, true, nil
		case skipDelivered:
			st.matomoOff = true
		}
	}
	info := sink.Info{Name: st.name}
	if id != nil {
		info.Key, info.Size = id.Key(), id.Size
	}
	for _, s := range r.opt.Sinks {
		h, through, err := s.Begin(info)
		if err != nil {
			return nil, false, err
		}
		if h != nil {
			st.sinks = append(st.sinks, sinkIn{in: h, through: through})
		}
	}
	return prev, st.matomoOff && len(st.sinks) == 0, nil
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
func (r *runner) consult(ctx context.Context, st *inputState, id *input.Identity) (prev *ledger.Entry, why skipReason, err error) {
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
	if !r.opt.Force {
		if prev, err = r.opt.Ledger.Get(ctx, st.key); err != nil {
			return nil, skipNone, err
		}
	}
	switch {
	case prev == nil:
	case prev.Done && prev.Identity.Size == id.Size:
		r.log.Info("input already delivered", "input", st.name, "lines", prev.Lines)
		r.stats.InputsSkipped++
		st.released = true
		if err := r.opt.Ledger.Release(ctx, st.key); err != nil {
			return nil, skipNone, err
		}
		r.inputDone(st.name)
		return nil, skipDelivered, nil
	case id.Size < prev.Identity.Size:
		r.log.Error("input is smaller than when it was last read: not sending it again; use --force to send it all", "input", st.name)
		r.stats.InputsDamaged = append(r.stats.InputsDamaged, st.name)
		return nil, skipOther, nil
	}
	return prev, skipNone, nil
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

func (c *cursor) close() {
	if c.parse != nil {
		c.parse.Stop()
		c.parse = nil
	}
	if c.lines != nil {
		c.lines.Close()
		c.lines = nil
	}
	if c.in != nil {
		c.in.Close()
		c.in = nil
	}
}

// advance reads lines up to the next item of the input; at its end it
// records the input as read and closes it (c.next is then nil).
func (r *runner) advance(ctx context.Context, c *cursor) error {
	c.next = nil
	st := c.st
	for {
		if c.batch == nil || c.i == len(c.batch.Lines) {
			if c.batch != nil {
				if c.batch.End {
					break
				}
				c.parse.Recycle(c.batch)
			}
			select {
			case c.batch = <-c.parse.Out:
				c.i = 0
			case <-ctx.Done():
				c.batch = nil
				return ctx.Err()
			}
			continue
		}
		pl := &c.batch.Lines[c.i]
		c.i++
		lineNo := pl.Line
		r.stats.LinesRead++
		switch pl.Kind {
		case lineparse.TooLong:
			c.malformed++
			r.stats.Malformed[logformat.ReasonLineTooLong]++
			st.malformedToSinks(lineNo, logformat.ReasonLineTooLong)
			r.warn("malformed", "malformed line", "input", c.name, "line", lineNo, "reason", logformat.ReasonLineTooLong)
			continue
		case lineparse.Resumed:
			r.stats.LinesResumed++
			continue
		}
		if pl.InvalidUTF8 {
			// Another charset or broken bytes: kept as they are (what is
			// sent escapes them), and counted.
			r.stats.InvalidUTF8++
		}
		if pl.Kind == lineparse.Bad {
			c.malformed++
			var pe *logformat.ParseError
			if errors.As(pl.Err, &pe) {
				r.stats.Malformed[pe.Reason]++
				st.malformedToSinks(lineNo, pe.Reason)
				r.warn("malformed", "malformed line", "input", c.name, "line", lineNo, "reason", pe.Reason, "detail", pe.Detail)
			}
			continue
		}
		if pl.Kind != lineparse.Hit {
			continue
		}
		r.stats.Hits++
		c.hits++
		if r.opt.HitCount != nil {
			r.opt.HitCount.Add(1)
		}
		q, err := r.hit(st, &pl.H, lineNo)
		if err != nil {
			st.mu.Lock()
			st.failed = true
			st.mu.Unlock()
			r.pers.mark(st)
			return err
		}
		if q != nil {
			q.seq = c.seq
			c.next = q
			return nil
		}
		st.advance(lineNo)
	}
	if fe := c.batch.Unknown; fe != nil {
		what, prefix := "input not read: its format is unknown", "format unknown: "
		if fe.Binary {
			what, prefix = "input not read: it is not a text log", "not a text log: "
		}
		r.log.Error(what, "input", c.name, "error", fe.Error())
		r.stats.InputsDamaged = append(r.stats.InputsDamaged, c.name)
		st.mu.Lock()
		st.failed, st.failReason = true, prefix+fe.Error()
		st.mu.Unlock()
	}
	if c.batch.Unknown == nil && !st.matomoOff && c.sendFrom > c.batch.Last {
		// The ledger says lines were delivered that the input does not
		// have: it was replaced by a shorter file that starts the same.
		reason := fmt.Sprintf("the ledger says line %d was delivered, but the input has %d lines: it was replaced or cut; nothing of it was sent (use --force to send it all again)", c.sendFrom, c.batch.Last)
		r.log.Error("input does not match its ledger entry", "input", c.name, "reason", reason)
		r.stats.InputsDamaged = append(r.stats.InputsDamaged, c.name+": "+reason)
		st.mu.Lock()
		st.failed, st.failReason = true, reason
		st.mu.Unlock()
	}
	if c.malformed > 0 && c.malformed >= c.hits {
		r.log.Error("most lines of the input are malformed: is it a log of the format read?", "input", c.name, "malformed", c.malformed, "hits", c.hits)
		r.stats.InputsMostlyMalformed = append(r.stats.InputsMostlyMalformed, c.name)
	}
	if err := c.batch.Damage; err != nil {
		r.log.Error("input is damaged: lines before the damage were read", "input", c.name, "after_line", c.batch.Last, "error", err)
		r.stats.InputsDamaged = append(r.stats.InputsDamaged, c.name)
		st.mu.Lock()
		st.failed, st.failReason = true, fmt.Sprintf("damaged after line %d: %v", c.batch.Last, err)
		st.mu.Unlock()
	}
	st.mu.Lock()
	st.eof = true
	st.lines = c.batch.Last
	if st.lines > st.readLine {
		st.readLine = st.lines
	}
	failed := st.failReason
	st.mu.Unlock()
	if !st.matomoOff {
		r.pers.mark(st)
	}
	c.close()
	return st.endSinks(c.batch.Last, failed)
}

// cursorHeap orders open inputs by the time of their next item.
type cursorHeap []*cursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	a, b := h[i].next, h[j].next
	if a.unix != b.unix {
		return a.unix < b.unix
	}
	return a.seq < b.seq
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
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
