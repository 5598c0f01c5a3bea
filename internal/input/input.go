// Package input opens log inputs (files, stdin), undoes their compression and
// splits them into lines.
//
// Compression is detected by magic bytes, never by file name: gzip (also
// multi-member), zstd and bzip2 are decoded, anything else is read as is. Decoding
// runs in its own goroutine, ahead of the consumer, so that decompression and
// parsing use two cores.
package input

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// FingerprintSize is how many leading bytes of a file identify it, together
// with its device and inode.
const FingerprintSize = 4096

// Identity tells one file from another independently of its path: inodes are
// reused after deletion, so the first bytes are part of it.
type Identity struct {
	Device      uint64 `json:"device"`
	Inode       uint64 `json:"inode"`
	Size        int64  `json:"size"`
	Fingerprint string `json:"fingerprint"` // hex SHA-256 of the first FingerprintLen bytes
	// FingerprintLen is min(FingerprintSize, size at the time it was taken).
	FingerprintLen int `json:"fingerprint_len"`
	// Object and ETag identify an object of an object store instead
	// (s3://bucket/key and its ETag, without quotes); Device, Inode and
	// the fingerprint are then unset. An object is immutable: another
	// ETag is another input.
	Object string `json:"object,omitempty"`
	ETag   string `json:"etag,omitempty"`
}

// Key is the ledger key of the identity: device, inode and fingerprint, or
// object and ETag. The size is not part of the key, so a file that grew
// keeps its key.
func (id Identity) Key() string {
	if id.Object != "" {
		return "object:" + id.Object + "#" + id.ETag
	}
	return fmt.Sprintf("%d-%d-%s", id.Device, id.Inode, id.Fingerprint[:16])
}

// Compression is what Open found at the start of an input.
type Compression string

// Compressions recognised by their magic bytes.
const (
	Plain Compression = "plain"
	Gzip  Compression = "gzip"
	Zstd  Compression = "zstd"
	Bzip2 Compression = "bzip2"
)

// Input is one opened log input. Read it through Lines.
type Input struct {
	Name        string      // path as given, or "-" for stdin
	Identity    *Identity   // nil for stdin and pipes
	Compression Compression // detected compression
	Size        int64       // size in bytes on disk; 0 when unknown

	raw     *countingReader
	decoded io.Reader
	closers []func() error
}

// Open opens a file and detects its compression.
func Open(path string) (*Input, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory", path)
	}
	in := &Input{Name: path, Size: st.Size(), closers: []func() error{f.Close}}
	if st.Mode().IsRegular() {
		id, err := identify(f, st)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		in.Identity = id
	}
	if err := in.setup(f); err != nil {
		in.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return in, nil
}

// FromReader wraps a stream (stdin, a pipe) that has no identity.
func FromReader(name string, r io.Reader) (*Input, error) {
	in := &Input{Name: name}
	if err := in.setup(r); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return in, nil
}

// ErrSuperseded says that an input is no longer the one that was listed or
// notified (an object overwritten since): the new version is another input.
var ErrSuperseded = errors.New("the object changed since it was listed or notified (another ETag): the new version is another input")

// FromStream wraps a stream whose identity is known without reading it (an
// object of an object store). size is its size in bytes, 0 when unknown.
// Closing the input closes r.
func FromStream(name string, r io.ReadCloser, id *Identity, size int64) (*Input, error) {
	in := &Input{Name: name, Identity: id, Size: size, closers: []func() error{r.Close}}
	if err := in.setup(r); err != nil {
		in.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return in, nil
}

func identify(f *os.File, st os.FileInfo) (*Identity, error) {
	id := &Identity{Size: st.Size()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		id.Device = uint64(sys.Dev)
		id.Inode = uint64(sys.Ino)
	}
	buf := make([]byte, FingerprintSize)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading fingerprint: %w", err)
	}
	sum := sha256.Sum256(buf[:n])
	id.Fingerprint = hex.EncodeToString(sum[:])
	id.FingerprintLen = n
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return id, nil
}

// FingerprintMatches reports whether the file at path still starts with the
// bytes that id's fingerprint was taken from.
func FingerprintMatches(path string, id Identity) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	buf := make([]byte, id.FingerprintLen)
	if _, err := io.ReadFull(f, buf); err != nil {
		return false, nil
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:]) == id.Fingerprint, nil
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

func (in *Input) setup(r io.Reader) error {
	in.raw = &countingReader{r: r}
	br := bufio.NewReaderSize(in.raw, 256<<10)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gzip header: %w", err)
		}
		in.Compression = Gzip
		in.decoded = zr
	case len(head) == 4 && head[0] == 'B' && head[1] == 'Z' && head[2] == 'h' && head[3] >= '1' && head[3] <= '9':
		// bzip2 (as rotated logs sometimes are; Matomo's importer reads them):
		// the standard library's reader, concatenated streams included.
		in.Compression = Bzip2
		in.decoded = bzip2.NewReader(br)
	case bytes.HasPrefix(head, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return fmt.Errorf("zstd header: %w", err)
		}
		in.Compression = Zstd
		in.decoded = zr
		in.closers = append(in.closers, func() error { zr.Close(); return nil })
	default:
		in.Compression = Plain
		in.decoded = br
	}
	return nil
}

// BytesRead is how many raw (compressed) bytes were consumed so far. It may be
// called from any goroutine; progress bars use it.
func (in *Input) BytesRead() int64 { return in.raw.n.Load() }

// Close releases the input. Lines must not be used after it.
func (in *Input) Close() error {
	var first error
	for i := len(in.closers) - 1; i >= 0; i-- {
		if err := in.closers[i](); err != nil && first == nil {
			first = err
		}
	}
	in.closers = nil
	return first
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
