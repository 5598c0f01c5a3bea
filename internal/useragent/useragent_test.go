package useragent

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/ua-parser/uap-go/uaparser"
)

// newParser returns a Parser, failing the test or benchmark if New fails.
func newParser(tb testing.TB, cacheSize int) *Parser {
	tb.Helper()
	p, err := New(cacheSize)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// corpus returns the user agents of testdata/uas.txt.
func corpus(tb testing.TB) []string {
	tb.Helper()
	f, err := os.Open("testdata/uas.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var uas []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# "):
			continue
		case line == "<empty>":
			line = ""
		}
		uas = append(uas, line)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return uas
}

// longUA is a 10 KB user agent: a real one padded with tokens; different
// variants differ in their first bytes.
func longUA(variant int) string {
	ua := fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36", 100+variant)
	return ua + strings.Repeat(" Foo/1.0 (compatible; x)", (10240-len(ua))/24+1)
}

var validDevices = map[string]bool{
	DeviceDesktop: true, DevicePhone: true, DeviceTablet: true, DeviceTV: true,
	DeviceConsole: true, DeviceBot: true, DeviceOther: true,
}

func TestParse(t *testing.T) {
	tests := []struct {
		ua   string
		want Info
	}{
		// Desktop browsers.
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			Info{"Chrome", "Windows", DeviceDesktop}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
			Info{"Chrome", "macOS", DeviceDesktop}},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36",
			Info{"Chrome", "Linux", DeviceDesktop}},
		{"Mozilla/5.0 (X11; CrOS x86_64 15917.71.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/139.0.0.0 Safari/537.36",
			Info{"Chrome", "Chrome OS", DeviceDesktop}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
			Info{"Edge", "Windows", DeviceDesktop}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045",
			Info{"Edge", "Windows", DeviceDesktop}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 OPR/111.0.0.0",
			Info{"Opera", "Windows", DeviceDesktop}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
			Info{"Firefox", "Windows", DeviceDesktop}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0",
			Info{"Firefox", "macOS", DeviceDesktop}},
		{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
			Info{"Firefox", "Ubuntu", DeviceDesktop}},
		{"Mozilla/5.0 (X11; FreeBSD amd64; rv:124.0) Gecko/20100101 Firefox/124.0",
			Info{"Firefox", "FreeBSD", DeviceDesktop}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
			Info{"Safari", "macOS", DeviceDesktop}},
		{"Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0; SLCC2; .NET CLR 2.0.50727; Media Center PC 6.0; Tablet PC 2.0)",
			Info{"IE", "Windows", DeviceDesktop}}, // "Tablet PC" is not a tablet
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Safari/537.36",
			Info{"Samsung Internet", "Linux", DeviceDesktop}}, // "desktop site" on a phone
		{"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17628; Pro)",
			Info{"Outlook", "Windows", DeviceDesktop}},

		// Phones.
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			Info{"Mobile Safari", "iOS", DevicePhone}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/129.0.6668.69 Mobile/15E148 Safari/604.1",
			Info{"Chrome Mobile iOS", "iOS", DevicePhone}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/468.0.0.49.108;FBBV/614428224;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.5.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/615693186]",
			Info{"Facebook", "iOS", DevicePhone}},
		{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
			Info{"Chrome Mobile", "Android", DevicePhone}},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 6 Build/AP2A.240605.024; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.147 Mobile Safari/537.36",
			Info{"Chrome Mobile WebView", "Android", DevicePhone}},
		{"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
			Info{"Samsung Internet", "Android", DevicePhone}},
		{"Mozilla/5.0 (Android 14; Mobile; rv:126.0) Gecko/126.0 Firefox/126.0",
			Info{"Firefox Mobile", "Android", DevicePhone}},
		{"Dalvik/2.1.0 (Linux; U; Android 13; SM-A546B Build/TP1A.220624.014)",
			Info{"Android", "Android", DevicePhone}}, // an app: Android without "Mobile", not a browser
		{"Mozilla/5.0 (compatible; MSIE 10.0; Windows Phone 8.0; Trident/6.0; IEMobile/10.0; ARM; Touch; NOKIA; Lumia 920)",
			Info{"IE Mobile", "Windows Phone", DevicePhone}},
		{"Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i;Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5",
			Info{"Firefox Mobile", "KaiOS", DevicePhone}},
		{"Nokia6300/2.0 (05.00) Profile/MIDP-2.0 Configuration/CLDC-1.1",
			Info{"Nokia Services (WAP) Browser", "Other", DevicePhone}},
		{"MyApp/1.0 CFNetwork/1496.0.7 Darwin/23.5.0",
			Info{"MyApp", "iOS", DevicePhone}},

		// Tablets.
		{"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			Info{"Mobile Safari", "iOS", DeviceTablet}},
		{"Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.113 Safari/537.36",
			Info{"Chrome", "Android", DeviceTablet}},
		{"Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Safari/537.36",
			Info{"Samsung Internet", "Android", DeviceTablet}},
		{"Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/124.2.3 like Chrome/124.0.6367.118 Safari/537.36",
			Info{"Amazon Silk", "Android", DeviceTablet}},
		{"Mozilla/5.0 (Android 13; Tablet; rv:126.0) Gecko/126.0 Firefox/126.0",
			Info{"Firefox Mobile", "Android", DeviceTablet}},

		// TVs.
		{"Mozilla/5.0 (SMART-TV; Linux; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/5.0 Chrome/94.0.4606.31 TV Safari/537.36",
			Info{"Samsung Internet", "Tizen", DeviceTV}},
		{"Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36 WebAppManager",
			Info{"Chrome", "Web0S", DeviceTV}},
		{"Mozilla/5.0 (Linux; Android 10; BRAVIA 4K VH2 Build/QTG3.200305.006.S292) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/110.0.5481.154 Safari/537.36",
			Info{"Chrome", "Android", DeviceTV}},
		{"Mozilla/5.0 (Linux; Android 9; AFTMM) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.3.12 like Chrome/120.0.6099.230 Safari/537.36",
			Info{"Amazon Silk", "Android", DeviceTV}}, // Fire TV, not a Kindle
		{"Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.88 Safari/537.36 CrKey/1.56.500000 DeviceType/AndroidTV",
			Info{"Chrome", "Chromecast Linux", DeviceTV}},
		{"AppleTV11,1/11.1",
			Info{"Other", "ATV OS X", DeviceTV}},
		{"HbbTV/1.5.1 (+DRM;Samsung;SmartTV2020;T-HKMFDEUC-1610.0;;) Tizen/5.5 (+TVPLUS+SmartHubLink) Chrome/69",
			Info{"HbbTV", "Tizen", DeviceTV}},
		{"Mozilla/5.0 (Linux; Tizen 2.3) AppleWebKit/538.1 (KHTML, like Gecko)Version/2.3 TV Safari/538.1",
			Info{"Safari", "Tizen", DeviceTV}},

		// Consoles.
		{"Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15",
			Info{"Safari", "Other", DeviceConsole}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edge/44.18363.8131",
			Info{"Edge", "Windows", DeviceConsole}},
		{"Mozilla/5.0 (Nintendo Switch; WifiWebAuthApplet) AppleWebKit/609.4 (KHTML, like Gecko) NF/6.0.3.25.0 NintendoBrowser/5.1.0.32061",
			Info{"Other", "Other", DeviceConsole}},

		// Bots, AI agents, HTTP libraries.
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			Info{"Googlebot", "Other", DeviceBot}},
		{"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.141 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			Info{"Googlebot", "Android", DeviceBot}}, // a bot first, a phone second
		{"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
			Info{"bingbot", "Other", DeviceBot}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
			Info{"Applebot", "macOS", DeviceBot}},
		{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
			Info{"GPTBot", "Other", DeviceBot}},
		{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot",
			Info{"ChatGPT-User", "Other", DeviceBot}},
		{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
			Info{"ClaudeBot", "Other", DeviceBot}},
		{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Claude-User/1.0; +Claude-User@anthropic.com)",
			Info{"Claude-User", "Other", DeviceBot}},
		{"Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
			Info{"Bytespider", "Android", DeviceBot}},
		{"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
			Info{"FacebookBot", "Other", DeviceBot}},
		{"WhatsApp/2.23.20.0 A", Info{"WhatsApp", "Other", DeviceBot}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36",
			Info{"HeadlessChrome", "Windows", DeviceBot}},
		{"curl/8.7.1", Info{"curl", "Other", DeviceBot}},
		{"Wget/1.21.4", Info{"Wget", "Other", DeviceBot}},
		{"python-requests/2.32.3", Info{"Python Requests", "Other", DeviceBot}},
		{"python-httpx/0.27.0", Info{"python-httpx", "Other", DeviceBot}},
		{"Go-http-client/1.1", Info{"Go-http-client", "Other", DeviceBot}},
		{"Python-urllib/3.12", Info{"Python-urllib", "Other", DeviceBot}},
		{"node", Info{"node", "Other", DeviceBot}},
		{"libwww-perl/6.77", Info{"libwww-perl", "Other", DeviceBot}}, // uap-core's device says "Generic Feature Phone"

		// Nothing, or garbage.
		{"", Info{"Other", "Other", DeviceOther}},
		{"-", Info{"Other", "Other", DeviceOther}},
		{"   ", Info{"Other", "Other", DeviceOther}},
		{"x", Info{"Other", "Other", DeviceOther}},
		{"Mozilla/5.0", Info{"Other", "Other", DeviceOther}},
		{"'\"><script>alert(1)</script>", Info{"Other", "Other", DeviceOther}},
		{"${jndi:ldap://example.com/a}", Info{"Other", "Other", DeviceOther}},
		{"ÄÖÜ äöü ß 日本語 ユーザーエージェント", Info{"Other", "Other", DeviceOther}},
		{"\xff\xfe\x00garbage\x00", Info{"Other", "Other", DeviceOther}},
		// Not a bot: "Cubot" is a phone brand, although uap-core's generic
		// Spider regex sees "bot" in it.
		{"Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
			Info{"Chrome Mobile", "Android", DevicePhone}},
	}
	cached := newParser(t, 1000)
	uncached := newParser(t, 0)
	for _, tt := range tests {
		if got := uncached.Parse(tt.ua); got != tt.want {
			t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.ua, got, tt.want)
		}
		for range 2 { // a miss, then a hit
			if got := cached.Parse(tt.ua); got != tt.want {
				t.Errorf("cached Parse(%q)\n got %+v\nwant %+v", tt.ua, got, tt.want)
			}
		}
	}
}

