// Package useragent turns a user-agent string into a browser family, an
// operating-system family and a kind of device, for the browsers, OS and
// devices panels of a report.
//
// Browser and OS families are those of uap-core's regexes, as
// github.com/ua-parser/uap-go embeds them, without versions. uap-core names a
// device (brand, model), not a kind of device, so the kind is derived here by
// the rules documented on [Parser.Parse].
//
// An uncached parse costs a few hundred microseconds (uap-core tries its
// regexes one after the other until one matches), so a [Parser] keeps a
// bounded cache of its answers; callers should still parse each distinct
// user agent once rather than once per log line.
package useragent

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/ua-parser/uap-go/uaparser"
)

// Kinds of device, the values of [Info.Device].
const (
	DeviceDesktop = "desktop" // desktop or laptop computer
	DevicePhone   = "phone"   // smartphone or feature phone
	DeviceTablet  = "tablet"
	DeviceTV      = "tv"      // smart TV, streaming stick or box
	DeviceConsole = "console" // game console, home or handheld
	DeviceBot     = "bot"     // crawler, link preview, monitor, AI agent, HTTP library or tool
	DeviceOther   = "other"   // none of the above, unknown, or no user agent
)

// Other is the Browser and OS family of a user agent that names none.
const Other = "Other"

// MaxLen is the number of leading bytes of a user agent that Parse looks at
// (and caches). Real user agents are shorter (in-app browsers, the longest,
// stay under 400 bytes); the bound keeps the cost of a pathological one, such
// as a 10 KB header, to about 2-4 ms instead of 60 ms.
const MaxLen = 512

// Info is what a user agent says about the client that sent it.
type Info struct {
	// Browser is uap-core's user-agent family, without version, for example
	// "Chrome", "Firefox", "Safari", "Mobile Safari", "Chrome Mobile",
	// "Chrome Mobile iOS", "Edge", "Samsung Internet", "Googlebot", "curl",
	// "Python Requests", or "Other". For a few bots and HTTP libraries that
	// uap-core does not name (ChatGPT-User, Claude-User, python-httpx...), it
	// is the name of their token. Some uap-core rules copy text from the
	// user agent (an app's name before "CFNetwork", up to 200 bytes), so
	// Browser is untrusted text: escape it when rendering.
	Browser string
	// OS is uap-core's operating-system family, without version, for example
	// "Windows", "macOS" (uap-core's "Mac OS X" and "Mac OS"), "iOS",
	// "Android", "Linux", "Ubuntu", "Chrome OS", or "Other". It is uap-core's
	// answer as is, mistakes included (Roku players get "macOS").
	OS string
	// Device is one of the Device constants.
	Device string
}

// Parser parses user agents. Its zero value is not usable: make one with
// [New]. It is safe for concurrent use: its cache is guarded by a mutex that
// is not held while parsing, and uap-go's parser is itself safe for
// concurrent use.
type Parser struct {
	uap *uaparser.Parser
	// spiders are uap-core's device regexes whose family is "Spider": when
	// none matches, uap's device parse cannot answer "Spider", so Parse does
	// not run it (it tries all of its 633 regexes on a Windows or Linux
	// desktop browser; skipping it saves a quarter of the cost of a parse).
	spiders []*regexp.Regexp

	mu        sync.Mutex
	cache     map[string]Info // nil when caching is off
	cacheSize int
}

