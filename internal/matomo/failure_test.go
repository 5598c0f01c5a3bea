package matomo

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/matomo/matomotest"
)

// refusedURL returns the URL of a port where nothing listens.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestOutageNotStored: a refused connection proves nothing was stored: the
// batch is sent again for MaxOutage, then Send gives up with a
// *NotStoredError that says how long it failed.
func TestOutageNotStored(t *testing.T) {
	c, waits := testClient(t, refusedURL(t), testToken)
	c.MaxOutage = time.Minute
	_, err := c.Send(context.Background(), context.Background(), items(3))
	var ns *NotStoredError
	if !errors.As(err, &ns) || ns.Stopped || ns.Outage < time.Minute {
		t.Fatalf("error %v (%T), want a NotStoredError after a minute", err, err)
	}
	if !strings.Contains(ns.Error(), "connection refused") || len(*waits) < 3 {
		t.Errorf("error %q after %d waits", ns, len(*waits))
	}
}

// TestStopEndsRetries: when the retry context ends, Send stops waiting at
// once and says the batch was not sent.
func TestStopEndsRetries(t *testing.T) {
	c, err := NewClient(refusedURL(t), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Backoff = time.Hour // only the stop can end the wait
	retry, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	done := make(chan error, 1)
	go func() {
		_, err := c.Send(context.Background(), retry, items(2))
		done <- err
	}()
	select {
	case err := <-done:
		var ns *NotStoredError
		if !errors.As(err, &ns) || !ns.Stopped {
			t.Fatalf("error %v, want a stopped NotStoredError", err)
		}
	case <-time.After(30 * time.Second): // a generous bound: it must not hang
		t.Fatal("Send did not stop")
	}
}

// TestTimeoutInDoubt: a batch sent and not answered within the timeout may
// be stored by Matomo (it went on): it is never sent a second time.
func TestTimeoutInDoubt(t *testing.T) {
	srv := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{testToken}})
	defer srv.Close()
	srv.Script(matomotest.Fault{Kind: matomotest.FaultSlow, Delay: 300 * time.Millisecond})
	c, _ := testClient(t, srv.URL(), testToken)
	c.Timeout = 50 * time.Millisecond
	_, err := c.Send(context.Background(), context.Background(), items(5))
	var doubt *DoubtError
	if !errors.As(err, &doubt) || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("error %v, want in doubt after a timeout", err)
	}
	if n := srv.Stats().BulkRequests; n != 1 {
		t.Fatalf("%d requests: the batch was sent again", n)
	}
	// The server goes on and stores it, as a real Matomo does.
	deadline := time.Now().Add(10 * time.Second)
	for srv.StoredCount() != 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := srv.StoredCount(); got != 5 {
		t.Errorf("%d stored, want the batch once", got)
	}
}

// failingConn fails its writes after limit bytes, as a connection reset
// while the request is being sent.
type failingConn struct {
	net.Conn
	left int
}

func (f *failingConn) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n, _ := f.Conn.Write(p[:f.left])
		f.left = 0
		f.Conn.Close()
		return n, &net.OpError{Op: "write", Net: "tcp", Err: errors.New("connection reset by peer")}
	}
	f.left -= len(p)
	return f.Conn.Write(p)
}

// TestResetWhileSending: a connection lost before the whole request was
// sent proves the batch was not stored: it is sent again.
func TestResetWhileSending(t *testing.T) {
	srv := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{testToken}})
	defer srv.Close()
	c, _ := testClient(t, srv.URL(), testToken)
	var dials atomic.Int32
	c.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil || dials.Add(1) > 1 {
			return conn, err
		}
		return &failingConn{Conn: conn, left: 300}, nil
	}
	res, err := c.Send(context.Background(), context.Background(), items(20))
	if err != nil || res.Attempts != 2 {
		t.Fatalf("result %+v, error %v; want stored at the second attempt", res, err)
	}
	if got := srv.StoredCount(); got != 20 {
		t.Errorf("%d stored, want 20", got)
	}
}

// TestGatewayTimeoutInDoubt: a proxy's 504 means Matomo did not answer the
// proxy in time, not that it stored nothing.
func TestGatewayTimeoutInDoubt(t *testing.T) {
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.Copy(io.Discard, r.Body)
		http.Error(w, "504 Gateway Time-out", http.StatusGatewayTimeout)
	}))
	defer ts.Close()
	c, _ := testClient(t, ts.URL, "")
	_, err := c.Send(context.Background(), context.Background(), items(3))
	var doubt *DoubtError
	if !errors.As(err, &doubt) || n.Load() != 1 {
		t.Fatalf("error %v after %d requests, want in doubt after one", err, n.Load())
	}
}

