package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/matomo"
	"github.com/trackless/trackless/internal/sites"
)

// bulkItems reads the items of a bulk request.
func bulkItems(r *http.Request) []string {
	var body struct {
		Requests []string `json:"requests"`
	}
	data, _ := io.ReadAll(r.Body)
	json.Unmarshal(data, &body)
	return body.Requests
}

func answer(w http.ResponseWriter, n int) {
	fmt.Fprintf(w, `{"status":"success","tracked":%d,"invalid":0}`, n)
}

// TestInFlightShrinks: a Matomo that handles one batch at a time answers
// more slowly the more batches are in flight; trackless lowers the batches
// it keeps in flight instead of pushing Matomo into timeouts.
//
// The limiter is driven by a simulated Matomo on a simulated clock, so the
// figures do not depend on how busy the machine running the test is.
func TestInFlightShrinks(t *testing.T) {
	const (
		batches = 200
		hits    = 20
		service = 15 * time.Millisecond // Matomo's one worker, per batch
	)
	l := newLimiter(4)
	l.minSlow = time.Millisecond
	type sent struct{ at time.Duration }
	var queue []sent // in flight, in the order Matomo handles them
	var now, free time.Duration
	var late []int // batches in flight when each of the second half was sent
	for n := 0; n < batches || len(queue) > 0; {
		for n < batches && l.inflight < l.limit {
			if !l.acquire(context.Background()) {
				t.Fatal("acquire failed")
			}
			queue = append(queue, sent{now})
			n++
			if n > batches/2 {
				late = append(late, l.inflight)
			}
		}
		// Matomo answers the oldest batch: it starts when the worker is
		// free and the batch has arrived.
		b := queue[0]
		queue = queue[1:]
		free = max(free, b.at) + service
		now = free
		l.release(answerOK, hits, now-b.at)
	}
	sum := 0
	for _, n := range late {
		sum += n
	}
	mean := float64(sum) / float64(len(late))
	limit, peak := l.current()
	t.Logf("peak %d, bound at the end %d, mean in flight in the second half %.2f", peak, limit, mean)
	// Without adapting, 4 are always in flight. Adapting, it probes one
	// more now and then (additive increase), so the mean is the measure.
	if peak != 4 || limit > 2 || mean > 2.5 {
		t.Errorf("peak %d, bound at the end %d, mean in flight %.2f; want 4 at first, then at most 2 against a one-worker Matomo", peak, limit, mean)
	}
}

// TestInFlightAgainstOneWorker: the same through HTTP, the whole pipeline
// against a one-worker server; how far the bound falls depends on the
// machine's timing, so only delivery is asserted.
func TestInFlightAgainstOneWorker(t *testing.T) {
	var mu sync.Mutex // Matomo's single worker
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		items := bulkItems(r)
		mu.Lock()
		time.Sleep(5 * time.Millisecond)
		mu.Unlock()
		answer(w, len(items))
	}))
	defer ts.Close()
	client, err := matomo.NewClient(ts.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		BatchSize: 20, Concurrency: 4, Client: client, Now: fixedNow, slowAnswer: time.Millisecond,
	}
	st, err := Run(context.Background(), context.Background(), []string{manyVisitorsLog(t, 600)}, opt)
	if err != nil || st.Sent != 600 {
		t.Fatalf("sent %d, %v", st.Sent, err)
	}
	t.Logf("peak %d, bound at the end %d", st.PeakInFlight, st.FinalInFlight)
}

