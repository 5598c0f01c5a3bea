// Package source turns what a run is given into inputs: files and
// directories, stdin, the objects under s3:// prefixes, the objects of a
// Lambda event. It says how to open each, its identity when it is known
// without opening it (an object's ETag), and the time of its first hit
// when its name tells it; and it acts on an input once every output has it
// (--after: keep, delete, or move).
//
// A source never decides what is delivered: the pipeline does, and calls
// the after-delivery action only for inputs that are.
package source

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trackless/trackless/internal/awslambda"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/kinesis"
	"github.com/trackless/trackless/internal/s3src"
)

// Sources resolves a run's inputs.
type Sources struct {
	// S3 returns the S3 client, made on first use (listing, reading,
	// moving objects).
	S3 func(ctx context.Context) (*s3.Client, error)
	// Kinesis returns the Kinesis client for a stream (its region may be
	// in its ARN), made on first use.
	Kinesis func(ctx context.Context, stream kinesis.Stream) (kinesis.API, error)
	// Readers, if set, keeps the shards' readers from one run to the next
	// (see Readers).
	Readers *Readers
	// Range leaves out inputs whose name says an hour outside it
	// (--since, --until: CloudFront's names and partitions).
	Range s3src.Range
	// After is what is done with an input once delivered.
	After After
	// Ledger is where the ledger is (--ledger): objects under an s3://
	// ledger are not logs, and are never listed as inputs.
	Ledger string
	Log    *slog.Logger
}

// Set is what a run reads: files (and stdin) by path, objects by name
// (s3://bucket/key).
type Set struct {
	Names []string
	// Total is the size of the inputs in bytes, when known (for the
	// progress bar).
	Total   int64
	objects map[string]s3src.Object
	// listed is the prefix an object was listed under (for --after move).
	listed map[string]string
	s3     *s3.Client
	// shards are the shards of kinesis:// streams, by name; since is
	// where a shard read for the first time starts (--since).
	shards map[string]streamShard
	since  time.Time
}

func newSet() *Set {
	return &Set{objects: map[string]s3src.Object{}, listed: map[string]string{}}
}

// ErrNoInput is returned by Resolve without arguments.
var ErrNoInput = errors.New("no input: give files, directories, s3://BUCKET/PREFIX, kinesis://STREAM, or - for stdin")

// Resolve turns arguments into inputs: files as given, the regular files
// under directories (sorted, hidden ones left out), "-", the objects
// under s3:// prefixes (in key order), and the shards of kinesis:// streams. Range leaves out inputs whose name
// says an hour outside it; other inputs are all read. notRead names what
// was given but is not read (a dangling link, a loop), with why.
func (s *Sources) Resolve(ctx context.Context, args []string) (set *Set, notRead []input.Skipped, err error) {
	if len(args) == 0 {
		return nil, nil, ErrNoInput
	}
	set = newSet()
	set.since = s.Range.Since
	var files []string
	for _, a := range args {
		if kinesis.IsURL(a) {
			if err := s.addStream(ctx, set, a); err != nil {
				return nil, nil, err
			}
			continue
		}
		if !s3src.IsURL(a) {
			files = append(files, a)
			continue
		}
		bucket, prefix, err := s3src.ParseURL(a)
		if err != nil {
			return nil, nil, err
		}
		if set.s3, err = s.S3(ctx); err != nil {
			return nil, nil, err
		}
		l := &s3src.Lister{Client: set.s3, Skip: s.skipKey(bucket)}
		objs, err := l.List(ctx, bucket, prefix, s.Range)
		if err != nil {
			return nil, nil, err
		}
		s.log().Info("listed", "prefix", a, "objects", len(objs), "list_requests", l.Requests)
		for _, o := range objs {
			set.add(o, prefix)
		}
	}
	if len(files) > 0 {
		names, skipped, err := input.Expand(files)
		if err != nil {
			return nil, nil, err
		}
		notRead = skipped
		for _, n := range names {
			if t, ok := s3src.KeyTime(filepath.Base(n)); ok && !s.Range.Contains(t) {
				continue
			}
			set.Names = append(set.Names, n)
			if st, err := os.Stat(n); err == nil {
				set.Total += st.Size()
			}
		}
	}
	if len(set.Names) == 0 {
		s.log().Warn("no input to read (nothing listed, or nothing in the --since/--until range)")
	}
	return set, notRead, nil
}

