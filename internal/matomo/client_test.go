package matomo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/matomo/matomotest"
)

const testToken = "0123456789abcdef0123456789abcdef"

// itemTime is the cdt of items: a fixed time, not the wall clock. It is
// old, which the test receiver accepts with a token, and every test that
// sends items to it has one.
var itemTime = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func items(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf("?idsite=1&rec=1&recMode=1&url=https%%3A%%2F%%2Fe.com%%2F%d&cdt=%d&ua=ChatGPT-User%%2F1.0", i, itemTime.Unix()))
	}
	return out
}

// testClient returns a client of srv that records its waits instead of sleeping.
func testClient(t *testing.T, url, token string) (*Client, *[]time.Duration) {
	t.Helper()
	var logs strings.Builder
	c, err := NewClient(url, token, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	var mu sync.Mutex
	clock := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		clock = clock.Add(d)
		mu.Unlock()
		return ctx.Err()
	}
	c.Timeout = 500 * time.Millisecond
	t.Cleanup(func() {
		if token != "" && strings.Contains(logs.String(), token) {
			t.Error("the token appears in the logs")
		}
	})
	return c, &waits
}

func TestSendRetries(t *testing.T) {
	tests := []struct {
		name     string
		faults   []matomotest.Fault
		wantErr  any // nil, or a pointer to the wanted error type
		attempts int
		stored   int
		waits    func(t *testing.T, w []time.Duration)
	}{
		{name: "ok", attempts: 1, stored: 10},
		{
			name:   "500 after partial processing: the whole batch again, once stored",
			faults: []matomotest.Fault{{Kind: matomotest.Fault500, ProcessBefore: 4}}, attempts: 2, stored: 10,
		},
		{
			name:   "429 with Retry-After is honoured",
			faults: []matomotest.Fault{{Kind: matomotest.Fault429, RetryAfter: 7 * time.Second}}, attempts: 2, stored: 10,
			waits: func(t *testing.T, w []time.Duration) {
				if len(w) != 1 || w[0] != 7*time.Second {
					t.Errorf("waits %v, want [7s]", w)
				}
			},
		},
		{
			name: "backoff doubles, with jitter",
			faults: []matomotest.Fault{{Kind: matomotest.Fault503}, {Kind: matomotest.Fault503}, {Kind: matomotest.Fault429},
				{Kind: matomotest.Fault500, ProcessBefore: 3}},
			attempts: 5, stored: 10,
			waits: func(t *testing.T, w []time.Duration) {
				for i, d := range w {
					base := time.Second << i
					if d < base/2 || d > base {
						t.Errorf("wait %d is %v, want between %v and %v", i, d, base/2, base)
					}
				}
			},
		},
		{
			name:    "an outage longer than MaxOutage: not stored, given up",
			faults:  []matomotest.Fault{{Kind: matomotest.Fault503}, {Kind: matomotest.Fault503}, {Kind: matomotest.Fault503}, {Kind: matomotest.Fault503}, {Kind: matomotest.Fault503}, {Kind: matomotest.Fault503}, {Kind: matomotest.Fault503}, {Kind: matomotest.Fault503}},
			wantErr: new(*NotStoredError),
			waits: func(t *testing.T, w []time.Duration) {
				var sum time.Duration
				for _, d := range w {
					sum += d
				}
				if sum != 20*time.Second {
					t.Errorf("waited %v in all (%v), want the 20 s of MaxOutage", sum, w)
				}
			},
		},
		{
			name:    "a dropped connection after the batch was sent is in doubt, not sent again",
			faults:  []matomotest.Fault{{Kind: matomotest.FaultDrop}},
			wantErr: new(*DoubtError), stored: 0,
		},
		{
			name:    "stored, then no answer in time: in doubt, not sent again",
			faults:  []matomotest.Fault{{Kind: matomotest.FaultSlowAfterCommit, Delay: 2 * time.Second}},
			wantErr: new(*DoubtError), stored: 10,
		},
		{
			name:    "an answer that does not add up is in doubt, not retried",
			faults:  []matomotest.Fault{{Kind: matomotest.FaultMismatch}},
			wantErr: new(*DoubtError), stored: 10,
		},
		{
			name:    "an answer that is not JSON is in doubt",
			faults:  []matomotest.Fault{{Kind: matomotest.FaultBadJSONAnswer}},
			wantErr: new(*DoubtError), stored: 10,
		},
		{
			name:    "hits silently skipped (lock wait) are in doubt",
			faults:  []matomotest.Fault{{Kind: matomotest.FaultLockWait, Indices: []int{3}}},
			wantErr: new(*DoubtError), stored: 9,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{testToken}})
			defer srv.Close()
			srv.Script(tt.faults...)
			c, waits := testClient(t, srv.URL(), testToken)
			c.MaxOutage = 20 * time.Second
			res, err := c.Send(context.Background(), context.Background(), items(10))
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("error %v", err)
			case tt.wantErr != nil:
				if err == nil || !errors.As(err, tt.wantErr) {
					t.Fatalf("error %v (%T), want %T", err, err, tt.wantErr)
				}
			default:
				if res.Attempts != tt.attempts || res.Tracked != 10 {
					t.Errorf("result %+v, want %d attempts", res, tt.attempts)
				}
			}
			if got := srv.StoredCount(); got != tt.stored {
				t.Errorf("%d stored, want %d", got, tt.stored)
			}
			if tt.waits != nil {
				tt.waits(t, *waits)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Error("the token appears in the error")
			}
		})
	}
}

