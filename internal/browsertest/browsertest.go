// Package browsertest opens an HTML file in real headless Chromium, through
// tools/browsercheck/check.mjs (playwright-core driving Debian's
// /usr/bin/chromium), and returns what the page did: the requests it made
// (every non-file: one is aborted, so the page never reaches the network),
// console errors and page errors, horizontal overflow per viewport width,
// readability (table cells too narrow for their text, text under 11 px,
// tables that scroll sideways) and a few DOM facts, each with colour
// scheme light and/or dark and once more with JavaScript disabled.
//
// It needs node (>= 20), chromium and tools/browsercheck/node_modules. When one is
// missing the test is skipped, unless CI=true, when it fails. To install:
//
//	apt-get install -y --no-install-recommends chromium fonts-liberation
//	(cd tools/browsercheck && npm ci)
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/reporoot"
)

// Result mirrors check.mjs's output.
type Result struct {
	Runs []Run `json:"runs"`
}

// Run is one page load: one viewport width (height 900) and colour scheme,
// with or without JavaScript. See tools/browsercheck/check.mjs for the exact
// meaning of every field.
type Run struct {
	Width       int    `json:"width"`
	ColorScheme string `json:"colorScheme"`
	JSDisabled  bool   `json:"jsDisabled"`
	// Requests lists every request URL but the file itself and data:/blob:
	// URLs; all but file: ones were aborted.
	Requests []string `json:"requests"`
	// DataRequests lists data: and blob: URLs, each cut to 120 characters.
	DataRequests []string `json:"dataRequests"`
	// FailedRequests are "URL (net::ERR_...)", the aborted ones included.
	FailedRequests []string `json:"failedRequests"`
	// ConsoleErrors are "[error] text (url:line)", "[warning] ...",
	// "[pageerror] message" and, should the load never complete,
	// "[load] ...".
	ConsoleErrors []string `json:"consoleErrors"`
	// HorizontalOverflow is ScrollWidth > window.innerWidth + 1.
	HorizontalOverflow bool   `json:"horizontalOverflow"`
	ScrollWidth        int    `json:"scrollWidth"`
	Title              string `json:"title"`
	// TextLength is document.body.innerText.length.
	TextLength int `json:"textLength"`
	// SVGCount counts outermost inline <svg> elements.
	SVGCount int `json:"svgCount"`
	// TablesWithoutDefinition counts data tables with neither a caption
	// nor a definition (the rule is in check.mjs, measure()).
	TablesWithoutDefinition int `json:"tablesWithoutCaptionOrDefinition"`
	// NamedImages counts elements with role="img" and an accessible name
	// (aria-label or aria-labelledby): the charts.
	NamedImages int `json:"namedImages"`
	// NarrowCells are table cells narrower than MinCellChars characters
	// whose text does not fit in them (check.mjs's narrowCellRule), at
	// most 20; NarrowCellCount is how many there are in all. Measured with
	// every <details> open, as are SmallText and WideTables.
	NarrowCells     []NarrowCell `json:"narrowCells"`
	NarrowCellCount int          `json:"narrowCellCount"`
	// SmallText is rendered text, SVG <text> and ::before/::after content
	// included, under MinTextPx CSS px (check.mjs's smallTextRule), at
	// most 20; SmallTextCount is how many text nodes there are in all.
	SmallText      []SmallText `json:"smallText"`
	SmallTextCount int         `json:"smallTextCount"`
	// WideTables are tables wider than the box they scroll in (check.mjs's
	// wideTableRule), at most 20; WideTableCount is how many in all. Not a
	// problem in itself: callers say which tables must fit.
	WideTables     []WideTable `json:"wideTables"`
	WideTableCount int         `json:"wideTableCount"`
	// Screenshot is the full-page PNG's path, or "" without ScreenshotDir.
	Screenshot string `json:"screenshot"`
}

// NarrowCell is a table cell too narrow for its text.
type NarrowCell struct {
	// Text is the cell's text, white space collapsed, cut to 40 characters.
	Text string `json:"text"`
	// Chars is the content-box width in widths of "0" (ch) of its font.
	Chars float64 `json:"chars"`
	// Table names the table: its caption, else an id.
	Table string `json:"table"`
}

// SmallText is text rendered under MinTextPx.
type SmallText struct {
	Text string `json:"text"`
	// Px is the rendered font size in CSS px (for SVG text, times the
	// SVG's scale).
	Px float64 `json:"px"`
}

// WideTable is a table its reader has to scroll sideways.
type WideTable struct {
	// Table names the table: its caption, else an id.
	Table string `json:"table"`
	// In is the id of the closest ancestor with an id ("" if none).
	In string `json:"in"`
	// Width is the table's width, Box the width it scrolls in, in CSS px.
	Width int `json:"width"`
	Box   int `json:"box"`
}

// Readability limits that Problems applies; check.mjs measures with the
// same ones.
const (
	// MinCellChars: a table cell must be at least this many characters
	// wide (or its text must fit in it) at widths up to NarrowWidth.
	MinCellChars = 8
	// MinTextPx: no text may render under this size, at any width.
	MinTextPx = 11
	// NarrowWidth is the viewport width (CSS px) at and under which the
	// MinCellChars rule applies: phones.
	NarrowWidth = 400
)

// Options selects the runs. Zero values take check.mjs's defaults: widths
// 1400 and 400, colour scheme light.
type Options struct {
	Widths []int
	// ColorSchemes holds "light" and/or "dark".
	ColorSchemes []string
	// ScreenshotDir, when set, receives report-WIDTH-SCHEME[-nojs].png.
	ScreenshotDir string
}

