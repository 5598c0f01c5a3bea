package report

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"
)

// IndexSchema names the layout of the JSON index of a report by host.
const IndexSchema = "trackless-report-index/1"

// Index lists the hosts of a report counted by host, each with its
// totals and its page.
type Index struct {
	Schema    string      `json:"schema"`
	Title     string      `json:"title"`
	Generated time.Time   `json:"generated"`
	Version   string      `json:"trackless_version"`
	Period    Period      `json:"period"` // the hosts' days together
	Hosts     []IndexHost `json:"hosts"`  // by requests
}

// IndexHost is one host of an Index.
type IndexHost struct {
	Host  string `json:"host"` // HostKey: "" for hits of no host
	Title string `json:"title"`
	HTML  string `json:"html,omitempty"` // its page, beside the index
	JSON  string `json:"json,omitempty"`
	Days  int    `json:"days"` // days with hits
	Counts
	Previous *Previous `json:"previous,omitempty"` // the period before, when it has hits
}

// HostTitle is how a report names a host key.
func HostTitle(host string) string {
	if host == NoHost {
		return "(no host)"
	}
	return host
}

// HostFileName is a host key as a part of a file name: safe in a path
// and in a relative link (no colon, which a browser would read as a
// scheme), and one name per host: the hosts that are none start with _,
// which HostKey refuses at the start of a host, and ':', '[' and ']'
// become '~', '(' and ')', which it refuses anywhere.
func HostFileName(host string) string {
	switch host {
	case NoHost:
		return "_no-host"
	case OtherHosts:
		return "_other-hosts"
	case InvalidHost:
		return "_invalid-hosts"
	}
	return strings.NewReplacer(":", "~", "[", "(", "]", ")").Replace(host)
}

// BuildIndex makes the index of the reports of each host (each made by
// Build with Meta.Host).
func BuildIndex(reps []*Report, meta Meta) *Index {
	idx := &Index{Schema: IndexSchema, Title: meta.Title, Generated: meta.Generated.UTC(), Version: meta.Version, Hosts: []IndexHost{}}
	if idx.Title == "" {
		idx.Title = "Sites"
	}
	days := map[string]bool{}
	for _, r := range reps {
		if r.Period.Days == 0 {
			continue
		}
		h := IndexHost{Host: r.Period.Host, Title: HostTitle(r.Period.Host), Days: r.Period.Days, Counts: r.Overview.Counts}
		h.Previous = r.Previous
		idx.Hosts = append(idx.Hosts, h)
		for _, d := range r.Days {
			if d.Requests > 0 {
				days[d.Date] = true
			}
		}
		p := &idx.Period
		p.Timezone = r.Period.Timezone
		if p.From == "" || r.Period.From < p.From {
			p.From = r.Period.From
		}
		if r.Period.To > p.To {
			p.To = r.Period.To
		}
		if p.FirstHit.IsZero() || r.Period.FirstHit.Before(p.FirstHit) {
			p.FirstHit = r.Period.FirstHit
		}
		if r.Period.LastHit.After(p.LastHit) {
			p.LastHit = r.Period.LastHit
		}
	}
	idx.Period.Days = len(days)
	if idx.Period.Timezone == "" && meta.Zone != nil {
		idx.Period.Timezone = meta.Zone.String()
	}
	slices.SortStableFunc(idx.Hosts, func(a, b IndexHost) int {
		if c := cmp.Compare(b.Requests, a.Requests); c != 0 {
			return c
		}
		return strings.Compare(a.Host, b.Host)
	})
	return idx
}

//go:embed index.html.tmpl
var indexTemplate string

// WriteIndexHTML writes the index as one self-contained page linking the
// hosts' pages; refreshSeconds > 0 makes it reload itself (report
// --follow).
func WriteIndexHTML(w io.Writer, idx *Index, refreshSeconds int) error {
	t, err := template.New("index").Funcs(template.FuncMap{
		"num": Num, "bytes": Bytes, "change": Change,
		"datetime": func(t time.Time) string { return t.Format("2006-01-02 15:04 UTC") },
	}).Parse(indexTemplate)
	if err != nil {
		return err
	}
	compared := false
	for _, h := range idx.Hosts {
		compared = compared || h.Previous != nil
	}
	return t.Execute(w, struct {
		I        *Index
		Refresh  int
		Compared bool
	}{idx, refreshSeconds, compared})
}

// WriteIndexText writes the index for a terminal: a line per host.
func WriteIndexText(w io.Writer, idx *Index) error {
	fmt.Fprintf(w, "%s — %s to %s (%s), %d hosts\n\n", idx.Title, orDash(idx.Period.From), orDash(idx.Period.To), idx.Period.Timezone, len(idx.Hosts))
	width := len("host")
	for _, h := range idx.Hosts {
		width = max(width, len(clip(h.Title, 50)))
	}
	heads := []string{"visitors", "visits", "page views", "requests", "AI assistant", "bandwidth"}
	line := func(host string, cols ...string) {
		fmt.Fprintf(w, "%-*s", width, host)
		for i, c := range cols {
			fmt.Fprintf(w, "  %*s", max(len(heads[i]), 9), c)
		}
		fmt.Fprintln(w)
	}
	line("host", heads...)
	for _, h := range idx.Hosts {
		line(clip(h.Title, 50), Num(h.Visitors), Num(h.Visits), Num(h.Pages), Num(h.Requests), Num(h.AI), Bytes(h.Bytes))
	}
	return nil
}

// Change is the change from before to now, as "+12 %" or "−3 %"; "new"
// when before is 0.
func Change(now, before int64) string {
	if before == 0 {
		if now == 0 {
			return "±0 %"
		}
		return "new"
	}
	pct := 100 * float64(now-before) / float64(before)
	switch {
	case pct >= 0.5:
		return fmt.Sprintf("+%.0f %%", pct)
	case pct <= -0.5:
		return fmt.Sprintf("−%.0f %%", -pct)
	}
	return "±0 %"
}
