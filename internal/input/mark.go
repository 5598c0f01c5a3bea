package input

import (
	"bytes"
	"io"
)

// HeadSize bounds an input's head: the lines that end within its first
// HeadSize bytes (at most the fingerprint's), which a reader that jumps
// (Input.Jump) still reads, for the headers a format keeps state from
// (W3C's #Fields) and a look at the format.
const HeadSize = FingerprintSize

// A Mark is where a line of an input ends in its decoded bytes, taken by
// Lines.Mark as the input is read, so that a later run that has the
// input through Line reads on from Offset instead of from the start of a
// file that may be gigabytes long (Input.Jump). The head (the lines
// through HeadLine, ending at HeadOffset) is read all the same. A
// stream's mark (FromRecords) has no head: its Position names the record
// that ends at Offset, and the stream is read on after that record.
type Mark struct {
	Line       int64 `json:"line"`   // the line that ends at Offset
	Offset     int64 `json:"offset"` // decoded bytes through Line, its newline included
	HeadLine   int64 `json:"head_line"`
	HeadOffset int64 `json:"head_offset"`
	// Position is, for a stream's input (FromRecords), the position of the
	// record that ends at Offset (a Kinesis sequence number): a later run
	// reads on after it.
	Position string `json:"position,omitempty"`
	// At marks where a stream is read from (Lines.StartMark): Position is
	// the record of line Line+1 (Line is 0 at the stream's start); a later
	// run reads from that record on, numbering from Line+1, so that a run that confirmed lines before its
	// first mark does not have to read from the stream's own start, which
	// moves as records expire.
	At bool `json:"at,omitempty"`
	// Next is, when known, the position of the record that comes after
	// Position in the shard (Position itself for a start mark): the
	// record a Lambda named as the first not confirmed. An event of the
	// shard whose first record not read is another one comes after records
	// the event source mapping gave up on.
	Next string `json:"next,omitempty"`
}

// Valid reports whether the mark can be jumped to: a line after the head.
func (m Mark) Valid() bool {
	if m.Position != "" {
		return m.Line > 0 && !m.At || m.At && m.Line >= 0 && m.Offset == 0
	}
	return m.Line > m.HeadLine && m.Offset > m.HeadOffset && m.HeadOffset >= 0 && m.HeadOffset <= HeadSize
}

// Jump makes Lines (called after it) return the head of the input, then
// the lines after m.Line, numbered from m.Line+1, without reading the bytes
// between: a run that has the input through m.Line or further reads on
// from there. It applies to a plain regular file only, and only when the
// file still has m's head (as many lines, ending at HeadOffset) and a
// line ending at m.Offset: otherwise (another file, a rewritten one, a
// compressed one) it reports false and changes nothing, and the input is
// read from its start. The caller must know the file is the one m was
// taken of (its identity: device, inode, first bytes).
//
// A stream's input (FromRecords) jumps to a mark with a Position only: it
// starts after that record, whose line is m.Line.
func (in *Input) Jump(m Mark) bool {
	if in.records != nil {
		if in.jump != nil || in.ra != nil || !in.records.jump(m) {
			return false
		}
		m.HeadLine, m.HeadOffset = 0, 0
		in.jump = &m
		return true
	}
	if m.Position != "" {
		return false
	}
	if in.file == nil || in.Compression != Plain || in.ra != nil || in.jump != nil || !m.Valid() || m.Offset > in.Size {
		return false
	}
	head := make([]byte, m.HeadOffset+1)
	if n, err := in.file.ReadAt(head[:m.HeadOffset], 0); int64(n) != m.HeadOffset || (err != nil && err != io.EOF) {
		return false
	}
	if int64(bytes.Count(head[:m.HeadOffset], []byte{'\n'})) != m.HeadLine || (m.HeadOffset > 0 && head[m.HeadOffset-1] != '\n') {
		return false
	}
	if _, err := in.file.ReadAt(head[m.HeadOffset:], m.Offset-1); err != nil || head[m.HeadOffset] != '\n' {
		return false
	}
	rest := countInto{r: io.NewSectionReader(in.file, m.Offset, 1<<62), c: in.raw}
	in.decoded = io.MultiReader(io.LimitReader(in.decoded, m.HeadOffset), rest)
	in.raw.n.Store(m.Offset) // what is read from here on is counted after the jump
	in.jump = &m
	return true
}

// countInto reads r and adds what it reads to c's count.
type countInto struct {
	r io.Reader
	c *countingReader
}

func (c countInto) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.c.n.Add(int64(k))
	return k, err
}
