// Package pipeline wires inputs to Matomo: it reads lines, parses them into
// hits, classifies and filters them, encodes them, shards them by visitor,
// batches them and sends the batches with several workers, and advances the
// ledger only over what Matomo confirmed.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/filter"
	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/logformat"
	"github.com/trackless/trackless/internal/matomo"
	"github.com/trackless/trackless/internal/sink"
	"github.com/trackless/trackless/internal/sites"
)

// Options configure a Run.
type Options struct {
	Encoder       matomo.Encoder
	Classify      classify.Config
	DefaultScheme string // CLOUDFRONT_DEFAULT_PROTOCOL
	DefaultHost   string // CLOUDFRONT_DEFAULT_HOST
	// Format is the log format (see logformat.Formats); "" or "auto" detects it per input.
	Format string
	// Reader completes some formats (real-time fields, --log-format).
	Reader      logformat.ReaderOptions
	BatchSize   int
	Concurrency int
	// Sites maps hosts to site ids; nil sends everything to Encoder.SiteID.
	// With Sites, Encoder.SiteID (when > 0) is the site of unmapped hosts;
	// otherwise their hits are skipped (no_site) and counted by host.
	Sites *sites.Map
	// SiteLookup, if set, asks Matomo for the site of a host that Sites does
	// not map (--site-auto); 0 means none. Answers are cached per host.
	SiteLookup func(host string) (int, error)
	// Filter holds the skip rules of Matomo's importer.
	Filter filter.Filter
	// ReorderWindow is how far back in time a hit may come after a later
	// one and still be sent in time order (default 5 minutes). Hits of all
	// the inputs of a run are merged by time: one visitor's hits reach
	// Matomo in time order, also across files.
	ReorderWindow time.Duration

	// Sinks take the hits read besides Matomo (the report's state); each
	// keeps its own progress (see sink.Sink).
	Sinks []sink.Sink
	// SinksOnly: the run only feeds Sinks (the report): no request is
	// formed, Matomo's ledger is not used, and inputs are read one after
	// the other (sinks need no time order).
	SinksOnly bool

	// Client sends batches. Nil means no sending: Emit receives the batches.
	Client *matomo.Client
	// Emit receives each batch in parse mode, in the order send would form them.
	Emit func(items [][]byte) error
	// EmitHit, if set, receives every hit read, sent or skipped (parse --output jsonl).
	// input and line say where the hit was read.
	EmitHit func(input string, line int64, h *hit.Hit, r classify.Result, url string, item []byte) error

	Ledger ledger.Store // nil: no ledger
	// WholeLines keeps back the unterminated last line of a live file
	// (input.Input.Live: written to moments ago, the line may be half
	// written): the input is then not whole, and a later run reads the
	// line once complete. Set it when the outputs record their progress
	// (a ledger, a report state); without, the line is read as it is.
	WholeLines bool
	Force      bool // ignore the ledger's record of what was delivered
	// OnDone, if set and there are no Sinks, is called once every hit of an input is confirmed and
	// the ledger says so durably (also for an input found delivered by an
	// earlier run): --after deletes or moves it then. Its error is reported
	// and counted (Stats.AfterFailed), the input stays delivered.
	OnDone func(name string) error

	// Open, if set, opens the inputs that are not files ("-" is stdin).
	Open func(ctx context.Context, name string) (*input.Input, error)
	// Identify, if set, returns the identity of an input known without
	// opening it (an object's name and ETag), or nil. Such an input is
	// claimed and looked up in the ledger before it is opened.
	Identify func(name string) *input.Identity
	// FirstHint, if set, returns a time no later than an input's first hit
	// when its name tells it (a CloudFront object's hour), so that it need
	// not be opened to be put in order.
	FirstHint func(name string) (unixNano int64, ok bool)
	// MaxOpen is how many inputs the merge keeps open at once at most
	// (default 64): inputs that overlap in time are read side by side.
	MaxOpen int
	// HasToken tells whether Matomo gets a token; without one, hits older than
	// MaxUntokenedAge are refused before they are sent.
	HasToken bool
	Now      func() time.Time

	DeadLetter *Recorder // batches Matomo refused (a 4xx no retry can fix)
	Rejected   *Recorder // hits Matomo rejected
	// InDoubt receives the batches Matomo may have stored (sent, and not
	// answered in time, or answered in a way that does not account for
	// them): they are never resent automatically.
	InDoubt *Recorder

	// SiteInfo, if set, tells what Matomo says of a site (its main URL and
	// time zone): a log without a scheme or host gets them from the main
	// URL of the site its hits go to, as Matomo's importer does, and the
	// first batch of each site and day (in the site's time zone) is sent
	// alone. It is asked once per site. Without it (or when it fails), a
	// missing scheme is https (counted in Stats.SchemeDefaulted) and a
	// missing host stops the run with ErrNoHost.
	SiteInfo func(site int) (matomo.Site, error)
	// Days, if set, carries the days whose first batch Matomo answered
	// from one run to the next in one process (send --follow): each
	// round then sends its batches at once, not the first of each day
	// alone again. Nil: a run starts with every day closed.
	Days *Days
	// Dedup, if set, drops hits of streams (Kinesis) whose request id was
	// read on another line (a record the producer wrote twice); carry one
	// from round to round. Nil: every record is read.
	Dedup *Dedup

	Log *slog.Logger
	// slowAnswer is how long an answer must take before its slowness can
	// lower the batches in flight (default 1 s; tests lower it).
	slowAnswer time.Duration
	// Progress, if set, is told the input being read.
	Progress func(in *input.Input)
	// HitCount, if set, is incremented for each hit read (progress bars read it).
	HitCount *atomic.Int64
}

