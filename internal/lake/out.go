package lake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trackless/trackless/internal/atomicfile"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/s3src"
)

// StateDir is the folder, at the lake's root, where the lake records what
// it has of each input. Readers skip it: its files are JSON, and Athena
// (with partition projection) and Hive-style globs read only dt=…/hour=…/.
const StateDir = "_trackless"

// An Out is where a lake is written: a local directory (Dir) or an S3
// prefix (S3). Names are relative to the lake's root, with slashes.
type Out interface {
	// Create starts a data file of the lake under name. Its content is
	// not visible under name before Publish.
	Create(name string) (File, error)
	// Remove deletes the data file name; a missing one is no error.
	Remove(ctx context.Context, name string) error
	// Get returns the entry of an input's key, or nil when there is none.
	Get(ctx context.Context, key string) (*Entry, error)
	// Put replaces the entry of key durably.
	Put(ctx context.Context, key string, e *Entry) error
	// List returns the data files under dir (a partition: "dt=…/hour=…"),
	// with their sizes.
	List(ctx context.Context, dir string) ([]FileInfo, error)
	// Open reads a data file.
	Open(ctx context.Context, name string) (io.ReadSeekCloser, int64, error)
	// Entries returns the entries whose names start with prefix (an
	// input's file id: part-<id>-… files are its).
	Entries(ctx context.Context, prefix string) ([]*Entry, error)
	// GetMeta reads a file of StateDir (name relative to it); nil when
	// there is none.
	GetMeta(ctx context.Context, name string) ([]byte, error)
	// CreateMeta writes a file of StateDir that must not exist yet: it
	// returns ErrExists when it does (another process made it).
	CreateMeta(ctx context.Context, name string, data []byte) error
	// RemoveMeta removes a file of StateDir.
	RemoveMeta(ctx context.Context, name string) error
	// Close releases the output (a directory's lock).
	Close() error
	// String says where the lake is, for messages: a path or s3://bucket/prefix/.
	String() string
}

// A File is a data file being written.
type File interface {
	io.Writer
	// Publish makes the file visible under its name, whole, replacing
	// one of that name.
	Publish(ctx context.Context) error
	// Abort gives the file up.
	Abort() error
}

// FileInfo is a data file of a partition.
type FileInfo struct {
	Name     string // relative to the lake's root
	Size     int64
	Modified time.Time
}

// ErrExists says that a file CreateMeta was to create exists already.
var ErrExists = errors.New("exists already")

// entryName is the name of key's entry, under StateDir/inputs.
func entryName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:12]) + ".json"
}

func decodeEntry(data []byte, where string) (*Entry, error) {
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("lake entry %s is corrupt (%v): fix or remove it; removing it writes that input again (its files, under the same names)", where, err)
	}
	if e.Version != EntryVersion {
		return nil, fmt.Errorf("lake entry %s has format version %d, this trackless reads %d", where, e.Version, EntryVersion)
	}
	return &e, nil
}

func encodeEntry(e *Entry) ([]byte, error) {
	e.Version = EntryVersion
	data, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Dir is a lake in a local directory. One process at a time may write it
// (a lock file in StateDir).
type Dir struct {
	root string
	lock *os.File
}

// OpenDir opens (creating it if needed) the lake in directory root and
// takes its lock, or fails at once when another process holds it.
func OpenDir(root string) (*Dir, error) {
	if err := os.MkdirAll(filepath.Join(root, StateDir, "inputs"), 0o755); err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	lock, err := ledger.LockDir(filepath.Join(root, StateDir))
	if err != nil {
		if errors.Is(err, ledger.ErrInUse) {
			return nil, fmt.Errorf("lake %s %w", root, ledger.ErrInUse)
		}
		return nil, fmt.Errorf("lake: %w", err)
	}
	if _, err := atomicfile.RemoveTemps(filepath.Join(root, StateDir, "inputs")); err != nil {
		lock.Close()
		return nil, fmt.Errorf("lake: %w", err)
	}
	return &Dir{root: root, lock: lock}, nil
}

// OpenDirCompactor opens the lake in directory root, which must exist,
// for Compact: not under the writers' lock (a writer, lake --follow, may
// run meanwhile: Compact leaves what a writer may write again) but under
// the compactors' (_trackless/compactions/lock): one merges at a time.
func OpenDirCompactor(root string) (*Dir, error) {
	if st, err := os.Stat(filepath.Join(root, StateDir)); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("no lake at %s (no %s/ there): check the path", root, StateDir)
	}
	dir := filepath.Join(root, StateDir, "compactions")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	lock, err := ledger.LockDir(dir)
	if err != nil {
		if errors.Is(err, ledger.ErrInUse) {
			return nil, fmt.Errorf("lake %s is being compacted by another trackless process", root)
		}
		return nil, fmt.Errorf("lake: %w", err)
	}
	return &Dir{root: root, lock: lock}, nil
}

