package report

import (
	"strings"
	"testing"
)

// FuzzDecodeVisitors: a damaged state file gives an error, never a panic,
// and what decodes encodes back to the same bytes.
func FuzzDecodeVisitors(f *testing.F) {
	s := newVisitorSet()
	s.add(1, 100, "www.example.com/", func(v *visitor) { v.ua = s.uaIndex("Mozilla/5.0") })
	s.add(1, 5000, "www.example.com/b", func(*visitor) {})
	s.add(2, 86399, "www.example.com/c", func(v *visitor) { v.ua = s.uaIndex("curl/8") })
	f.Add(encodeVisitors(s))
	f.Add([]byte("TLV1"))
	f.Add([]byte("TLV1\x01\x05hello\x03"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeVisitors(data)
		if err != nil {
			return
		}
		again, err := decodeVisitors(encodeVisitors(s))
		if err != nil || len(again.m) != len(s.m) {
			t.Fatalf("re-decoding: %v, %d visitors vs %d", err, len(again.m), len(s.m))
		}
	})
}

// FuzzClassifyReferrer: any referrer and query string is classified
// without a panic, and a site is never its own referrer.
func FuzzClassifyReferrer(f *testing.F) {
	for _, s := range []string{"https://www.google.com/search?q=x", "https://chatgpt.com/", "android-app://com.slack/", "http://[::1]:80/", "https://user@host:8080/p", "", "://", "http://"} {
		f.Add(s, "utm_source=chatgpt.com", "www.example.com")
	}
	f.Fuzz(func(t *testing.T, ref, query, site string) {
		kind, name := classifyReferrer(ref, query, site)
		hostLike := strings.Trim(strings.ToLower(site), "abcdefghijklmnopqrstuvwxyz0123456789.-") == ""
		if kind == refSite && (name == "" || hostLike && name == referrerHost("https://"+site)) {
			t.Fatalf("referrer %q of site %q: site %q", ref, site, name)
		}
	})
}

func TestClassifyReferrer(t *testing.T) {
	for _, tc := range []struct {
		ref, query, site string
		kind             int
		name             string
	}{
		{"https://www.google.co.uk/", "", "www.example.com", refSearch, "Google"},
		{"https://mail.google.com/", "", "www.example.com", refSite, "mail.google.com"},
		{"https://chatgpt.com/c/123", "", "www.example.com", refAI, "ChatGPT"},
		{"", "a=1&utm_source=chatgpt.com", "www.example.com", refAI, "ChatGPT"},
		{"https://www.perplexity.ai/search", "", "www.example.com", refAI, "Perplexity"},
		{"https://gemini.google.com/app", "", "www.example.com", refAI, "Gemini"},
		{"https://www.example.com/other", "", "www.example.com", refNone, ""},
		{"https://example.com/other", "", "www.example.com", refNone, ""},
		{"https://news.ycombinator.com/item?id=1", "", "www.example.com", refSite, "news.ycombinator.com"},
		{"https://duckduckgo.com/", "", "www.example.com", refSearch, "DuckDuckGo"},
		{"-", "", "www.example.com", refNone, ""},
	} {
		kind, name := classifyReferrer(tc.ref, tc.query, tc.site)
		if kind != tc.kind || name != tc.name {
			t.Errorf("%q %q: %d %q, want %d %q", tc.ref, tc.query, kind, name, tc.kind, tc.name)
		}
	}
}

// FuzzDecodeHashes: a damaged files file of a state gives an error, never
// a panic, and what decodes encodes back to the same set.
func FuzzDecodeHashes(f *testing.F) {
	set := &hashSet{}
	for _, h := range []uint32{1, 1 << 20, ^uint32(0)} {
		set.add(h)
	}
	f.Add(encodeHashes(set))
	f.Add([]byte("TLF1"))
	f.Add([]byte("TLF1\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeHashes(data)
		if err != nil {
			return
		}
		again, err := decodeHashes(encodeHashes(m))
		if err != nil || again.len() != m.len() {
			t.Fatalf("re-decoding: %v, %d hashes vs %d", err, again.len(), m.len())
		}
	})
}
