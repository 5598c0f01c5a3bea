package report

import (
	"strings"
	"time"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/hit"
)

// Counts are the additive numbers of a day or an hour of the day.
type Counts struct {
	Requests  int64 `json:"requests"`
	Pages     int64 `json:"pages"`     // page views by people (see Day)
	Downloads int64 `json:"downloads"` // downloads by people
	Bytes     int64 `json:"bytes"`     // response bytes, every request
	Bots      int64 `json:"bot_requests"`
	AI        int64 `json:"ai_assistant_requests"`
	Visitors  int64 `json:"visitors"`
	Visits    int64 `json:"visits"`
}

func (c *Counts) add(o Counts) {
	c.Requests += o.Requests
	c.Pages += o.Pages
	c.Downloads += o.Downloads
	c.Bytes += o.Bytes
	c.Bots += o.Bots
	c.AI += o.AI
	c.Visitors += o.Visitors
	c.Visits += o.Visits
}

// Day is the aggregate of one day (of the report's time zone: see clock),
// and of one host when days are counted by host, as the state keeps it.
//
// A person is a request whose user agent is classified as no bot. A page
// view is a person's request for a page (neither a download nor a static
// asset) answered 2xx or 304, a download the same for a download; visits
// and unique visitors are made of page views and downloads. Unique
// visitor: the same IP address and user agent within the day. Visit:
// Matomo's rule, a new one after 30 minutes without an action.
type Day struct {
	Date              int32  // days since 1970-01-01, in the calendar of the report's zone
	Host              string // by host: the host (HostKey); "" for every host
	Total             Counts
	Hours             [24]Counts // by hour of the wall clock
	FirstHit, LastHit int64      // unix seconds

	Status map[int]int64 // requests by status code (0: none)
	Hosts  *Table        // requests by host

	Pages        *Table // page views by host+path; A: bytes
	Downloads    *Table // downloads by host+path; A: bytes
	NotFound     *Table // 404 and 410 answers by host+path, everyone; A: by people
	NotFoundRefs *Table // 404 and 410 answers with a referrer, by host+path TAB referrer
	ServerErrors *Table // 5xx answers by host+path; A: by people
	Referrers    *Table // page views by referring host (other sites)
	Search       map[string]int64
	AIRefs       map[string]int64 // page views referred by AI assistants (referrer or utm_source)

	Bots    *Table // requests by category TAB name; A: non-asset requests; B: bytes
	AIPages *Table // AI agents' non-asset requests by name TAB host+path

	Cache        map[string]int64 // requests by x-edge-result-type
	CachePaths   *Table           // requests by host+path; A: Hit+RefreshHit; B: Miss
	Edges        map[string]int64 // requests by edge location (its airport code)
	HTTPVersions map[string]int64
	TLS          map[string]int64
	TimeTaken    Hist
	TTFB         Hist

	// Files counts every request (page, download, asset; people and
	// bots) by method TAB host+path; A: bytes; B: visitors (IP and user
	// agent) who requested it, counted once each. (Not by protocol too,
	// as GoAccess does: a file asked for over HTTP/1.1, 2 and 3 would
	// take three rows.)
	Files *Table
	// FileVisitorsOver: the day had more visitor and file pairs than it
	// keeps (hashSet's bound): Files' visitors may be over.
	FileVisitorsOver bool
	// Methods counts every request by method TAB protocol.
	Methods map[string]int64
	// Types counts every request by file type (Extension).
	Types map[string]FileType
	// Params counts the query parameters of the paths Options.ParamPaths
	// names, by path TAB name TAB value.
	Params *Table

	// Derived from the visitors by finish.
	EntryPages *Table
	Browsers   map[string]Counts // visitors, visits, pages by browser family
	OS         map[string]Counts
	Devices    map[string]Counts
	Countries  map[string]Counts // by ISO code; "" unknown

	vis *visitorSet
	// fileVis holds a hash of each visitor and file of Files counted
	// (pairHash), so that a visitor counts once per file.
	fileVis *hashSet
	methods []methodCount // counted since finish folded them into Methods
	keyBuf  []byte        // the key of a table, made in place
	pathBuf []byte        // host+path of the hit being counted
}

// methodCount is a method and protocol and their requests.
type methodCount struct {
	method, proto string
	n             int64
}

