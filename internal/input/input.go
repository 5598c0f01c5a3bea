// Package input opens log inputs (files, stdin), undoes their compression and
// splits them into lines.
//
// Compression is detected by magic bytes, never by file name: gzip (also
// multi-member), zstd and bzip2 are decoded, anything else is read as is. Decoding
// runs in its own goroutine, ahead of the consumer, so that decompression and
// parsing use two cores.
//
// Gzip: zero bytes after the last complete member (padding, as tape blocks
// or preallocated files leave) end the input cleanly, as gzip and zcat
// accept them. Any other byte after a complete member that does not start
// another member is an error wrapping ErrTrailingGarbage: gzip only warns
// ("decompression OK, trailing garbage ignored", exit status 2), but the
// garbage may be a damaged member whose lines would be lost silently.
//
// Inputs that are not regular files (named pipes, character devices) can
// block in open(2) until a writer comes; OpenContext gives up on them when
// its context ends, and Rewindable tells the inputs that reading consumes.
package input

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

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
	// Content and ContentLen fingerprint the first bytes of a compressed
	// file's decompressed content (as Fingerprint those of a plain file):
	// access.log.2.gz is known as the access.log.1 it was (ContentKey).
	// Empty for a plain file (its Fingerprint is its content's).
	Content    string `json:"content,omitempty"`
	ContentLen int    `json:"content_len,omitempty"`
	// Object and ETag identify an object of an object store instead
	// (s3://bucket/key and its ETag, without quotes); Device, Inode and
	// the fingerprint are then unset. An object is immutable: another
	// ETag is another input.
	Object string `json:"object,omitempty"`
	ETag   string `json:"etag,omitempty"`
}

// Key is the ledger key of the identity: device, inode and fingerprint, or
// object and ETag. The size is not part of the key, so a file that grew
// keeps its key; a file shorter than FingerprintSize, whose fingerprint
// grows with it, is keyed by device and inode alone (ShortKey), its
// fingerprint checked against the entry's (see Keys).
func (id Identity) Key() string {
	if id.Object != "" {
		return "object:" + id.Object + "#" + id.ETag
	}
	if id.FingerprintLen < FingerprintSize {
		return id.ShortKey()
	}
	return fmt.Sprintf("%d-%d-%s", id.Device, id.Inode, id.Fingerprint[:16])
}

// ContentKey is the key under which what was read of a file's content is
// also recorded (see ledger aliases): its first FingerprintSize
// decompressed bytes, so that the file compressed by a rotation is found
// again. "" for what has no content fingerprint (an object).
func (id Identity) ContentKey() string {
	fp, n := id.ContentFingerprint()
	if id.Object != "" || fp == "" || n < FingerprintSize {
		return ""
	}
	return "content:" + fp[:32]
}

// ShortKey is the key of a file while it is shorter than FingerprintSize:
// its device and inode.
func (id Identity) ShortKey() string { return fmt.Sprintf("%d-%d-short", id.Device, id.Inode) }

// Keys are the keys under which an output may have recorded the input,
// Key first: a file at least FingerprintSize long may have been recorded
// under its ShortKey while it was shorter; a short file, before this
// version, under the key of its fingerprint then. An entry found under any
// key but the first must be checked with Input.SamePrefix against the
// fingerprint it recorded (inodes are reused).
func (id Identity) Keys() []string {
	if id.Object != "" {
		return []string{id.Key()}
	}
	full := fmt.Sprintf("%d-%d-%s", id.Device, id.Inode, id.Fingerprint[:16])
	keys := []string{full, id.ShortKey()}
	if id.FingerprintLen < FingerprintSize {
		keys = []string{id.ShortKey(), full}
	}
	if k := id.ContentKey(); k != "" {
		// Last: the same content in another file (compressed by a
		// rotation, or copytruncate's copy), as recorded by its alias.
		keys = append(keys, k)
	}
	return keys
}