// FromEvent makes the inputs of a Lambda event's objects: their key,
// ETag and size completed when the event lacks them, those under the
// ledger's prefix or --after's destination left out.
func (s *Sources) FromEvent(ctx context.Context, objs []awslambda.Object) (*Set, error) {
	set := newSet()
	var err error
	if set.s3, err = s.S3(ctx); err != nil {
		return nil, err
	}
	for _, o := range objs {
		if skip := s.skipKey(o.Bucket); skip != nil && skip(o.Key) {
			s.log().Info("object ignored: it is under the ledger's prefix or --after's destination", "object", o.Name())
			continue
		}
		obj, err := resolveObject(ctx, set.s3, o)
		if err != nil {
			return nil, err
		}
		set.add(obj, "")
	}
	return set, nil
}

// resolveObject completes what an event says of an object: its key when
// the event may or may not have encoded it (EventBridge), its ETag and size
// when the event has none.
func resolveObject(ctx context.Context, c s3src.HeadAPI, o awslambda.Object) (s3src.Object, error) {
	obj := o.Object
	if o.RawKey != "" {
		raw := obj
		raw.Key = o.RawKey
		if h, err := s3src.Head(ctx, c, raw); err == nil {
			return h, nil
		} else if !s3src.IsNotFound(err) {
			return obj, err
		}
	}
	if obj.ETag != "" && obj.Size > 0 {
		return obj, nil
	}
	return s3src.Head(ctx, c, obj)
}

func (s *Sources) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (set *Set) add(o s3src.Object, prefix string) {
	n := o.Name()
	if _, dup := set.objects[n]; dup {
		return
	}
	set.objects[n] = o
	set.listed[n] = prefix
	set.Names = append(set.Names, n)
	set.Total += o.Size
}

// skipKey leaves the ledger's objects and --after's destination out of
// listings of bucket: they are not logs, or logs already delivered.
// Prefixes are whole path segments ("ledger" is the folder ledger/, not
// ledger.log); of the ledger, only the folders it writes (inputs/,
// claims/) are left out, so that a ledger at the bucket's root hides no log.
func (s *Sources) skipKey(bucket string) func(string) bool {
	var prefixes []string
	if b, p, err := s3src.ParseURL(s.Ledger); err == nil && b == bucket {
		p = folder(p)
		prefixes = append(prefixes, p+"inputs/", p+"claims/")
	}
	if s.After.Kind == AfterMove {
		if b, p, err := s3src.ParseURL(s.After.Dest); err == nil && b == bucket && p != "" {
			prefixes = append(prefixes, folder(p))
		}
	}
	if len(prefixes) == 0 {
		return nil
	}
	return func(k string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				return true
			}
		}
		return false
	}
}

