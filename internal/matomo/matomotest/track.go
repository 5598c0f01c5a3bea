package matomotest

import (
	"bytes"
	"math"
	"net/netip"
	"strings"
	"time"
)

// This file is the model of Tracker::trackRequest() and what it calls: the
// recMode routing (Matomo >= 5.7), the bot path (BotRequest +
// BotTracking's BotRequestProcessor) and the visit path (Visit::handle with
// its request processors), in the order real Matomo runs its checks, since
// the order decides whether an item is "invalid" or only "not stored".

// Record kinds.
const (
	KindVisit = "visit" // an action of a visit (log_link_visit_action)
	KindBot   = "bot"   // a row of the BotTracking table (Matomo >= 5.7)
)

// Actions of a record, as Action::factory() picks them.
const (
	ActionPageview = "pageview"
	ActionDownload = "download"
	ActionOutlink  = "outlink"
	ActionEvent    = "event"
	ActionContent  = "content"
	ActionSearch   = "search"
)

type outcome uint8

const (
	outDiscarded outcome = iota // counted in tracked, nothing stored
	outStored                   // counted in tracked and stored
	outInvalid                  // counted in invalid
	outDeadlock                 // the fingerprint salt race deadlocked (Config.SaltDeadlock)
)

// rec is the compact form of a stored record.
type rec struct {
	raw    string
	bot    string
	info   *reqInfo // the request a visit came in (nil for bots)
	unix   int64
	batch  int32
	site   int32
	day    int32   // salt day, days since 1970-01-01 in the site's zone
	cfg    [8]byte // config_id
	obj    bool
	kind   uint8 // 0 visit, 1 bot
	action uint8
	vflags uint8 // vfCip, vfUAHeader, vfLangHeader
}

// What a visit's identity came from.
const (
	vfCip        = 1 << iota // the IP is cip, not the connection's address
	vfUAHeader               // no ua: the HTTP User-Agent
	vfLangHeader             // no lang: the Accept-Language header
)

// reqInfo is what a visit's identity takes from its HTTP request.
type reqInfo struct {
	remote     netip.Addr
	httpUA     string
	acceptLang string // as browserLanguage() makes it
}

var actionNames = [...]string{ActionPageview, ActionDownload, ActionOutlink, ActionEvent, ActionContent, ActionSearch}

const (
	actPageview uint8 = iota
	actDownload
	actOutlink
	actEvent
	actContent
	actSearch
)

// genericBotPatterns stand in for DeviceDetector's bot list (lower case,
// substring match). From Matomo 5.7 on, the AI assistants below are bots
// too; before, only these patterns decide: ChatGPT-User's user agent has
// "+https://openai.com/bot" in it and is a bot, Claude-User's and
// Perplexity-User's have nothing a generic pattern matches and are visits
// (what a real 5.0.2 did).
//
// A real 5.0.2 stored as ordinary visits the hits of python-requests/2.32.3,
// Go-http-client/1.1 and /2.0, Wget/1.21.4, curl/8.5.0 and HeadlessChrome/120
// (measured, one bulk request each, no bots=1): its device detector does not
// call HTTP libraries bots. toolBotPatterns are such clients, taken as bots
// from 5.7 on only: newer device detectors were not measured, and a test
// must not count on Matomo dropping them.
var (
	genericBotPatterns = []string{"bot", "crawl", "spider", "slurp"}
	toolBotPatterns    = []string{"curl", "wget", "python-requests", "http-client", "go-http-client", "headless"}
)

// aiAssistants is BotTracking's BotDetector list, in its order: the first
// pattern found (case-insensitive substring) names the bot.
var aiAssistants = []struct{ pattern, name string }{
	{"chatgpt-user", "ChatGPT-User"},
	{"mistralai-user", "MistralAI-User"},
	{"gemini-deep-research", "Gemini-Deep-Research"},
	{"claude-user", "Claude-User"},
	{"perplexity-user", "Perplexity-User"},
	{"duckassistbot", "DuckAssistBot"},
	{"google-gemininotebook", "Google-NotebookLM"},
	{"google-notebooklm", "Google-NotebookLM"},
}

