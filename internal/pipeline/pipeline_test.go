package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/filter"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/loggen"
	"github.com/trackless/trackless/internal/matomo"
	"github.com/trackless/trackless/internal/sites"
)

// okServer answers every batch with success, with random delays, and keeps
// the items in the order they arrived.
type okServer struct {
	mu    sync.Mutex
	items []string
}

func (s *okServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Requests []string `json:"requests"`
	}
	data, _ := io.ReadAll(r.Body)
	json.Unmarshal(data, &body)
	time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
	s.mu.Lock()
	s.items = append(s.items, body.Requests...)
	s.mu.Unlock()
	fmt.Fprintf(w, `{"status":"success","tracked":%d,"invalid":0}`, len(body.Requests))
}

// newOKServer starts an okServer and returns it with a client to it.
func newOKServer(t *testing.T) (*okServer, *matomo.Client) {
	t.Helper()
	srv := &okServer{}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	client, err := matomo.NewClient(ts.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv, client
}

// testLedger opens a ledger in a temporary directory, closed at the end
// of the test.
func testLedger(t *testing.T) *ledger.Ledger {
	t.Helper()
	led, err := ledger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	return led
}

// testNow is the tests' clock: the time of their log lines is fixed, never
// the wall clock, and Options.Now returns it where a run compares a hit's
// age with now (hits sent without a token), so nothing depends on the hour
// or the day the tests run.
var testNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// writeLog writes n lines of visitors v0..v9 in turn, each with a page
// number that grows, an hour before testNow.
func writeLog(t *testing.T, n int) string {
	var b strings.Builder
	b.WriteString("#Fields: date time c-ip cs-method x-host-header cs-protocol cs-uri-stem sc-status cs(User-Agent)\n")
	base := testNow.Add(-time.Hour)
	for i := 0; i < n; i++ {
		ts := base.Add(time.Duration(i) * time.Millisecond)
		fmt.Fprintf(&b, "%s\t%s\t192.0.2.%d\tGET\twww.example.com\thttps\t/page/%d\t200\tAgent%%20v%d%%20ChatGPT-User/1.0\n",
			ts.Format("2006-01-02"), ts.Format("15:04:05"), i%10, i, i%10)
	}
	p := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVisitorOrderAndLedger(t *testing.T) {
	srv, client := newOKServer(t)
	logf := writeLog(t, 5000)
	led, err := ledger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		BatchSize: 7, Concurrency: 4, Client: client, Ledger: led, Now: fixedNow,
	}
	st, err := Run(context.Background(), context.Background(), []string{logf}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sent != 5000 || len(srv.items) != 5000 {
		t.Fatalf("sent %d, received %d", st.Sent, len(srv.items))
	}
	last := map[string]int{}
	for _, it := range srv.items {
		q, _ := url.ParseQuery(it[1:])
		var page int
		fmt.Sscanf(q.Get("url"), "https://www.example.com/page/%d", &page)
		v := q.Get("ua")
		if p, ok := last[v]; ok && page < p {
			t.Fatalf("visitor %q: page %d arrived after page %d", v, page, p)
		}
		last[v] = page
	}
	// The ledger has the input as done; a second run sends nothing.
	st, err = Run(context.Background(), context.Background(), []string{logf}, opt)
	if err != nil || st.InputsSkipped != 1 || st.Sent != 0 || len(srv.items) != 5000 {
		t.Fatalf("second run: %+v, %v", st, err)
	}
	// The file grows: only the new lines are sent.
	f, _ := os.OpenFile(logf, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "%s\t00:00:00\t192.0.2.1\tGET\twww.example.com\thttps\t/new\t200\tChatGPT-User\n", testNow.Format("2006-01-02"))
	f.Close()
	st, err = Run(context.Background(), context.Background(), []string{logf}, opt)
	if err != nil || st.Sent != 1 || len(srv.items) != 5001 {
		t.Fatalf("grown file: sent %d, %v", st.Sent, err)
	}
}

// TestEntryWatermarks checks the per-shard watermarks the ledger records.
func TestEntryWatermarks(t *testing.T) {
	in := &inputState{key: "k"}
	in.track(1, 10)
	in.track(2, 11)
	in.track(1, 12)
	in.advance(20)
	e := in.entry()
	if e.ConfirmedLine != 9 || e.ShardLines[1] != 9 || e.ShardLines[2] != 10 || e.ShardLines[0] != 20 {
		t.Fatalf("before confirmation: %d %v", e.ConfirmedLine, e.ShardLines[:3])
	}
	in.confirm(1, 10)
	e = in.entry()
	if e.ConfirmedLine != 10 || e.ShardLines[1] != 11 {
		t.Fatalf("after 10: %d %v", e.ConfirmedLine, e.ShardLines[:3])
	}
	in.confirm(2, 11)
	// Out of order within a shard: 14 before 13.
	in.track(1, 13)
	in.track(1, 14)
	in.confirm(1, 14)
	if e = in.entry(); e.ShardLines[1] != 11 || !slices.Equal(e.ShardDone[1], []int64{14}) {
		t.Fatalf("14 confirmed before 12 and 13: shard 1 at %d, done above %v; want 11, [14]", e.ShardLines[1], e.ShardDone[1])
	}
	// A restart from that entry skips 14 but not 12 or 13.
	re := &inputState{resume: e.ShardLines, resumeDone: e.ShardDone}
	if !re.delivered(1, 14) || re.delivered(1, 12) || re.delivered(1, 13) || !re.delivered(1, 10) {
		t.Fatal("delivered() does not follow the entry")
	}
	in.confirm(1, 12)
	in.confirm(1, 13)
	in.confirm(1, 13) // twice: no effect
	in.eof, in.lines = true, 20
	if e = in.entry(); !e.Done || e.ConfirmedLine != 20 {
		t.Fatalf("at the end: %+v", e)
	}
}

// TestCombinedLogParse: an Apache log is detected, its path is kept as the
// client sent it (no CloudFront decoding), and the defaults fill the
// scheme and host it lacks.
func TestCombinedLogParse(t *testing.T) {
	p := filepath.Join(t.TempDir(), "access.log")
	ts := testNow.Format("02/Jan/2006:15:04:05 -0700")
	os.WriteFile(p, []byte(`192.0.2.1 - - [`+ts+`] "GET /caf%C3%A9?q=a%2520b HTTP/1.1" 200 512 "-" "Mozilla/5.0 (compatible; ChatGPT-User/1.0)"`+"\n"), 0o600)
	var got []string
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		DefaultScheme: "https", DefaultHost: "www.example.com",
		Emit: func(items [][]byte) error {
			for _, it := range items {
				got = append(got, string(it))
			}
			return nil
		},
	}
	if _, err := Run(context.Background(), context.Background(), []string{p}, opt); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("items %q", got)
	}
	q, _ := url.ParseQuery(got[0][1:])
	if q.Get("url") != "https://www.example.com/caf%C3%A9?q=a%2520b" || q.Get("ua") != "Mozilla/5.0 (compatible; ChatGPT-User/1.0)" {
		t.Errorf("item %s", got[0])
	}
}

