package benchkit

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Arrivals notes, per item number (0 to n-1), when Matomo first stored it
// and how often. An item is a tracking request of a bulk request whose url
// parameter ends in MARKER followed by the item number (…/lat/SEQ). It is
// safe for concurrent use.
type Arrivals struct {
	marker string

	mu       sync.Mutex
	first    []time.Time // by item number
	count    []int
	received int // items with a marker, in committed batches
	batches  int // committed bulk requests
	foreign  int // items without a marker of this run
	other    int // other requests (API calls: version, the site's main URL)
	changed  chan struct{}
}

// NewArrivals returns an Arrivals for items 0 to n-1 whose url carries
// marker (such as "/lat/" or "/kin/") followed by the item number.
func NewArrivals(n int, marker string) *Arrivals {
	return &Arrivals{marker: marker, first: make([]time.Time, n), count: make([]int, n), changed: make(chan struct{}, 1)}
}

// Unique is how many distinct items arrived.
func (a *Arrivals) Unique() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.count {
		if c > 0 {
			n++
		}
	}
	return n
}

// Snapshot is a copy of what an Arrivals noted.
type Snapshot struct {
	First    []time.Time // by item number: when it first arrived, zero if never
	Count    []int       // by item number: how many committed batches held it
	Received int         // items with a marker of this run, in committed batches
	Batches  int         // bulk requests answered 200
	Foreign  int         // items without a marker of this run (or out of range)
	Other    int         // requests that are not a POST to /matomo.php or /piwik.php
}

// Snapshot returns a copy of what a noted so far.
func (a *Arrivals) Snapshot() Snapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Snapshot{First: slices.Clone(a.first), Count: slices.Clone(a.count),
		Received: a.received, Batches: a.batches, Foreign: a.foreign, Other: a.other}
}

// Wait waits until every item (n of NewArrivals) arrived, at most d, or a
// value comes on exited; such a value is put back on exited (which must
// have room for it) for whoever stops the process. It tells whether every
// item arrived.
func (a *Arrivals) Wait(d time.Duration, exited chan error) bool {
	n := len(a.count)
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if a.Unique() >= n {
			return true
		}
		select {
		case <-a.changed:
		case <-deadline.C:
			return false
		case err := <-exited:
			exited <- err // for Stop
			return a.Unique() >= n
		}
	}
}

// Wrap passes every request to next unchanged and, for a bulk request
// (POST /matomo.php or /piwik.php, {"requests":["?idsite=1&url=...",...]})
// that next answered 200, notes the time of the answer for each item's
// marker in it.
func (a *Arrivals) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || (r.URL.Path != "/matomo.php" && r.URL.Path != "/piwik.php") {
			a.mu.Lock()
			a.other++
			a.mu.Unlock()
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		now := time.Now()
		if sw.status != http.StatusOK {
			return
		}
		var bulk struct {
			Requests []string `json:"requests"`
		}
		if json.Unmarshal(body, &bulk) != nil {
			return
		}
		a.mu.Lock()
		a.batches++
		for _, item := range bulk.Requests {
			seq, ok := a.itemMarker(item)
			if !ok || seq >= len(a.count) {
				a.foreign++
				continue
			}
			a.received++
			if a.count[seq] == 0 {
				a.first[seq] = now
			}
			a.count[seq]++
		}
		a.mu.Unlock()
		select {
		case a.changed <- struct{}{}:
		default:
		}
	})
}

// itemMarker is the item number in an item's url (…MARKER SEQ).
func (a *Arrivals) itemMarker(item string) (int, bool) {
	_, q, ok := strings.Cut(item, "?")
	if !ok {
		return 0, false
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return 0, false
	}
	u := v.Get("url")
	i := strings.LastIndex(u, a.marker)
	if i < 0 {
		return 0, false
	}
	seq, err := strconv.Atoi(u[i+len(a.marker):])
	return seq, err == nil && seq >= 0
}

// statusWriter notes the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
