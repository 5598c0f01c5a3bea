package loggen

import (
	"bufio"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Fields are the 33 fields of a CloudFront standard (legacy) log, in the
// documented order, as the #Fields header line lists them.
var Fields = [...]string{
	"date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)", "cs-uri-stem",
	"sc-status", "cs(Referer)", "cs(User-Agent)", "cs-uri-query", "cs(Cookie)", "x-edge-result-type",
	"x-edge-request-id", "x-host-header", "cs-protocol", "cs-bytes", "time-taken", "x-forwarded-for",
	"ssl-protocol", "ssl-cipher", "x-edge-response-result-type", "cs-protocol-version", "fle-status",
	"fle-encrypted-fields", "c-port", "time-to-first-byte", "x-edge-detailed-result-type",
	"sc-content-type", "sc-content-len", "sc-range-start", "sc-range-end",
}

// Defaults used for zero Config fields.
var (
	DefaultStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	DefaultHosts = []string{"www.example.com"}
)

// DefaultSpan is the time the lines cover when Config.Span is zero.
const DefaultSpan = 24 * time.Hour

// Config says what to generate. The zero value (with Lines set) is usable.
type Config struct {
	Seed     int64         // seeds the PCG generator; same Config, same bytes
	Lines    int           // number of data lines
	Start    time.Time     // time of the first requests (zero: DefaultStart); written in UTC
	Span     time.Duration // about how long the lines last (zero: DefaultSpan)
	Hosts    []string      // site hosts (x-host-header) (empty: DefaultHosts); the first gets most traffic
	NoHeader bool          // leave out the #Version and #Fields lines
}

// Truth counts what Write wrote. Maps are keyed by the value as logged
// (status "000" for a viewer that went away).
type Truth struct {
	Lines int64     `json:"lines"`
	First time.Time `json:"first"` // earliest date+time of a line
	Last  time.Time `json:"last"`  // latest date+time of a line

	ByMethod map[string]int64 `json:"by_method"`
	ByStatus map[string]int64 `json:"by_status"`
	// ByCategory: "page", "asset" (URL matched by the default exclusion
	// pattern), "download" (default download pattern); see Category.
	ByCategory map[string]int64 `json:"by_category"`
	// ByAIAssistant: lines by AI assistant token found in the user agent,
	// any method and URL.
	ByAIAssistant map[string]int64 `json:"by_ai_assistant"`
	// AIGetTracked: lines with method GET, a user agent of the default AI
	// allowlist (every assistant but DuckAssistBot) and a URL that is not
	// excluded: what an importer in AI-assistants mode should send.
	AIGetTracked int64 `json:"ai_get_tracked"`
	// AIGetTrackedByName splits AIGetTracked by the name Matomo stores
	// (Google-GeminiNotebook is stored as Google-NotebookLM).
	AIGetTrackedByName map[string]int64 `json:"ai_get_tracked_by_name"`

	ByResultType         map[string]int64 `json:"by_result_type"`
	ByDetailedResultType map[string]int64 `json:"by_detailed_result_type"`
	ByProtocol           map[string]int64 `json:"by_protocol"`
	ByProtocolVersion    map[string]int64 `json:"by_protocol_version"`
	// ByClient: browser, ai_assistant, crawler, tool, scanner.
	ByClient map[string]int64 `json:"by_client"`
	// ByHost: lines by x-host-header (a few scanners use the cloudfront.net name).
	ByHost             map[string]int64 `json:"by_host"`
	IPv6               int64            `json:"ipv6"`                // c-ip is IPv6
	XForwardedFor      int64            `json:"x_forwarded_for"`     // x-forwarded-for is not "-"
	XFFChains          int64            `json:"xff_chains"`          // x-forwarded-for has several addresses
	Cookies            int64            `json:"cookies"`             // cs(Cookie) is not "-"
	Ranges             int64            `json:"ranges"`              // sc-range-start is set
	Queries            int64            `json:"queries"`             // cs-uri-query is not "-"
	LongQueries        int64            `json:"long_queries"`        // logged query of 1000 bytes or more
	DistributionDomain string           `json:"distribution_domain"` // cs(Host) of every line
}

// Category names used in Truth.ByCategory.
const (
	CategoryPage     = "page"
	CategoryAsset    = "asset"
	CategoryDownload = "download"
)

var (
	excludeExts  = extSet("css js mjs map json xml webmanifest manifest png jpg jpeg gif webp avif svg ico bmp tif tiff woff woff2 ttf otf eot rss atom wasm txt")
	downloadExts = extSet("pdf doc docx xls xlsx ppt pptx csv json txt xml epub mobi azw3 mp3 mp4 mpeg mpg webm mov avi ogg wav flac zip gz gzip tgz tar bz2 tbz 7z rar dmg exe msi apk jar md5 sig")
)

func extSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, e := range strings.Fields(s) {
		m[e] = true
	}
	return m
}

// Category says how the default patterns of Matomo's CloudFront importer
// classify a URL path (decoded cs-uri-stem, without query): CategoryAsset
// when the exclusion pattern
//
//	^[^?]+\.(?:css|js|mjs|map|json|xml|webmanifest|manifest|png|jpe?g|gif|webp|avif|svg|ico|bmp|tiff?|woff2?|ttf|otf|eot|rss|atom|wasm|txt)(?:\?|$)
//
// matches "https://host" + stem + ("?" + query), CategoryDownload when
//
//	^[^?]+\.(?:pdf|docx?|xlsx?|pptx?|csv|json|txt|xml|epub|mobi|azw3|mp3|mp4|mpe?g|webm|mov|avi|ogg|wav|flac|zip|gz|gzip|tgz|tar|bz2|tbz|7z|rar|dmg|exe|msi|apk|jar|md5|sig)(?:\?|$)
//
// does (case-insensitive; exclusion wins), CategoryPage otherwise. The stem
// must not contain '?'.
func Category(stem string) string {
	return categoryNames[category(stem)]
}

var categoryNames = [3]string{CategoryPage, CategoryAsset, CategoryDownload}

func category(stem string) int {
	dot := strings.LastIndexByte(stem, '.')
	if dot < 0 || strings.IndexByte(stem[dot:], '/') >= 0 {
		return 0
	}
	var buf [16]byte
	e := stem[dot+1:]
	if len(e) == 0 || len(e) > len(buf) {
		return 0
	}
	for i := 0; i < len(e); i++ {
		c := e[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	l := string(buf[:len(e)])
	switch {
	case excludeExts[l]:
		return 1
	case downloadExts[l]:
		return 2
	}
	return 0
}

// needEsc marks the bytes CloudFront percent-encodes in log fields.
var needEsc [256]bool

func init() {
	for c := 0; c <= 0x20; c++ {
		needEsc[c] = true
	}
	for c := 0x7f; c < 256; c++ {
		needEsc[c] = true
	}
	for _, c := range []byte("<>\"#%{}|\\^~[]`'") {
		needEsc[c] = true
	}
}

const hexUpper = "0123456789ABCDEF"

// Escape encodes s the way CloudFront writes a log field: bytes 0x00-0x20
// and >= 0x7F, and < > " # % { } | \ ^ ~ [ ] ` ' as %XX. An empty value is
// written "-".
func Escape(s string) string {
	if s == "" {
		return "-"
	}
	return string(appendEscaped(nil, s))
}

func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needEsc[c] {
			b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
		} else {
			b = append(b, c)
		}
	}
	return b
}