func (d *Dir) String() string { return d.root }

func (d *Dir) Close() error { return d.lock.Close() }

func (d *Dir) path(name string) string { return filepath.Join(d.root, filepath.FromSlash(name)) }

// Create writes the file to a temporary file beside name (atomicfile).
func (d *Dir) Create(name string) (File, error) {
	p := d.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	f, err := atomicfile.Create(p, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	return dirFile{f}, nil
}

type dirFile struct{ *atomicfile.File }

func (f dirFile) Publish(context.Context) error { return f.Commit() }

func (d *Dir) Remove(_ context.Context, name string) error {
	if err := os.Remove(d.path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("lake: %w", err)
	}
	return nil
}

func (d *Dir) entryPath(key string) string {
	return filepath.Join(d.root, StateDir, "inputs", entryName(key))
}

func (d *Dir) Get(_ context.Context, key string) (*Entry, error) {
	p := d.entryPath(key)
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	return decodeEntry(data, p)
}

func (d *Dir) Put(_ context.Context, key string, e *Entry) error {
	data, err := encodeEntry(e)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(d.entryPath(key), data, 0o644); err != nil {
		return fmt.Errorf("lake: recording %s: %w", e.Name, err)
	}
	return nil
}

func (d *Dir) List(_ context.Context, dir string) ([]FileInfo, error) {
	ents, err := os.ReadDir(d.path(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	var out []FileInfo
	for _, e := range ents {
		if !e.Type().IsRegular() || !isDataFile(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, FileInfo{Name: path.Join(dir, e.Name()), Size: info.Size(), Modified: info.ModTime()})
	}
	return out, nil
}

func (d *Dir) Open(_ context.Context, name string) (io.ReadSeekCloser, int64, error) {
	f, err := os.Open(d.path(name))
	if err != nil {
		return nil, 0, fmt.Errorf("lake: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("lake: %w", err)
	}
	return f, st.Size(), nil
}

func (d *Dir) Entries(_ context.Context, prefix string) ([]*Entry, error) {
	paths, err := filepath.Glob(filepath.Join(d.root, StateDir, "inputs", prefix+"*.json"))
	if err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	var out []*Entry
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("lake: %w", err)
		}
		e, err := decodeEntry(data, p)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (d *Dir) metaPath(name string) string {
	return filepath.Join(d.root, StateDir, filepath.FromSlash(name))
}

func (d *Dir) GetMeta(_ context.Context, name string) ([]byte, error) {
	data, err := os.ReadFile(d.metaPath(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	return data, nil
}

// CreateMeta: one process at a time writes a Dir (its lock), so a check
// before the write is enough.
func (d *Dir) CreateMeta(_ context.Context, name string, data []byte) error {
	p := d.metaPath(name)
	if _, err := os.Stat(p); err == nil {
		return ErrExists
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("lake: %w", err)
	}
	if err := atomicfile.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("lake: %w", err)
	}
	return nil
}

func (d *Dir) RemoveMeta(_ context.Context, name string) error {
	if err := os.Remove(d.metaPath(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("lake: %w", err)
	}
	return nil
}

// isDataFile reports whether a file name is one of the lake's data files
// (not a temporary file, not a reader's or a person's).
func isDataFile(name string) bool {
	return strings.HasSuffix(name, ".parquet") && !strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "_")
}

// S3API is what a lake on S3 needs of a client.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// S3 is a lake under an S3 prefix. Data files are written to local
// temporary files (in TempDir) and put whole, in one PUT each, when
// published; an object of the same name is replaced (a file rewritten
// after a crash has the same rows under the same name).
type S3 struct {
	client         S3API
	bucket, prefix string
	// TempDir holds the files being written ("": os.TempDir()).
	TempDir string
}

// NewS3 returns the lake under s3://bucket/prefix (prefix "" or ending in "/").
func NewS3(client S3API, bucket, prefix string) *S3 {
	return &S3{client: client, bucket: bucket, prefix: prefix}
}

func (l *S3) String() string { return "s3://" + l.bucket + "/" + l.prefix }

// HasState reports whether the lake has what a writer records
// (StateDir): whether a lake is there at all.
func (l *S3) HasState(ctx context.Context) (bool, error) {
	p := l.prefix + StateDir + "/"
	out, err := l.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &l.bucket, Prefix: &p, MaxKeys: aws.Int32(1)})
	if err != nil {
		return false, fmt.Errorf("the lake %s cannot be listed: %w", l, err)
	}
	return len(out.Contents) > 0, nil
}

// Probe lists the lake's prefix once: a bucket that does not exist, or
// that the credentials may not list, is found before anything is read.
func (l *S3) Probe(ctx context.Context) error {
	_, err := l.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &l.bucket, Prefix: &l.prefix, MaxKeys: aws.Int32(1)})
	if err != nil {
		return fmt.Errorf("the lake %s cannot be listed (does the bucket exist, may these credentials list it?): %w", l, err)
	}
	return nil
}

func (l *S3) Close() error { return nil }

func (l *S3) Create(name string) (File, error) {
	f, err := os.CreateTemp(l.TempDir, ".trackless-lake-*.parquet")
	if err != nil {
		return nil, fmt.Errorf("lake: a temporary file: %w", err)
	}
	return &s3File{l: l, key: l.prefix + name, f: f}, nil
}

type s3File struct {
	l   *S3
	key string
	f   *os.File
}

func (f *s3File) Write(p []byte) (int, error) { return f.f.Write(p) }

func (f *s3File) Publish(ctx context.Context) error {
	defer f.Abort()
	size, err := f.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := f.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = f.l.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &f.l.bucket, Key: &f.key, Body: io.NewSectionReader(f.f, 0, size),
		ContentLength: aws.Int64(size), ContentType: aws.String("application/vnd.apache.parquet"),
	})
	if err != nil {
		return fmt.Errorf("lake: writing s3://%s/%s: %w", f.l.bucket, f.key, err)
	}
	return nil
}

