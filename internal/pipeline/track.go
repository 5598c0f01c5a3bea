package pipeline

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/ledger"
)

// Shards is the number of visitor shards. A hit's shard is a stable hash of
// its client IP and user agent; shard s is always sent by worker
// s % concurrency, so one visitor's hits keep their order. The ledger keeps
// one watermark per shard, independent of the concurrency of a run.
const Shards = 64

// inputState tracks which lines of one input are confirmed.
//
// Each shard keeps the lines of its hits in the order they were read, each
// marked done when confirmed; confirmations may come in any order (a hit
// can be sent after a later line of the same input when hits are put in
// time order). Every line of shard s before its first line not done is
// confirmed; the input's confirmed line is the smallest of them.
type inputState struct {
	name     string
	key      string // ledger key; "" when the input has no identity
	identity input.Identity

	mu sync.Mutex
	// readLine: every line up to here was read and tracked. Only the
	// reading goroutine raises it: under mu with the line's pending entry
	// (track), or alone for a line with no hit to confirm (advance), so
	// that entry, under mu, never sees a line read whose hit is not yet
	// pending.
	readLine atomic.Int64
	pending  [Shards][]pendingLine // lines of hits sent or to send, in read order
	heads    [Shards]int           // first live index of pending[s]
	npending int
	eof      bool
	lines    int64 // line count, at eof
	resume   []int64
	// resumeDone: per shard, lines above resume[s] that an earlier run
	// confirmed (ledger.Entry.ShardDone).
	resumeDone map[int][]int64
	failed     bool   // damaged or aborted: never marked done
	waiting    bool   // its last line is still being written: not done yet
	read       bool   // this run reads it (Matomo's handle was made)
	failReason string // why it is damaged ("" when aborted)
	// marks are where lines read ends in the input (input.Mark), in line
	// order; mark is the latest at or below the confirmed line, recorded
	// with it (ledger.Entry.Mark), for the next run to read on from.
	marks []input.Mark
	mark  input.Mark
	// aliased: the entry was written under aliasKey too in this run (at
	// its first write; again at the run's end: writeAliases).
	aliased bool
	// released: the ledger claim was given back (the persister's
	// goroutine sets it, after the last write, or open before reading).
	released bool
}

type pendingLine struct {
	line int64
	done bool
}

// track records that the hit on line, of shard, is on its way. Lines must
// be tracked in increasing order.
func (in *inputState) track(shard int, line int64) {
	in.mu.Lock()
	in.pending[shard] = append(in.pending[shard], pendingLine{line: line})
	in.npending++
	in.readLine.Store(line)
	in.mu.Unlock()
}

// advance records that every line up to line was read (a line without a
// hit to confirm: no lock, it is once per skipped hit).
func (in *inputState) advance(line int64) {
	if line > in.readLine.Load() {
		in.readLine.Store(line)
	}
}

// aliasKey is the key under which what was read of the input is also
// recorded, its content's (input.Identity.ContentKey), for a plain file:
// only plain files are compressed or copied by rotations. "" for others.
func (in *inputState) aliasKey() string {
	if in.key == "" || in.identity.Content != "" || in.identity.Object != "" {
		return ""
	}
	if ck := in.identity.ContentKey(); ck != in.key {
		return ck
	}
	return ""
}

// reached records that every line through m.Line was read and tracked.
func (in *inputState) reached(m input.Mark) {
	in.mu.Lock()
	in.marks = append(in.marks, m)
	in.mu.Unlock()
}

// markAt returns the latest mark at or below line (the confirmed line),
// and forgets the earlier ones. Call with mu held.
func (in *inputState) markAt(line int64) input.Mark {
	i := 0
	for i < len(in.marks) && in.marks[i].Line <= line {
		in.mark = in.marks[i]
		i++
	}
	in.marks = in.marks[:copy(in.marks, in.marks[i:])]
	if in.mark.Line > line {
		return input.Mark{} // kept from an entry of before: past the line now confirmed
	}
	return in.mark
}

// delivered reports whether an earlier run confirmed the hit of shard on
// line (the resume watermark, or a confirmed line above it).
func (in *inputState) delivered(shard int, line int64) bool {
	if in.resume == nil {
		return false
	}
	if line <= in.resume[shard] {
		return true
	}
	_, found := slices.BinarySearch(in.resumeDone[shard], line)
	return found
}

// confirm marks the hit on line of shard as confirmed.
func (in *inputState) confirm(shard int, line int64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	q := in.pending[shard][in.heads[shard]:]
	i, found := slices.BinarySearchFunc(q, line, func(p pendingLine, l int64) int { return cmp.Compare(p.line, l) })
	if !found || q[i].done {
		return
	}
	q[i].done = true
	in.npending--
	h := in.heads[shard]
	for h < len(in.pending[shard]) && in.pending[shard][h].done {
		h++
	}
	switch {
	case h == len(in.pending[shard]):
		in.pending[shard] = in.pending[shard][:0]
		h = 0
	case h > 1024 && h*2 > len(in.pending[shard]):
		n := copy(in.pending[shard], in.pending[shard][h:])
		in.pending[shard] = in.pending[shard][:n]
		h = 0
	}
	in.heads[shard] = h
}