func TestHasModel(t *testing.T) {
	tests := []struct {
		ua, prefix string
		want       bool
	}{
		{"Mozilla/5.0 (Linux; Android 9; AFTMM) AppleWebKit", "AFT", true},
		{"Mozilla/5.0 (Linux; Android 9; AFTKA Build/PS7624.3337N; wv)", "AFT", true},
		{"AFTSSS;", "AFT", true},
		{"Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit", "KF", true},
		{"Mozilla/5.0 (X11; After Dark) Foo", "AFT", false},                  // lower case
		{"Mozilla/5.0 (X11; Linux; CRAFTMM)", "AFT", false},                  // not a word of its own
		{"Mozilla/5.0 (X11; Linux) AFTMM", "AFT", false},                     // not after "; " or "("
		{"Mozilla/5.0 (Linux; Android 5.1; AFTM Build/LVY48F)", "AFT", true}, // Fire TV Stick, 2014
		{"Mozilla/5.0 (X11; Linux; AFTMM2)", "AFT", false},                   // a digit ends no model
		{"Mozilla/5.0 (X11; Linux; AFT", "AFT", false},
		{"", "AFT", false},
	}
	for _, tt := range tests {
		if got := hasModel(tt.ua, tt.prefix); got != tt.want {
			t.Errorf("hasModel(%q, %q) = %v, want %v", tt.ua, tt.prefix, got, tt.want)
		}
	}
}

