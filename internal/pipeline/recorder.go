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
// its lines as handled. It is safe for concurrent use.
type Recorder struct {
	path string
	mu   sync.Mutex
	f    *os.File
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
		if err := os.MkdirAll(filepath.Dir(r.path), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		r.f = f
		r.used = true
	}
	if _, err := r.f.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("%s: %w", r.path, err)
	}
	return r.f.Sync()
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
