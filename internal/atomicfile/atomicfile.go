// Package atomicfile replaces files atomically and durably: the new content
// is written to a temporary file in the same directory, synced, and renamed
// over the old file, then the directory is synced. A reader sees the old
// file or the new one, never a mix; after a crash (or a full disk, or any
// error) the old file is still there, whole.
//
// Temporary files are named ".tmp-<base>-<random>" (TempPrefix). A process
// killed mid-write leaves one behind; RemoveTemps removes them, to be called
// only by the holder of the directory's lock (another process may be writing
// one).
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// TempPrefix starts the name of every temporary file of this package.
const TempPrefix = ".tmp-"

// maxBase is how much of the target's name goes into a temporary name, so
// that it stays under the 255-byte limit of a name.
const maxBase = 100

// WriteFile replaces path with data, atomically and durably: a temporary
// file in the same directory is written, given the mode perm (exactly: the
// umask does not apply), synced, closed and renamed over path; then the
// directory is synced. On any error before the rename the temporary file is
// removed and the file at path is untouched. An error from the last step
// (syncing the directory) means that path has the new content but a crash
// could still undo the rename.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := create(path, perm, false)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// File is a replacement of a file being written: the content goes to a
// temporary file until Commit. It is not safe for concurrent use.
//
// A path that is not a regular file (a device such as /dev/null or
// /dev/stdout, a named pipe) cannot be replaced: renaming over it would
// replace the device itself. Such a path is written in place, not
// atomically. A symbolic link is followed: its target is replaced, and the
// link stays.
type File struct {
	path   string
	perm   os.FileMode
	f      *os.File
	w      *bufio.Writer // nil when unbuffered
	err    error         // the first write error
	done   bool          // committed or aborted
	direct bool          // written in place (not a regular file)
}

// Create starts replacing path: Write the content, then Commit, or Abort
// (Close too) to give up, which leaves path untouched. Writes are buffered,
// so a report can be streamed without holding it in memory. Use
//
//	f, err := atomicfile.Create(path, 0o644)
//	if err != nil { … }
//	defer f.Close() // removes the temporary file unless committed
//	… write …
//	return f.Commit()
func Create(path string, perm os.FileMode) (*File, error) {
	return create(path, perm, true)
}

func create(path string, perm os.FileMode, buffered bool) (*File, error) {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() && !st.IsDir() {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, bare(err))
		}
		af := &File{path: path, perm: perm, f: f, direct: true}
		if buffered {
			af.w = bufio.NewWriterSize(f, 64<<10)
		}
		return af, nil
	}
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	base := filepath.Base(path)
	if len(base) > maxBase {
		base = base[:maxBase]
		for !utf8.ValidString(base) {
			base = base[:len(base)-1]
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), TempPrefix+base+"-*")
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, bare(err))
	}
	af := &File{path: path, perm: perm, f: f}
	if buffered {
		af.w = bufio.NewWriterSize(f, 64<<10)
	}
	return af, nil
}

// Name is the path the file replaces.
func (f *File) Name() string { return f.path }

// Write writes to the temporary file. An error is kept and returned again
// by Commit.
func (f *File) Write(p []byte) (int, error) {
	if f.done {
		return 0, fmt.Errorf("writing %s: %w", f.path, fs.ErrClosed)
	}
	if f.err != nil {
		return 0, f.err
	}
	var n int
	var err error
	if f.w != nil {
		n, err = f.w.Write(p)
	} else {
		n, err = f.f.Write(p)
	}
	if err != nil {
		f.err = fmt.Errorf("writing %s: %w", f.path, bare(err))
	}
	return n, f.err
}

// WriteString is Write of a string.
func (f *File) WriteString(s string) (int, error) {
	if f.w != nil && !f.done && f.err == nil {
		n, err := f.w.WriteString(s)
		if err != nil {
			f.err = fmt.Errorf("writing %s: %w", f.path, bare(err))
		}
		return n, f.err
	}
	return f.Write([]byte(s))
}

// Commit makes the content written the file at path (see WriteFile). On
// error, the temporary file is removed and path left as it was, except
// when the error comes from syncing the directory after the rename.
// Commit after Commit or Abort is an error.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("committing %s: %w", f.path, fs.ErrClosed)
	}
	if err := f.commit(); err != nil {
		f.Abort()
		return err
	}
	f.done = true
	if f.direct {
		return nil
	}
	return syncDir(filepath.Dir(f.path))
}

func (f *File) commit() error {
	if f.err != nil {
		return f.err
	}
	wrap := func(err error) error { return fmt.Errorf("writing %s: %w", f.path, bare(err)) }
	if f.w != nil {
		if err := f.w.Flush(); err != nil {
			return wrap(err)
		}
	}
	if f.direct {
		if err := f.f.Close(); err != nil {
			return wrap(err)
		}
		return nil
	}
	if err := f.f.Chmod(f.perm); err != nil {
		return wrap(err)
	}
	if err := f.f.Sync(); err != nil {
		return wrap(err)
	}
	if err := f.f.Close(); err != nil {
		return wrap(err)
	}
	if err := os.Rename(f.f.Name(), f.path); err != nil {
		return wrap(err)
	}
	return nil
}

// Abort gives up: the temporary file is closed and removed, path is left
// as it was. After Commit it does nothing; it may be called more than once.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	f.f.Close() // may be closed already by a failed commit
	if f.direct {
		return nil
	}
	if err := os.Remove(f.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the temporary file of %s: %w", f.path, bare(err))
	}
	return nil
}

// Close is Abort, so that a deferred Close cleans up after an error.
func (f *File) Close() error { return f.Abort() }

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, bare(err))
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, bare(err))
	}
	return nil
}

// RemoveTemps removes the temporary files (names starting with TempPrefix)
// that a process killed while writing left in dir, and says how many it
// removed. Call it only while holding the lock of dir: another process
// could be writing one. A missing dir holds none. Subdirectories are not
// looked into.
func RemoveTemps(dir string) (removed int, err error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("removing temporary files: %w", err)
	}
	var errs []error
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), TempPrefix) || !e.Type().IsRegular() {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("removing temporary files: %w", errors.Join(errs...))
	}
	return removed, nil
}

// probeSize is written by ProbeDir: a block, so that a disk with less
// room than that is found full.
const probeSize = 4096

// ProbeDir checks that files can be written in dir: it creates dir (mode
// 0700) if needed, writes a small temporary file, syncs it and removes it.
// Its error names the directory and the cause, as in "cannot write to
// directory /var/lib/trackless/inputs: read-only file system" (errors.Is
// finds the cause, such as syscall.EROFS or syscall.ENOSPC).
func ProbeDir(dir string) error {
	fail := func(err error) error {
		return fmt.Errorf("cannot write to directory %s: %w", dir, bare(err))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path != dir {
			return fmt.Errorf("cannot write to directory %s: %w", dir, err) // a parent is the cause
		}
		return fail(err)
	}
	f, err := os.CreateTemp(dir, TempPrefix+"probe-*")
	if err != nil {
		return fail(err)
	}
	name := f.Name()
	_, err = f.Write(make([]byte, probeSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := os.Remove(name); err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		return fail(err)
	}
	return nil
}

// bare is err without the path a *fs.PathError or *os.LinkError repeats
// (the temporary name means nothing to people).
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
