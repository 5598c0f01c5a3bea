package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DeadLetter is one batch that could not be delivered, as a line of the
// dead-letter file. It never holds the token. `trackless replay` sends it.
type DeadLetter struct {
	Time     time.Time `json:"time"`
	Endpoint string    `json:"endpoint,omitempty"`
	Reason   string    `json:"reason"`
	// InDoubt: Matomo's answer did not account for the batch; it may have
	// stored part of it, and replaying may count those hits twice.
	InDoubt  bool     `json:"in_doubt,omitempty"`
	Requests []string `json:"requests"`
	Sources  []Source `json:"sources,omitempty"`
}

// Source is the input line a request came from.
type Source struct {
	Input string `json:"input"`
	Line  int64  `json:"line"`
}

// Rejected is one hit that Matomo counted as invalid.
type Rejected struct {
	Time    time.Time `json:"time"`
	Input   string    `json:"input,omitempty"`
	Line    int64     `json:"line,omitempty"`
	Request string    `json:"request"`
	Reason  string    `json:"reason"`
}

// Recorder appends JSON lines to a file it creates on first use. Each
// record is fsynced before Write returns, so that the ledger may then mark
// its lines as handled. A record is in the file whole or not at all: a
// write that fails (a full disk) is cut off again, and a file that ends
// with a cut record (a crash) gets a line end before the next one, so that
// replay reads every whole record. It is safe for concurrent use.
type Recorder struct {
	path string
	mu   sync.Mutex
	f    *os.File
	size int64 // bytes of whole records
	used bool
}

// NewRecorder returns a recorder for path; nothing is created until Write.
func NewRecorder(path string) *Recorder { return &Recorder{path: path} }

// Path is the file's path.
func (r *Recorder) Path() string { return r.path }

// PathIfUsed is the path if something was written, else "".
func (r *Recorder) PathIfUsed() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.used {
		return ""
	}
	return r.path
}

// Write appends v as one JSON line and syncs the file.
func (r *Recorder) Write(v any) error {
	switch rec := v.(type) {
	case DeadLetter:
		rec.Time = time.Now().UTC()
		v = rec
	case Rejected:
		rec.Time = time.Now().UTC()
		v = rec
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		if err := r.open(); err != nil {
			return fmt.Errorf("%s: %w", r.path, err)
		}
	}
	if _, err := r.f.WriteAt(append(data, '\n'), r.size); err != nil {
		return r.undo(err)
	}
	if err := r.f.Sync(); err != nil {
		return r.undo(err)
	}
	r.size += int64(len(data)) + 1
	return nil
}

// open opens the file for appending after its last whole line.
func (r *Recorder) open() error {
	if err := os.MkdirAll(filepath.Dir(r.path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	size := st.Size()
	if size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, size-1); err != nil {
			f.Close()
			return err
		}
		if last[0] != '\n' {
			// A record cut by a crash: end its line, so that it stays a
			// line of its own (replay reports it) and the next is whole.
			if _, err := f.WriteAt([]byte{'\n'}, size); err != nil {
				f.Close()
				return err
			}
			size++
		}
	}
	r.f, r.size, r.used = f, size, true
	return nil
}

// undo cuts a record that could not be written whole.
func (r *Recorder) undo(err error) error {
	if terr := r.f.Truncate(r.size); terr == nil {
		r.f.Sync()
	}
	return fmt.Errorf("%s: %w", r.path, err)
}

// Close closes the file.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