func appendField(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return appendEscaped(b, s)
}

// ---------------------------------------------------------------------------
// Model

type agent struct {
	agentDef
	esc   string // escaped user agent, "-" when empty
	class int
	nets  []string
}

type visitor struct {
	ip     string
	v6     bool
	xff    string // escaped, "-" when none
	chain  bool
	ag     *agent
	edge   string
	pver   string
	tls    int    // index into tlsCombos
	cookie string // escaped, "-" when none
	// returning: the browser has the site's common assets in its cache
	returning bool
	slow      bool // slow network (mobile)
}

// resource kinds
const (
	kPage = iota
	kAsset
	kDownload
	kMedia
	kAPI
	kMissing
	kRedirect  // origin 301/302
	kGenerated // response generated at the edge (CloudFront Functions / Lambda@Edge)
)

type resource struct {
	stem  string
	kind  int
	ctype int
	size  int64
}

// methods
const (
	mGET = iota
	mHEAD
	mPOST
	mOPTIONS
	mPUT
	mDELETE
	numMethods
)

var methodNames = [numMethods]string{"GET", "HEAD", "POST", "OPTIONS", "PUT", "DELETE"}

type req struct {
	at     int64 // ms since the start of the visit
	method int
	http   bool // plain HTTP: CloudFront redirects to HTTPS
	cond   bool // conditional request (If-None-Match / If-Modified-Since)
	res    *resource
	query  string // raw, "" when none
	ref    string // raw, "" when none
	rs, re int64  // requested range, rs < 0 when none
	body   int64  // request body bytes
}

type visit struct {
	vis   *visitor
	host  string // x-host-header
	reqs  []req
	i     int
	start int64 // ms since Config.Start
	next  int64 // start of reqs[i], ms since Config.Start
	seq   uint64
	port  int
}

// result types
const (
	rtHit = iota
	rtRefreshHit
	rtMiss
	rtError
	rtRedirect
	rtLimitExceeded
	rtCapacityExceeded
	// detailed only
	rtOriginShieldHit
	rtMissGeneratedResponse
	rtClientCommError
	rtOriginDNSError
	rtOriginConnectError
	rtOriginReadError
	rtOriginCommError
	rtOriginError
	rtClientGeoBlocked
	rtInvalidRequestMethod
	numRT
)

var rtNames = [numRT]string{"Hit", "RefreshHit", "Miss", "Error", "Redirect", "LimitExceeded", "CapacityExceeded",
	"OriginShieldHit", "MissGeneratedResponse", "ClientCommError", "OriginDnsError", "OriginConnectError",
	"OriginReadError", "OriginCommError", "OriginError", "ClientGeoBlocked", "InvalidRequestMethod"}

type outcome struct {
	status        int // 0: "000"
	rt, resp, det int
	ctype         int
	clen          int64 // -1: "-"
	body          int64 // body bytes sent
	rs, re        int64 // -1: "-"
	taken, ttfb   int64 // ms
	hdr           int64 // response header bytes
	scBytes       int64 // >= 0: sc-bytes as is, not hdr+body
}

// ---------------------------------------------------------------------------
// Generator

type gen struct {
	r      *rand.Rand
	cfg    Config
	hosts  []string
	hostW  []float64
	dist   string // dXXXXXXXXXXXXX.cloudfront.net
	start  int64  // unix seconds of Config.Start
	spanMs int64

	browsers, ais, crawlers, tools, scanners []*agent
	browserW, aiW, crawlerW, toolW, scannerW []float64
	edgeW                                    []float64
	searchW                                  []float64
	refKindW                                 []float64

	// site
	pages     []*resource // by popularity
	posts     []*resource // blog posts
	images    map[*resource][]*resource
	common    []*resource // CSS, JS, fonts, logo
	favicon   *resource
	touchIcon *resource
	manifest  *resource
	robots    *resource
	sitemaps  []*resource
	feed      *resource
	downloads []*resource
	media     []*resource
	heroVideo *resource
	apis      map[string]*resource
	missing   []*resource // old / mistyped URLs (404)
	probes    []*resource // scanner probes
	probeQ    []string
	redirects map[*resource]*resource // post -> its stem without trailing slash (301)
	redirTo   map[*resource]*resource // the reverse
	shortLink []*resource
	search    *resource
	ogImages  []*resource

	pool    []*visitor // returning browser visitors
	poolPos int

	heap    []*visit
	free    []*visit
	arrival int64 // ms since Config.Start of the next new visit
	seq     uint64
	planned int64
	visits  int64

	// output
	line    []byte
	lastDay int64
	dayStr  []byte

	// truth
	lines        int64
	minSec       int64
	maxSec       int64
	byMethod     [numMethods]int64
	byStatus     [1000]int64
	byCat        [3]int64
	byAI         [len(aiNames)]int64
	aiTrk        [len(aiNames)]int64
	byRT         [numRT]int64
	byDet        [numRT]int64
	byProto      [2]int64
	byPver       map[string]int64
	byClass      [numClasses]int64
	byHost       map[string]int64
	nIPv6        int64
	xff          int64
	chains       int64
	cookies      int64
	rangesLogged int64
	queries      int64
	longQ        int64
}

// Write writes the header (unless cfg.NoHeader) and cfg.Lines data lines of
// a CloudFront standard log to w, and returns what it wrote. The only error
// is the first one w returned.
func Write(w io.Writer, cfg Config) (Truth, error) {
	g := newGen(cfg)
	bw := bufio.NewWriterSize(w, 256<<10)
	if !cfg.NoHeader {
		bw.WriteString("#Version: 1.0\n#Fields: ")
		bw.WriteString(strings.Join(Fields[:], " "))
		bw.WriteString("\n")
	}
	for g.lines < int64(cfg.Lines) {
		if len(g.heap) == 0 || g.nextArrival() <= g.heap[0].next {
			g.startVisit()
			continue
		}
		vt := g.heap[0]
		g.emit(bw, vt)
		vt.i++
		if vt.i < len(vt.reqs) {
			vt.next = vt.start + vt.reqs[vt.i].at
			g.down(0)
		} else {
			g.popTop()
			g.free = append(g.free, vt)
		}
		if g.lines&1023 == 0 { // stop at the first write error
			if _, err := bw.Write(nil); err != nil {
				return g.truth(), err
			}
		}
	}
	err := bw.Flush()
	return g.truth(), err
}

func newGen(cfg Config) *gen {
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart
	}
	if cfg.Span <= 0 {
		cfg.Span = DefaultSpan
	}
	hosts := cfg.Hosts
	if len(hosts) == 0 {
		hosts = DefaultHosts
	}
	g := &gen{
		r:         rand.New(rand.NewPCG(uint64(cfg.Seed), 0x853c49e6748fea9b)),
		cfg:       cfg,
		hosts:     hosts,
		start:     cfg.Start.Unix(),
		spanMs:    cfg.Span.Milliseconds(),
		line:      make([]byte, 0, 4096),
		lastDay:   math.MinInt64,
		minSec:    math.MaxInt64,
		maxSec:    math.MinInt64,
		byPver:    map[string]int64{},
		byHost:    map[string]int64{},
		images:    map[*resource][]*resource{},
		apis:      map[string]*resource{},
		redirects: map[*resource]*resource{},
		redirTo:   map[*resource]*resource{},
	}
	if g.spanMs < 1000 {
		g.spanMs = 1000
	}
	for i := range hosts {
		g.hostW = append(g.hostW, 1/float64(i+1))
	}
	b := []byte("d")
	b = g.appendRand(b, "abcdefghijklmnopqrstuvwxyz0123456789", 13)
	g.dist = string(b) + ".cloudfront.net"

	g.browsers, g.browserW = makeAgents(browserAgents, clBrowser)
	g.ais, g.aiW = makeAgents(aiAgents, clAI)
	g.crawlers, g.crawlerW = makeAgents(crawlerAgents, clCrawler)
	g.tools, g.toolW = makeAgents(toolAgents, clTool)
	g.scanners, g.scannerW = makeAgents(scannerAgents, clScanner)
	for _, e := range edges {
		g.edgeW = append(g.edgeW, e.w)
	}
	for _, s := range searchRefs {
		g.searchW = append(g.searchW, s.w)
	}
	g.refKindW = refKindWeights[:]
	g.buildSite()
	return g
}

