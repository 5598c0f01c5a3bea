package input

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// hangBound is how long a call that must not hang may take: generous, the
// tests only tell "returns" from "hangs".
const hangBound = 10 * time.Second

func mkfifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return p
}

// writer opens the FIFO for writing once a reader opens it.
func writer(t *testing.T, p string) <-chan *os.File {
	ch := make(chan *os.File, 1)
	go func() {
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			close(ch)
			return
		}
		t.Cleanup(func() { w.Close() })
		ch <- w
	}()
	return ch
}

// waitNoReader writes to w until the pipe has no reader left (EPIPE): it
// proves that the reading descriptor was closed, not leaked.
func waitNoReader(t *testing.T, w *os.File) {
	t.Helper()
	deadline := time.Now().Add(hangBound)
	for {
		_, err := w.Write([]byte("x"))
		if errors.Is(err, syscall.EPIPE) {
			return
		}
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the FIFO still has a reader: its descriptor was not closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFDs waits until this process has want descriptors open on path
// (Linux: /proc/self/fd), without touching the pipe's data.
func waitFDs(t *testing.T, path string, want int) {
	t.Helper()
	count := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skipf("cannot count descriptors: %v", err)
		}
		n := 0
		for _, e := range ents {
			if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && target == path {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(hangBound)
	for {
		n := count()
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d descriptors open on %s, want %d", n, path, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(hangBound):
		t.Fatalf("%s hangs", what)
	}
}

// A FIFO without a writer blocks open(2); OpenContext returns when its
// context ends, and the late open is closed.
func TestOpenContextFIFOWithoutWriter(t *testing.T) {
	p := mkfifo(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	within(t, "OpenContext", func() {
		in, err := OpenContext(ctx, p)
		if !errors.Is(err, context.Canceled) || in != nil {
			t.Errorf("OpenContext = %v, %v; want context.Canceled", in, err)
		}
	})
	// A writer comes late: the abandoned open completes and must be closed.
	// (Opening for writing without blocking fails with ENXIO until a reader
	// is in open(2): the goroutine may not be there yet on a busy machine.)
	deadline := time.Now().Add(hangBound)
	for {
		w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			defer w.Close()
			waitNoReader(t, w)
			return
		}
		if !errors.Is(err, syscall.ENXIO) || time.Now().After(deadline) {
			t.Fatalf("no reader blocked in open: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A writer that opens and writes nothing blocks the first read (the
// compression sniffing); OpenContext gives up on it too.
func TestOpenContextFIFOSilentWriter(t *testing.T) {
	p := mkfifo(t)
	wch := writer(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	opened := make(chan *os.File, 1)
	go func() {
		w := <-wch // the writer is in: OpenContext is past open(2)
		opened <- w
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	within(t, "OpenContext", func() {
		in, err := OpenContext(ctx, p)
		if !errors.Is(err, context.Canceled) || in != nil {
			t.Errorf("OpenContext = %v, %v; want context.Canceled", in, err)
		}
	})
	w := <-opened
	if w == nil {
		t.FailNow()
	}
	// The reading descriptor is closed although the writer wrote nothing.
	waitFDs(t, p, 1)
	waitNoReader(t, w)
}

// Data through a FIFO: compression detected, every line read.
func TestOpenContextFIFOData(t *testing.T) {
	p := mkfifo(t)
	wch := writer(t, p)
	go func() {
		w := <-wch
		if w == nil {
			return
		}
		w.Write(gz(t, numbered(1, 5000)))
		w.Close()
	}()
	var lines []string
	within(t, "reading a FIFO", func() {
		in, err := OpenContext(context.Background(), p)
		if err != nil {
			t.Error(err)
			return
		}
		defer in.Close()
		if in.Compression != Gzip || in.Identity != nil {
			t.Errorf("compression %s, identity %v", in.Compression, in.Identity)
		}
		lines, _, err = readAll(t, in)
		if err != nil {
			t.Error(err)
		}
	})
	if len(lines) != 5000 || lines[4999] != "line 5000" {
		t.Fatalf("%d lines", len(lines))
	}
}

// OpenContext on a regular file is Open; an ended context is an error
// before anything is opened.
func TestOpenContextRegular(t *testing.T) {
	p := writeFile(t, "a.log", []byte("a\n"))
	in, err := OpenContext(context.Background(), p)
	if err != nil || in.Identity == nil {
		t.Fatalf("%v %v", in, err)
	}
	in.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := OpenContext(ctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
	if _, err := OpenContext(context.Background(), filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %v", err)
	}
}

// silentFIFO opens a FIFO whose writer writes data, then stays open and
// silent, and reads the first line. data must decode to more than one
// read-ahead block (a block is handed over when full or at the end).
func silentFIFO(t *testing.T, data []byte) (*Input, *Lines, *os.File) {
	t.Helper()
	p := mkfifo(t)
	wch := writer(t, p)
	wrote := make(chan *os.File, 1)
	go func() {
		w := <-wch
		if w != nil {
			w.Write(data)
		}
		wrote <- w
	}()
	in, err := OpenContext(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	l := in.Lines()
	if line, err := l.Next(); err != nil || string(line) != "line 1" {
		t.Fatalf("first line %q, %v", line, err)
	}
	w := <-wrote
	if w == nil {
		t.FailNow()
	}
	return in, l, w
}

// The consumer gives up while the read-ahead goroutine is blocked reading
// a FIFO whose writer is silent: Input.Close returns, wakes a Next blocked
// in another goroutine, and closes the descriptor.
func TestCloseWhileReadingFIFO(t *testing.T) {
	in, l, w := silentFIFO(t, []byte(numbered(1, 30000)))
	nextErr := make(chan error, 1)
	go func() {
		for {
			if _, err := l.Next(); err != nil {
				nextErr <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond) // let Next block (the test passes either way)
	within(t, "Lines.Close and Input.Close", func() {
		l.Close()
		in.Close()
	})
	select {
	case err := <-nextErr:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Next: %v, want ErrClosed", err)
		}
	case <-time.After(hangBound):
		t.Fatal("Next still blocked after Close")
	}
	waitNoReader(t, w)
}

// Input.Close alone, from another goroutine, wakes a blocked Next.
func TestInputCloseWakesNext(t *testing.T) {
	in, l, w := silentFIFO(t, []byte(numbered(1, 30000)))
	nextErr := make(chan error, 1)
	go func() {
		for {
			if _, err := l.Next(); err != nil {
				nextErr <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	within(t, "Input.Close", func() { in.Close() })
	select {
	case err := <-nextErr:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Next: %v, want ErrClosed", err)
		}
	case <-time.After(hangBound):
		t.Fatal("Next still blocked after Input.Close")
	}
	waitNoReader(t, w)
}

// Lines.Close alone, from another goroutine, wakes a blocked Next.
func TestLinesCloseWakesNext(t *testing.T) {
	in, l, _ := silentFIFO(t, []byte(numbered(1, 30000)))
	defer in.Close()
	nextErr := make(chan error, 1)
	go func() {
		for {
			if _, err := l.Next(); err != nil {
				nextErr <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	l.Close()
	l.Close() // twice is fine
	select {
	case err := <-nextErr:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Next: %v, want ErrClosed", err)
		}
	case <-time.After(hangBound):
		t.Fatal("Next still blocked after Lines.Close")
	}
}

// The zstd decoder is released only after the read-ahead goroutine is out
// of it (the race detector catches a Close inside a Read).
func TestCloseZstdWhileReadingFIFO(t *testing.T) {
	full := zst(t, numbered(1, 100000))
	in, l, w := silentFIFO(t, full[:len(full)/2])
	time.Sleep(50 * time.Millisecond)
	within(t, "Input.Close", func() {
		l.Close()
		in.Close()
	})
	waitNoReader(t, w)
}

func TestRewindable(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, "a.log", []byte("a\n"))
	link := filepath.Join(dir, "link")
	fifo := mkfifo(t)
	fifoLink := filepath.Join(dir, "fifo-link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(fifo, fifoLink); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want bool
	}{
		{"-", false},
		{file, true},
		{link, true},
		{dir, true},
		{fifo, false},
		{fifoLink, false},
		{"/dev/null", false}, // a character device
		{filepath.Join(dir, "missing"), true},
		{"s3://bucket/key.gz", true},
	}
	for _, tt := range tests {
		if got := Rewindable(tt.path); got != tt.want {
			t.Errorf("Rewindable(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}