// TestFiltersAndSites: the importer's skip rules and host-to-site mapping.
func TestFiltersAndSites(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	now := testNow.Add(-time.Hour)
	var b strings.Builder
	b.WriteString("#Fields: date time c-ip cs-method x-host-header cs-protocol cs-uri-stem cs-uri-query sc-status cs(User-Agent)\n")
	for i, l := range []struct{ host, path, ua string }{
		{"a.example.com", "/x", "Mozilla/5.0 (X11) Firefox/1"},
		{"b.example.com", "/x", "Mozilla/5.0 (X11) Firefox/1"},
		{"unknown.org", "/x", "Mozilla/5.0 (X11) Firefox/1"},
		{"a.example.com", "/admin/y", "Mozilla/5.0 (X11) Firefox/1"},
		{"a.example.com", "/z", "Mozilla/5.0 (X11) SkipMe/1"},
		{"excluded.example.com", "/x", "Mozilla/5.0 (X11) Firefox/1"},
		{"a.example.com", "/q", "Mozilla/5.0 (X11) Firefox/1"}, // not in --include-path
	} {
		ts := now.Add(time.Duration(i) * time.Second)
		fmt.Fprintf(&b, "%s\t%s\t192.0.2.1\tGET\t%s\thttps\t%s\tq=1\t200\t%s\n", ts.Format("2006-01-02"), ts.Format("15:04:05"), l.host, l.path, strings.ReplaceAll(l.ua, " ", "%20"))
	}
	os.WriteFile(p, []byte(b.String()), 0o600)
	var m sites.Map
	m.Add("a.example.com=5")
	m.Add("*.example.com=6")
	admin, _ := filter.Glob("/admin/*")
	notQ, _ := filter.Glob("/[!q]*")
	excluded, _ := filter.Glob("excluded.*")
	var got []string
	opt := Options{
		Encoder: matomo.Encoder{Visits: true}, Classify: classify.Config{Visits: true}, Sites: &m,
		Filter: filter.Filter{ExcludePaths: []*regexp.Regexp{admin}, IncludePaths: []*regexp.Regexp{notQ, admin}, UAExclude: []string{"skipme"}, ExcludeHosts: []*regexp.Regexp{excluded}, StripQuery: true},
		Emit: func(items [][]byte) error {
			for _, it := range items {
				got = append(got, string(it))
			}
			return nil
		},
	}
	st, err := Run(context.Background(), context.Background(), []string{p}, opt)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	if len(got) != 2 || !strings.HasPrefix(got[0], "?idsite=5&") || !strings.HasPrefix(got[1], "?idsite=6&") || strings.Contains(got[0], "q%3D1") {
		t.Fatalf("items %q", got)
	}
	if st.Skipped[SkipNoSite] != 1 || st.UnmappedHosts["unknown.org"] != 1 || st.Skipped[filter.SkipPath] != 2 || st.Skipped[filter.SkipAgent] != 1 || st.Skipped[filter.SkipHost] != 1 {
		t.Errorf("skipped %v, unmapped %v", st.Skipped, st.UnmappedHosts)
	}
}