func makeAgents(defs []agentDef, class int) ([]*agent, []float64) {
	var as []*agent
	var ws []float64
	for _, d := range defs {
		a := &agent{agentDef: d, class: class}
		if class != clAI {
			a.ai = -1
		}
		a.esc = Escape(d.ua)
		for _, n := range agentNets {
			if strings.Contains(d.ua, n.token) {
				a.nets = n.nets
				break
			}
		}
		as = append(as, a)
		ws = append(ws, d.weight)
	}
	return as, ws
}

// ---------------------------------------------------------------------------
// Random helpers

func (g *gen) f() float64            { return g.r.Float64() }
func (g *gen) chance(p float64) bool { return g.r.Float64() < p }
func (g *gen) n(n int) int           { return g.r.IntN(n) }
func (g *gen) between(a, b int) int  { return a + g.r.IntN(b-a+1) }
func (g *gen) between64(a, b int64) int64 {
	return a + g.r.Int64N(b-a+1)
}

// lognorm returns median*exp(sigma*N(0,1)).
func (g *gen) lognorm(median, sigma float64) float64 {
	return median * math.Exp(sigma*g.r.NormFloat64())
}

func (g *gen) pick(w []float64) int {
	var t float64
	for _, x := range w {
		t += x
	}
	u := g.r.Float64() * t
	for i, x := range w {
		u -= x
		if u < 0 {
			return i
		}
	}
	return len(w) - 1
}

// zipf picks an index in [0,n) with a heavy head.
func (g *gen) zipf(n int) int {
	u := g.r.Float64()
	i := int(float64(n) * u * u * u)
	if i >= n {
		i = n - 1
	}
	return i
}

func (g *gen) appendRand(b []byte, alphabet string, n int) []byte {
	for n > 0 {
		x := g.r.Uint64()
		for k := 0; k < 8 && n > 0; k++ {
			b = append(b, alphabet[int(x&0xff)%len(alphabet)])
			x >>= 8
			n--
		}
	}
	return b
}

const (
	b64url   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	alnum    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	hexLower = "0123456789abcdef"
)

func (g *gen) randString(alphabet string, n int) string {
	return string(g.appendRand(make([]byte, 0, n), alphabet, n))
}

// ---------------------------------------------------------------------------
// Site

func (g *gen) res(stem string, kind, ctype int, size int64) *resource {
	return &resource{stem: stem, kind: kind, ctype: ctype, size: size}
}

