package report

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The charts are drawn here as HTML and inline SVG: no script, no external
// file. Their text is HTML, never SVG <text> in a scaled viewBox, so that
// it renders at one size whatever the width of the box (a 12-unit label in
// an 800-unit viewBox drawn 350 px wide would be 5 px): time charts are an
// SVG plot stretched to the box (preserveAspectRatio="none", strokes that
// do not scale) with HTML axis labels; share charts are HTML bars whose
// widths are percentages. Colours come from CSS classes (c1…c6, grid), so
// that the page's light and dark themes apply to them. Each chart is one
// element with role="img" and its title as aria-label.

// series is one line or set of bars of a chart.
type series struct {
	Name   string
	Values []float64
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten; up to
// 100, to 4, 8, 12, 20, 40, 60, 80 or 100, so that the four ticks of an
// axis of counts are whole numbers (not 1.25, 2.5, 12.5).
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	if v <= 100 {
		for _, m := range []float64{4, 8, 12, 20, 40, 60, 80, 100} {
			if v <= m {
				return m
			}
		}
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// short formats an axis value: 1.2k, 3.4M.
func short(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e9:
		return trimZero(fmt.Sprintf("%.1f", v/1e9)) + "G"
	case a >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case a >= 1e3:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	}
	return trimZero(fmt.Sprintf("%.1f", v))
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

// noData stands for a chart with nothing to draw: every value 0 (an image
// CDN has no page views).
const noData template.HTML = `<p class="muted">No data in this period.</p>`

// timeChart draws series over labels (days or hours): the first series as
// bars, the others as lines, on one axis. title names it for screen readers.
//
// The plot is an SVG whose viewBox is one unit per label across and 100
// units high, stretched to the box; lines and dots keep their width
// (vector-effect in the CSS). Axis labels are HTML placed in percent: the
// y axis on the left, at most 12 x labels. When the chart is narrow, CSS
// (container queries) hides the labels of class x2 (every second one, when
// there are more than 6) or x4 (all but every fourth, when more than 3):
// 6 labels of a day ("10-29") fit in 300 px, 3 in less.
func timeChart(title string, labels []string, ss []series) template.HTML {
	n := len(labels)
	if n == 0 || len(ss) == 0 {
		return ""
	}
	var vmax float64
	for _, s := range ss {
		for _, v := range s.Values {
			vmax = max(vmax, v)
		}
	}
	if vmax == 0 {
		return noData // not an empty axis
	}
	vmax = niceMax(vmax)
	y := func(v float64) float64 { return 100 * (1 - v/vmax) }
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="chart tchart" role="img" aria-label="%s"><div class="ty">`, template.HTMLEscapeString(title))
	for i := 4; i >= 0; i-- {
		fmt.Fprintf(&b, `<span>%s</span>`, short(vmax*float64(i)/4))
	}
	fmt.Fprintf(&b, `</div><svg class="tplot" viewBox="0 0 %d 100" preserveAspectRatio="none"><path class="grid" d="`, n)
	for i := 0; i <= 4; i++ {
		fmt.Fprintf(&b, `M0 %dH%d`, 25*i, n)
	}
	b.WriteString(`"/>`)
	for i, v := range ss[0].Values {
		fmt.Fprintf(&b, `<rect class="c1" x="%s" y="%s" width="0.7" height="%s"><title>%s %s: %s</title></rect>`,
			coord(float64(i)+0.15), coord(y(v)), coord(100-y(v)), template.HTMLEscapeString(labels[i]), template.HTMLEscapeString(ss[0].Name), Num(int64(v)))
	}
	for k, s := range ss[1:] {
		var pts []string
		for i, v := range s.Values {
			pts = append(pts, coord(float64(i)+0.5)+","+coord(y(v)))
		}
		fmt.Fprintf(&b, `<polyline class="line c%d" points="%s"/>`, k+2, strings.Join(pts, " "))
		if n <= 48 {
			// A dot is a zero-length line with round caps: round at
			// any stretch of the viewBox.
			for i, v := range s.Values {
				fmt.Fprintf(&b, `<path class="dot c%d" d="M%s %sh0"><title>%s %s: %s</title></path>`, k+2, coord(float64(i)+0.5), coord(y(v)), template.HTMLEscapeString(labels[i]), template.HTMLEscapeString(s.Name), Num(int64(v)))
			}
		}
	}
	b.WriteString(`</svg><div class="tx">`)
	step := max(1, int(math.Ceil(float64(n)/12)))
	shown := (n + step - 1) / step
	for k, i := 0, 0; i < n; k, i = k+1, i+step {
		class := "x"
		if shown > 6 && k%2 == 1 {
			class += " x2"
		}
		if shown > 3 && k%4 != 0 {
			class += " x4"
		}
		fmt.Fprintf(&b, `<span class="%s" style="left:%s%%">%s</span>`, class, coord(100*(float64(i)+0.5)/float64(n)), template.HTMLEscapeString(labels[i]))
	}
	b.WriteString(`</div></div>`)
	return template.HTML(b.String())
}

// coord formats a coordinate with at most 2 decimals: 12.5, 3, 0.15.
func coord(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// legend lists series names with their colours.
func legend(names ...string) template.HTML {
	var b strings.Builder
	b.WriteString(`<p class="legend">`)
	for i, n := range names {
		shape := "bar"
		if i > 0 {
			shape = "line"
		}
		fmt.Fprintf(&b, `<span class="key"><svg width="14" height="10" aria-hidden="true"><rect class="c%d" width="14" height="10" rx="2"/></svg> %s <small>(%s)</small></span> `, i+1, template.HTMLEscapeString(n), shape)
	}
	b.WriteString(`</p>`)
	return template.HTML(b.String())
}

// part is one slice of a share chart.
type part struct {
	Name  string
	Value int64
	// Color is the class of its bar, 1-6 (c1-c6); 0: by its place.
	Color int
}

// shareChart draws horizontal bars, one per part, with their share of the
// total: the chart for categories (bots, devices, cache results). Up to 10
// parts are drawn in the order given; more are the 9 largest, largest
// first, and "others" for the rest.
//
// It is HTML: a grid of names and bars whose widths are percentages (of
// the room the share beside them leaves), so that names wrap and keep the
// page's text size at any width. The aria-label holds the title and every
// share; each bar's tooltip its count.
func shareChart(title string, parts []part) template.HTML {
	if len(parts) == 0 {
		return ""
	}
	if len(parts) > 10 {
		parts = slices.Clone(parts)
		slices.SortStableFunc(parts, func(a, b part) int { return cmp.Compare(b.Value, a.Value) })
		var rest int64
		for _, p := range parts[9:] {
			rest += p.Value
		}
		parts = append(parts[:9:9], part{Name: "others", Value: rest})
	}
	var total, vmax int64
	for _, p := range parts {
		total += p.Value
		vmax = max(vmax, p.Value)
	}
	if vmax == 0 {
		return noData
	}
	shares := make([]string, len(parts))
	for i, p := range parts {
		shares[i] = p.Name + " " + Percent(p.Value, total)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="chart hbars" role="img" aria-label="%s">`, template.HTMLEscapeString(title+": "+strings.Join(shares, ", ")))
	for i, p := range parts {
		color := p.Color
		if color == 0 {
			color = i%6 + 1
		}
		name := template.HTMLEscapeString(p.Name)
		fmt.Fprintf(&b, `<span class="hl">%s</span><span class="ht"><span class="hf c%d" style="--v:%s" title="%s: %s"></span><span class="hp">%s</span></span>`,
			name, color, strconv.FormatFloat(float64(p.Value)/float64(vmax), 'f', 4, 64), name, Num(p.Value), Percent(p.Value, total))
	}
	b.WriteString(`</div>`)
	return template.HTML(b.String())
}
