package ledger

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trackless/trackless/internal/input"
)

func TestPutGet(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if e, err := l.Get(ctx, "k"); e != nil || err != nil {
		t.Fatalf("empty ledger: %v %v", e, err)
	}
	want := &Entry{Name: "a.log", Identity: input.Identity{Device: 1, Inode: 2, Size: 3, Fingerprint: "ab", FingerprintLen: 3}, ConfirmedLine: 42, ShardLines: []int64{42, 50}}
	if err := l.Put(ctx, "k", want); err != nil {
		t.Fatal(err)
	}
	got, err := l.Get(ctx, "k")
	if err != nil || got.ConfirmedLine != 42 || got.ShardLines[1] != 50 || got.Identity != want.Identity {
		t.Fatalf("got %+v, %v", got, err)
	}
	// No temporary files are left behind.
	files, _ := os.ReadDir(filepath.Join(dir, "inputs"))
	if len(files) != 1 || strings.HasPrefix(files[0].Name(), ".tmp") {
		t.Errorf("files %v", files)
	}
	if st, _ := os.Stat(filepath.Join(dir, "inputs", files[0].Name())); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
}

func TestCorruptStateIsAnError(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, _ := Open(dir)
	defer l.Close()
	l.Put(ctx, "k", &Entry{ConfirmedLine: 1})
	p := l.path("k")
	for name, data := range map[string]string{"truncated": `{"version":1,"confirmed_li`, "other version": `{"version":99}`} {
		os.WriteFile(p, []byte(data), 0o600)
		_, err := l.Get(ctx, "k")
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
}

func TestOneProcessAtATime(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v", err)
	}
	l.Close()
	l2, err := Open(dir)
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	l2.Close()
}

// TestPathRecords: what a state directory remembers of a path: the file
// last read there (RecordAt keeps the rotated files), replaced whole.
func TestPathRecords(t *testing.T) {
	l, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if rec, err := l.At("logs/access.log"); rec != nil || err != nil {
		t.Fatalf("no record yet: %+v, %v", rec, err)
	}
	a := input.Identity{Device: 1, Inode: 2, Fingerprint: "aa", FingerprintLen: 10}
	if err := l.RecordAt("logs/access.log", a); err != nil {
		t.Fatal(err)
	}
	rec, err := l.At("logs/access.log")
	if err != nil || rec == nil || rec.Identity != a || !filepath.IsAbs(rec.Path) {
		t.Fatalf("record %+v, %v", rec, err)
	}
	rec.Rotated = []RotatedFile{{Path: rec.Path + ".1", Identity: a}}
	if err := l.SetAt(rec); err != nil {
		t.Fatal(err)
	}
	b := input.Identity{Device: 1, Inode: 3, Fingerprint: "bb", FingerprintLen: 10}
	if err := l.RecordAt("logs/access.log", b); err != nil {
		t.Fatal(err)
	}
	if rec, _ = l.At("logs/access.log"); rec.Identity != b || len(rec.Rotated) != 1 || rec.Rotated[0].Identity != a {
		t.Errorf("after RecordAt: %+v", rec)
	}
}

// TestRecordAtKeepsTheFileReplaced: a path recorded as one file and read
// as another (copytruncate between a run's look at the rotations and its
// read) keeps the first among its rotated files, for the next run to look
// for; the same file grown does not.
func TestRecordAtKeepsTheFileReplaced(t *testing.T) {
	dir := t.TempDir()
	p := NewPaths(dir)
	log := filepath.Join(dir, "access.log")
	os.WriteFile(log, []byte("first line\n"), 0o644)
	in, err := input.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	short := *in.Identity
	in.Close()
	p.RecordAt(log, short)
	// Grown past its short fingerprint: the same file.
	f, _ := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(strings.Repeat("a later line\n", 400))
	f.Close()
	in, _ = input.Open(log)
	grown := *in.Identity
	in.Close()
	p.RecordAt(log, grown)
	if rec, _ := p.At(log); rec.Identity != grown || len(rec.Rotated) != 0 {
		t.Fatalf("the file grown: %+v", rec)
	}
	// Truncated and rewritten in place (same inode, other first bytes).
	os.WriteFile(log, []byte(strings.Repeat("new content\n", 400)), 0o644)
	in, _ = input.Open(log)
	rewritten := *in.Identity
	in.Close()
	p.RecordAt(log, rewritten)
	if rec, _ := p.At(log); rec.Identity != rewritten || len(rec.Rotated) != 1 || rec.Rotated[0].Identity != grown {
		t.Fatalf("the file replaced in place: %+v", rec)
	}
}
