package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/matomo"
	"github.com/trackless/trackless/internal/testfs"
)

// TestRecorderWholeRecords: a file that ends with a record cut by a crash
// gets a line end first; a record that does not fit on a full disk is cut
// off again, so that the file holds whole records only.
func TestRecorderWholeRecords(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "dl.jsonl")
	os.WriteFile(p, []byte(`{"requests":["?a"]}`+"\n"+`{"requests":["?b`), 0o600)
	r := NewRecorder(p)
	if err := r.Write(DeadLetter{Reason: "x", Requests: []string{"?c"}}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	lines := strings.Split(strings.TrimSuffix(readFile(t, p), "\n"), "\n")
	if len(lines) != 3 || lines[1] != `{"requests":["?b` || !json.Valid([]byte(lines[2])) {
		t.Fatalf("lines %q", lines)
	}

	// A full disk: a small tmpfs.
	mnt := filepath.Join(dir, "small")
	testfs.Mount(t, mnt, "size=64k")
	r = NewRecorder(filepath.Join(mnt, "dl.jsonl"))
	defer r.Close()
	big := DeadLetter{Reason: strings.Repeat("r", 3000), Requests: []string{strings.Repeat("?x", 2000)}}
	var werr error
	for i := 0; i < 100 && werr == nil; i++ {
		werr = r.Write(big)
	}
	if werr == nil {
		t.Fatal("the disk never filled")
	}
	data := readFile(t, filepath.Join(mnt, "dl.jsonl"))
	if !strings.HasSuffix(data, "\n") {
		t.Fatal("the file ends with a cut record")
	}
	for i, l := range strings.Split(strings.TrimSuffix(data, "\n"), "\n") {
		if !json.Valid([]byte(l)) {
			t.Fatalf("line %d is not a whole record", i+1)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReplayGoesOnAfterACutRecord: replay reports a line that is not a
// whole record and sends the others; PendingReplays counts what was not
// replayed.
func TestReplayGoesOnAfterACutRecord(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "dead-letter", "a.jsonl")
	os.MkdirAll(filepath.Dir(p), 0o700)
	var b strings.Builder
	for i := 0; i < 4; i++ {
		if i == 2 {
			b.WriteString(`{"requests":["?idsite=1&rec=1&url=` + "\n")
			continue
		}
		fmt.Fprintf(&b, `{"reason":"x","requests":["?idsite=1&rec=1&url=https%%3A%%2F%%2Fe.com%%2F%d","?idsite=1&rec=1&url=https%%3A%%2F%%2Fe.com%%2F%d"]}`+"\n", i, i+10)
	}
	os.WriteFile(p, []byte(b.String()), 0o600)
	led, err := ledger.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	pend, err := PendingReplays(context.Background(), filepath.Dir(p), led)
	if err != nil || len(pend) != 1 || pend[0].Records != 3 || pend[0].Hits != 6 {
		t.Fatalf("pending %+v, %v", pend, err)
	}
	srv := &okServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client, _ := matomo.NewClient(ts.URL, "", nil)
	dl, doubt := NewRecorder(filepath.Join(dir, "dl2.jsonl")), NewRecorder(filepath.Join(dir, "doubt.jsonl"))
	st, err := Replay(context.Background(), p, client, led, dl, doubt, nil, discard())
	if err != nil || st.Sent != 6 || len(st.Damaged) != 1 || st.Damaged[0] != 3 {
		t.Fatalf("replay %+v, %v", st, err)
	}
	if pend, err := PendingReplays(context.Background(), filepath.Dir(p), led); err != nil || len(pend) != 0 {
		t.Fatalf("pending after the replay %+v, %v", pend, err)
	}
	sc := bufio.NewScanner(strings.NewReader(strings.Join(srv.items, "\n")))
	n := 0
	for sc.Scan() {
		n++
	}
	if n != 6 {
		t.Errorf("%d items received", n)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
