package pipeline

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/lineparse"
	"github.com/trackless/trackless/internal/logformat"
	"github.com/trackless/trackless/internal/sink"
)

// This file is the read path every command shares: inputs are opened,
// decompressed, their format detected, their lines parsed ahead, the
// hits changed by the filter (Filter.Apply) and given, merged by time
// across inputs, to the outputs: Matomo's side (matomo.go) and the sinks.

// cursor reads the hits of one input, in line order.
type cursor struct {
	name  string
	seq   int
	in    *input.Input
	lines *input.Lines
	parse *lineparse.Ahead
	batch *lineparse.Batch // being read, from i
	i     int
	// skipThrough: no output needs the lines up to here; they are not parsed.
	skipThrough int64
	// head: the lines of the input's head still to come after a jump
	// (input.Input.Jump), read again for the format's sake, not counted.
	head int64
	// dedupKey is a stream's identity key, for Options.Dedup; "" for a
	// file (never deduplicated).
	dedupKey string
	// sinks are the outputs that do not have the input whole, Matomo's
	// first when it needs the input (matomo).
	sinks []sinkIn
	// matomo is Matomo's handle of the input, nil when Matomo has it
	// whole (matomoWhole) or the run only feeds sinks.
	matomo      *matomoInput
	matomoWhole bool
	// next is the input's next hit (in the current batch, after the
	// filter's changes), on line nextLine; nil at the input's end.
	next     *hit.Hit
	nextLine int64
	nextUnix int64
	// hits and malformed count the lines read (not resumed) of each kind.
	hits, malformed int64
}

// merge reads the inputs and gives their hits to the outputs in time
// order: the inputs are merged by the time of their hits (an input is
// opened when the merge reaches the time of its first hit, at most MaxOpen
// at once), each input's hits in line order. Memory is bounded by the open
// inputs (and Matomo's reorder window).
func (r *runner) merge(ctx context.Context, names []string) error {
	order := r.orderInputs(ctx, names)
	var active cursorHeap
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
		for next < len(order) && (active.Len() == 0 || (order[next].first <= active[0].nextUnix && active.Len() < r.opt.MaxOpen)) {
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
		// Deliver the earliest input's hits while it stays the earliest
		// (one input, or hits in runs of one file): no heap operation,
		// no stop check per hit.
		c := active[0]
		for n := 0; ; n++ {
			if err := r.deliver(c); err != nil {
				r.abandon(active)
				return err
			}
			if err := r.advance(ctx, c); err != nil {
				r.abandon(active)
				return err
			}
			if c.next == nil || n == stopCheckEvery || !active.stillFirst(next < len(order) && order[next].first <= c.nextUnix && active.Len() < r.opt.MaxOpen) {
				break
			}
		}
		if c.next == nil {
			heap.Pop(&active)
		} else {
			heap.Fix(&active, 0)
		}
	}
	if !r.opt.SinksOnly {
		return r.releaseWindow(true)
	}
	return nil
}

// RecentlyWritten: a file modified this recently when a run reads it may
// be a live log: its path is recorded (ledger.Ledger.RecordAt), so that a
// later run given the path finds it once rotated; and a rotated file is
// looked at by later runs until it is read whole and unchanged this long.
const RecentlyWritten = 10 * time.Minute

// mostlyMalformedSample is how many lines read after the point an
// earlier run reached are enough to call an input mostly malformed.
const mostlyMalformedSample = 20

// stopCheckEvery is how many hits of one input merge delivers at most
// before it looks whether the run was stopped.
const stopCheckEvery = 256

// stillFirst reports whether the input at the top of the heap, whose next
// hit changed, is still the earliest (and no input is to be opened first).
func (h cursorHeap) stillFirst(toOpen bool) bool {
	if toOpen {
		return false
	}
	for i := 1; i <= 2 && i < len(h); i++ {
		if h.Less(i, 0) {
			return false
		}
	}
	return true
}

// deliver gives the cursor's next hit to the outputs that do not have its
// line.
func (r *runner) deliver(c *cursor) error {
	line, h := c.nextLine, c.next
	for _, s := range c.sinks {
		if line > s.through {
			if err := s.in.Hit(line, h); err != nil {
				return err
			}
		}
	}
	if c.matomoWhole || (c.matomo != nil && line <= c.matomo.sendFrom) {
		r.stats.LinesResumed++ // Matomo has it: read again for a sink
	}
	return nil
}

