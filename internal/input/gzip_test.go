package input

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// numbered is n lines "line 1" … "line n", each with its newline.
func numbered(from, n int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

// Zero padding after complete gzip members is the end of the input, as
// gzip and zcat take it (issue 12); without the member reader every one of
// these failed with "gzip: invalid header" or an unexpected EOF.
func TestGzipTrailingZeros(t *testing.T) {
	one := gz(t, numbered(1, 3000))
	two := append(gz(t, numbered(1, 1500)), gz(t, numbered(1501, 1500))...)
	zeros := func(n int) []byte { return make([]byte, n) }
	tests := []struct {
		name string
		data []byte
	}{
		{"one member, 1 zero byte", append(bytes.Clone(one), zeros(1)...)},
		{"one member, 9 zero bytes", append(bytes.Clone(one), zeros(9)...)},
		{"one member, 512 zero bytes", append(bytes.Clone(one), zeros(512)...)},
		{"one member, 10000 zero bytes", append(bytes.Clone(one), zeros(10000)...)},
		{"one member, 600 KiB of zeros (beyond the read buffer)", append(bytes.Clone(one), zeros(600<<10)...)},
		{"two members, 512 zero bytes", append(bytes.Clone(two), zeros(512)...)},
		{"two members, 10000 zero bytes", append(bytes.Clone(two), zeros(10000)...)},
		{"two members, no padding", two},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Open(writeFile(t, "padded.gz", tt.data))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			lines, _, err := readAll(t, in)
			if err != nil {
				t.Fatalf("error %v after %d lines", err, len(lines))
			}
			if len(lines) != 3000 || lines[0] != "line 1" || lines[2999] != "line 3000" {
				t.Fatalf("%d lines", len(lines))
			}
			if got := in.BytesRead(); got != int64(len(tt.data)) {
				t.Errorf("BytesRead %d, want %d", got, len(tt.data))
			}
		})
	}
}

// Anything else after a complete member stays an error (gzip warns and
// exits with status 2), after every line of the complete members.
func TestGzipTrailingGarbage(t *testing.T) {
	one := gz(t, numbered(1, 100))
	tests := []struct {
		name  string
		tail  []byte
		isErr error // what the error wraps
	}{
		{"text", []byte("garbage!!!!!"), ErrTrailingGarbage},
		{"one byte", []byte{'x'}, ErrTrailingGarbage},
		{"zeros then a byte", append(make([]byte, 700), 7), ErrTrailingGarbage},
		{"zeros then a member", append(make([]byte, 16), gz(t, "more\n")...), ErrTrailingGarbage},
		{"lone first magic byte", []byte{0x1f}, ErrTrailingGarbage},
		{"truncated member header", []byte{0x1f, 0x8b, 8, 0}, io.ErrUnexpectedEOF},
		{"truncated second member", gz(t, numbered(101, 1000))[:200], io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := FromReader("t", bytes.NewReader(append(bytes.Clone(one), tt.tail...)))
			if err != nil {
				t.Fatal(err)
			}
			lines, _, err := readAll(t, in)
			if !errors.Is(err, tt.isErr) {
				t.Fatalf("error %v, want %v", err, tt.isErr)
			}
			if len(lines) < 100 || lines[99] != "line 100" {
				t.Fatalf("%d lines: the complete member's lines must all come out", len(lines))
			}
		})
	}
}

// FuzzGzipTrailer: whatever follows a complete member, the member's lines
// all come out; zeros end the input without error; other bytes may
// be more members or an error, never a panic or a lost line.
func FuzzGzipTrailer(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 600))
	f.Add([]byte("garbage"))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3})
	f.Add(append([]byte{0, 0, 0}, 0x1f, 0x8b))
	var b bytes.Buffer
	for i := 0; i < 50; i++ {
		b.Write(gz(f, fmt.Sprintf("m%d\n", i)))
	}
	f.Add(b.Bytes())
	head := gz(f, "a\nb\n")
	f.Fuzz(func(t *testing.T, tail []byte) {
		in, err := FromReader("f", bytes.NewReader(append(bytes.Clone(head), tail...)))
		if err != nil {
			t.Fatal(err)
		}
		lines, _, err := readAll(t, in)
		if len(lines) < 2 || lines[0] != "a" || lines[1] != "b" {
			t.Fatalf("lines %q, error %v", lines, err)
		}
		if len(bytes.Trim(tail, "\x00")) == 0 && (err != nil || len(lines) != 2) {
			t.Fatalf("zero padding: lines %q, error %v", lines, err)
		}
	})
}
