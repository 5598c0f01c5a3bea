package lake

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/filter"
	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/sink"
)

// ErrLake marks an error of the lake (a file or an entry that could not
// be written): the sink takes nothing more.
var ErrLake = errors.New("lake")

// Options configure a Sink.
type Options struct {
	Rows RowOptions
	// Classify says what a hit is (kind, agent): the document and exclude
	// regular expressions of the run; Matomo's own filters do not apply.
	Classify classify.Config
	// Filter leaves hits out of the lake (the reading flags).
	Filter filter.Filter
	// FlushEvery, when positive, keeps an input's files open from one
	// read of it to the next (send --follow, lake --follow) until this
	// long has passed since its first row not yet published, or until
	// Close; 0 publishes an input's files whenever its reading ends.
	FlushEvery time.Duration
	// FlushWhole, with FlushEvery, publishes an input read whole at once
	// (an after-delivery action waits for it); without it, an input read
	// whole stays open too, as a live log read to its end grows later.
	FlushWhole bool
	// MaxOpen is the most hours an input writes to at once (files open);
	// a row of another hour closes the file least recently written to,
	// and a later row of that hour starts another file. 0: 24.
	MaxOpen int
	// Force reads again the inputs an earlier run found not to be logs
	// (sink.NotALog: read with another --format now); an input the lake
	// has is never written again.
	Force bool
	// Alongside: the lake goes with another output (send --lake), and an
	// error of the lake stops only the lake.
	Alongside bool
	// Version goes into each file's created_by.
	Version string
	Log     *slog.Logger
	Now     func() time.Time

	dataPageV2 bool // BenchmarkSink's comparison only
}

// Sink writes the hits of a run into a lake (a sink.Sink), exactly once
// per input:
//
//   - The rows of an input go to one file per hour it covers, named after
//     the input's identity and the line of the file's first row
//     (dt=…/hour=…/part-<identity>-<line>.parquet): a file of an input
//     read again from the same line has the same name and the same rows.
//   - Files are written whole before they are visible (a temporary file
//     renamed, or one PUT), and published together, at a flush: when the
//     input's reading ends (or, with FlushEvery, once that long has
//     passed). Before publishing, the flush records its file names in
//     the input's entry (Pending); after, the line through which the lake
//     has the input. A run that stopped in between is followed by one that
//     reads the input again from the recorded line and flushes at the same
//     line: the same names get the same rows, and a name of the pending
//     flush not written again is removed.
//   - An input the lake has whole is not read again; one that grew is
//     read from the line after those it has, into files of their own.
type Sink struct {
	out Out
	opt Options
	cls *classify.Classifier
	ctx context.Context

	open map[string]*part // inputs with files open, by key (FlushEvery)
	// parts are the inputs with files not yet published (being read, or
	// kept), and buffered the rows of their open row groups in memory.
	parts    map[*part]bool
	buffered int64
	whole    map[string]bool // inputs the lake has whole, by name
	err      error
	run      string // this run's id, for inputs without identity (stdin)

	// What this run did, for its summary.
	Rows, Excluded int64
	Files          int
	Written        int      // inputs written whole
	Skipped        int      // inputs the lake had whole already
	Damaged        []string // inputs not written whole: damaged, smaller than before, not a log
}

// NewSink returns a sink writing to out. ctx bounds the writes to S3.
func NewSink(ctx context.Context, out Out, opt Options) (*Sink, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxOpen <= 0 {
		opt.MaxOpen = 24
	}
	cls, err := classify.New(opt.Classify)
	if err != nil {
		return nil, err
	}
	var id [8]byte
	rand.Read(id[:])
	return &Sink{out: out, opt: opt, cls: cls, ctx: ctx, open: map[string]*part{}, parts: map[*part]bool{}, whole: map[string]bool{}, run: hex.EncodeToString(id[:])}, nil
}

