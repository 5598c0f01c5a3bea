// Package lineparse reads the lines of an input and parses them into hits
// in a goroutine of its own, a few batches ahead of its consumer, so that
// parsing runs beside decompression and beside what consumes the hits.
package lineparse

import (
	"bytes"
	"io"
	"unicode/utf8"

	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/logformat"
)

// BatchLines is how many lines a parse batch holds.
const BatchLines = 256

// What the parsing goroutine made of a line.
const (
	None    uint8 = iota // blank, a header, or a line the reader does not count
	Hit                  // a hit, in H
	Bad                  // malformed: Err
	TooLong              // longer than input.MaxLineLen
	Resumed              // handled by an earlier run (at or before skipThrough)
)

// Line is one line of an input as its parsing goroutine left it.
type Line struct {
	Line        int64
	Kind        uint8
	InvalidUTF8 bool
	Err         error // Bad: the reader's error
	H           hit.Hit
}

// Batch is a run of consecutive lines. The last batch of an input has
// End set, with the input's line count and, when the input is damaged, the
// error that stopped it, or the refusal of an input not to be read.
type Batch struct {
	Lines  []Line
	End    bool
	Last   int64
	Damage error
	// Held (at End) is the size of the input's unterminated last line,
	// not handed on: the input is live and its writer has not finished
	// the line (input.Lines.Held). Last is then the line before it.
	Held int64
	// Unknown refuses the input: its format could not be told from its
	// first data lines, or (Unknown.Binary) it holds binary data, not text,
	// whatever the format. No hit and no malformed line of the input was
	// handed on, and the batch holds no line. (Only when the prelude held
	// no data line at all, a thousand blank or header lines, may lines
	// after it, none of them a hit, have come before.)
	Unknown *logformat.FormatError
	// Start is, in the first batch of a stream read from its start, the
	// mark of that start (input.Lines.StartMark): where a run that has
	// lines of it before its first Mark reads on from. Zero otherwise.
	Start input.Mark
	// Mark is where the batch's last line (Last at the end) ends in the
	// input (input.Lines.Mark), for a later run to read on from; zero
	// when there is none to give: a line of the head, an unterminated
	// line, or a header line (#Fields) was read after the head, which a
	// reader that jumped over it would miss.
	Mark input.Mark
}

// Ahead reads and parses the lines of one input in its own goroutine,
// a few batches ahead of its consumer, so that parsing runs beside the
// decompression (its own goroutine too) and beside what the consumer does.
// Batches are handed over in line order on Out; the consumer gives them
// back with Recycle once read.
//
// Before handing on any line, Ahead holds the first lines of the input
// (the prelude) until it knows the input is to be read: its first
// logformat.SniffLen bytes are text (logformat.CheckText), whatever the
// reader, and, for a logformat.Detector (Auto), its first
// logformat.SampleLines data lines confirm a format (Detect). A refused
// input gives a single batch with End and Unknown set and no line. The
// prelude holds at most preludeLines lines and preludeBytes bytes (and one
// line longer than that): past them, the decision is taken on what it holds.
type Ahead struct {
	Out    chan *Batch // batches in line order
	free   chan *Batch
	done   chan struct{}
	exited chan struct{}
	lines  *input.Lines
	// noMark: a header line came after the input's head; no batch gives
	// a mark from then on (see Batch.Mark).
	noMark bool
	sent   bool // a batch was sent
}

// Bounds of the prelude: a pathological input (thousands of header lines)
// is decided on what they hold, and memory stays small.
const (
	preludeLines = 1024
	preludeBytes = 256 << 10
)

// Start starts parsing lines with p; lines at or before skipThrough
// are only passed through the reader when they are headers (to keep its
// #Fields state) and come back as Resumed (they are in the prelude all
// the same: the format is told from the start of the input).
func Start(lines *input.Lines, p logformat.Reader, skipThrough int64) *Ahead {
	pa := &Ahead{
		Out:    make(chan *Batch, 2),
		free:   make(chan *Batch, 4),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
		lines:  lines,
	}
	go pa.run(lines, p, skipThrough)
	return pa
}

// prelude is what Ahead holds before the input is accepted.
type prelude struct {
	lines  []logformat.SampleLine
	start  []byte // the first bytes, lines joined by '\n'
	data   int    // data lines, too long ones included
	bytes  int
	end    bool // the input ended in the prelude: last, err
	last   int64
	endErr error
}

// read fills the prelude until the input can be decided on.
func (pr *prelude) read(lines *input.Lines, detect bool) {
	for {
		line, err := lines.Next()
		lineNo := lines.Line()
		if err != nil && err != input.ErrLineTooLong {
			pr.end, pr.last, pr.endErr = true, lineNo, err
			return
		}
		sl := logformat.SampleLine{Line: lineNo, TooLong: err == input.ErrLineTooLong}
		if sl.TooLong {
			pr.data++ // and not held: no bytes
		} else {
			sl.Text = bytes.Clone(line)
			pr.bytes += len(line)
			if logformat.IsDataLine(line) {
				pr.data++
			}
			if len(pr.start) < logformat.SniffLen {
				pr.start = append(pr.start, line[:min(len(line), logformat.SniffLen-len(pr.start))]...)
				pr.start = append(pr.start, '\n')
			}
		}
		pr.lines = append(pr.lines, sl)
		sniffed := len(pr.start) >= logformat.SniffLen
		sampled := !detect || pr.data >= logformat.SampleLines
		if sniffed && sampled || len(pr.lines) >= preludeLines || pr.bytes >= preludeBytes {
			return
		}
	}
}

