package loggen

import (
	"bytes"
	"errors"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	peerExclude  = `(?i)^[^?]+\.(?:css|js|mjs|map|json|xml|webmanifest|manifest|png|jpe?g|gif|webp|avif|svg|ico|bmp|tiff?|woff2?|ttf|otf|eot|rss|atom|wasm|txt)(?:\?|$)`
	peerDownload = `(?i)^[^?]+\.(?:pdf|docx?|xlsx?|pptx?|csv|json|txt|xml|epub|mobi|azw3|mp3|mp4|mpe?g|webm|mov|avi|ogg|wav|flac|zip|gz|gzip|tgz|tar|bz2|tbz|7z|rar|dmg|exe|msi|apk|jar|md5|sig)(?:\?|$)`
)

var (
	excludeRe  = regexp.MustCompile(peerExclude)
	downloadRe = regexp.MustCompile(peerDownload)
	aiTokens   = []string{"ChatGPT-User", "Claude-User", "Perplexity-User", "MistralAI-User", "Gemini-Deep-Research", "Google-NotebookLM", "DuckAssistBot", "Google-GeminiNotebook"}
	allowlist  = []string{"ChatGPT-User", "MistralAI-User", "Gemini-Deep-Research", "Claude-User", "Perplexity-User", "Google-NotebookLM", "Google-GeminiNotebook"}
)

// sample100k is generated once and shared by the tests.
var sample100k = sync.OnceValues(func() ([]byte, Truth) {
	var buf bytes.Buffer
	tr, err := Write(&buf, Config{Seed: 7, Lines: 100000})
	if err != nil {
		panic(err)
	}
	return buf.Bytes(), tr
})

func dataLines(t *testing.T, b []byte) [][]string {
	t.Helper()
	var out [][]string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, strings.Split(l, "\t"))
	}
	return out
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Seed: 42, Lines: 20000, Hosts: []string{"www.example.com", "shop.example.org"}}
	var a, b, c bytes.Buffer
	ta, err := Write(&a, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := Write(&b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same config, different bytes")
	}
	if !reflect.DeepEqual(ta, tb) {
		t.Fatal("same config, different truth")
	}
	cfg.Seed = 43
	if _, err := Write(&c, cfg); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("different seeds, same bytes")
	}
}