func (g *gen) buildSite() {
	build := g.randString(hexLower, 8)
	page := func(stem string) *resource {
		return g.res(stem, kPage, ctHTML, int64(g.lognorm(38000, 0.6))+3000)
	}
	var rest []*resource
	for _, s := range topPages {
		g.pages = append(g.pages, page(s))
	}
	seen := map[string]bool{}
	for len(g.posts) < 240 {
		w1, w2 := slugWords[g.n(len(slugWords))], slugWords[g.n(len(slugWords))]
		if w1 == w2 {
			continue
		}
		var stem string
		if g.chance(0.3) {
			stem = "/blog/" + strconv.Itoa(2019+g.n(8)) + "/" + w1 + "-" + w2 + "/"
		} else {
			stem = "/blog/" + w1 + "-" + w2 + "/"
		}
		if seen[stem] {
			continue
		}
		seen[stem] = true
		p := page(stem)
		g.posts = append(g.posts, p)
		rest = append(rest, p)
		// redirect from the stem without the trailing slash
		rd := g.res(strings.TrimSuffix(stem, "/"), kRedirect, ctHTMLShort, 0)
		g.redirects[p] = rd
		g.redirTo[rd] = p
	}
	for _, s := range specialPages {
		p := page(s)
		rest = append(rest, p)
		g.posts = append(g.posts, p)
	}
	for i := 0; i < 120; i++ {
		sec := docSections[g.n(len(docSections))]
		w := slugWords[g.n(len(slugWords))]
		stem := "/docs/" + sec + "/" + w + ".html"
		if seen[stem] {
			continue
		}
		seen[stem] = true
		rest = append(rest, page(stem))
	}
	for i := 0; i < 80; i++ {
		stem := "/products/" + strconv.Itoa(1000+g.n(9000)) + "-" + slugWords[g.n(len(slugWords))]
		if seen[stem] {
			continue
		}
		seen[stem] = true
		rest = append(rest, page(stem))
	}
	for i := 2; i <= 12; i++ {
		rest = append(rest, page("/blog/page/"+strconv.Itoa(i)+"/"))
	}
	for i := 0; i < 20; i++ {
		rest = append(rest, page("/tag/"+slugWords[i]+"/"))
	}
	g.r.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	g.pages = append(g.pages, rest...)
	g.search = page("/search")

	// images of pages
	imgExt := []struct {
		ext   string
		ctype int
	}{{".webp", ctWebP}, {".jpg", ctJPEG}, {".png", ctPNG}, {".avif", ctAVIF}, {".JPG", ctJPEG}, {".jpeg", ctJPEG}, {".gif", ctPNG}}
	for i, p := range g.pages {
		n := g.n(6)
		if i == 0 {
			n = 4
		}
		var imgs []*resource
		for k := 0; k < n; k++ {
			e := imgExt[g.pick([]float64{50, 20, 15, 6, 2, 2, 1})]
			var stem string
			if e.ext == ".JPG" {
				stem = "/uploads/2026/10/IMG_" + strconv.Itoa(1000+g.n(9000)) + e.ext
			} else {
				stem = "/img/" + strconv.Itoa(i) + "-" + strconv.Itoa(k) + "-" + g.randString(hexLower, 6) + e.ext
			}
			ct := e.ctype
			if e.ext == ".gif" {
				ct = ctOctet
			}
			imgs = append(imgs, g.res(stem, kAsset, ct, int64(g.lognorm(60000, 1.0))+800))
		}
		g.images[p] = imgs
	}
	for i := 0; i < 6; i++ {
		g.ogImages = append(g.ogImages, g.res("/img/og/card-"+strconv.Itoa(i)+".png", kAsset, ctPNG, int64(g.between(40000, 180000))))
	}

	g.common = []*resource{
		g.res("/static/css/main."+build+".css", kAsset, ctCSS, int64(g.between(30000, 120000))),
		g.res("/static/js/runtime."+build+".js", kAsset, ctJS, int64(g.between(2000, 9000))),
		g.res("/static/js/vendor."+build+".js", kAsset, ctJS, int64(g.between(200000, 600000))),
		g.res("/static/js/app."+build+".mjs", kAsset, ctJS, int64(g.between(40000, 200000))),
		g.res("/fonts/inter-var.woff2", kAsset, ctWOFF2, 96412),
		g.res("/fonts/jetbrains-mono.woff2", kAsset, ctWOFF2, 41208),
		g.res("/img/logo.svg", kAsset, ctSVG, 3122),
	}
	g.favicon = g.res("/favicon.ico", kAsset, ctICO, 15086)
	g.touchIcon = g.res("/apple-touch-icon.png", kAsset, ctPNG, 9811)
	g.manifest = g.res("/site.webmanifest", kAsset, ctManifest, 512)
	g.robots = g.res("/robots.txt", kAsset, ctText, 412)
	g.sitemaps = []*resource{
		g.res("/sitemap.xml", kAsset, ctXML, 2210),
		g.res("/sitemap-posts.xml", kAsset, ctXML, 48211),
		g.res("/sitemap-docs.xml", kAsset, ctXML, 21877),
	}
	g.feed = g.res("/feed.xml", kAsset, ctRSS, 88120)

	dl := func(stem string, ct int, size int64) {
		g.downloads = append(g.downloads, g.res(stem, kDownload, ct, size))
	}
	dl("/files/annual-report-2026.pdf", ctPDF, 2489120)
	dl("/files/Annual%20Report%202025.pdf", ctPDF, 3110450)
	dl("/files/whitepaper-edge-analytics.pdf", ctPDF, 1288020)
	dl("/docs/pdf/user-guide-v4.pdf", ctPDF, 5321777)
	dl("/files/REPORT-Q3.PDF", ctPDF, 911203)
	dl("/files/caf%C3%A9-menu.pdf", ctPDF, 402311)
	dl("/downloads/trackless-1.8.2-setup.exe", ctExe, 24811520)
	dl("/downloads/trackless-1.8.2-x64.msi", ctMSI, 26214400)
	dl("/downloads/trackless_1.8.2_linux_amd64.tar.gz", ctGzip, 9123456)
	dl("/downloads/trackless_1.8.2_darwin_arm64.tar.gz", ctGzip, 8877123)
	dl("/downloads/Trackless-1.8.2.dmg", ctDMG, 31457280)
	dl("/downloads/trackless-1.8.2.zip", ctZip, 9990144)
	dl("/downloads/trackless-1.8.2.zip.sig", ctSig, 566)
	dl("/downloads/trackless-1.8.2.zip.md5", ctText, 66)
	dl("/downloads/trackless-1.8.2.apk", ctAPK, 18874368)
	dl("/downloads/archive/source-2026-10.7z", ct7z, 4194304)
	dl("/files/data/traffic-2026-10.csv", ctCSV, 734003)
	dl("/files/templates/invoice-template.docx", ctDocx, 48211)
	dl("/files/templates/budget-2026.xlsx", ctXlsx, 77310)
	dl("/files/slides/keynote-2026.pptx", ctPptx, 14680064)
	dl("/files/ebook/edge-analytics.epub", ctEpub, 2202009)
	dl("/files/data/export.json", ctJSON, 120332)
	g.media = []*resource{
		g.res("/media/intro-video.mp4", kMedia, ctMP4, 48234496),
		g.res("/media/keynote-2026.mp4", kMedia, ctMP4, 367001600),
		g.res("/media/demo.webm", kMedia, ctWebM, 22020096),
		g.res("/podcast/episode-42.mp3", kMedia, ctMP3, 58720256),
		g.res("/podcast/episode-41.mp3", kMedia, ctMP3, 61865984),
	}
	g.heroVideo = g.res("/media/hero-loop.mp4", kMedia, ctMP4, 6291456)
	for _, s := range []string{"/api/v1/session", "/api/v1/search", "/api/v1/contact", "/api/v1/events", "/api/v1/cart/items", "/graphql", "/api/v1/items", "/api/v1/health"} {
		g.apis[s] = g.res(s, kAPI, ctJSON, int64(g.between(80, 6000)))
	}
	for i := 0; i < 40; i++ {
		var stem string
		switch i % 4 {
		case 0:
			stem = "/blog/20" + strconv.Itoa(15+g.n(5)) + "/" + slugWords[g.n(len(slugWords))] + "-old-post/"
		case 1:
			stem = "/docs/v1/" + slugWords[g.n(len(slugWords))] + ".html"
		case 2:
			stem = "/" + slugWords[g.n(len(slugWords))] + "-" + slugWords[g.n(len(slugWords))]
		default:
			stem = "/products/" + strconv.Itoa(100+g.n(900)) + "-discontinued"
		}
		g.missing = append(g.missing, g.res(stem, kMissing, ctHTML, int64(g.between(1200, 9000))))
	}
	for _, p := range scannerProbes {
		g.probes = append(g.probes, g.res(p.stem, kMissing, ctHTML, int64(g.between(900, 4000))))
		g.probeQ = append(g.probeQ, p.query)
	}
	for _, s := range []string{"/go/launch", "/go/newsletter", "/go/docs", "/r/twitter", "/go/webinar"} {
		g.shortLink = append(g.shortLink, g.res(s, kGenerated, ctNone, 0))
	}
}

// ---------------------------------------------------------------------------
// Visitors

func (g *gen) ipv4(doc bool) string {
	b := make([]byte, 0, 15)
	if doc {
		switch g.n(3) {
		case 0:
			b = append(b, "192.0.2."...)
		case 1:
			b = append(b, "198.51.100."...)
		default:
			b = append(b, "203.0.113."...)
		}
	} else {
		b = strconv.AppendInt(b, int64(v4Octets[g.n(len(v4Octets))]), 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(g.n(256)), 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(g.n(256)), 10)
		b = append(b, '.')
	}
	b = strconv.AppendInt(b, int64(g.between(1, 254)), 10)
	return string(b)
}

// ipv6 returns a full address in 2001:db8::/32 or a plausible eyeball prefix.
func (g *gen) ipv6(doc bool) string {
	b := make([]byte, 0, 39)
	groups := 6
	if doc {
		b = append(b, "2001:db8:"...)
	} else {
		p := v6Prefixes[g.n(len(v6Prefixes))]
		b = append(b, p...)
		groups = 8 - strings.Count(p, ":")
	}
	for i := 0; i < groups; i++ {
		if i > 0 {
			b = append(b, ':')
		}
		b = strconv.AppendUint(b, uint64(g.n(0x10000)), 16)
	}
	if doc && g.chance(0.3) { // compressed form
		b = b[:0]
		b = append(b, "2001:db8:"...)
		b = strconv.AppendUint(b, uint64(g.n(0x10000)), 16)
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(g.n(0x10000)), 16)
		b = append(b, "::"...)
		b = strconv.AppendUint(b, uint64(1+g.n(0xffff)), 16)
	}
	return string(b)
}

// netIP returns an address in one of nets (see agentNets).
func (g *gen) netIP(nets []string) string {
	p := nets[g.n(len(nets))]
	b := make([]byte, 0, 40)
	b = append(b, p...)
	if strings.HasSuffix(p, ".") {
		b = strconv.AppendInt(b, int64(g.between(1, 254)), 10)
		return string(b)
	}
	if !strings.HasSuffix(p, "::") {
		b = append(b, ':')
	}
	b = strconv.AppendUint(b, uint64(1+g.n(0xffff)), 16)
	return string(b)
}