// SkipNoSite is the skip reason of a hit whose host maps to no site.
const SkipNoSite = "no_site"

// ErrNoHost is returned when a hit has no host and none can be found.
var ErrNoHost = errors.New("the log has no host name")

// OutageError stops a run: Matomo failed for longer than the client's
// MaxOutage, in ways that prove the batches were not stored. Nothing was
// dead-lettered: the next run sends from the last confirmed line.
type OutageError struct{ Err *matomo.NotStoredError }

func (e *OutageError) Error() string {
	return fmt.Sprintf("stopped: Matomo could not take hits for %s (%v); nothing was lost: the hits not confirmed are sent by the next run (--max-outage)",
		e.Err.Outage.Round(time.Second), e.Err.Last)
}

func (e *OutageError) Unwrap() error { return e.Err }

// MaxUntokenedAge is how old a hit may be when sent without a token: Matomo
// rejects a cdt older than 24 h without one; the margin covers the time a
// run takes.
const MaxUntokenedAge = 24*time.Hour - 10*time.Minute

// ErrOldHits is returned when hits are too old to be sent without a token.
var ErrOldHits = errors.New("old hits need a token")

// Stats are the counters of a run. Read them after Run returns.
type Stats struct {
	Inputs        int      `json:"inputs"`
	InputsSkipped int      `json:"inputs_already_delivered"`
	InputsDamaged []string `json:"inputs_damaged,omitempty"`
	InputsBusy    []string `json:"inputs_claimed_elsewhere,omitempty"`
	// InputsSuperseded counts objects overwritten since they were listed.
	InputsSuperseded int `json:"inputs_superseded,omitempty"`
	// InputsGone are files gone between their listing and their reading
	// (a rotated file compressed meanwhile): not read, not damaged.
	InputsGone   []string `json:"inputs_gone,omitempty"`
	AfterFailed  int64    `json:"after_delivery_failed,omitempty"`
	LinesRead    int64    `json:"lines_read"`
	LinesResumed int64    `json:"lines_already_delivered"`
	// Duplicates are hits of streams left out as records written twice
	// (Options.Dedup).
	Duplicates int64 `json:"duplicates,omitempty"`
	// BytesSkipped: bytes of inputs not read at all, their lines delivered
	// before (where a line ends was recorded: input.Mark).
	BytesSkipped int64            `json:"bytes_skipped,omitempty"`
	Hits         int64            `json:"hits"`
	Malformed    map[string]int64 `json:"malformed"`
	InvalidUTF8  int64            `json:"lines_invalid_utf8"`
	Skipped      map[string]int64 `json:"skipped"`
	Queued       int64            `json:"queued"`
	Batches      int64            `json:"batches"`
	Sent         int64            `json:"sent"`
	Tracked      int64            `json:"tracked"`
	Invalid      int64            `json:"invalid"`
	Retries      int64            `json:"retries"`
	DeadLettered int64            `json:"dead_lettered"`
	InDoubt      int64            `json:"in_doubt"`
	// NotSent counts hits left for the next run: the run stopped (a
	// signal, an outage, a fatal error) before Matomo took them.
	NotSent        int64  `json:"not_sent"`
	DeadLetterFile string `json:"dead_letter_file,omitempty"`
	InDoubtFile    string `json:"in_doubt_file,omitempty"`
	RejectedFile   string `json:"rejected_file,omitempty"`
	// InputsWaiting are inputs whose last line is still being written
	// (no newline yet, the file written to moments ago): it is read by a
	// later run, once complete.
	InputsWaiting []string `json:"inputs_waiting,omitempty"`
	// InputsMostlyMalformed are inputs where more lines were malformed
	// than were hits: probably not a log of the format read.
	InputsMostlyMalformed []string `json:"inputs_mostly_malformed,omitempty"`
	// SchemeDefaulted counts hits sent as https because neither the log,
	// --default-protocol nor Matomo's site URL gave a scheme.
	SchemeDefaulted int64 `json:"scheme_defaulted,omitempty"`
	// SiteURLs are the main URLs of Matomo sites that gave a scheme or host
	// to hits whose log had none, by site id.
	SiteURLs map[int]string `json:"site_urls_used,omitempty"`
	// SiteURLParts says what the main URL of each site gave: "scheme",
	// "host", or "scheme and host".
	SiteURLParts map[int]string `json:"site_url_parts,omitempty"`
	// PeakInFlight and FinalInFlight are the most batches in flight at
	// once and the bound at the end (it shrinks when Matomo slows down).
	PeakInFlight  int              `json:"peak_in_flight,omitempty"`
	FinalInFlight int              `json:"final_in_flight,omitempty"`
	AIAgents      map[string]int64 `json:"ai_assistants"`
	UnmappedHosts map[string]int64 `json:"unmapped_hosts,omitempty"`
	// Delivered lists, in a run with Sinks, the inputs Matomo has whole:
	// the caller applies the after-delivery action (OnDone is not called)
	// once the sinks have them durably too.
	Delivered      []string      `json:"-"`
	Elapsed        time.Duration `json:"-"`
	ElapsedSeconds float64       `json:"elapsed_seconds"`
}

