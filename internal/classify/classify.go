// Package classify says, once per hit, what a request is (Facts: which AI
// assistant or bot sent it, whether it fetched a page, a download or a
// static asset), and, for Matomo, whether the filters of Matomo's
// CloudFront Lambda and importer keep it (the policy of Result.Skip:
// methods, user-agent allowlist, static files, bots, errors, redirects).
// Outputs that count everything, as the report does, use Facts alone.
//
// The defaults are those of Matomo's CloudFront Lambda, so that its users
// can switch without changing their configuration.
package classify

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/trackless/trackless/internal/hit"
)

// AIAssistants are the user-agent tokens of AI assistants that fetch a page
// because a person asked them to, as Matomo's BotTracking plugin recognises
// them (case-insensitive substrings), with the name Matomo stores.
var AIAssistants = []struct{ Token, Name string }{
	{"ChatGPT-User", "ChatGPT-User"},
	{"MistralAI-User", "MistralAI-User"},
	{"Gemini-Deep-Research", "Gemini-Deep-Research"},
	{"Claude-User", "Claude-User"},
	{"Perplexity-User", "Perplexity-User"},
	{"DuckAssistBot", "DuckAssistBot"},
	{"Google-NotebookLM", "Google-NotebookLM"},
	{"Google-GeminiNotebook", "Google-NotebookLM"},
}

// Default patterns of the peer (all matched case-insensitively).
const (
	DefaultAIAllowlist = `(?:ChatGPT-User|MistralAI-User|Gemini-Deep-Research|Claude-User|Perplexity-User|Google-NotebookLM|Google-GeminiNotebook)`
	DefaultDocument    = `^[^?]+\.(?:pdf|docx?|xlsx?|pptx?|csv|json|txt|xml|epub|mobi|azw3|mp3|mp4|mpe?g|webm|mov|avi|ogg|wav|flac|zip|gz|gzip|tgz|tar|bz2|tbz|7z|rar|dmg|exe|msi|apk|jar|md5|sig)(?:\?|$)`
	DefaultExclude     = `^[^?]+\.(?:css|js|mjs|map|json|xml|webmanifest|manifest|png|jpe?g|gif|webp|avif|svg|ico|bmp|tiff?|woff2?|ttf|otf|eot|rss|atom|wasm|txt)(?:\?|$)`
)

var (
	defaultDocumentExts = extSet("pdf doc docx xls xlsx ppt pptx csv json txt xml epub mobi azw3 mp3 mp4 mpeg mpg webm mov avi ogg wav flac zip gz gzip tgz tar bz2 tbz 7z rar dmg exe msi apk jar md5 sig")
	defaultExcludeExts  = extSet("css js mjs map json xml webmanifest manifest png jpg jpeg gif webp avif svg ico bmp tif tiff woff woff2 ttf otf eot rss atom wasm txt")

	// In visits mode the lists are those of Matomo's importer
	// (import_logs.py's STATIC_EXTENSIONS, STATIC_FILES and
	// DOWNLOAD_EXTENSIONS); static comes first, so .xml is static.
	visitsStaticExts   = extSet("gif jpg jpeg png bmp ico svg svgz ttf otf eot woff woff2 class swf css js xml webp")
	visitsStaticFiles  = map[string]bool{"robots.txt": true}
	visitsDocumentExts = extSet("7z aac arc arj asf asx avi bin csv deb dmg doc docx exe flac flv gz gzip hqx ibooks jar json mpg mp2 mp3 mp4 mpeg mov movie msi msp odb odf odg odp ods odt ogg ogv pdf phps ppt pptx qt qtm ra ram rar rpm rtf sea sit tar tbz bz2 tbz tgz torrent txt wav webm wma wmv wpd xls xlsx xml xsd z zip azw3 epub mobi apk md5 sig")
)

func extSet(s string) map[string]bool {
	m := make(map[string]bool)
	for _, e := range strings.Fields(s) {
		m[e] = true
	}
	return m
}

