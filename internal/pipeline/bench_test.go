package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/loggen"
	"github.com/trackless/trackless/internal/matomo"
)

// BenchmarkParseGzip is `trackless parse` without the output: decompress,
// split, parse, classify, encode and batch 100k generated lines.
func BenchmarkParseGzip(b *testing.B) {
	p := filepath.Join(b.TempDir(), "bench.gz")
	f, _ := os.Create(p)
	zw := gzip.NewWriter(f)
	loggen.Write(zw, loggen.Config{Seed: 1, Lines: 100000, Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
	zw.Close()
	f.Close()
	st, _ := os.Stat(p)
	for _, mode := range []int{1, 2} {
		b.Run(map[int]string{1: "recmode1", 2: "recmode2"}[mode], func(b *testing.B) {
			opt := Options{
				Encoder:  matomo.Encoder{SiteID: 1, RecMode: mode, Source: "CloudFront"},
				Classify: classify.Config{RecMode: mode}, BatchSize: 200, Concurrency: 4,
				Emit: func(items [][]byte) error { return nil },
			}
			b.SetBytes(st.Size())
			for b.Loop() {
				if _, err := Run(context.Background(), context.Background(), []string{p}, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
