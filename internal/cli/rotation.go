package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/pipeline"
	"github.com/trackless/trackless/internal/report"
	"github.com/trackless/trackless/internal/s3src"
	"github.com/trackless/trackless/internal/source"
)

// rotations finds, for the inputs given by their paths, the files they
// were rotated to since a run read them (renamed, copied, compressed), so
// that their last lines are read: for send (Matomo's ledger) and report
// (a report state). paths records which file each path was; entry gives
// what an output recorded of an input under a key (nil when nothing).
type rotations struct {
	paths  *ledger.Paths
	entry  func(ctx context.Context, key string) (*ledger.Entry, error)
	log    *slog.Logger
	stderr io.Writer
}

// withRemainders adds, before each file given by its path that was
// rotated since a run read it, the file it was (renamed beside it:
// access.log.1, access.log-20261204...), so that the lines written to it
// after that run are read (nginx writes into it until it reopens its log).
// Such a file is read again by later runs until it is read whole and has
// not changed for a while. When it is not found (compressed, moved,
// deleted), the run says so: its last lines may be lost.
func (j *job) withRemainders(ctx context.Context, set *source.Set) {
	l, ok := j.led.(*ledger.Ledger)
	if !ok {
		return
	}
	rotations{paths: l.Paths(), entry: j.led.Get, log: j.log, stderr: j.stderr}.add(ctx, set)
}

// add adds to set, before each file given by its path that was rotated
// since a run read it, the file it was (see withRemainders).
func (r rotations) add(ctx context.Context, set *source.Set) {
	l := r.paths
	given := map[string]bool{}
	for _, n := range set.Names {
		given[n] = true
	}
	var names []string
	for _, n := range set.Names {
		if n == "-" || source.IsRemote(n) {
			names = append(names, n)
			continue
		}
		rec, err := l.At(n)
		if err != nil {
			r.log.Warn("cannot tell whether the file was rotated", "input", n, "error", err)
		}
		if rec == nil {
			names = append(names, n)
			continue
		}
		before, _ := json.Marshal(rec)
		settled := rec.Settled
		if rotated(n, rec.Identity) {
			if !slices.ContainsFunc(rec.Rotated, func(rf ledger.RotatedFile) bool {
				// The same file (an inode is reused once its file is gone).
				return rf.Identity.Device == rec.Identity.Device && rf.Identity.Inode == rec.Identity.Inode && rf.Identity.Fingerprint == rec.Identity.Fingerprint
			}) {
				rec.Rotated = append(rec.Rotated, ledger.RotatedFile{Identity: rec.Identity})
				rec.Rotated = append(rec.Rotated, r.missedRotations(ctx, n, rec)...)
			}
			// The file now at the path, whatever its age (a quiet log is
			// not recorded by the run that reads it): at the next rotation,
			// it is the one looked for.
			if id := plainIdentity(n); id != nil {
				rec.Identity = *id
			}
			rec.Settled = false // of the file now at the path: read by this run
		} else {
			rec.Settled = r.settled(ctx, n)
		}
		var keep []ledger.RotatedFile
		for _, rf := range rec.Rotated {
			p := rf.Path
			if p == "" || rotated(p, rf.Identity) {
				if p, err = source.Remainder(n, rf.Identity); err != nil {
					r.log.Warn("cannot look for the rotated file", "input", n, "error", err)
				}
			}
			if p == "" && givenAs(set.Names, rf.Identity) != "" {
				continue // given under its new name: read as such
			}
			if p == "" && source.Busy(n, busyWithin) {
				// A file beside the path is being written (logrotate
				// compressing the rotated file now): looked for again by
				// the next run, not said lost.
				r.log.Info("a file beside the path is being written: the rotated file is looked for by the next run", "input", n)
				keep = append(keep, ledger.RotatedFile{Identity: rf.Identity})
				continue
			}
			if p == "" {
				switch {
				case settled:
				case sameInode(n, rf.Identity):
					fmt.Fprintf(r.stderr, "trackless: %s was truncated or rewritten in place, and no copy of what it held is beside it (%s.1, or any file there starting with the same lines): %s; %s\n", n, filepath.Base(n), r.lost(ctx, rf.Identity), recoverHint)
				default:
					fmt.Fprintf(r.stderr, "trackless: %s was rotated, and the file it was is not beside it (%s.1, or any file there starting with the same lines, compressed or not): %s; %s\n", n, filepath.Base(n), r.lost(ctx, rf.Identity), recoverHint)
				}
				continue
			}
			if r.settled(ctx, p) {
				continue // read whole, unchanged for a while: done with it
			}
			if !given[p] {
				r.log.Info("reading the rest of a rotated file", "input", n, "rotated_to", p)
				names = append(names, p)
				given[p] = true
			}
			keep = append(keep, ledger.RotatedFile{Path: p, Identity: rf.Identity})
		}
		rec.Rotated = keep
		if after, _ := json.Marshal(rec); string(after) == string(before) {
			names = append(names, n)
			continue
		}
		if err := l.SetAt(rec); err != nil {
			r.log.Warn("cannot record the rotated files of the path", "input", n, "error", err)
		}
		names = append(names, n)
	}
	set.Names = names
}

