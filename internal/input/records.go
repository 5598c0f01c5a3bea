package input

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
)

// A Record is one record of a stream (a Kinesis record): Data holds one
// or more lines (a newline is added when its last has none), Position says
// where it is in the stream (a sequence number).
type Record struct {
	Data     []byte
	Position string
}

// RecordReader gives the records of a stream in order. Next returns
// io.EOF when there is nothing more to read now: the stream is read as far
// as it goes (caught up), or it ended; Ended tells which.
type RecordReader interface {
	Next(ctx context.Context) ([]Record, error)
	Ended() bool
}

// StartFunc starts reading a stream at from: just after the record at
// from.Position, at that record when from.At, or at the stream's own
// start when from.Position is "".
type StartFunc func(ctx context.Context, from Mark) (RecordReader, error)

// FromRecords makes an input of a stream's records, one after the other,
// each ending in a newline. Its lines are numbered from the stream's start
// as this reader knows it: a run that has the stream through a line whose
// Mark has a Position reads on after that record (Jump), numbering its
// lines from the mark's on, so that a stream read over many runs keeps one
// numbering (and one ledger entry). start is called at the first read,
// never when the input is closed first. Close cancels a Next in progress.
func FromRecords(name string, id *Identity, start StartFunc) *Input {
	ctx, cancel := context.WithCancel(context.Background())
	rr := &recordsReader{ctx: ctx, start: start}
	in := &Input{Name: name, Identity: id, Compression: Plain, records: rr, closers: []func() error{func() error { cancel(); return nil }}}
	in.raw = &countingReader{r: rr}
	in.decoded = in.raw
	return in
}

// Unfinished reports whether the input is a stream read as far as it
// goes now but not to its end: it will have more lines, so no output
// may record it whole. False for files and objects, and for a stream that
// ended (a Kinesis shard that was split or merged, read to its end).
func (in *Input) Unfinished() bool {
	return in.records != nil && !in.records.ended()
}

// IsStream reports whether the input is made of a stream's records
// (FromRecords): it can be read on from a line only through a Mark with a
// Position, never by reading its lines from its start again.
func (in *Input) IsStream() bool { return in.records != nil }

// recordsReader is the decoded bytes of a stream's records. It runs in
// the read-ahead goroutine; Lines.Mark asks it (from another goroutine)
// which record ends where.
type recordsReader struct {
	ctx    context.Context
	start  StartFunc
	from   Mark  // set by Jump
	offset int64 // decoded bytes before the first record read (a jump's)
	src    RecordReader
	buf    []byte
	err    error

	mu         sync.Mutex
	ends       []recordEnd // records read, not yet asked about by Lines.Mark
	done       bool        // src said io.EOF
	endOfInput bool        // and that the stream ended
	first      string      // the position of the first record read
}

type recordEnd struct {
	offset   int64 // decoded bytes through the record, its last newline included
	position string
}

func (r *recordsReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.src == nil {
			if r.src, r.err = r.start(r.ctx, r.from); r.err != nil {
				continue
			}
		}
		recs, err := r.src.Next(r.ctx)
		size := 0
		for _, rec := range recs {
			size += len(rec.Data) + 1
		}
		r.buf = slices.Grow(r.buf, size)
		r.mu.Lock()
		for _, rec := range recs {
			if len(rec.Data) == 0 {
				continue // no line: nothing to number
			}
			r.buf = append(r.buf, rec.Data...)
			if rec.Data[len(rec.Data)-1] != '\n' {
				r.buf = append(r.buf, '\n')
			}
			r.offset += int64(len(rec.Data))
			if rec.Data[len(rec.Data)-1] != '\n' {
				r.offset++
			}
			r.ends = append(r.ends, recordEnd{r.offset, rec.Position})
			if r.first == "" {
				r.first = rec.Position
			}
		}
		if errors.Is(err, io.EOF) {
			r.done, r.endOfInput = true, r.src.Ended()
		}
		r.mu.Unlock()
		if err != nil {
			r.err = err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	if len(r.buf) == 0 {
		r.buf = nil
	}
	return n, nil
}

// positionAt returns the position of the record that ends at offset,
// forgetting the records that end before; false when no record ends there
// (a line inside a record of several).
func (r *recordsReader) positionAt(offset int64) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := 0
	for i < len(r.ends) && r.ends[i].offset < offset {
		i++
	}
	r.ends = r.ends[i:]
	if len(r.ends) > 0 && r.ends[0].offset == offset {
		return r.ends[0].position, true
	}
	return "", false
}

func (r *recordsReader) ended() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done && r.endOfInput
}

// jump makes the reader start after m's record (at it, for a start
// mark), its bytes counted from m.Offset.
func (r *recordsReader) jump(m Mark) bool {
	if m.Position == "" || !m.Valid() || r.src != nil {
		return false
	}
	r.from, r.offset = m, m.Offset
	return true
}

// startMark is the mark of the stream's start as this reader read it:
// at its first record, when it did not jump.
func (r *recordsReader) startMark() (Mark, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first == "" || r.from.Position != "" {
		return Mark{}, false
	}
	return Mark{Position: r.first, At: true}, true
}