// ref is where an item came from.
type ref struct {
	in    *inputState
	shard int
	line  int64
}

type batch struct {
	items [][]byte
	refs  []ref
	days  []dayKey // the sites and days of its hits that may be visits (see saltGate)
	// visits are the days of its persons' hits, which make Matomo create
	// the day's salt.
	visits []dayKey
}

type runner struct {
	opt  Options
	cls  *classify.Classifier
	log  *slog.Logger
	pers *persister
	// begun names the inputs begun, by identity key (an input given
	// twice is read once).
	begun map[string]string
	// window holds the items of the last ReorderWindow of hit time, to be
	// sent in time order; maxSeen is the latest item time seen.
	window  itemHeap
	maxSeen int64
	after   *afterQueue // releases claims and runs OnDone off the ack path
	work    []chan *batch
	cur     []*batch
	stats   Stats
	mu      sync.Mutex // guards stats fields written by workers
	fatal   error
	warnN   map[string]int
	// siteCache holds Matomo's answers for --site-auto, by host.
	siteCache map[string]int
	// sites holds what SiteInfo said, by site id.
	sites map[int]*siteDefaults
	// retry ends when the run stops (the reading context ends, or a fatal
	// error): no batch is started or retried after it.
	retry       context.Context
	cancelRetry context.CancelFunc
	sendCtx     context.Context
	limit       *limiter
	gate        *saltGate
	// claimed are the inputs whose ledger claim this run took.
	claimed     []*inputState
	afterFailed atomic.Int64
}

