package pipeline

import (
	"io"
	"unicode/utf8"

	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/logformat"
)

// parseBatchLines is how many lines a parse batch holds.
const parseBatchLines = 256

// What the parsing goroutine made of a line.
const (
	lineNone    uint8 = iota // blank, a header, or a line the reader does not count
	lineHit                  // a hit, in h
	lineBad                  // malformed: err
	lineTooLong              // longer than input.MaxLineLen
	lineResumed              // delivered by an earlier run (at or before skipThrough)
)

// parsedLine is one line of an input as its parsing goroutine left it.
type parsedLine struct {
	line        int64
	kind        uint8
	invalidUTF8 bool
	err         error
	h           hit.Hit
}

// parseBatch is a run of consecutive lines. The last batch of an input has
// end set, with the input's line count and, when the input is damaged, the
// error that stopped it, or the line whose format could not be told.
type parseBatch struct {
	lines   []parsedLine
	end     bool
	last    int64
	damage  error
	unknown *logformat.FormatError // the input's format could not be told: not read
}

// parseAhead reads and parses the lines of one input in its own goroutine,
// a few batches ahead of the merge, so that parsing runs beside the
// decompression (its own goroutine too) and beside the merge, encoding and
// sending. Batches are handed over in line order; the merge gives them back
// through free once read.
type parseAhead struct {
	out    chan *parseBatch
	free   chan *parseBatch
	done   chan struct{}
	exited chan struct{}
}

// startParse starts parsing lines with p; lines at or before skipThrough
// are only passed through the reader when they are headers (to keep its
// #Fields state) and come back as lineResumed.
func startParse(lines *input.Lines, p logformat.Reader, skipThrough int64) *parseAhead {
	pa := &parseAhead{
		out:    make(chan *parseBatch, 2),
		free:   make(chan *parseBatch, 4),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	go pa.run(lines, p, skipThrough)
	return pa
}

func (pa *parseAhead) run(lines *input.Lines, p logformat.Reader, skipThrough int64) {
	defer close(pa.exited)
	b := pa.batch()
	for {
		line, err := lines.Next()
		lineNo := lines.Line()
		if err != nil && err != input.ErrLineTooLong {
			b.end, b.last = true, lineNo
			if err != io.EOF {
				b.damage = err
			}
			pa.send(b)
			return
		}
		b.lines = append(b.lines, parsedLine{line: lineNo})
		pl := &b.lines[len(b.lines)-1]
		switch {
		case err == input.ErrLineTooLong:
			pl.kind = lineTooLong
		case lineNo <= skipThrough:
			pl.kind = lineResumed
			if len(line) > 0 && line[0] == '#' {
				p.Parse(line, lineNo, &pl.h) // keep the #Fields state
			}
		default:
			pl.invalidUTF8 = !utf8.Valid(line)
			ok, err := p.Parse(line, lineNo, &pl.h)
			if fe, isFE := err.(*logformat.FormatError); isFE {
				b.lines = b.lines[:len(b.lines)-1]
				b.end, b.last, b.unknown = true, lineNo, fe
				pa.send(b)
				return
			}
			switch {
			case err != nil:
				pl.kind, pl.err = lineBad, err
			case ok:
				pl.kind = lineHit
			}
		}
		if len(b.lines) == parseBatchLines {
			if !pa.send(b) {
				return
			}
			b = pa.batch()
		}
	}
}

// batch returns an empty batch, reusing one the merge gave back.
func (pa *parseAhead) batch() *parseBatch {
	select {
	case b := <-pa.free:
		b.lines = b.lines[:0]
		return b
	default:
		return &parseBatch{lines: make([]parsedLine, 0, parseBatchLines)}
	}
}

// send hands a batch to the merge; false when the merge stopped reading.
func (pa *parseAhead) send(b *parseBatch) bool {
	select {
	case pa.out <- b:
		return true
	case <-pa.done:
		return false
	}
}

// recycle gives a read batch back.
func (pa *parseAhead) recycle(b *parseBatch) {
	select {
	case pa.free <- b:
	default:
	}
}

// stop ends the goroutine and waits for it, after which the input's lines
// may be closed.
func (pa *parseAhead) stop() {
	close(pa.done)
	<-pa.exited
}
