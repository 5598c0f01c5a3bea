package classify

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trackless/trackless/internal/hit"
)

// TestDefaultsMatchThePeersRegexes checks that the byte-scan fast path
// decides exactly as the peer's default regular expressions.
func TestDefaultsMatchThePeersRegexes(t *testing.T) {
	doc := regexp.MustCompile("(?i)" + DefaultDocument)
	exc := regexp.MustCompile("(?i)" + DefaultExclude)
	c, err := New(Config{RecMode: 2})
	if err != nil {
		t.Fatal(err)
	}
	urls := []string{
		"https://www.example.com/", "https://www.example.com", "https://example.com/a.PDF", "https://example.com/a.pdf?x=1",
		"https://example.com/a.pdf.html", "https://example.com/style.css?v=3", "https://example.com/x.json", "https://example.com/feed.xml",
		"https://example.com/a.tar.gz", "https://example.com/app.js#x", "https://example.com/?f=a.pdf", "https://example.com/dir.pdf/",
		"https://example.com/.pdf", "https://example.com/a.mpeg", "https://example.com/a.mpg", "https://example.com/a.jpeg?",
		"https://example.com/a.JpG", "https://example.com/a.woff2", "https://example.com/a.tif", "https://example.com/a.docx",
		"https://example.com/readme.txt", "https://example.com/a.7z", "https://example.com/a.pdf?b.css", "https://example.com/a.css.map",
		"https://example.com/a.", "https://example.com/a..pdf", "https://host.pdf", "https://example.com/résumé.pdf",
	}
	for _, u := range urls {
		want := hit.Page
		if exc.MatchString(u) {
			want = hit.Asset
		} else if doc.MatchString(u) {
			want = hit.Download
		}
		if got := c.kind(u, ""); got != want {
			t.Errorf("%s: %v, the regexes say %v", u, got, want)
		}
		// Without the URL, the path alone gives the same kind (PageURL's
		// URLs always have a path after the host).
		if rest, ok := strings.CutPrefix(u, "https://"); ok && strings.Contains(rest, "/") {
			path := rest[strings.IndexByte(rest, '/'):]
			if p, _, _ := strings.Cut(path, "?"); c.kind("", p) != want {
				t.Errorf("%s: path %s gives %v, want %v", u, p, c.kind("", p), want)
			}
		}
	}
}