// Run processes the named inputs ("-" is stdin) in order. ctx stops the
// reading; batches in flight are still completed with sendCtx, which a
// second interrupt cancels. Malformed lines never stop a run; the error is
// for what prevents going on (a ledger that cannot be written, old hits
// without a token, a cancelled context).
func Run(ctx, sendCtx context.Context, names []string, opt Options) (*Stats, error) {
	start := time.Now()
	if opt.BatchSize <= 0 {
		opt.BatchSize = 200
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 4
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ReorderWindow <= 0 {
		opt.ReorderWindow = DefaultReorderWindow
	}
	if opt.MaxOpen <= 0 {
		opt.MaxOpen = 64
	}
	if opt.SinksOnly {
		opt.MaxOpen = 1
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	cls, err := classify.New(opt.Classify)
	if err != nil {
		return nil, err
	}
	r := &runner{opt: opt, cls: cls, log: opt.Log, warnN: map[string]int{}, sendCtx: sendCtx}
	r.retry, r.cancelRetry = context.WithCancel(ctx)
	defer r.cancelRetry()
	r.limit, r.gate = newLimiter(opt.Concurrency), newSaltGate()
	if opt.Days != nil {
		r.gate = opt.Days.gate
	}
	if opt.slowAnswer > 0 {
		r.limit.minSlow = opt.slowAnswer
	}
	r.after = newAfterQueue(r.release)
	r.pers = newPersister(opt.Ledger, r.finished)
	r.stats.Malformed = map[string]int64{}
	r.stats.Skipped = map[string]int64{}
	r.stats.AIAgents = map[string]int64{}
	r.stats.UnmappedHosts = map[string]int64{}
	r.cur = make([]*batch, opt.Concurrency)
	var wg sync.WaitGroup
	if opt.Client != nil {
		r.work = make([]chan *batch, opt.Concurrency)
		for i := range r.work {
			r.work[i] = make(chan *batch, 1)
			wg.Add(1)
			go func(ch chan *batch) {
				defer wg.Done()
				r.worker(ch)
			}(r.work[i])
		}
	}
	runErr := r.merge(ctx, names)
	if runErr == nil {
		for i := range r.cur {
			if err := r.flush(i); err != nil {
				runErr = err
				break
			}
		}
	}
	for _, ch := range r.work {
		close(ch)
	}
	wg.Wait()
	if err := r.pers.close(); err != nil && runErr == nil {
		runErr = err
	}
	r.after.close()
	if r.opt.Ledger != nil {
		r.writeAliases() // what was confirmed: also after a stop
	}
	// Claims of inputs not finished are given back, so that another
	// worker may go on at once.
	for _, st := range r.claimed {
		if !st.released {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := opt.Ledger.Release(ctx, st.key); err != nil {
				r.log.Warn("cannot release a claim; it expires by itself", "input", st.name, "error", err)
			}
			cancel()
		}
	}
	r.stats.AfterFailed = r.afterFailed.Load()
	if err := r.fatalErr(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil && r.stats.NotSent > 0 {
		// Stopped while the last batches were on their way.
		runErr = ctx.Err()
		if runErr == nil {
			runErr = sendCtx.Err()
		}
	}
	if opt.DeadLetter != nil {
		r.stats.DeadLetterFile = opt.DeadLetter.PathIfUsed()
	}
	if opt.Rejected != nil {
		r.stats.RejectedFile = opt.Rejected.PathIfUsed()
	}
	if opt.InDoubt != nil {
		r.stats.InDoubtFile = opt.InDoubt.PathIfUsed()
	}
	if opt.Client != nil {
		r.stats.FinalInFlight, r.stats.PeakInFlight = r.limit.current()
	}
	r.stats.Elapsed = time.Since(start)
	r.stats.ElapsedSeconds = r.stats.Elapsed.Seconds()
	return &r.stats, runErr
}

// writeAliases records, for each file this run read, what was read of
// it also under its content's key (input.Identity.ContentKey), so that a
// later run finds it in the file a rotation makes of it: compressed
// (access.log.1.gz) or copied (copytruncate).
func (r *runner) writeAliases() {
	for _, st := range r.claimed {
		ck := st.aliasKey()
		if !st.read || ck == "" {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), putTimeout)
		if err := r.opt.Ledger.Put(ctx, ck, st.entry()); err != nil {
			r.log.Warn("cannot record what was read of the input under its content (a compressed copy of it would be read whole)", "input", st.name, "error", err)
		}
		cancel()
	}
}

// finished is called by the persister once an input's done entry is
// durable: its claim is released and OnDone told, by the after queue's
// goroutine, so that the workers waiting for the ledger do not wait behind
// an S3 move or delete.
func (r *runner) finished(st *inputState) {
	r.after.add(st)
}

// release gives back an input's claim and tells OnDone.
func (r *runner) release(st *inputState) {
	if st.released {
		return
	}
	st.released = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.opt.Ledger.Release(ctx, st.key); err != nil {
		r.log.Warn("cannot release a claim; it expires by itself", "input", st.name, "error", err)
	}
	r.inputDone(st.name)
}

// afterQueue runs a function on inputs in a goroutine of its own, in the
// order they come; close waits until it has run on every input added.
type afterQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []*inputState
	closed bool
	done   chan struct{}
}

func newAfterQueue(run func(*inputState)) *afterQueue {
	q := &afterQueue{done: make(chan struct{})}
	q.cond = sync.NewCond(&q.mu)
	go func() {
		defer close(q.done)
		q.mu.Lock()
		for {
			for len(q.queue) == 0 && !q.closed {
				q.cond.Wait()
			}
			if len(q.queue) == 0 {
				q.mu.Unlock()
				return
			}
			st := q.queue[0]
			q.queue = q.queue[1:]
			q.mu.Unlock()
			run(st)
			q.mu.Lock()
		}
	}()
	return q
}

func (q *afterQueue) add(st *inputState) {
	q.mu.Lock()
	q.queue = append(q.queue, st)
	q.cond.Signal()
	q.mu.Unlock()
}

func (q *afterQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Signal()
	q.mu.Unlock()
	<-q.done
}

func (r *runner) fatalErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fatal
}