// botIPRanges is VisitExcluded::getBotIpRanges(): visits from these
// addresses are excluded as bots unless bots=1.
var botIPRanges = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"216.239.32.0/19", "64.233.160.0/19", "66.249.80.0/20", "72.14.192.0/18",
		"209.85.128.0/17", "66.102.0.0/20", "74.125.0.0/16", "64.18.0.0/20",
		"207.126.144.0/20", "173.194.0.0/16",
		"64.4.0.0/18", "65.52.0.0/14", "157.54.0.0/15", "157.56.0.0/14", "157.60.0.0/16",
		"207.46.0.0/16", "207.68.128.0/18", "207.68.192.0/20", "131.253.26.0/20", "131.253.24.0/20",
		"72.30.198.0/20", "72.30.196.0/20", "98.137.207.0/20", "1.202.218.8/32",
	} {
		out = append(out, netip.MustParsePrefix(s).Masked())
	}
	return out
}()

func inBotRange(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, p := range botIPRanges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

type uaInfo struct {
	bot  bool   // DeviceDetector would call it a bot
	ai   string // BotDetector's name, "" if not an AI assistant
	text string // the user agent (decoded)
}

// classifyUA classifies a user agent; aiBots says whether the AI
// assistants count as bots (Matomo >= 5.7).
func classifyUA(ua string, aiBots bool, scratch []byte) (uaInfo, []byte) {
	if ua == "" {
		return uaInfo{}, scratch
	}
	l := scratch[:0]
	for i := 0; i < len(ua); i++ {
		c := ua[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		l = append(l, c)
	}
	info := uaInfo{text: ua}
	for _, a := range aiAssistants {
		if bytes.Contains(l, []byte(a.pattern)) {
			info.ai, info.bot = a.name, aiBots
			break
		}
	}
	if !info.bot {
		for _, p := range genericBotPatterns {
			if bytes.Contains(l, []byte(p)) {
				info.bot = true
				break
			}
		}
	}
	if !info.bot && aiBots { // newer Matomo (see toolBotPatterns)
		for _, p := range toolBotPatterns {
			if bytes.Contains(l, []byte(p)) {
				info.bot = true
				break
			}
		}
	}
	return info, l
}

// reqCtx is the per-HTTP-request state shared by the items of a batch.
type reqCtx struct {
	s         *Server
	now       int64  // time() when the requests were built
	bodyToken string // top-level token_auth of a bulk body
	bearer    string // Authorization: Bearer token (if accepted)
	httpUA    string // the HTTP User-Agent, Matomo's default for ua
	remote    netip.Addr
	info      *reqInfo // shared by the request's visit records
	tx        *tx
	hdrInfo   *uaInfo
	uaCache   map[string]uaInfo
	scratch   []byte
	cfgBuf    []byte
}

// classify classifies the request's user agent: the ua parameter, else the
// HTTP User-Agent header (Request::getUserAgent()).
func (rc *reqCtx) classify(it *item) uaInfo {
	v := &it.f[fUA]
	if v.kind == vStr && v.s != "" && v.enc {
		if info, ok := rc.uaCache[v.s]; ok {
			return info
		}
		var info uaInfo
		info, rc.scratch = classifyUA(v.text(), rc.s.recModeSupported, rc.scratch)
		if rc.uaCache == nil {
			rc.uaCache = make(map[string]uaInfo, 64)
		}
		if len(rc.uaCache) < 4096 {
			rc.uaCache[v.s] = info
		}
		return info
	}
	ua := getStr(v, "")
	if ua == "" {
		if rc.hdrInfo == nil {
			var info uaInfo
			info, rc.scratch = classifyUA(rc.httpUA, rc.s.recModeSupported, rc.scratch)
			rc.hdrInfo = &info
		}
		return *rc.hdrInfo
	}
	var info uaInfo
	info, rc.scratch = classifyUA(ua, rc.s.recModeSupported, rc.scratch)
	return info
}

// authenticated is Request::isAuthenticated(): the request's token (the
// bulk body's, else the item's own token_auth, else a Bearer header) has
// write or super-user access.
func (rc *reqCtx) authenticated(it *item) bool {
	tok := rc.bodyToken
	if phpEmptyStr(tok) {
		tok = getStr(&it.f[fToken], "")
		if phpEmptyStr(tok) {
			tok = rc.bearer
		}
	}
	if tok == "" {
		return false
	}
	return rc.s.super[tok] || rc.s.write[tok]
}

func (rc *reqCtx) siteOf(it *item) (int, bool) {
	id := getInt(&it.f[fIdsite], 0)
	if id <= 0 || id > math.MaxInt32 || !rc.s.sites.Load().ids[int(id)] {
		return 0, false
	}
	return int(id), true
}

// validate is RequestHandlerTrait::validateRequest(): location overrides
// need a token, and Request::getCurrentTimestamp() may refuse an old cdt.
func (rc *reqCtx) validate(it *item) (int64, bool) {
	for _, f := range [...]int{fCity, fRegion, fCountry, fLat, fLong} {
		if !phpEmptyStr(getStr(&it.f[f], "")) && !rc.authenticated(it) {
			return 0, false
		}
	}
	return rc.timestamp(it)
}

const (
	twentyYears = 20 * 365 * 86400
	// tracking_requests_require_authentication_when_custom_timestamp_newer_than
	cdtNoAuthWindow = 86400
)

// timestamp is Request::getCustomTimestamp() + getCurrentTimestamp().
func (rc *reqCtx) timestamp(it *item) (int64, bool) {
	now := rc.now
	cdtV, cdoV := &it.f[fCdt], &it.f[fCdo]
	if cdtV.kind == vAbsent && cdoV.kind == vAbsent {
		return now, true
	}
	cdt := getStr(cdtV, "")
	cdo := getInt(cdoV, 0)
	var t float64
	switch {
	case phpEmptyStr(cdt) && cdo != 0:
		t = float64(now)
	case phpEmptyStr(cdt):
		return now, true
	default:
		if f, ok := phpNumeric(cdt); ok {
			t = f
		} else if u, ok := strtotime(cdt); ok {
			t = float64(u)
		} // else strtotime() returned false, which counts as 0
	}
	if cdo != 0 {
		t -= math.Abs(float64(cdo))
	}
	if !(t <= float64(now) && t > float64(now-twentyYears)) {
		return now, true // silently replaced by "now"
	}
	if !(float64(now)-t < cdtNoAuthWindow) && !rc.authenticated(it) {
		return 0, false
	}
	return int64(t), true
}

// strtotime handles the date formats a log importer sends (PHP's strtotime
// accepts many more; anything else counts as unparseable, i.e. false).
func strtotime(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range [...]string{
		"2006-1-2 15:4:5", "2006-1-2T15:4:5", "2006-1-2 15:4", "2006-1-2T15:4", "2006-1-2",
		time.RFC3339Nano, "2006-1-2 15:4:5Z07:00", "2006-1-2T15:4:5Z0700", "2006-1-2 15:4:5Z0700",
		"2006-1-2 15:4:5 MST", "2006/1/2 15:4:5", "2006/1/2",
	} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.Unix(), true
		}
	}
	return 0, false
}

