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
	Name string // relative to the lake's root
	Size int64
}

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
		out = append(out, FileInfo{Name: path.Join(dir, e.Name()), Size: info.Size()})
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
	out, err := l.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &l.bucket, Key: &k})
	if err != nil {
		if s3src.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("lake: reading s3://%s/%s: %w", l.bucket, k, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("lake: reading s3://%s/%s: %w", l.bucket, k, err)
	}
	return decodeEntry(data, "s3://"+l.bucket+"/"+k)
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
				out = append(out, FileInfo{Name: strings.TrimPrefix(k, l.prefix), Size: aws.ToInt64(o.Size)})
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

// tempFile is a temporary file removed when closed.
type tempFile struct{ *os.File }

func (t tempFile) Close() error {
	t.File.Close()
	return os.Remove(t.Name())
}
