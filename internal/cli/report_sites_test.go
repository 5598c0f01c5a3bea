package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trackless/trackless/internal/report"
)

// sitesLog is a small CloudFront log of two sites, made for these tests
// (written by testdata/report/sites.py; see its README.md): hits around the end of summer time in
// Europe/Paris and around midnight, over two weeks and two months, a
// pixel with query parameters, and a 404 with a referrer.
const sitesLog = "testdata/report/sites.log"

// checkGolden compares got (JSON, "generated" left out) with the golden
// file testdata/report/NAME (go test ./internal/cli -run Golden -update).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(got), &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	delete(m, "generated")
	b, _ := json.MarshalIndent(m, "", " ")
	golden := filepath.Join("testdata", "report", name)
	if *update {
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(b)+"\n" != string(want) {
		t.Errorf("%s differs (run with -update if the change is right):\n%s", golden, firstLineDiff(string(want), string(b)+"\n"))
	}
}

// sitesReport runs report --json - on the sites log with args, and
// returns its JSON text and its decoded form.
func sitesReport(t *testing.T, args ...string) (string, reportView) {
	t.Helper()
	code, out, errs := run(t, append([]string{"report", "--json", "-"}, append(args, sitesLog)...)...)
	if code != 0 {
		t.Fatalf("report %v: exit %d\n%s", args, code, errs)
	}
	var r reportView
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	return out, r
}

// reportView is what these tests read of a JSON report.
type reportView struct {
	Schema string `json:"schema"`
	Title  string `json:"title"`
	Period struct {
		From, To, Timezone, Host string
		Days                     int
		FirstHit                 string `json:"first_hit"`
	} `json:"period"`
	Previous *struct {
		From, To string
		Days     int
		Pages    int64 `json:"pages"`
	} `json:"previous"`
	Overview struct {
		Requests int64 `json:"requests"`
		Pages    int64 `json:"pages"`
	} `json:"overview"`
	Days []struct {
		Date     string `json:"date"`
		Requests int64  `json:"requests"`
	} `json:"days"`
	Weeks, Months []struct {
		Period   string `json:"period"`
		Requests int64  `json:"requests"`
	}
	Hours []struct {
		Hour     int   `json:"hour"`
		Requests int64 `json:"requests"`
	} `json:"hours"`
	Params []struct {
		Path   string `json:"path"`
		Params []struct {
			Name     string `json:"name"`
			Requests int64  `json:"requests"`
			Values   []struct {
				Name  string `json:"name"`
				Count int64  `json:"count"`
			} `json:"values"`
		} `json:"params"`
	} `json:"query_parameters"`
	NotFound struct {
		Rows []struct {
			Key       string `json:"key"`
			Referrers []struct {
				Name  string `json:"name"`
				Count int64  `json:"count"`
			} `json:"referrers"`
		} `json:"rows"`
	} `json:"not_found"`
	Files struct {
		Requested struct {
			Rows []struct {
				Key      string `json:"key"`
				Method   string `json:"method"`
				Count    int64  `json:"count"`
				Visitors int64  `json:"visitors"`
				Bytes    int64  `json:"bytes"`
			} `json:"rows"`
		} `json:"requested"`
		Types []struct {
			Type   string `json:"type"`
			Static int64  `json:"static_requests"`
			Bytes  int64  `json:"bytes"`
		} `json:"types"`
	} `json:"files"`
}

func (r reportView) day(date string) int64 {
	for _, d := range r.Days {
		if d.Date == date {
			return d.Requests
		}
	}
	return 0
}