// Label names the run in messages, as "400px dark" or "1400px light, no JS".
func (r Run) Label() string {
	s := fmt.Sprintf("%dpx %s", r.Width, r.ColorScheme)
	if r.JSDisabled {
		s += ", no JS"
	}
	return s
}

// Problems lists what makes the run not a self-contained, working,
// readable page: any request other than data:/blob:, any failed request,
// console error or warning or page error, horizontal overflow, a table
// without caption or definition, an empty title or an empty body text;
// text rendered under MinTextPx (11 px) at any width; and, at widths up to
// NarrowWidth (400 px), a table cell narrower than MinCellChars (8)
// characters that its text does not fit in (at 1400 px such a cell is a
// matter of taste; on a phone it is text crushed to a few letters a line).
// Nil when clean.
func (r Run) Problems() []string {
	var p []string
	for _, u := range r.Requests {
		p = append(p, "request: "+u)
	}
	for _, f := range r.FailedRequests {
		p = append(p, "failed request: "+f)
	}
	for _, c := range r.ConsoleErrors {
		p = append(p, "console: "+c)
	}
	if r.HorizontalOverflow {
		p = append(p, fmt.Sprintf("horizontal overflow: scrollWidth %d at width %d", r.ScrollWidth, r.Width))
	}
	if r.TablesWithoutDefinition > 0 {
		p = append(p, fmt.Sprintf("%d table(s) without caption or definition", r.TablesWithoutDefinition))
	}
	for _, t := range r.SmallText {
		p = append(p, fmt.Sprintf("text under %d px: %q at %.1f px", MinTextPx, t.Text, t.Px))
	}
	if more := r.SmallTextCount - len(r.SmallText); more > 0 {
		p = append(p, fmt.Sprintf("text under %d px: %d more", MinTextPx, more))
	}
	if r.Width <= NarrowWidth {
		for _, c := range r.NarrowCells {
			p = append(p, fmt.Sprintf("cell under %d characters wide: %q, %.1f characters, in table %q", MinCellChars, c.Text, c.Chars, c.Table))
		}
		if more := r.NarrowCellCount - len(r.NarrowCells); more > 0 {
			p = append(p, fmt.Sprintf("cell under %d characters wide: %d more", MinCellChars, more))
		}
	}
	if strings.TrimSpace(r.Title) == "" {
		p = append(p, "empty title")
	}
	if r.TextLength == 0 {
		p = append(p, "no body text")
	}
	return p
}

// timeout bounds one check.mjs invocation; a normal one takes seconds.
const timeout = 5 * time.Minute

// Check runs check.mjs on htmlPath. It skips the test (t.Skip with the
// reason) when chromium, node or tools/browsercheck/node_modules are
// missing, unless the environment variable CI is "true", in which case it
// fails (t.Fatal) with the reason and how to install. Any other failure to
// run the checks (the browser does not start, the page never loads) fails
// the test. Problems of the page itself are in the Result, for the caller
// to judge.
func Check(t testing.TB, htmlPath string, opts Options) Result {
	t.Helper()
	root, err := reporoot.Dir()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	dir := filepath.Join(root, "tools", "browsercheck")
	script := filepath.Join(dir, "check.mjs")
	if _, err := os.Stat(script); err != nil {
		t.Fatalf("browsertest: %v", err)
	}

	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, dir, "node is not on PATH")
	}
	chromium := os.Getenv("BROWSERCHECK_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if st, err := os.Stat(chromium); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		unavailable(t, dir, "no chromium executable at "+chromium)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err != nil {
		unavailable(t, dir, "playwright-core is not installed in "+filepath.Join(dir, "node_modules"))
	}

	abs, err := filepath.Abs(htmlPath)
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	args := []string{script, "--html", abs}
	if len(opts.Widths) > 0 {
		ws := make([]string, len(opts.Widths))
		for i, w := range opts.Widths {
			ws[i] = strconv.Itoa(w)
		}
		args = append(args, "--widths", strings.Join(ws, ","))
	}
	if len(opts.ColorSchemes) > 0 {
		for _, s := range opts.ColorSchemes {
			if s != "light" && s != "dark" {
				t.Fatalf("browsertest: color scheme %q: want light or dark", s)
			}
		}
		args = append(args, "--color-scheme", strings.Join(opts.ColorSchemes, ","))
	}
	if opts.ScreenshotDir != "" {
		args = append(args, "--screenshot-dir", opts.ScreenshotDir)
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "BROWSERCHECK_CHROMIUM="+chromium)
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err != nil {
		var exit *exec.ExitError
		code := -1
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		}
		why := map[int]string{
			1: "the checks could not complete",
			2: "usage error",
			3: "the browser could not start",
		}[code]
		if ctx.Err() != nil {
			why = "timed out after " + timeout.String()
		}
		t.Fatalf("browsertest: node check.mjs on %s: %v (%s)\nstderr:\n%s", abs, err, why, stderr.String())
	}

	var res Result
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields() // keeps check.mjs and Run in step
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("browsertest: decoding check.mjs output: %v\nstderr:\n%s", err, stderr.String())
	}
	if len(res.Runs) == 0 {
		t.Fatalf("browsertest: check.mjs reported no runs\nstderr:\n%s", stderr.String())
	}
	return res
}

// unavailable skips the test, or under CI=true fails it, with the reason
// and how to install what is missing; dir is tools/browsercheck.
func unavailable(t testing.TB, dir, reason string) {
	t.Helper()
	install := "install with: apt-get install -y --no-install-recommends chromium fonts-liberation; " +
		"node >= 20 and npm; (cd " + dir + " && npm ci)"
	if os.Getenv("CI") == "true" {
		t.Fatalf("browsertest: %s; %s", reason, install)
	}
	t.Skipf("browsertest: %s (%s)", reason, install)
}
