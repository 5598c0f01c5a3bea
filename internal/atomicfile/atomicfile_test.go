package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/trackless/trackless/internal/testfs"
)

// temps lists the temporary files left in dir.
func temps(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

func content(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report.json")
	for _, data := range []string{"first\n", "second, longer\n", ""} {
		if err := WriteFile(p, []byte(data), 0o666); err != nil {
			t.Fatal(err)
		}
		if got := content(t, p); got != data {
			t.Fatalf("content %q, want %q", got, data)
		}
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o666 {
		t.Errorf("mode %v, want exactly 0666 (no umask)", st.Mode().Perm())
	}
	if left := temps(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// A long name still makes a valid temporary name.
func TestWriteFileLongName(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, strings.Repeat("é", 120)) // 240 bytes
	if err := WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if content(t, p) != "x" {
		t.Fatal("content")
	}
}

func TestCreateCommit(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report.html")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Create(p, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want bytes.Buffer
	for i := 0; i < 20000; i++ {
		line := []byte("<tr><td>row</td></tr>\n")
		f.Write(line)
		f.WriteString("s")
		want.Write(line)
		want.WriteString("s")
	}
	if got := content(t, p); got != "old" {
		t.Fatalf("path changed before Commit: %d bytes", len(got))
	}
	if len(temps(t, dir)) != 1 {
		t.Fatalf("temporary files %v", temps(t, dir))
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if content(t, p) != want.String() {
		t.Fatal("content differs")
	}
	if err := f.Close(); err != nil { // after Commit: nothing
		t.Fatal(err)
	}
	if content(t, p) != want.String() || len(temps(t, dir)) != 0 {
		t.Fatal("Close after Commit changed something")
	}
	if err := f.Commit(); err == nil {
		t.Error("a second Commit succeeded")
	}
	if _, err := f.Write([]byte("x")); err == nil {
		t.Error("Write after Commit succeeded")
	}
}

func TestAbort(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	os.WriteFile(p, []byte("old"), 0o600)
	f, err := Create(p, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte("new"), 100000))
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if content(t, p) != "old" || len(temps(t, dir)) != 0 {
		t.Fatalf("after Abort: %q, temporary files %v", content(t, p), temps(t, dir))
	}
	if err := f.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
}

// Injected failures, each at another step: the old file stays, whole, and
// no temporary file is left.
func TestFailuresKeepTheOldFile(t *testing.T) {
	tests := []struct {
		name   string
		target string // relative to the directory
		setup  func(t *testing.T, dir string)
		fail   func(f *File) // breaks a File before its content is written
	}{
		{
			name:   "write fails",
			target: "state.json",
			fail:   func(f *File) { f.f.Close() }, // the descriptor is gone: write and flush fail
		},
		{
			name:   "rename fails (a directory is in the way)",
			target: "busy",
			setup: func(t *testing.T, dir string) {
				os.Mkdir(filepath.Join(dir, "busy"), 0o700)
				os.WriteFile(filepath.Join(dir, "busy", "inside"), []byte("old"), 0o600)
			},
		},
	}
	for _, tt := range tests {
		for _, streaming := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, streaming %v", tt.name, streaming), func(t *testing.T) {
				dir := t.TempDir()
				p := filepath.Join(dir, tt.target)
				if tt.setup != nil {
					tt.setup(t, dir)
				} else {
					os.WriteFile(p, []byte("old"), 0o600)
				}
				before, _ := os.ReadFile(filepath.Join(dir, tt.target))
				f, err := create(p, 0o600, streaming)
				if err != nil {
					t.Fatal(err)
				}
				if tt.fail != nil {
					tt.fail(f)
				}
				f.Write(bytes.Repeat([]byte("new"), 100000))
				if err := f.Commit(); err == nil {
					t.Fatal("no error")
				} else if !strings.Contains(err.Error(), p) {
					t.Errorf("the error does not name the file: %v", err)
				}
				after, _ := os.ReadFile(filepath.Join(dir, tt.target))
				if !bytes.Equal(before, after) {
					t.Error("the old file changed")
				}
				if left := temps(t, dir); len(left) > 0 {
					t.Errorf("temporary files left: %v", left)
				}
			})
		}
	}
}