// ContentFingerprint is the fingerprint of the file's (decompressed)
// content: Content for a compressed file, Fingerprint for a plain one.
func (id Identity) ContentFingerprint() (string, int) {
	if id.Content != "" {
		return id.Content, id.ContentLen
	}
	return id.Fingerprint, id.FingerprintLen
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
	// Live: a plain regular file written to less than Settle before it
	// was opened. Its last line, when it has no newline yet, may be being
	// written: a reader keeps it back (Lines.HoldUnterminated), so that a
	// later run reads it whole instead of cut in two.
	Live bool
	// Modified is the file's modification time when it was opened (zero
	// for what is not a regular file).
	Modified time.Time

	raw     *countingReader
	decoded io.Reader
	file    *os.File       // a regular file, for SamePrefix
	closers []func() error // the source (file, body): closing it unblocks a Read
	release []func()       // the decoders: after the read-ahead goroutine is done
	ra      *readahead     // started by Lines, or nil
	jump    *Mark          // set by Jump
	records *recordsReader // a stream's records (FromRecords), or nil
}

// Open opens a file and detects its compression. A named pipe without a
// writer makes it wait, uninterruptibly: OpenContext does not.
func Open(path string) (*Input, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return fromFile(path, f)
}

// OpenContext is Open that gives up when ctx ends, returning ctx.Err().
//
// A regular file (or a directory, an error) is opened as Open does. Any
// other file (a named pipe, a character device, a socket) can block in
// open(2) until a writer comes, then in the first read until it writes: both
// happen in a goroutine, and when ctx ends first OpenContext returns at once.
// The file is then closed as soon as it is open (which ends a first read
// blocked on a named pipe), but the goroutine itself stays blocked in
// open(2) until a writer opens the pipe or the process exits: the operating
// system gives no way to interrupt it. No descriptor is leaked: a late open
// is closed.
func OpenContext(ctx context.Context, path string) (*Input, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().IsRegular() || st.IsDir() {
		return Open(path)
	}
	type result struct {
		in  *Input
		err error
	}
	var (
		mu        sync.Mutex
		file      *os.File // open, still being set up
		abandoned bool     // ctx ended first: whoever comes last closes
	)
	ch := make(chan result) // unbuffered: a send succeeds only if the caller takes it
	go func() {
		f, err := os.Open(path)
		if err != nil {
			select {
			case ch <- result{err: err}:
			case <-ctx.Done():
			}
			return
		}
		mu.Lock()
		if abandoned {
			mu.Unlock()
			f.Close()
			return
		}
		file = f
		mu.Unlock()
		in, err := fromFile(path, f)
		select {
		case ch <- result{in, err}:
		case <-ctx.Done():
			if in != nil {
				in.Close()
			}
		}
	}()
	select {
	case r := <-ch:
		return r.in, r.err
	case <-ctx.Done():
		mu.Lock()
		abandoned = true
		if file != nil {
			file.Close() // ends a first read blocked on a pipe (it is in the poller)
		}
		mu.Unlock()
		return nil, ctx.Err()
	}
}

// Rewindable reports whether the input named path can be opened and read
// again after a first look: false for "-" (stdin), named pipes, character
// devices and sockets, whose data reading consumes. A path that cannot be
// examined (missing, or no local path at all, such as an object's URL) is
// reported rewindable: opening it again costs nothing but the same error,
// or is the business of whoever opens such names.
func Rewindable(path string) bool {
	if path == "-" {
		return false
	}
	st, err := os.Stat(path)
	if err != nil {
		return true
	}
	return st.Mode()&(fs.ModeNamedPipe|fs.ModeCharDevice|fs.ModeSocket|fs.ModeIrregular) == 0
}

// fromFile sets up an opened file; it closes f on error.
func fromFile(path string, f *os.File) (*Input, error) {
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
		in.file = f
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
	if in.Identity != nil && in.Compression != Plain {
		in.Identity.Content, in.Identity.ContentLen = contentFingerprint(path)
	}
	// A modification time in the future (clock skew, a restored copy) is
	// believed for a minute at most: past that, the file is not live.
	if st.Mode().IsRegular() {
		in.Modified = st.ModTime()
	}
	age := time.Since(st.ModTime())
	in.Live = st.Mode().IsRegular() && in.Compression == Plain && age < Settle && age > -time.Minute
	return in, nil
}