// Begin implements sink.Sink.
func (s *Sink) Begin(in sink.Info) (sink.Input, int64, error) {
	if s.err != nil {
		return nil, 0, s.stopped()
	}
	key := in.Key
	if key == "" {
		// No identity (stdin): nothing tells this input from another
		// read later, so its files are this run's own.
		s.opt.Log.Warn("input has no identity (stdin): written again by every run that reads it", "input", in.Name)
		return s.newPart(in, "run:"+s.run+":"+in.Name, &Entry{Name: in.Name}, false), 0, nil
	}
	if p := s.open[key]; p != nil {
		// Read on in this process: its files are still open.
		p.e.Name, p.e.Size = in.Name, in.Size
		p.atEnd = false
		return p, p.lines, nil
	}
	found, byContent, err := sink.Find(in, func(k string) (*sink.Recorded, error) {
		e, err := s.out.Get(s.ctx, k)
		if e == nil || err != nil {
			return nil, err
		}
		return &sink.Recorded{Fingerprint: e.Fingerprint, FingerprintLen: e.FingerprintLen, Lines: e.Lines}, nil
	})
	if err != nil {
		s.fail(err)
		return nil, 0, s.stopped()
	}
	e := &Entry{Name: in.Name, Size: in.Size}
	if found != "" {
		prev, err := s.out.Get(s.ctx, found)
		if err != nil {
			s.fail(err)
			return nil, 0, s.stopped()
		}
		switch {
		case byContent:
			// Another file with the content of one written before (it,
			// compressed or copied by a rotation): written on after the
			// lines written of that one, under its own names.
			s.opt.Log.Info("input known by its content (a rotated file compressed or copied): writing on after what the lake has of it", "input", in.Name)
			e.Lines = prev.Lines
		case prev.Done && prev.Size == in.Size && prev.Pending == nil:
			s.opt.Log.Info("input already in the lake", "input", in.Name)
			s.Skipped++
			s.whole[in.Name] = true
			return nil, 0, nil
		case sink.NotALog(prev.Failed) && !s.opt.Force:
			s.opt.Log.Error("input not written again: an earlier run found it "+prev.Failed+"; to read it with another --format: --force", "input", in.Name)
			s.Damaged = append(s.Damaged, in.Name)
			return nil, 0, nil
		case in.Size < prev.Size && prev.Pending == nil:
			s.opt.Log.Error("input is smaller than when it was written to the lake: not written again", "input", in.Name)
			s.Damaged = append(s.Damaged, in.Name)
			return nil, 0, nil
		default:
			*e = *prev
			e.Name, e.Size, e.Done, e.Failed = in.Name, max(in.Size, prev.Size), false, ""
			if prev.Pending != nil {
				s.opt.Log.Warn("input's last flush to the lake did not finish: writing it again", "input", in.Name, "after_line", prev.Lines, "through_line", prev.Pending.Through)
			} else {
				s.opt.Log.Info("reading on after the lines the lake has", "input", in.Name, "after_line", prev.Lines)
			}
		}
	}
	e.Fingerprint, e.FingerprintLen = in.Fingerprint, in.FingerprintLen
	// An entry found under another key (a file grown past its
	// fingerprint's size) stays there: lookups find the new key first.
	return s.newPart(in, key, e, true), e.Lines, nil
}

func (s *Sink) newPart(in sink.Info, key string, e *Entry, durable bool) *part {
	sum := sha256.Sum256([]byte(key))
	p := &part{s: s, key: key, alias: in.Alias, durable: durable, e: e, id: hex.EncodeToString(sum[:8]), lines: e.Lines, files: map[int64]*fileWriter{}}
	p.replay = e.Pending
	if e.Mark != nil && e.Mark.Line <= e.Lines {
		p.mark = *e.Mark
	}
	return p
}

// part is the lake's handle of one input.
type part struct {
	s       *Sink
	key     string
	alias   string // the key its entry is also recorded under (sink.Info.Alias)
	durable bool   // its entry is kept (it has an identity)
	e       *Entry // as of the last flush (Lines, Mark, counts)
	id      string // the files' names: part-<id>-<line>.parquet

	lines  int64      // the last line handed
	mark   input.Mark // where lines ends, when known
	atEnd  bool       // the last call was End: lines is where a reading ended
	whole  bool       // the last End said the input was read whole
	replay *Pending   // the entry's unfinished flush, to be done again

	files   map[int64]*fileWriter // open, by hour
	closed  []*fileWriter         // whole, not yet published
	rows    int64                 // rows not yet published
	clock   int64                 // rows written, for least recently used
	pending time.Time             // when the first row not yet published came
	row     [1]Row                // the row being written (its map reused)
}

