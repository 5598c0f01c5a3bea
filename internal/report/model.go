package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/classify"
)

// Schema names the layout of the JSON report (docs/report.md).
const Schema = "trackless-report/2"

// Report is the JSON report: what the HTML and text renderings show.
type Report struct {
	Schema      string        `json:"schema"`
	Title       string        `json:"title"`
	Generated   time.Time     `json:"generated"`
	Version     string        `json:"trackless_version"`
	Period      Period        `json:"period"`
	Previous    *Previous     `json:"previous,omitempty"`
	Overview    Overview      `json:"overview"`
	Days        []DayRow      `json:"days"`
	Weeks       []PeriodRow   `json:"weeks"`
	Months      []PeriodRow   `json:"months"`
	Hours       []HourRow     `json:"hours"`
	Pages       TableJSON     `json:"pages"`
	EntryPages  TableJSON     `json:"entry_pages"`
	Downloads   TableJSON     `json:"downloads"`
	NotFound    TableJSON     `json:"not_found"`
	ServerError TableJSON     `json:"server_errors"`
	Referrers   Referrers     `json:"referrers"`
	AI          AI            `json:"ai"`
	Bots        []BotCategory `json:"bots"`
	Browsers    []Segment     `json:"browsers"`
	OS          []Segment     `json:"operating_systems"`
	Devices     []Segment     `json:"devices"`
	Countries   []Segment     `json:"countries,omitempty"`
	Status      []StatusRow   `json:"status_codes"`
	Protocols   Protocols     `json:"protocols"`
	Performance Performance   `json:"performance"`
	CDN         *CDN          `json:"cdn,omitempty"`
	Files       Files         `json:"files"`
	Params      []ParamPath   `json:"query_parameters,omitempty"`
	// TableSize is the capacity of a day's tables: below it, they are exact.
	TableSize int `json:"table_size"`
	// IndexPage is the page of every host, for a page of one (by host).
	IndexPage string `json:"-"`
}

// Period is the time the report covers.
type Period struct {
	// From and To are its first and last days, YYYY-MM-DD in Timezone:
	// those asked for (report --from, --to), or else the first and last
	// days with hits.
	From     string    `json:"from"`
	To       string    `json:"to"`
	Days     int       `json:"days"`     // days with hits
	Timezone string    `json:"timezone"` // IANA name of the zone of days and hours
	Host     string    `json:"host,omitempty"`
	FirstHit time.Time `json:"first_hit,omitzero"` // with the zone's offset; absent without hits
	LastHit  time.Time `json:"last_hit,omitzero"`
}

// Previous is the period of the same length just before the report's,
// for comparison: its totals (when the days it covers hold hits).
type Previous struct {
	From string `json:"from"`
	To   string `json:"to"`
	Days int    `json:"days"` // days with hits
	Counts
}

// PeriodRow is a week (Monday to Sunday, ISO 8601: "2026-W49") or a
// month ("2026-12") of the period, its days with hits summed: unique
// visitors are the sum of each day's.
type PeriodRow struct {
	Period string `json:"period"`
	From   string `json:"from"` // its first and last days in the report's period
	To     string `json:"to"`
	Days   int    `json:"days"` // days with hits
	Counts
}

// Files are every request (pages, downloads, static assets; people and
// bots) by file and by file type.
type Files struct {
	// Requested: rows by method and path; Count hits, Bytes, Visitors
	// (IP address and user agent) who asked for it.
	Requested TableJSON `json:"requested"`
	// VisitorsOver: a day had more visitor and file pairs than the
	// report keeps (over 6 million): visitors per file may be over.
	VisitorsOver bool `json:"visitors_over,omitempty"`
	// Methods: requests by method and protocol (HTTP version).
	Methods []MethodRow `json:"methods"`
	Types   []TypeRow   `json:"types"`        // by requests
	Static  []TypeRow   `json:"static_types"` // types of static assets, by their requests
}

// MethodRow is a method and a protocol with their requests.
type MethodRow struct {
	Method   string `json:"method"`
	Protocol string `json:"protocol"` // "" when the log does not say
	Requests int64  `json:"requests"`
}

// TypeRow is one file type: its extension ("" for none).
type TypeRow struct {
	Type string `json:"type"`
	FileType
}