// busyWithin: a file beside a path modified this recently is being
// written (a rotation in progress).
const busyWithin = 5 * time.Second

// recoverHint ends the messages of a rotated file not found.
const recoverHint = "if it is elsewhere, give it as an input with the same state directory: only what was not read of it is read"

// entryOf returns the ledger entry of a file's identity, or nil.
func (r rotations) entryOf(ctx context.Context, id input.Identity) *ledger.Entry {
	for _, k := range id.Keys() {
		if e, err := r.entry(ctx, k); err == nil && e != nil {
			return e
		}
	}
	return nil
}

// lost says what of a rotated file that cannot be found was not read:
// the bytes after the last confirmed line when it was last read, and
// whatever was written to it since.
func (r rotations) lost(ctx context.Context, id input.Identity) string {
	e := r.entryOf(ctx, id)
	if e == nil {
		return "none of it was read"
	}
	when := e.Updated.Local().Format("2006-01-02 15:04:05")
	// The bytes after the last confirmed line, when a mark is there
	// (plain files: a mark counts decoded bytes).
	if e.Mark != nil && !e.Done && e.Identity.Content == "" && e.Mark.Line == e.ConfirmedLine && e.Identity.Size > e.Mark.Offset {
		return fmt.Sprintf("%d bytes of it after line %d, there when it was last read (%s), were not read, nor anything written to it since", e.Identity.Size-e.Mark.Offset, e.Mark.Line, when)
	}
	return fmt.Sprintf("it was read through line %d (%s); lines written to it since, if any, are not read", max(e.ConfirmedLine, e.Lines), when)
}

// missedRotations returns the files beside path that it was rotated to
// between the file it was when last read (rec.Identity) and the file it
// is now: named as rotations of it, modified since that read, and not
// that file (found by Remainder). They were the log for a while without
// any run seeing them at the path (cron stopped, two rotations between
// runs); read like the remainder, they are looked at by later runs until
// settled.
func (r rotations) missedRotations(ctx context.Context, path string, rec *ledger.PathRecord) []ledger.RotatedFile {
	e := r.entryOf(ctx, rec.Identity)
	if e == nil {
		return nil
	}
	names, err := source.Rotations(path, e.Updated)
	if err != nil {
		return nil
	}
	remainder, _ := source.Remainder(path, rec.Identity)
	var out []ledger.RotatedFile
	for _, p := range names {
		if p == remainder {
			continue
		}
		in, err := input.Open(p)
		if err != nil || in.Identity == nil {
			continue
		}
		id := *in.Identity
		in.Close()
		if e := r.entryOf(ctx, id); e != nil && e.Done {
			continue
		}
		if c := id.ContentKey(); c != "" {
			if e, err := r.entry(ctx, c); err == nil && e != nil && e.Done {
				continue
			}
		}
		r.log.Info("a file the path was rotated to between runs: reading it", "input", path, "rotated_to", p)
		out = append(out, ledger.RotatedFile{Path: p, Identity: id})
	}
	return out
}

