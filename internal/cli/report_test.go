package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/geoip"
	"github.com/trackless/trackless/internal/geoip/geoiptest"
	"github.com/trackless/trackless/internal/loggen"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// run runs the command line and returns its exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(Env{Args: args, Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

// reportJSON runs report with --json - and returns the JSON without the
// fields that change from run to run.
func reportJSON(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := run(t, append([]string{"report", "--json", "-"}, args...)...)
	if code != 0 {
		t.Fatalf("report %v: exit %d\n%s", args, code, errs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("report %v: %v", args, err)
	}
	delete(m, "generated")
	b, _ := json.MarshalIndent(m, "", " ")
	return string(b)
}

// hourlyFiles writes a generated CloudFront log as CloudFront delivers it:
// per hour, several files (two "edge servers" here, lines dealt alternately,
// so that their times overlap), each with its header.
func hourlyFiles(t *testing.T, dir string, lines int, span time.Duration) []string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := loggen.Write(&buf, loggen.Config{Seed: 11, Lines: lines, Span: span}); err != nil {
		t.Fatal(err)
	}
	var header []string
	files := map[string]*strings.Builder{}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			header = append(header, line)
			continue
		}
		f := strings.SplitN(line, "\t", 3)
		name := fmt.Sprintf("E2GEN.%s-%s.%c", f[0], f[1][:2], 'a'+n%2)
		n++
		if files[name] == nil {
			files[name] = &strings.Builder{}
			files[name].WriteString(strings.Join(header, "\n") + "\n")
		}
		files[name].WriteString(line + "\n")
	}
	var names []string
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, p)
	}
	slices.Sort(names)
	return names
}

// TestReportShuffledRuns feeds hourly files one run at a time in a
// shuffled order, one file twice, into a state directory, and gets
// exactly the report of one pass over all of them.
func TestReportShuffledRuns(t *testing.T) {
	dir := t.TempDir()
	files := hourlyFiles(t, filepath.Join(dir), 6000, 28*time.Hour)
	if len(files) < 50 {
		t.Fatalf("only %d files", len(files))
	}
	onePass := reportJSON(t, dir)
	state := filepath.Join(t.TempDir(), "state")
	order := slices.Clone(files)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	order = append(order, order[3]) // the same file again: nothing changes
	var last string
	for _, f := range order {
		last = reportJSON(t, "--state", state, f)
	}
	if last != onePass {
		t.Errorf("runs in shuffled order differ from one pass:\n%s", firstLineDiff(onePass, last))
	}
	// A report of the state alone, with no input, is the same again.
	if again := reportJSON(t, "--state", state); again != onePass {
		t.Errorf("state alone differs:\n%s", firstLineDiff(onePass, again))
	}
}

func firstLineDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			lo := max(0, i-3)
			return fmt.Sprintf("line %d:\n want %s\n  got %s\n(context: %s)", i+1, la[i], lb[i], strings.Join(la[lo:i], " | "))
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(la), len(lb))
}

