package input

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkGzipLines reads a gzip input of 100,000 lines from memory
// through Lines: decompression, the member reader and the splitter.
func BenchmarkGzipLines(b *testing.B) {
	var text bytes.Buffer
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&text, "192.0.2.%d - - [14/Mar/2025:08:00:%02d +0000] \"GET /docs/page-%d HTTP/1.1\" 200 5230 \"-\" \"Mozilla/5.0\"\n", i%250, i%60, i)
	}
	data := gz(b, text.String())
	b.SetBytes(int64(text.Len()))
	b.ResetTimer()
	for b.Loop() {
		in, err := FromReader("bench", bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		l := in.Lines()
		n := 0
		for {
			if _, err := l.Next(); err != nil {
				break
			}
			n++
		}
		l.Close()
		in.Close()
		if n != 100000 {
			b.Fatalf("%d lines", n)
		}
	}
}
