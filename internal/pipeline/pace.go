package pipeline

import (
	"context"
	"slices"
	"sync"
	"time"
)

// limiter bounds the batches in flight and adapts the bound to how Matomo
// answers, so that a slow Matomo is not pushed into timeouts (a batch that
// times out after it was sent is in doubt): additive increase,
// multiplicative decrease, as TCP does.
//
// The signal is the time per hit of an answer against the fastest seen
// lately (the baseline, which drifts up by 0.2 % an answer): an answer
// slower than slowFactor × baseline, and slower than minSlow in all, takes
// one batch off the bound (at most once per round of answers); a timeout,
// a 429 or a 5xx halves it; a round of answers all near the baseline adds
// one, up to max.
type limiter struct {
	mu       sync.Mutex
	cond     *sync.Cond
	max      int
	limit    int
	inflight int
	peak     int // most batches in flight at once
	// baseline is the fastest time per hit seen, in seconds.
	baseline float64
	// fast counts answers near the baseline since the bound last changed.
	fast int
	// sinceCut counts answers since the bound was last lowered.
	sinceCut int
	// minSlow: answers faster than this never lower the bound.
	minSlow time.Duration
}

const slowFactor = 2.0

func newLimiter(max int) *limiter {
	l := &limiter{max: max, limit: max, minSlow: time.Second, sinceCut: max}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// acquire waits for a slot; false when ctx ended first.
func (l *limiter) acquire(ctx context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !waitFor(ctx, l.cond, func() bool { return l.inflight < l.limit }) {
		return false
	}
	l.inflight++
	l.peak = max(l.peak, l.inflight)
	return true
}

// answer kinds for release.
const (
	answerOK       = iota // an answer, with its time
	answerOverload        // a timeout, 429 or 5xx: Matomo is overloaded or failing
	answerOther           // nothing to learn (refused, stopped)
)

// release frees a slot and learns from the answer: kind, and for answerOK
// the batch's hits and how long the answer took.
func (l *limiter) release(kind, hits int, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	defer l.cond.Broadcast()
	switch kind {
	case answerOverload:
		l.lower(max(1, l.limit/2))
		return
	case answerOther:
		return
	}
	if hits <= 0 || took <= 0 {
		return
	}
	l.sinceCut++
	per := took.Seconds() / float64(hits)
	// The baseline drifts up by 0.2 % an answer (it doubles in 350
	// answers), so that it follows a Matomo whose speed changes for good
	// (a bigger database) instead of holding a lucky minimum for ever.
	l.baseline *= 1.002
	if l.baseline == 0 || per < l.baseline {
		l.baseline = per
	}
	switch {
	case per > slowFactor*l.baseline && took >= l.minSlow:
		l.fast = 0
		// Once per round: the answers of batches sent before the last cut
		// say nothing of the new bound.
		if l.sinceCut >= l.limit {
			l.lower(l.limit - 1)
		}
	case per <= 1.25*l.baseline:
		l.fast++
		if l.fast >= l.limit && l.limit < l.max {
			l.limit++
			l.fast = 0
		}
	}
}

func (l *limiter) lower(to int) {
	to = max(1, to)
	if to < l.limit {
		l.limit = to
		l.sinceCut = 0
	}
	l.fast = 0
}

// current returns the bound and the peak of batches in flight.
func (l *limiter) current() (limit, peak int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit, l.peak
}

// waitFor waits on c, whose lock the caller holds, until ready is true; it
// returns false, at once, when ctx ends first.
func waitFor(ctx context.Context, c *sync.Cond, ready func() bool) bool {
	stop := context.AfterFunc(ctx, func() {
		c.L.Lock()
		c.Broadcast()
		c.L.Unlock()
	})
	defer stop()
	for !ready() {
		if ctx.Err() != nil {
			return false
		}
		c.Wait()
	}
	return ctx.Err() == nil
}

// dayKey is one day of one site, in the site's time zone.
type dayKey struct {
	site int
	day  int32 // days since 1970-01-01 in the site's time zone
}

// saltGate sends the first batch of each site and day alone. Matomo creates
// a per-site, per-day salt for visitor fingerprints inside the first
// request that needs it; concurrent first requests each create one, which
// splits visits (a real Matomo 5.0.2 even deadlocked). A batch whose days
// include one whose first batch is on its way waits for its answer.
//
// Only a visit creates the salt: a batch of bots (Matomo's bot path, or
// excluded) does not. So a day is open once a batch with a person's hit of
// that day was answered; batches of that day that hold only bots go one at
// a time before that (Matomo's bot detection may disagree with ours).
type saltGate struct {
	mu    sync.Mutex
	cond  *sync.Cond
	state map[dayKey]uint8 // absent: no batch yet; gatePending; gateOpen
}

// Days are the days whose first batch Matomo answered (see saltGate),
// shared by the runs of one process (Options.Days). Safe for concurrent
// use.
type Days struct{ gate *saltGate }

// NewDays returns Days with every day closed.
func NewDays() *Days { return &Days{gate: newSaltGate()} }

const (
	gatePending uint8 = 1
	gateOpen    uint8 = 2
)

func newSaltGate() *saltGate {
	g := &saltGate{state: map[dayKey]uint8{}}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// enter waits until no first batch of keys is on its way, then makes this
// batch the first of every key not seen yet, which it returns (to give to
// leave). ok is false when ctx ended first.
func (g *saltGate) enter(ctx context.Context, keys []dayKey) (owned []dayKey, ok bool) {
	if len(keys) == 0 {
		return nil, true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	free := func() bool {
		return !slices.ContainsFunc(keys, func(k dayKey) bool { return g.state[k] == gatePending })
	}
	if !waitFor(ctx, g.cond, free) {
		return nil, false
	}
	for _, k := range keys {
		if g.state[k] == 0 {
			g.state[k] = gatePending
			owned = append(owned, k)
		}
	}
	return owned, true
}

// leave ends the first batches of owned: Matomo has the salt of a day when
// the batch may have been stored (reached) and held a person's hit of that
// day (in visits); otherwise the next batch of that day is the first again.
func (g *saltGate) leave(owned, visits []dayKey, reached bool) {
	if len(owned) == 0 {
		return
	}
	g.mu.Lock()
	for _, k := range owned {
		if reached && slices.Contains(visits, k) {
			g.state[k] = gateOpen
		} else {
			delete(g.state, k)
		}
	}
	g.cond.Broadcast()
	g.mu.Unlock()
}

// daysOf returns the keys of a hit of site at t: the day in loc, or, when
// the site's time zone is unknown (loc nil), every UTC day the hit's local
// day can be (time zones run from UTC-12 to UTC+14), so that two hits of
// one local day always share a key.
func daysOf(site int, t time.Time, loc *time.Location, dst []dayKey) []dayKey {
	if loc != nil {
		return appendKey(dst, dayKey{site: site, day: dayNumber(t.In(loc))})
	}
	lo, hi := dayNumber(t.Add(-12*time.Hour).UTC()), dayNumber(t.Add(14*time.Hour).UTC())
	for d := lo; d <= hi; d++ {
		dst = appendKey(dst, dayKey{site: site, day: d})
	}
	return dst
}

func appendKey(dst []dayKey, k dayKey) []dayKey {
	for _, x := range dst {
		if x == k {
			return dst
		}
	}
	return append(dst, k)
}

// dayNumber is the number of t's calendar day (in t's location) since
// 1970-01-01.
func dayNumber(t time.Time) int32 {
	y, m, d := t.Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}
