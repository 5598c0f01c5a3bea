package logformat

import (
	"bytes"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/loggen"
)

// BenchmarkCloudFrontParse parses generated 33-field lines (no I/O).
func BenchmarkCloudFrontParse(b *testing.B) {
	var buf bytes.Buffer
	if _, err := loggen.Write(&buf, loggen.Config{Seed: 1, Lines: 20000, Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	b.SetBytes(int64(buf.Len() / len(lines)))
	r := NewCloudFront("bench")
	var h hit.Hit
	i := 0
	for b.Loop() {
		if _, err := r.Parse(lines[i], int64(i+1), &h); err != nil {
			b.Fatal(err)
		}
		i++
		if i == len(lines) {
			i = 0
		}
	}
}
