package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/loggen"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "E2EXAMPLE.2026-11-01-00.a1b2c3d4.gz")
	truth := filepath.Join(dir, "truth.json")
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-lines", "3000", "-seed", "5", "-gzip", "-out", out, "-truth", truth}, &stdout, &stderr); err != nil {
		t.Fatal(err, stderr.String())
	}
	if stdout.Len() != 0 || stderr.Len() != 0 {
		t.Fatalf("output: %q %q", stdout.String(), stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	wantTruth, err := loggen.Write(&want, loggen.Config{Seed: 5, Lines: 3000})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("gzip output differs from loggen.Write")
	}
	var gotTruth loggen.Truth
	b, err := os.ReadFile(truth)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &gotTruth); err != nil {
		t.Fatal(err)
	}
	if gotTruth.Lines != 3000 || gotTruth.AIGetTracked != wantTruth.AIGetTracked || !bytes.Contains(b, []byte(`"ai_get_tracked":`)) {
		t.Fatalf("truth: %s", b)
	}

	// standard output, no header, another start
	stdout.Reset()
	if err := run([]string{"-lines", "10", "-no-header", "-start", "2025-01-02T03:04:05Z"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	want.Reset()
	if _, err := loggen.Write(&want, loggen.Config{Seed: 1, Lines: 10, NoHeader: true, Start: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdout.Bytes(), want.Bytes()) {
		t.Fatalf("stdout:\n%s", stdout.String())
	}

	if err := run([]string{"-start", "yesterday"}, &stdout, &stderr); err == nil {
		t.Error("bad -start accepted")
	}
}
