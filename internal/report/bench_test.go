package report

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkAdd counts generated hits (a realistic CloudFront mix): the
// report's hot path after parsing.
func BenchmarkAdd(b *testing.B) {
	hits := genHits(b, 50000, 24*time.Hour, 1)
	a, _ := New(Options{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h := hits[i%len(hits)]
		a.Add(&h)
	}
}

// BenchmarkTableAdd adds keys of a long tail (many more than the table
// holds): Space-Saving's replacements on every new key.
func BenchmarkTableAdd(b *testing.B) {
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = fmt.Sprintf("www.example.com/blog/post-%d/", i*i%100003)
	}
	t := NewTable(DefaultTableSize)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t.Add(keys[i&(1<<16-1)], 1, 100, 0)
	}
}
