package ledger

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A process killed while writing an entry leaves a temporary file in
// inputs/: the next Open, holding the lock, removes it; an Open that does
// not get the lock leaves it (its holder may be writing it).
func TestOpenRemovesLeftoverTemps(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Put(ctx, "k", &Entry{ConfirmedLine: 7}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	inputs := filepath.Join(dir, "inputs")
	left := []string{".tmp-0123456789", ".tmp-" + fileName("k") + "-42"} // the old and the new naming
	for _, n := range left {
		if err := os.WriteFile(filepath.Join(inputs, n), []byte(`{"version":1,"confirmed_li`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, n := range left {
		if _, err := os.Stat(filepath.Join(inputs, n)); !os.IsNotExist(err) {
			t.Errorf("%s still there (%v)", n, err)
		}
	}
	if e, err := l.Get(ctx, "k"); err != nil || e == nil || e.ConfirmedLine != 7 {
		t.Fatalf("the entry: %+v %v", e, err)
	}

	busy := filepath.Join(inputs, ".tmp-being-written")
	os.WriteFile(busy, nil, 0o600)
	if _, err := Open(dir); err == nil {
		t.Fatal("a second Open got the lock")
	}
	if _, err := os.Stat(busy); err != nil {
		t.Errorf("an Open without the lock removed a temporary file: %v", err)
	}
}

// TestReadOnly: a read-only view reads entries without the lock (another
// process holds it) and refuses to write.
func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Put(context.Background(), "k", &Entry{ConfirmedLine: 7}); err != nil {
		t.Fatal(err)
	}
	ro := ReadOnly(dir)
	if e, err := ro.Get(context.Background(), "k"); err != nil || e == nil || e.ConfirmedLine != 7 {
		t.Fatalf("entry %+v, %v", e, err)
	}
	if err := ro.Put(context.Background(), "k", &Entry{}); err == nil {
		t.Fatal("a read-only view wrote")
	}
}
