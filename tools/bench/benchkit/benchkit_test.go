package benchkit

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestWrap(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int // the wrapped handler's answer
		want   Snapshot
	}{
		{"committed batch", http.MethodPost, "/matomo.php",
			`{"requests":["?idsite=1&url=https%3A%2F%2Fx%2Flat%2F0","?idsite=1&url=https%3A%2F%2Fx%2Flat%2F2","?idsite=1&url=https%3A%2F%2Fx%2Fother","?idsite=1&url=https%3A%2F%2Fx%2Flat%2F9"]}`,
			http.StatusOK, Snapshot{Count: []int{1, 0, 1}, Received: 2, Batches: 1, Foreign: 2}},
		{"refused batch is not noted", http.MethodPost, "/piwik.php",
			`{"requests":["?idsite=1&url=https%3A%2F%2Fx%2Flat%2F1"]}`,
			http.StatusBadRequest, Snapshot{Count: []int{0, 0, 0}}},
		{"other request", http.MethodGet, "/index.php", "", http.StatusOK, Snapshot{Count: []int{0, 0, 0}, Other: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewArrivals(3, "/lat/")
			h := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) }))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.status {
				t.Errorf("status passed on: %d, want %d", rec.Code, tt.status)
			}
			got := a.Snapshot()
			for i, c := range got.Count {
				if c != tt.want.Count[i] || got.First[i].IsZero() != (c == 0) {
					t.Errorf("item %d: count %d, first %v; want count %d", i, c, got.First[i], tt.want.Count[i])
				}
			}
			if got.Received != tt.want.Received || got.Batches != tt.want.Batches || got.Foreign != tt.want.Foreign || got.Other != tt.want.Other {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if n := a.Unique(); n != tt.want.Received {
				t.Errorf("Unique: %d, want %d", n, tt.want.Received)
			}
		})
	}
}

func TestPct(t *testing.T) {
	d := []time.Duration{4 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}
	tests := []struct {
		d    []time.Duration
		p    float64
		want string
	}{
		{nil, 50, "-"},
		{d, 0, "1ms"},
		{d, 50, "2ms"},
		{d, 51, "3ms"},
		{d, 100, "4ms"},
	}
	for _, tt := range tests {
		if got := Pct(tt.d, tt.p); got != tt.want {
			t.Errorf("Pct(%v, %g) = %s, want %s", tt.d, tt.p, got, tt.want)
		}
	}
	if d[0] != 4*time.Millisecond {
		t.Error("Pct changed its argument")
	}
}