func (f *s3File) Abort() error {
	f.f.Close()
	return os.Remove(f.f.Name())
}

func (l *S3) Remove(ctx context.Context, name string) error {
	key := l.prefix + name
	if _, err := l.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &l.bucket, Key: &key}); err != nil && !s3src.IsNotFound(err) {
		return fmt.Errorf("lake: removing s3://%s/%s: %w", l.bucket, key, err)
	}
	return nil
}

func (l *S3) entryKey(key string) string { return l.prefix + StateDir + "/inputs/" + entryName(key) }

func (l *S3) Get(ctx context.Context, key string) (*Entry, error) {
	k := l.entryKey(key)
	data, err := l.read(ctx, k)
	if data == nil || err != nil {
		return nil, err
	}
	return decodeEntry(data, "s3://"+l.bucket+"/"+k)
}

// read reads the object of key whole; nil when there is none.
func (l *S3) read(ctx context.Context, key string) ([]byte, error) {
	out, err := l.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &l.bucket, Key: &key})
	if err != nil {
		if s3src.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("lake: reading s3://%s/%s: %w", l.bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("lake: reading s3://%s/%s: %w", l.bucket, key, err)
	}
	return data, nil
}

func (l *S3) Put(ctx context.Context, key string, e *Entry) error {
	data, err := encodeEntry(e)
	if err != nil {
		return err
	}
	k := l.entryKey(key)
	_, err = l.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &l.bucket, Key: &k, Body: bytes.NewReader(data), ContentType: aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("lake: recording %s in s3://%s/%s: %w", e.Name, l.bucket, k, err)
	}
	return nil
}