// setFatal stops the run: nothing more is read, and no batch is started
// or retried.
func (r *runner) setFatal(err error) {
	r.mu.Lock()
	if r.fatal == nil {
		r.fatal = err
	}
	r.mu.Unlock()
	r.cancelRetry()
}

// warn logs the first few problems of a kind at warning level, the rest at debug.
func (r *runner) warn(kind, msg string, args ...any) {
	r.warnN[kind]++
	if r.warnN[kind] <= 5 {
		r.log.Warn(msg, args...)
	} else {
		r.log.Debug(msg, args...)
	}
}

// hit classifies, maps and encodes one hit (the filter's changes are
// made: Filter.Apply). It returns nil for a hit that is skipped or that
// Matomo has, and the item to send otherwise.
func (r *runner) hit(st *inputState, h *hit.Hit, lineNo int64) (*queued, error) {
	scheme, host, err := r.schemeHost(st, h, lineNo)
	if err != nil {
		return nil, err
	}
	res, url, site, err := r.decide(h, scheme, host)
	if err != nil {
		return nil, err
	}
	if res.Skip != "" {
		r.stats.Skipped[res.Skip]++
		if r.opt.EmitHit != nil {
			return nil, r.opt.EmitHit(st.name, lineNo, h, res, url, nil)
		}
		return nil, nil
	}
	shard := shardOf(h)
	if st.delivered(shard, lineNo) {
		r.stats.LinesResumed++ // delivered by an earlier run
		return nil, nil
	}
	if res.Agent != "" {
		r.stats.AIAgents[res.Agent]++
	}
	if !r.opt.HasToken && r.opt.Client != nil && r.opt.Now().Sub(h.Time) > MaxUntokenedAge {
		return nil, fmt.Errorf("%w: %s line %d is from %s, older than 24 hours, and Matomo rejects such hits without a token: set MATOMO_TOKEN_AUTH (--token-auth) to a token with write access to site %d",
			ErrOldHits, st.name, lineNo, h.Time.Format(time.RFC3339), r.opt.Encoder.SiteID)
	}
	buf := make([]byte, 0, 256+len(url)*2+len(h.UserAgent))
	enc := r.opt.Encoder
	enc.SiteID = site
	var it []byte
	if enc.Visits {
		// A static file that is sent (--enable-static) is a download, as
		// Matomo's importer sends it.
		it = enc.AppendVisit(buf, h, url, res.Kind != hit.Page, res.Titled, res.Bot || res.BotsParam)
	} else {
		it = enc.Append(buf, h, url, res.Kind == hit.Download)
	}
	if r.opt.EmitHit != nil {
		if err := r.opt.EmitHit(st.name, lineNo, h, res, url, it); err != nil {
			return nil, err
		}
	}
	r.stats.Queued++
	q := &queued{item: it, unix: h.Time.UnixNano(), site: site, ref: ref{in: st, shard: shard, line: lineNo}}
	// Matomo routes a request to visits in visits mode and, in rec mode 2,
	// when its device detector sees no bot; rec mode 1 never makes visits.
	q.mayVisit = enc.Visits || enc.RecMode == 2
	q.person = q.mayVisit && !res.Bot
	if st.key != "" && r.opt.Client != nil {
		st.track(shard, lineNo) // at read time, in line order: the ledger never passes it
		q.tracked = true
	}
	return q, nil
}