func TestSendRequestShape(t *testing.T) {
	var got *http.Request
	var body string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		io.WriteString(w, `{"status":"success","tracked":2,"invalid":0}`)
	}))
	defer ts.Close()
	c, _ := testClient(t, ts.URL+"/analytics/", testToken)
	if _, err := c.Send(context.Background(), context.Background(), items(2)); err != nil {
		t.Fatal(err)
	}
	if got.URL.Path != "/analytics/matomo.php" || got.Method != "POST" || got.Header.Get("Content-Type") != "application/json" ||
		got.Header.Get("Authorization") != "Bearer "+testToken {
		t.Errorf("request %s %s %v", got.Method, got.URL, got.Header)
	}
	if !strings.HasPrefix(body, `{"requests":["?idsite=1&`) || !strings.HasSuffix(body, `"token_auth":"`+testToken+`"}`) {
		t.Errorf("body %s", body)
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	n := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		http.Error(w, "forbidden", http.StatusForbidden)
	}))
	defer ts.Close()
	c, _ := testClient(t, ts.URL, "")
	_, err := c.Send(context.Background(), context.Background(), items(3))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 403 || n != 1 {
		t.Fatalf("error %v after %d requests", err, n)
	}
}

func TestInvalidIndices(t *testing.T) {
	for _, tc := range []struct {
		name        string
		cfg         matomotest.Config
		wantIndices bool
	}{
		{"super user", matomotest.Config{SuperUserTokens: []string{testToken}}, true},
		{"write token", matomotest.Config{WriteTokens: []string{testToken}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := matomotest.NewServer(tc.cfg)
			defer srv.Close()
			c, _ := testClient(t, srv.URL(), testToken)
			its := items(5)
			its[2] = []byte("?idsite=99&rec=1&url=https%3A%2F%2Fe.com%2F")
			res, err := c.Send(context.Background(), context.Background(), its)
			if err != nil {
				t.Fatal(err)
			}
			if res.Tracked != 4 || res.Invalid != 1 || res.HasIndices != tc.wantIndices || (tc.wantIndices && (len(res.InvalidIndices) != 1 || res.InvalidIndices[0] != 2)) {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	srv := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{testToken}, Version: "5.0.2"})
	defer srv.Close()
	c, _ := testClient(t, srv.URL(), testToken)
	if v, err := c.Version(context.Background()); err != nil || v != "5.0.2" {
		t.Fatalf("version %q, %v", v, err)
	}
	c2, _ := testClient(t, srv.URL(), "wrong")
	if _, err := c2.Version(context.Background()); err == nil {
		t.Fatal("no error without a valid token")
	}
}

func TestSiteForHost(t *testing.T) {
	srv := matomotest.NewServer(matomotest.Config{
		SuperUserTokens: []string{testToken}, Sites: []int{1, 2, 3},
		SiteURLs: map[int][]string{2: {"https://www.example.com", "https://example.org"}, 3: {"http://shop.example.com:8080/"}},
	})
	defer srv.Close()
	c, _ := testClient(t, srv.URL(), testToken)
	for host, want := range map[string]int{"www.example.com": 2, "example.com": 2, "example.org": 2, "shop.example.com": 3, "other.net": 0} {
		got, err := c.SiteForHost(context.Background(), host)
		if err != nil || got != want {
			t.Errorf("%s: %d %v, want %d", host, got, err, want)
		}
	}
	c2, _ := testClient(t, srv.URL(), "")
	if _, err := c2.SiteForHost(context.Background(), "www.example.com"); err == nil {
		t.Error("no error without a token")
	}
}