func (pa *Ahead) run(lines *input.Lines, p logformat.Reader, skipThrough int64) {
	defer close(pa.exited)
	det, _ := p.(logformat.Detector)
	var pr prelude
	pr.read(lines, det != nil)
	refuse := logformat.CheckText(p, pr.start)
	if refuse == nil && det != nil {
		refuse = det.Detect(pr.lines)
	}
	b := pa.batch()
	if refuse != nil {
		b.End, b.Unknown = true, refuse
		if b.Last = pr.last; !pr.end && len(pr.lines) > 0 {
			b.Last = pr.lines[len(pr.lines)-1].Line
		}
		pa.send(b)
		return
	}
	for i := range pr.lines {
		l := &pr.lines[i]
		var ok bool
		if b, ok = pa.line(b, p, l.Text, l.Line, l.TooLong, skipThrough); !ok {
			return
		}
		l.Text = nil
	}
	if pr.end {
		pa.end(b, pr.last, pr.endErr)
		return
	}
	pr = prelude{}
	for {
		line, err := lines.Next()
		lineNo := lines.Line()
		if err != nil && err != input.ErrLineTooLong {
			pa.end(b, lineNo, err)
			return
		}
		var ok bool
		if b, ok = pa.line(b, p, line, lineNo, err == input.ErrLineTooLong, skipThrough); !ok {
			return
		}
	}
}

// end sends the last batch of an input that ended at line last with err.
func (pa *Ahead) end(b *Batch, last int64, err error) {
	b.End, b.Last, b.Held = true, last, pa.lines.Held()
	if err != io.EOF {
		b.Damage = err
	}
	pa.send(b)
}

// line parses one line into b, sending b when it is full. It returns the
// batch to go on with, or false when reading is over (the consumer
// stopped, or the reader could not tell the format: Auto without a
// decision in the prelude).
func (pa *Ahead) line(b *Batch, p logformat.Reader, line []byte, lineNo int64, tooLong bool, skipThrough int64) (*Batch, bool) {
	b.Lines = append(b.Lines, Line{Line: lineNo})
	pl := &b.Lines[len(b.Lines)-1]
	if !tooLong && len(line) > 0 && line[0] == '#' && !pa.noMark {
		if m, _ := pa.lines.Mark(); lineNo > m.HeadLine {
			pa.noMark = true
		}
	}
	switch {
	case tooLong:
		pl.Kind = TooLong
	case lineNo <= skipThrough:
		pl.Kind = Resumed
		if len(line) > 0 && line[0] == '#' {
			p.Parse(line, lineNo, &pl.H) // keep the #Fields state
		}
	default:
		pl.InvalidUTF8 = !utf8.Valid(line)
		ok, err := p.Parse(line, lineNo, &pl.H)
		if fe, isFE := err.(*logformat.FormatError); isFE {
			b.Lines = b.Lines[:len(b.Lines)-1]
			b.End, b.Last, b.Unknown = true, lineNo, fe
			pa.send(b)
			return nil, false
		}
		switch {
		case err != nil:
			pl.Kind, pl.Err = Bad, err
		case ok:
			pl.Kind = Hit
		}
	}
	if len(b.Lines) == BatchLines {
		if !pa.send(b) {
			return nil, false
		}
		b = pa.batch()
	}
	return b, true
}

// batch returns an empty batch, reusing one the merge gave back.
func (pa *Ahead) batch() *Batch {
	select {
	case b := <-pa.free:
		b.Lines = b.Lines[:0]
		b.Mark, b.Start = input.Mark{}, input.Mark{}
		return b
	default:
		return &Batch{Lines: make([]Line, 0, BatchLines)}
	}
}

// send hands a batch to the merge; false when the merge stopped reading.
// It gives the batch the mark of its last line when the reader is there.
func (pa *Ahead) send(b *Batch) bool {
	last := b.Last
	if n := len(b.Lines); n > 0 && !b.End {
		last = b.Lines[n-1].Line
	}
	if m, ok := pa.lines.Mark(); ok && !pa.noMark && b.Unknown == nil && m.Line == last {
		b.Mark = m
	}
	if m, ok := pa.lines.StartMark(); ok && !pa.sent && b.Unknown == nil {
		b.Start = m
	}
	pa.sent = true
	select {
	case pa.Out <- b:
		return true
	case <-pa.done:
		return false
	}
}

// Recycle gives a read batch back.
func (pa *Ahead) Recycle(b *Batch) {
	select {
	case pa.free <- b:
	default:
	}
}

// Stop ends the goroutine and waits for it, after which the input's lines
// may be closed.
func (pa *Ahead) Stop() {
	close(pa.done)
	<-pa.exited
}