// TestReportGrownFile: a file counted, then grown, is counted from where it
// ended: the result is that of the whole file read once.
func TestReportGrownFile(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	if _, err := loggen.Write(&buf, loggen.Config{Seed: 5, Lines: 3000, Span: 6 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	all := buf.Bytes()
	cut := bytes.IndexByte(all[len(all)/2:], '\n') + len(all)/2 + 1
	log := filepath.Join(dir, "access.log")
	os.WriteFile(log, all[:cut], 0o644)
	state := filepath.Join(dir, "state")
	reportJSON(t, "--state", state, log)
	f, _ := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(all[cut:])
	f.Close()
	got := reportJSON(t, "--state", state, log)
	whole := filepath.Join(t.TempDir(), "whole.log")
	os.WriteFile(whole, all, 0o644)
	if want := reportJSON(t, whole); got != want {
		t.Errorf("grown file:\n%s", firstLineDiff(want, got))
	}
}

// TestReportKeepDays keeps the newest days only.
func TestReportKeepDays(t *testing.T) {
	dir := t.TempDir()
	files := hourlyFiles(t, dir, 1500, 70*time.Hour)
	state := filepath.Join(t.TempDir(), "state")
	var out string
	for _, f := range files {
		out = reportJSON(t, "--state", state, "--keep-days", "2", f)
	}
	var r struct {
		Days []struct{ Date string } `json:"days"`
	}
	json.Unmarshal([]byte(out), &r)
	if len(r.Days) != 2 {
		t.Fatalf("%d days kept, want 2: %v", len(r.Days), r.Days)
	}
	last := filepath.Base(files[len(files)-1])[len("E2GEN.") : len("E2GEN.")+10]
	if r.Days[1].Date != last {
		t.Errorf("days %v, want the last to be %s", r.Days, last)
	}
	// An old file added later is left out: its days are gone.
	code, _, errs := run(t, "report", "--state", state, "--keep-days", "2", "--json", os.DevNull, files[0])
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	out = reportJSON(t, "--state", state)
	json.Unmarshal([]byte(out), &r)
	if len(r.Days) != 2 || r.Days[1].Date != last {
		t.Errorf("after an old file: %v", r.Days)
	}
}

// TestReportGolden compares the JSON report of the repository's testdata
// with the golden file (go test ./internal/cli -run Golden -update).
func TestReportGolden(t *testing.T) {
	got := reportJSON(t, "../../testdata") + "\n"
	golden := filepath.Join("testdata", "report-testdata.json")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("report of testdata differs from %s (run with -update if the change is right):\n%s", golden, firstLineDiff(string(want), got))
	}
}

// TestReportBadInput: a damaged file is reported, its complete lines
// counted, and the run exits 1; malformed lines are counted by reason.
func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	good := "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query\n" +
		"2026-11-01\t10:00:00\tAMS1\t100\t192.0.2.1\tGET\td.cloudfront.net\t/\t200\t-\tMozilla/5.0\t-\n" +
		"2026-11-01\tnot-a-time\tAMS1\t100\t192.0.2.1\tGET\td.cloudfront.net\t/\t200\t-\tMozilla/5.0\t-\n"
	p := filepath.Join(dir, "a.log")
	os.WriteFile(p, []byte(good), 0o644)
	gz := filepath.Join(dir, "b.gz")
	os.WriteFile(gz, []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3}, 0o644)
	code, out, errs := run(t, "report", "--json", "-", p, gz)
	if code != ExitUndelivered {
		t.Errorf("exit %d, want %d\n%s", code, ExitUndelivered, errs)
	}
	if !strings.Contains(errs, "b.gz") || !strings.Contains(errs, "a.log") {
		t.Errorf("stderr does not name the damaged input and the malformed line's file:\n%s", errs)
	}
	var r struct {
		Overview struct {
			Requests  int64            `json:"requests"`
			Malformed int64            `json:"malformed_lines"`
			ByReason  map[string]int64 `json:"malformed_by_reason"`
		} `json:"overview"`
	}
	json.Unmarshal([]byte(out), &r)
	if r.Overview.Requests != 1 || r.Overview.Malformed != 1 {
		t.Errorf("overview %+v", r.Overview)
	}
}

// TestReportGeoIP: with --geoip, every visitor is in a country, and the
// countries add up to the visitors.
func TestReportGeoIP(t *testing.T) {
	db := filepath.Join(t.TempDir(), "countries.mmdb")
	geoiptest.Write(t, db, map[string]geoip.Country{
		"0.0.0.0/1": {Code: "NL", Name: "Netherlands"}, "128.0.0.0/1": {Code: "US", Name: "United States"},
		"::/1": {Code: "DE", Name: "Germany"}, "8000::/1": {Code: "JP", Name: "Japan"},
	})
	out := reportJSON(t, "--geoip", db, "../../testdata")
	var r struct {
		Overview  struct{ Visitors int64 } `json:"overview"`
		Countries []struct {
			Name     string
			Visitors int64
		} `json:"countries"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	var sum int64
	names := map[string]bool{}
	for _, c := range r.Countries {
		sum += c.Visitors
		names[c.Name] = true
	}
	if sum != r.Overview.Visitors || !names["NL"] || !names["US"] || names["Unknown"] {
		t.Errorf("countries %+v add up to %d, visitors %d", r.Countries, sum, r.Overview.Visitors)
	}
	if code, _, errs := run(t, "report", "--geoip", filepath.Join(t.TempDir(), "missing.mmdb"), "../../testdata"); code != ExitUsage || !strings.Contains(errs, "missing.mmdb") {
		t.Errorf("a missing database: exit %d, %s", code, errs)
	}
}

// TestReportOfAState: report --state DIR with no input renders the state
// and says what it covers; a path with no state (mistyped) is refused
// (exit 2), not an empty report, and nothing is created there.
func TestReportOfAState(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if code, _, errs := run(t, "report", "--state", state, "../../testdata/cloudfront/"); code != ExitOK {
		t.Fatalf("report --state FILES: exit %d\n%s", code, errs)
	}
	code, _, errs := run(t, "report", "--state", state, "--json", filepath.Join(dir, "r.json"))
	if code != ExitOK || !strings.Contains(errs, "report of the state "+state+": 4 inputs counted, 4 days (") {
		t.Errorf("report --state: exit %d\n%s", code, errs)
	}
	missing := filepath.Join(dir, "stat")
	code, _, errs = run(t, "report", "--state", missing, "-o", filepath.Join(dir, "r.html"))
	if code != ExitUsage || !strings.Contains(errs, "no report state there yet") {
		t.Errorf("report --state MISTYPED: exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a state directory was created at the mistyped path: %v", err)
	}
}
