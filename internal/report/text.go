package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes a compact summary of r for a terminal.
func WriteText(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	o := r.Overview
	days := "days"
	if r.Period.Days == 1 {
		days = "day"
	}
	fmt.Fprintf(tw, "%s — %s to %s (%d %s with hits, %s)\n\n", r.Title, orDash(r.Period.From), orDash(r.Period.To), r.Period.Days, days, r.Period.Timezone)
	fmt.Fprintf(tw, "requests\t%s\tbot requests\t%s (%s)\n", Num(o.Requests), Num(o.Bots), Percent(o.Bots, o.Requests))
	fmt.Fprintf(tw, "unique visitors\t%s\tvisits\t%s\n", Num(o.Visitors), Num(o.Visits))
	fmt.Fprintf(tw, "page views\t%s\tdownloads\t%s\n", Num(o.Pages), Num(o.Downloads))
	fmt.Fprintf(tw, "bandwidth\t%s\tAI assistant requests\t%s\n", Bytes(o.Bytes), Num(o.AI))
	fmt.Fprintf(tw, "malformed lines\t%s\texcluded hits\t%s\n", Num(o.Malformed), Num(o.Excluded))
	if p := r.Previous; p != nil {
		fmt.Fprintf(tw, "previous period\t%s to %s\tpage views\t%s (%s)\n", p.From, p.To, Num(p.Pages), Change(o.Pages, p.Pages))
		fmt.Fprintf(tw, "\t\tunique visitors\t%s (%s)\n", Num(p.Visitors), Change(o.Visitors, p.Visitors))
	}
	if r.CDN != nil {
		fmt.Fprintf(tw, "cache hit ratio\t%.1f %%\t\t\n", 100*r.CDN.HitRatio)
	}
	section := func(title string, rows [][2]string) {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(tw, "\n%s\n", title)
		for _, row := range rows {
			fmt.Fprintf(tw, "  %s\t%s\n", row[0], row[1])
		}
	}
	top := func(t TableJSON, n int) [][2]string {
		var out [][2]string
		for i, row := range t.Rows {
			if i == n {
				break
			}
			out = append(out, [2]string{clip(row.Key, 70), Num(row.Count)})
		}
		return out
	}
	section("Top pages", top(r.Pages, 10))
	var ai [][2]string
	for _, group := range []struct {
		kind   string
		agents []Agent
	}{{"assistant", r.AI.Assistants}, {"AI search", r.AI.Search}, {"AI crawler", r.AI.Crawlers}} {
		for _, a := range group.agents {
			ai = append(ai, [2]string{a.Name + " (" + group.kind + ")", Num(a.Requests)})
		}
	}
	section("AI agents (requests)", ai)
	var bots [][2]string
	for _, c := range r.Bots {
		bots = append(bots, [2]string{CategoryTitle(c.Category), Num(c.Requests)})
	}
	section("Bots by category (requests)", bots)
	var refs [][2]string
	for _, n := range r.Referrers.AI {
		refs = append(refs, [2]string{n.Name + " (AI)", Num(n.Count)})
	}
	for _, n := range r.Referrers.SearchEngines {
		refs = append(refs, [2]string{n.Name + " (search)", Num(n.Count)})
	}
	refs = append(refs, top(r.Referrers.Sites, 5)...)
	section("Referrers (page views)", refs)
	var status [][2]string
	for _, s := range r.Status {
		status = append(status, [2]string{fmt.Sprint(s.Code), Num(s.Requests)})
	}
	section("Status codes", status)
	fmt.Fprintln(tw)
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// Num formats an integer with thin thousands separators (1 234 567).
func Num(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Percent formats part/whole as a percentage.
func Percent(part, whole int64) string {
	if whole == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", 100*float64(part)/float64(whole))
}

// Bytes formats a byte count with binary units.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// CategoryTitle names a bot category for people.
func CategoryTitle(cat string) string {
	switch cat {
	case "ai_assistant":
		return "AI assistants"
	case "ai_search":
		return "AI search"
	case "ai_crawler":
		return "AI crawlers"
	case "search_engine":
		return "Search engines"
	case "seo":
		return "SEO tools"
	case "monitoring":
		return "Monitoring"
	case "scanner":
		return "Scanners"
	case "http_library":
		return "HTTP libraries and tools"
	case "social_preview":
		return "Social link previews"
	case "feed_reader":
		return "Feed readers"
	case "archiver":
		return "Archivers"
	case "academic":
		return "Academic"
	case "advertising":
		return "Advertising"
	case "browser_automation":
		return "Headless browsers"
	}
	return "Other bots"
}