// FileType is what a day counted of one file type.
type FileType struct {
	Requests int64 `json:"requests"`
	Bytes    int64 `json:"bytes"`
	Static   int64 `json:"static_requests"` // requests of static assets (css, js, images…)
}

func newDay(date int32, tableSize int) *Day {
	d := &Day{Date: date, vis: newVisitorSet()}
	d.init(tableSize)
	return d
}

// init makes what a day lacks: all of it for a new day, the tables added
// since for a day stored by an earlier version.
func (d *Day) init(tableSize int) {
	for _, t := range []**Table{&d.Pages, &d.Downloads, &d.NotFound, &d.NotFoundRefs, &d.ServerErrors, &d.Referrers,
		&d.Bots, &d.AIPages, &d.CachePaths, &d.Files, &d.Params} {
		if *t == nil {
			*t = NewTable(tableSize)
		}
	}
	if d.Hosts == nil {
		d.Hosts = NewTable(1000)
	}
	for _, m := range []*map[string]int64{&d.Search, &d.AIRefs, &d.Cache, &d.Edges, &d.HTTPVersions, &d.TLS, &d.Methods} {
		if *m == nil {
			*m = map[string]int64{}
		}
	}
	if d.Status == nil {
		d.Status = map[int]int64{}
	}
	if d.Types == nil {
		d.Types = map[string]FileType{}
	}
	if d.TimeTaken == nil {
		d.TimeTaken = Hist{}
	}
	if d.TTFB == nil {
		d.TTFB = Hist{}
	}
	if d.fileVis == nil {
		d.fileVis = &hashSet{}
	}
}

// Extension is the file type of a path: its extension, lower case ("jpg"),
// or "" for none (or one longer than 8 characters, or not alphanumeric).
func Extension(path string) string {
	i := strings.LastIndexAny(path, "./")
	if i < 0 || path[i] != '.' || i == len(path)-1 || len(path)-i-1 > 8 {
		return ""
	}
	ext := path[i+1:]
	for j := 0; j < len(ext); j++ {
		switch c := ext[j]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			return strings.ToLower(ext)
		default:
			return ""
		}
	}
	return ext
}

// Key is the day's date and host.
func (d *Day) Key() DayKey { return DayKey{Host: d.Host, Date: d.Date} }

// DateOf returns the day of a time in UTC (days since 1970-01-01).
func DateOf(t time.Time) int32 {
	u := t.Unix()
	if u < 0 {
		return int32((u - 86399) / 86400)
	}
	return int32(u / 86400)
}

// DayString formats a date as YYYY-MM-DD.
func DayString(date int32) string { return time.Unix(int64(date)*86400, 0).UTC().Format(time.DateOnly) }

// CountryFunc returns the ISO code of an IP address's country, or "".
type CountryFunc func(ip string) string

