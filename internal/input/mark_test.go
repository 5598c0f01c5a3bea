package input

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// readAll returns the lines of in with their numbers, and the last mark.
func readMarked(t *testing.T, in *Input) (lines map[int64]string, order []int64, last Mark, ok bool) {
	t.Helper()
	l := in.Lines()
	defer l.Close()
	lines = map[int64]string{}
	for {
		b, err := l.Next()
		if err == io.EOF {
			return lines, order, last, ok
		}
		if err != nil {
			t.Fatal(err)
		}
		lines[l.Line()] = string(b)
		order = append(order, l.Line())
		last, ok = l.Mark()
	}
}

// TestJump: a run that has a file through a line reads its head and then
// the lines after that line, numbered as they are in the file; a file
// that is not the one the mark was taken of is read from its start.
func TestJump(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	b.WriteString("#Version: 1.0\n#Fields: a b\n")
	for i := 3; i <= 500; i++ {
		fmt.Fprintf(&b, "line %d %s\n", i, bytes.Repeat([]byte("x"), i%37))
	}
	p := filepath.Join(dir, "access.log")
	os.WriteFile(p, b.Bytes(), 0o644)
	in, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	_, _, m, ok := readMarked(t, in)
	in.Close()
	if !ok || m.Line != 500 || m.Offset != int64(b.Len()) || m.HeadLine < 2 || m.HeadOffset > HeadSize {
		t.Fatalf("mark at the end: %+v %v", m, ok)
	}
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "line 501\nline 502\n")
	f.Close()

	in, _ = Open(p)
	if !in.Jump(m) {
		t.Fatal("no jump on the file the mark was taken of")
	}
	lines, order, end, _ := readMarked(t, in)
	in.Close()
	want := int(m.HeadLine) + 2
	if len(order) != want || lines[1] != "#Version: 1.0" || lines[501] != "line 501" || lines[502] != "line 502" || order[m.HeadLine] != 501 {
		t.Fatalf("after the jump: %d lines %v", len(order), order)
	}
	if end.Line != 502 || end.Offset != int64(b.Len()+18) {
		t.Errorf("mark after the jump: %+v", end)
	}

	// Not jumped: a mark not at a line's end, a head of other lines, a
	// compressed file, a mark in the head.
	bad := []Mark{{Line: 500, Offset: m.Offset - 3, HeadLine: m.HeadLine, HeadOffset: m.HeadOffset}, {Line: 500, Offset: m.Offset, HeadLine: m.HeadLine + 1, HeadOffset: m.HeadOffset}, {Line: m.HeadLine, Offset: m.HeadOffset, HeadLine: m.HeadLine, HeadOffset: m.HeadOffset}}
	for _, bm := range bad {
		in, _ = Open(p)
		if in.Jump(bm) {
			t.Errorf("jumped to %+v", bm)
		}
		if lines, _, _, _ := readMarked(t, in); len(lines) != 502 {
			t.Errorf("not jumped to %+v: %d lines read, want all 502", bm, len(lines))
		}
		in.Close()
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b.Bytes())
	zw.Close()
	gz := filepath.Join(dir, "access.log.1.gz")
	os.WriteFile(gz, z.Bytes(), 0o644)
	in, _ = Open(gz)
	if in.Jump(m) {
		t.Error("jumped in a compressed file")
	}
	in.Close()
}

// TestMarkUnterminated: a last line without its newline is no mark.
func TestMarkUnterminated(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.log")
	os.WriteFile(p, bytes.Repeat([]byte("0123456789abcdef\n"), 300), 0o644)
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("cut")
	f.Close()
	in, _ := Open(p)
	defer in.Close()
	if _, _, m, ok := readMarked(t, in); ok {
		t.Errorf("a mark after an unterminated line: %+v", m)
	}
}