func (p *part) Hit(line int64, h *hit.Hit) error {
	s := p.s
	if s.err != nil {
		return s.stopped()
	}
	if err := p.replayBefore(line); err != nil {
		return err
	}
	p.lines = line
	host := h.Host
	if host == "" {
		host = s.opt.Rows.DefaultHost
	}
	if s.opt.Filter.Skip(h, host) != "" {
		s.Excluded++
		return nil
	}
	var url string
	if s.cls.NeedsURL() {
		scheme := h.Scheme
		if scheme == "" {
			scheme = s.opt.Rows.DefaultScheme
		}
		url = h.URL(scheme, host)
	}
	f := s.cls.Facts(h, url)
	s.opt.Rows.fill(&p.row[0], h, &f, p.e.Name, line)
	fw, err := p.file(hourOf(h.Time), line)
	if err != nil {
		s.fail(err)
		return s.stopped()
	}
	if err := fw.write(p.row[:]); err != nil {
		s.fail(err)
		return s.stopped()
	}
	if s.buffered++; s.buffered > maxBuffered {
		if err := s.endLargestGroup(); err != nil {
			s.fail(err)
			return s.stopped()
		}
	}
	p.clock++
	fw.used = p.clock
	if p.rows == 0 {
		p.pending = s.opt.Now()
	}
	p.rows++
	return nil
}

// file returns the open file of an hour, starting it (named after line)
// when there is none; the least recently written file is closed first
// when MaxOpen are open.
func (p *part) file(hour, line int64) (*fileWriter, error) {
	if fw := p.files[hour]; fw != nil {
		return fw, nil
	}
	if len(p.files) >= p.s.opt.MaxOpen {
		var lru *fileWriter
		for _, fw := range p.files {
			if lru == nil || fw.used < lru.used {
				lru = fw
			}
		}
		if err := p.closeFile(lru); err != nil {
			return nil, err
		}
	}
	name := fmt.Sprintf("%s/part-%s-%d.parquet", partition(hour), p.id, line)
	fw, err := newFileWriter(p.s.out, name, hour, p.s.opt.Version, p.s.opt.dataPageV2)
	if err != nil {
		return nil, err
	}
	p.files[hour] = fw
	p.s.parts[p] = true
	return fw, nil
}

// endLargestGroup writes out the largest row group held in memory (see
// maxBuffered).
func (s *Sink) endLargestGroup() error {
	var big *fileWriter
	for p := range s.parts {
		for _, fw := range p.files {
			if big == nil || fw.inGroup > big.inGroup {
				big = fw
			}
		}
	}
	if big == nil {
		return nil
	}
	s.buffered -= big.inGroup
	return big.endGroup()
}

func (p *part) closeFile(fw *fileWriter) error {
	delete(p.files, fw.hour)
	p.s.buffered -= fw.inGroup
	fw.inGroup = 0
	if err := fw.close(); err != nil {
		fw.f.Abort()
		return err
	}
	p.closed = append(p.closed, fw)
	return nil
}

func (p *part) Malformed(line int64, _ string) {
	if p.s.err != nil {
		return
	}
	if err := p.replayBefore(line); err != nil {
		return
	}
	p.lines = line
}

// replayBefore flushes an unfinished flush of an earlier run done again,
// before line (after its last line).
func (p *part) replayBefore(line int64) error {
	if p.replay == nil || line <= p.replay.Through {
		return nil
	}
	r := p.replay
	var m input.Mark
	if r.Mark != nil {
		m = *r.Mark
	}
	if err := p.flush(r.Through, m); err != nil {
		p.s.fail(err)
		return p.s.stopped()
	}
	return nil
}