// TestCorpus parses every user agent of the benchmark's corpus: each answer
// is well formed and the same with and without the cache.
func TestCorpus(t *testing.T) {
	uas := corpus(t)
	if len(uas) < 200 {
		t.Fatalf("corpus has %d user agents, want at least 200", len(uas))
	}
	p := newParser(t, 1000)
	counts := map[string]int{}
	for _, ua := range uas {
		got := p.Parse(ua) // a miss
		checkInfo(t, ua, got)
		if c := p.Parse(ua); c != got { // a hit
			t.Errorf("Parse(%q): cached %+v, uncached %+v", ua, c, got)
		}
		counts[got.Device]++
	}
	for d := range validDevices {
		if counts[d] == 0 {
			t.Errorf("no %s in the corpus", d)
		}
	}
	t.Logf("devices in the corpus: %v", counts)
}

func checkInfo(t *testing.T, ua string, got Info) {
	t.Helper()
	if got.Browser == "" || got.OS == "" || !validDevices[got.Device] {
		t.Errorf("Parse(%q) = %+v: empty family or unknown device", ua, got)
	}
	if got.OS == "Mac OS X" {
		t.Errorf("Parse(%q).OS = %q, want macOS", ua, got.OS)
	}
}

func TestCacheBound(t *testing.T) {
	const size = 3
	p := newParser(t, size)
	uas := corpus(t)[:10]
	for i, ua := range uas {
		want := p.parse(ua)
		if got := p.Parse(ua); got != want {
			t.Errorf("Parse(%q) = %+v, want %+v", ua, got, want)
		}
		if n := len(p.cache); n > size || n == 0 {
			t.Fatalf("after %d user agents the cache has %d entries, want 1..%d", i+1, n, size)
		}
	}
	if off := newParser(t, 0); off.cache != nil {
		t.Error("New(0) made a cache")
	}
	if off := newParser(t, -1); off.cache != nil {
		t.Error("New(-1) made a cache")
	}
}

