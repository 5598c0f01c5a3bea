package report

import (
	"bufio"
	"bytes"
	"fmt"
	"html/template"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/logformat"
	"github.com/trackless/trackless/internal/loggen"
)

// genHits generates a CloudFront log with loggen and reads it back.
func genHits(t testing.TB, lines int, span time.Duration, seed int64) []hit.Hit {
	t.Helper()
	var buf bytes.Buffer
	if _, err := loggen.Write(&buf, loggen.Config{Seed: seed, Lines: lines, Span: span}); err != nil {
		t.Fatal(err)
	}
	r, err := logformat.NewReader("cloudfront", "gen", logformat.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []hit.Hit
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := int64(0)
	for sc.Scan() {
		n++
		var h hit.Hit
		if ok, err := r.Parse(sc.Bytes(), n, &h); ok && err == nil {
			out = append(out, h)
		}
	}
	return out
}

// TestCountsIndependent checks the report against counts computed here in
// the plainest way: sorting each visitor's times to find visits.
func TestCountsIndependent(t *testing.T) {
	hits := genHits(t, 20000, 48*time.Hour, 7)
	a, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range hits {
		h := hits[i]
		if _, err := a.Add(&h); err != nil {
			t.Fatal(err)
		}
	}
	rep := Build(a.Days(), Meta{Top: 1 << 30})

	cls, _ := classify.New(classify.Config{RecMode: 2})
	type vkey struct {
		day    string
		ip, ua string
	}
	type act struct {
		t    int64
		page string
	}
	var want Counts
	status := map[int]int64{}
	pages := map[string]int64{}
	cache := map[string]int64{}
	botCats := map[string]int64{}
	acts := map[vkey][]act{}
	var taken []int64
	for _, h := range hits {
		res := cls.Classify(&h, "")
		want.Requests++
		if h.Bytes > 0 {
			want.Bytes += h.Bytes
		}
		status[h.Status]++
		if h.ResultType != "" {
			cache[h.ResultType]++
		}
		if h.Duration >= 0 {
			taken = append(taken, h.Duration.Milliseconds())
		}
		path := h.Path
		if h.LogEscaped {
			path = hit.Unescape(path)
		}
		path = strings.ToLower(h.Host) + path // several hosts: keys are host+path
		if res.Bot {
			want.Bots++
			botCats[res.Category]++
			if res.Category == classify.CatAIAssistant {
				want.AI++
			}
			continue
		}
		if !(h.Status >= 200 && h.Status < 300 || h.Status == 304) || res.Kind == hit.Asset {
			continue
		}
		if res.Kind == hit.Page {
			want.Pages++
			pages[path]++
		} else {
			want.Downloads++
		}
		k := vkey{h.Time.UTC().Format(time.DateOnly), h.ClientIP, h.UserAgent}
		acts[k] = append(acts[k], act{h.Time.Unix(), path})
	}
	entries := map[string]int64{}
	visitsByDay := map[string]int64{}
	visitorsByDay := map[string]int64{}
	for k, as := range acts {
		sort.Slice(as, func(i, j int) bool {
			if as[i].t != as[j].t {
				return as[i].t < as[j].t
			}
			return as[i].page < as[j].page
		})
		want.Visitors++
		visitorsByDay[k.day]++
		for i, x := range as {
			if i == 0 || x.t-as[i-1].t > VisitGap {
				want.Visits++
				visitsByDay[k.day]++
				entries[x.page]++
			}
		}
	}
	if rep.Overview.Counts != want {
		t.Errorf("overview\n got %+v\nwant %+v", rep.Overview.Counts, want)
	}
	if len(rep.Days) != len(visitorsByDay) || len(rep.Days) < 2 {
		t.Fatalf("%d days, want %d", len(rep.Days), len(visitorsByDay))
	}
	for _, d := range rep.Days {
		if d.Visitors != visitorsByDay[d.Date] || d.Visits != visitsByDay[d.Date] {
			t.Errorf("%s: %d visitors, %d visits; want %d, %d", d.Date, d.Visitors, d.Visits, visitorsByDay[d.Date], visitsByDay[d.Date])
		}
	}
	gotStatus := map[int]int64{}
	for _, s := range rep.Status {
		gotStatus[s.Code] = s.Requests
	}
	if !maps.Equal(gotStatus, status) {
		t.Errorf("status %v, want %v", gotStatus, status)
	}
	checkTable := func(name string, tab TableJSON, keyed map[string]int64) {
		t.Helper()
		want := map[string]int64{} // the main host is left out of keys
		for k, v := range keyed {
			if p, ok := strings.CutPrefix(k, rep.Overview.Hosts[0]); ok {
				k = p
			}
			want[k] += v
		}
		got := map[string]int64{}
		for _, r := range tab.Rows {
			got[r.Key] = r.Count
		}
		if !tab.Exact || !maps.Equal(got, want) {
			t.Errorf("%s: exact=%v, %d rows, want %d; first differences: %v", name, tab.Exact, len(got), len(want), firstDiff(got, want))
		}
	}
	checkTable("pages", rep.Pages, pages)
	checkTable("entry pages", rep.EntryPages, entries)
	gotCache := map[string]int64{}
	for _, c := range rep.CDN.ResultTypes {
		gotCache[c.Name] = c.Count
	}
	if !maps.Equal(gotCache, cache) {
		t.Errorf("cache %v, want %v", gotCache, cache)
	}
	gotCats := map[string]int64{}
	for _, c := range rep.Bots {
		gotCats[c.Category] = c.Requests
	}
	if !maps.Equal(gotCats, botCats) {
		t.Errorf("bots %v, want %v", gotCats, botCats)
	}
	slices.Sort(taken)
	rank := func(q float64) int64 {
		i := int(float64(len(taken))*q+0.999999) - 1
		return taken[max(i, 0)]
	}
	if p := rep.Performance.TimeTaken; p == nil || p.Count != int64(len(taken)) || p.P50 != rank(0.5) || p.P95 != rank(0.95) || p.P99 != rank(0.99) {
		t.Errorf("time taken %+v, want n=%d p50=%d p95=%d p99=%d", p, len(taken), rank(0.5), rank(0.95), rank(0.99))
	}
	if want.Visitors == 0 || want.Visits <= want.Visitors/2 || len(entries) < 10 || len(botCats) < 3 {
		t.Errorf("the generated log is too poor to test: %+v", want)
	}
}

func firstDiff(got, want map[string]int64) string {
	var out []string
	for k, v := range want {
		if got[k] != v {
			out = append(out, fmt.Sprintf("%s got %d want %d", k, got[k], v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("%s got %d want none", k, v))
		}
	}
	slices.Sort(out)
	if len(out) > 5 {
		out = out[:5]
	}
	return strings.Join(out, "; ")
}

// TestOrderIndependent adds the same hits in three orders, in one
// aggregator or day by day through a state directory, and gets the same
// report.
func TestOrderIndependent(t *testing.T) {
	hits := genHits(t, 6000, 30*time.Hour, 3)
	build := func(order []int, dir string) *Report {
		t.Helper()
		opt := Options{TableSize: 100000}
		var st *State
		if dir != "" {
			var err error
			if st, err = OpenState(dir, StateOptions{TableSize: opt.TableSize}); err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			opt.Load = st.Load
		}
		a, _ := New(opt)
		for n, i := range order {
			h := hits[i]
			a.Add(&h)
			if st != nil && n%1000 == 999 { // commit, start again from the state
				if err := st.Commit(a.Days(), nil, 0); err != nil {
					t.Fatal(err)
				}
				a, _ = New(opt)
			}
		}
		days := a.Days()
		if st != nil {
			if err := st.Commit(days, nil, 0); err != nil {
				t.Fatal(err)
			}
			days = nil
			for _, k := range st.Days() {
				s, err := st.Summary(k)
				if err != nil {
					t.Fatal(err)
				}
				days = append(days, s)
			}
		}
		return Build(days, Meta{Top: 1 << 30})
	}
	inOrder := make([]int, len(hits))
	for i := range inOrder {
		inOrder[i] = i
	}
	reversed := slices.Clone(inOrder)
	slices.Reverse(reversed)
	shuffled := slices.Clone(inOrder)
	for i := range shuffled { // a fixed permutation
		j := (i*7919 + 13) % len(shuffled)
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	want := build(inOrder, "")
	for name, r := range map[string]*Report{
		"reversed": build(reversed, ""), "shuffled": build(shuffled, ""),
		"shuffled, through the state": build(shuffled, t.TempDir()),
	} {
		if d := diffReports(want, r); d != "" {
			t.Errorf("%s: %s", name, d)
		}
	}
}

func diffReports(a, b *Report) string {
	ja, jb := mustJSON(a), mustJSON(b)
	if ja == jb {
		return ""
	}
	la, lb := strings.Split(ja, "\n"), strings.Split(jb, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d: %q vs %q", i+1, la[i], lb[i])
		}
	}
	return "lengths differ"
}

// TestCommonFormatCountsPeople: Apache's common format has no user-agent
// field, so its requests are people's (visitors, page views), not bots';
// the same requests logged with an empty user agent ("-") are bots'.
func TestCommonFormatCountsPeople(t *testing.T) {
	const common = `192.0.2.1 - - [10/Nov/2026:16:42:07 +0100] "GET / HTTP/1.1" 200 5
192.0.2.1 - - [10/Nov/2026:16:43:07 +0100] "GET /about HTTP/1.1" 200 5
192.0.2.2 - - [10/Nov/2026:16:44:07 +0100] "GET / HTTP/1.1" 200 5
192.0.2.3 - - [10/Nov/2026:16:45:07 +0100] "GET /style.css HTTP/1.1" 200 5`
	for _, tt := range []struct {
		name, suffix                 string
		visitors, pages, botRequests int64
	}{
		{"common", "", 2, 3, 0}, // 192.0.2.3 fetched an asset only
		{"combined with an empty user agent", ` "-" "-"`, 0, 0, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := logformat.NewReader("auto", "access.log", logformat.ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			a, err := New(Options{DefaultHost: "e.com", DefaultScheme: "https"})
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(common, "\n") {
				var h hit.Hit
				if ok, err := r.Parse([]byte(line+tt.suffix), int64(i+1), &h); !ok || err != nil {
					t.Fatalf("line %d: %v %v", i+1, ok, err)
				}
				if _, err := a.Add(&h); err != nil {
					t.Fatal(err)
				}
			}
			o := Build(a.Days(), Meta{Top: 100}).Overview
			if o.Requests != 4 || o.Visitors != tt.visitors || o.Pages != tt.pages || o.Bots != tt.botRequests {
				t.Errorf("%d requests, %d visitors, %d pages, %d bot requests; want 4, %d, %d, %d",
					o.Requests, o.Visitors, o.Pages, o.Bots, tt.visitors, tt.pages, tt.botRequests)
			}
		})
	}
}

// TestShareChartTakesTheLargest: a chart of more than 10 parts names the 9
// largest and folds the others, whatever the order it was given (the AI
// agents' came in category order, and the two largest crawlers were
// "others").
func TestShareChartTakesTheLargest(t *testing.T) {
	var parts []part
	for i := range 12 {
		parts = append(parts, part{Name: fmt.Sprintf("agent-%02d", i), Value: int64(i + 1)})
	}
	parts = append(parts, part{Name: "ClaudeBot", Value: 500}, part{Name: "GPTBot", Value: 400})
	svg := string(shareChart("Requests by AI agent", parts))
	for _, name := range []string{"ClaudeBot", "GPTBot", "agent-11", "agent-05", "others"} {
		if !strings.Contains(svg, ">"+name+"<") {
			t.Errorf("%s is not named", name)
		}
	}
	if strings.Contains(svg, ">agent-00<") || strings.Index(svg, ">ClaudeBot<") > strings.Index(svg, ">GPTBot<") {
		t.Errorf("not the 9 largest, largest first:\n%s", svg)
	}
	if parts[0].Name != "agent-00" {
		t.Error("the caller's parts were reordered")
	}
}

// TestTitleWithoutHost: a log without hosts (Apache, nginx without the
// virtual host) gives a report titled "Web analytics", not an empty title.
func TestTitleWithoutHost(t *testing.T) {
	a, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := hit.Hit{Time: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), Method: "GET", Path: "/", Status: 200, Bytes: 10, Duration: -1, TTFB: -1, UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", ClientIP: "192.0.2.1"}
	if _, err := a.Add(&h); err != nil {
		t.Fatal(err)
	}
	if title := Build(a.Days(), Meta{Top: 10}).Title; title != "Web analytics" {
		t.Errorf("title %q", title)
	}
}

// TestStatusColours: each status class has its colour whatever classes a
// period has (coloured by their place, 4xx was the third bar's green).
func TestStatusColours(t *testing.T) {
	chart := string(shareChart("Requests by status class", []part{{Name: "2xx", Value: 5, Color: 3}, {Name: "4xx", Value: 2, Color: 2}}))
	if !regexp.MustCompile(`class="hf c3"[^>]*title="2xx: 5".*class="hf c2"[^>]*title="4xx: 2"`).MatchString(chart) {
		t.Errorf("colours not kept:\n%s", chart)
	}
	a, _ := New(Options{})
	for i, st := range []int{200, 404, 503} {
		h := hit.Hit{Time: time.Date(2026, 11, 1, 10, 0, i, 0, time.UTC), Method: "GET", Path: "/", Status: st, Bytes: 1, Duration: -1, TTFB: -1, UserAgent: "Mozilla/5.0 Firefox/140.0", ClientIP: "192.0.2.1"}
		a.Add(&h)
	}
	var b strings.Builder
	if err := WriteHTML(&b, Build(a.Days(), Meta{Top: 10})); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for class, colour := range map[string]string{"2xx": "c3", "4xx": "c2", "5xx": "c5"} {
		if !regexp.MustCompile(`class="hf ` + colour + `"[^>]*title="` + class + `:`).MatchString(html) {
			t.Errorf("%s is not %s", class, colour)
		}
	}
}

// TestDecodedPaths: tables show paths decoded (/wiki/C++), the logged form
// in the title attribute, and name their key column for what it is; an
// empty table says so in the words every empty table uses.
func TestDecodedPaths(t *testing.T) {
	a, _ := New(Options{})
	for i, p := range []string{"/wiki/C%2B%2B", "/caf%C3%A9", "/bad%FF", "/plain"} {
		h := hit.Hit{Time: time.Date(2026, 11, 1, 10, 0, i, 0, time.UTC), Method: "GET", Host: "example.com", Path: p, Status: 200, Bytes: 1, Duration: -1, TTFB: -1, UserAgent: "Mozilla/5.0 Firefox/140.0", ClientIP: "192.0.2.1"}
		a.Add(&h)
	}
	var b strings.Builder
	if err := WriteHTML(&b, Build(a.Days(), Meta{Top: 10})); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{
		`<span class="t" title="/wiki/C%2B%2B">/wiki/C&#43;&#43;</span>`,
		`<span class="t" title="/caf%C3%A9">/café</span>`,
		`<span class="t">/bad%FF</span>`,
		`<span class="t">/plain</span>`,
		`<th>#</th><th>Page</th>`,
		`None in this period.`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("no %s", want)
		}
	}
	for _, old := range []string{`<th>Key</th>`, `None seen.`, `>none<`, `"muted">None.<`} {
		if strings.Contains(html, old) {
			t.Errorf("still %s", old)
		}
	}
}

// TestEmptyChartsSayNoData: a chart whose values are all 0 says so instead
// of drawing an empty axis.
func TestEmptyChartsSayNoData(t *testing.T) {
	for name, chart := range map[string]template.HTML{
		"time":  timeChart("Page views", []string{"a", "b"}, []series{{"page views", []float64{0, 0}}}),
		"share": shareChart("Requests", []part{{Name: "x", Value: 0}}),
	} {
		if s := string(chart); strings.Contains(s, `role="img"`) || !strings.Contains(s, "No data in this period.") {
			t.Errorf("%s: %s", name, s)
		}
	}
	// A chart with data is drawn, its text HTML: SVG <text> would scale
	// with the viewBox (5 px on a phone).
	for name, chart := range map[string]template.HTML{
		"time":  timeChart("Page views", []string{"a"}, []series{{"page views", []float64{3}}}),
		"share": shareChart("Requests", []part{{Name: "x", Value: 3}}),
	} {
		if s := string(chart); !strings.Contains(s, `role="img" aria-label="`) || strings.Contains(s, "<text") {
			t.Errorf("a %s chart with data: %s", name, s)
		}
	}
}

// TestNiceMaxWholeTicks: an axis of small counts has whole-number ticks
// (a quarter of its top), and the top is at or above the largest value.
func TestNiceMaxWholeTicks(t *testing.T) {
	for _, v := range []float64{0.5, 1, 3, 4, 5, 7, 9, 10, 13, 19, 21, 39, 40, 41, 55, 99, 101, 165, 450, 4500, 490e6} {
		m := niceMax(v)
		if m < v {
			t.Errorf("niceMax(%g) = %g, under it", v, m)
		}
		if q := m / 4; m >= 4 && q != math.Trunc(q) {
			t.Errorf("niceMax(%g) = %g: ticks of %g", v, m, q)
		}
	}
}