// Mark implements sink.Marked.
func (p *part) Mark() input.Mark {
	if p.mark.Valid() && p.mark.Line <= p.lines {
		return p.mark
	}
	return input.Mark{}
}

// Start implements sink.Started: the start of a stream read from its
// start is recorded at once, so that a run stopped before its first
// flush reads on from there rather than from a start that has moved.
func (p *part) Start(m input.Mark) {
	if p.e.Mark != nil || !p.durable || p.s.err != nil {
		return
	}
	p.mark = m
	e := *p.e
	e.Mark = &m
	e.Updated = p.s.opt.Now().UTC()
	if err := p.put(&e); err != nil {
		p.s.fail(err)
		return
	}
	p.e.Mark = &m
}

func (p *part) End(end sink.End) error {
	s := p.s
	if s.err != nil {
		return s.stopped()
	}
	p.lines = max(p.lines, end.Lines)
	if m := end.Mark; m.Valid() && m.Line == p.lines {
		p.mark = m
	}
	if end.FingerprintLen > p.e.FingerprintLen {
		p.e.Fingerprint, p.e.FingerprintLen = end.Fingerprint, end.FingerprintLen
	}
	p.atEnd = true
	if p.replay != nil {
		// The input ends before (or at) the end of the unfinished flush.
		if err := p.flush(p.lines, p.mark); err != nil {
			s.fail(err)
			return s.stopped()
		}
	}
	whole := end.Whole()
	p.whole = whole
	if end.Failed != "" {
		p.e.Failed = end.Failed
		s.Damaged = append(s.Damaged, p.e.Name)
	}
	// With FlushEvery, an input stays open when its reading ends, whole or
	// not (a live log read to its end now grows later): its rows are
	// published once FlushEvery passed. A stream's shard that ended, or
	// any input read whole with FlushWhole, is published at once.
	keep := end.Failed == "" && s.opt.FlushEvery > 0 && p.durable && !(whole && (end.Stream || s.opt.FlushWhole))
	if keep && p.rows > 0 && s.opt.Now().Sub(p.pending) < s.opt.FlushEvery {
		s.open[p.key] = p
		return nil
	}
	if keep && p.rows == 0 {
		s.open[p.key] = p
		if p.lines == p.e.Lines && whole == p.e.Done {
			return nil // nothing new
		}
		// Lines without rows: recorded, no file to write.
	}
	return p.flushOrFail(whole)
}

func (p *part) flushOrFail(whole bool) error {
	s := p.s
	p.e.Done = whole
	if err := p.flush(p.lines, p.mark); err != nil {
		s.fail(err)
		return s.stopped()
	}
	if whole {
		delete(s.open, p.key)
		s.whole[p.e.Name] = true
		s.Written++
	}
	return nil
}

// flush publishes the input's files, with the rows of lines through
// through, and records it: first the names (Pending), then the files,
// then the line. m is where line through ends (zero: unknown).
func (p *part) flush(through int64, m input.Mark) error {
	for _, fw := range p.files {
		if err := p.closeFile(fw); err != nil {
			return err
		}
	}
	pub := p.closed
	p.closed = nil
	slices.SortFunc(pub, func(a, b *fileWriter) int { return strings.Compare(a.name, b.name) })
	defer func() {
		for _, fw := range pub {
			fw.f.Abort() // a published file's temporary is gone already
		}
	}()
	names := make([]string, len(pub))
	var rows int64
	for i, fw := range pub {
		names[i] = fw.name
		rows += fw.rows
	}
	slices.Sort(names)
	var mark *input.Mark
	if m.Valid() && m.Line == through {
		mark = &m
	}
	if !p.durable {
		// Without identity: nothing to record, only files to publish.
		if err := p.publish(pub, nil); err != nil {
			return err
		}
		p.rows = 0
		delete(p.s.parts, p)
		p.s.Rows += rows
		p.s.Files += len(names)
		return nil
	}
	e := *p.e
	if len(pub) > 0 || p.replay != nil {
		e.Pending = &Pending{Through: through, Mark: mark, Files: names}
		if p.replay != nil {
			// Still the earlier run's names until they are written again.
			e.Pending.Files = union(names, p.replay.Files)
		}
		e.Updated = p.s.opt.Now().UTC()
		if err := p.put(&e); err != nil {
			return err
		}
	}
	if err := p.publish(pub, names); err != nil {
		return err
	}
	e.Pending = nil
	e.Lines, e.Mark = through, mark
	if mark == nil && p.e.Mark != nil && p.e.Mark.Line <= through {
		e.Mark = p.e.Mark // an earlier line's: read on from there
	}
	e.Rows += rows
	e.Files += len(names)
	if len(names) > 0 {
		e.Last = names
	}
	e.Updated = p.s.opt.Now().UTC()
	if err := p.put(&e); err != nil {
		return err
	}
	*p.e = e
	p.replay = nil
	p.rows = 0
	delete(p.s.parts, p)
	p.s.Rows += rows
	p.s.Files += len(names)
	return nil
}