// ParamPath holds the query parameters of one path (report --params).
type ParamPath struct {
	Path   string  `json:"path"`
	Params []Param `json:"params"`
	Exact  bool    `json:"exact"`
}

// Param is one query parameter: its requests, and its top values.
type Param struct {
	Name     string      `json:"name"`
	Requests int64       `json:"requests"`
	Values   []NameCount `json:"values"`
}

// Overview holds the totals of the period.
type Overview struct {
	Counts
	Inputs    int              `json:"inputs"`
	Lines     int64            `json:"lines"`
	Hits      int64            `json:"hits"`
	Malformed int64            `json:"malformed_lines"`
	ByReason  map[string]int64 `json:"malformed_by_reason,omitempty"`
	Excluded  int64            `json:"excluded_hits"`
	Hosts     []string         `json:"hosts"`
}

// DayRow is one day of the period.
type DayRow struct {
	Date string `json:"date"`
	Counts
}

// HourRow is one hour of the day (the wall clock of the period's zone),
// summed over the period's days.
type HourRow struct {
	Hour int `json:"hour"`
	Counts
}

// TableJSON is a ranked table.
type TableJSON struct {
	Rows []TableRow `json:"rows"`
	// Distinct is how many keys the table holds (at most its capacity per day).
	Distinct int `json:"distinct"`
	// Exact: every count is exact. Otherwise each row's count is at most
	// error over the true count (Space-Saving, docs/report.md).
	Exact bool `json:"exact"`
}

// TableRow is one row of a TableJSON.
type TableRow struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
	Error int64  `json:"error,omitempty"` // the count may be over by this much
	Bytes int64  `json:"bytes,omitempty"`
	// People counts what people (not bots) did, where the table says so.
	People int64 `json:"people,omitempty"`
	// Of requested files: the request's method, and the visitors (IP
	// address and user agent, people and bots) who asked.
	Method   string `json:"method,omitempty"`
	Visitors int64  `json:"visitors,omitempty"`
	// Of pages not found: the pages that linked to it most.
	Referrers []NameCount `json:"referrers,omitempty"`
}

// Referrers are where page views came from.
type Referrers struct {
	Sites         TableJSON   `json:"sites"`
	SearchEngines []NameCount `json:"search_engines"`
	AI            []NameCount `json:"ai_assistants"`
}

// NameCount is a name and a count.
type NameCount struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// AI holds the AI agents by kind.
type AI struct {
	Assistants []Agent `json:"assistants"` // fetches a person asked for
	Crawlers   []Agent `json:"crawlers"`   // collecting for model training
	Search     []Agent `json:"search"`     // indexing for AI search
}

// Agent is one bot with its requests and, for AI agents, its top pages.
type Agent struct {
	Name     string     `json:"name"`
	Requests int64      `json:"requests"`
	Pages    int64      `json:"pages"` // requests other than static assets
	Bytes    int64      `json:"bytes"`
	TopPages []TableRow `json:"top_pages,omitempty"`
}

// BotCategory is a category of bots with its bots.
type BotCategory struct {
	Category string  `json:"category"`
	Requests int64   `json:"requests"`
	Bots     []Agent `json:"bots"`
}

// Segment is a browser, OS, device type or country with its visitors.
type Segment struct {
	Name     string `json:"name"`
	Visitors int64  `json:"visitors"`
	Visits   int64  `json:"visits"`
	Actions  int64  `json:"actions"` // page views and downloads
}

// StatusRow is one HTTP status code.
type StatusRow struct {
	Code     int   `json:"code"`
	Requests int64 `json:"requests"`
}

// Protocols are HTTP and TLS versions, by requests.
type Protocols struct {
	HTTP []NameCount `json:"http_versions"`
	TLS  []NameCount `json:"tls_versions"`
}

// Performance holds the time-taken and time-to-first-byte percentiles.
type Performance struct {
	TimeTaken *Latency `json:"time_taken,omitempty"`
	TTFB      *Latency `json:"time_to_first_byte,omitempty"`
}

// Latency is a distribution of durations, in milliseconds.
type Latency struct {
	Count int64 `json:"count"`
	P50   int64 `json:"p50_ms"`
	P95   int64 `json:"p95_ms"`
	P99   int64 `json:"p99_ms"`
}