// New compiles uap-core's regexes (about 1,200) and returns a Parser whose
// cache holds the answers for up to cacheSize distinct user agents; when it is
// full, the next new user agent empties it first (the cache is a plain map:
// a day's distinct user agents are parsed once each, and clearing keeps it
// bounded with no bookkeeping per hit). cacheSize <= 0 turns the cache off.
//
// A cached entry costs about its user agent's length plus 150 bytes. New
// takes about 35 ms and the Parser holds about 12 MiB of compiled regexes:
// make one and share it.
func New(cacheSize int) (p *Parser, err error) {
	defer func() {
		// uap-go panics if its embedded regexes do not parse or compile.
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("useragent: loading uap-core regexes: %v", r)
		}
	}()
	// uap-go's own caches (three ARC caches keyed by user agent) are made
	// as small as it allows: ours is in front of them.
	up, err := uaparser.New(uaparser.WithCacheSize(1))
	if err != nil {
		return nil, fmt.Errorf("useragent: %w", err)
	}
	p = &Parser{uap: up}
	if up.RegexDefinitions != nil {
		for _, d := range up.RegexDefinitions.Device {
			if d.DeviceReplacement == "Spider" && d.Reg != nil {
				p.spiders = append(p.spiders, d.Reg)
			}
		}
	}
	if cacheSize > 0 {
		p.cacheSize = cacheSize
		p.cache = make(map[string]Info, min(cacheSize, 4096))
	}
	return p, nil
}

// Parse returns the browser family, OS family and kind of device of ua, a
// User-Agent header as sent (already percent-decoded). Only the first
// [MaxLen] bytes of ua count. An empty ua, one of spaces only, or "-" gives
// Info{"Other", "Other", DeviceOther}.
//
// The kind of device is the first of these rules that applies (markers are
// substrings of ua, compared case-insensitively; the tokens of rule 1 are
// case-sensitive):
//
//  1. bot: uap-core's device family is "Spider"; or its browser family is
//     "Spider", contains "bot", "spider" or "crawler", or is one of the
//     HTTP libraries and tools it names (curl, Wget, Python Requests,
//     Go-http-client, okhttp, HeadlessChrome...); or ua has one of a few
//     tokens uap-core does not know (ChatGPT-User, Claude-User,
//     Perplexity-User, python-httpx, aiohttp, node-fetch, Chrome-Lighthouse...).
//  2. console: playstation, xbox, nintendo.
//  3. tv: smart-tv, smarttv, smart tv, hbbtv, netcast, web0s, webos.tv,
//     tizen with " tv", appletv, apple tv, tvos, crkey, chromecast, bravia,
//     googletv, google tv, android tv, androidtv, roku, viera,
//     philipstv, an Amazon Fire TV model (a word "AFT" followed by capitals:
//     AFTMM, AFTKA...), or an OS family that uap-core gives only to TVs
//     (tvOS, ATV OS X, Chromecast..., FireHbbTV).
//  4. tablet: ipad, kindle, silk/, playbook, tablet (but not "Tablet PC",
//     which Windows desktops send), an Amazon Fire model ("KF" followed by
//     capitals), or android without mobi in a browser's user agent (one that
//     has safari/, chrome/ or gecko/): Android browsers on tablets leave
//     "Mobile" out.
//  5. phone: iphone, ipod, android, mobi (Mobile, IEMobile, Opera Mobi...),
//     windows phone, windows ce, blackberry, bb10, kaios, symbian, symbos,
//     series40, series60, midp, j2me, opera mini, up.browser; or an OS family
//     of phones (iOS, Android, Windows Phone, KaiOS...) — an app's own user
//     agent that uap-core places on iOS (CFNetwork, Darwin) counts as a phone.
//  6. desktop: an OS family of computers (Windows, macOS, Linux and its
//     distributions, Chrome OS, the BSDs, Solaris...), or windows nt,
//     macintosh, x11. iPads that ask for desktop sites send a Mac
//     user agent, and so are counted as desktops.
//  7. other.
func (p *Parser) Parse(ua string) Info {
	if len(ua) > MaxLen {
		ua = ua[:MaxLen]
	}
	if p.cache != nil {
		p.mu.Lock()
		info, ok := p.cache[ua]
		p.mu.Unlock()
		if ok {
			return info
		}
	}
	info := p.parse(ua)
	if p.cache != nil {
		key := strings.Clone(ua) // do not keep the caller's buffer alive
		p.mu.Lock()
		if len(p.cache) >= p.cacheSize {
			clear(p.cache)
		}
		p.cache[key] = info
		p.mu.Unlock()
	}
	return info
}