// publish makes the files visible; the names of an unfinished flush done
// again that were not written again are removed (their rows are in
// files of this flush, or come after it).
func (p *part) publish(pub []*fileWriter, names []string) error {
	for _, fw := range pub {
		if err := fw.f.Publish(p.s.ctx); err != nil {
			return err
		}
	}
	if p.replay != nil {
		for _, old := range p.replay.Files {
			if _, ok := slices.BinarySearch(names, old); !ok {
				if err := p.s.out.Remove(p.s.ctx, old); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// put records e under the input's key (and its alias).
func (p *part) put(e *Entry) error {
	if err := p.s.out.Put(p.s.ctx, p.key, e); err != nil {
		return err
	}
	if p.alias != "" {
		return p.s.out.Put(p.s.ctx, p.alias, e)
	}
	return nil
}

// abort gives up the files not published.
func (p *part) abort() {
	for _, fw := range p.files {
		p.s.buffered -= fw.inGroup
		fw.f.Abort()
	}
	delete(p.s.parts, p)
	for _, fw := range p.closed {
		fw.f.Abort()
	}
	p.files, p.closed, p.rows = map[int64]*fileWriter{}, nil, 0
}

// FlushDue publishes the files of the inputs kept open (FlushEvery) whose
// first row not published came FlushEvery ago or more, and whose last
// reading ended: a follower calls it between its reads, so that an input
// nothing is written to any more is published too. It returns the sink's
// error.
func (s *Sink) FlushDue() error {
	if s.err != nil {
		return s.stopped()
	}
	for _, p := range s.open {
		if p.atEnd && p.rows > 0 && s.opt.Now().Sub(p.pending) >= s.opt.FlushEvery {
			if err := p.flushOrFail(p.whole); err != nil {
				return err
			}
		}
	}
	return s.stopped()
}

// Close publishes what inputs kept open (FlushEvery) have: those whose
// last reading ended; the rows of one stopped while being read (a signal,
// a Lambda's deadline) are given up, their temporary files removed: the
// next run reads them again. It returns the sink's error.
func (s *Sink) Close() error {
	for key, p := range s.open {
		if s.err == nil && p.atEnd {
			p.flushOrFail(p.whole)
		}
		delete(s.open, key)
	}
	for p := range s.parts {
		p.abort()
	}
	return s.err
}

// fail stops the sink on an error of the lake.
func (s *Sink) fail(err error) {
	if s.err == nil {
		s.err = fmt.Errorf("%w: %v", ErrLake, strings.TrimPrefix(err.Error(), "lake: "))
		if s.opt.Alongside {
			s.opt.Log.Error("the lake cannot be written: it is left as it was, the run goes on without it", "error", err)
		}
	}
}

func (s *Sink) stopped() error {
	if s.err == nil || s.opt.Alongside {
		return nil
	}
	return s.err
}

// Err is the error that stopped the sink (ErrLake), or nil.
func (s *Sink) Err() error { return s.err }

// HasWhole reports whether the lake has an input whole, durably.
func (s *Sink) HasWhole(name string) bool { return s.whole[name] }

// union is the sorted union of two sorted lists.
func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
