// Package lineparse reads the lines of an input and parses them into hits
// in a goroutine of its own, a few batches ahead of its consumer, so that
// parsing runs beside decompression and beside what consumes the hits.
package lineparse

import (
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
// error that stopped it, or the line whose format could not be told.
type Batch struct {
	Lines   []Line
	End     bool
	Last    int64
	Damage  error
	Unknown *logformat.FormatError // the input's format could not be told: not read
}

// Ahead reads and parses the lines of one input in its own goroutine,
// a few batches ahead of its consumer, so that parsing runs beside the
// decompression (its own goroutine too) and beside what the consumer does.
// Batches are handed over in line order on Out; the consumer gives them
// back with Recycle once read.
type Ahead struct {
	Out    chan *Batch // batches in line order
	free   chan *Batch
	done   chan struct{}
	exited chan struct{}
}

// Start starts parsing lines with p; lines at or before skipThrough
// are only passed through the reader when they are headers (to keep its
// #Fields state) and come back as Resumed.
func Start(lines *input.Lines, p logformat.Reader, skipThrough int64) *Ahead {
	pa := &Ahead{
		Out:    make(chan *Batch, 2),
		free:   make(chan *Batch, 4),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	go pa.run(lines, p, skipThrough)
	return pa
}

func (pa *Ahead) run(lines *input.Lines, p logformat.Reader, skipThrough int64) {
	defer close(pa.exited)
	b := pa.batch()
	for {
		line, err := lines.Next()
		lineNo := lines.Line()
		if err != nil && err != input.ErrLineTooLong {
			b.End, b.Last = true, lineNo
			if err != io.EOF {
				b.Damage = err
			}
			pa.send(b)
			return
		}
		b.Lines = append(b.Lines, Line{Line: lineNo})
		pl := &b.Lines[len(b.Lines)-1]
		switch {
		case err == input.ErrLineTooLong:
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
				return
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
				return
			}
			b = pa.batch()
		}
	}
}

// batch returns an empty batch, reusing one the merge gave back.
func (pa *Ahead) batch() *Batch {
	select {
	case b := <-pa.free:
		b.Lines = b.Lines[:0]
		return b
	default:
		return &Batch{Lines: make([]Line, 0, BatchLines)}
	}
}

// send hands a batch to the merge; false when the merge stopped reading.
func (pa *Ahead) send(b *Batch) bool {
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
