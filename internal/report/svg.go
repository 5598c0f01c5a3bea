package report

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
)

// The charts are inline SVG, drawn here: no script, no external file.
// Colours come from CSS classes (c1…c6, grid, axis), so that the page's
// light and dark themes apply to them.

// series is one line or set of bars of a chart.
type series struct {
	Name   string
	Values []float64
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
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
func timeChart(title string, labels []string, ss []series) template.HTML {
	const w, h, left, right, top, bottom = 800.0, 240.0, 48.0, 8.0, 12.0, 28.0
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
	pw, ph := w-left-right, h-top-bottom
	x := func(i int) float64 { return left + pw*(float64(i)+0.5)/float64(n) }
	y := func(v float64) float64 { return top + ph*(1-v/vmax) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="%s"><title>%s</title>`, w, h, template.HTMLEscapeString(title), template.HTMLEscapeString(title))
	for i := 0; i <= 4; i++ {
		v := vmax * float64(i) / 4
		fmt.Fprintf(&b, `<line class="grid" x1="%g" x2="%g" y1="%.1f" y2="%.1f"/><text class="axis" x="%g" y="%.1f" text-anchor="end">%s</text>`, left, w-right, y(v), y(v), left-6, y(v)+4, short(v))
	}
	step := max(1, int(math.Ceil(float64(n)/12)))
	for i := 0; i < n; i += step {
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%g" text-anchor="middle">%s</text>`, x(i), h-8, template.HTMLEscapeString(labels[i]))
	}
	bw := math.Max(1, pw/float64(n)*0.7)
	for i, v := range ss[0].Values {
		fmt.Fprintf(&b, `<rect class="c1" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %s</title></rect>`,
			x(i)-bw/2, y(v), bw, math.Max(0, top+ph-y(v)), template.HTMLEscapeString(labels[i]), template.HTMLEscapeString(ss[0].Name), Num(int64(v)))
	}
	for k, s := range ss[1:] {
		var pts []string
		for i, v := range s.Values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
		}
		fmt.Fprintf(&b, `<polyline class="line c%d" points="%s"/>`, k+2, strings.Join(pts, " "))
		if n <= 48 {
			for i, v := range s.Values {
				fmt.Fprintf(&b, `<circle class="c%d" cx="%.1f" cy="%.1f" r="3"><title>%s %s: %s</title></circle>`, k+2, x(i), y(v), template.HTMLEscapeString(labels[i]), template.HTMLEscapeString(s.Name), Num(int64(v)))
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
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
	const w, row, label = 800.0, 26.0, 230.0
	h := row * float64(len(parts))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart bars" viewBox="0 0 %g %g" role="img" aria-label="%s"><title>%s</title>`, w, h, template.HTMLEscapeString(title), template.HTMLEscapeString(title))
	for i, p := range parts {
		y := float64(i) * row
		bw := (w - label - 110) * float64(p.Value) / float64(vmax)
		fmt.Fprintf(&b, `<text class="label" x="%g" y="%.1f" text-anchor="end">%s</text>`, label-8, y+row/2+5, template.HTMLEscapeString(clip(p.Name, 30)))
		color := p.Color
		if color == 0 {
			color = i%6 + 1
		}
		fmt.Fprintf(&b, `<rect class="c%d" x="%g" y="%.1f" width="%.1f" height="%.1f" rx="2"><title>%s: %s</title></rect>`, color, label, y+4, math.Max(bw, 1), row-8, template.HTMLEscapeString(p.Name), Num(p.Value))
		fmt.Fprintf(&b, `<text class="label" x="%.1f" y="%.1f">%s</text>`, label+math.Max(bw, 1)+6, y+row/2+5, Percent(p.Value, total))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