// Skip reasons: why a hit is not sent. They are stable; summaries use them.
const (
	SkipMethod    = "method"        // not in HTTP_METHOD_ALLOWLIST
	SkipUserAgent = "user_agent"    // empty, or not matched by USER_AGENT_ALLOWLIST_REGEX
	SkipExcluded  = "excluded"      // URL matched by URL_EXCLUDE_REGEX (static assets by default)
	SkipBot       = "bot"           // visits mode: a bot (--enable-bots sends them with bots=1)
	SkipError     = "http_error"    // visits mode: status 4xx/5xx or 000 (--enable-http-errors)
	SkipRedirect  = "http_redirect" // visits mode: status 3xx but 304 (--enable-http-redirects)
)

// Config holds the filters. Empty patterns select the defaults.
type Config struct {
	RecMode         int      // 1: AI assistants only (default allowlist); 2: everything (allowlist ".*")
	UserAgentRegex  string   // USER_AGENT_ALLOWLIST_REGEX
	DocumentRegex   string   // DOCUMENT_REGEX
	URLExcludeRegex string   // URL_EXCLUDE_REGEX
	Methods         []string // HTTP_METHOD_ALLOWLIST, upper case; empty: GET, or every method in visits mode (as Matomo's importer)

	// Visits applies the filters of Matomo's importer: static files, bots,
	// HTTP errors and redirects are skipped unless enabled; 304 is kept.
	Visits                                                  bool
	EnableStatic, EnableBots, EnableErrors, EnableRedirects bool
}

// Classifier classifies hits. It caches per user agent and is not safe for
// concurrent use: give each goroutine its own (they are cheap).
type Classifier struct {
	cfg       Config
	uaRe      *regexp.Regexp // nil: the default AI allowlist by substring, or allow all (mode 2)
	allowAll  bool
	docRe     *regexp.Regexp // nil: default extension list
	excludeRe *regexp.Regexp // nil: default extension list
	methods   map[string]bool
	anyMethod bool
	uaCache   map[string]*uaInfo
	noUAField uaInfo // a hit whose log has no user-agent field
}

type uaInfo struct {
	agent    string
	category string
	name     string
	allowed  bool
}

// ConfigError is a configuration value that cannot be used. Var names the
// environment variable of the setting.
type ConfigError struct {
	Var string
	Err error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("%s: %v", e.Var, e.Err) }

// New checks cfg and returns a Classifier.
func New(cfg Config) (*Classifier, error) {
	c := &Classifier{cfg: cfg, methods: make(map[string]bool), uaCache: make(map[string]*uaInfo)}
	var err error
	switch {
	case cfg.UserAgentRegex != "":
		if c.uaRe, err = compile(cfg.UserAgentRegex); err != nil {
			return nil, &ConfigError{"USER_AGENT_ALLOWLIST_REGEX", err}
		}
	case cfg.RecMode == 2 || cfg.Visits:
		c.allowAll = true
	}
	// A hit of a log without a user-agent field is a person's as far as
	// anyone can tell: not a bot, allowed as any browser is (rec mode 2,
	// visits mode, or a USER_AGENT_ALLOWLIST_REGEX that matches the empty
	// string), and not an AI assistant (rec mode 1 skips it).
	c.noUAField.allowed = c.allowAll || c.uaRe != nil && c.uaRe.MatchString("")
	if cfg.DocumentRegex != "" && cfg.DocumentRegex != DefaultDocument {
		if c.docRe, err = compile(cfg.DocumentRegex); err != nil {
			return nil, &ConfigError{"DOCUMENT_REGEX", err}
		}
	}
	if cfg.URLExcludeRegex != "" && cfg.URLExcludeRegex != DefaultExclude {
		if c.excludeRe, err = compile(cfg.URLExcludeRegex); err != nil {
			return nil, &ConfigError{"URL_EXCLUDE_REGEX", err}
		}
	}
	methods := cfg.Methods
	if len(methods) == 0 {
		if cfg.Visits {
			c.anyMethod = true
			return c, nil
		}
		methods = []string{"GET"}
	}
	for _, m := range methods {
		m = strings.ToUpper(strings.TrimSpace(m))
		if m == "" {
			continue
		}
		for _, r := range m {
			if r < 'A' || r > 'Z' {
				return nil, &ConfigError{"HTTP_METHOD_ALLOWLIST", fmt.Errorf("invalid method %q (letters only)", m)}
			}
		}
		c.methods[m] = true
	}
	if len(c.methods) == 0 {
		return nil, &ConfigError{"HTTP_METHOD_ALLOWLIST", fmt.Errorf("must include at least one method")}
	}
	return c, nil
}

