package matomotest

import (
	"context"
	"encoding/hex"
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
	// SiteTimezones are the sites' time zones: IANA names ("Europe/Paris")
	// or Matomo's fixed offsets ("UTC+5.5", "UTC-3"). A site not listed is
	// in "UTC". They decide the day of a hit's fingerprint salt, and
	// SitesManager.getSiteFromId answers them. New panics on a name it
	// cannot load.
	SiteTimezones map[int]string
	// PerItemDelay is PHP's time per item of a bulk request (a real Matomo
	// took about 2-3 ms per hit on 2 cores): a bulk request of n items
	// holds its worker and its transaction n*PerItemDelay longer before it
	// commits, and commits whether or not the client is still there. A
	// single tracking request counts as one item. 0 means no delay.
	PerItemDelay time.Duration
	// Workers is how many PHP requests (bulk, single tracking requests,
	// API calls) run at once; the others wait in line, and a request whose
	// client gave up while it waited still runs (its bytes were received).
	// The real server measured had 4. 0 means no limit.
	Workers int
	// SaltDeadlock: a bulk request that creates a fingerprint salt while
	// another request's salt for the same site and day is still
	// uncommitted fails like the deadlock a real Matomo 5.0.2 produced
	// once (see "Fingerprint salts" in the package documentation): its
	// transaction is rolled back, the racing item is skipped, the items
	// after it are stored anyway, and the answer is a 500. Default false:
	// the race only splits visitors.
	SaltDeadlock bool
	// BeforeCommit, if set, is called for bulk request n once its items
	// are processed and any delay has passed, just before it commits or
	// rolls back, in the request's goroutine; client is the request's
	// context, done once the client has gone. It may block: a test holds
	// a transaction open with it (e.g. until another request has been
	// processed) to make a race deterministic. It is not called for
	// requests answered before processing (429, 503, drops, hangs, a bad
	// Content-Type).
	BeforeCommit func(client context.Context, n int)
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
	// IP is the address the visit was stored under: cip when given (it
	// needs a token), else the address of the connection that sent it
	// ("0.0.0.0" when cip is not an IP address). Empty for KindBot.
	IP string
	// ConfigID is the visitor's fingerprint (config_id), 16 hex digits: a
	// hash of the user agent (ua, else the HTTP User-Agent), IP, language
	// (lang, else Accept-Language), the fingerprint salt of SaltDay and
	// the site. The same visitor on the same site and day gets the same
	// ConfigID unless the salt differed (see Visitors). It is not Matomo's
	// value. Empty for KindBot.
	ConfigID string
	// SaltDay is the day ("2006-01-02") of Time in the site's time zone:
	// the day whose fingerprint salt went into ConfigID. Empty for KindBot.
	SaltDay string
}

// Stats are counters of what the server saw. Tracked, Invalid, Skipped and
// Discarded count committed requests only. A batch committed after its
// client had gone (CommittedClientGone) was stored although the client saw
// an error; Aborted batches died with the server (Stop, Close, a Shutdown
// past its deadline) before they committed.
type Stats struct {
	Requests            int            `json:"requests"`              // HTTP requests to matomo.php / piwik.php
	BulkRequests        int            `json:"bulk_requests"`         // of which bulk (body contains "requests")
	SingleRequests      int            `json:"single_requests"`       // of which single tracking requests
	APIRequests         int            `json:"api_requests"`          // requests to index.php
	ItemsReceived       int            `json:"items_received"`        // bulk items after dropping strings without '?'
	ItemsDropped        int            `json:"items_dropped"`         // string items without a query, silently dropped
	Tracked             int            `json:"tracked"`               // counted as tracked, in committed requests
	Invalid             int            `json:"invalid"`               // counted as invalid, in committed requests
	Skipped             int            `json:"skipped"`               // lock-wait skipped (neither tracked nor invalid)
	Discarded           int            `json:"discarded"`             // tracked but not stored (bots, rec=0, recMode, empty)
	Stored              int            `json:"stored"`                // committed records
	Committed           int            `json:"committed"`             // committed bulk batches
	RolledBack          int            `json:"rolled_back"`           // bulk batches failed with a 500 (Fault500, salt deadlock)
	RolledBackRecords   int            `json:"rolled_back_records"`   // records lost in those rollbacks
	CommittedClientGone int            `json:"committed_client_gone"` // bulk batches committed after the client had gone (ignore_user_abort)
	Aborted             int            `json:"aborted"`               // bulk batches killed uncommitted by Stop/Close
	SaltRaces           int            `json:"salt_races"`            // salts created while another request's salt for the same site and day was uncommitted
	SaltDeadlocks       int            `json:"salt_deadlocks"`        // bulk batches failed by such a race (Config.SaltDeadlock)
	Faults              int            `json:"faults"`                // faults applied (not FaultNone)
	FaultKinds          map[string]int `json:"fault_kinds,omitempty"`
	BadContentType      int            `json:"bad_content_type"` // bulk POSTs without Content-Type application/json
	Malformed           int            `json:"malformed"`        // bulk bodies json_decode() rejects
	TooLarge            int            `json:"too_large"`        // bodies over PostMaxSize
	Status              map[int]int    `json:"status,omitempty"` // answers by HTTP status; 0 = connection closed
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
	workers          chan struct{} // nil: no limit

	mu      sync.Mutex
	chunks  [][]rec
	nStored int
	stats   Stats
	queue   []Fault
	bulkN   int
	salts   saltStore

	life  sync.Mutex // guards gen, addr, url
	gen   *generation
	addr  string
	url   string
	never *generation // for requests served through Handler() directly
}

