package input

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// MaxLineLen is the longest line Lines returns; longer lines are reported with
// ErrLineTooLong and skipped.
const MaxLineLen = 1 << 20

// ErrLineTooLong is returned by Lines.Next for a line over the limit. The
// line is skipped; reading can go on.
var ErrLineTooLong = errors.New("line longer than 1 MiB")

// ErrClosed is returned by Lines.Next when it needs more data after
// Lines.Close or Input.Close, also by a Next that was blocked waiting for
// data when another goroutine closed.
var ErrClosed = errors.New("input closed")

// Lines splits a decoded input into lines. It is not safe for concurrent use.
type Lines struct {
	r      io.Reader
	buf    []byte
	start  int // first unread byte in buf
	end    int // end of valid data in buf
	err    error
	line   int64
	offset int64 // decoded bytes consumed by returned lines
	max    int
	stop   func()
	// hold: an unterminated last line is not returned (the file is still
	// being written: see Input.Live); held counts its bytes.
	hold bool
	held int64
	// The head (the lines ending within HeadSize bytes), for Mark.
	headLine, headOffset int64
	// unterminated: the last line returned had no newline (at the end).
	unterminated bool
	// A jump (Input.Jump): once the head is read (its end at jumpAt),
	// the next line is jumpLine+1, at decoded offset jumpOffset.
	jumpAt, jumpLine, jumpOffset int64
	jumpNow                      bool
	// positionAt gives the position of the record ending at an offset
	// (a stream's input), for Mark; nil for files.
	positionAt func(offset int64) (string, bool)
	startMark  func() (Mark, bool)
}

// Lines returns a line splitter over the decoded content of the input. The
// decoding runs ahead in its own goroutine until the end of the input or
// until Lines.Close or Input.Close. Call it once per input.
func (in *Input) Lines() *Lines {
	ra := newReadahead(in.decoded)
	in.ra = ra
	l := newLines(ra, MaxLineLen)
	l.stop = ra.close
	if in.records != nil {
		l.positionAt, l.startMark = in.records.positionAt, in.records.startMark
	}
	if m := in.jump; m != nil {
		l.jumpAt, l.jumpLine, l.jumpOffset = m.HeadOffset, m.Line, m.Offset
		l.jumpNow = m.HeadOffset == 0
	}
	return l
}

// Mark returns where the last line returned ends (see Mark); false when
// that is no place to jump to: a line of the head, or an unterminated
// last line (its writer may finish it); for a stream (FromRecords), a
// line that does not end a record, or none read since a jump.
func (l *Lines) Mark() (Mark, bool) {
	m := Mark{Line: l.line, Offset: l.offset, HeadLine: l.headLine, HeadOffset: l.headOffset}
	if l.positionAt != nil {
		// A stream: a place to read on from is the end of a record.
		m.HeadLine, m.HeadOffset = 0, 0
		var ok bool
		if m.Position, ok = l.positionAt(l.offset); !ok || l.jumpNow || m.Line == 0 {
			return Mark{}, false
		}
		return m, true
	}
	return m, !l.unterminated && !l.jumpNow && m.Valid()
}

// StartMark returns the mark of a stream's start (Mark.At): where a
// later run that has the stream through a line before the first Mark reads
// from. False for a file, before the first record, and after a jump.
func (l *Lines) StartMark() (Mark, bool) {
	if l.startMark == nil {
		return Mark{}, false
	}
	return l.startMark()
}

// HoldUnterminated makes Next keep back an unterminated last line (for a
// Live input: its writer has not finished it): Next returns io.EOF
// before it, and Held says its size.
func (l *Lines) HoldUnterminated() { l.hold = true }

// Held is the size in bytes of the unterminated last line that Next did
// not return (see HoldUnterminated). 0 when there is none.
func (l *Lines) Held() int64 { return l.held }

// PeekLines returns a line splitter for a quick look at the first lines:
// no read-ahead goroutine and a small buffer (it grows for long lines), so
// that looking into many inputs one after the other costs little memory.
func (in *Input) PeekLines() *Lines {
	l := newLines(in.decoded, MaxLineLen)
	l.buf = make([]byte, 16<<10)
	return l
}

// Close stops the read-ahead goroutine. Call it when giving up before the
// end. It does not wait for the goroutine, which may be blocked reading (a
// pipe whose writer is silent): Input.Close ends such a read. Close may be
// called from another goroutine, also more than once; a Next blocked
// waiting for data then returns ErrClosed.
func (l *Lines) Close() {
	if l.stop != nil {
		l.stop()
	}
}

func newLines(r io.Reader, max int) *Lines {
	return &Lines{r: r, buf: make([]byte, 256<<10), max: max, jumpAt: -1}
}

// Line is the 1-based number of the line last returned (also for errors).
func (l *Lines) Line() int64 { return l.line }

// Offset is the number of decoded bytes up to the end of the last line
// returned, newline included.
func (l *Lines) Offset() int64 { return l.offset }