// visitorLog writes n lines of 97 visitors in turn (so that every worker
// has batches to send), from start, step apart; line i is a request of
// host(i) by user agent ua(i) (percent-encoded, as CloudFront logs it).
func visitorLog(t *testing.T, n int, start time.Time, step time.Duration, host, ua func(i int) string) string {
	var b strings.Builder
	b.WriteString("#Fields: date time c-ip cs-method x-host-header cs-protocol cs-uri-stem sc-status cs(User-Agent)\n")
	for i := 0; i < n; i++ {
		ts := start.Add(time.Duration(i) * step)
		v := i % 97
		fmt.Fprintf(&b, "%s\t%s\t198.51.%d.%d\tGET\t%s\thttps\t/page/%d\t200\t%s\n",
			ts.Format("2006-01-02"), ts.Format("15:04:05"), v/7, (v*37)%251, host(i), i, ua(i))
	}
	p := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// manyVisitorsLog: AI-assistant requests of one host, a second apart.
func manyVisitorsLog(t *testing.T, n int) string {
	return visitorLog(t, n, testNow.Add(-time.Hour), time.Second,
		func(int) string { return "www.example.com" },
		func(i int) string { return fmt.Sprintf("Agent%%20v%d%%20ChatGPT-User/1.0", i%97) })
}

// multiDayLog: two hours across midnight, two hosts, a bot every fifth line.
func multiDayLog(t *testing.T, n int) string {
	return visitorLog(t, n, time.Date(2026, 11, 1, 23, 0, 0, 0, time.UTC), 2*time.Hour/time.Duration(n),
		func(i int) string { return []string{"a.example.com", "b.example.com"}[i%2] },
		func(i int) string {
			if i%5 == 0 {
				return "Googlebot/2.1"
			}
			return fmt.Sprintf("Mozilla/5.0%%20(X11;%%20Linux%%20x86_64)%%20Firefox/%d.0", 100+i%97)
		})
}

// TestFirstBatchOfADayAlone: the first batch of each site and day is
// answered before another batch of that site and day is sent (Matomo
// creates the day's visitor salt in it; two at once split visits).
func TestFirstBatchOfADayAlone(t *testing.T) {
	var mu sync.Mutex
	inflight := map[string]int{}
	answered := map[string]bool{}
	var violations []string
	peak, cur := 0, 0
	paris, _ := time.LoadLocation("Europe/Paris")
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		items := bulkItems(r)
		keys := map[string]bool{}
		for _, it := range items {
			q, _ := url.ParseQuery(it[1:])
			if strings.Contains(q.Get("ua"), "bot") {
				continue // no visit, no salt
			}
			cdt, _ := time.Parse("2006-01-02 15:04:05", q.Get("cdt"))
			loc := time.UTC
			if q.Get("idsite") == "2" {
				loc = paris
			}
			keys[q.Get("idsite")+" "+cdt.In(loc).Format("2006-01-02")] = true
		}
		mu.Lock()
		for k := range keys {
			if !answered[k] && inflight[k] > 0 {
				violations = append(violations, k)
			}
			inflight[k]++
		}
		cur++
		peak = max(peak, cur)
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		for k := range keys {
			inflight[k]--
			answered[k] = true
		}
		cur--
		mu.Unlock()
		answer(w, len(items))
	}))
	defer ts.Close()
	client, err := matomo.NewClient(ts.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 2}, Classify: classify.Config{RecMode: 2},
		BatchSize: 10, Concurrency: 4, Client: client, Now: fixedNow,
		Sites: mustSites(t, "b.example.com=2"),
		SiteInfo: func(id int) (matomo.Site, error) {
			return matomo.Site{ID: id, MainURL: "https://x.example", Timezone: map[int]string{1: "UTC", 2: "Europe/Paris"}[id]}, nil
		},
		HasToken: true,
	}
	st, err := Run(context.Background(), context.Background(), []string{multiDayLog(t, 2000)}, opt)
	if err != nil || st.Sent != 2000 {
		t.Fatalf("sent %d, %v", st.Sent, err)
	}
	if len(violations) > 0 {
		t.Errorf("a batch of a new site and day went out with its first: %v", violations)
	}
	if peak < 2 {
		t.Errorf("peak of %d in flight: the test tests nothing", peak)
	}
}