// TestSplitFilesInAnyOrder: the same log split into files and given in any
// order yields the same requests, in the same order, as the whole file;
// and each visitor's hits are in time order.
func TestSplitFilesInAnyOrder(t *testing.T) {
	dir := t.TempDir()
	var whole bytes.Buffer
	if _, err := loggen.Write(&whole, loggen.Config{Seed: 5, Lines: 30000, Start: time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC), Span: 6 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	wholeFile := filepath.Join(dir, "whole.log")
	os.WriteFile(wholeFile, whole.Bytes(), 0o600)
	lines := strings.SplitAfter(whole.String(), "\n")
	header, body := lines[:2], lines[2:]
	var parts []string
	for i := 0; i < 4; i++ {
		p := filepath.Join(dir, fmt.Sprintf("part%d.log", i))
		chunk := body[i*len(body)/4 : (i+1)*len(body)/4]
		os.WriteFile(p, []byte(strings.Join(append(append([]string{}, header...), chunk...), "")), 0o600)
		parts = append(parts, p)
	}
	run := func(window time.Duration, names ...string) []string {
		var got []string
		opt := Options{
			Encoder: matomo.Encoder{SiteID: 1, Visits: true}, Classify: classify.Config{Visits: true, EnableBots: true, EnableErrors: true, EnableRedirects: true},
			BatchSize: 50, Concurrency: 4, ReorderWindow: window,
			Emit: func(items [][]byte) error {
				got = append(got, fmt.Sprintf("batch of %d", len(items)))
				for _, it := range items {
					got = append(got, string(it))
				}
				return nil
			},
		}
		if _, err := Run(context.Background(), context.Background(), names, opt); err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, window := range []time.Duration{0, 24 * time.Hour} { // the default, and one that holds everything
		want := run(window, wholeFile)
		got := run(window, parts[3], parts[1], parts[0], parts[2])
		if len(want) < 5000 || !slices.Equal(got, want) {
			t.Fatalf("window %v: split files: %d lines of output, whole file: %d; equal: %v", window, len(got), len(want), slices.Equal(got, want))
		}
	}
	// With a window longer than any lateness in the log, every visitor's
	// hits are in time order (the generator makes long downloads minutes late).
	last := map[string]string{}
	for _, it := range run(24*time.Hour, parts[2], parts[0], parts[3], parts[1]) {
		if !strings.HasPrefix(it, "?") {
			continue
		}
		q, _ := url.ParseQuery(it[1:])
		v := q.Get("cip") + "|" + q.Get("ua")
		if prev, ok := last[v]; ok && q.Get("cdt") < prev {
			t.Fatalf("visitor %s: %s after %s", v, q.Get("cdt"), prev)
		}
		last[v] = q.Get("cdt")
	}
}

// TestInvalidUTF8: bytes of another charset do not stop or break a run;
// they are counted, and escaped in what is sent.
func TestInvalidUTF8(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gbk.log")
	ts := testNow.Format("02/Jan/2006:15:04:05 -0700")
	os.WriteFile(p, []byte("192.0.2.1 - - ["+ts+"] \"GET /\xc4\xe3\xba\xc3 HTTP/1.1\" 200 5 \"-\" \"ChatGPT-User \xff\"\n"), 0o600)
	var got []string
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1}, DefaultScheme: "https", DefaultHost: "e.com",
		Emit: func(items [][]byte) error {
			for _, it := range items {
				got = append(got, string(it))
			}
			return nil
		},
	}
	st, err := Run(context.Background(), context.Background(), []string{p}, opt)
	if err != nil || st.InvalidUTF8 != 1 || len(got) != 1 {
		t.Fatalf("%v, %+v, %q", err, st, got)
	}
	q, _ := url.ParseQuery(got[0][1:])
	if q.Get("url") != "https://e.com/%C4%E3%BA%C3" || q.Get("ua") != "ChatGPT-User \xff" {
		t.Errorf("item %s", got[0])
	}
}
