package browsertest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/trackless/trackless/internal/reporoot"
)

const goodPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Good page</title>
<style>
:root { color-scheme: light dark; }
body { font-family: sans-serif; margin: 1rem; background: #fff; color: #111; }
@media (prefers-color-scheme: dark) { body { background: #111; color: #eee; } }
table { border-collapse: collapse; }
td, th { border: 1px solid currentColor; padding: .25rem; }
</style>
</head>
<body>
<h1>Visits</h1>
<svg width="120" height="40" viewBox="0 0 120 40" role="img" aria-label="Visits per day">
<rect x="0" y="10" width="100" height="20" fill="steelblue"/>
</svg>
<table>
<caption>Visits per day</caption>
<tr><th>Day</th><th>Visits</th></tr>
<tr><td>Mon</td><td>12</td></tr>
</table>
</body>
</html>
`

const badPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Bad page</title></head>
<body>
<p>Bad</p>
<img src="https://example.com/x.png" alt="">
<div style="width: 2000px">wide</div>
<script>
console.error("browsertest-console-error");
throw new Error("browsertest-page-error");
</script>
</body>
</html>
`

// tablesPage holds five data tables that comply with the rule and three
// that do not.
const tablesPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Tables</title></head>
<body>
<table><caption>With caption</caption><tr><td>ok</td></tr></table>
<p id="d1" class="definition">Visits: requests for a page.</p>
<table aria-describedby="d1"><tr><td>ok, aria-describedby</td></tr></table>
<p class="definition">Bytes sent.</p>
<table><tr><td>ok, preceded by a definition</td></tr></table>
<p class="definition">Referrers.</p>
<div class="scroll"><table><tr><td>ok, wrapper preceded by a definition</td></tr></table></div>
<table role="presentation"><tr><td>layout, not counted</td></tr></table>
<table><tr><td>bad, nothing</td></tr></table>
<table><caption> </caption><tr><td>bad, blank caption</td></tr></table>
<p class="note">Not a definition.</p>
<table aria-describedby="missing"><tr><td>bad, dangling aria-describedby</td></tr></table>
<svg width="10" height="10"><svg width="5" height="5"></svg></svg>
<svg width="10" height="10"></svg>
</body>
</html>
`

// readabilityPage has, in this order: a table whose text column is
// crushed to 2 characters (narrow), a "#" cell holding "7" that is as
// narrow but fits (not narrow), an SVG label of 12 units drawn at a
// quarter of its size (3 px), HTML text at 9 px, a ::before label at 8 px,
// text at 12 px (fine), a table wider than its scroll box, hidden small
// text (not counted), and small text in a closed <details> (counted: it
// is opened), and a chart: role="img" with an aria-label.
const readabilityPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Readability</title>
<style>
body { font: 16px sans-serif; margin: 8px; }
td { padding: 0; }
.crushed { width: 2ch; word-break: break-all; }
.tiny { font-size: 9px; }
.lab::before { content: attr(data-label) ": "; font-size: 8px; }
.scroll { overflow-x: auto; width: 200px; }
</style>
</head>
<body>
<table id="crush"><caption>Crushed</caption><tr><td class="crushed">/a/long/path/name</td><td>7</td></tr></table>
<svg width="100" height="25" viewBox="0 0 400 100"><text x="0" y="50" font-size="12">svg-label</text></svg>
<p class="tiny">tiny-html</p>
<p class="lab" data-label="pseudo-label">value</p>
<p style="font-size:12px">fine-text</p>
<div class="scroll" id="wrap"><table><caption>Wide</caption><tr><td style="white-space:nowrap">a cell that is much wider than two hundred pixels</td></tr></table></div>
<p class="tiny" style="display:none">hidden-tiny</p>
<details><summary>More</summary><p class="tiny">folded-tiny</p></details>
<div role="img" aria-label="A chart">bars</div>
<div role="img">no name</div>
</body>
</html>
`

func writePage(t *testing.T, name, html string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGoodPageIsClean(t *testing.T) {
	shots := t.TempDir()
	res := Check(t, writePage(t, "good.html", goodPage), Options{
		Widths:        []int{1400, 400},
		ColorSchemes:  []string{"light", "dark"},
		ScreenshotDir: shots,
	})

	type key struct {
		width  int
		scheme string
		nojs   bool
	}
	want := []key{{1400, "light", false}, {1400, "dark", false}, {400, "light", false}, {400, "dark", false}, {1400, "light", true}}
	var got []key
	for _, r := range res.Runs {
		got = append(got, key{r.Width, r.ColorScheme, r.JSDisabled})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("runs = %v, want %v", got, want)
	}

	for _, r := range res.Runs {
		if p := r.Problems(); len(p) > 0 {
			t.Errorf("%s: problems: %q", r.Label(), p)
		}
		if len(r.DataRequests) != 0 {
			t.Errorf("%s: dataRequests = %q, want none", r.Label(), r.DataRequests)
		}
		if r.Title != "Good page" {
			t.Errorf("%s: title = %q", r.Label(), r.Title)
		}
		if r.SVGCount != 1 {
			t.Errorf("%s: svgCount = %d, want 1", r.Label(), r.SVGCount)
		}
		if r.ScrollWidth != r.Width {
			t.Errorf("%s: scrollWidth = %d, want %d", r.Label(), r.ScrollWidth, r.Width)
		}
		if r.TextLength < len("Visits") {
			t.Errorf("%s: textLength = %d", r.Label(), r.TextLength)
		}
		name := "report-" + strconv.Itoa(r.Width) + "-" + r.ColorScheme
		if r.JSDisabled {
			name += "-nojs"
		}
		if want := filepath.Join(shots, name+".png"); r.Screenshot != want {
			t.Errorf("%s: screenshot = %q, want %q", r.Label(), r.Screenshot, want)
		} else if b, err := os.ReadFile(want); err != nil {
			t.Errorf("%s: %v", r.Label(), err)
		} else if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("%s: %s is not a PNG", r.Label(), want)
		}
	}
}

func TestBadPageProblemsAreCaught(t *testing.T) {
	const img = "https://example.com/x.png"
	res := Check(t, writePage(t, "bad.html", badPage), Options{Widths: []int{1400, 400}})
	if len(res.Runs) != 3 {
		t.Fatalf("got %d runs, want 3 (1400, 400, 1400 without JS)", len(res.Runs))
	}
	for _, r := range res.Runs {
		// The external image is requested, recorded and aborted, with
		// and without JavaScript.
		if !slices.Contains(r.Requests, img) {
			t.Errorf("%s: requests = %q, want %s", r.Label(), r.Requests, img)
		}
		if !slices.ContainsFunc(r.FailedRequests, func(s string) bool {
			return strings.HasPrefix(s, img+" (") && strings.Contains(s, "ERR_BLOCKED_BY_CLIENT")
		}) {
			t.Errorf("%s: failedRequests = %q, want %s aborted", r.Label(), r.FailedRequests, img)
		}
		if !r.HorizontalOverflow || r.ScrollWidth < 2000 {
			t.Errorf("%s: horizontalOverflow = %v, scrollWidth = %d; want overflow past 2000",
				r.Label(), r.HorizontalOverflow, r.ScrollWidth)
		}
		if len(r.Problems()) == 0 {
			t.Errorf("%s: no problems reported", r.Label())
		}

		consoleErr := slices.ContainsFunc(r.ConsoleErrors, func(s string) bool {
			return strings.HasPrefix(s, "[error] browsertest-console-error")
		})
		pageErr := slices.ContainsFunc(r.ConsoleErrors, func(s string) bool {
			return strings.HasPrefix(s, "[pageerror] ") && strings.Contains(s, "browsertest-page-error")
		})
		if r.JSDisabled {
			if consoleErr || pageErr {
				t.Errorf("%s: script ran with JavaScript disabled: %q", r.Label(), r.ConsoleErrors)
			}
		} else if !consoleErr || !pageErr {
			t.Errorf("%s: consoleErrors = %q, want the console error and the page error",
				r.Label(), r.ConsoleErrors)
		}
	}
	if r := res.Runs[1]; r.Width != 400 || !r.HorizontalOverflow {
		t.Errorf("run 1: width %d overflow %v, want the 400px run to overflow", r.Width, r.HorizontalOverflow)
	}
}

func TestTableRuleAndSVGCount(t *testing.T) {
	res := Check(t, writePage(t, "tables.html", tablesPage), Options{Widths: []int{800}, ColorSchemes: []string{"dark"}})
	if len(res.Runs) != 2 {
		t.Fatalf("got %d runs, want 2", len(res.Runs))
	}
	for _, r := range res.Runs {
		if r.ColorScheme != "dark" || r.Width != 800 {
			t.Errorf("%s: want 800px dark", r.Label())
		}
		if r.TablesWithoutDefinition != 3 {
			t.Errorf("%s: tablesWithoutCaptionOrDefinition = %d, want 3", r.Label(), r.TablesWithoutDefinition)
		}
		if r.SVGCount != 2 {
			t.Errorf("%s: svgCount = %d, want 2 (nested svg not counted)", r.Label(), r.SVGCount)
		}
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := reporoot.Dir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "tools", "browsercheck", "check.mjs")); err != nil {
		t.Fatalf("reporoot.Dir() = %s: %v", root, err)
	}
}

func TestReadability(t *testing.T) {
	// One width (and the run without JavaScript): TestProblemsReadability
	// covers the widths the rules apply at.
	res := Check(t, writePage(t, "readability.html", readabilityPage), Options{Widths: []int{400}})
	if len(res.Runs) != 2 {
		t.Fatalf("got %d runs, want 2", len(res.Runs))
	}
	for _, r := range res.Runs {
		if r.NarrowCellCount != 1 || len(r.NarrowCells) != 1 {
			t.Errorf("%s: narrowCells = %+v (count %d), want the crushed cell only", r.Label(), r.NarrowCells, r.NarrowCellCount)
		} else if c := r.NarrowCells[0]; c.Text != "/a/long/path/name" || c.Table != "Crushed" || c.Chars < 1.5 || c.Chars > 2.5 {
			t.Errorf("%s: narrow cell %+v, want /a/long/path/name, about 2 characters, in Crushed", r.Label(), c)
		}

		got := map[string]float64{}
		for _, st := range r.SmallText {
			got[st.Text] = st.Px
		}
		want := map[string]float64{"svg-label": 3, "tiny-html": 9, "pseudo-label:": 8, "folded-tiny": 9}
		if r.SmallTextCount != len(want) || len(got) != len(want) {
			t.Errorf("%s: smallText = %+v (count %d), want %v", r.Label(), r.SmallText, r.SmallTextCount, want)
		}
		for text, px := range want {
			if g, ok := got[text]; !ok || g < px-0.2 || g > px+0.2 {
				t.Errorf("%s: small text %q at %v px (found: %v), want %v px", r.Label(), text, g, ok, px)
			}
		}

		if r.WideTableCount != 1 || len(r.WideTables) != 1 {
			t.Errorf("%s: wideTables = %+v (count %d), want one", r.Label(), r.WideTables, r.WideTableCount)
		} else if w := r.WideTables[0]; w.Table != "Wide" || w.In != "wrap" || w.Box != 200 || w.Width <= 200 {
			t.Errorf("%s: wide table %+v, want Wide in wrap, box 200", r.Label(), w)
		}
		if r.NamedImages != 1 {
			t.Errorf("%s: namedImages = %d, want 1 (the unnamed one not counted)", r.Label(), r.NamedImages)
		}

		// Small text is a problem at any width, a narrow cell at 400 px.
		p := strings.Join(r.Problems(), "\n")
		if !strings.Contains(p, `text under 11 px: "tiny-html" at 9.0 px`) {
			t.Errorf("%s: problems do not name the small text:\n%s", r.Label(), p)
		}
		if narrow := strings.Contains(p, `"/a/long/path/name"`); narrow != (r.Width <= NarrowWidth) {
			t.Errorf("%s: narrow cell reported %v at width %d:\n%s", r.Label(), narrow, r.Width, p)
		}
		if strings.Contains(p, "Wide") {
			t.Errorf("%s: a wide table is not a problem in itself:\n%s", r.Label(), p)
		}
	}
}

// TestProblemsReadability applies the readability rules to runs made up
// here: the widths they apply at, and the totals past the 20 listed.
func TestProblemsReadability(t *testing.T) {
	cells := []NarrowCell{{Text: "/blog/", Chars: 3.1, Table: "AI crawlers"}}
	small := []SmallText{{Text: "10-29", Px: 5.2}}
	clean := Run{Title: "t", TextLength: 10}
	for _, tc := range []struct {
		name string
		run  func(r *Run)
		want []string
	}{
		{"clean", func(r *Run) {}, nil},
		{"narrow at 400", func(r *Run) { r.Width, r.NarrowCells, r.NarrowCellCount = 400, cells, 1 },
			[]string{`cell under 8 characters wide: "/blog/", 3.1 characters, in table "AI crawlers"`}},
		{"narrow at 320", func(r *Run) { r.Width, r.NarrowCells, r.NarrowCellCount = 320, cells, 25 },
			[]string{`cell under 8 characters wide: "/blog/", 3.1 characters, in table "AI crawlers"`, "cell under 8 characters wide: 24 more"}},
		{"narrow at 401 is fine", func(r *Run) { r.Width, r.NarrowCells, r.NarrowCellCount = 401, cells, 1 }, nil},
		{"narrow at 1400 is fine", func(r *Run) { r.Width, r.NarrowCells, r.NarrowCellCount = 1400, cells, 1 }, nil},
		{"small at 1400", func(r *Run) { r.Width, r.SmallText, r.SmallTextCount = 1400, small, 1 },
			[]string{`text under 11 px: "10-29" at 5.2 px`}},
		{"small at 400, more", func(r *Run) { r.Width, r.SmallText, r.SmallTextCount = 400, small, 3 },
			[]string{`text under 11 px: "10-29" at 5.2 px`, "text under 11 px: 2 more"}},
		{"wide tables are not problems", func(r *Run) {
			r.Width, r.WideTables, r.WideTableCount = 400, []WideTable{{Table: "x", Width: 500, Box: 300}}, 1
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := clean
			tc.run(&r)
			if got := r.Problems(); !slices.Equal(got, tc.want) {
				t.Errorf("Problems() = %q, want %q", got, tc.want)
			}
		})
	}
}