// TestReportTimezone: --timezone counts days and hours by the zone's wall
// clock, through the end of summer time (Paris, 2026-10-25: two hours of
// 2:00), and the JSON says the zone.
func TestReportTimezone(t *testing.T) {
	utcOut, utc := sitesReport(t)
	parisOut, paris := sitesReport(t, "--timezone", "Europe/Paris")
	checkGolden(t, "timezone-utc.json", utcOut)
	checkGolden(t, "timezone-paris.json", parisOut)
	if utc.Schema != "trackless-report/2" || utc.Period.Timezone != "UTC" || paris.Period.Timezone != "Europe/Paris" {
		t.Errorf("schema %q, zones %q and %q", utc.Schema, utc.Period.Timezone, paris.Period.Timezone)
	}
	// 22:30 UTC on the 24th is 00:30 on the 25th in Paris; 23:30 UTC on
	// the 25th is on the 26th; 23:59:59 UTC on 11-01 is on 11-02.
	for _, c := range []struct {
		date        string
		utc, paris  int64
		description string
	}{
		{"2026-10-24", 3, 2, "the 22:30 UTC hit is on the 25th in Paris"},
		{"2026-10-25", 3, 3, "00:30 and 01:30 UTC stay; 23:30 UTC goes to the 26th; 22:30 UTC of the 24th comes"},
		{"2026-11-01", 1, 0, "23:59:59 UTC is 00:59:59 on the 2nd in Paris"},
		{"2026-11-02", 1, 2, ""},
	} {
		if got := utc.day(c.date); got != c.utc {
			t.Errorf("UTC %s: %d requests, want %d", c.date, got, c.utc)
		}
		if got := paris.day(c.date); got != c.paris {
			t.Errorf("Paris %s: %d requests, want %d (%s)", c.date, got, c.paris, c.description)
		}
	}
	// Hours: 00:30 UTC on the 25th is 02:30 summer time, 01:30 UTC is
	// 02:30 winter time: both in hour 2.
	var hour2 int64
	for _, h := range paris.Hours {
		if h.Hour == 2 {
			hour2 = h.Requests
		}
	}
	if hour2 != 2 {
		t.Errorf("Paris hour 2: %d requests, want 2 (the hour of 2:00 twice on 2026-10-25)", hour2)
	}
	if !strings.HasSuffix(paris.Period.FirstHit, "+02:00") {
		t.Errorf("first hit %s: want the zone's offset", paris.Period.FirstHit)
	}
	// A zone that is none is refused before anything is read.
	if code, _, errs := run(t, "report", "--timezone", "Europe/Pariss", sitesLog); code != ExitUsage || !strings.Contains(errs, "IANA") {
		t.Errorf("a bad zone: exit %d, %s", code, errs)
	}
}

// TestReportPeriod: --from/--to keep the days of the period, compare it
// with the period of the same length before, and sum weeks and months.
func TestReportPeriod(t *testing.T) {
	out, r := sitesReport(t, "--timezone", "Europe/Paris", "--from", "2026-10-26", "--to", "2026-11-01")
	checkGolden(t, "period.json", out)
	if r.Period.From != "2026-10-26" || r.Period.To != "2026-11-01" {
		t.Errorf("period %s to %s", r.Period.From, r.Period.To)
	}
	for _, d := range r.Days {
		if d.Date < "2026-10-26" || d.Date > "2026-11-01" {
			t.Errorf("day %s outside the period", d.Date)
		}
	}
	if p := r.Previous; p == nil || p.From != "2026-10-19" || p.To != "2026-10-25" || p.Days != 7 || p.Pages != 9 {
		t.Errorf("previous period: %+v, want 2026-10-19 to 2026-10-25, 7 days with hits, 9 page views", p)
	}
	// 2026-11-01 has no hit in Paris: it is a day of the period all the
	// same, with zeros, and November a month of it.
	if len(r.Weeks) != 1 || r.Weeks[0].Period != "2026-W44" || len(r.Months) != 2 || r.Months[0].Period != "2026-10" ||
		r.Months[1].Period != "2026-11" || r.Months[1].Requests != 0 || len(r.Days) != 7 || r.day("2026-11-01") != 0 {
		t.Errorf("weeks %+v, months %+v, %d days", r.Weeks, r.Months, len(r.Days))
	}
	// 7d is the seven days up to --to; without --to, up to the newest day.
	_, seven := sitesReport(t, "--timezone", "Europe/Paris", "--from", "7d")
	if seven.Period.From != "2026-10-27" || seven.Period.To != "2026-11-02" {
		t.Errorf("--from 7d: %s to %s, want 2026-10-27 to 2026-11-02 (the newest day)", seven.Period.From, seven.Period.To)
	}
	_, all := sitesReport(t)
	if len(all.Weeks) != 3 || len(all.Months) != 2 {
		t.Errorf("weeks %+v, months %+v: want 3 weeks (W43, W44, W45) and 2 months", all.Weeks, all.Months)
	}
	for _, bad := range [][]string{{"--from", "last week"}, {"--to", "2026-13-01"}, {"--from", "2026-11-02", "--to", "2026-11-01"}} {
		if code, _, errs := run(t, append(append([]string{"report"}, bad...), sitesLog)...); code != ExitUsage {
			t.Errorf("%v: exit %d, %s", bad, code, errs)
		}
	}
	// A period with no hits says what there is.
	code, _, errs := run(t, "report", "--from", "2025-01-01", "--to", "2025-01-31", sitesLog)
	if code != 0 || !strings.Contains(errs, "no hits in the period") || !strings.Contains(errs, "2026-10-19 to 2026-11-02") {
		t.Errorf("empty period: exit %d, %s", code, errs)
	}
}