// generation is one period of serving, from Listen or Start to Stop.
type generation struct {
	ctx    context.Context // done when the server stops: in-flight PHP dies
	cancel context.CancelFunc
	srv    *http.Server
	dead   bool // set under Server.mu by Stop: nothing commits any more
}

type genKey struct{}

// siteSet is the sites, their URLs and time zones; never modified once
// stored.
type siteSet struct {
	ids    map[int]bool
	urls   map[int][]string
	tz     map[int]*time.Location // nil entry or missing: UTC
	tzName map[int]string         // as configured; missing: "UTC"
}

// addSite adds a site with its URLs and time zone and returns its id.
func (s *Server) addSite(urls []string, tzName string, tz *time.Location) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.sites.Load()
	next := &siteSet{ids: map[int]bool{}, urls: map[int][]string{}, tz: map[int]*time.Location{}, tzName: map[int]string{}}
	id := 0
	for k := range old.ids {
		next.ids[k] = true
		id = max(id, k)
	}
	for k, v := range old.urls {
		next.urls[k] = v
	}
	for k, v := range old.tz {
		next.tz[k] = v
	}
	for k, v := range old.tzName {
		next.tzName[k] = v
	}
	id++
	next.ids[id] = true
	next.urls[id] = urls
	next.tz[id], next.tzName[id] = tz, tzName
	s.sites.Store(next)
	return id
}

// New returns a Server that does not listen; use Handler, or Listen. It
// panics on a Config.SiteTimezones name it cannot load.
func New(cfg Config) *Server {
	s := &Server{
		cfg:          cfg,
		super:        map[string]bool{},
		write:        map[string]bool{},
		acceptBearer: cfg.AcceptBearer == nil || *cfg.AcceptBearer,
		version:      cfg.Version,
		postMax:      cfg.PostMaxSize,
		now:          cfg.Now,
		never:        &generation{ctx: context.Background()},
	}
	set := &siteSet{ids: map[int]bool{}, urls: map[int][]string{}, tz: map[int]*time.Location{}, tzName: map[int]string{}}
	if len(cfg.Sites) == 0 {
		set.ids[1] = true
	}
	for _, id := range cfg.Sites {
		set.ids[id] = true
	}
	for id, urls := range cfg.SiteURLs {
		set.urls[id] = append([]string(nil), urls...)
	}
	for id, name := range cfg.SiteTimezones {
		loc, err := loadTimezone(name)
		if err != nil {
			panic(fmt.Sprintf("matomotest: SiteTimezones[%d]: %v", id, err))
		}
		set.tz[id], set.tzName[id] = loc, name
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
	if cfg.Workers > 0 {
		s.workers = make(chan struct{}, cfg.Workers)
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

// Listen starts serving on addr in the background. Start serves on the
// same address again after a Stop.
func (s *Server) Listen(addr string) error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.gen != nil {
		return errors.New("matomotest: already listening on " + s.addr)
	}
	return s.serveLocked(addr)
}

func (s *Server) serveLocked(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &generation{ctx: ctx, cancel: cancel}
	g.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithValue(ctx, genKey{}, g) },
	}
	s.gen = g
	s.addr = ln.Addr().String()
	s.url = "http://" + s.addr
	go func() { _ = g.srv.Serve(ln) }()
	return nil
}

