package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
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

// store is where a state keeps its files, named by slash-separated paths
// ("report-state.json", "days/2026-11-01.3.summary.zst"): a directory or
// an S3 prefix. One process at a time holds it (lock).
type store interface {
	// read returns a file's content; an error wrapping fs.ErrNotExist
	// when there is none.
	read(name string) ([]byte, error)
	// write replaces a file whole or not at all.
	write(name string, data []byte) error
	// writeManifest is write for the manifest: on S3 only if nobody
	// replaced it since this store read or wrote it.
	writeManifest(name string, data []byte) error
	remove(name string) error
	// list returns the names of the files under dir (recursively).
	list(dir string) ([]string, error)
	close() error
	String() string
}

// dirStore is a state directory, held with a lock file.
type dirStore struct {
	dir  string
	lock *os.File
}

func openDirStore(ctx context.Context, dir string) (*dirStore, error) {
	if err := os.MkdirAll(filepath.Join(dir, "days"), 0o700); err != nil {
		return nil, fmt.Errorf("report state: %w", err)
	}
	var lock *os.File
	var err error
	if ctx == nil {
		lock, err = ledger.LockDir(dir)
	} else {
		lock, err = ledger.LockDirWait(ctx, dir)
	}
	if err != nil {
		return nil, err
	}
	// Holding the lock: temporary files are those of a run killed while
	// writing (days/ is swept by the state).
	if _, err := atomicfile.RemoveTemps(dir); err != nil {
		lock.Close()
		return nil, fmt.Errorf("report state %s: %w", dir, err)
	}
	return &dirStore{dir: dir, lock: lock}, nil
}

func (d *dirStore) path(name string) string { return filepath.Join(d.dir, filepath.FromSlash(name)) }

func (d *dirStore) read(name string) ([]byte, error) {
	data, err := os.ReadFile(d.path(name))
	if err != nil {
		return nil, fmt.Errorf("report state: %w", err)
	}
	return data, nil
}

func (d *dirStore) write(name string, data []byte) error {
	p := d.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("report state: %w", err)
	}
	if err := atomicfile.WriteFile(p, data, 0o600); err != nil {
		return fmt.Errorf("report state: %w", err)
	}
	return nil
}

func (d *dirStore) writeManifest(name string, data []byte) error { return d.write(name, data) }

func (d *dirStore) remove(name string) error { return os.Remove(d.path(name)) }

func (d *dirStore) list(dir string) ([]string, error) {
	var out []string
	root := d.path(dir)
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !e.IsDir() {
			rel, _ := filepath.Rel(d.dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out, err
}

func (d *dirStore) close() error { return d.lock.Close() }

func (d *dirStore) String() string { return d.dir }

// s3Store is a state under an S3 prefix. It is held with a claim of the
// ledger's kind (PREFIX/claims/…, a conditional create with a lifetime,
// renewed while held, taken over once expired), so that Lambda
// invocations take turns; the manifest is replaced only if it is still
// the one this store read (If-Match), which a store that lost its claim
// would fail.
type s3Store struct {
	ctx            context.Context
	client         *s3.Client
	bucket, prefix string
	claims         *ledger.S3
	etag           string // of the manifest read or written, "" for none
}

// stateClaim is the key the state's claim is taken under.
const stateClaim = "report-state"

func openS3Store(ctx context.Context, client *s3.Client, bucket, prefix string, wait context.Context, log *slog.Logger) (*s3Store, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	st := &s3Store{ctx: ctx, client: client, bucket: bucket, prefix: prefix, claims: ledger.NewS3(client, bucket, prefix, 0, log)}
	for {
		err := st.claims.Claim(ctx, stateClaim)
		if err == nil {
			return st, nil
		}
		var held *ledger.ClaimedError
		if !errors.As(err, &held) {
			st.claims.Close()
			return nil, fmt.Errorf("report state %s: %w", st, err)
		}
		if wait == nil {
			st.claims.Close()
			return nil, fmt.Errorf("report state %s is being updated by another process (%s) until %s at the latest", st, held.Owner, held.Until.Format(time.RFC3339))
		}
		select {
		case <-wait.Done():
			st.claims.Close()
			return nil, fmt.Errorf("report state %s: waited for another process to finish with it: %w", st, wait.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (s *s3Store) key(name string) string { return s.prefix + name }

func (s *s3Store) read(name string) ([]byte, error) {
	out, err := s.client.GetObject(s.ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(name))})
	if err != nil {
		if s3src.IsNotFound(err) {
			return nil, fmt.Errorf("report state %s: %s: %w", s, name, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("report state %s: reading %s: %w", s, name, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("report state %s: reading %s: %w", s, name, err)
	}
	if name == manifestName {
		s.etag = aws.ToString(out.ETag)
	}
	return data, nil
}

func (s *s3Store) put(name string, data []byte, in *s3.PutObjectInput) (*s3.PutObjectOutput, error) {
	in.Bucket, in.Key, in.Body = &s.bucket, aws.String(s.key(name)), bytes.NewReader(data)
	return s.client.PutObject(s.ctx, in)
}

func (s *s3Store) write(name string, data []byte) error {
	if _, err := s.put(name, data, &s3.PutObjectInput{}); err != nil {
		return fmt.Errorf("report state %s: writing %s: %w", s, name, err)
	}
	return nil
}

func (s *s3Store) writeManifest(name string, data []byte) error {
	in := &s3.PutObjectInput{ContentType: aws.String("application/json")}
	if s.etag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(s.etag)
	}
	out, err := s.put(name, data, in)
	if s3src.IsPreconditionFailed(err) || s3src.IsConflict(err) {
		return fmt.Errorf("report state %s: another process changed it while this one held it (its claim expired?): nothing of this run was recorded", s)
	}
	if err != nil {
		return fmt.Errorf("report state %s: writing %s: %w", s, name, err)
	}
	s.etag = aws.ToString(out.ETag)
	return nil
}

func (s *s3Store) remove(name string) error {
	_, err := s.client.DeleteObject(s.ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(name))})
	return err
}

func (s *s3Store) list(dir string) ([]string, error) {
	var out []string
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.key(dir) + "/")})
	for p.HasMorePages() {
		page, err := p.NextPage(s.ctx)
		if err != nil {
			return nil, fmt.Errorf("report state %s: listing %s: %w", s, dir, err)
		}
		for _, o := range page.Contents {
			out = append(out, strings.TrimPrefix(aws.ToString(o.Key), s.prefix))
		}
	}
	return out, nil
}

func (s *s3Store) close() error { return s.claims.Close() }

func (s *s3Store) String() string { return "s3://" + path.Join(s.bucket, s.prefix) + "/" }