// add counts one hit. res is its classification; host is the hit's,
// completed by the default; sec is its second of the day (wall clock).
//
// params are the paths whose query parameters are counted (Options.ParamPaths).
func (d *Day) add(h *hit.Hit, res *classify.Facts, host string, sec uint32, country CountryFunc, params []string) {
	unix := h.Time.Unix()
	hour := sec / 3600
	if d.FirstHit == 0 || unix < d.FirstHit {
		d.FirstHit = unix
	}
	if unix > d.LastHit {
		d.LastHit = unix
	}
	var c Counts
	c.Requests = 1
	if h.Bytes > 0 {
		c.Bytes = h.Bytes
	}
	d.Status[h.Status]++
	d.Hosts.Add(host, 1, 0, 0)
	path := h.Path
	if h.LogEscaped && strings.IndexByte(path, '%') >= 0 {
		path = hit.Unescape(path)
	}
	// host+path, in a buffer: most tables look it up without making a
	// string of it (Table.AddBytes); key is made for those that keep it.
	d.pathBuf = append(append(d.pathBuf[:0], host...), path...)
	kb := d.pathBuf
	ok := h.Status >= 200 && h.Status < 300 || h.Status == 304
	people := !res.Bot
	d.addFile(h, res, kb, path, c.Bytes, params)
	switch {
	case res.Bot:
		c.Bots = 1
		if res.Category == classify.CatAIAssistant {
			c.AI = 1
		}
		var pages int64
		if res.Kind != hit.Asset {
			pages = 1
		}
		d.keyBuf = append(append(append(d.keyBuf[:0], res.Category...), '\t'), res.BotName...)
		d.Bots.AddBytes(d.keyBuf, 1, pages, c.Bytes)
		if pages == 1 && (res.Category == classify.CatAIAssistant || res.Category == classify.CatAICrawler || res.Category == classify.CatAISearch) {
			d.keyBuf = append(append(append(d.keyBuf[:0], res.BotName...), '\t'), kb...)
			d.AIPages.AddBytes(d.keyBuf, 1, 0, 0)
		}
	case ok && res.Kind != hit.Asset:
		key := string(kb)
		if res.Kind == hit.Page {
			c.Pages = 1
			d.Pages.Add(key, 1, c.Bytes, 0)
			switch kind, name := classifyReferrer(h.Referrer, h.Query, host); kind {
			case refSite:
				d.Referrers.Add(name, 1, 0, 0)
			case refSearch:
				d.Search[name]++
			case refAI:
				d.AIRefs[name]++
			}
		} else {
			c.Downloads = 1
			d.Downloads.Add(key, 1, c.Bytes, 0)
		}
		d.vis.add(visitorID(h.ClientIP, h.UserAgent), sec, key, func(v *visitor) {
			v.ua = d.vis.uaIndex(h.UserAgent)
			if country != nil {
				copy(v.country[:], country(h.ClientIP))
			}
		})
	}
	var byPeople int64
	if people {
		byPeople = 1
	}
	switch {
	case h.Status == 404 || h.Status == 410:
		d.NotFound.AddBytes(kb, 1, byPeople, 0)
		if ref, _, _ := strings.Cut(h.Referrer, "?"); ref != "" && ref != "-" {
			// Without its query: the same page with other utm_ tags
			// is one referrer.
			d.keyBuf = append(append(append(d.keyBuf[:0], kb...), '\t'), ref...)
			d.NotFoundRefs.AddBytes(d.keyBuf, 1, 0, 0)
		}
	case h.Status >= 500:
		d.ServerErrors.AddBytes(kb, 1, byPeople, 0)
	}
	if h.ResultType != "" {
		d.Cache[h.ResultType]++
		var hits, misses int64
		switch h.ResultType {
		case "Hit", "RefreshHit":
			hits = 1
		case "Miss":
			misses = 1
		}
		d.CachePaths.AddBytes(kb, 1, hits, misses)
	}
	if e := h.EdgeLocation; e != "" {
		if len(e) > 3 {
			e = e[:3]
		}
		d.Edges[e]++
	}
	if h.HTTPVersion != "" {
		d.HTTPVersions[h.HTTPVersion]++
	}
	switch {
	case h.TLSProtocol != "":
		d.TLS[h.TLSProtocol]++
	case h.Scheme == "http":
		d.TLS["none (http)"]++
	}
	d.TimeTaken.Add(h.Duration)
	d.TTFB.Add(h.TTFB)
	d.Total.add(c)
	d.Hours[hour].add(c)
}

// addFile counts a request in Files, Types and Params. key is host+path
// (path decoded), bytes the response's.
func (d *Day) addFile(h *hit.Hit, res *classify.Facts, key []byte, path string, bytes int64, params []string) {
	d.countMethod(h.Method, h.HTTPVersion)
	d.keyBuf = append(append(append(d.keyBuf[:0], h.Method...), '\t'), key...)
	var first int64
	if d.fileVis.add(pairHash(h.ClientIP, h.UserAgent, d.keyBuf)) {
		first = 1
	}
	d.Files.AddBytes(d.keyBuf, 1, bytes, first)
	ext := Extension(path)
	t, ok := d.Types[ext]
	if !ok && len(d.Types) >= MaxTypes {
		ext = OtherTypes
		t = d.Types[ext]
	}
	t.Requests++
	t.Bytes += bytes
	if res.Kind == hit.Asset {
		t.Static++
	}
	d.Types[ext] = t
	for _, p := range params {
		if p == path {
			// The query as the client sent it (CloudFront's escaping of
			// '%' undone), each pair counted, a key given twice too.
			hit.QueryPairs(hit.URLPart(h.Query, h.LogEscaped), func(k, v string) {
				d.keyBuf = append(append(append(append(append(d.keyBuf[:0], p...), '\t'), k...), '\t'), v...)
				d.Params.AddBytes(d.keyBuf, 1, 0, 0)
			})
			break
		}
	}
}