// SamePrefix reports whether the first n bytes of the input's file hash
// to fingerprint (an Identity's Fingerprint of FingerprintLen n): the file
// is the one that had that fingerprint, grown since, not another file
// that reuses its inode. An input that is not a regular file has no
// prefix to compare: false.
func (in *Input) SamePrefix(fingerprint string, n int) bool {
	return in.file != nil && prefixMatches(in.file, fingerprint, n)
}

// Fingerprint returns the fingerprint of the input's file now (its first
// min(FingerprintSize, size) bytes): for a file that was shorter than
// FingerprintSize when it was opened and grew as it was read. n is 0 for
// an input that is not a regular file, or when the file cannot be read.
func (in *Input) Fingerprint() (fingerprint string, n int) {
	if in.file == nil {
		return "", 0
	}
	buf := make([]byte, FingerprintSize)
	n, err := in.file.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", 0
	}
	sum := sha256.Sum256(buf[:n])
	return hex.EncodeToString(sum[:]), n
}

// Settle is how long a plain file must be left unchanged before an
// unterminated last line of it is read as a line (see Input.Live): a
// writer that stopped in the middle of a line for longer has finished.
const Settle = 2 * time.Second

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

// DeviceInode returns the device and inode of a file's FileInfo.
func DeviceInode(st os.FileInfo) (device, inode uint64, ok bool) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(sys.Dev), uint64(sys.Ino), true
	}
	return 0, 0, false
}

func identify(f *os.File, st os.FileInfo) (*Identity, error) {
	id := &Identity{Size: st.Size()}
	id.Device, id.Inode, _ = DeviceInode(st)
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

// contentFingerprint returns the fingerprint of the first FingerprintSize
// decompressed bytes of a compressed file (its own open and decoder, set
// up as an input's, so that the input's stream is not touched); "" when
// it cannot be read.
func contentFingerprint(path string) (string, int) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0
	}
	head := &Input{Name: path, closers: []func() error{f.Close}}
	defer head.Close()
	if err := head.setup(f); err != nil {
		return "", 0
	}
	buf := make([]byte, FingerprintSize)
	n, err := io.ReadFull(head.decoded, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", 0
	}
	sum := sha256.Sum256(buf[:n])
	return hex.EncodeToString(sum[:]), n
}

// ContentMatches reports whether the (decompressed) content of the file at
// path starts with the n bytes that hash to fingerprint: a rotated file
// compressed since still holds what it held.
func ContentMatches(path, fingerprint string, n int) bool {
	if n < 0 || n > FingerprintSize {
		return false
	}
	in, err := Open(path)
	if err != nil {
		return false
	}
	defer in.Close()
	buf := make([]byte, n)
	if _, err := io.ReadFull(in.decoded, buf); err != nil && n > 0 {
		return false
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:]) == fingerprint
}

// FingerprintMatches reports whether the file at path still starts with the
// bytes that id's fingerprint was taken from.
func FingerprintMatches(path string, id Identity) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	return prefixMatches(f, id.Fingerprint, id.FingerprintLen), nil
}

// prefixMatches reports whether the first n bytes of f hash to fingerprint.
func prefixMatches(f io.ReaderAt, fingerprint string, n int) bool {
	if n < 0 || n > FingerprintSize {
		return false
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		return false
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:]) == fingerprint
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// ErrTrailingGarbage is wrapped by the error of a gzip input that goes on,
// after a complete member, with bytes that are neither another member nor
// zero padding. The lines before it were all returned.
var ErrTrailingGarbage = errors.New("trailing garbage after the gzip data")