func TestHeader(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Write(&buf, Config{Lines: 3}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	want := "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end"
	if lines[0] != "#Version: 1.0" || lines[1] != want {
		t.Fatalf("header:\n%s\n%s", lines[0], lines[1])
	}
	if len(lines) != 6 || lines[5] != "" {
		t.Fatalf("%d lines", len(lines))
	}
	if !strings.HasPrefix(lines[2], "2026-11-01\t00:00:") {
		t.Errorf("first line %q", lines[2][:30])
	}

	buf.Reset()
	tr, err := Write(&buf, Config{Lines: 3, NoHeader: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "#") || strings.Count(buf.String(), "\n") != 3 || tr.Lines != 3 {
		t.Fatalf("no header: %q", buf.String())
	}

	buf.Reset()
	tr, err = Write(&buf, Config{})
	if err != nil || tr.Lines != 0 || strings.Count(buf.String(), "\n") != 2 {
		t.Fatalf("zero lines: %v %+v %q", err, tr, buf.String())
	}
}

var (
	dateRe   = regexp.MustCompile(`^\d{4}-\d\d-\d\d$`)
	timeRe   = regexp.MustCompile(`^\d\d:\d\d:\d\d$`)
	secsRe   = regexp.MustCompile(`^\d+\.\d{3}$`)
	intRe    = regexp.MustCompile(`^\d+$`)
	optIntRe = regexp.MustCompile(`^(?:-|\d+)$`)
	statusRe = regexp.MustCompile(`^(?:000|[1-5]\d\d)$`)
	idRe     = regexp.MustCompile(`^[A-Za-z0-9_-]{54}==$`)
	distRe   = regexp.MustCompile(`^d[a-z0-9]{13}\.cloudfront\.net$`)
	escRe    = regexp.MustCompile(`%(?:[0-9A-F]{2})`)
)

func TestFields(t *testing.T) {
	b, _ := sample100k()
	ids := map[string]bool{}
	for n, f := range dataLines(t, b) {
		if len(f) != 33 {
			t.Fatalf("line %d: %d fields", n, len(f))
		}
		for i, v := range f {
			if v == "" {
				t.Fatalf("line %d field %s empty", n, Fields[i])
			}
			for k := 0; k < len(v); k++ {
				c := v[k]
				if c <= 0x20 || c >= 0x7f || strings.IndexByte("<>\"#{}|\\^~[]`'", c) >= 0 {
					t.Fatalf("line %d field %s: raw byte %#x in %q", n, Fields[i], c, v)
				}
				if c == '%' && !escRe.MatchString(v[k:min(k+3, len(v))]) {
					t.Fatalf("line %d field %s: bad escape in %q", n, Fields[i], v)
				}
			}
		}
		checks := []struct {
			i  int
			re *regexp.Regexp
		}{{0, dateRe}, {1, timeRe}, {3, intRe}, {6, distRe}, {8, statusRe}, {14, idRe}, {17, intRe},
			{18, secsRe}, {26, intRe}, {27, secsRe}, {30, optIntRe}, {31, optIntRe}, {32, optIntRe}}
		for _, c := range checks {
			if !c.re.MatchString(f[c.i]) {
				t.Fatalf("line %d: %s = %q", n, Fields[c.i], f[c.i])
			}
		}
		if ids[f[14]] {
			t.Fatalf("line %d: request id %s seen before", n, f[14])
		}
		ids[f[14]] = true
		if f[16] == "http" && (f[20] != "-" || f[21] != "-") {
			t.Fatalf("line %d: http with TLS %s %s", n, f[20], f[21])
		}
		if f[16] == "https" && f[20] == "-" {
			t.Fatalf("line %d: https without TLS", n)
		}
		if f[24] != "-" || f[25] != "-" {
			t.Fatalf("line %d: fle fields %s %s", n, f[24], f[25])
		}
		if (f[31] == "-") != (f[32] == "-") {
			t.Fatalf("line %d: half a range", n)
		}
		if strings.Contains(f[7], "?") {
			t.Fatalf("line %d: stem with '?': %s", n, f[7])
		}
	}
}

// decode undoes CloudFront's encoding once (what the peer does).
func decode(t *testing.T, s string) string {
	t.Helper()
	if s == "-" {
		return ""
	}
	d, err := url.PathUnescape(s)
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return d
}

// TestTruth recomputes the truth from the bytes, with the peer's regexes.
func TestTruth(t *testing.T) {
	b, tr := sample100k()
	lines := dataLines(t, b)
	var (
		byMethod  = map[string]int64{}
		byStatus  = map[string]int64{}
		byCat     = map[string]int64{}
		byAI      = map[string]int64{}
		byHost    = map[string]int64{}
		tracked   int64
		v6        int64
		chains    int64
		first     string
		last      string
		inversion int
	)
	for i, f := range lines {
		byMethod[f[5]]++
		byStatus[f[8]]++
		byHost[f[15]]++
		u := "https://" + f[15] + decode(t, f[7])
		if q := decode(t, f[11]); q != "" {
			u += "?" + q
		}
		cat := CategoryPage
		switch {
		case excludeRe.MatchString(u):
			cat = CategoryAsset
		case downloadRe.MatchString(u):
			cat = CategoryDownload
		}
		if got := Category(decode(t, f[7])); got != cat {
			t.Fatalf("Category(%q) = %s, regexes say %s", f[7], got, cat)
		}
		byCat[cat]++
		ua := strings.ToLower(decode(t, f[10]))
		for _, a := range aiTokens {
			if strings.Contains(ua, strings.ToLower(a)) {
				byAI[a]++
			}
		}
		if f[5] == "GET" && cat != CategoryAsset {
			for _, a := range allowlist {
				if strings.Contains(ua, strings.ToLower(a)) {
					tracked++
					break
				}
			}
		}
		if strings.Contains(f[4], ":") {
			v6++
		}
		if strings.Contains(f[19], ",") {
			chains++
		}
		ts := f[0] + " " + f[1]
		if i == 0 || ts < first {
			first = ts
		}
		if ts > last {
			last = ts
		}
		if i > 0 && ts < lines[i-1][0]+" "+lines[i-1][1] {
			inversion++
		}
	}
	if tr.Lines != int64(len(lines)) || tr.Lines != 100000 {
		t.Fatalf("truth %d lines, file %d", tr.Lines, len(lines))
	}
	for name, m := range map[string]map[string]int64{"method": tr.ByMethod, "status": tr.ByStatus, "category": tr.ByCategory,
		"result type": tr.ByResultType, "detailed result type": tr.ByDetailedResultType, "client": tr.ByClient,
		"host": tr.ByHost, "protocol": tr.ByProtocol, "protocol version": tr.ByProtocolVersion} {
		var sum int64
		for _, n := range m {
			sum += n
		}
		if sum != tr.Lines {
			t.Errorf("by %s adds up to %d, not %d", name, sum, tr.Lines)
		}
	}
	eq := func(name string, got, want map[string]int64) {
		t.Helper()
		for k, v := range want {
			if v == 0 {
				delete(want, k)
			}
		}
		for k, v := range got {
			if v == 0 {
				delete(got, k)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("by %s: truth %v, file %v", name, got, want)
		}
	}
	eq("method", tr.ByMethod, byMethod)
	eq("status", tr.ByStatus, byStatus)
	eq("category", tr.ByCategory, byCat)
	eq("AI assistant", tr.ByAIAssistant, byAI)
	eq("host", tr.ByHost, byHost)
	if tr.AIGetTracked != tracked {
		t.Errorf("ai_get_tracked: truth %d, file %d", tr.AIGetTracked, tracked)
	}
	var byName int64
	for _, n := range tr.AIGetTrackedByName {
		byName += n
	}
	if byName != tr.AIGetTracked {
		t.Errorf("ai_get_tracked_by_name adds up to %d, not %d", byName, tr.AIGetTracked)
	}
	if tr.IPv6 != v6 || tr.XFFChains != chains {
		t.Errorf("ipv6 %d/%d, chains %d/%d", tr.IPv6, v6, tr.XFFChains, chains)
	}
	if got := tr.First.Format("2006-01-02 15:04:05"); got != first {
		t.Errorf("first %s, file %s", got, first)
	}
	if got := tr.Last.Format("2006-01-02 15:04:05"); got != last {
		t.Errorf("last %s, file %s", got, last)
	}

	// times: about a day, mostly but not strictly increasing
	if d := tr.Last.Sub(tr.First); d < 22*time.Hour || d > 25*time.Hour {
		t.Errorf("lines span %v", d)
	}
	if inversion == 0 || inversion > len(lines)/4 {
		t.Errorf("%d lines earlier than the line before", inversion)
	}
}

func TestRealism(t *testing.T) {
	b, tr := sample100k()
	n := float64(tr.Lines)
	share := func(name string, got int64, lo, hi float64) {
		t.Helper()
		if s := float64(got) / n; s < lo || s > hi {
			t.Errorf("%s: %.2f %% of lines, want %.1f-%.1f %%", name, 100*s, 100*lo, 100*hi)
		}
	}
	share("AI assistants", tr.ByClient["ai_assistant"], 0.02, 0.05)
	share("IPv6", tr.IPv6, 0.10, 0.20)
	share("GET", tr.ByMethod["GET"], 0.9, 0.99)
	share("200", tr.ByStatus["200"], 0.8, 0.95)
	share("x-forwarded-for", tr.XForwardedFor, 0.02, 0.12)
	share("queries", tr.Queries, 0.02, 0.2)
	share("assets", tr.ByCategory[CategoryAsset], 0.4, 0.8)
	share("downloads", tr.ByCategory[CategoryDownload], 0.005, 0.1)
	share("crawlers", tr.ByClient["crawler"], 0.05, 0.3)
	share("AI GET tracked", tr.AIGetTracked, 0.01, 0.05)
	for _, s := range []string{"000", "200", "206", "301", "302", "304", "403", "404", "416", "500", "502", "503", "504"} {
		if tr.ByStatus[s] == 0 {
			t.Errorf("no status %s", s)
		}
	}
	for _, m := range []string{"GET", "HEAD", "POST", "OPTIONS", "PUT", "DELETE"} {
		if tr.ByMethod[m] == 0 {
			t.Errorf("no method %s", m)
		}
	}
	for _, r := range []string{"Hit", "RefreshHit", "Miss", "Error", "Redirect", "LimitExceeded", "CapacityExceeded"} {
		if tr.ByResultType[r] == 0 {
			t.Errorf("no result type %s", r)
		}
	}
	for _, r := range []string{"OriginShieldHit", "MissGeneratedResponse", "ClientCommError", "OriginDnsError", "OriginConnectError"} {
		if tr.ByDetailedResultType[r] == 0 {
			t.Errorf("no detailed result type %s", r)
		}
	}
	for _, a := range aiTokens {
		if tr.ByAIAssistant[a] == 0 {
			t.Errorf("no %s", a)
		}
	}
	for _, v := range []string{"HTTP/1.1", "HTTP/2.0", "HTTP/3.0"} {
		if tr.ByProtocolVersion[v] == 0 {
			t.Errorf("no %s", v)
		}
	}
	if tr.XFFChains == 0 || tr.Ranges == 0 || tr.LongQueries == 0 || tr.Cookies == 0 || tr.ByProtocol["http"] == 0 {
		t.Errorf("chains %d, ranges %d, long queries %d, cookies %d, http %d", tr.XFFChains, tr.Ranges, tr.LongQueries, tr.Cookies, tr.ByProtocol["http"])
	}

	seen := map[string]bool{}
	lines := dataLines(t, b)
	lens := 0
	for _, f := range lines {
		l := len(strings.Join(f, "\t"))
		lens += l
		switch {
		case strings.Contains(f[19], ",%20"):
			seen["xff ,%20"] = true
		case strings.Contains(f[19], ","):
			seen["xff ,"] = true
		}
		if f[8] == "206" && f[31] != "-" {
			seen["206 with range"] = true
		}
		if f[8] == "000" {
			seen["000"] = true
			if f[13] != "Error" {
				t.Errorf("000 with result type %s", f[13])
			}
		}
		if strings.Contains(f[11], "%25C3%25A9") {
			seen["double-encoded query"] = true
		}
		if strings.Contains(f[11], "%2520") {
			seen["double-encoded space"] = true
		}
		if strings.Contains(f[11], "+") {
			seen["+ in query"] = true
		}
		if strings.Contains(f[7], "%25C3%25A9") {
			seen["double-encoded stem"] = true
		}
		if strings.Contains(f[9], "%25") {
			seen["double-encoded referrer"] = true
		}
		if f[10] == "-" {
			seen["empty user agent"] = true
		}
		if strings.Contains(f[10], "%20") {
			seen["%20 in user agent"] = true
		}
		if strings.Contains(f[29], "text/html;%20charset=utf-8") {
			seen["html content type"] = true
		}
		if strings.HasPrefix(f[4], "192.0.2.") || strings.HasPrefix(f[4], "198.51.100.") || strings.HasPrefix(f[4], "203.0.113.") {
			seen["documentation IPv4"] = true
		}
		if strings.HasPrefix(f[4], "2001:db8:") {
			seen["documentation IPv6"] = true
		}
		if f[12] != "-" {
			seen["cookie"] = true
		}
		if l > 1500 {
			seen["long line"] = true
		}
	}
	for _, k := range []string{"xff ,%20", "xff ,", "206 with range", "000", "double-encoded query", "double-encoded space",
		"+ in query", "double-encoded stem", "double-encoded referrer", "empty user agent", "%20 in user agent",
		"html content type", "documentation IPv4", "documentation IPv6", "cookie", "long line"} {
		if !seen[k] {
			t.Errorf("no %s", k)
		}
	}
	if avg := lens / len(lines); avg < 300 || avg > 700 {
		t.Errorf("average line length %d", avg)
	}
}

func TestHostsAndStart(t *testing.T) {
	var buf bytes.Buffer
	start := time.Date(2025, 3, 14, 8, 0, 0, 0, time.FixedZone("x", 3600))
	tr, err := Write(&buf, Config{Seed: 3, Lines: 5000, Start: start, Span: time.Hour, Hosts: []string{"www.example.com", "docs.example.com", "shop.example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"www.example.com", "docs.example.com", "shop.example.org"} {
		if tr.ByHost[h] == 0 {
			t.Errorf("no line for %s", h)
		}
	}
	if !tr.First.Equal(start) || tr.Last.Sub(start) > 75*time.Minute || tr.Last.Sub(start) < 50*time.Minute {
		t.Errorf("first %v last %v", tr.First, tr.Last)
	}
	if !strings.Contains(buf.String(), "\n2025-03-14\t07:00:") {
		t.Error("times are not UTC")
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	tr, err := Write(&failWriter{n: 1 << 20}, Config{Lines: 1000000})
	if err == nil || err.Error() != "disk full" {
		t.Fatalf("err = %v", err)
	}
	if tr.Lines > 20000 {
		t.Errorf("went on for %d lines after the error", tr.Lines)
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "-",
		"Mozilla/5.0 (X11; Linux)": "Mozilla/5.0%20(X11;%20Linux)",
		"q=caf%C3%A9":              "q=caf%25C3%25A9",
		"q=a%20b+c":                "q=a%2520b+c",
		"café":                     "caf%C3%A9",
		"<>\"#%{}|\\^~[]`'":        "%3C%3E%22%23%25%7B%7D%7C%5C%5E%7E%5B%5D%60%27",
		"a\tb\nc\x7f":              "a%09b%0Ac%7F",
		"text/html; charset=utf-8": "text/html;%20charset=utf-8",
		"/a,b;c=d&e:f@g!$()*":      "/a,b;c=d&e:f@g!$()*",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCategory(t *testing.T) {
	for _, stem := range []string{"/", "/about", "/a.css", "/A.CSS", "/x/y.tar.gz", "/f.json", "/f.txt", "/r.PDF",
		"/img/a.JPG", "/a.php", "/.env", "/.git/config", "/a.b/c", "/a.", "/s.xml", "/v.mp4", "/x.woff2", "/x.7z",
		"/x.zip.sig", "/x.md5", "/x.DS_Store", "/a.html", "/docs/getting started.html", "/caf\xc3\xa9.pdf"} {
		u := "https://www.example.com" + stem
		want := CategoryPage
		switch {
		case excludeRe.MatchString(u):
			want = CategoryAsset
		case downloadRe.MatchString(u):
			want = CategoryDownload
		}
		if got := Category(stem); got != want {
			t.Errorf("Category(%q) = %s, want %s", stem, got, want)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	for b.Loop() {
		if _, err := Write(discard{}, Config{Seed: 1, Lines: 100000}); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