func TestClassify(t *testing.T) {
	chatgpt := "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot"
	chrome := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	tests := []struct {
		name   string
		cfg    Config
		method string
		ua     string
		url    string
		want   Result
	}{
		{"AI page, mode 1", Config{RecMode: 1}, "GET", chatgpt, "https://e.com/", Result{Facts: Facts{Agent: "ChatGPT-User", Bot: true, Category: CatAIAssistant}}},
		{"AI download", Config{RecMode: 1}, "GET", chatgpt, "https://e.com/a.pdf", Result{Facts: Facts{Agent: "ChatGPT-User", Bot: true, Category: CatAIAssistant, Kind: hit.Download}}},
		{"AI asset excluded", Config{RecMode: 1}, "GET", chatgpt, "https://e.com/a.css", Result{Facts: Facts{Agent: "ChatGPT-User", Bot: true, Category: CatAIAssistant, Kind: hit.Asset}, Skip: SkipExcluded}},
		{"browser skipped in mode 1", Config{RecMode: 1}, "GET", chrome, "https://e.com/", Result{Skip: SkipUserAgent}},
		{"browser kept in mode 2", Config{RecMode: 2}, "GET", chrome, "https://e.com/", Result{}},
		{"empty UA skipped in mode 2", Config{RecMode: 2}, "GET", "", "https://e.com/", Result{Facts: Facts{Bot: true, Category: CatOtherBot}, Skip: SkipUserAgent}},
		{"POST skipped", Config{RecMode: 2}, "POST", chrome, "https://e.com/", Result{Skip: SkipMethod}},
		{"POST allowed", Config{RecMode: 2, Methods: []string{"get", " POST"}}, "POST", chrome, "https://e.com/", Result{}},
		{"DuckAssistBot is an AI assistant but not in the peer's allowlist", Config{RecMode: 1}, "GET", "DuckAssistBot/1.1", "https://e.com/", Result{Facts: Facts{Agent: "DuckAssistBot", Bot: true, Category: CatAIAssistant}, Skip: SkipUserAgent}},
		{"Google-GeminiNotebook is stored as Google-NotebookLM", Config{RecMode: 1}, "GET", "Google-GeminiNotebook", "https://e.com/", Result{Facts: Facts{Agent: "Google-NotebookLM", Bot: true, Category: CatAIAssistant}}},
		{"case-insensitive", Config{RecMode: 1}, "GET", "claude-user/1.0", "https://e.com/", Result{Facts: Facts{Agent: "Claude-User", Bot: true, Category: CatAIAssistant}}},
		{"custom allowlist", Config{RecMode: 1, UserAgentRegex: "CURL"}, "GET", "curl/8.5.0", "https://e.com/", Result{Facts: Facts{Bot: true, Category: CatHTTPLibrary}}},
		{"custom exclusion", Config{RecMode: 2, URLExcludeRegex: `/private/`}, "GET", chrome, "https://e.com/private/x", Result{Facts: Facts{Kind: hit.Asset}, Skip: SkipExcluded}},
		{"custom document", Config{RecMode: 2, DocumentRegex: `\.custom$`}, "GET", chrome, "https://e.com/a.custom", Result{Facts: Facts{Kind: hit.Download}}},
		{"visits: a browser", Config{Visits: true}, "GET", chrome, "https://e.com/", Result{}},
		{"visits: a bot is skipped", Config{Visits: true}, "GET", "python-requests/2.32", "https://e.com/", Result{Facts: Facts{Bot: true, Category: CatHTTPLibrary}, Skip: SkipBot}},
		{"visits: an AI assistant is a bot", Config{Visits: true}, "GET", chatgpt, "https://e.com/", Result{Facts: Facts{Agent: "ChatGPT-User", Bot: true, Category: CatAIAssistant}, Skip: SkipBot}},
		{"visits: bots enabled", Config{Visits: true, EnableBots: true}, "GET", "curl/8", "https://e.com/", Result{Facts: Facts{Bot: true, Category: CatHTTPLibrary}, BotsParam: true}},
		{"visits: bots enabled, a browser keeps bots=1", Config{Visits: true, EnableBots: true}, "GET", chrome, "https://e.com/", Result{BotsParam: true}},
		{"visits: every method by default", Config{Visits: true}, "HEAD", chrome, "https://e.com/", Result{}},
		{"visits: methods when asked", Config{Visits: true, Methods: []string{"GET"}}, "HEAD", chrome, "https://e.com/", Result{Skip: SkipMethod}},
		{"visits: robots.txt is static", Config{Visits: true}, "GET", chrome, "https://e.com/robots.txt?x", Result{Facts: Facts{Kind: hit.Asset}, Skip: SkipExcluded}},
		{"visits: importer's downloads", Config{Visits: true}, "GET", chrome, "https://e.com/feed.json", Result{Facts: Facts{Kind: hit.Download}}},
		{"visits: .xml is static", Config{Visits: true}, "GET", chrome, "https://e.com/sitemap.xml", Result{Facts: Facts{Kind: hit.Asset}, Skip: SkipExcluded}},
		{"visits: static skipped", Config{Visits: true}, "GET", chrome, "https://e.com/a.css", Result{Facts: Facts{Kind: hit.Asset}, Skip: SkipExcluded}},
		{"visits: static enabled", Config{Visits: true, EnableStatic: true}, "GET", chrome, "https://e.com/a.css", Result{Facts: Facts{Kind: hit.Asset}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			h := hit.Hit{Method: tt.method, UserAgent: tt.ua, Status: 200}
			_, tt.want.BotName = Bot(tt.ua) // TestBotNames checks names
			for i := 0; i < 2; i++ {        // the second time from the cache
				if got := c.Classify(&h, tt.url); got != tt.want {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
			}
		})
	}
}

// TestNoUserAgentField: a hit of a log without a user-agent field is a
// person's, not a bot's; an empty user agent of a log that has the field
// stays a bot's.
func TestNoUserAgentField(t *testing.T) {
	person := Result{}
	emptyBot := Result{Facts: Facts{Bot: true, Category: CatOtherBot, BotName: NoUserAgent}}
	tests := []struct {
		name    string
		cfg     Config
		noField bool
		want    Result
	}{
		{"rec mode 2, no field: sent as a browser", Config{RecMode: 2}, true, person},
		{"rec mode 2, empty user agent: a bot, skipped", Config{RecMode: 2}, false, withSkip(emptyBot, SkipUserAgent)},
		{"rec mode 1, no field: no AI assistant, skipped", Config{RecMode: 1}, true, withSkip(person, SkipUserAgent)},
		{"rec mode 1, empty user agent", Config{RecMode: 1}, false, withSkip(emptyBot, SkipUserAgent)},
		{"visits, no field: a person, sent", Config{Visits: true}, true, person},
		{"visits, empty user agent: a bot, skipped", Config{Visits: true}, false, withSkip(emptyBot, SkipBot)},
		{"visits with bots, empty user agent", Config{Visits: true, EnableBots: true}, false, Result{Facts: Facts{Bot: true, Category: CatOtherBot, BotName: NoUserAgent}, BotsParam: true}},
		{"allowlist that matches anything, no field", Config{RecMode: 1, UserAgentRegex: ".*"}, true, person},
		{"allowlist of a browser, no field", Config{RecMode: 1, UserAgentRegex: "Firefox"}, true, withSkip(person, SkipUserAgent)},
		{"allowlist that matches anything, empty user agent", Config{RecMode: 1, UserAgentRegex: ".*"}, false, withSkip(emptyBot, SkipUserAgent)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			h := hit.Hit{Method: "GET", Status: 200, NoUserAgentField: tt.noField}
			for i := 0; i < 2; i++ { // an empty user agent comes from the cache the second time
				if got := c.Classify(&h, "https://e.com/"); got != tt.want {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
			}
		})
	}
	// One classifier, both kinds of hit in turn: the cache keeps them apart.
	c, _ := New(Config{Visits: true})
	for i := 0; i < 2; i++ {
		if r := c.Classify(&hit.Hit{Method: "GET", Status: 200}, ""); !r.Bot || r.Skip != SkipBot {
			t.Errorf("empty user agent: %+v", r)
		}
		if r := c.Classify(&hit.Hit{Method: "GET", Status: 200, NoUserAgentField: true}, ""); r.Bot || r.Skip != "" {
			t.Errorf("no user-agent field: %+v", r)
		}
	}
	// The flag does not change a user agent that is there.
	if cat, name := HitBot(&hit.Hit{UserAgent: "curl/8", NoUserAgentField: true}); cat != CatHTTPLibrary || name == "" {
		t.Errorf("HitBot(curl) = %q, %q", cat, name)
	}
	if cat, name := HitBot(&hit.Hit{NoUserAgentField: true}); cat != "" || name != "" {
		t.Errorf("HitBot(no field) = %q, %q", cat, name)
	}
	if cat, name := HitBot(&hit.Hit{}); cat != CatOtherBot || name != NoUserAgent {
		t.Errorf("HitBot(empty) = %q, %q", cat, name)
	}
}

func withSkip(r Result, skip string) Result {
	r.Skip = skip
	return r
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		cfg Config
		v   string
	}{
		{Config{UserAgentRegex: "("}, "USER_AGENT_ALLOWLIST_REGEX"},
		{Config{DocumentRegex: "[a-"}, "DOCUMENT_REGEX"},
		{Config{URLExcludeRegex: "a**"}, "URL_EXCLUDE_REGEX"},
		{Config{Methods: []string{"G3T"}}, "HTTP_METHOD_ALLOWLIST"},
		{Config{Methods: []string{" ", ""}}, "HTTP_METHOD_ALLOWLIST"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != tt.v {
			t.Errorf("%+v: error %v, want one naming %s", tt.cfg, err, tt.v)
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	c, _ := New(Config{RecMode: 1})
	h := hit.Hit{Method: "GET", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"}
	for b.Loop() {
		c.Classify(&h, "https://www.example.com/blog/some-article/?utm_source=news")
	}
}

func TestVisitsStatusFilters(t *testing.T) {
	chrome := "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"
	for _, tt := range []struct {
		status int
		cfg    Config
		want   Result
	}{
		{200, Config{Visits: true}, Result{}},
		{304, Config{Visits: true}, Result{}},
		{301, Config{Visits: true}, Result{Skip: SkipRedirect}},
		{302, Config{Visits: true, EnableRedirects: true}, Result{Titled: true}},
		{404, Config{Visits: true}, Result{Skip: SkipError}},
		{0, Config{Visits: true}, Result{Skip: SkipError}},
		{500, Config{Visits: true, EnableErrors: true}, Result{Titled: true}},
		{404, Config{RecMode: 2}, Result{}}, // not in the AI modes
	} {
		c, _ := New(tt.cfg)
		h := hit.Hit{Method: "GET", UserAgent: chrome, Status: tt.status}
		if got := c.Classify(&h, "https://e.com/"); got != tt.want {
			t.Errorf("status %d %+v: %+v, want %+v", tt.status, tt.cfg, got, tt.want)
		}
	}
}

// TestCrawlerList checks every instance the generated list gives: it is a
// bot, and of the category of its tags.
func TestCrawlerList(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "crawler_instances.json"))
	if err != nil {
		t.Fatal(err)
	}
	var insts []struct {
		UA   string   `json:"ua"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(data, &insts); err != nil {
		t.Fatal(err)
	}
	missed := 0
	for _, in := range insts {
		if BotCategory(in.UA) == "" {
			missed++
			t.Errorf("not a bot: %q", in.UA)
		}
	}
	if len(insts) < 2000 || missed > 0 {
		t.Errorf("%d instances, %d missed", len(insts), missed)
	}
	browsers := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.2849.80",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.39 Mobile Safari/537.36",
	}
	for _, b := range browsers {
		if c := BotCategory(b); c != "" {
			t.Errorf("browser taken for a %s: %s", c, b)
		}
	}
	for ua, want := range map[string]string{
		"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)": CatAICrawler,
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)":                               CatSearchEngine,
		"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)":                                     CatSEO,
		"python-requests/2.32.3":                      CatHTTPLibrary,
		"Mozilla/5.0 (compatible; ChatGPT-User/1.0)":  CatAIAssistant,
		"SomeNewThing-Bot/0.1 (+https://example.com)": CatOtherBot,
	} {
		if got := BotCategory(ua); got != want {
			t.Errorf("%s: %q, want %q", ua, got, want)
		}
	}
}

func BenchmarkBotCategory(b *testing.B) {
	BotCategory("warm up")
	for b.Loop() {
		BotCategory("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	}
}

func TestBotNames(t *testing.T) {
	for _, tc := range []struct{ ua, cat, name string }{
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", CatSearchEngine, "Googlebot"},
		{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", CatAICrawler, "GPTBot"},
		{"OAI-SearchBot/1.0; +https://openai.com/searchbot", CatAISearch, "OAI-SearchBot"},
		{"Mozilla/5.0 (compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)", CatAISearch, "PerplexityBot"},
		{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot", CatAIAssistant, "ChatGPT-User"},
		{"curl/8.5.0", CatHTTPLibrary, "curl"},
		{"Mozilla/5.0 (compatible; ExampleBot/2.1)", CatOtherBot, "ExampleBot"},
		{"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", CatSEO, "AhrefsBot"},
		{"UptimeRobot/2.0; http://www.uptimerobot.com/", CatMonitoring, "UptimeRobot"},
		{"", CatOtherBot, NoUserAgent},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/154.0.0.0 Safari/537.36", "", ""},
	} {
		cat, name := Bot(tc.ua)
		if cat != tc.cat || name != tc.name {
			t.Errorf("Bot(%q) = %q, %q; want %q, %q", tc.ua, cat, name, tc.cat, tc.name)
		}
	}
}
