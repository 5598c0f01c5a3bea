package report

import "strings"

// VisitGap is Matomo's visit rule: a hit more than 30 minutes after the
// visitor's previous one starts a new visit (and a visit never crosses
// midnight, as each day is counted apart).
const VisitGap = 30 * 60

// visit is one visit of a visitor: its first and last action in seconds
// of the day, and its entry page (an index into visitorSet.pages).
type visit struct{ start, end, entry uint32 }

// visitor is what a day knows of one visitor (an IP address and a user
// agent). A visitor holds the visits as intervals: adding a hit joins the
// intervals it falls within VisitGap of, which gives the visits of the
// whole day whatever order the hits come in.
type visitor struct {
	hours   uint32 // bit h: an action in hour h
	actions uint32 // page views and downloads
	ua      uint32 // index into visitorSet.uas
	country [2]byte
	first   visit
	more    []visit // further visits, rare
}

// visitorSet holds a day's visitors, keyed by a 64-bit hash of IP and user
// agent (the state holds no IP address). Two visitors share a hash with a
// probability of about n²/2⁶⁵ for n visitors a day (3·10⁻⁸ for a million).
type visitorSet struct {
	m     map[uint64]*visitor
	uas   []string
	uaIdx map[string]uint32
	// uaKind holds what UAFunc said of each user agent (browser, OS,
	// device), once it was asked: later runs need not ask again.
	uaKind  [][3]string
	pages   []string // entry pages
	pageIdx map[string]uint32
}

func newVisitorSet() *visitorSet {
	return &visitorSet{m: make(map[uint64]*visitor), uaIdx: make(map[string]uint32), pageIdx: make(map[string]uint32)}
}

// visitorID hashes an IP address and a user agent with FNV-1a.
func visitorID(ip, ua string) uint64 {
	const offset64, prime64 = 14695981039346656037, 1099511628211
	x := uint64(offset64)
	for i := 0; i < len(ip); i++ {
		x = (x ^ uint64(ip[i])) * prime64
	}
	x = (x ^ 0xff) * prime64
	for i := 0; i < len(ua); i++ {
		x = (x ^ uint64(ua[i])) * prime64
	}
	return x
}

func (s *visitorSet) uaIndex(ua string) uint32 {
	if i, ok := s.uaIdx[ua]; ok {
		return i
	}
	ua = strings.Clone(ua)
	i := uint32(len(s.uas))
	s.uas = append(s.uas, ua)
	s.uaIdx[ua] = i
	return i
}

func (s *visitorSet) pageIndex(p string) uint32 {
	if i, ok := s.pageIdx[p]; ok {
		return i
	}
	p = strings.Clone(p)
	i := uint32(len(s.pages))
	s.pages = append(s.pages, p)
	s.pageIdx[p] = i
	return i
}

// add records an action of visitor id at second t of the day on page.
// isNew is called for a visitor the day has not seen, to fill in its user
// agent and country.
func (s *visitorSet) add(id uint64, t uint32, page string, isNew func(v *visitor)) {
	v := s.m[id]
	if v == nil {
		v = &visitor{first: visit{start: t, end: t, entry: s.pageIndex(page)}}
		isNew(v)
		v.hours = 1 << (t / 3600)
		v.actions = 1
		s.m[id] = v
		return
	}
	v.hours |= 1 << (t / 3600)
	v.actions++
	// The visits within VisitGap of t, joined with t into one.
	near := func(x visit) bool { return t+VisitGap >= x.start && t <= x.end+VisitGap }
	if !near(v.first) && !anyNear(v.more, near) {
		v.more = append(v.more, visit{start: t, end: t, entry: s.pageIndex(page)})
		return
	}
	joined := visit{start: ^uint32(0), end: t, entry: ^uint32(0)}
	var rest []visit
	for _, x := range append([]visit{v.first}, v.more...) {
		if !near(x) {
			rest = append(rest, x)
			continue
		}
		if x.start < joined.start || x.start == joined.start && s.pages[x.entry] < s.pages[joined.entry] {
			joined.entry = x.entry
			joined.start = x.start
		}
		joined.end = max(joined.end, x.end)
	}
	// The entry page is the page of the earliest action; at the same
	// second, the smaller page: whatever order the hits came in.
	if t < joined.start || t == joined.start && page < s.pages[joined.entry] {
		joined.entry = s.pageIndex(page)
		joined.start = t
	}
	v.first, v.more = joined, rest
}

func anyNear(vs []visit, near func(visit) bool) bool {
	for _, x := range vs {
		if near(x) {
			return true
		}
	}
	return false
}

// visits calls f for each visit of v.
func (v *visitor) visits(f func(visit)) {
	f(v.first)
	for _, x := range v.more {
		f(x)
	}
}

// count returns the number of visits of v.
func (v *visitor) count() int { return 1 + len(v.more) }