func TestProbe(t *testing.T) {
	srv := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{testToken}, Version: "5.0.2"})
	defer srv.Close()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html><body>Not Found</body></html>", http.StatusNotFound)
	}))
	defer html.Close()
	tlsSrv := httptest.NewTLSServer(srv.Handler())
	defer tlsSrv.Close()
	tests := []struct {
		name, url, token string
		kind, version    string
	}{
		{"matomo with a token", srv.URL(), testToken, "", "5.0.2"},
		{"matomo without a token", srv.URL(), "", "", ""},
		{"wrong token", srv.URL(), "ffffffffffffffffffffffffffffffff", "token", ""},
		{"refused", refusedURL(t), testToken, "refused", ""},
		{"not matomo", html.URL, testToken, "not_matomo", ""},
		{"certificate not trusted", tlsSrv.URL, testToken, "tls", ""},
		{"plain http on a TLS port", strings.Replace(tlsSrv.URL, "https:", "http:", 1), "", "not_matomo", ""},
		{"https on a plain port", strings.Replace(srv.URL(), "http:", "https:", 1), "", "tls", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := testClient(t, tt.url, tt.token)
			v, err := c.Probe(context.Background())
			var pe *ProbeError
			switch {
			case tt.kind == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.kind == "" && v != tt.version:
				t.Fatalf("version %q, want %q", v, tt.version)
			case tt.kind != "" && (!errors.As(err, &pe) || pe.Kind != tt.kind):
				t.Fatalf("error %v (%+v), want kind %s", err, pe, tt.kind)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Error("the token appears in the error")
			}
			t.Logf("%v", err)
		})
	}
}

func TestProbeDNS(t *testing.T) {
	c, _ := testClient(t, "http://matomo.invalid", "")
	_, err := c.Probe(context.Background())
	var pe *ProbeError
	if !errors.As(err, &pe) || (pe.Kind != "dns" && pe.Kind != "timeout") {
		t.Fatalf("error %v, want a DNS failure", err)
	}
	t.Log(err)
}

func TestSite(t *testing.T) {
	srv := matomotest.NewServer(matomotest.Config{
		SuperUserTokens: []string{testToken}, Sites: []int{1, 2},
		SiteURLs: map[int][]string{2: {"http://www.example.org/blog/"}},
	})
	defer srv.Close()
	c, _ := testClient(t, srv.URL(), testToken)
	s, err := c.Site(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if scheme, host, err := s.SchemeHost(); scheme != "http" || host != "www.example.org" || err != nil {
		t.Errorf("%s %s %v", scheme, host, err)
	}
	if _, err := c.Site(context.Background(), 7); err == nil {
		t.Error("no error for an unknown site")
	}
}

func TestParseTimezone(t *testing.T) {
	at := time.Date(2026, 11, 1, 23, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		tz   string
		ok   bool
		want string // at's local date-time
	}{
		{"UTC", true, "2026-11-01 23:30"}, {"Europe/Paris", true, "2026-11-02 00:30"},
		{"UTC+5.5", true, "2026-11-02 05:00"}, {"UTC-3", true, "2026-11-01 20:30"},
		{"", false, "2026-11-01 23:30"}, {"Mars/Olympus", false, "2026-11-01 23:30"},
	} {
		loc, ok := ParseTimezone(tt.tz)
		if got := at.In(loc).Format("2006-01-02 15:04"); ok != tt.ok || got != tt.want {
			t.Errorf("%q: %s %v, want %s %v", tt.tz, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzSiteAnswer: what Matomo says of a site (its time zone name and main
// URL) never breaks the run: a time zone is read or refused (UTC), a main
// URL gives an http or https scheme and a host, or an error.
func FuzzSiteAnswer(f *testing.F) {
	for _, s := range []string{"UTC", "Europe/Paris", "UTC+5.5", "UTC-3", "UTC+99", "", "../../etc/passwd"} {
		f.Add(s, "https://www.example.org/")
	}
	f.Add("UTC", "www.example.org")
	f.Add("UTC", "ftp://x")
	f.Add("UTC", "https://")
	f.Fuzz(func(t *testing.T, tz, mainURL string) {
		loc, ok := ParseTimezone(tz)
		if loc == nil || (!ok && loc != time.UTC) {
			t.Fatalf("ParseTimezone(%q) = %v, %v", tz, loc, ok)
		}
		scheme, host, err := Site{ID: 1, MainURL: mainURL}.SchemeHost()
		if err == nil && ((scheme != "http" && scheme != "https") || host == "") {
			t.Fatalf("SchemeHost(%q) = %q, %q", mainURL, scheme, host)
		}
	})
}

// TestDatabaseGone: a batch in flight when Matomo's database goes away gets
// a 200 that is not a bulk result (a real 5.0.2): in doubt, never resent.
func TestDatabaseGone(t *testing.T) {
	srv := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{testToken}})
	defer srv.Close()
	srv.Script(matomotest.Fault{Kind: matomotest.FaultDBGone})
	c, _ := testClient(t, srv.URL(), testToken)
	_, err := c.Send(context.Background(), context.Background(), items(4))
	var doubt *DoubtError
	if !errors.As(err, &doubt) || srv.Stats().BulkRequests != 1 || srv.StoredCount() != 0 {
		t.Fatalf("error %v, %d requests, %d stored", err, srv.Stats().BulkRequests, srv.StoredCount())
	}
}

// TestProbeDatabaseDown: with its database down, Matomo's tracker still
// answers its page, and its API a 500 page (a real 5.0.2): the probe says
// Matomo is failing, not that it is something else.
func TestProbeDatabaseDown(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/matomo.php" {
			io.WriteString(w, "This resource is part of Matomo.")
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(500)
		io.WriteString(w, "<!DOCTYPE html><html><head><title>Matomo &rsaquo; Error</title></head><body><h2>SQLSTATE[HY000] [2002] Connection refused</h2></body></html>")
	}))
	defer ts.Close()
	c, _ := testClient(t, ts.URL, testToken)
	_, err := c.Probe(context.Background())
	var pe *ProbeError
	if !errors.As(err, &pe) || pe.Kind != "failing" || !strings.Contains(err.Error(), "SQLSTATE") {
		t.Fatalf("error %v", err)
	}
}
