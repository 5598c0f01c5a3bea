// Package ledger records what Matomo has confirmed, so that a rerun, a
// retry or a restart after a crash sends nothing twice and loses nothing.
//
// A Store keeps one small JSON entry per input, named after the input's
// identity (not its path). Two stores exist: a local state directory
// (Ledger, one process at a time) and an S3 prefix (S3, shared by any number
// of runs and Lambda invocations, which claim an input before reading it).
// An entry that cannot be read is an error, never a silent restart (which
// would send everything again).
package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/trackless/trackless/internal/atomicfile"
	"github.com/trackless/trackless/internal/input"
)

// FormatVersion is the version of the entry format.
const FormatVersion = 1

// Entry is the delivery state of one input.
type Entry struct {
	Version  int            `json:"version"`
	Name     string         `json:"name"` // path when last seen, for people
	Identity input.Identity `json:"identity"`
	// ConfirmedLine is the line below which (inclusive) every hit is
	// confirmed: delivered, rejected by Matomo or dead-lettered.
	ConfirmedLine int64 `json:"confirmed_line"`
	// ShardLines refine ConfirmedLine: ShardLines[s] is the line through
	// which every hit of visitor shard s is confirmed (see pipeline).
	ShardLines []int64 `json:"shard_lines,omitempty"`
	// ShardDone lists, per shard, lines above ShardLines[s] whose hits are
	// confirmed too: hits are sent in time order, which within a log is not
	// always line order, so a later line can be confirmed before an earlier
	// one. Keys are shard numbers.
	ShardDone map[int][]int64 `json:"shard_done,omitempty"`
	// Done is set once the whole input was read and confirmed. Lines is then
	// its line count and Identity.Size its size.
	Done bool `json:"done"`
	// Failed says why the input could not be read to its end (damaged,
	// format unknown); it is read again, from ConfirmedLine, by the next
	// run, which reports it again if it still fails.
	Failed  string    `json:"failed,omitempty"`
	Lines   int64     `json:"lines"`
	Updated time.Time `json:"updated"`
	// Mark is where a line at or before ConfirmedLine ends in the input
	// (input.Mark): the next run reads on from there instead of from the
	// start of the file. Nil when unknown (an object, a compressed file).
	Mark *input.Mark `json:"mark,omitempty"`
}

// Store is where entries are kept. Claim and Release coordinate workers
// that share the store: an input is read by the worker that holds its claim.
type Store interface {
	// Get returns the entry of key, or nil when there is none.
	Get(ctx context.Context, key string) (*Entry, error)
	// Put replaces the entry of key durably.
	Put(ctx context.Context, key string, e *Entry) error
	// Claim takes key for this worker until Release (or until the claim
	// expires, when the worker is gone). It returns a *ClaimedError when
	// another worker holds it.
	Claim(ctx context.Context, key string) error
	// Release gives up the claim of key; releasing a key not held is a no-op.
	Release(ctx context.Context, key string) error
	// Close releases every claim still held.
	Close() error
	// String says where the store is, for messages.
	String() string
}

// ClaimedError says that another worker holds an input.
type ClaimedError struct {
	Key   string
	Owner string    // the worker holding it
	Until time.Time // when its claim expires unless renewed
}

func (e *ClaimedError) Error() string {
	return fmt.Sprintf("being read by another worker (%s) until %s at the latest", e.Owner, e.Until.UTC().Format(time.RFC3339))
}

// fileName is the name of key's entry (and claim) in a store.
func fileName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:12]) + ".json"
}

// decode reads an entry; where names it in errors.
func decode(data []byte, where string) (*Entry, error) {
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("ledger entry %s is corrupt (%v): fix or remove it; removing it sends that input again", where, err)
	}
	if e.Version != FormatVersion {
		return nil, fmt.Errorf("ledger entry %s has format version %d, this trackless reads %d", where, e.Version, FormatVersion)
	}
	return &e, nil
}

// encode writes an entry.
func encode(e *Entry) ([]byte, error) {
	e.Version = FormatVersion
	data, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Ledger is a state directory. One process at a time may hold it, so its
// claims always succeed.
type Ledger struct {
	dir      string
	lock     *os.File
	readOnly bool
}

// ReadOnly returns a view of the entries of the state directory dir that
// does not take its lock (another process may hold it) and refuses Put:
// for looking, for instance at what replay recorded there.
func ReadOnly(dir string) *Ledger { return &Ledger{dir: dir, readOnly: true} }

// Open creates dir if needed and locks it. Holding the lock, it removes
// the temporary files that a process killed while writing an entry left in
// dir/inputs.
func Open(dir string) (*Ledger, error) {
	inputs := filepath.Join(dir, "inputs")
	if err := os.MkdirAll(inputs, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	f, err := LockDir(dir)
	if err != nil {
		return nil, err
	}
	if _, err := atomicfile.RemoveTemps(inputs); err != nil {
		f.Close()
		return nil, fmt.Errorf("state dir %s: %w", dir, err)
	}
	return &Ledger{dir: dir, lock: f}, nil
}

// LockDir takes the lock of a state directory (its file "lock", created if
// needed) without waiting; closing the file releases it.
func LockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("state dir %s %w", dir, ErrInUse)
	}
	return f, nil
}

// ErrInUse says that another process holds a directory.
var ErrInUse = errors.New("is in use by another trackless process")

