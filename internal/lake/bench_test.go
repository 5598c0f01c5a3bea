package lake

import (
	"bufio"
	"bytes"
	"context"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/logformat"
	"github.com/trackless/trackless/internal/loggen"
	"github.com/trackless/trackless/internal/sink"
)

// benchHits are 100,000 hits of the benchmark's generated CloudFront log
// (about 4 hours: 5 partitions).
func benchHits(b *testing.B) []hit.Hit {
	b.Helper()
	var buf bytes.Buffer
	if _, err := loggen.Write(&buf, loggen.Config{Seed: 1, Lines: 100000, Start: loggen.DefaultStart}); err != nil {
		b.Fatal(err)
	}
	r := logformat.NewCloudFront("bench")
	var hits []hit.Hit
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for n := int64(1); sc.Scan(); n++ {
		var h hit.Hit
		if ok, err := r.Parse(bytes.Clone(sc.Bytes()), n, &h); ok && err == nil {
			hits = append(hits, h)
		}
	}
	return hits
}

// BenchmarkSink is the lake's hot path: rows classified, converted and
// written as Parquet (zstd, dictionaries, bloom filters), published at the
// end. It reports the bytes written per row, with version 1 data pages
// (what the lake writes) and version 2 (parquet-go's default, which older
// readers fail on): the size cost of v1.
func BenchmarkSink(b *testing.B) {
	hits := benchHits(b)
	for _, v2 := range []bool{false, true} {
		name := "pages=v1"
		if v2 {
			name = "pages=v2"
		}
		b.Run(name, func(b *testing.B) {
			var size int64
			for b.Loop() {
				dir := b.TempDir()
				d, err := OpenDir(dir)
				if err != nil {
					b.Fatal(err)
				}
				sk, err := NewSink(context.Background(), d, Options{dataPageV2: v2})
				if err != nil {
					b.Fatal(err)
				}
				in, _, _ := sk.Begin(sink.Info{Name: "bench", Key: "bench"})
				for i := range hits {
					if err := in.Hit(int64(i+1), &hits[i]); err != nil {
						b.Fatal(err)
					}
				}
				if err := in.End(sink.End{Lines: int64(len(hits))}); err != nil {
					b.Fatal(err)
				}
				d.Close()
				size = 0
				filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
					if err == nil && isDataFile(e.Name()) {
						info, _ := e.Info()
						size += info.Size()
					}
					return nil
				})
			}
			b.ReportMetric(float64(len(hits)*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(size)/float64(len(hits)), "bytes/row")
		})
	}
}
