package report

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/trackless/trackless/internal/hit"
)

//go:embed report.html.tmpl
var htmlTemplate string

// page is what the template renders: the report and its charts.
type page struct {
	R                                  *Report
	DayChart, DayBytes, HourChart      template.HTML
	DayLegend, HourLegend              template.HTML
	BotChart, AIChart, DeviceChart     template.HTML
	BrowserChart, OSChart, StatusChart template.HTML
	CacheChart, CountryChart           template.HTML
	StaticChart, TypeBytesChart        template.HTML
	SingleDay                          bool
	Refresh                            int // seconds; 0: no meta refresh
}

// WriteHTML writes r as one self-contained HTML page: inline CSS and SVG,
// no script, no request to any other host; light and dark themes follow
// the reader's system.
func WriteHTML(w io.Writer, r *Report) error { return writeHTML(w, r, 0) }

// WritePage is WriteHTML for a page that is rewritten as logs are written
// (report --follow) when refreshSeconds > 0: the page asks the browser to
// load it again that often (a meta refresh: no script).
func WritePage(w io.Writer, r *Report, refreshSeconds int) error {
	return writeHTML(w, r, refreshSeconds)
}

// decodedPath is a path (or host+path) as people read it: its %XX escapes
// decoded (/wiki/C%2B%2B: /wiki/C++), unless that gives bytes that are not
// UTF-8 or control characters: then as it is.
func decodedPath(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	d := hit.Unescape(s)
	if !utf8.ValidString(d) || strings.IndexFunc(d, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return s
	}
	return d
}