// LockDirWait is LockDir, but waits while another process holds the
// directory, until ctx ends.
func LockDirWait(ctx context.Context, dir string) (*os.File, error) {
	wait := 10 * time.Millisecond
	for {
		f, err := LockDir(dir)
		if !errors.Is(err, ErrInUse) {
			return f, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (waited until %v)", err, context.Cause(ctx))
		case <-time.After(wait):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// PathRecord is what the state directory remembers of a path given as
// input (a live log such as /var/log/nginx/access.log): the file last read
// there, and the files it was, rotated away beside it, still to be read to
// their end. It lets a run given only the path find the rest of a file
// that was renamed since the last run (see source.Remainder).
type PathRecord struct {
	Path     string         `json:"path"`
	Identity input.Identity `json:"identity"`
	Rotated  []RotatedFile  `json:"rotated,omitempty"`
	// Settled: at the last run, the file was read whole and had not
	// changed for a while: if it is rotated away and not found, nothing
	// of it is missing.
	Settled bool `json:"settled,omitempty"`
}

// RotatedFile is a file a path was, where it was last found ("" when not
// looked for yet).
type RotatedFile struct {
	Path     string         `json:"path,omitempty"`
	Identity input.Identity `json:"identity"`
}

// Paths keeps the PathRecords of a state directory, in its folder
// "paths": the Matomo ledger's (Ledger.Paths) and a report state's. The
// process that holds the directory uses it.
type Paths struct {
	dir      string
	readOnly bool
}

// NewPaths returns the path records of the state directory dir.
func NewPaths(dir string) *Paths { return &Paths{dir: dir} }

// Paths returns the ledger's path records.
func (l *Ledger) Paths() *Paths { return &Paths{dir: l.dir, readOnly: l.readOnly} }

// At returns the record of path, or nil when there is none.
func (l *Ledger) At(path string) (*PathRecord, error) { return l.Paths().At(path) }

// SetAt replaces the record of rec.Path (an absolute path) atomically.
func (l *Ledger) SetAt(rec *PathRecord) error { return l.Paths().SetAt(rec) }

// RecordAt records that the file at path has identity id (its rotated
// files are kept).
func (l *Ledger) RecordAt(path string, id input.Identity) error { return l.Paths().RecordAt(path, id) }

// At returns the record of path, or nil when there is none.
func (l *Paths) At(path string) (*PathRecord, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	p := l.pathFile(abs)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec PathRecord
	if err := json.Unmarshal(data, &rec); err != nil || rec.Path != abs {
		return nil, fmt.Errorf("state %s is corrupt: remove it (the rest of a file rotated since the last run is then not looked for, once)", p)
	}
	return &rec, nil
}

// SetAt replaces the record of rec.Path (an absolute path) atomically.
func (l *Paths) SetAt(rec *PathRecord) error {
	if l.readOnly {
		return errors.New("ledger opened read-only")
	}
	if err := os.MkdirAll(filepath.Join(l.dir, "paths"), 0o700); err != nil {
		return err
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(l.pathFile(rec.Path), append(data, '\n'), 0o600)
}

// RecordAt records that the file at path has identity id (its rotated
// files are kept). When the path was another file (rotated between the
// run's look at its rotations and its read: a copytruncate at that
// moment), that file is added to the rotated files, for the next run to
// find what it holds beyond what was read.
func (l *Paths) RecordAt(path string, id input.Identity) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	rec, err := l.At(abs)
	if err != nil || rec == nil {
		rec = &PathRecord{Path: abs}
	}
	if rec.Identity == id {
		return nil
	}
	if old := rec.Identity; old.Fingerprint != "" && !sameFile(old, id, abs) && !slices.ContainsFunc(rec.Rotated, func(rf RotatedFile) bool {
		return rf.Identity.Device == old.Device && rf.Identity.Inode == old.Inode && rf.Identity.Fingerprint == old.Fingerprint
	}) {
		rec.Rotated = append(rec.Rotated, RotatedFile{Identity: old})
	}
	rec.Identity, rec.Settled = id, false
	return l.SetAt(rec)
}

// sameFile reports whether id, now at path, is the file old identified,
// grown: the same device and inode, and still its first bytes.
func sameFile(old, id input.Identity, path string) bool {
	if old.Device != id.Device || old.Inode != id.Inode {
		return false
	}
	if old.FingerprintLen >= input.FingerprintSize || old.FingerprintLen == id.FingerprintLen {
		return old.Fingerprint == id.Fingerprint
	}
	same, err := input.FingerprintMatches(path, old)
	return err == nil && same
}

func (l *Paths) pathFile(abs string) string {
	return filepath.Join(l.dir, "paths", fileName(abs))
}

// Dir is the state directory.
func (l *Ledger) Dir() string { return l.dir }

// String is the state directory.
func (l *Ledger) String() string { return l.dir }

// Claim always succeeds: the directory's lock keeps other processes out.
func (l *Ledger) Claim(context.Context, string) error { return nil }

// Release does nothing.
func (l *Ledger) Release(context.Context, string) error { return nil }

// Close releases the lock.
func (l *Ledger) Close() error {
	if l.lock == nil {
		return nil
	}
	err := l.lock.Close()
	l.lock = nil
	return err
}

func (l *Ledger) path(key string) string {
	return filepath.Join(l.dir, "inputs", fileName(key))
}

// Get returns the entry of key, or nil when there is none.
func (l *Ledger) Get(_ context.Context, key string) (*Entry, error) {
	p := l.path(key)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return decode(data, p)
}

// Put replaces the entry of key atomically and durably: written to a
// temporary file, fsynced, renamed over the old one, and the directory
// fsynced.
func (l *Ledger) Put(_ context.Context, key string, e *Entry) error {
	if l.readOnly {
		return fmt.Errorf("ledger %s: opened read-only", l.dir)
	}
	data, err := encode(e)
	if err != nil {
		return err
	}
	return WriteFileAtomic(l.path(key), data)
}

// WriteFileAtomic writes data to path atomically and durably, mode 0600:
// see atomicfile.WriteFile, which it wraps (errors start with "ledger: ").
func WriteFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}