// garbageNote ends the message of ErrTrailingGarbage.
const garbageNote = `(gzip only warns "decompression OK, trailing garbage ignored"); the lines before it were read`

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
		zr.Multistream(false)
		in.Compression = Gzip
		in.decoded = &gzipMembers{zr: zr, br: br, raw: in.raw}
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
		in.release = append(in.release, zr.Close)
	case bytes.Equal(head, parquetMagic):
		pl, err := parquetLines(br)
		if err != nil {
			return err
		}
		in.Compression = Parquet
		in.decoded = pl
		in.release = append(in.release, func() { pl.Close() }) // ends its writer
	default:
		in.Compression = Plain
		in.decoded = br
	}
	return nil
}

// BytesRead is how many raw (compressed) bytes were consumed so far. It may be
// called from any goroutine; progress bars use it.
func (in *Input) BytesRead() int64 { return in.raw.n.Load() }

// Close releases the input. It may be called while the read-ahead goroutine
// of Lines is blocked reading (a pipe whose writer is silent): it stops that
// goroutine and closes the source, which ends the read for files (pipes
// included) and object bodies, and does not wait for it; a Lines.Next
// blocked in another goroutine then returns ErrClosed. The decoders are
// released once the read-ahead goroutine is done. Lines must not be used
// after it; Close is not safe for concurrent use with PeekLines.
func (in *Input) Close() error {
	if in.ra != nil {
		in.ra.close()
	}
	var first error
	for i := len(in.closers) - 1; i >= 0; i-- {
		if err := in.closers[i](); err != nil && first == nil {
			first = err
		}
	}
	in.closers = nil
	if rel := in.release; len(rel) > 0 {
		in.release = nil
		done := func() {
			for i := len(rel) - 1; i >= 0; i-- {
				rel[i]()
			}
		}
		if in.ra != nil {
			in.ra.afterExit(done)
		} else {
			done()
		}
	}
	return first
}

// gzipMembers reads gzip members one after the other, and ends at zero
// padding after a complete member (see the package documentation).
type gzipMembers struct {
	zr  *gzip.Reader
	br  *bufio.Reader // zr reads it directly, so it is positioned after a member
	raw *countingReader
	err error // sticky: io.EOF after the last member, or the damage
}

func (g *gzipMembers) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, g.err
	}
	for {
		if g.err != nil {
			return 0, g.err
		}
		n, err := g.zr.Read(p)
		if err == io.EOF {
			// A complete member, its checksum verified: what follows?
			err = g.next()
		}
		if err != nil {
			g.err = err // returned by the next call when n > 0
		}
		if n > 0 {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// next starts the member that follows, or reads to the end of zero padding
// (io.EOF), or says what else is there.
func (g *gzipMembers) next() error {
	head, err := g.br.Peek(2)
	switch {
	case len(head) == 0 && err == io.EOF:
		return io.EOF
	case bytes.Equal(head, gzipMagic):
		off := g.offset()
		if err := g.zr.Reset(g.br); err != nil {
			return fmt.Errorf("gzip member header at byte %d: %w", off, noEOF(err))
		}
		g.zr.Multistream(false)
		return nil
	case len(head) > 0 && head[0] == 0:
		for {
			if _, err := g.br.Peek(1); err != nil {
				if err == io.EOF {
					return io.EOF
				}
				return err
			}
			buf, _ := g.br.Peek(g.br.Buffered())
			i := 0
			for i < len(buf) && buf[i] == 0 {
				i++
			}
			g.br.Discard(i)
			if i < len(buf) {
				return fmt.Errorf("%w at byte %d, after zero padding %s", ErrTrailingGarbage, g.offset(), garbageNote)
			}
		}
	case err != nil && err != io.EOF:
		return err
	default:
		return fmt.Errorf("%w at byte %d %s", ErrTrailingGarbage, g.offset(), garbageNote)
	}
}

// offset is the position in the raw input of the next byte br returns.
func (g *gzipMembers) offset() int64 { return g.raw.n.Load() - int64(g.br.Buffered()) }

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
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