func TestLongUserAgent(t *testing.T) {
	p := newParser(t, 10)
	ua := longUA(0)
	if len(ua) < 10240 {
		t.Fatalf("long user agent is %d bytes", len(ua))
	}
	got := p.Parse(ua)
	if want := (Info{"Chrome", "Windows", DeviceDesktop}); got != want {
		t.Errorf("Parse(10 KB UA) = %+v, want %+v", got, want)
	}
	if want := p.Parse(ua[:MaxLen]); got != want {
		t.Errorf("Parse(10 KB UA) = %+v, Parse(its first MaxLen bytes) = %+v", got, want)
	}
	for k := range p.cache {
		if len(k) > MaxLen {
			t.Errorf("cache key of %d bytes", len(k))
		}
	}
	// A long run of a character that uap-core's regexes repeat ({0,200}...).
	checkInfo(t, "long-a", p.Parse(strings.Repeat("a", 10240)))
	checkInfo(t, "long-semicolons", p.Parse("Mozilla/5.0 ("+strings.Repeat("; Android", 1200)))
}

// TestConcurrent is for the race detector: one Parser, many goroutines.
func TestConcurrent(t *testing.T) {
	p := newParser(t, 20) // small, so that it is cleared while in use
	uas := corpus(t)[:60]
	want := make([]Info, len(uas))
	for i, ua := range uas {
		want[i] = p.parse(ua)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range uas {
				j := (i + g*17) % len(uas)
				if got := p.Parse(uas[j]); got != want[j] {
					t.Errorf("Parse(%q) = %+v, want %+v", uas[j], got, want[j])
				}
			}
		})
	}
	wg.Wait()
}