// folder returns p as a folder: "" or ending with "/".
func folder(p string) string {
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// HasObjects reports whether the set has objects or shards (and so needs
// Open, Identify and FirstHint).
func (set *Set) HasObjects() bool { return len(set.objects) > 0 || len(set.shards) > 0 }

// Open opens an input of the set: an object is streamed from S3, a file
// opened (a named pipe without a writer does not block ctx's end), a
// shard read from where the outputs have it.
func (set *Set) Open(ctx context.Context, name string) (*input.Input, error) {
	if sh, ok := set.shards[name]; ok {
		return set.openShard(sh, name, set.since), nil
	}
	o, ok := set.objects[name]
	if !ok {
		return input.OpenContext(ctx, name)
	}
	return s3src.Open(ctx, set.s3, o)
}

// Identify returns the identity of an object known without opening it
// (its bucket, key and ETag), or nil.
func (set *Set) Identify(name string) *input.Identity {
	if sh, ok := set.shards[name]; ok {
		return ShardIdentity(sh.stream, sh.shard.ID)
	}
	if o, ok := set.objects[name]; ok && o.ETag != "" {
		return o.Identity()
	}
	return nil
}

// FirstHint returns a time no later than an object's first hit, when its
// key tells the hour (CloudFront's names), and the lowest time for a
// shard.
func (set *Set) FirstHint(name string) (int64, bool) {
	if _, ok := set.shards[name]; ok {
		// Not looked into (that would read its first records again):
		// shards keep their listed order, parents before children, and
		// the merge orders their hits.
		return math.MinInt64, true
	}
	o, ok := set.objects[name]
	if !ok {
		return 0, false
	}
	t, ok := s3src.KeyTime(o.Key)
	return t.UnixNano(), ok
}

// After is what --after does with an input once delivered.
type After struct {
	Kind string // AfterKeep, AfterDelete or AfterMove
	Dest string // AfterMove: s3://bucket/prefix/ or a directory
}

// The kinds of After.
const (
	AfterKeep   = "keep"
	AfterDelete = "delete"
	AfterMove   = "move"
)

// ParseAfter reads --after: keep, delete, or move=DEST.
func ParseAfter(v string) (After, error) {
	switch {
	case v == "" || v == AfterKeep:
		return After{Kind: AfterKeep}, nil
	case v == AfterDelete:
		return After{Kind: AfterDelete}, nil
	case strings.HasPrefix(v, "move="):
		dest := strings.TrimPrefix(v, "move=")
		if dest == "" {
			return After{}, errors.New("--after move=DEST: DEST is s3://BUCKET/PREFIX/ for objects or a directory for files")
		}
		if s3src.IsURL(dest) {
			if _, _, err := s3src.ParseURL(dest); err != nil {
				return After{}, fmt.Errorf("--after: %v", err)
			}
		}
		return After{Kind: AfterMove, Dest: dest}, nil
	}
	return After{}, fmt.Errorf("--after must be keep, delete or move=DEST, not %q", v)
}

// Done returns the after-delivery action of the set's inputs, or nil when
// inputs are kept.
func (s *Sources) Done(set *Set) func(name string) error {
	if s.After.Kind == AfterKeep || s.After.Kind == "" {
		return nil
	}
	return func(name string) error { return s.After.apply(context.Background(), set, name) }
}

// apply deletes or moves a delivered input.
func (a After) apply(ctx context.Context, set *Set, name string) error {
	if _, ok := set.shards[name]; name == "-" || ok {
		return nil // a shard ended is not deleted (its records expire)
	}
	o, isObject := set.objects[name]
	switch {
	case a.Kind == AfterDelete && isObject:
		return s3src.Delete(ctx, set.s3, o)
	case a.Kind == AfterDelete:
		return os.Remove(name)
	case isObject != s3src.IsURL(a.Dest):
		return fmt.Errorf("--after move=%s: objects move to s3://BUCKET/PREFIX/, files to a directory", a.Dest)
	case isObject:
		return s3src.Move(ctx, set.s3, o, set.listed[name], a.Dest)
	}
	if err := os.MkdirAll(a.Dest, 0o755); err != nil {
		return err
	}
	return moveFile(name, a.Dest)
}

// moveFile moves a file into dir without replacing a file of the same name
// there (rotated logs come back under the same names: access.log.1): a
// name taken gets a number, access.log.1.2. The file is linked under its
// new name, then removed, so that an existing file is never overwritten;
// across file systems, where a link cannot be made, it is copied.
func moveFile(name, dir string) error {
	base := filepath.Join(dir, filepath.Base(name))
	for n := 1; n < 10000; n++ {
		dest := base
		if n > 1 {
			dest = fmt.Sprintf("%s.%d", base, n)
		}
		err := os.Link(name, dest)
		switch {
		case err == nil:
			return os.Remove(name)
		case errors.Is(err, os.ErrExist):
			continue
		case errors.Is(err, syscall.EXDEV):
			return copyFile(name, dest)
		default:
			return err
		}
	}
	return fmt.Errorf("moving %s to %s: too many files of that name", name, dir)
}

// copyFile copies name to dest (which must not exist), syncs it, and
// removes name.
func copyFile(name, dest string) error {
	in, err := os.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dest)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(dest)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(dest)
		return err
	}
	return os.Remove(name)
}