func actionOf(it *item) uint8 {
	switch {
	case getStr(&it.f[fDownload], "") != "":
		return actDownload
	case getStr(&it.f[fLink], "") != "":
		return actOutlink
	case getStr(&it.f[fEC], "") != "" && getStr(&it.f[fEA], "") != "":
		return actEvent
	case getStr(&it.f[fCN], "") != "":
		return actContent
	case getStr(&it.f[fSearch], "") != "":
		return actSearch
	}
	return actPageview
}

// track processes one request. It does not store anything: the caller
// collects the records of a batch and commits them at the end.
func (rc *reqCtx) track(it *item) (outcome, rec) {
	if !it.nonEmpty {
		return outDiscarded, rec{} // "The request is empty"
	}
	info := rc.classify(it)
	botPath, visitPath := false, true
	if rc.s.recModeSupported {
		rm := &it.f[fRecMode]
		m := phpIntCast(rm)
		botPath = (m == 1 || m == 2) && info.bot
		visitPath = phpEmpty(rm) || (m == 2 && !info.bot)
	}
	switch {
	case botPath:
		return rc.botRequest(it, info)
	case visitPath:
		return rc.visit(it, info)
	}
	return outDiscarded, rec{} // recMode=1 and not a bot, or an unknown recMode
}

func (rc *reqCtx) botRequest(it *item, info uaInfo) (outcome, rec) {
	site, ok := rc.siteOf(it)
	if !ok {
		return outInvalid, rec{}
	}
	ts, ok := rc.validate(it)
	if !ok {
		return outInvalid, rec{}
	}
	if info.ai == "" {
		return outDiscarded, rec{}
	}
	act := actPageview
	if getStr(&it.f[fDownload], "") != "" {
		act = actDownload
	}
	return outStored, rec{kind: 1, bot: info.ai, unix: ts, site: int32(site), action: act}
}