// CDN holds CloudFront's cache results.
type CDN struct {
	ResultTypes []NameCount `json:"result_types"`
	// HitRatio is (Hit + RefreshHit) / (Hit + RefreshHit + Miss).
	HitRatio float64     `json:"hit_ratio"`
	Paths    []CachePath `json:"paths"`
	Exact    bool        `json:"paths_exact"`
	Edges    []NameCount `json:"edge_locations"`
}

// CachePath is the cache result of one path.
type CachePath struct {
	Key      string  `json:"key"`
	Requests int64   `json:"requests"`
	Error    int64   `json:"error,omitempty"`
	Hits     int64   `json:"hits"`
	Misses   int64   `json:"misses"`
	HitRatio float64 `json:"hit_ratio"`
}

// Meta is what a report says of how it was made.
type Meta struct {
	Version   string
	Generated time.Time
	Top       int // rows per table (default 50)
	TableSize int
	Inputs    map[string]*InputEntry
	Title     string // default: the hosts
	// Zone is the time zone of the days (nil: UTC).
	Zone *time.Location
	// Range, if set, is the period to report (days outside are left out)
	// and the one before it of the same length the comparison.
	Range *DateRange
	// Host is the host of a report of one host's days (by host).
	Host string
	// ParamPaths are the paths whose query parameters were asked for
	// (--params): each has its panel, empty when it had no request.
	ParamPaths []string
}

// DateRange is a period of whole days, From to To included.
type DateRange struct{ From, To int32 }

// Build makes the report of days (summaries suffice; in any order).
func Build(days []*Day, meta Meta) *Report {
	if meta.Top <= 0 {
		meta.Top = 50
	}
	if meta.TableSize <= 0 {
		meta.TableSize = DefaultTableSize
	}
	zone := meta.Zone
	if zone == nil {
		zone = time.UTC
	}
	days = slices.Clone(days)
	slices.SortFunc(days, func(a, b *Day) int { return cmp.Compare(a.Date, b.Date) })
	var prev []*Day
	if rg := meta.Range; rg != nil {
		n := rg.To - rg.From + 1
		prev = inRange(days, rg.From-n, rg.From-1)
		days = inRange(days, rg.From, rg.To)
	}
	r := &Report{Schema: Schema, Generated: meta.Generated.UTC(), Version: meta.Version, TableSize: meta.TableSize}
	r.Period.Timezone, r.Period.Host = zone.String(), meta.Host
	r.Hours = make([]HourRow, 24)
	for i := range r.Hours {
		r.Hours[i].Hour = i
	}
	m := newMerged(meta.TableSize)
	for _, d := range days {
		if d.Total.Requests == 0 {
			continue
		}
		r.Days = append(r.Days, DayRow{Date: DayString(d.Date), Counts: d.Total})
		r.Overview.Counts.add(d.Total)
		for h := range d.Hours {
			r.Hours[h].Counts.add(d.Hours[h])
		}
		if r.Period.FirstHit.IsZero() || d.FirstHit < r.Period.FirstHit.Unix() {
			r.Period.FirstHit = time.Unix(d.FirstHit, 0).In(zone)
		}
		if d.LastHit > r.Period.LastHit.Unix() {
			r.Period.LastHit = time.Unix(d.LastHit, 0).In(zone)
		}
		m.add(d)
	}
	if len(r.Days) > 0 {
		r.Period.From, r.Period.To, r.Period.Days = r.Days[0].Date, r.Days[len(r.Days)-1].Date, len(r.Days)
	}
	if rg := meta.Range; rg != nil {
		r.Period.From, r.Period.To = DayString(rg.From), DayString(rg.To)
		p := &Previous{From: DayString(2*rg.From - rg.To - 1), To: DayString(rg.From - 1)}
		for _, d := range prev {
			if d.Total.Requests > 0 {
				p.Days++
				p.Counts.add(d.Total)
			}
		}
		if p.Days > 0 {
			r.Previous = p
		}
	}
	r.Days = fillDays(r.Days, meta.Range)
	r.Weeks, r.Months = periodRows(r.Days)
	for _, e := range meta.Inputs {
		r.Overview.Inputs++
		r.Overview.Lines += e.Lines - e.From
		r.Overview.Hits += e.Hits
		r.Overview.Excluded += e.Excluded
		for k, v := range e.Malformed {
			if r.Overview.ByReason == nil {
				r.Overview.ByReason = map[string]int64{}
			}
			r.Overview.ByReason[k] += v
			r.Overview.Malformed += v
		}
	}
	hosts := m.hosts.Sorted()
	for _, h := range hosts {
		r.Overview.Hosts = append(r.Overview.Hosts, h.Key)
	}
	r.Title = meta.Title
	if r.Title == "" {
		// The hosts, or what the report is when the log names none
		// (Apache and nginx logs without the virtual host).
		var named []string
		for _, h := range hosts {
			if h.Key != "" {
				named = append(named, h.Key)
			}
		}
		r.Title = "Web analytics"
		if len(named) > 0 {
			r.Title = named[0]
			if len(named) > 1 {
				r.Title += fmt.Sprintf(" and %d more", len(named)-1)
			}
		}
	}
	// Keys are host+path; the main host (over half the requests) is left
	// out of them, other hosts are shown.
	strip := ""
	if len(hosts) > 0 && 2*hosts[0].Count > r.Overview.Requests {
		strip = hosts[0].Key
	}
	display := func(key string) string {
		if strip != "" {
			if p, ok := strings.CutPrefix(key, strip); ok && p != "" {
				return p
			}
		}
		return key
	}
	r.Files = files(m, meta.Top, display)
	r.Params = params(m.params, meta.Top, meta.ParamPaths)
	r.Pages = tableJSON(m.pages, meta.Top, display, colBytes)
	r.EntryPages = tableJSON(m.entry, meta.Top, display, 0)
	r.Downloads = tableJSON(m.downloads, meta.Top, display, colBytes)
	r.NotFound = tableJSON(m.notFound, meta.Top, display, colPeople)
	addReferrers(r.NotFound.Rows, m.notFound, m.notFoundRefs)
	r.ServerError = tableJSON(m.serverErrors, meta.Top, display, colPeople)
	r.Referrers.Sites = tableJSON(m.referrers, meta.Top, nil, 0)
	r.Referrers.SearchEngines = nameCounts(m.search)
	r.Referrers.AI = nameCounts(m.aiRefs)
	r.Bots, r.AI = bots(m.bots, m.aiPages, display)
	r.Browsers, r.OS, r.Devices = segments(m.browsers), segments(m.os), segments(m.devices)
	if len(m.countries) > 1 || len(m.countries) == 1 && m.countries[""].Visitors == 0 {
		r.Countries = segments(m.countries)
	}
	for code, n := range m.status {
		r.Status = append(r.Status, StatusRow{code, n})
	}
	slices.SortFunc(r.Status, func(a, b StatusRow) int { return cmp.Compare(a.Code, b.Code) })
	r.Protocols.HTTP, r.Protocols.TLS = nameCounts(m.httpVersions), nameCounts(m.tls)
	r.Performance.TimeTaken, r.Performance.TTFB = latency(m.timeTaken), latency(m.ttfb)
	if len(m.cache) > 0 {
		r.CDN = cdn(m, meta.Top, display)
	}
	if r.Days == nil {
		r.Days = []DayRow{}
	}
	return r
}

