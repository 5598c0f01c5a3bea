package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trackless/trackless/internal/browsertest"
)

// TestReportInChromium opens the HTML report of the repository's testdata
// (two days of it compared with the two before, in a time zone, with the
// query parameters of an API path: every panel) in real headless Chromium
// at 1400 and 400 px, light and dark, and with JavaScript off: it renders its charts, requests nothing, logs no error,
// does not overflow the width, and every table says what it counts; no
// text is under 11 px, and at 400 px no table cell is too narrow for its
// text (browsertest's Problems) and the AI tables stack.
// TRACKLESS_SCREENSHOTS=DIR keeps the screenshots.
func TestReportInChromium(t *testing.T) {
	dir := t.TempDir()
	html := filepath.Join(dir, "report.html")
	if code, _, errs := run(t, "report", "-o", html, "--timezone", "Europe/Paris", "--from", "2026-10-31", "--to", "2026-11-01", "--params", "/api/v1/items", "../../testdata"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	page, _ := os.ReadFile(html)
	for _, id := range []string{`id="compare"`, `id="files"`, `id="params"`, "Months as a table"} {
		if !strings.Contains(string(page), id) {
			t.Fatalf("the page lacks %s: the browser would not check it", id)
		}
	}
	res := browsertest.Check(t, html, browsertest.Options{
		Widths: []int{1400, 400}, ColorSchemes: []string{"light", "dark"}, ScreenshotDir: os.Getenv("TRACKLESS_SCREENSHOTS"),
	})
	if len(res.Runs) != 5 {
		t.Fatalf("%d runs, want 5 (2 widths × 2 schemes, and JavaScript off)", len(res.Runs))
	}
	for _, r := range res.Runs {
		for _, p := range r.Problems() {
			t.Errorf("%s: %s", r.Label(), p)
		}
		if r.NamedImages < 8 {
			t.Errorf("%s: %d charts (role=img with a name), want at least 8", r.Label(), r.NamedImages)
		}
		// The AI tables stack on a phone: Top pages gets the full width,
		// not a sliver at the edge of a table to scroll sideways.
		for _, w := range r.WideTables {
			if w.In == "ai" && r.Width <= browsertest.NarrowWidth {
				t.Errorf("%s: AI table %q is %d px wide in %d px: it should stack", r.Label(), w.Table, w.Width, w.Box)
			}
		}
		if r.TextLength < 5000 {
			t.Errorf("%s: only %d characters of text", r.Label(), r.TextLength)
		}
	}
}

// TestReportIndexInChromium: the index page of a report by host, at 1400
// and 400 px, is as clean as a report's page.
func TestReportIndexInChromium(t *testing.T) {
	dir := t.TempDir()
	html := filepath.Join(dir, "index.html")
	if code, _, errs := run(t, "report", "--by-host", "--from", "2026-10-26", "--to", "2026-11-01", "-o", html, sitesLog); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	res := browsertest.Check(t, html, browsertest.Options{Widths: []int{1400, 400}, ColorSchemes: []string{"light"}})
	for _, r := range res.Runs {
		for _, p := range r.Problems() {
			t.Errorf("%s: %s", r.Label(), p)
		}
	}
}