// TestDaysCarryOver: with Options.Days, the days a run opened (their
// first batch answered) are open for the next run of the process (send
// --follow's rounds): its first batch of such a day does not go alone.
func TestDaysCarryOver(t *testing.T) {
	_, client := newOKServer(t)
	days := NewDays()
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 2}, Classify: classify.Config{RecMode: 2},
		BatchSize: 10, Concurrency: 4, Client: client, Now: fixedNow, HasToken: true, Days: days,
		SiteInfo: func(id int) (matomo.Site, error) {
			return matomo.Site{ID: id, MainURL: "https://x.example", Timezone: "UTC"}, nil
		},
	}
	if _, err := Run(context.Background(), context.Background(), []string{multiDayLog(t, 200)}, opt); err != nil {
		t.Fatal(err)
	}
	days.gate.mu.Lock()
	open := 0
	for _, st := range days.gate.state {
		if st == gateOpen {
			open++
		}
	}
	days.gate.mu.Unlock()
	if open == 0 {
		t.Fatal("no day open after a run")
	}
	// What the next run's first batch of those days would wait for.
	var keys []dayKey
	for k := range days.gate.state {
		keys = append(keys, k)
	}
	if owned, ok := days.gate.enter(context.Background(), keys); !ok || len(owned) != 0 {
		t.Errorf("the next run's first batch goes alone again for %v", owned)
	}
}

func TestDaysOf(t *testing.T) {
	at := time.Date(2026, 11, 1, 23, 30, 0, 0, time.UTC)
	paris, _ := time.LoadLocation("Europe/Paris")
	if k := daysOf(3, at, paris, nil); len(k) != 1 || k[0].day != dayNumber(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Paris: %v", k)
	}
	// Unknown zone: every day the local day can be.
	k := daysOf(3, at, nil, nil)
	if len(k) != 2 || k[0].day != dayNumber(at) || k[1].day != dayNumber(at)+1 {
		t.Errorf("unknown zone: %v", k)
	}
}

// TestOutageStops: Matomo unreachable for longer than MaxOutage stops the
// run, dead-letters nothing and confirms nothing; the next run sends every
// hit once.
func TestOutageStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client, err := matomo.NewClient("http://"+addr, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	client.MaxOutage, client.Backoff = 100*time.Millisecond, 10*time.Millisecond
	dir := t.TempDir()
	led, err := ledger.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	dl := NewRecorder(filepath.Join(dir, "dl.jsonl"))
	logf := writeLog(t, 500)
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		BatchSize: 50, Concurrency: 4, Client: client, Ledger: led, DeadLetter: dl, InDoubt: dl, Now: fixedNow,
	}
	st, err := Run(context.Background(), context.Background(), []string{logf}, opt)
	var oe *OutageError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v, want an outage", err)
	}
	if st.DeadLettered != 0 || st.InDoubt != 0 || dl.PathIfUsed() != "" || st.Sent != 0 || st.NotSent == 0 {
		t.Fatalf("stats %+v", st)
	}
	srv := &okServer{}
	ts := httptest.NewUnstartedServer(srv)
	ts.Listener.Close()
	if ts.Listener, err = net.Listen("tcp", addr); err != nil {
		t.Skip("port taken meanwhile:", err)
	}
	ts.Start()
	defer ts.Close()
	st, err = Run(context.Background(), context.Background(), []string{logf}, opt)
	if err != nil || st.Sent != 500 || len(srv.items) != 500 {
		t.Fatalf("second run: sent %d, received %d, %v", st.Sent, len(srv.items), err)
	}
}

// TestStopLeavesBatches: once the reading context ends (an interrupt), no
// batch is started and none is dead-lettered: their lines stay for the
// next run.
func TestStopLeavesBatches(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n int
	var mu sync.Mutex
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		items := bulkItems(r)
		mu.Lock()
		n++
		if n == 3 {
			cancel()
		}
		mu.Unlock()
		answer(w, len(items))
	}))
	defer ts.Close()
	client, _ := matomo.NewClient(ts.URL, "", nil)
	dir := t.TempDir()
	dl := NewRecorder(filepath.Join(dir, "dl.jsonl"))
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		BatchSize: 10, Concurrency: 1, Client: client, DeadLetter: dl, InDoubt: dl, Now: fixedNow,
	}
	st, err := Run(ctx, context.Background(), []string{writeLog(t, 2000)}, opt)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
	if st.DeadLettered != 0 || dl.PathIfUsed() != "" || st.Sent > 40 {
		t.Fatalf("after the stop: %+v", st)
	}
}