// merged holds the period's sums.
type merged struct {
	hosts, pages, entry, downloads, notFound, serverErrors, referrers, bots, aiPages, cachePaths *Table
	notFoundRefs, files, params                                                                  *Table
	types                                                                                        map[string]FileType
	fileVisitorsOver                                                                             bool
	search, aiRefs, cache, edges, httpVersions, tls, methods                                     map[string]int64
	browsers, os, devices, countries                                                             map[string]Counts
	status                                                                                       map[int]int64
	timeTaken, ttfb                                                                              Hist
}

func newMerged(size int) *merged {
	t := func() *Table { return NewTable(size) }
	return &merged{
		hosts: NewTable(1000), pages: t(), entry: t(), downloads: t(), notFound: t(), serverErrors: t(), referrers: t(),
		bots: t(), aiPages: t(), cachePaths: t(), notFoundRefs: t(), files: t(), params: t(), types: map[string]FileType{},
		search: map[string]int64{}, aiRefs: map[string]int64{}, cache: map[string]int64{}, edges: map[string]int64{},
		httpVersions: map[string]int64{}, tls: map[string]int64{}, methods: map[string]int64{},
		browsers: map[string]Counts{}, os: map[string]Counts{}, devices: map[string]Counts{}, countries: map[string]Counts{},
		status: map[int]int64{}, timeTaken: Hist{}, ttfb: Hist{},
	}
}