// mountTmpfs mounts a small tmpfs in a temporary directory.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	testfs.Mount(t, dir, opts)
	return dir
}

// A full disk: the write fails, the old file stays whole.
func TestWriteFileFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "size=64k")
	p := filepath.Join(dir, "state.json")
	old := bytes.Repeat([]byte("o"), 10<<10)
	if err := WriteFile(p, old, 0o600); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(p, bytes.Repeat([]byte("n"), 100<<10), 0o600)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("error %v, want no space left on device", err)
	}
	if !bytes.Equal([]byte(content(t, p)), old) {
		t.Fatal("the old file changed")
	}
	if left := temps(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// Streaming, the same.
	f, err := Create(p, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		f.Write(bytes.Repeat([]byte("n"), 1<<10))
	}
	if err := f.Commit(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("error %v, want no space left on device", err)
	}
	if !bytes.Equal([]byte(content(t, p)), old) || len(temps(t, dir)) > 0 {
		t.Fatal("the old file changed, or a temporary file was left")
	}
	// Once there is room again, it works.
	if err := WriteFile(p, []byte("small"), 0o600); err != nil || content(t, p) != "small" {
		t.Fatalf("%v", err)
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{".tmp-123", ".tmp-state.json-456", "keep.json", ".tmpx", "lock"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	os.Mkdir(filepath.Join(dir, ".tmp-dir"), 0o700)
	n, err := RemoveTemps(dir)
	if err != nil || n != 2 {
		t.Fatalf("removed %d, %v; want 2", n, err)
	}
	ents, _ := os.ReadDir(dir)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if strings.Join(left, " ") != ".tmp-dir .tmpx keep.json lock" {
		t.Errorf("left %v", left)
	}
	if n, err := RemoveTemps(filepath.Join(dir, "missing")); n != 0 || err != nil {
		t.Errorf("missing dir: %d, %v", n, err)
	}
}

func TestProbeDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "inputs")
	if err := ProbeDir(dir); err != nil {
		t.Fatal(err)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Fatalf("after the probe: %v %v", ents, err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if err := ProbeDir(file); err == nil || !strings.Contains(err.Error(), "cannot write to directory "+file) {
		t.Errorf("a file: %v", err)
	}
}

// chmod does not stop root: a read-only mount does.
func TestProbeDirReadOnly(t *testing.T) {
	dir := mountTmpfs(t, "ro,size=64k")
	for _, d := range []string{dir, filepath.Join(dir, "dead-letter")} {
		err := ProbeDir(d)
		if !errors.Is(err, syscall.EROFS) {
			t.Fatalf("%s: error %v, want read-only file system", d, err)
		}
		want := "cannot write to directory " + d + ": read-only file system"
		if err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
	}
}

func TestProbeDirFull(t *testing.T) {
	dir := mountTmpfs(t, "size=64k")
	testfs.Fill(t, dir)
	err := ProbeDir(dir)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("error %v, want no space left on device", err)
	}
	if err.Error() != "cannot write to directory "+dir+": no space left on device" {
		t.Errorf("error %q", err)
	}
	if left := temps(t, dir); len(left) > 0 {
		t.Errorf("probe left %v", left)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		t.Errorf("the error repeats the temporary file's path: %v", err)
	}
}

// TestNotRegularFiles: a device is written in place, never replaced by a
// rename (which would turn /dev/null into a regular file); a symbolic link
// keeps pointing at its target, which gets the content.
func TestNotRegularFiles(t *testing.T) {
	if err := WriteFile(os.DevNull, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(os.DevNull, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("y\n")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is no longer a device: %v %v", os.DevNull, st.Mode(), err)
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "real.html")
	link := filepath.Join(dir, "link.html")
	os.WriteFile(target, []byte("old"), 0o644)
	if err := os.Symlink("real.html", link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(link); err != nil || l != "real.html" || content(t, target) != "new" {
		t.Fatalf("link %q %v, target %q", l, err, content(t, target))
	}
}