func (g *gen) clientIP(v6share float64) (string, bool) {
	if g.chance(v6share) {
		return g.ipv6(g.chance(0.7)), true
	}
	return g.ipv4(g.chance(0.45)), false
}

func (g *gen) newVisitor(a *agent) *visitor {
	v := &visitor{ag: a, xff: "-", cookie: "-"}
	v.edge = edges[g.pick(g.edgeW)].pop
	switch {
	case a.nets != nil && (a.class != clTool || g.chance(0.8)):
		v.ip = g.netIP(a.nets)
		v.v6 = strings.IndexByte(v.ip, ':') >= 0
	case a.class == clBrowser:
		v.ip, v.v6 = g.clientIP(0.17)
	default:
		v.ip, v.v6 = g.clientIP(0.12)
	}
	// TLS and HTTP version
	switch a.class {
	case clBrowser:
		v.tls = g.pick([]float64{60, 25, 10, 3, 1, 1})
		x := g.f()
		switch {
		case a.h3 && x < 0.32:
			v.pver = "HTTP/3.0"
		case x < 0.9:
			v.pver = "HTTP/2.0"
		default:
			v.pver = "HTTP/1.1"
		}
		v.slow = a.mobile && g.chance(0.4)
	default:
		v.tls = g.pick([]float64{45, 20, 5, 20, 8, 2})
		switch {
		case a.behav == bhGooglebot || a.behav == bhCurl:
			if g.chance(0.5) {
				v.pver = "HTTP/2.0"
			} else {
				v.pver = "HTTP/1.1"
			}
		case g.chance(0.2):
			v.pver = "HTTP/2.0"
		default:
			v.pver = "HTTP/1.1"
		}
	}
	// proxies: X-Forwarded-For
	if a.class == clBrowser || a.class == clTool || a.class == clScanner {
		x := g.f()
		switch {
		case x < 0.045:
			var s string
			switch g.n(4) {
			case 0:
				s = "10." + strconv.Itoa(g.n(256)) + "." + strconv.Itoa(g.n(256)) + "." + strconv.Itoa(g.between(1, 254))
			case 1:
				s = g.ipv4(true) + ":" + strconv.Itoa(g.between(1024, 65535))
			case 2:
				s = g.ipv6(true)
			default:
				s = g.ipv4(false)
			}
			v.xff = Escape(s)
		case x < 0.07:
			v.chain = true
			n := g.between(2, 3)
			var parts []string
			for i := 0; i < n; i++ {
				switch g.n(6) {
				case 0:
					parts = append(parts, "unknown")
				case 1:
					parts = append(parts, "192.168."+strconv.Itoa(g.n(256))+"."+strconv.Itoa(g.between(1, 254)))
				case 2:
					parts = append(parts, g.ipv6(true))
				default:
					parts = append(parts, g.ipv4(g.chance(0.6)))
				}
			}
			sep := ", "
			if g.chance(0.35) {
				sep = ","
			}
			v.xff = Escape(strings.Join(parts, sep))
		}
	}
	if a.class == clBrowser && g.chance(0.07) {
		c := "_ga=GA1.1." + strconv.Itoa(100000000+g.n(900000000)) + "." + strconv.FormatInt(g.start-int64(g.n(86400*90)), 10) +
			"; _pk_id.1.1fff=" + g.randString(hexLower, 16) + "." + strconv.FormatInt(g.start-int64(g.n(86400*30)), 10) + "."
		if g.chance(0.5) {
			c += "; theme=dark"
		}
		if g.chance(0.3) {
			c += "; cart={\"n\":" + strconv.Itoa(g.n(5)) + "}"
		}
		v.cookie = Escape(c)
	}
	return v
}

// ---------------------------------------------------------------------------
// Visits

// class weights of new visits, tuned so that the lines split roughly into
// browsers 72 %, crawlers 19 %, AI assistants 3 %, tools 3 %, scanners 2 %.
var visitClassW = []float64{clBrowser: 52, clAI: 15, clCrawler: 5.2, clTool: 14, clScanner: 0.45}

func (g *gen) nextArrival() int64 {
	return g.arrival
}

func (g *gen) startVisit() {
	t := g.arrival
	var vt *visit
	if n := len(g.free); n > 0 {
		vt = g.free[n-1]
		g.free = g.free[:n-1]
		reqs := vt.reqs[:0]
		*vt = visit{reqs: reqs}
	} else {
		vt = &visit{}
	}
	vt.start = t
	vt.seq = g.seq
	g.seq++
	class := g.pick(visitClassW)
	var v *visitor
	switch class {
	case clBrowser:
		if len(g.pool) > 200 && g.chance(0.3) {
			v = g.pool[g.n(len(g.pool))]
			v.returning = true
		} else {
			v = g.newVisitor(g.browsers[g.pick(g.browserW)])
			if len(g.pool) < 5000 {
				g.pool = append(g.pool, v)
			} else {
				g.pool[g.poolPos] = v
				g.poolPos = (g.poolPos + 1) % len(g.pool)
			}
		}
	case clAI:
		v = g.newVisitor(g.ais[g.pick(g.aiW)])
	case clCrawler:
		v = g.newVisitor(g.crawlers[g.pick(g.crawlerW)])
	case clTool:
		v = g.newVisitor(g.tools[g.pick(g.toolW)])
	default:
		v = g.newVisitor(g.scanners[g.pick(g.scannerW)])
	}
	vt.vis = v
	vt.host = g.hosts[g.pick(g.hostW)]
	vt.port = g.port(v)
	switch class {
	case clBrowser:
		g.planBrowser(vt)
	case clAI:
		g.planAI(vt)
	case clCrawler:
		g.planCrawler(vt)
	case clTool:
		g.planTool(vt)
	default:
		if g.chance(0.25) {
			vt.host = g.dist
		}
		g.planScanner(vt)
	}
	if len(vt.reqs) == 0 {
		vt.add(0, mGET, g.pages[0], "", "")
	}
	vt.next = vt.start + vt.reqs[0].at
	g.push(vt)
	g.planned += int64(len(vt.reqs))
	g.visits++

	// next arrival: exponential gaps following a daily curve, paced so that
	// the planned lines follow the curve over the span
	lineGap := float64(g.spanMs) / float64(g.cfg.Lines)
	avg := 10.0
	if g.visits >= 30 {
		avg = float64(g.planned) / float64(g.visits)
	}
	target := float64(g.cfg.Lines) * g.cum(t) / g.cum(g.spanMs)
	f := (float64(g.planned) + 300) / (target + 300)
	f = math.Max(0.3, math.Min(3, f))
	g.arrival = t + int64(g.r.ExpFloat64()*avg*lineGap*f/g.rate(t))
}

// Traffic follows a daily curve: rate(t) = 1 + a*sin(w*(tod0+t) + phi), with
// its peak at 14:00 UTC and its trough at 02:00 UTC; t in ms since Start.
const (
	dayAmp  = 0.45
	dayW    = 2 * math.Pi / 86400000
	dayPeak = 14 * 3600000
	dayPhi  = math.Pi/2 - dayW*dayPeak
)

func (g *gen) tod0() float64 {
	return float64(((g.start%86400)+86400)%86400) * 1000
}

func (g *gen) rate(t int64) float64 {
	return 1 + dayAmp*math.Sin(dayW*(g.tod0()+float64(t))+dayPhi)
}