func (rc *reqCtx) visit(it *item, info uaInfo) (outcome, rec) {
	site, ok := rc.siteOf(it)
	if !ok {
		return outInvalid, rec{}
	}
	ts, ok := rc.validate(it)
	if !ok {
		return outInvalid, rec{}
	}
	// VisitRequestProcessor: location_ip = getIp(), which refuses cip
	// without a token.
	ip := rc.remote
	var vflags uint8
	if cip := getStr(&it.f[fCip], ""); !phpEmptyStr(cip) {
		if !rc.authenticated(it) {
			return outInvalid, rec{}
		}
		ip, _ = netip.ParseAddr(cip)
		vflags |= vfCip
	}
	// VisitExcluded::isExcluded()
	if getInt(&it.f[fBots], 0) == 0 && (info.bot || inBotRange(ip)) {
		return outDiscarded, rec{}
	}
	if getInt(&it.f[fRec], 0) == 0 {
		return outDiscarded, rec{}
	}
	// VisitRequestProcessor: the config_id, with the site's salt of the
	// hit's day, is computed before the visitor is looked up.
	sites := rc.s.sites.Load()
	day := saltDay(ts, sites.tz[site])
	salt, ok := rc.tx.salt(saltKey{int32(site), day})
	if !ok {
		return outDeadlock, rec{}
	}
	if ua := &it.f[fUA]; !(ua.kind == vNum || ua.kind == vStr && ua.s != "") { // getStr() == "" without decoding
		vflags |= vfUAHeader
	}
	lang := getStr(&it.f[fLang], "")
	if lang == "" {
		vflags |= vfLangHeader
		lang = rc.info.acceptLang
	} else {
		lang = browserLanguage(lang, "")
	}
	var cfg [8]byte
	cfg, rc.cfgBuf = configID(rc.cfgBuf, info.text, ip, lang, salt, int32(site))
	act := actionOf(it)
	// VisitorRecognizer -> Request::getVisitorId(): uid wins over cid,
	// and cid must be 16 characters long.
	if getStr(&it.f[fUid], "") == "" {
		if cid := getStr(&it.f[fCid], ""); !phpEmptyStr(cid) && len(cid) != 16 {
			return outInvalid, rec{}
		}
	}
	// EventCategory/EventAction::onLookupAction()
	if act == actEvent && (phpTrim(getStr(&it.f[fEC], "")) == "" || phpTrim(getStr(&it.f[fEA], "")) == "") {
		return outInvalid, rec{}
	}
	// PagePerformance Base::onNewAction(): pageviews only, -1 means unset.
	if act == actPageview {
		if v := getInt(&it.f[fPfSrv], -1); v != -1 && v < 0 {
			return outInvalid, rec{}
		}
	}
	return outStored, rec{unix: ts, site: int32(site), action: act, info: rc.info, day: day, cfg: cfg, vflags: vflags}
}