func compile(expr string) (*regexp.Regexp, error) {
	if !strings.HasPrefix(expr, "(?i)") {
		expr = "(?i)" + expr
	}
	return regexp.Compile(expr)
}

// Facts are what a hit is, whatever an output keeps of it.
type Facts struct {
	Agent string // AI assistant name as Matomo stores it, or ""
	Bot   bool   // the user agent is a bot's (AI assistants included)
	// Category is the bot category (see BotCategory), "" for a browser.
	Category string
	// BotName names the bot (see Bot), "" for a browser.
	BotName string
	Kind    hit.Kind // page, download or asset
}

// Result is the classification of one hit for Matomo: its facts, and
// what Matomo's filters make of it.
type Result struct {
	Facts
	Skip string // why the hit is not sent, or "" to send it
	// Titled: in visits mode, an error or redirect that is sent; Matomo's
	// importer names such actions "404/URL = ...".
	Titled bool
	// BotsParam: in visits mode with EnableBots, the request carries
	// bots=1 so that Matomo keeps it whatever its own bot detection
	// says (as Matomo's importer does for every request).
	BotsParam bool
}

// AIAssistant returns the Matomo name of the AI assistant in ua, or "".
func AIAssistant(ua string) string {
	for _, a := range AIAssistants {
		if containsFold(ua, a.Token) {
			return a.Name
		}
	}
	return ""
}

// Facts says what h is; url is its full URL (scheme://host/path?query)
// or "" when NeedsURL is false: the extension lists then look at h.Path.
// The kind of file follows DocumentRegex and URLExcludeRegex, or the
// default lists (those of Matomo's importer with Visits).
func (c *Classifier) Facts(h *hit.Hit, url string) Facts {
	var f Facts
	c.facts(&f, h, url, c.uaInfo(h))
	return f
}

func (c *Classifier) facts(f *Facts, h *hit.Hit, url string, info *uaInfo) {
	f.Agent, f.Category, f.BotName, f.Bot = info.agent, info.category, info.name, info.category != ""
	f.Kind = c.kind(url, h.Path)
}

// uaInfo returns what the user agent of h says, cached per user agent.
func (c *Classifier) uaInfo(h *hit.Hit) *uaInfo {
	if h.NoUserAgentField && h.UserAgent == "" {
		return &c.noUAField
	}
	if info := c.uaCache[h.UserAgent]; info != nil {
		return info
	}
	info := &uaInfo{agent: AIAssistant(h.UserAgent)}
	info.category, info.name = Bot(h.UserAgent)
	switch {
	case h.UserAgent == "":
	case c.uaRe != nil:
		info.allowed = c.uaRe.MatchString(h.UserAgent)
	case c.allowAll:
		info.allowed = true
	default:
		info.allowed = defaultAllowed(h.UserAgent)
	}
	if len(c.uaCache) >= 8192 {
		clear(c.uaCache)
	}
	c.uaCache[h.UserAgent] = info
	return info
}