// cum is the integral of rate from 0 to t.
func (g *gen) cum(t int64) float64 {
	x0 := g.tod0()
	return float64(t) - dayAmp/dayW*(math.Cos(dayW*(x0+float64(t))+dayPhi)-math.Cos(dayW*x0+dayPhi))
}

func (g *gen) port(v *visitor) int {
	if v.ag.class == clBrowser && !v.ag.mobile && g.chance(0.5) {
		return g.between(49152, 65535)
	}
	return g.between(32768, 60999)
}

func (vt *visit) add(at int64, method int, r *resource, query, ref string) *req {
	if n := len(vt.reqs); n > 0 && at < vt.reqs[n-1].at {
		at = vt.reqs[n-1].at
	}
	vt.reqs = append(vt.reqs, req{at: at, method: method, res: r, query: query, ref: ref, rs: -1, re: -1})
	return &vt.reqs[len(vt.reqs)-1]
}

func (vt *visit) last() int64 {
	if n := len(vt.reqs); n > 0 {
		return vt.reqs[n-1].at
	}
	return 0
}

func urlOf(host string, r *resource, query string) string {
	s := "https://" + host + r.stem
	if query != "" {
		s += "?" + query
	}
	return s
}

// think returns a reading time in ms before the next page.
func (g *gen) think() int64 {
	s := g.lognorm(22, 1.1)
	s = math.Max(1.5, math.Min(s, 1500))
	return int64(s * 1000)
}

func (g *gen) entryReferrer() (string, int) {
	k := g.pick(g.refKindW)
	switch k {
	case refSearch:
		return searchRefs[g.pick(g.searchW)].url, k
	case refSocial:
		s := socialRefs[g.n(len(socialRefs))]
		if s == "https://t.co/" {
			s += g.randString(alnum, 10)
		}
		return s, k
	case refAI:
		return aiRefs[g.n(len(aiRefs))], k
	case refOther:
		return otherRefs[g.n(len(otherRefs))], k
	case refEmail:
		return emailRefs[g.n(len(emailRefs))], k
	}
	return "", k
}

// landingQuery returns the raw query of a landing page reached from a
// referrer of kind k.
func (g *gen) landingQuery(k int, ref string) string {
	if g.chance(0.003) {
		return g.longQuery()
	}
	switch k {
	case refSocial:
		if strings.Contains(ref, "facebook") || strings.Contains(ref, "instagram") {
			if g.chance(0.85) {
				return "fbclid=IwZXh0bgNhZW0CMTEAAR" + g.randString(b64url, g.between(40, 60)) + "_aem_" + g.randString(b64url, 22)
			}
		}
		if g.chance(0.3) {
			return "utm_source=" + []string{"twitter", "linkedin", "reddit", "bluesky", "mastodon"}[g.n(5)] + "&utm_medium=social&utm_campaign=" + slugWords[g.n(len(slugWords))]
		}
	case refAI:
		if strings.Contains(ref, "chatgpt") && g.chance(0.8) {
			return "utm_source=chatgpt.com"
		}
	case refSearch:
		if strings.Contains(ref, "google") && g.chance(0.06) {
			return "gclid=" + g.randString(b64url, 64) + "&gad_source=1"
		}
	case refEmail, refDirect:
		if g.chance(0.12) {
			return "utm_source=newsletter&utm_medium=email&utm_campaign=2026-11-digest&utm_content=" + slugWords[g.n(len(slugWords))]
		}
		if g.chance(0.03) {
			return "mtm_campaign=launch&mtm_kwd=caf%C3%A9"
		}
	case refOther:
		if g.chance(0.2) {
			return "ref=" + []string{"producthunt", "hn", "github", "a%20b"}[g.n(4)]
		}
	}
	return ""
}

// longQuery returns a query of about 1.5-2.2 KB.
func (g *gen) longQuery() string {
	switch g.n(3) {
	case 0:
		return "_gl=1*" + g.randString(alnum, 6) + "*_ga*" + g.randString(b64url, g.between(1500, 2100)) + "*_ga_" + g.randString(alnum, 10) + "*MTczMDQxMjgwMC4xLjEuMTczMDQxMjkwMC4wLjAuMA.."
	case 1:
		return "state=" + g.randString(b64url, g.between(1400, 2000)) + "&redirect_uri=https%3A%2F%2F" + DefaultHosts[0] + "%2Fauth%2Fcallback&scope=openid%20profile%20email"
	default:
		b := []byte("ids=")
		n := g.between(250, 330)
		for i := 0; i < n; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(g.between(1000, 99999)), 10)
		}
		return string(b)
	}
}

func (g *gen) pageQuery(p *resource) string {
	switch {
	case p == g.search:
		q := "q=" + searchTerms[g.n(len(searchTerms))]
		if g.chance(0.2) {
			q += "&page=" + strconv.Itoa(g.between(2, 6))
		}
		if g.chance(0.05) {
			q += "&sort=price|asc&filter={\"tag\":\"" + slugWords[g.n(len(slugWords))] + "\"}"
		}
		return q
	case strings.HasPrefix(p.stem, "/products/"):
		if g.chance(0.3) {
			return "color=" + []string{"red", "blue", "black"}[g.n(3)] + "&size=" + []string{"S", "M", "L", "XL"}[g.n(4)]
		}
	case p.stem == "/blog/":
		if g.chance(0.3) {
			return "page=" + strconv.Itoa(g.between(2, 12))
		}
	}
	if g.chance(0.015) {
		return "lang=" + []string{"de", "fr", "ja", "es"}[g.n(4)]
	}
	return ""
}

func (g *gen) nextPage(cur *resource) *resource {
	x := g.f()
	switch {
	case x < 0.55:
		return g.pages[g.zipf(len(g.pages))]
	case x < 0.85:
		return g.posts[g.n(len(g.posts))]
	case x < 0.93:
		return g.search
	default:
		return g.pages[g.n(len(g.pages))]
	}
}