func writeHTML(w io.Writer, r *Report, refreshSeconds int) error {
	t, err := template.New("report").Funcs(template.FuncMap{
		"num":     Num,
		"bytes":   Bytes,
		"pct":     Percent,
		"cat":     CategoryTitle,
		"ratio":   func(f float64) string { return fmt.Sprintf("%.1f %%", 100*f) },
		"share":   share,
		"ms":      func(v int64) string { return Num(v) + " ms" },
		"plusOne": func(i int) int { return i + 1 },
		"decoded": decodedPath,
		"len64":   func(i int) int64 { return int64(i) },
		"list":    func(s ...string) []string { return s },
		"dict":    dict,
		"aiGroups": func(r *Report) map[string][]Agent {
			return map[string][]Agent{"assistants": r.AI.Assistants, "search": r.AI.Search, "crawlers": r.AI.Crawlers}
		},
		"aiTitle": func(kind string) string {
			return map[string]string{"assistants": "AI assistants", "search": "AI search", "crawlers": "AI crawlers"}[kind]
		},
		"datetime": func(t interface{ Format(string) string }) string { return t.Format("2006-01-02 15:04 UTC") },
		"change":   Change,
		"fileType": fileType,
		"periods": func(r *Report) map[string][]PeriodRow {
			return map[string][]PeriodRow{"Weeks": r.Weeks, "Months": r.Months}
		},
	}).Parse(htmlTemplate)
	if err != nil {
		return err
	}
	p := &page{R: r, SingleDay: len(r.Days) <= 1, Refresh: refreshSeconds}
	// Page views, visits and visitors; a log of no page (an image CDN)
	// has its requests drawn instead.
	people := r.Overview.Pages > 0 || r.Overview.Requests == 0
	var labels []string
	var pages, visits, visitors, bytes []float64
	years := len(r.Days) > 0 && r.Days[0].Date[:4] != r.Days[len(r.Days)-1].Date[:4]
	for _, d := range r.Days {
		label := d.Date[5:]
		if years {
			label = d.Date
		}
		labels = append(labels, label)
		if people {
			pages = append(pages, float64(d.Pages))
		} else {
			pages = append(pages, float64(d.Requests))
		}
		visits = append(visits, float64(d.Visits))
		visitors = append(visitors, float64(d.Visitors))
		bytes = append(bytes, float64(d.Bytes))
	}
	if people {
		p.DayChart = timeChart("Page views, visits and unique visitors per day", labels, []series{{"page views", pages}, {"visits", visits}, {"unique visitors", visitors}})
		if p.DayChart != noData {
			p.DayLegend = legend("page views", "visits", "unique visitors")
		}
	} else {
		p.DayChart = timeChart("Requests per day", labels, []series{{"requests", pages}})
		p.DayLegend = legend("requests (no page views: every request)")
	}
	p.DayBytes = timeChart("Bandwidth per day (bytes)", labels, []series{{"bandwidth", bytes}})
	labels, pages, visits, visitors = nil, nil, nil, nil
	for _, h := range r.Hours {
		labels = append(labels, strconv.Itoa(h.Hour))
		if people {
			pages = append(pages, float64(h.Pages))
		} else {
			pages = append(pages, float64(h.Requests))
		}
		visits = append(visits, float64(h.Visits))
		visitors = append(visitors, float64(h.Visitors))
	}
	if people {
		p.HourChart = timeChart("Page views, visits and unique visitors by hour of the day ("+r.Period.Timezone+")", labels, []series{{"page views", pages}, {"visits", visits}, {"unique visitors", visitors}})
		if p.HourChart != noData {
			p.HourLegend = legend("page views", "visits", "unique visitors")
		}
	} else {
		p.HourChart = timeChart("Requests by hour of the day ("+r.Period.Timezone+")", labels, []series{{"requests", pages}})
		p.HourLegend = legend("requests (no page views: every request)")
	}
	var bots []part
	for _, c := range r.Bots {
		bots = append(bots, part{Name: CategoryTitle(c.Category), Value: c.Requests})
	}
	bots = append([]part{{Name: "People", Value: r.Overview.Requests - r.Overview.Bots}}, bots...)
	p.BotChart = shareChart("Requests by people and by bots, by category", bots)
	var ai []part
	for _, group := range [][]Agent{r.AI.Assistants, r.AI.Search, r.AI.Crawlers} {
		for _, a := range group {
			ai = append(ai, part{Name: a.Name, Value: a.Requests})
		}
	}
	p.AIChart = shareChart("Requests by AI agent", ai)
	seg := func(title string, ss []Segment) template.HTML {
		var parts []part
		for _, s := range ss {
			parts = append(parts, part{Name: s.Name, Value: s.Visitors})
		}
		return shareChart(title, parts)
	}
	p.DeviceChart = seg("Unique visitors by device type", r.Devices)
	p.BrowserChart = seg("Unique visitors by browser", r.Browsers)
	p.OSChart = seg("Unique visitors by operating system", r.OS)
	p.CountryChart = seg("Unique visitors by country", r.Countries)
	classes := map[int]int64{}
	for _, s := range r.Status {
		classes[s.Code/100]++
		classes[s.Code/100] += s.Requests - 1
	}
	var status []part
	// Each class its colour, whatever classes the period has: 2xx green,
	// 3xx blue, 4xx orange, 5xx red, none grey, 1xx purple.
	statusColor := map[int]int{2: 3, 3: 1, 4: 2, 5: 5, 0: 6, 1: 4}
	for _, c := range []int{2, 3, 4, 5, 0, 1} {
		if n, ok := classes[c]; ok {
			name := strconv.Itoa(c) + "xx"
			if c == 0 {
				name = "none (000)"
			}
			status = append(status, part{Name: name, Value: n, Color: statusColor[c]})
		}
	}
	p.StatusChart = shareChart("Requests by status class", status)
	var static, typeBytes []part
	for _, t := range r.Files.Static {
		static = append(static, part{Name: fileType(t.Type), Value: t.Static})
	}
	for _, t := range r.Files.Types {
		typeBytes = append(typeBytes, part{Name: fileType(t.Type), Value: t.Bytes})
	}
	slices.SortStableFunc(typeBytes, func(a, b part) int { return cmp.Compare(b.Value, a.Value) })
	p.StaticChart = shareChart("Requests for static files by type", static)
	p.TypeBytesChart = shareChart("Bandwidth by file type", typeBytes)
	if r.CDN != nil {
		var cache []part
		for _, c := range r.CDN.ResultTypes {
			cache = append(cache, part{Name: c.Name, Value: c.Count})
		}
		p.CacheChart = shareChart("Requests by CloudFront result type", cache)
	}
	return t.Execute(w, p)
}

// share is the width of a row's bar: its count relative to the first row's.
func share(v, top int64) string {
	if top <= 0 {
		return "0"
	}
	return strconv.FormatFloat(100*float64(v)/float64(top), 'f', 1, 64)
}

// dict builds a map of its arguments, pairs of a key and a value, for
// templates that take several values.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// fileType names a file type (an extension) for people: "jpg", or "no
// extension".
func fileType(ext string) string {
	if ext == "" {
		return "no extension"
	}
	return ext
}
