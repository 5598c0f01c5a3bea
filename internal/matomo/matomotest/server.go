package matomotest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes the simulated Matomo. The zero value is a Matomo 5.8.0
// with site 1 and no tokens.
type Config struct {
	// Sites are the existing site ids (idsite). Default [1].
	Sites []int
	// SuperUserTokens authenticate as a super user: bulk answers include
	// invalid_indices when the body's token_auth is one of them.
	SuperUserTokens []string
	// WriteTokens have write access to every site: they authorise cip and
	// old cdt, but bulk answers only carry counts.
	WriteTokens []string
	// Version is what API.getMatomoVersion answers; recMode routing (bot
	// tracking) exists from 5.7.0 on. Default "5.8.0".
	Version string
	// AcceptBearer: an "Authorization: Bearer <token>" header authenticates
	// items that carry no token (newer Matomo). nil means true.
	AcceptBearer *bool
	// Now is the server clock (PHP's time()). Default time.Now.
	Now func() time.Time
	// FaultFunc, if set, picks the fault of bulk request n (0-based) when no
	// scripted fault is queued. It may be called concurrently.
	FaultFunc func(n int) Fault
	// PostMaxSize is PHP's post_max_size: a larger body is discarded by PHP
	// before Matomo sees it. 0 means 8 MiB (PHP's default), < 0 no limit.
	PostMaxSize int64
	// SiteURLs are the URLs of each site (main URL and aliases, e.g.
	// "https://www.example.com"), for SitesManager.getSitesIdFromSiteUrl.
	SiteURLs map[int][]string
}

// Bool returns a pointer to b, for Config.AcceptBearer.
func Bool(b bool) *bool { return &b }

// Record is one committed row: an action of a visit, or a bot request.
type Record struct {
	// Raw is the item as received: the string item (e.g. "?idsite=1&..."),
	// the JSON text of an object item, or "?"+query of a single request.
	Raw string
	// Params are the parameters as Matomo reads them: one value per name,
	// the last one given (see paramsOf in params.go for the details).
	Params url.Values
	// Kind is KindVisit or KindBot.
	Kind string
	// BotName is the AI assistant's name for KindBot records.
	BotName string
	// Action is ActionPageview, ActionDownload, ...
	Action string
	// Time is the effective time of the hit (cdt, or the server's "now"
	// when cdt was absent, in the future or more than 20 years old).
	Time time.Time
	// SiteID is idsite.
	SiteID int
	// Batch is the 0-based number of the bulk request that stored it, -1
	// for a single (non-bulk) tracking request.
	Batch int
}

// Stats are counters of what the server saw. Tracked, Invalid, Skipped and
// Discarded count committed requests only.
type Stats struct {
	Requests          int            `json:"requests"`            // HTTP requests to matomo.php / piwik.php
	BulkRequests      int            `json:"bulk_requests"`       // of which bulk (body contains "requests")
	SingleRequests    int            `json:"single_requests"`     // of which single tracking requests
	APIRequests       int            `json:"api_requests"`        // requests to index.php
	ItemsReceived     int            `json:"items_received"`      // bulk items after dropping strings without '?'
	ItemsDropped      int            `json:"items_dropped"`       // string items without a query, silently dropped
	Tracked           int            `json:"tracked"`             // counted as tracked, in committed requests
	Invalid           int            `json:"invalid"`             // counted as invalid, in committed requests
	Skipped           int            `json:"skipped"`             // lock-wait skipped (neither tracked nor invalid)
	Discarded         int            `json:"discarded"`           // tracked but not stored (bots, rec=0, recMode, empty)
	Stored            int            `json:"stored"`              // committed records
	Committed         int            `json:"committed"`           // committed bulk batches
	RolledBack        int            `json:"rolled_back"`         // bulk batches rolled back (Fault500)
	RolledBackRecords int            `json:"rolled_back_records"` // records lost in those rollbacks
	Aborted           int            `json:"aborted"`             // clients that gave up during a FaultSlow delay
	Faults            int            `json:"faults"`              // faults applied (not FaultNone)
	FaultKinds        map[string]int `json:"fault_kinds,omitempty"`
	BadContentType    int            `json:"bad_content_type"` // bulk POSTs without Content-Type application/json
	Malformed         int            `json:"malformed"`        // bulk bodies json_decode() rejects
	TooLarge          int            `json:"too_large"`        // bodies over PostMaxSize
	Status            map[int]int    `json:"status,omitempty"` // answers by HTTP status; 0 = connection closed
}