func (g *gen) planBrowser(vt *visit) {
	v := vt.vis
	ref, rk := g.entryReferrer()
	var landing *resource
	switch rk {
	case refSearch, refAI, refOther:
		if g.chance(0.6) {
			landing = g.posts[g.n(len(g.posts))]
		} else {
			landing = g.pages[g.zipf(len(g.pages))]
		}
	default:
		landing = g.pages[g.zipf(len(g.pages))]
	}
	q := g.landingQuery(rk, ref)
	var at int64
	if rk == refSocial && g.chance(0.08) {
		vt.add(at, mGET, g.shortLink[g.n(len(g.shortLink))], "", ref)
		at += int64(g.between(40, 300))
	}
	if g.chance(0.03) {
		r := vt.add(at, mGET, landing, q, ref)
		r.http = true
		at += int64(g.between(30, 250))
	}
	if rd, ok := g.redirects[landing]; ok && g.chance(0.04) {
		vt.add(at, mGET, rd, q, ref)
		at += int64(g.between(30, 200))
	}
	nPages := 1
	for nPages < 30 && g.chance(0.58) {
		nPages++
	}
	cur, curQ, curRef := landing, q, ref
	for p := 0; p < nPages; p++ {
		if p > 0 {
			prevURL := urlOf(vt.host, cur, curQ)
			at = vt.last() + g.think()
			cur = g.nextPage(cur)
			curQ = g.pageQuery(cur)
			curRef = prevURL
			if g.chance(0.01) { // broken link
				vt.add(at, mGET, g.missing[g.n(len(g.missing))], "", curRef)
				at += int64(g.between(2000, 15000))
			}
		}
		pr := vt.add(at, mGET, cur, curQ, curRef)
		pr.cond = v.returning && g.chance(0.08)
		pageURL := urlOf(vt.host, cur, curQ)
		t := at + int64(g.between(40, 250))
		if v.slow {
			t += int64(g.between(100, 900))
		}
		// assets
		if p == 0 {
			for i, a := range g.common {
				if v.returning {
					x := g.f()
					if x < 0.7 {
						continue
					}
					r := vt.add(t, mGET, a, "", pageURL)
					r.cond = x < 0.95
				} else {
					aref := pageURL
					if a.ctype == ctWOFF2 {
						aref = urlOf(vt.host, g.common[0], "")
					}
					vt.add(t, mGET, a, "", aref)
				}
				t += int64(g.between(0, 60))
				if i == 0 && g.chance(0.05) { // cache-busting query
					vt.reqs[len(vt.reqs)-1].query = "v=" + g.randString(hexLower, 7)
				}
			}
			if !v.returning {
				vt.add(t+int64(g.between(50, 400)), mGET, g.favicon, "", pageURL)
				if v.ag.mobile && g.chance(0.35) {
					vt.add(vt.last()+int64(g.between(10, 200)), mGET, g.touchIcon, "", "")
				}
				if g.chance(0.2) {
					vt.add(vt.last()+int64(g.between(10, 200)), mGET, g.manifest, "", pageURL)
				}
			}
			if cur == g.pages[0] && g.chance(0.25) { // autoplaying hero video
				r := vt.add(t+int64(g.between(100, 600)), mGET, g.heroVideo, "", pageURL)
				r.rs, r.re = 0, -2 // open-ended
			}
		}
		for _, img := range g.images[cur] {
			if v.returning && g.chance(0.5) {
				continue
			}
			r := vt.add(t+int64(g.between(20, 900)), mGET, img, "", pageURL)
			r.cond = v.returning && g.chance(0.5)
		}
		// JSON API
		if g.chance(0.06) {
			vt.add(vt.last()+int64(g.between(50, 900)), mGET, g.apis["/api/v1/session"], "", pageURL)
		}
		if cur == g.search && g.chance(0.5) {
			vt.add(vt.last()+int64(g.between(300, 5000)), mGET, g.apis["/api/v1/search"], curQ, pageURL)
		}
		if (cur.stem == "/contact/" && g.chance(0.35)) || g.chance(0.004) {
			t := vt.last() + int64(g.between(15000, 120000))
			if g.chance(0.5) {
				vt.add(t, mOPTIONS, g.apis["/api/v1/contact"], "", pageURL)
				t += int64(g.between(20, 200))
			}
			r := vt.add(t, mPOST, g.apis["/api/v1/contact"], "", pageURL)
			r.body = int64(g.between(200, 3000))
		}
		if strings.HasPrefix(cur.stem, "/products/") && g.chance(0.12) {
			id := "/api/v1/cart/items"
			t := vt.last() + int64(g.between(3000, 40000))
			vt.add(t, mOPTIONS, g.apis[id], "", pageURL)
			r := vt.add(t+int64(g.between(20, 150)), mPUT, g.apis[id], "", pageURL)
			r.body = int64(g.between(60, 400))
			if g.chance(0.3) {
				t = vt.last() + int64(g.between(5000, 60000))
				vt.add(t, mOPTIONS, g.apis[id], "item=1", pageURL)
				vt.add(t+int64(g.between(20, 150)), mDELETE, g.apis[id], "item=1", pageURL)
			}
		}
		// downloads and media
		if g.chance(0.045) {
			d := g.downloads[g.n(len(g.downloads))]
			t := vt.last() + int64(g.between(3000, 60000))
			vt.add(t, mGET, d, "", pageURL)
			if d.ctype == ctPDF && g.chance(0.3) { // the PDF viewer asks for ranges
				chunk := int64(65536 * (1 + g.n(4)))
				for k, s := 0, int64(g.between(0, 4)*65536); k < g.between(1, 4) && s < d.size; k++ {
					r := vt.add(vt.last()+int64(g.between(50, 800)), mGET, d, "", pageURL)
					r.rs, r.re = s, s+chunk-1
					s += chunk * int64(g.between(1, 6))
				}
			}
		}
		if g.chance(0.012) {
			g.planMedia(vt, g.media[g.n(len(g.media))], pageURL)
		}
		if g.chance(0.01) {
			vt.add(vt.last()+int64(g.between(500, 5000)), mPOST, g.apis["/api/v1/events"], "", pageURL).body = int64(g.between(100, 900))
		}
	}
}

// planMedia adds the Range requests of a player.
func (g *gen) planMedia(vt *visit, m *resource, ref string) {
	t := vt.last() + int64(g.between(2000, 30000))
	if strings.Contains(vt.vis.ag.ua, "Safari") && !strings.Contains(vt.vis.ag.ua, "Chrome") && g.chance(0.7) {
		r := vt.add(t, mGET, m, "", ref) // Safari probes with bytes=0-1
		r.rs, r.re = 0, 1
		t += int64(g.between(30, 200))
	}
	r := vt.add(t, mGET, m, "", ref)
	r.rs, r.re = 0, -2
	pos := int64(g.between(1, 4)) << 20
	n := g.between(0, 8)
	for k := 0; k < n && pos < m.size; k++ {
		t += int64(g.between(2000, 40000))
		r := vt.add(t, mGET, m, "", ref)
		r.rs = pos
		if g.chance(0.5) {
			r.re = -2
		} else {
			r.re = pos + int64(g.between(1, 8))<<20 - 1
		}
		pos += int64(g.between(1, 12)) << 20
	}
	if g.chance(0.04) { // seek past the end (416)
		r := vt.add(t+int64(g.between(500, 5000)), mGET, m, "", ref)
		r.rs, r.re = m.size+int64(g.between(0, 1000)), -2
	}
}

func (g *gen) planAI(vt *visit) {
	a := vt.vis.ag
	n := 1
	for n < 5 && g.chance(0.35) {
		n++
	}
	if a.behav == bhDeepResearch {
		n = g.between(3, 10)
	}
	var at int64
	if g.chance(0.12) {
		vt.add(at, mGET, g.robots, "", "")
		at += int64(g.between(50, 600))
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			at = vt.last() + int64(g.between(80, 4000))
		}
		x := g.f()
		var r *req
		switch {
		case x < 0.07:
			r = vt.add(at, mGET, g.missing[g.n(len(g.missing))], "", "") // made-up URL
		case x < 0.12:
			r = vt.add(at, mGET, g.downloads[g.n(len(g.downloads))], "", "")
		case x < 0.15:
			var p *resource
			for p == nil {
				p = g.redirects[g.posts[g.n(len(g.posts))]]
			}
			r = vt.add(at, mGET, p, "", "")
			vt.add(at+int64(g.between(30, 300)), mGET, g.redirTo[p], "", "")
			continue
		case x < 0.19:
			r = vt.add(at, mGET, g.favicon, "", "")
		case x < 0.22:
			r = vt.add(at, mGET, g.search, g.pageQuery(g.search), "")
		default:
			if g.chance(0.6) {
				r = vt.add(at, mGET, g.posts[g.n(len(g.posts))], "", "")
			} else {
				r = vt.add(at, mGET, g.pages[g.zipf(len(g.pages))], "", "")
			}
			if g.chance(0.04) {
				r.query = "utm_source=" + []string{"chatgpt.com", "perplexity", "openai"}[g.n(3)]
			}
		}
		if g.chance(0.05) {
			r.method = mHEAD
		}
	}
}