func FuzzParse(f *testing.F) {
	for _, ua := range corpus(f) {
		f.Add(ua)
	}
	f.Add(longUA(0))
	p := newParser(f, 100)
	f.Fuzz(func(t *testing.T, ua string) {
		got := p.Parse(ua)
		checkInfo(t, ua, got)
	})
}

// BenchmarkParseUncached is the cost of a user agent seen for the first time:
// the corpus's user agents in turn, with no cache.
func BenchmarkParseUncached(b *testing.B) {
	uas := corpus(b)
	p := newParser(b, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Parse(uas[i%len(uas)])
		i++
	}
}

// BenchmarkParseCached is the cost of a user agent already in the cache.
func BenchmarkParseCached(b *testing.B) {
	uas := corpus(b)
	p := newParser(b, len(uas))
	for _, ua := range uas {
		p.Parse(ua)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Parse(uas[i%len(uas)])
		i++
	}
}

// BenchmarkParseLong is the cost of a new 10 KB user agent (Parse looks at
// its first MaxLen bytes). Two alternate, to defeat uap-go's own cache (of
// one entry).
func BenchmarkParseLong(b *testing.B) {
	p := newParser(b, 0)
	uas := []string{longUA(0), longUA(1)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Parse(uas[i%2])
		i++
	}
}

// BenchmarkParseLongUntruncated is what BenchmarkParseLong would cost if
// Parse looked at the whole 10 KB (uap-go directly, full device parse).
func BenchmarkParseLongUntruncated(b *testing.B) {
	up, err := uaparser.New(uaparser.WithCacheSize(1))
	if err != nil {
		b.Fatal(err)
	}
	uas := []string{longUA(0), longUA(1)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ua := uas[i%2]
		up.ParseUserAgent(ua)
		up.ParseOs(ua)
		up.ParseDevice(ua)
		i++
	}
}

// BenchmarkUAPSequential is uap-go alone, user agent, OS and device parsed
// one after the other with its cache defeated: the cost that Parse's skipping
// of the device parse saves on.
func BenchmarkUAPSequential(b *testing.B) {
	uas := corpus(b)
	up, err := uaparser.New(uaparser.WithCacheSize(1))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ua := uas[i%len(uas)]
		up.ParseUserAgent(ua)
		up.ParseOs(ua)
		up.ParseDevice(ua)
		i++
	}
}

// BenchmarkUAPParse is uap-go's own Parse, which runs the three parses in
// three goroutines (less wall time on several cores, more CPU in all).
func BenchmarkUAPParse(b *testing.B) {
	uas := corpus(b)
	up, err := uaparser.New(uaparser.WithCacheSize(1))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		up.Parse(uas[i%len(uas)])
		i++
	}
}

// BenchmarkNew is the cost of New.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		newParser(b, 1000)
	}
}

// TestParserMemory logs the heap that New takes: the first New of a process
// also parses uap-go's embedded YAML, which it keeps for later ones (so run
// it alone for that number: go test -run TestParserMemory -v).
func TestParserMemory(t *testing.T) {
	heap := func() int64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	h0 := heap()
	p1 := newParser(t, 0)
	h1 := heap()
	p2 := newParser(t, 0)
	h2 := heap()
	for _, ua := range corpus(t) {
		p2.Parse(ua)
	}
	h3 := heap()
	t.Logf("heap after the first New: +%.1f MiB; after a second: +%.1f MiB; after the second parsed the corpus: +%.1f MiB",
		float64(h1-h0)/(1<<20), float64(h2-h1)/(1<<20), float64(h3-h2)/(1<<20))
	runtime.KeepAlive(p1)
	runtime.KeepAlive(p2)
}