// parse does the work of Parse, without the cache.
func (p *Parser) parse(ua string) Info {
	if strings.TrimSpace(ua) == "" || ua == "-" {
		return Info{Browser: Other, OS: Other, Device: DeviceOther}
	}
	info := Info{
		Browser: p.uap.ParseUserAgent(ua).Family,
		OS:      normaliseOS(p.uap.ParseOs(ua).Family),
	}
	if name, ok := extraBot(ua); ok {
		info.Browser = name
		info.Device = DeviceBot
		return info
	}
	if isBotFamily(info.Browser) || p.isSpiderDevice(ua) {
		info.Device = DeviceBot
		return info
	}
	info.Device = deviceKind(ua, strings.ToLower(ua), info.OS)
	return info
}

// isSpiderDevice reports whether uap-core's device family of ua is "Spider".
func (p *Parser) isSpiderDevice(ua string) bool {
	if len(p.spiders) > 0 {
		candidate := false
		for _, re := range p.spiders {
			if re.MatchString(ua) {
				candidate = true
				break
			}
		}
		if !candidate {
			return false
		}
	}
	// An earlier, non-Spider device regex may match first (a "Cubot" phone
	// matches the generic "bot" one): only uap's ordered parse can tell.
	return p.uap.ParseDevice(ua).Family == "Spider"
}

func normaliseOS(family string) string {
	switch family {
	case "Mac OS X", "Mac OS":
		return "macOS"
	case "":
		return Other
	}
	return family
}

// extraBots are bots and HTTP clients that uap-core does not recognise, or
// names badly ("com/bot" for ChatGPT-User): a token found anywhere in the
// user agent (case-sensitive), and the Browser family Parse gives it.
var extraBots = []struct{ token, family string }{
	{"ChatGPT-User", "ChatGPT-User"},
	{"Claude-User", "Claude-User"},
	{"Perplexity-User", "Perplexity-User"},
	{"MistralAI-User", "MistralAI-User"},
	{"Gemini-Deep-Research", "Gemini-Deep-Research"},
	{"Google-NotebookLM", "Google-NotebookLM"},
	{"Chrome-Lighthouse", "Lighthouse"},
	{"python-httpx", "python-httpx"},
	{"aiohttp/", "aiohttp"},
	{"node-fetch", "node-fetch"},
	{"GuzzleHttp", "GuzzleHttp"},
}

// extraTools are user agents that consist of, or start with, one word that
// names an HTTP library (the word is followed by the end, "/" or " ").
var extraTools = []string{"node", "undici", "Ruby", "Faraday", "Dart", "Deno", "Bun", "reqwest"}

func extraBot(ua string) (string, bool) {
	for _, b := range extraBots {
		if strings.Contains(ua, b.token) {
			return b.family, true
		}
	}
	for _, t := range extraTools {
		if strings.HasPrefix(ua, t) && (len(ua) == len(t) || ua[len(t)] == '/' || ua[len(t)] == ' ') {
			return t, true
		}
	}
	return "", false
}

// botFamilies are uap-core browser families of HTTP libraries and tools,
// whose names do not say "bot".
var botFamilies = map[string]bool{
	"Spider": true, "curl": true, "Wget": true, "Python Requests": true,
	"Python-urllib": true, "Go-http-client": true, "okhttp": true,
	"axios": true, "Apache-HttpClient": true, "PostmanRuntime": true,
	"libwww-perl": true, "HTTPie": true, "Scrapy": true, "Java": true,
	"HeadlessChrome": true, "PhantomJS": true, "WordPress": true,
	"WhatsApp": true, "Go http package": true, "Boto": true, "Boto3": true,
}

func isBotFamily(family string) bool {
	if botFamilies[family] {
		return true
	}
	f := strings.ToLower(family)
	return strings.Contains(f, "bot") || strings.Contains(f, "spider") || strings.Contains(f, "crawler")
}