// entry snapshots the ledger entry of the input.
func (in *inputState) entry() *ledger.Entry {
	in.mu.Lock()
	defer in.mu.Unlock()
	e := &ledger.Entry{Name: in.name, Identity: in.identity, ShardLines: make([]int64, Shards), Updated: time.Now().UTC()}
	e.ConfirmedLine = -1
	for s := 0; s < Shards; s++ {
		wm := in.readLine.Load()
		if in.heads[s] < len(in.pending[s]) {
			wm = in.pending[s][in.heads[s]].line - 1
		}
		// Hits skipped on resume are confirmed up to the resume watermark.
		if in.resume != nil && in.resume[s] > wm {
			wm = in.resume[s]
		}
		e.ShardLines[s] = wm
		if e.ConfirmedLine < 0 || wm < e.ConfirmedLine {
			e.ConfirmedLine = wm
		}
		// Confirmed lines above the watermark, so that a restart does not
		// send them again.
		var done []int64
		for _, l := range in.resumeDone[s] {
			if l > wm {
				done = append(done, l)
			}
		}
		for _, p := range in.pending[s][in.heads[s]:] {
			if p.done {
				done = append(done, p.line)
			}
		}
		if len(done) > 0 {
			if e.ShardDone == nil {
				e.ShardDone = make(map[int][]int64)
			}
			slices.Sort(done)
			e.ShardDone[s] = done
		}
	}
	e.Failed = in.failReason
	if in.eof && in.npending == 0 && !in.failed && !in.waiting {
		e.Done, e.Lines, e.ConfirmedLine, e.ShardLines, e.ShardDone = true, in.lines, in.lines, nil, nil
	}
	if m := in.markAt(e.ConfirmedLine); m.Valid() {
		e.Mark = &m
	}
	return e
}

// persister writes ledger entries in groups: workers mark inputs dirty after
// a batch is confirmed and wait until a write that includes their change is
// durable, so at most the batches in flight can be sent twice after a crash.
type persister struct {
	led ledger.Store
	// finished is called, from the persister's goroutine, once an input's
	// done entry is durable.
	finished func(*inputState)

	mu      sync.Mutex
	cond    *sync.Cond
	dirty   map[*inputState]bool
	reqGen  uint64
	doneGen uint64
	err     error
	closed  bool
	wg      sync.WaitGroup
}

// putTimeout bounds one ledger write (an S3 PUT with the SDK's retries).
const putTimeout = time.Minute

func newPersister(led ledger.Store, finished func(*inputState)) *persister {
	p := &persister{led: led, finished: finished, dirty: make(map[*inputState]bool)}
	p.cond = sync.NewCond(&p.mu)
	if led != nil {
		p.wg.Add(1)
		go p.loop()
	}
	return p
}

// mark records that ins changed and returns the generation to wait for.
func (p *persister) mark(ins ...*inputState) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, in := range ins {
		if in.key != "" {
			p.dirty[in] = true
		}
	}
	p.reqGen++
	p.cond.Broadcast()
	return p.reqGen
}

// wait blocks until generation gen is durable, and returns a write error.
func (p *persister) wait(gen uint64) error {
	if p.led == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.doneGen < gen && p.err == nil {
		p.cond.Wait()
	}
	return p.err
}

func (p *persister) loop() {
	defer p.wg.Done()
	p.mu.Lock()
	for {
		for p.reqGen == p.doneGen && !p.closed {
			p.cond.Wait()
		}
		if p.reqGen == p.doneGen && p.closed {
			p.mu.Unlock()
			return
		}
		gen := p.reqGen
		dirty := p.dirty
		p.dirty = make(map[*inputState]bool)
		p.mu.Unlock()
		var err error
		var done []*inputState
		for in := range dirty {
			e := in.entry()
			ctx, cancel := context.WithTimeout(context.Background(), putTimeout)
			perr := p.led.Put(ctx, in.key, e)
			if ck := in.aliasKey(); perr == nil && !in.aliased && ck != "" {
				// The content's key points at this file's entry from its
				// first write: a file killed before the run's end and then
				// compressed by a rotation is found by its content and
				// read on from this file's own progress (lookup).
				if err := p.led.Put(ctx, ck, e); err == nil {
					in.aliased = true
				}
			}
			cancel()
			if perr != nil && err == nil {
				err = perr
			}
			if perr == nil && e.Done {
				done = append(done, in)
			}
		}
		for _, in := range done {
			p.finished(in)
		}
		p.mu.Lock()
		if err != nil && p.err == nil {
			p.err = err
		}
		p.doneGen = gen
		p.cond.Broadcast()
	}
}

func (p *persister) close() error {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
	return p.err
}
