package input

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func gz(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func zst(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func readAll(t testing.TB, in *Input) (lines []string, numbers []int64, err error) {
	t.Helper()
	ls := in.Lines()
	defer ls.Close()
	for {
		line, e := ls.Next()
		if e == io.EOF {
			return lines, numbers, nil
		}
		if errors.Is(e, ErrLineTooLong) {
			lines = append(lines, "<too long>")
			numbers = append(numbers, ls.Line())
			continue
		}
		if e != nil {
			return lines, numbers, e
		}
		lines = append(lines, string(line))
		numbers = append(numbers, ls.Line())
	}
}

func writeFile(t *testing.T, name string, data []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompressionByMagicBytes(t *testing.T) {
	text := "a\nb\r\nc"
	two := append(gz(t, "a\n"), gz(t, "b\r\nc")...) // a multi-member gzip
	bz, err := os.ReadFile("testdata/abc.bz2")      // printf 'a\nb\r\nc' | bzip2 -9
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file string // the name lies on purpose
		data []byte
		comp Compression
	}{
		{"plain", "x.gz", []byte(text), Plain},
		{"gzip", "x.log", gz(t, text), Gzip},
		{"zstd", "x.gz", zst(t, text), Zstd},
		{"multi-member gzip", "x", two, Gzip},
		{"bzip2", "x.gz", bz, Bzip2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Open(writeFile(t, tt.file, tt.data))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			if in.Compression != tt.comp {
				t.Errorf("compression %s, want %s", in.Compression, tt.comp)
			}
			lines, nums, err := readAll(t, in)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(lines, "|") != "a|b|c" || nums[2] != 3 {
				t.Errorf("lines %q %v", lines, nums)
			}
		})
	}
}

func TestTruncatedGzip(t *testing.T) {
	full := gz(t, strings.Repeat("complete line\n", 20000)+"last")
	in, err := Open(writeFile(t, "cut.gz", full[:len(full)/2]))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	lines, _, err := readAll(t, in)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error %v, want unexpected EOF", err)
	}
	if len(lines) == 0 {
		t.Fatal("the complete lines before the cut must be returned")
	}
	for _, l := range lines {
		if l != "complete line" {
			t.Fatalf("a partial line was returned: %q", l)
		}
	}
}

func TestEmptyInputs(t *testing.T) {
	for name, data := range map[string][]byte{"empty": nil, "empty gzip": gz(t, "")} {
		in, err := Open(writeFile(t, "e", data))
		if err != nil {
			t.Fatal(name, err)
		}
		lines, _, err := readAll(t, in)
		in.Close()
		if err != nil || len(lines) != 0 {
			t.Errorf("%s: %q %v", name, lines, err)
		}
	}
}

func TestLongLineIsSkipped(t *testing.T) {
	long := strings.Repeat("x", MaxLineLen+10)
	in, err := FromReader("-", strings.NewReader("first\n"+long+"\nthird\n"+long))
	if err != nil {
		t.Fatal(err)
	}
	lines, nums, err := readAll(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 4 || strings.Join(lines, "|") != "first|<too long>|third|<too long>" || nums[1] != 2 || nums[2] != 3 || nums[3] != 4 {
		t.Errorf("%d lines, numbers %v", len(lines), nums)
	}
	// A line of exactly the limit is fine.
	in, _ = FromReader("-", strings.NewReader(strings.Repeat("y", MaxLineLen)+"\nz\n"))
	lines, _, _ = readAll(t, in)
	if len(lines) != 2 || len(lines[0]) != MaxLineLen {
		t.Errorf("line at the limit: %d lines", len(lines))
	}
}

func TestIdentity(t *testing.T) {
	p := writeFile(t, "a.log", []byte("hello\n"))
	in1, _ := Open(p)
	in1.Close()
	in2, _ := Open(p)
	in2.Close()
	if in1.Identity == nil || in1.Identity.Key() != in2.Identity.Key() || in1.Identity.Inode == 0 {
		t.Fatalf("identities %+v %+v", in1.Identity, in2.Identity)
	}
	// Same path, other content: another identity. A file shorter than
	// the fingerprint keeps its key (device and inode: its fingerprint
	// grows with it), and the fingerprint tells the content apart.
	os.WriteFile(p, []byte("other\n"), 0o600)
	in3, _ := Open(p)
	if in3.Identity.Fingerprint == in1.Identity.Fingerprint || in3.SamePrefix(in1.Identity.Fingerprint, in1.Identity.FingerprintLen) {
		t.Error("a rewritten file kept its identity")
	}
	if !slices.Contains(in3.Identity.Keys(), in3.Identity.Key()) || in3.Identity.Keys()[0] != in3.Identity.Key() {
		t.Errorf("Keys %v must start with Key %s", in3.Identity.Keys(), in3.Identity.Key())
	}
	in3.Close()
	// Appending keeps the key (the first bytes are the same) but not the size.
	os.WriteFile(p, []byte("other\nmore\n"), 0o600)
	in4, _ := Open(p)
	in4.Close()
	if in4.Identity.Key() == in3.Identity.Key() {
		// fingerprint covers all 6 bytes then 11: differs, as the file was shorter than FingerprintSize
	}
	if ok, _ := FingerprintMatches(p, *in3.Identity); !ok {
		t.Error("the first bytes still match after an append")
	}
}

// FuzzLines checks the splitter against a simple model, across small
// buffers so that lines straddle reads.
func FuzzLines(f *testing.F) {
	f.Add([]byte("a\nb\r\n\nc"), 3)
	f.Add([]byte("\r\r\n\n"), 1)
	f.Add([]byte(strings.Repeat("z", 40)+"\nq"), 7)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 1 || max > 64 {
			return
		}
		l := newLines(&oneByteReader{data}, max)
		l.buf = make([]byte, 4)
		var got []string
		for {
			line, err := l.Next()
			if err == io.EOF {
				break
			}
			if errors.Is(err, ErrLineTooLong) {
				got = append(got, "<too long>")
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(line))
		}
		var want []string
		parts := strings.Split(string(data), "\n")
		if len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		for _, p := range parts {
			if len(p) > max {
				want = append(want, "<too long>")
				continue
			}
			want = append(want, strings.TrimSuffix(p, "\r"))
		}

		if len(got) != len(want) {
			t.Fatalf("%d lines, want %d: %q vs %q", len(got), len(want), got, want)
		}
		if l.Line() != int64(len(want)) {
			t.Fatalf("line number %d, want %d", l.Line(), len(want))
		}
	})
}

type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}

// PeekLines reads as Lines does, long lines included, without read-ahead.
func TestPeekLines(t *testing.T) {
	long := strings.Repeat("x", 100<<10)
	in, err := FromReader("t", strings.NewReader("a\n"+long+"\nb"))
	if err != nil {
		t.Fatal(err)
	}
	l := in.PeekLines()
	var got []string
	for {
		line, err := l.Next()
		if err != nil {
			break
		}
		got = append(got, string(line))
	}
	if len(got) != 3 || got[0] != "a" || got[1] != long || got[2] != "b" {
		t.Fatalf("got %d lines", len(got))
	}
}