// Remainder finds the file a path was before it was rotated: the file in
// the same folder, named after it (access.log.1, access.log.0,
// access.log-20261204, ...), that has the device and inode of was and
// starts with the bytes it had (a rename keeps them; nginx may still be
// writing into it); or, another file whose content starts with them: a
// copy (logrotate's copytruncate: the lines written before the copy are
// in it), or the file compressed since (access.log.1.gz). "" when none
// has: the file was moved elsewhere or deleted.
func Remainder(path string, was input.Identity) (string, error) {
	names, err := namesBeside(path)
	if err != nil {
		return "", err
	}
	var others []string
	for _, p := range names {
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		// The same device and inode, and the first bytes it had (a
		// deleted file's inode may be another file's now).
		if dev, ino, ok := input.DeviceInode(st); ok && dev == was.Device && ino == was.Inode {
			if same, err := input.FingerprintMatches(p, was); err == nil && same {
				return p, nil
			}
			continue
		}
		others = append(others, p)
	}
	// Copied or compressed by the rotation (another file): by its
	// content; names of rotations first, a plain copy before a
	// compressed one, then any other name beside the path. Only a file
	// whose fingerprint covers FingerprintSize bytes can be told from
	// another this way.
	if was.FingerprintLen < input.FingerprintSize {
		return "", nil
	}
	rank := func(p string) int {
		r := compressedName(p)
		if !isRotationOf(path, p) {
			r += 2
		}
		return r
	}
	slices.SortStableFunc(others, func(a, b string) int { return cmp.Compare(rank(a), rank(b)) })
	for _, p := range others {
		if input.ContentMatches(p, was.Fingerprint, was.FingerprintLen) {
			return p, nil
		}
	}
	return "", nil
}

// Rotations returns the files beside path named as rotations of it
// (rotatedName) and modified after since: when a path was rotated more
// than once since a run read it (cron stopped for a day), the files it was
// in between, which no run saw at the path.
func Rotations(path string, since time.Time) ([]string, error) {
	names, err := namesBeside(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range names {
		if !isRotationOf(path, p) {
			continue
		}
		if st, err := os.Stat(p); err == nil && st.ModTime().After(since) {
			out = append(out, p)
		}
	}
	return out, nil
}

// rotatedSuffix is what logrotate (and newsyslog, and servers that rotate
// their own logs) add to a log's name: numbers and dates, whatever
// logrotate's dateformat (.1, .0, -20261204, .2026-12-04, -2026120413,
// -20261204-1733380000), optionally compressed.
var rotatedSuffix = regexp.MustCompile(`^[-._]\d+([-._T]\d+)*(\.(gz|zst|bz2))?$`)

// Busy reports whether a file beside path named as a rotation of it was
// modified within the last within: a rotation is in progress (a file
// being compressed), and a rotated file not found now may be found later.
func Busy(path string, within time.Duration) bool {
	names, err := namesBeside(path)
	if err != nil {
		return false
	}
	for _, p := range names {
		if !isRotationOf(path, p) {
			continue // another log of its own (access.log_ssl), always written
		}
		if st, err := os.Stat(p); err == nil && time.Since(st.ModTime()) < within {
			return true
		}
	}
	return false
}

// isRotationOf reports whether the name of p is path's with a rotation's
// suffix (rotatedSuffix).
func isRotationOf(path, p string) bool {
	return rotatedSuffix.MatchString(strings.TrimPrefix(filepath.Base(p), filepath.Base(path)))
}

// namesBeside lists the regular files beside path whose names start with
// path's (access.log.1, access.log-20261204.gz, access.log.old), sorted by
// name.
func namesBeside(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		name := e.Name()
		if name == base || !strings.HasPrefix(name, base) || !e.Type().IsRegular() {
			continue
		}
		out = append(out, filepath.Join(dir, name))
	}
	return out, nil
}

// compressedName is 1 for a name of a compressed file, 0 otherwise.
func compressedName(p string) int {
	switch filepath.Ext(p) {
	case ".gz", ".zst", ".bz2":
		return 1
	}
	return 0
}