// TestReportByHost: --by-host writes an index and a page per host, each
// host's numbers its own; --host reports one.
func TestReportByHost(t *testing.T) {
	dir := t.TempDir()
	index := filepath.Join(dir, "report.json")
	html := filepath.Join(dir, "report.html")
	if code, _, errs := run(t, "report", "--by-host", "--timezone", "Europe/Paris", "--json", index, "-o", html, sitesLog); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, name := range []string{"report.json", "report-a.example.json", "report-b.example.json"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "by-host-"+name, string(data))
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`href="report-a.example.html"`, `href="report-b.example.html"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("index page lacks %s", want)
		}
	}
	hostPage, err := os.ReadFile(filepath.Join(dir, "report-b.example.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hostPage), `<h1>b.example</h1>`) || !strings.Contains(string(hostPage), `href="report.html"`) {
		t.Errorf("the page of b.example lacks its title or the link to the index")
	}

	// --host: the one host, with its query parameters.
	_, b := sitesReport(t, "--host", "B.example", "--params", "/pixel.gif")
	if b.Period.Host != "b.example" || b.Overview.Requests != 10 || b.Title != "b.example" {
		t.Errorf("--host b.example: host %q, title %q, %d requests, want 10", b.Period.Host, b.Title, b.Overview.Requests)
	}
	if len(b.Params) != 1 || b.Params[0].Path != "/pixel.gif" || len(b.Params[0].Params) != 3 {
		t.Fatalf("query parameters: %+v", b.Params)
	}
	e := b.Params[0].Params[0]
	if e.Name != "e" || e.Requests != 7 || len(e.Values) != 2 || e.Values[0].Name != "view" || e.Values[0].Count != 6 {
		t.Errorf("parameter e: %+v, want 7 requests, view 6 and click 1", e)
	}
	if code, _, errs := run(t, "report", "--host", "c.example", sitesLog); code != ExitUsage || !strings.Contains(errs, "a.example, b.example") {
		t.Errorf("an unknown host: exit %d, %s", code, errs)
	}
}

// TestReportFilesPanel: every request is in the files panel by method
// and path, with its visitors and bandwidth; file types; 404s with the
// pages that linked to them.
func TestReportFilesPanel(t *testing.T) {
	_, r := sitesReport(t, "--host", "b.example")
	var get, head bool
	for _, f := range r.Files.Requested.Rows {
		switch {
		case f.Key == "/pixel.gif" && f.Method == "GET":
			get = f.Count == 7 && f.Visitors == 7 && f.Bytes == 7*43
		case f.Key == "/pixel.gif" && f.Method == "HEAD":
			head = f.Count == 1 && f.Visitors == 1
		}
	}
	if !get || !head {
		t.Errorf("requested files: %+v", r.Files.Requested.Rows)
	}
	if len(r.Files.Types) == 0 || r.Files.Types[0].Type != "gif" || r.Files.Types[0].Static != 8 {
		t.Errorf("file types: %+v", r.Files.Types)
	}
	_, a := sitesReport(t, "--host", "a.example")
	if len(a.NotFound.Rows) != 1 || a.NotFound.Rows[0].Key != "/old-page" || len(a.NotFound.Rows[0].Referrers) != 1 ||
		a.NotFound.Rows[0].Referrers[0].Name != "https://news.example.org/article" || a.NotFound.Rows[0].Referrers[0].Count != 2 {
		t.Errorf("not found: %+v", a.NotFound.Rows)
	}
}

// TestPeriodOf: --from and --to against a fixed today and the days
// counted.
func TestPeriodOf(t *testing.T) {
	day := func(s string) int32 {
		d, _, err := parseDay(s, 0)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	today, first, last := day("2026-12-04"), day("2026-11-01"), day("2026-11-30")
	for _, c := range []struct{ from, to, want string }{
		{"", "", ""},
		{"2026-11-10", "", "2026-11-10 2026-11-30"},
		{"", "2026-11-10", "2026-11-01 2026-11-10"},
		{"7d", "", "2026-11-24 2026-11-30"},
		{"1w", "today", "2026-11-28 2026-12-04"},
		{"today", "today", "2026-12-04 2026-12-04"},
		{"yesterday", "yesterday", "2026-12-03 2026-12-03"},
		{"2d", "1d", "2026-12-02 2026-12-03"},
		{" 2026-11-05 ", "2026-11-05", "2026-11-05 2026-11-05"},
	} {
		rg, err := periodOf(c.from, c.to, today, first, last)
		if err != nil {
			t.Errorf("%q %q: %v", c.from, c.to, err)
			continue
		}
		got := ""
		if rg != nil {
			got = report.DayString(rg.From) + " " + report.DayString(rg.To)
		}
		if got != c.want {
			t.Errorf("--from %q --to %q: %q, want %q", c.from, c.to, got, c.want)
		}
	}
	for _, c := range [][2]string{{"0d", ""}, {"-3d", ""}, {"3y", ""}, {"2026-11-31", ""}, {"2026-12-01", "2026-11-01"}} {
		if _, err := periodOf(c[0], c[1], today, first, last); err == nil {
			t.Errorf("--from %q --to %q accepted", c[0], c[1])
		}
	}
}

// FuzzParseDay: any --from or --to value is a day or an error, never a
// panic.
func FuzzParseDay(f *testing.F) {
	for _, s := range []string{"2026-11-01", "today", "7d", "4w", "0d", "99999999999d", "d", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, n, err := parseDay(v, 20000)
		if err == nil && n < 0 {
			t.Fatalf("%q: %d days", v, n)
		}
		_ = d
	})
}

// TestReportImageCDN: the real 2011 log of an image CDN (174,119 requests
// for images, no page view) gives a files panel: the images requested,
// with their visitors and bandwidth, and the bandwidth by file type. Its
// other panels of people have nothing; this one must not be empty.
func TestReportImageCDN(t *testing.T) {
	sample := filepath.Join("..", "..", "..", "shared", "samples", "rkalla__cloudfront-log-parser__example-174k.gz")
	if _, err := os.Stat(sample); err != nil {
		t.Skip("shared samples not present")
	}
	code, out, errs := run(t, "report", "--json", "-", sample)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r reportView
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Overview.Requests != 174119 || r.Overview.Pages != 0 {
		t.Errorf("%d requests, %d page views: want 174,119 and none", r.Overview.Requests, r.Overview.Pages)
	}
	rows := r.Files.Requested.Rows
	if len(rows) != 50 || rows[0].Count < 2000 || rows[0].Visitors < 1 || rows[0].Bytes == 0 || rows[0].Method != "GET" {
		t.Fatalf("requested files: %d rows, first %+v", len(rows), rows)
	}
	var jpg bool
	for _, ty := range r.Files.Types {
		jpg = jpg || ty.Type == "jpg" && ty.Static > 0 && ty.Bytes > 0
	}
	if !jpg {
		t.Errorf("file types: %+v, want jpg with its static requests and bandwidth", r.Files.Types)
	}
	// With no page view, the charts of days and hours draw the requests.
	_, page, _ := run(t, "report", "-o", "-", sample)
	for _, want := range []string{`aria-label="Requests by hour of the day (UTC)`, "no page views: every request"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestReportUserEdges: what a user trying the new flags ran into.
func TestReportUserEdges(t *testing.T) {
	dir := t.TempDir()
	// Every host its own file, whatever its name: a real host named like
	// the page of the hosts that are none, and two that differ only by a
	// port's colon.
	seen := map[string]string{}
	for _, h := range []string{report.NoHost, report.InvalidHost, report.OtherHosts, "no-host", "invalid-hosts", "_no-host",
		"www.example.com:8080", "www.example.com_8080", "www.example.com~8080", "[::1]:80", "(::1):80"} {
		key := report.HostKey(h)
		name := report.HostFileName(key)
		if other, dup := seen[name]; dup && other != key {
			t.Errorf("hosts %q and %q share the file name %q", other, key, name)
		}
		seen[name] = key
		if strings.ContainsAny(name, ":/[] ") {
			t.Errorf("host %q: file name %q", h, name)
		}
	}
	// --from today with no hit yet: an empty period, said on stderr.
	if code, _, errs := run(t, "report", "--from", "today", sitesLog); code != 0 || !strings.Contains(errs, "no hits in the period") {
		t.Errorf("--from today: exit %d, %s", code, errs)
	}
	// --params wants a path.
	for _, bad := range []string{"pixel.gif", "/pixel.gif?e=1", "/*"} {
		if code, _, errs := run(t, "report", "--params", bad, sitesLog); code != ExitUsage || !strings.Contains(errs, "--params") {
			t.Errorf("--params %q: exit %d, %s", bad, code, errs)
		}
	}
	// A path with no request is said to have none.
	_, r := sitesReport(t, "--params", "/nothing", "--params", "/pixel.gif")
	if len(r.Params) != 2 || r.Params[0].Path != "/nothing" || len(r.Params[0].Params) != 0 || r.Params[1].Path != "/pixel.gif" {
		t.Errorf("params: %+v", r.Params)
	}
	// -o - writes the page on stdout; not with --json - too, nor by host.
	if code, out, _ := run(t, "report", "-o", "-", sitesLog); code != 0 || !strings.HasPrefix(out, "<!DOCTYPE html>") {
		t.Errorf("-o -: exit %d, %.40q", code, out)
	}
	for _, args := range [][]string{{"-o", "-", "--json", "-"}, {"--by-host", "-o", "-"}, {"--by-host", "--host", "a.example"}} {
		if code, _, errs := run(t, append(append([]string{"report"}, args...), sitesLog)...); code != ExitUsage {
			t.Errorf("%v: exit %d, %s", args, code, errs)
		}
	}
	// --by-host with -o without an extension: the hosts' pages are .html.
	if code, _, errs := run(t, "report", "--by-host", "-o", filepath.Join(dir, "stats"), sitesLog); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "stats-a.example.html")); err != nil {
		t.Error(err)
	}
	// The title of a host's page is the host, after --title.
	_, b := sitesReport(t, "--host", "b.example", "--title", "My sites")
	if b.Title != "My sites — b.example" {
		t.Errorf("title %q", b.Title)
	}
	// The hosts are listed as "(no host)" for a log without hosts: that
	// name picks them.
	combined := filepath.Join(dir, "access.log")
	os.WriteFile(combined, []byte(`192.0.2.1 - - [01/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 512 "-" "Mozilla/5.0"`+"\n"), 0o644)
	if code, out, errs := run(t, "report", "--host", "(no host)", "--json", "-", combined); code != 0 || !strings.Contains(out, `"title": "(no host)"`) {
		t.Errorf("--host '(no host)': exit %d, %s", code, errs)
	}
	// An empty period of one host names that host's days.
	if code, _, errs := run(t, "report", "--host", "b.example", "--from", "2026-10-19", "--to", "2026-10-24", sitesLog); code != 0 || !strings.Contains(errs, "2026-10-25 to 2026-11-02") {
		t.Errorf("an empty period of b.example: exit %d, %s", code, errs)
	}
	// The index says which period each host is compared with.
	code, out, errs := run(t, "report", "--by-host", "--from", "2026-10-26", "--to", "2026-11-01", "--json", filepath.Join(dir, "i.json"), sitesLog)
	idx, _ := os.ReadFile(filepath.Join(dir, "i.json"))
	if code != 0 || !strings.Contains(string(idx), `"from": "2026-10-19"`) {
		t.Errorf("index with a period: exit %d, %s %s", code, out, errs)
	}
	// A state counted in UTC takes UTC's other names.
	st := filepath.Join(dir, "state")
	if code, _, errs := run(t, "report", "--state", st, sitesLog); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if code, _, errs := run(t, "report", "--state", st, "--timezone", "Etc/UTC"); code != 0 {
		t.Errorf("Etc/UTC on a UTC state: exit %d, %s", code, errs)
	}
}