// decide applies the filters and the classification to a hit, and maps
// it to its site: res.Skip says why it is not sent; url is the page's URL
// when it is sent (or printed by parse --output jsonl).
func (r *runner) decide(h *hit.Hit, scheme, host string) (res classify.Result, url string, site int, err error) {
	site = r.opt.Encoder.SiteID
	if res.Skip = r.opt.Filter.Skip(h, host); res.Skip != "" {
		return res, "", site, nil
	}
	if r.cls.NeedsURL() {
		url = h.URL(scheme, host)
	}
	res = r.cls.Classify(h, url)
	if url == "" && (res.Skip == "" || r.opt.EmitHit != nil) {
		url = h.URL(scheme, host)
	}
	if res.Skip == "" && (r.opt.Sites != nil || r.opt.SiteLookup != nil) {
		id, err := r.siteOf(host)
		if err != nil {
			return res, url, site, err
		}
		if id > 0 {
			site = id
		} else if site <= 0 {
			res.Skip = SkipNoSite
			r.stats.UnmappedHosts[strings.ToLower(host)]++
		}
	}
	return res, url, site, nil
}

// siteDefaults is what Matomo said of a site, for hits that lack a scheme
// or host, and for the salt gate.
type siteDefaults struct {
	scheme, host string
	loc          *time.Location // nil: unknown
}

// site returns what SiteInfo says of a site, asked once.
func (r *runner) site(id int) *siteDefaults {
	if d, ok := r.sites[id]; ok {
		return d
	}
	d := &siteDefaults{}
	if r.sites == nil {
		r.sites = map[int]*siteDefaults{}
	}
	r.sites[id] = d
	if r.opt.SiteInfo == nil || id <= 0 {
		return d
	}
	info, err := r.opt.SiteInfo(id)
	if err != nil {
		r.log.Warn("cannot ask Matomo for the site's URL and time zone", "idsite", id, "error", err)
		return d
	}
	if d.scheme, d.host, err = info.SchemeHost(); err != nil {
		r.log.Warn("Matomo's main URL of the site is not usable", "idsite", id, "error", err)
	}
	if loc, ok := info.Location(); ok {
		d.loc = loc
	} else {
		r.log.Warn("unknown time zone of the site: its days are taken as any time zone's", "idsite", id, "timezone", info.Timezone)
	}
	return d
}

// schemeHost returns the scheme and host of a hit: the log's, else
// --default-protocol and --default-host, else those of the main URL of the
// site the hit goes to (as Matomo's importer does), else https for the
// scheme; a hit without a host is an error (ErrNoHost).
func (r *runner) schemeHost(st *inputState, h *hit.Hit, lineNo int64) (scheme, host string, err error) {
	scheme, host = h.Scheme, h.Host
	if scheme == "" {
		scheme = r.opt.DefaultScheme
	}
	if host == "" {
		host = r.opt.DefaultHost
	}
	if scheme != "" && host != "" {
		return scheme, host, nil
	}
	site := r.opt.Encoder.SiteID
	if host != "" && (r.opt.Sites != nil || r.opt.SiteLookup != nil) {
		id, err := r.siteOf(host)
		if err != nil {
			return "", "", err
		}
		if id > 0 {
			site = id
		}
	}
	d := r.site(site)
	if host == "" && d.host != "" {
		host = d.host
		r.usedSiteURL(site, d, "host")
	}
	if scheme == "" && d.scheme != "" {
		scheme = d.scheme
		r.usedSiteURL(site, d, "scheme")
	}
	if host == "" {
		how := ", or give MATOMO_URL and a token (MATOMO_TOKEN_AUTH): the host is then the one of the site's main URL in Matomo"
		switch {
		case site <= 0:
			how = " (no site id: none to ask Matomo about)"
		case r.opt.SiteInfo != nil:
			how = fmt.Sprintf(" (Matomo did not say the main URL of site %d: see above)", site)
		}
		return "", "", fmt.Errorf("%w (%s, line %d), and none is set: set --default-host%s", ErrNoHost, st.name, lineNo, how)
	}
	if scheme == "" {
		scheme = "https"
		r.stats.SchemeDefaulted++
	}
	return scheme, host, nil
}