var (
	consoleMarkers = []string{"playstation", "xbox", "nintendo"}
	tvMarkers      = []string{
		"smart-tv", "smarttv", "smart tv", "hbbtv", "netcast", "web0s", "webos.tv",
		"appletv", "apple tv", "tvos", "crkey", "chromecast", "bravia", "googletv",
		"google tv", "android tv", "androidtv", "roku", "viera", "philipstv",
	}
	tabletMarkers = []string{"ipad", "kindle", "silk/", "playbook"}
	phoneMarkers  = []string{
		"iphone", "ipod", "android", "mobi", "windows phone", "windows ce",
		"blackberry", "bb10", "kaios", "symbian", "symbos", "series40",
		"series60", "midp", "j2me", "opera mini", "up.browser",
	}
	desktopMarkers = []string{"windows nt", "macintosh", "x11"}

	tvOS = map[string]bool{
		"tvOS": true, "ATV OS X": true, "Chromecast Android": true,
		"Chromecast Fuchsia": true, "Chromecast Linux": true,
		"Chromecast SmartSpeaker": true, "FireHbbTV": true,
	}
	phoneOS = map[string]bool{
		"iOS": true, "Android": true, "Windows Phone": true, "Windows Mobile": true,
		"KaiOS": true, "Symbian OS": true, "Symbian^3": true, "Symbian^3 Anna": true,
		"Symbian^3 Belle": true, "BlackBerry OS": true, "Firefox OS": true,
		"Nokia Series 40": true, "Nokia Series 30 Plus": true, "Brew MP": true,
		"webOS": true, "Sailfish": true, "Tizen": true, "HarmonyOS": true,
	}
	desktopOS = map[string]bool{
		"Windows": true, "macOS": true, "Chrome OS": true, "Linux": true,
		"Ubuntu": true, "Kubuntu": true, "Xubuntu": true, "Lubuntu": true,
		"Debian": true, "Fedora": true, "Red Hat": true, "CentOS": true,
		"Gentoo": true, "Arch Linux": true, "Linux Mint": true, "Mint": true,
		"SUSE": true, "openSUSE": true, "Mandriva": true, "Slackware": true,
		"FreeBSD": true, "OpenBSD": true, "NetBSD": true, "DragonFly": true,
		"Solaris": true, "Haiku": true, "BeOS": true,
	}
)

func containsAny(s string, markers []string) bool {
	for _, m := range markers {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// deviceKind applies rules 2 to 7 of Parse to a user agent, given also
// lower-cased.
func deviceKind(ua, lower, os string) string {
	switch {
	case containsAny(lower, consoleMarkers):
		return DeviceConsole
	case containsAny(lower, tvMarkers) || tvOS[os] ||
		(strings.Contains(lower, "tizen") && strings.Contains(lower, " tv")) ||
		hasModel(ua, "AFT"):
		return DeviceTV
	case containsAny(lower, tabletMarkers) || hasModel(ua, "KF") ||
		(strings.Contains(lower, "tablet") && !strings.Contains(lower, "tablet pc")) ||
		(strings.Contains(lower, "android") && !strings.Contains(lower, "mobi") &&
			containsAny(lower, []string{"safari/", "chrome/", "gecko/"})):
		return DeviceTablet
	case containsAny(lower, phoneMarkers) || phoneOS[os]:
		return DevicePhone
	case desktopOS[os] || containsAny(lower, desktopMarkers):
		return DeviceDesktop
	}
	return DeviceOther
}

// hasModel reports whether ua has a word that starts with prefix and goes
// on with capital letters, then ends at " ", ")", ";" or the end: Amazon's
// model codes (AFTB, AFTMM, AFTKA, KFTRWI, KFMAWI). The word must
// start ua or follow "; " or "(", as models do.
func hasModel(ua, prefix string) bool {
	for i := 0; ; {
		j := strings.Index(ua[i:], prefix)
		if j < 0 {
			return false
		}
		start := i + j
		i = start + len(prefix)
		if start > 0 && ua[start-1] != ' ' && ua[start-1] != '(' {
			continue
		}
		if start > 0 && ua[start-1] == ' ' && (start < 2 || ua[start-2] != ';') {
			continue
		}
		k := i
		for k < len(ua) && ua[k] >= 'A' && ua[k] <= 'Z' {
			k++
		}
		if k > i && (k == len(ua) || ua[k] == ' ' || ua[k] == ')' || ua[k] == ';') {
			return true
		}
	}
}
