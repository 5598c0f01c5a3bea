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
const Schema = "trackless-report/1"

// Report is the JSON report: what the HTML and text renderings show.
type Report struct {
	Schema      string        `json:"schema"`
	Title       string        `json:"title"`
	Generated   time.Time     `json:"generated"`
	Version     string        `json:"trackless_version"`
	Period      Period        `json:"period"`
	Overview    Overview      `json:"overview"`
	Days        []DayRow      `json:"days"`
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
	// TableSize is the capacity of a day's tables: below it, they are exact.
	TableSize int `json:"table_size"`
}

// Period is the time the report covers.
type Period struct {
	From     string    `json:"from"` // first day, YYYY-MM-DD (UTC)
	To       string    `json:"to"`
	Days     int       `json:"days"` // days with hits
	FirstHit time.Time `json:"first_hit"`
	LastHit  time.Time `json:"last_hit"`
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

// HourRow is one hour of the day (UTC), summed over the period's days.
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
}

// Build makes the report of days (summaries suffice; in any order).
func Build(days []*Day, meta Meta) *Report {
	if meta.Top <= 0 {
		meta.Top = 50
	}
	if meta.TableSize <= 0 {
		meta.TableSize = DefaultTableSize
	}
	days = slices.Clone(days)
	slices.SortFunc(days, func(a, b *Day) int { return cmp.Compare(a.Date, b.Date) })
	r := &Report{Schema: Schema, Generated: meta.Generated.UTC(), Version: meta.Version, TableSize: meta.TableSize}
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
			r.Period.FirstHit = time.Unix(d.FirstHit, 0).UTC()
		}
		if d.LastHit > r.Period.LastHit.Unix() {
			r.Period.LastHit = time.Unix(d.LastHit, 0).UTC()
		}
		m.add(d)
	}
	if len(r.Days) > 0 {
		r.Period.From, r.Period.To, r.Period.Days = r.Days[0].Date, r.Days[len(r.Days)-1].Date, len(r.Days)
	}
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
	r.Pages = tableJSON(m.pages, meta.Top, display, colBytes)
	r.EntryPages = tableJSON(m.entry, meta.Top, display, 0)
	r.Downloads = tableJSON(m.downloads, meta.Top, display, colBytes)
	r.NotFound = tableJSON(m.notFound, meta.Top, display, colPeople)
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
	search, aiRefs, cache, edges, httpVersions, tls                                              map[string]int64
	browsers, os, devices, countries                                                             map[string]Counts
	status                                                                                       map[int]int64
	timeTaken, ttfb                                                                              Hist
}

func newMerged(size int) *merged {
	t := func() *Table { return NewTable(size) }
	return &merged{
		hosts: NewTable(1000), pages: t(), entry: t(), downloads: t(), notFound: t(), serverErrors: t(), referrers: t(),
		bots: t(), aiPages: t(), cachePaths: t(),
		search: map[string]int64{}, aiRefs: map[string]int64{}, cache: map[string]int64{}, edges: map[string]int64{},
		httpVersions: map[string]int64{}, tls: map[string]int64{},
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
	for _, p := range []struct{ dst, src map[string]int64 }{
		{m.search, d.Search}, {m.aiRefs, d.AIRefs}, {m.cache, d.Cache}, {m.edges, d.Edges},
		{m.httpVersions, d.HTTPVersions}, {m.tls, d.TLS},
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