// Next returns the next line without its "\n" or "\r\n". The slice is valid
// until the next call. At the end it returns io.EOF; when the input is
// damaged (a truncated gzip stream) it returns that error after the last
// complete line, and a partial last line is not returned. A line longer than
// MaxLineLen yields ErrLineTooLong (with Line set) and is skipped.
func (l *Lines) Next() ([]byte, error) {
	if l.jumpNow {
		l.line, l.offset, l.jumpNow = l.jumpLine, l.jumpOffset, false
	}
	tooLong := false
	for {
		if i := bytes.IndexByte(l.buf[l.start:l.end], '\n'); i >= 0 {
			line := l.buf[l.start : l.start+i]
			l.start += i + 1
			l.offset += int64(i + 1)
			l.line++
			if l.offset <= HeadSize {
				l.headLine, l.headOffset = l.line, l.offset
			}
			l.jumpNow = l.offset == l.jumpAt
			if tooLong || len(line) > l.max {
				return nil, ErrLineTooLong
			}
			return trimCR(line), nil
		}
		if l.err != nil {
			// A last line without a newline is complete only at a clean
			// EOF, and only when the file is not being written (Live).
			if l.err == io.EOF && l.hold && (l.start < l.end || tooLong) {
				l.held = int64(l.end-l.start) + l.droppedTooLong(tooLong)
				l.start = l.end
				return nil, l.err
			}
			if l.err == io.EOF && (l.start < l.end || tooLong) {
				line := l.buf[l.start:l.end]
				l.offset += int64(l.end - l.start)
				l.start = l.end
				l.line++
				l.unterminated = true
				if tooLong || len(line) > l.max {
					return nil, ErrLineTooLong
				}
				return trimCR(line), nil
			}
			l.start = l.end
			return nil, l.err
		}
		// Need more data: make room.
		if l.start > 0 {
			copy(l.buf, l.buf[l.start:l.end])
			l.end -= l.start
			l.start = 0
		}
		if l.end == len(l.buf) {
			if len(l.buf) > l.max {
				// Over the limit: drop what we have, remember to skip to the newline.
				tooLong = true
				l.offset += int64(l.end)
				l.end = 0
			} else {
				nb := make([]byte, min(2*len(l.buf), l.max+1+64<<10))
				copy(nb, l.buf[:l.end])
				l.buf = nb
			}
		}
		n, err := l.r.Read(l.buf[l.end:])
		l.end += n
		if err != nil {
			l.err = err
		}
	}
}

// droppedTooLong is what a held line over the limit already had dropped:
// nothing is kept of it, its size is unknown, so at least one byte.
func (l *Lines) droppedTooLong(tooLong bool) int64 {
	if tooLong {
		return 1
	}
	return 0
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// readahead reads its source in a goroutine into a few blocks, so that the
// producer (decompression) and the consumer (parsing) run in parallel.
type readahead struct {
	full     chan block
	free     chan []byte
	stop     chan struct{}
	stopOnce sync.Once
	cur      block
	pos      int
	done     bool
	final    error

	mu     sync.Mutex
	exited bool   // the goroutine is done with src
	onExit func() // to run when it is
}

type block struct {
	data []byte
	err  error
}

const readaheadBlocks = 4
const readaheadSize = 256 << 10

func newReadahead(src io.Reader) *readahead {
	ra := &readahead{full: make(chan block, readaheadBlocks), free: make(chan []byte, readaheadBlocks+1), stop: make(chan struct{})}
	for i := 0; i < readaheadBlocks+1; i++ {
		ra.free <- make([]byte, readaheadSize)
	}
	go func() {
		defer ra.exit()
		for {
			var buf []byte
			select {
			case buf = <-ra.free:
			case <-ra.stop:
				return
			}
			n := 0
			var err error
			for n < len(buf) && err == nil {
				var m int
				m, err = src.Read(buf[n:])
				n += m
			}
			select {
			case ra.full <- block{data: buf[:n], err: err}:
			case <-ra.stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ra
}

func (ra *readahead) Read(p []byte) (int, error) {
	for {
		if ra.done {
			return 0, ra.final
		}
		if ra.pos < len(ra.cur.data) {
			n := copy(p, ra.cur.data[ra.pos:])
			ra.pos += n
			return n, nil
		}
		if ra.cur.data != nil {
			if ra.cur.err != nil {
				ra.done, ra.final = true, ra.cur.err
				continue
			}
			ra.free <- ra.cur.data[:cap(ra.cur.data)]
			ra.cur = block{}
		}
		select {
		case <-ra.stop:
			ra.done, ra.final = true, ErrClosed
			continue
		default:
		}
		select {
		case ra.cur = <-ra.full:
		case <-ra.stop:
			ra.done, ra.final = true, ErrClosed
			continue
		}
		ra.pos = 0
		if len(ra.cur.data) == 0 && ra.cur.err != nil {
			ra.done, ra.final = true, ra.cur.err
		}
	}
}

func (ra *readahead) close() {
	ra.stopOnce.Do(func() { close(ra.stop) })
}

// exit is the goroutine's last act: it runs what afterExit left.
func (ra *readahead) exit() {
	ra.mu.Lock()
	ra.exited = true
	f := ra.onExit
	ra.onExit = nil
	ra.mu.Unlock()
	if f != nil {
		f()
	}
}

// afterExit runs f once the goroutine no longer uses its source: now if it
// is done, else when it is.
func (ra *readahead) afterExit(f func()) {
	ra.mu.Lock()
	if !ra.exited {
		ra.onExit = f
		ra.mu.Unlock()
		return
	}
	ra.mu.Unlock()
	f()
}