func (g *gen) planCrawler(vt *visit) {
	a := vt.vis.ag
	var at int64
	var n int
	var gap float64
	switch a.behav {
	case bhGooglebot:
		n, gap = g.between(3, 70), 5000
	case bhBingbot:
		n, gap = g.between(2, 50), 7000
	case bhAICrawler:
		n, gap = g.between(2, 60), 2500
	case bhSEO:
		n, gap = g.between(2, 40), 6000
	default: // link previews
		vt.add(0, mGET, g.posts[g.n(len(g.posts))], "", "")
		if g.chance(0.7) {
			vt.add(int64(g.between(100, 1500)), mGET, g.ogImages[g.n(len(g.ogImages))], "", "")
		}
		return
	}
	if g.chance(0.5) {
		vt.add(at, mGET, g.robots, "", "")
		at += int64(g.between(200, 3000))
	}
	if g.chance(0.15) {
		vt.add(at, mGET, g.sitemaps[g.n(len(g.sitemaps))], "", "")
		at += int64(g.between(200, 3000))
	}
	render := a.behav == bhGooglebot || a.behav == bhBingbot
	for i := 0; i < n; i++ {
		if i > 0 {
			at = vt.last() + int64(g.r.ExpFloat64()*gap) + 50
		}
		x := g.f()
		var r *req
		switch {
		case x < 0.05:
			r = vt.add(at, mGET, g.missing[g.n(len(g.missing))], "", "")
		case x < 0.07:
			r = vt.add(at, mGET, g.redirects[g.posts[g.n(240)]], "", "")
		case x < 0.10 && render:
			r = vt.add(at, mGET, g.common[g.n(len(g.common))], "", "")
		case x < 0.13 && render:
			imgs := g.images[g.pages[g.n(len(g.pages))]]
			if len(imgs) == 0 {
				imgs = g.ogImages
			}
			r = vt.add(at, mGET, imgs[g.n(len(imgs))], "", "")
		case x < 0.155:
			r = vt.add(at, mGET, g.downloads[g.n(len(g.downloads))], "", "")
		case x < 0.165:
			r = vt.add(at, mGET, g.feed, "", "")
		default:
			p := g.pages[g.n(len(g.pages))]
			r = vt.add(at, mGET, p, "", "")
			if g.chance(0.04) {
				r.query = g.pageQuery(g.search)
				r.res = g.search
			}
			r.cond = a.behav == bhGooglebot && g.chance(0.25)
		}
		if g.chance(0.02) {
			r.method = mHEAD
		}
		if a.behav == bhBingbot && r.res.kind == kDownload && g.chance(0.5) {
			r.method = mHEAD
		}
	}
}

func (g *gen) planTool(vt *visit) {
	a := vt.vis.ag
	switch a.behav {
	case bhUptime:
		r := vt.add(0, mHEAD, g.pages[0], "", "")
		if g.chance(0.3) {
			r.method = mGET
		}
		if g.chance(0.05) {
			r.http = true
		}
	case bhCurl:
		n := g.between(1, 3)
		for i := 0; i < n; i++ {
			at := vt.last() + int64(g.between(100, 20000))
			var r *req
			switch g.n(5) {
			case 0:
				r = vt.add(at, mGET, g.pages[0], "", "")
			case 1:
				r = vt.add(at, mGET, g.apis["/api/v1/health"], "", "")
			case 2:
				d := g.downloads[g.n(len(g.downloads))]
				vt.add(at, mHEAD, d, "", "")
				r = vt.add(at+int64(g.between(20, 500)), mGET, d, "", "")
			case 3:
				r = vt.add(at, mGET, g.pages[g.n(len(g.pages))], "", "")
			default:
				r = vt.add(at, mGET, g.feed, "", "")
			}
			if g.chance(0.3) {
				r.method = mHEAD
			}
			if g.chance(0.08) {
				r.http = true
			}
		}
	case bhPython:
		if g.chance(0.5) {
			n := g.between(1, 12)
			for i := 0; i < n; i++ {
				q := "page=" + strconv.Itoa(i+1) + "&per_page=100"
				if g.chance(0.1) {
					q += "&q=caf\xc3\xa9" // raw UTF-8, as some clients send it
				}
				vt.add(vt.last()+int64(g.between(100, 2500)), mGET, g.apis["/api/v1/items"], q, "")
			}
		} else {
			vt.add(0, mGET, []*resource{g.feed, g.sitemaps[0], g.pages[0]}[g.n(3)], "", "")
			if g.chance(0.3) {
				r := vt.add(vt.last()+int64(g.between(100, 2000)), mPOST, g.apis["/api/v1/events"], "", "")
				r.body = int64(g.between(100, 2000))
			}
		}
	case bhGoClient:
		n := g.between(1, 6)
		for i := 0; i < n; i++ {
			at := vt.last() + int64(g.between(50, 3000))
			m := []int{mGET, mGET, mPOST, mPUT, mDELETE}[g.n(5)]
			r := vt.add(at, m, []*resource{g.apis["/api/v1/items"], g.apis["/graphql"], g.apis["/api/v1/cart/items"]}[g.n(3)], "", "")
			if m != mGET && m != mDELETE {
				r.body = int64(g.between(80, 5000))
			}
		}
	case bhWget:
		vt.add(0, mGET, g.downloads[g.n(len(g.downloads))], "", "")
	}
}

func (g *gen) planScanner(vt *visit) {
	n := g.between(3, 40)
	var at int64
	http := g.chance(0.3)
	k0 := g.n(len(g.probes))
	for i := 0; i < n; i++ {
		if i > 0 {
			at = vt.last() + int64(g.between(50, 2500))
		}
		k := (k0 + i) % len(g.probes)
		m := mGET
		switch x := g.f(); {
		case x < 0.12:
			m = mPOST
		case x < 0.16:
			m = mHEAD
		}
		r := vt.add(at, m, g.probes[k], g.probeQ[k], "")
		if m == mPOST {
			r.body = int64(g.between(100, 1500))
		}
		r.http = http && g.chance(0.5)
		if g.chance(0.1) {
			r.res = g.pages[g.n(len(g.pages))]
			r.query = ""
		}
	}
}

// ---------------------------------------------------------------------------
// Heap of visits by next request time

func (g *gen) lessIdx(i, j int) bool {
	a, b := g.heap[i], g.heap[j]
	if a.next != b.next {
		return a.next < b.next
	}
	return a.seq < b.seq
}

func (g *gen) push(v *visit) {
	g.heap = append(g.heap, v)
	i := len(g.heap) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !g.lessIdx(i, p) {
			break
		}
		g.heap[i], g.heap[p] = g.heap[p], g.heap[i]
		i = p
	}
}

func (g *gen) down(i int) {
	n := len(g.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && g.lessIdx(r, l) {
			m = r
		}
		if !g.lessIdx(m, i) {
			return
		}
		g.heap[i], g.heap[m] = g.heap[m], g.heap[i]
		i = m
	}
}

func (g *gen) popTop() {
	n := len(g.heap) - 1
	g.heap[0] = g.heap[n]
	g.heap[n] = nil
	g.heap = g.heap[:n]
	if n > 0 {
		g.down(0)
	}
}