func (l *S3) List(ctx context.Context, dir string) ([]FileInfo, error) {
	prefix := l.prefix + strings.TrimSuffix(dir, "/") + "/"
	var out []FileInfo
	p := s3.NewListObjectsV2Paginator(l.client, &s3.ListObjectsV2Input{Bucket: &l.bucket, Prefix: &prefix, Delimiter: aws.String("/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("lake: listing s3://%s/%s: %w", l.bucket, prefix, err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if isDataFile(path.Base(k)) {
				out = append(out, FileInfo{Name: strings.TrimPrefix(k, l.prefix), Size: aws.ToInt64(o.Size), Modified: aws.ToTime(o.LastModified)})
			}
		}
	}
	return out, nil
}

func (l *S3) Open(ctx context.Context, name string) (io.ReadSeekCloser, int64, error) {
	key := l.prefix + name
	out, err := l.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &l.bucket, Key: &key})
	if err != nil {
		return nil, 0, fmt.Errorf("lake: reading s3://%s/%s: %w", l.bucket, key, err)
	}
	defer out.Body.Close()
	f, err := os.CreateTemp(l.TempDir, ".trackless-lake-*.parquet")
	if err != nil {
		return nil, 0, fmt.Errorf("lake: a temporary file: %w", err)
	}
	n, err := io.Copy(f, out.Body)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, fmt.Errorf("lake: reading s3://%s/%s: %w", l.bucket, key, err)
	}
	return tempFile{f}, n, nil
}

func (l *S3) Entries(ctx context.Context, prefix string) ([]*Entry, error) {
	keyPrefix := l.prefix + StateDir + "/inputs/" + prefix
	var out []*Entry
	p := s3.NewListObjectsV2Paginator(l.client, &s3.ListObjectsV2Input{Bucket: &l.bucket, Prefix: &keyPrefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("lake: listing s3://%s/%s: %w", l.bucket, keyPrefix, err)
		}
		for _, o := range page.Contents {
			data, err := l.GetMeta(ctx, strings.TrimPrefix(aws.ToString(o.Key), l.prefix+StateDir+"/"))
			if err != nil {
				return nil, err
			}
			if data == nil {
				continue // removed meanwhile
			}
			e, err := decodeEntry(data, "s3://"+l.bucket+"/"+aws.ToString(o.Key))
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
	}
	return out, nil
}

func (l *S3) metaKey(name string) string { return l.prefix + StateDir + "/" + name }

func (l *S3) GetMeta(ctx context.Context, name string) ([]byte, error) {
	return l.read(ctx, l.metaKey(name))
}

// CreateMeta is a conditional write (If-None-Match: *): of two processes,
// one creates the file, the other gets ErrExists.
func (l *S3) CreateMeta(ctx context.Context, name string, data []byte) error {
	k := l.metaKey(name)
	_, err := l.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &l.bucket, Key: &k, Body: bytes.NewReader(data), IfNoneMatch: aws.String("*"),
		ContentType: aws.String("application/json"),
	})
	switch {
	case err == nil:
		return nil
	case s3src.IsPreconditionFailed(err) || s3src.IsConflict(err):
		return ErrExists
	}
	return fmt.Errorf("lake: writing s3://%s/%s: %w", l.bucket, k, err)
}

func (l *S3) RemoveMeta(ctx context.Context, name string) error {
	k := l.metaKey(name)
	if _, err := l.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &l.bucket, Key: &k}); err != nil && !s3src.IsNotFound(err) {
		return fmt.Errorf("lake: removing s3://%s/%s: %w", l.bucket, k, err)
	}
	return nil
}

// tempFile is a temporary file removed when closed.
type tempFile struct{ *os.File }

func (t tempFile) Close() error {
	t.File.Close()
	return os.Remove(t.Name())
}