// Server is an in-process stand-in for a Matomo tracking server.
type Server struct {
	cfg              Config
	sites            atomic.Pointer[siteSet] // copied on write (SitesManager.addSite)
	super, write     map[string]bool
	acceptBearer     bool
	recModeSupported bool
	version          string
	postMax          int64
	now              func() time.Time

	mu      sync.Mutex
	chunks  [][]rec
	nStored int
	stats   Stats
	queue   []Fault
	bulkN   int

	srv *http.Server
	ln  net.Listener
	url string
}

// siteSet is the sites and their URLs; never modified once stored.
type siteSet struct {
	ids  map[int]bool
	urls map[int][]string
}

// addSite adds a site with its URLs and returns its id.
func (s *Server) addSite(urls []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.sites.Load()
	next := &siteSet{ids: map[int]bool{}, urls: map[int][]string{}}
	id := 0
	for k := range old.ids {
		next.ids[k] = true
		id = max(id, k)
	}
	for k, v := range old.urls {
		next.urls[k] = v
	}
	id++
	next.ids[id] = true
	next.urls[id] = urls
	s.sites.Store(next)
	return id
}

// New returns a Server that does not listen; use Handler, or Listen.
func New(cfg Config) *Server {
	s := &Server{
		cfg:          cfg,
		super:        map[string]bool{},
		write:        map[string]bool{},
		acceptBearer: cfg.AcceptBearer == nil || *cfg.AcceptBearer,
		version:      cfg.Version,
		postMax:      cfg.PostMaxSize,
		now:          cfg.Now,
	}
	set := &siteSet{ids: map[int]bool{}, urls: map[int][]string{}}
	if len(cfg.Sites) == 0 {
		set.ids[1] = true
	}
	for _, id := range cfg.Sites {
		set.ids[id] = true
	}
	for id, urls := range cfg.SiteURLs {
		set.urls[id] = append([]string(nil), urls...)
	}
	s.sites.Store(set)
	for _, t := range cfg.SuperUserTokens {
		if t != "" {
			s.super[t] = true
		}
	}
	for _, t := range cfg.WriteTokens {
		if t != "" {
			s.write[t] = true
		}
	}
	if s.version == "" {
		s.version = "5.8.0"
	}
	s.recModeSupported = versionAtLeast(s.version, "5.7.0")
	if s.postMax == 0 {
		s.postMax = 8 << 20
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// NewServer returns a Server listening on 127.0.0.1 on a random port. It
// panics if it cannot listen.
func NewServer(cfg Config) *Server {
	s := New(cfg)
	if err := s.Listen("127.0.0.1:0"); err != nil {
		panic(fmt.Sprintf("matomotest: %v", err))
	}
	return s
}

// Listen starts serving on addr in the background.
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

// URL is the base URL, e.g. http://127.0.0.1:port (no trailing slash).
func (s *Server) URL() string { return s.url }

// Handler is the HTTP handler (the Server itself).
func (s *Server) Handler() http.Handler { return s }

// Close stops the server at once, closing open connections.
func (s *Server) Close() {
	if s.srv != nil {
		_ = s.srv.Close()
	}
}

// Shutdown stops the server gracefully, waiting for requests in progress.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		_ = s.srv.Close()
	}
	return err
}

// Script queues faults; each bulk POST consumes the next one (a bulk POST
// that finds the queue empty asks Config.FaultFunc, else is handled
// normally).
func (s *Server) Script(faults ...Fault) {
	s.mu.Lock()
	s.queue = append(s.queue, faults...)
	s.mu.Unlock()
}

// PendingFaults is the number of scripted faults not consumed yet.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// nextFault numbers a bulk request and picks its fault.
func (s *Server) nextFault() (int, Fault) {
	s.mu.Lock()
	n := s.bulkN
	s.bulkN++
	s.stats.BulkRequests++
	var f Fault
	scripted := len(s.queue) > 0
	if scripted {
		f = s.queue[0]
		s.queue = s.queue[1:]
	}
	s.mu.Unlock()
	if !scripted && s.cfg.FaultFunc != nil {
		f = s.cfg.FaultFunc(n)
	}
	if f.Kind != FaultNone {
		s.mu.Lock()
		s.stats.Faults++
		if s.stats.FaultKinds == nil {
			s.stats.FaultKinds = map[string]int{}
		}
		s.stats.FaultKinds[f.Kind.String()]++
		s.mu.Unlock()
	}
	return n, f
}