// settled reports whether a rotated file was read whole, its size then
// its size now, and it has not changed for pipeline.RecentlyWritten.
func (r rotations) settled(ctx context.Context, p string) bool {
	in, err := input.Open(p)
	if err != nil {
		return false
	}
	defer in.Close()
	if time.Since(in.Modified) < pipeline.RecentlyWritten {
		return false
	}
	// The file's keys now (it may have grown past the fingerprint's size).
	for _, k := range in.Identity.Keys() {
		if e, err := r.entry(ctx, k); err == nil && e != nil {
			return e.Done && e.Identity.Size == in.Identity.Size
		}
	}
	return false
}

// givenAs returns the name under which the file id identifies is among
// names (a rotated file given too, under its new name), or "".
func givenAs(names []string, id input.Identity) string {
	for _, n := range names {
		if n == "-" || s3src.IsURL(n) || rotated(n, id) {
			continue
		}
		if same, err := input.FingerprintMatches(n, id); err == nil && same {
			return n
		}
		// Compressed since: by its content.
		if id.FingerprintLen >= input.FingerprintSize && input.ContentMatches(n, id.Fingerprint, id.FingerprintLen) {
			return n
		}
	}
	return ""
}

// sameInode reports whether the file at path has id's device and inode.
func sameInode(path string, id input.Identity) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	dev, ino, ok := input.DeviceInode(st)
	return ok && dev == id.Device && ino == id.Inode
}

// rotated reports whether the file at path is no longer the one id
// identifies: no file, another device or inode, or the same inode with
// other first bytes (the old file was deleted and the new one took its
// inode, as file systems do).
func rotated(path string, id input.Identity) bool {
	st, err := os.Stat(path)
	if err != nil {
		return true
	}
	dev, ino, ok := input.DeviceInode(st)
	if ok && (dev != id.Device || ino != id.Inode) {
		return true
	}
	same, err := input.FingerprintMatches(path, id)
	return err != nil || !same
}

// plainIdentity is the identity of the plain regular file at p, or nil.
func plainIdentity(p string) *input.Identity {
	in, err := input.Open(p)
	if err != nil {
		return nil
	}
	defer in.Close()
	if in.Compression != input.Plain {
		return nil
	}
	return in.Identity
}

// record records which file each of names is, for the next run to tell
// that it was rotated: plain files written to lately (live logs; the
// Matomo side records the files it reads itself, ledger.Ledger.RecordAt).
func (r rotations) record(names []string) {
	for _, n := range names {
		if n == "-" || source.IsRemote(n) {
			continue
		}
		in, err := input.Open(n)
		if err != nil {
			continue
		}
		id, plain, recent := in.Identity, in.Compression == input.Plain, time.Since(in.Modified) < pipeline.RecentlyWritten
		in.Close()
		if id == nil || !plain || !recent {
			continue
		}
		if err := r.paths.RecordAt(n, *id); err != nil {
			r.log.Warn("cannot record which file the path is", "input", n, "error", err)
		}
	}
}

// reportRotations are the rotations of a report state: its path records,
// and its inputs' entries seen as ledger entries.
func reportRotations(st *report.State, log *slog.Logger, stderr io.Writer) *rotations {
	entry := func(_ context.Context, key string) (*ledger.Entry, error) {
		e := st.Input(key)
		if e == nil {
			return nil, nil
		}
		return &ledger.Entry{
			Name: e.Name, Identity: input.Identity{Size: e.Size, Fingerprint: e.Fingerprint, FingerprintLen: e.FingerprintLen},
			ConfirmedLine: e.Lines, Lines: e.Lines, Done: e.Done, Updated: e.Counted, Mark: e.Mark,
		}, nil
	}
	return &rotations{paths: ledger.NewPaths(st.Dir()), entry: entry, log: log, stderr: stderr}
}