func mustSites(t *testing.T, rules ...string) *sites.Map {
	t.Helper()
	m := &sites.Map{}
	for _, r := range rules {
		if err := m.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// TestSchemeHostFromSite: a log without scheme or host gets those of the
// main URL of the site in Matomo (as Matomo's importer does); the flags
// win; without Matomo, the scheme is https (counted) and a missing host
// stops the run before anything is emitted.
func TestSchemeHostFromSite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "access.log")
	ts := testNow.Format("02/Jan/2006:15:04:05 -0700")
	os.WriteFile(p, []byte(`192.0.2.1 - - [`+ts+`] "GET /a HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"`+"\n"), 0o600)
	info := func(id int) (matomo.Site, error) {
		return matomo.Site{ID: id, MainURL: "http://www.example.org/", Timezone: "UTC"}, nil
	}
	for _, tt := range []struct {
		name                  string
		siteInfo              func(int) (matomo.Site, error)
		defScheme, defHost    string
		want                  string
		wantErr               error
		wantDefaulted, wantSU bool
	}{
		{name: "from Matomo", siteInfo: info, want: "http://www.example.org/a", wantSU: true},
		{name: "flags win", siteInfo: info, defScheme: "https", defHost: "e.com", want: "https://e.com/a"},
		{name: "host flag, scheme from Matomo", siteInfo: info, defHost: "e.com", want: "http://e.com/a", wantSU: true},
		{name: "no Matomo: https", defHost: "e.com", want: "https://e.com/a", wantDefaulted: true},
		{name: "Matomo fails: https", siteInfo: func(int) (matomo.Site, error) { return matomo.Site{}, errors.New("down") }, defHost: "e.com", want: "https://e.com/a", wantDefaulted: true},
		{name: "no host at all", wantErr: ErrNoHost},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			opt := Options{
				Encoder: matomo.Encoder{SiteID: 1, Visits: true}, Classify: classify.Config{Visits: true},
				DefaultScheme: tt.defScheme, DefaultHost: tt.defHost, SiteInfo: tt.siteInfo,
				Emit: func(items [][]byte) error {
					for _, it := range items {
						got = append(got, string(it))
					}
					return nil
				},
			}
			st, err := Run(context.Background(), context.Background(), []string{p}, opt)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || len(got) != 0 || !strings.Contains(err.Error(), "--default-host") {
					t.Fatalf("error %v, items %q", err, got)
				}
				return
			}
			if err != nil || len(got) != 1 {
				t.Fatalf("error %v, items %q", err, got)
			}
			q, _ := url.ParseQuery(got[0][1:])
			if q.Get("url") != tt.want || (st.SchemeDefaulted > 0) != tt.wantDefaulted || (len(st.SiteURLs) > 0) != tt.wantSU {
				t.Errorf("url %q (want %q), defaulted %d, site URLs %v", q.Get("url"), tt.want, st.SchemeDefaulted, st.SiteURLs)
			}
		})
	}
}

// TestImpossibleLedgerEntry: an entry that says lines were delivered that
// the input does not have (a shorter file that starts the same took its
// place) is reported, and nothing of the input is sent or marked done.
func TestImpossibleLedgerEntry(t *testing.T) {
	srv := &okServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client, _ := matomo.NewClient(ts.URL, "", nil)
	logf := writeLog(t, 50)
	dir := t.TempDir()
	led, err := ledger.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	in, err := input.Open(logf)
	if err != nil {
		t.Fatal(err)
	}
	id := *in.Identity
	in.Close()
	if err := led.Put(context.Background(), id.Key(), &ledger.Entry{Name: logf, Identity: id, ConfirmedLine: 5000}); err != nil {
		t.Fatal(err)
	}
	opt := Options{
		Encoder: matomo.Encoder{SiteID: 1, RecMode: 1}, Classify: classify.Config{RecMode: 1},
		Client: client, Ledger: led, Now: fixedNow,
	}
	st, err := Run(context.Background(), context.Background(), []string{logf}, opt)
	if err != nil || len(st.InputsDamaged) != 1 || !strings.Contains(st.InputsDamaged[0], "line 5000") || len(srv.items) != 0 {
		t.Fatalf("stats %+v, error %v, %d sent", st, err, len(srv.items))
	}
	if e, _ := led.Get(context.Background(), id.Key()); e == nil || e.Done || e.Failed == "" {
		t.Fatalf("entry %+v: must stay not done, with the reason", e)
	}
}