func (m *merged) add(d *Day) {
	m.hosts.Merge(d.Hosts)
	m.pages.Merge(d.Pages)
	m.entry.Merge(d.EntryPages)
	m.downloads.Merge(d.Downloads)
	m.notFound.Merge(d.NotFound)
	m.serverErrors.Merge(d.ServerErrors)
	m.referrers.Merge(d.Referrers)
	m.bots.Merge(d.Bots)
	m.aiPages.Merge(d.AIPages)
	m.cachePaths.Merge(d.CachePaths)
	for _, p := range []struct{ dst, src *Table }{{m.notFoundRefs, d.NotFoundRefs}, {m.files, d.Files}, {m.params, d.Params}} {
		if p.src != nil { // nil in a day stored by an earlier version
			p.dst.Merge(p.src)
		}
	}
	m.fileVisitorsOver = m.fileVisitorsOver || d.FileVisitorsOver
	for k, v := range d.Types {
		t := m.types[k]
		t.Requests += v.Requests
		t.Bytes += v.Bytes
		t.Static += v.Static
		m.types[k] = t
	}
	for _, p := range []struct{ dst, src map[string]int64 }{
		{m.search, d.Search}, {m.aiRefs, d.AIRefs}, {m.cache, d.Cache}, {m.edges, d.Edges},
		{m.httpVersions, d.HTTPVersions}, {m.tls, d.TLS}, {m.methods, d.Methods},
	} {
		for k, v := range p.src {
			p.dst[k] += v
		}
	}
	for _, p := range []struct{ dst, src map[string]Counts }{
		{m.browsers, d.Browsers}, {m.os, d.OS}, {m.devices, d.Devices}, {m.countries, d.Countries},
	} {
		for k, v := range p.src {
			c := p.dst[k]
			c.add(v)
			p.dst[k] = c
		}
	}
	for k, v := range d.Status {
		m.status[k] += v
	}
	m.timeTaken.Merge(d.TimeTaken)
	m.ttfb.Merge(d.TTFB)
}

// What a table's A column means in its JSON rows.
const (
	colNone = iota
	colBytes
	colPeople
)