// countMethod counts a request of a method and protocol: in a short list
// (a day has a handful of them), folded into Methods by finish.
func (d *Day) countMethod(method, proto string) {
	for i := range d.methods {
		if m := &d.methods[i]; m.method == method && m.proto == proto {
			m.n++
			return
		}
	}
	if len(d.methods)+len(d.Methods) >= MaxTypes {
		method, proto = OtherTypes, ""
		for i := range d.methods {
			if m := &d.methods[i]; m.method == method && m.proto == proto {
				m.n++
				return
			}
		}
	}
	d.methods = append(d.methods, methodCount{strings.Clone(method), strings.Clone(proto), 1})
}

// MaxTypes bounds the file types, and the methods and protocols, a day
// counts apart: paths such as /a.x1, /a.x2… or made-up methods count as
// OtherTypes past it, so that they cannot exhaust memory.
const MaxTypes = 200

// OtherTypes is the file type (or method) of those past MaxTypes.
const OtherTypes = "(other)"

// UAFunc returns the browser family, OS family and device type of a user
// agent (see internal/useragent).
type UAFunc func(ua string) (browser, os, device string)

// finish computes what comes from the visitors: their counts by day and
// hour, entry pages, browsers, operating systems, devices and countries.
// It replaces what an earlier finish computed.
func (d *Day) finish(parseUA UAFunc, tableSize int) {
	for _, m := range d.methods {
		d.Methods[m.method+"\t"+m.proto] += m.n
	}
	d.methods = d.methods[:0]
	if d.fileVis != nil && d.fileVis.Full {
		d.FileVisitorsOver = true
	}
	d.Total.Visitors, d.Total.Visits = 0, 0
	for i := range d.Hours {
		d.Hours[i].Visitors, d.Hours[i].Visits = 0, 0
	}
	d.Browsers, d.OS, d.Devices, d.Countries = map[string]Counts{}, map[string]Counts{}, map[string]Counts{}, map[string]Counts{}
	entries := map[uint32]int64{}
	type uaCounts struct{ visitors, visits, actions int64 }
	byUA := make([]uaCounts, len(d.vis.uas))
	for _, v := range d.vis.m {
		n := int64(v.count())
		d.Total.Visitors++
		d.Total.Visits += n
		for h := range 24 {
			if v.hours&(1<<h) != 0 {
				d.Hours[h].Visitors++
			}
		}
		v.visits(func(x visit) {
			d.Hours[x.start/3600].Visits++
			entries[x.entry]++
		})
		u := &byUA[v.ua]
		u.visitors++
		u.visits += n
		u.actions += int64(v.actions)
		cc := string(v.country[:])
		if v.country[0] == 0 {
			cc = ""
		}
		addCounts(d.Countries, cc, 1, n, int64(v.actions))
	}
	for len(d.vis.uaKind) < len(d.vis.uas) {
		d.vis.uaKind = append(d.vis.uaKind, [3]string{})
	}
	for i, u := range byUA {
		if u.visitors == 0 {
			continue
		}
		k := &d.vis.uaKind[i]
		if k[0] == "" {
			k[0], k[1], k[2] = "Other", "Other", "other"
			if parseUA != nil {
				k[0], k[1], k[2] = parseUA(d.vis.uas[i])
			}
		}
		b, o, dev := k[0], k[1], k[2]
		addCounts(d.Browsers, b, u.visitors, u.visits, u.actions)
		addCounts(d.OS, o, u.visitors, u.visits, u.actions)
		addCounts(d.Devices, dev, u.visitors, u.visits, u.actions)
	}
	byPage := make(map[string]int64, len(entries))
	for idx, n := range entries {
		byPage[d.vis.pages[idx]] += n
	}
	d.EntryPages = tableOf(byPage, tableSize)
}

func addCounts(m map[string]Counts, key string, visitors, visits, actions int64) {
	c := m[key]
	c.Visitors += visitors
	c.Visits += visits
	c.Pages += actions
	m[key] = c
}