func (s *Server) update(fn func(st *Stats)) {
	s.mu.Lock()
	fn(&s.stats)
	s.mu.Unlock()
}

func (s *Server) countStatus(code int) {
	s.mu.Lock()
	if s.stats.Status == nil {
		s.stats.Status = map[int]int{}
	}
	s.stats.Status[code]++
	s.mu.Unlock()
}

// commit makes a batch's records visible, atomically with its counters.
func (s *Server) commit(recs []rec, tracked, invalid, skipped, discarded int, bulk bool) {
	s.mu.Lock()
	if len(recs) > 0 {
		s.chunks = append(s.chunks, recs)
		s.nStored += len(recs)
	}
	s.stats.Stored += len(recs)
	s.stats.Tracked += tracked
	s.stats.Invalid += invalid
	s.stats.Skipped += skipped
	s.stats.Discarded += discarded
	if bulk {
		s.stats.Committed++
	}
	s.mu.Unlock()
}

func (s *Server) snapshot() ([][]rec, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]rec(nil), s.chunks...), s.nStored
}

// Stored returns the committed records in commit order (a copy). Params
// are parsed here, in parallel.
func (s *Server) Stored() []Record {
	chunks, n := s.snapshot()
	out := make([]Record, 0, n)
	objs := make([]bool, 0, n)
	for _, c := range chunks {
		for i := range c {
			r := &c[i]
			objs = append(objs, r.obj)
			rr := Record{
				Raw: r.raw, Kind: KindVisit, Action: actionNames[r.action],
				Time: time.Unix(r.unix, 0).UTC(), SiteID: int(r.site), Batch: int(r.batch),
			}
			if r.kind == 1 {
				rr.Kind, rr.BotName = KindBot, r.bot
			}
			out = append(out, rr)
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if len(out) < 2048 {
		workers = 1
	}
	var wg sync.WaitGroup
	per := (len(out) + workers - 1) / max(workers, 1)
	for w := 0; w < workers; w++ {
		lo, hi := w*per, min((w+1)*per, len(out))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				out[i].Params = paramsOf(out[i].Raw, objs[i])
			}
		}()
	}
	wg.Wait()
	return out
}

// StoredRaw returns the Raw text of the committed records in commit order.
func (s *Server) StoredRaw() []string {
	chunks, n := s.snapshot()
	out := make([]string, 0, n)
	for _, c := range chunks {
		for i := range c {
			out = append(out, c[i].raw)
		}
	}
	return out
}

// StoredCount is the number of committed records.
func (s *Server) StoredCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nStored
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	if st.FaultKinds != nil {
		st.FaultKinds = make(map[string]int, len(s.stats.FaultKinds))
		for k, v := range s.stats.FaultKinds {
			st.FaultKinds[k] = v
		}
	}
	if st.Status != nil {
		st.Status = make(map[int]int, len(s.stats.Status))
		for k, v := range s.stats.Status {
			st.Status[k] = v
		}
	}
	return st
}

// Reset forgets the stored records, the counters, the queued faults and
// the bulk request numbering.
func (s *Server) Reset() {
	s.mu.Lock()
	s.chunks, s.nStored, s.stats, s.queue, s.bulkN = nil, 0, Stats{}, nil, 0
	s.mu.Unlock()
}

// ServeHTTP routes to the tracker (matomo.php, piwik.php) and to the
// reporting API (index.php).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/matomo.php", "/piwik.php":
		s.serveTracker(w, r)
	case "/index.php", "/":
		s.serveAPI(w, r)
	default:
		s.countStatus(http.StatusNotFound)
		http.NotFound(w, r)
	}
}

// versionAtLeast compares dotted versions like PHP's version_compare for
// the usual forms ("5.7.0", "5.7.0-b2" < "5.7.0").
func versionAtLeast(v, minimum string) bool {
	split := func(s string) ([]int, bool) {
		s = strings.TrimPrefix(strings.TrimSpace(s), "v")
		pre := false
		if i := strings.IndexAny(s, "-+"); i >= 0 {
			pre, s = s[i] == '-', s[:i]
		}
		var out []int
		for _, p := range strings.Split(s, ".") {
			n, _ := strconv.Atoi(p)
			out = append(out, n)
		}
		return out, pre
	}
	a, apre := split(v)
	b, bpre := split(minimum)
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return x > y
		}
	}
	return !apre || bpre
}