// Classify classifies h for Matomo: its Facts (url as for Facts), then
// the filters, in the peer's order: method, user agent, URL exclusion;
// exclusion wins over download.
//
// An empty user agent is a bot's (skipped for user_agent except in visits
// mode) only when the log has a user-agent field: a hit with
// NoUserAgentField is a person's (see HitBot), allowed in rec mode 2 and
// visits mode, and skipped in rec mode 1, as it is no AI assistant.
func (c *Classifier) Classify(h *hit.Hit, url string) Result {
	info := c.uaInfo(h)
	var r Result
	c.facts(&r.Facts, h, url, info)
	allowed := info.allowed
	switch {
	case !c.anyMethod && !c.methods[h.Method]:
		r.Skip = SkipMethod
	case !allowed && !(c.cfg.Visits && h.UserAgent == ""):
		r.Skip = SkipUserAgent
	case r.Kind == hit.Asset && !(c.cfg.Visits && c.cfg.EnableStatic):
		r.Skip = SkipExcluded
	case !c.cfg.Visits:
	case r.Bot && !c.cfg.EnableBots:
		r.Skip = SkipBot
	case h.Status == 0 || h.Status >= 400:
		if !c.cfg.EnableErrors {
			r.Skip = SkipError
		}
		r.Titled = true
	case h.Status >= 300 && h.Status != 304:
		if !c.cfg.EnableRedirects {
			r.Skip = SkipRedirect
		}
		r.Titled = true
	}
	if r.Skip != "" {
		r.Titled = false
	}
	r.BotsParam = r.Skip == "" && c.cfg.Visits && c.cfg.EnableBots
	return r
}

// defaultAllowed is DefaultAIAllowlist without a regexp.
func defaultAllowed(ua string) bool {
	for _, a := range AIAssistants {
		if a.Token != "DuckAssistBot" && containsFold(ua, a.Token) {
			return true
		}
	}
	return false
}

// NeedsURL reports whether Classify needs the URL: a URL_EXCLUDE_REGEX or
// DOCUMENT_REGEX is set.
func (c *Classifier) NeedsURL() bool { return c.excludeRe != nil || c.docRe != nil }

// kind matches the regular expressions against url and looks up the
// extension of url, or of path when url is "".
func (c *Classifier) kind(url, path string) hit.Kind {
	target := url
	if target == "" {
		target = path
	}
	staticExts, docExts := defaultExcludeExts, defaultDocumentExts
	if c.cfg.Visits {
		staticExts, docExts = visitsStaticExts, visitsDocumentExts
	}
	if c.excludeRe != nil {
		if c.excludeRe.MatchString(url) {
			return hit.Asset
		}
	} else if staticExts[ext(target)] || c.cfg.Visits && visitsStaticFiles[fileName(target)] {
		return hit.Asset
	}
	if c.docRe != nil {
		if c.docRe.MatchString(url) {
			return hit.Download
		}
	} else if docExts[ext(target)] {
		return hit.Download
	}
	return hit.Page
}

// fileName returns the last path segment of url, without the query.
func fileName(url string) string {
	if i := strings.IndexByte(url, '?'); i >= 0 {
		url = url[:i]
	}
	return url[strings.LastIndexByte(url, '/')+1:]
}

// ext returns the lower-case extension that the default patterns
// `^[^?]+\.(ext)(?:\?|$)` would see: what follows the last '.' of the part
// before the first '?', when that part has a character before the dot.
func ext(url string) string {
	if i := strings.IndexByte(url, '?'); i >= 0 {
		url = url[:i]
	}
	dot := strings.LastIndexByte(url, '.')
	if dot < 1 || len(url)-dot-1 > 12 {
		return ""
	}
	e := url[dot+1:]
	for i := 0; i < len(e); i++ {
		if c := e[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(e)
		}
	}
	return e
}

// containsFold reports whether s contains substr, ASCII case-insensitively.
func containsFold(s, substr string) bool {
	n := len(substr)
	if n == 0 {
		return true
	}
	first := substr[0] | 0x20
	for i := 0; i+n <= len(s); i++ {
		if s[i]|0x20 != first {
			continue
		}
		if strings.EqualFold(s[i:i+n], substr) {
			return true
		}
	}
	return false
}
