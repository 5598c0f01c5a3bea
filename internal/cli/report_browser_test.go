package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/trackless/trackless/internal/browsertest"
)

// TestReportInChromium opens the HTML report of the repository's testdata
// in real headless Chromium at 1400 and 400 px, light and dark, and with
// JavaScript off: it renders its charts, requests nothing, logs no error,
// does not overflow the width, and every table says what it counts.
// TRACKLESS_SCREENSHOTS=DIR keeps the screenshots.
func TestReportInChromium(t *testing.T) {
	dir := t.TempDir()
	html := filepath.Join(dir, "report.html")
	if code, _, errs := run(t, "report", "-o", html, "../../testdata"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
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
		if r.SVGCount < 8 {
			t.Errorf("%s: %d inline SVG charts, want at least 8", r.Label(), r.SVGCount)
		}
		if r.TextLength < 5000 {
			t.Errorf("%s: only %d characters of text", r.Label(), r.TextLength)
		}
	}
}