// abandon closes the inputs left open when a run stops early; their lines
// not confirmed are read again by the next run (the sinks keep what they
// counted: they get no End).
func (r *runner) abandon(active cursorHeap) {
	for _, c := range active {
		if c.matomo != nil {
			c.matomo.abandon()
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

// open opens an input, asks Matomo's side and the sinks how far they have
// it, and reads up to its first hit. It returns nil for an input that is
// skipped or cannot be read. An input whose identity is known without
// opening it (an object) is claimed and looked up before it is opened, so
// that a delivered object is not downloaded again.
func (r *runner) open(ctx context.Context, name string, seq int) (*cursor, error) {
	c := &cursor{name: name, seq: seq}
	var id *input.Identity
	if r.opt.Identify != nil {
		id = r.opt.Identify(name)
	}
	if id != nil {
		r.stats.Inputs++
		if skip, err := r.begin(ctx, c, id); skip || err != nil {
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
	if errors.Is(err, fs.ErrNotExist) {
		// Listed, then gone (logrotate compressed a rotated file, or
		// moved it): its rest is found where it went by a later run.
		r.log.Info("input gone before it was read (rotated or moved since it was listed)", "input", name)
		r.stats.InputsGone = append(r.stats.InputsGone, name)
		return nil, nil
	}
	if err != nil {
		r.log.Error("cannot read input", "input", name, "error", err)
		r.stats.InputsDamaged = append(r.stats.InputsDamaged, name)
		return nil, nil
	}
	if in.Identity != nil && in.Identity.Object == "" && in.Size == 0 && time.Since(in.Modified) < input.Settle {
		// An empty file just made (a log just created, a rotated file
		// about to be compressed into): nothing to read yet, and nothing
		// to record of it; a later run reads it with what it holds.
		r.log.Info("input empty, just created: read by a later run", "input", name)
		in.Close()
		return nil, nil
	}
	c.in = in
	if id == nil {
		r.stats.Inputs++
		if skip, err := r.begin(ctx, c, in.Identity); skip || err != nil {
			in.Close()
			return nil, err
		}
	}
	c.skipThrough = c.sinks[0].through
	for _, s := range c.sinks[1:] {
		c.skipThrough = min(c.skipThrough, s.through)
	}
	if c.skipThrough > 0 {
		r.log.Info("resuming input", "input", name, "after_line", c.skipThrough)
		// Where a line every output has ends: read on from there.
		var at input.Mark
		for _, s := range c.sinks {
			if s.mark.Valid() && s.mark.Line <= c.skipThrough && (!at.Valid() || s.mark.Line > at.Line) {
				at = s.mark
			}
		}
		switch {
		case at.Valid() && in.Jump(at):
			r.log.Debug("reading on from where a line read before ends", "input", name, "line", at.Line, "byte", at.Offset, "position", at.Position)
			if !in.IsStream() {
				r.stats.BytesSkipped += at.Offset - at.HeadOffset
			}
			c.head = at.HeadLine
		case in.IsStream():
			// A stream is read on only from a record's position: its
			// records from its start are not the lines counted before
			// (the oldest have expired), so skipping lines would lose or
			// repeat some.
			err := fmt.Errorf("the ledger (or report state) has its first %d lines, but not the sequence number of a record to read on after: not read (--force reads the shard again from its oldest record, sending what was sent again)", c.skipThrough)
			r.log.Error("cannot read on in the stream", "input", name, "error", err)
			r.stats.InputsDamaged = append(r.stats.InputsDamaged, name+": "+err.Error())
			in.Close()
			c.in = nil
			for _, s := range c.sinks {
				if err := s.in.End(sink.End{Lines: c.skipThrough, Failed: err.Error()}); err != nil {
					return nil, err
				}
			}
			c.sinks = nil
			return nil, nil
		}
	}
	if r.opt.Dedup != nil && in.IsStream() && in.Identity != nil {
		c.dedupKey = in.Identity.Key()
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
	if in.Live && r.opt.WholeLines {
		// Written to moments ago: an unterminated last line is being
		// written; it is read by a later run, whole.
		c.lines.HoldUnterminated()
	}
	c.parse = lineparse.Start(c.lines, parser, c.skipThrough)
	if err := r.advance(ctx, c); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// begin asks Matomo's side and the sinks how far they have an input
// about to be read (id is nil when it has no identity: stdin). skip is
// true when none of them needs it, when another worker reads it, or when
// this run has begun it already under another name.
func (r *runner) begin(ctx context.Context, c *cursor, id *input.Identity) (skip bool, err error) {
	var same func(string, int) bool
	if c.in != nil && id != nil && id.Object == "" {
		same = c.in.SamePrefix
	}
	if id != nil {
		// The same input under two names (given twice, a hard link, an
		// object listed under two prefixes) is read once.
		key := id.Key()
		if first, ok := r.begun[key]; ok {
			r.log.Warn("input given twice: read once", "input", c.name, "same_as", first)
			return true, nil
		}
		if r.begun == nil {
			r.begun = map[string]string{}
		}
		r.begun[key] = c.name
	}
	if !r.opt.SinksOnly {
		// A file written to lately may be a live log: its path is
		// recorded, so that a later run finds it after a rotation.
		recent := c.in != nil && !c.in.Modified.IsZero() && time.Since(c.in.Modified) < RecentlyWritten
		m, whole, leave, err := r.beginMatomo(ctx, c.name, id, same, recent, c.seq)
		if err != nil || leave {
			return true, err
		}
		c.matomo, c.matomoWhole = m, whole
		if m != nil {
			c.sinks = append(c.sinks, sinkIn{in: m, through: m.sendFrom, mark: m.st.mark})
		}
	}
	info := sink.Info{Name: c.name}
	if id != nil {
		info.Key, info.Size, info.Keys = id.Key(), id.Size, id.Keys()
		info.Fingerprint, info.FingerprintLen, info.SamePrefix = id.Fingerprint, id.FingerprintLen, same
		info.Content, info.ContentLen = id.ContentFingerprint()
		if ck := id.ContentKey(); id.Content == "" && id.Object == "" && ck != info.Key {
			info.Alias = ck
		}
	}
	for _, s := range r.opt.Sinks {
		h, through, err := s.Begin(info)
		if err != nil {
			return true, err
		}
		if h != nil {
			si := sinkIn{in: h, through: through}
			if mk, ok := h.(sink.Marked); ok {
				si.mark = mk.Mark()
			}
			c.sinks = append(c.sinks, si)
		}
	}
	return len(c.sinks) == 0, nil
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

// advance reads lines up to the input's next hit (c.next); malformed lines
// on the way are counted and told to the outputs. At the input's end it
// says how it ended, tells the outputs, and closes it (c.next is then nil).
func (r *runner) advance(ctx context.Context, c *cursor) error {
	c.next = nil
	for {
		if c.batch == nil || c.i == len(c.batch.Lines) {
			if c.batch != nil {
				if m := c.batch.Mark; m.Valid() && c.matomo != nil {
					c.matomo.st.reached(m) // every line of the batch was read and tracked
				}
				if c.batch.End {
					break
				}
				c.parse.Recycle(c.batch)
			}
			select {
			case c.batch = <-c.parse.Out:
				c.i = 0
				if m := c.batch.Start; m.Valid() {
					// A stream read from its start: the outputs keep where
					// it starts until they have a later mark.
					for _, s := range c.sinks {
						if st, ok := s.in.(sink.Started); ok {
							st.Start(m)
						}
					}
				}
			case <-ctx.Done():
				c.batch = nil
				return ctx.Err()
			}
			continue
		}
		pl := &c.batch.Lines[c.i]
		c.i++
		lineNo := pl.Line
		if pl.Kind == lineparse.Resumed && c.head > 0 {
			c.head-- // the head, read again after a jump: not counted
			continue
		}
		r.stats.LinesRead++
		switch pl.Kind {
		case lineparse.TooLong:
			c.malformed++
			r.stats.Malformed[logformat.ReasonLineTooLong]++
			r.warn("malformed", "malformed line", "input", c.name, "line", lineNo, "reason", logformat.ReasonLineTooLong)
			c.malformedToSinks(lineNo, logformat.ReasonLineTooLong)
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
				r.warn("malformed", "malformed line", "input", c.name, "line", lineNo, "reason", pe.Reason, "detail", pe.Detail)
				c.malformedToSinks(lineNo, pe.Reason)
			}
			continue
		}
		if pl.Kind != lineparse.Hit {
			continue
		}
		if c.dedupKey != "" && pl.H.RequestID != "" && r.opt.Dedup.Duplicate(pl.H.RequestID, c.dedupKey, lineNo) {
			r.stats.Duplicates++
			r.log.Debug("record written twice: left out", "input", c.name, "line", lineNo, "request_id", pl.H.RequestID)
			continue
		}
		r.stats.Hits++
		c.hits++
		if r.opt.HitCount != nil {
			r.opt.HitCount.Add(1)
		}
		r.opt.Filter.Apply(&pl.H)
		c.next, c.nextLine, c.nextUnix = &pl.H, lineNo, pl.H.Time.UnixNano()
		return nil
	}
	var failed string
	if fe := c.batch.Unknown; fe != nil {
		what, prefix := "input not read: its format is unknown", sink.FailUnknownFormat
		if fe.Binary {
			what, prefix = "input not read: it is not a text log", sink.FailNotText
		}
		r.log.Error(what, "input", c.name, "error", fe.Error())
		r.stats.InputsDamaged = append(r.stats.InputsDamaged, c.name)
		failed = prefix + fe.Error()
	}
	// A verdict on the input needs enough of it: all of it, or a good
	// number of new lines (a grown log whose one new line is cut is not
	// "mostly malformed").
	if c.malformed > 0 && c.malformed >= c.hits && (c.skipThrough == 0 || c.malformed+c.hits >= mostlyMalformedSample) {
		r.log.Error("most lines of the input are malformed: is it a log of the format read? (to read it again with another --format: --force)", "input", c.name, "malformed", c.malformed, "hits", c.hits)
		r.stats.InputsMostlyMalformed = append(r.stats.InputsMostlyMalformed, c.name)
		if !c.in.IsStream() {
			// Never done: no output records it whole, --after leaves it.
			// (A stream is not judged once for all: its next records may
			// be of the format; these are counted and said.)
			failed = fmt.Sprintf("%s%d of its lines are malformed, %d are hits: is it a log of the format read?", sink.FailMostlyMalformed, c.malformed, c.hits)
		}
	}
	// A file cut short that is being written (logrotate compressing a
	// rotated file this very moment) is not damaged: it is not whole yet.
	growing := c.batch.Damage != nil && c.in.Identity != nil && c.in.Identity.Object == "" && time.Since(c.in.Modified) < input.Settle
	if err := c.batch.Damage; err != nil && growing {
		r.log.Info("input ends in the middle of its data, and is being written (a file being compressed?): read on by a later run", "input", c.name, "after_line", c.batch.Last, "error", err)
		r.stats.InputsWaiting = append(r.stats.InputsWaiting, c.name)
	} else if err != nil {
		r.log.Error("input is damaged: lines before the damage were read", "input", c.name, "after_line", c.batch.Last, "error", err)
		r.stats.InputsDamaged = append(r.stats.InputsDamaged, c.name)
		failed = fmt.Sprintf("damaged after line %d: %v", c.batch.Last, err)
	}
	end := sink.End{Lines: c.batch.Last, Failed: failed, Waiting: growing, Stream: c.in.IsStream()}
	if m := c.batch.Mark; m.Valid() && m.Line == end.Lines {
		end.Mark = m
	}
	if c.batch.Unknown != nil {
		// Refused before any line was handed on (the lines the format
		// check looked at are not read): the outputs keep where they
		// were, and a run with the right --format reads them all.
		end.Lines = 0
	}
	if c.in.Unfinished() {
		// A stream read as far as it goes now: it goes on.
		end.Waiting = true
	}
	if c.in.Live && r.opt.WholeLines {
		// Being written: not whole whatever it ends with (no after-
		// delivery action on a file its writer still writes to).
		end.Waiting = true
	}
	if c.batch.Held > 0 {
		r.log.Info("the input's last line is still being written: it is read once complete", "input", c.name, "line", c.batch.Last+1, "bytes", c.batch.Held)
		r.stats.InputsWaiting = append(r.stats.InputsWaiting, c.name)
	}
	if id := c.in.Identity; id != nil && id.Object == "" && id.FingerprintLen < input.FingerprintSize {
		// A short file grew as it was read: its fingerprint now.
		if fp, n := c.in.Fingerprint(); n > id.FingerprintLen {
			end.Fingerprint, end.FingerprintLen = fp, n
		}
	}
	c.close()
	for _, s := range c.sinks {
		if err := s.in.End(end); err != nil {
			return err
		}
	}
	c.sinks = nil
	return nil
}

// malformedToSinks tells the outputs that do not have line that it is
// malformed.
func (c *cursor) malformedToSinks(line int64, reason string) {
	for _, s := range c.sinks {
		if line > s.through {
			s.in.Malformed(line, reason)
		}
	}
}

// cursorHeap orders open inputs by the time of their next hit.
type cursorHeap []*cursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if a.nextUnix != b.nextUnix {
		return a.nextUnix < b.nextUnix
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