// URL is the base URL, e.g. http://127.0.0.1:port (no trailing slash). It
// stays the same across Stop and Start.
func (s *Server) URL() string {
	s.life.Lock()
	defer s.life.Unlock()
	return s.url
}

// Handler is the HTTP handler (the Server itself).
func (s *Server) Handler() http.Handler { return s }

// Stop takes the server down, as if its machine went away: the listener
// and every open connection are closed (a client then gets "connection
// refused"), and requests in progress that have not committed die with
// their transaction (counted in Stats.Aborted). Committed records,
// counters, salts and queued faults stay. Start serves again on the same
// address. Stop on a server that is not serving does nothing.
func (s *Server) Stop() {
	s.life.Lock()
	g := s.gen
	s.gen = nil
	s.life.Unlock()
	if g == nil {
		return
	}
	s.mu.Lock()
	g.dead = true
	s.mu.Unlock()
	_ = g.srv.Close()
	g.cancel()
}

// Start serves again, on the address of the last Listen, after a Stop. It
// fails if the server is serving or never listened, or if the address is
// taken meanwhile.
func (s *Server) Start() error {
	s.life.Lock()
	defer s.life.Unlock()
	switch {
	case s.gen != nil:
		return errors.New("matomotest: already serving on " + s.addr)
	case s.addr == "":
		return errors.New("matomotest: Start before Listen")
	}
	return s.serveLocked(s.addr)
}

// Close stops the server at once, like Stop.
func (s *Server) Close() { s.Stop() }

// Shutdown stops the server gracefully, waiting for requests in progress
// (they commit); past ctx's deadline it stops at once, like Stop.
func (s *Server) Shutdown(ctx context.Context) error {
	s.life.Lock()
	g := s.gen
	s.life.Unlock()
	if g == nil {
		return nil
	}
	err := g.srv.Shutdown(ctx)
	s.Stop()
	return err
}

// genOf is the generation a request is served by.
func (s *Server) genOf(r *http.Request) *generation {
	if g, ok := r.Context().Value(genKey{}).(*generation); ok {
		return g
	}
	return s.never
}

// acquire waits for a PHP worker (Config.Workers). It does not give up
// when the client does, only when the server stops.
func (s *Server) acquire(g *generation) bool {
	if s.workers == nil {
		return true
	}
	select {
	case s.workers <- struct{}{}:
		return true
	case <-g.ctx.Done():
		return false
	}
}

func (s *Server) release() {
	if s.workers != nil {
		<-s.workers
	}
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

// commit makes a batch's records and salts visible, atomically with its
// counters. It commits nothing and returns false when g was stopped.
func (s *Server) commit(g *generation, t *tx, recs []rec, tracked, invalid, skipped, discarded int, bulk bool) bool {
	s.mu.Lock()
	if g.dead {
		if t != nil {
			t.rollbackSaltsLocked()
		}
		if bulk {
			s.stats.Aborted++
		}
		s.mu.Unlock()
		return false
	}
	if t != nil {
		t.commitSaltsLocked()
	}
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
	return true
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
	recp := make([]*rec, 0, n)
	for _, c := range chunks {
		for i := range c {
			r := &c[i]
			rr := Record{
				Raw: r.raw, Kind: KindVisit, Action: actionNames[r.action],
				Time: time.Unix(r.unix, 0).UTC(), SiteID: int(r.site), Batch: int(r.batch),
			}
			if r.kind == 1 {
				rr.Kind, rr.BotName = KindBot, r.bot
			} else if r.info != nil {
				rr.ConfigID, rr.SaltDay = hex.EncodeToString(r.cfg[:]), dayString(r.day)
			}
			out = append(out, rr)
			recp = append(recp, r)
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
				r := recp[i]
				out[i].Params = paramsOf(out[i].Raw, r.obj)
				if r.kind == 0 && r.info != nil {
					out[i].IP, _, _ = r.identity(out[i].Params.Get)
				}
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

// Reset forgets the stored records, the committed fingerprint salts, the
// counters, the queued faults and the bulk request numbering.
func (s *Server) Reset() {
	s.mu.Lock()
	s.chunks, s.nStored, s.stats, s.queue, s.bulkN = nil, 0, Stats{}, nil, 0
	s.salts.committed = nil
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