func tableJSON(t *Table, top int, display func(string) string, col int) TableJSON {
	out := TableJSON{Rows: []TableRow{}, Exact: !t.Full, Distinct: t.Len()}
	for i, r := range t.Sorted() {
		if i == top {
			break
		}
		key := r.Key
		if display != nil {
			key = display(key)
		}
		row := TableRow{Key: key, Count: r.Count, Error: r.Err}
		switch col {
		case colBytes:
			row.Bytes = r.A
		case colPeople:
			row.People = r.A
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}

func nameCounts(m map[string]int64) []NameCount {
	out := []NameCount{}
	for k, v := range m {
		out = append(out, NameCount{k, v})
	}
	slices.SortFunc(out, func(a, b NameCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func segments(m map[string]Counts) []Segment {
	out := []Segment{}
	for k, v := range m {
		if k == "" {
			k = "Unknown"
		}
		out = append(out, Segment{Name: k, Visitors: v.Visitors, Visits: v.Visits, Actions: v.Pages})
	}
	slices.SortFunc(out, func(a, b Segment) int {
		if c := cmp.Compare(b.Visitors, a.Visitors); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func latency(h Hist) *Latency {
	n, p := h.Percentiles(0.50, 0.95, 0.99)
	if n == 0 {
		return nil
	}
	return &Latency{Count: n, P50: p[0], P95: p[1], P99: p[2]}
}

// botCategoryOrder is the order of the categories in the report.
var botCategoryOrder = []string{
	classify.CatAIAssistant, classify.CatAISearch, classify.CatAICrawler, classify.CatSearchEngine, classify.CatSEO,
	classify.CatMonitoring, classify.CatScanner, classify.CatHTTPLibrary, classify.CatSocialPreview,
	classify.CatFeedReader, classify.CatArchiver, classify.CatAcademic, classify.CatAdvertising,
	classify.CatAutomation, classify.CatOtherBot,
}

func bots(t, aiPages *Table, display func(string) string) ([]BotCategory, AI) {
	byCat := map[string]*BotCategory{}
	for _, r := range t.Sorted() {
		cat, name, _ := strings.Cut(r.Key, "\t")
		c := byCat[cat]
		if c == nil {
			c = &BotCategory{Category: cat}
			byCat[cat] = c
		}
		c.Requests += r.Count
		c.Bots = append(c.Bots, Agent{Name: name, Requests: r.Count, Pages: r.A, Bytes: r.B})
	}
	pages := map[string][]TableRow{}
	for _, r := range aiPages.Sorted() {
		name, key, _ := strings.Cut(r.Key, "\t")
		if len(pages[name]) < 20 {
			pages[name] = append(pages[name], TableRow{Key: display(key), Count: r.Count, Error: r.Err})
		}
	}
	var out []BotCategory
	var ai AI
	for _, cat := range botCategoryOrder {
		c := byCat[cat]
		if c == nil {
			continue
		}
		out = append(out, *c)
		var agents []Agent
		for _, a := range c.Bots {
			a.TopPages = pages[a.Name]
			agents = append(agents, a)
		}
		switch cat {
		case classify.CatAIAssistant:
			ai.Assistants = agents
		case classify.CatAICrawler:
			ai.Crawlers = agents
		case classify.CatAISearch:
			ai.Search = agents
		}
	}
	if out == nil {
		out = []BotCategory{}
	}
	return out, ai
}

func cdn(m *merged, top int, display func(string) string) *CDN {
	c := &CDN{ResultTypes: nameCounts(m.cache), Edges: nameCounts(m.edges), Exact: !m.cachePaths.Full, Paths: []CachePath{}}
	hits := m.cache["Hit"] + m.cache["RefreshHit"]
	if d := hits + m.cache["Miss"]; d > 0 {
		c.HitRatio = float64(hits) / float64(d)
	}
	for i, r := range m.cachePaths.Sorted() {
		if i == top {
			break
		}
		p := CachePath{Key: display(r.Key), Requests: r.Count, Error: r.Err, Hits: r.A, Misses: r.B}
		if d := r.A + r.B; d > 0 {
			p.HitRatio = float64(r.A) / float64(d)
		}
		c.Paths = append(c.Paths, p)
	}
	return c
}

// inRange returns the days from from to to, included (days sorted).
func inRange(days []*Day, from, to int32) []*Day {
	var out []*Day
	for _, d := range days {
		if d.Date >= from && d.Date <= to {
			out = append(out, d)
		}
	}
	return out
}

// maxFill is the longest period whose days without hits are listed (with
// zeros) among the days: a chart over years of sparse samples would
// otherwise have thousands of empty bars.
const maxFill = 400

// fillDays lists the days without hits of the period with zero counts:
// the days of rg when set, else those between the first and the last day
// with hits (rows sorted, of days with hits).
func fillDays(rows []DayRow, rg *DateRange) []DayRow {
	var from, to int32
	switch {
	case rg != nil:
		from, to = rg.From, rg.To
	case len(rows) > 0:
		f, err1 := time.Parse(time.DateOnly, rows[0].Date)
		l, err2 := time.Parse(time.DateOnly, rows[len(rows)-1].Date)
		if err1 != nil || err2 != nil {
			return rows
		}
		from, to = DateOf(f), DateOf(l)
	default:
		return rows
	}
	if to-from+1 > maxFill || int(to-from+1) == len(rows) {
		return rows
	}
	have := make(map[string]DayRow, len(rows))
	for _, r := range rows {
		have[r.Date] = r
	}
	out := make([]DayRow, 0, to-from+1)
	for d := from; d <= to; d++ {
		ds := DayString(d)
		r, ok := have[ds]
		if !ok {
			r = DayRow{Date: ds}
		}
		out = append(out, r)
	}
	return out
}

// periodRows sums days (in order) by ISO week and by month.
func periodRows(days []DayRow) (weeks, months []PeriodRow) {
	weeks, months = []PeriodRow{}, []PeriodRow{}
	add := func(rows *[]PeriodRow, name string, d DayRow) {
		if n := len(*rows); n == 0 || (*rows)[n-1].Period != name {
			*rows = append(*rows, PeriodRow{Period: name, From: d.Date})
		}
		row := &(*rows)[len(*rows)-1]
		row.To = d.Date
		if d.Requests > 0 {
			row.Days++
		}
		row.Counts.add(d.Counts)
	}
	for _, d := range days {
		t, err := time.Parse(time.DateOnly, d.Date)
		if err != nil {
			continue
		}
		y, w := t.ISOWeek()
		add(&weeks, fmt.Sprintf("%04d-W%02d", y, w), d)
		add(&months, d.Date[:7], d)
	}
	return weeks, months
}

// files makes the files panel: requested files (keys method TAB
// host+path), methods and file types.
func files(m *merged, top int, display func(string) string) Files {
	f := Files{Requested: TableJSON{Rows: []TableRow{}, Exact: !m.files.Full, Distinct: m.files.Len()}, Types: []TypeRow{}, Static: []TypeRow{}}
	for i, r := range m.files.Sorted() {
		if i == top {
			break
		}
		method, key, ok := strings.Cut(r.Key, "\t")
		if !ok {
			continue
		}
		f.Requested.Rows = append(f.Requested.Rows, TableRow{Key: display(key), Method: method,
			Count: r.Count, Error: r.Err, Bytes: r.A, Visitors: r.B})
	}
	f.VisitorsOver = m.fileVisitorsOver
	f.Methods = []MethodRow{}
	for _, nc := range nameCounts(m.methods) {
		method, proto, _ := strings.Cut(nc.Name, "\t")
		f.Methods = append(f.Methods, MethodRow{Method: method, Protocol: proto, Requests: nc.Count})
	}
	for k, v := range m.types {
		f.Types = append(f.Types, TypeRow{Type: k, FileType: v})
		if v.Static > 0 {
			f.Static = append(f.Static, TypeRow{Type: k, FileType: v})
		}
	}
	byCount := func(get func(TypeRow) int64) func(a, b TypeRow) int {
		return func(a, b TypeRow) int {
			if c := cmp.Compare(get(b), get(a)); c != 0 {
				return c
			}
			return strings.Compare(a.Type, b.Type)
		}
	}
	slices.SortFunc(f.Types, byCount(func(t TypeRow) int64 { return t.Requests }))
	slices.SortFunc(f.Static, byCount(func(t TypeRow) int64 { return t.Static }))
	return f
}

// addReferrers gives each row of a table of paths (made from t, in the
// order of t.Sorted) the three referrers that sent the most to it (refs:
// host+path TAB referrer).
func addReferrers(rows []TableRow, t, refs *Table) {
	byKey := map[string][]NameCount{}
	for _, r := range refs.Sorted() {
		key, ref, _ := strings.Cut(r.Key, "\t")
		if len(byKey[key]) < 3 {
			byKey[key] = append(byKey[key], NameCount{Name: ref, Count: r.Count})
		}
	}
	for i, r := range t.Sorted() {
		if i == len(rows) {
			break
		}
		rows[i].Referrers = byKey[r.Key]
	}
}

// params makes the query-parameter panels (keys path TAB name TAB value),
// by path, each parameter with its top values.
func params(t *Table, top int, asked []string) []ParamPath {
	type acc struct {
		p      *ParamPath
		byName map[string]int
	}
	var paths []*acc
	byPath := map[string]*acc{}
	for _, r := range t.Sorted() {
		parts := strings.SplitN(r.Key, "\t", 3)
		if len(parts) != 3 {
			continue
		}
		a := byPath[parts[0]]
		if a == nil {
			a = &acc{p: &ParamPath{Path: parts[0], Exact: !t.Full}, byName: map[string]int{}}
			byPath[parts[0]] = a
			paths = append(paths, a)
		}
		i, ok := a.byName[parts[1]]
		if !ok {
			i = len(a.p.Params)
			a.byName[parts[1]] = i
			a.p.Params = append(a.p.Params, Param{Name: parts[1]})
		}
		p := &a.p.Params[i]
		p.Requests += r.Count
		if len(p.Values) < min(top, 20) {
			p.Values = append(p.Values, NameCount{Name: parts[2], Count: r.Count})
		}
	}
	for _, p := range asked {
		if byPath[p] == nil {
			a := &acc{p: &ParamPath{Path: p, Params: []Param{}, Exact: true}}
			byPath[p] = a
			paths = append(paths, a)
		}
	}
	var out []ParamPath
	for _, a := range paths {
		slices.SortStableFunc(a.p.Params, func(x, y Param) int { return cmp.Compare(y.Requests, x.Requests) })
		out = append(out, *a.p)
	}
	slices.SortFunc(out, func(a, b ParamPath) int { return strings.Compare(a.Path, b.Path) })
	return out
}