// usedSiteURL records that part ("scheme" or "host") of a hit came from
// the main URL of site.
func (r *runner) usedSiteURL(site int, d *siteDefaults, part string) {
	if r.stats.SiteURLs == nil {
		r.stats.SiteURLs, r.stats.SiteURLParts = map[int]string{}, map[int]string{}
	}
	if _, ok := r.stats.SiteURLs[site]; !ok {
		r.stats.SiteURLs[site] = d.scheme + "://" + d.host
		r.log.Info("the log has no "+part+": using the site's main URL in Matomo", "idsite", site, "url", d.scheme+"://"+d.host)
	}
	switch p := r.stats.SiteURLParts[site]; {
	case p == "":
		r.stats.SiteURLParts[site] = part
	case p != part && p != "scheme and host":
		r.stats.SiteURLParts[site] = "scheme and host"
	}
}

// siteOf maps a host to a site: the rules first, then Matomo (cached).
func (r *runner) siteOf(host string) (int, error) {
	if r.opt.Sites != nil {
		if id, ok := r.opt.Sites.Lookup(host); ok {
			return id, nil
		}
	}
	if r.opt.SiteLookup == nil {
		return 0, nil
	}
	key := strings.ToLower(host)
	if id, ok := r.siteCache[key]; ok {
		return id, nil
	}
	id, err := r.opt.SiteLookup(key)
	if err != nil {
		return 0, fmt.Errorf("asking Matomo for the site of %s: %w", host, err)
	}
	if r.siteCache == nil {
		r.siteCache = make(map[string]int)
	}
	r.siteCache[key] = id
	if id > 0 {
		r.log.Info("site found in Matomo", "host", host, "idsite", id)
	}
	return id, nil
}

// enqueue adds an item to the batch of its worker, and hands the batch on
// when it is full.
func (r *runner) enqueue(q *queued) error {
	w := q.ref.shard % len(r.cur)
	b := r.cur[w]
	if b == nil {
		b = &batch{items: make([][]byte, 0, r.opt.BatchSize), refs: make([]ref, 0, r.opt.BatchSize)}
		r.cur[w] = b
	}
	b.items = append(b.items, q.item)
	if q.tracked {
		b.refs = append(b.refs, q.ref)
	}
	if r.opt.Client != nil && q.mayVisit {
		t, loc := time.Unix(0, q.unix), r.site(q.site).loc
		b.days = daysOf(q.site, t, loc, b.days)
		if q.person {
			b.visits = daysOf(q.site, t, loc, b.visits)
		}
	}
	if len(b.items) >= r.opt.BatchSize {
		return r.flush(w)
	}
	return nil
}

// shardOf hashes the visitor (client IP and user agent) to a shard with
// FNV-1a: stable across runs and machines.
func shardOf(h *hit.Hit) int {
	const offset64, prime64 = 14695981039346656037, 1099511628211
	x := uint64(offset64)
	for i := 0; i < len(h.ClientIP); i++ {
		x = (x ^ uint64(h.ClientIP[i])) * prime64
	}
	x *= prime64 // a 0 byte between the two
	for i := 0; i < len(h.UserAgent); i++ {
		x = (x ^ uint64(h.UserAgent[i])) * prime64
	}
	return int(x % Shards)
}

func (r *runner) flush(w int) error {
	b := r.cur[w]
	if b == nil || len(b.items) == 0 {
		return nil
	}
	r.cur[w] = nil
	if r.opt.Client == nil {
		if r.opt.Emit != nil {
			return r.opt.Emit(b.items)
		}
		return nil
	}
	r.work[w] <- b
	return nil
}
