package matomotest

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // site time zones must load on machines without zoneinfo
)

// This file models Matomo's per-site, per-day fingerprint salt
// (Tracker\FingerprintSalt): the option fingerprint_salt_<idsite>_<date>,
// read with Option::get and, when missing, created with Option::set
// (INSERT ... ON DUPLICATE KEY UPDATE) inside the transaction of the
// request that needs it. PHP's Option cache keeps what one request read or
// wrote for the rest of that request.

// saltKey is a site and a day (days since 1970-01-01 in the site's zone).
type saltKey struct {
	site int32
	day  int32
}

// saltStore is the option table's fingerprint salts (guarded by Server.mu).
type saltStore struct {
	committed map[saltKey]uint32 // visible to every request
	pending   map[saltKey]int    // uncommitted salts held by open transactions
	next      uint32             // the last salt value handed out
}

// tx is one request's database transaction, as far as salts go.
type tx struct {
	s          *Server
	autocommit bool               // every write commits at once (single requests, or after a deadlock)
	deadlock   bool               // a race kills the transaction (Config.SaltDeadlock)
	cache      map[saltKey]uint32 // PHP's Option cache: salts read or written
	created    map[saltKey]uint32 // salts written and not committed yet
	dead       bool               // the deadlock happened: the transaction is gone
}

func newTx(s *Server, autocommit bool) *tx {
	return &tx{s: s, autocommit: autocommit, deadlock: s.cfg.SaltDeadlock && !autocommit}
}

// salt returns the salt of k for this request: from its cache, else the
// committed one, else a new one (FingerprintSalt::getSalt). ok is false
// when creating it deadlocked: the caller must roll the transaction back
// and skip the item.
func (t *tx) salt(k saltKey) (uint32, bool) {
	if v, ok := t.cache[k]; ok {
		return v, true
	}
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.salts
	if v, ok := st.committed[k]; ok {
		t.remember(k, v)
		return v, true
	}
	raced := st.pending[k] > 0
	if raced {
		s.stats.SaltRaces++
		if t.deadlock && !t.autocommit {
			return 0, false
		}
	}
	st.next++
	v := st.next
	if t.autocommit {
		if st.committed == nil {
			st.committed = map[saltKey]uint32{}
		}
		st.committed[k] = v
	} else {
		if st.pending == nil {
			st.pending = map[saltKey]int{}
		}
		st.pending[k]++
		if t.created == nil {
			t.created = map[saltKey]uint32{}
		}
		t.created[k] = v
	}
	t.remember(k, v)
	return v, true
}

func (t *tx) remember(k saltKey, v uint32) {
	if t.cache == nil {
		t.cache = map[saltKey]uint32{}
	}
	t.cache[k] = v
}

// commitSaltsLocked makes the salts this transaction created visible. The
// option name is unique and Option::set updates it on a duplicate, so the
// last transaction to commit wins.
func (t *tx) commitSaltsLocked() {
	st := &t.s.salts
	for k, v := range t.created {
		t.dropPendingLocked(k)
		if st.committed == nil {
			st.committed = map[saltKey]uint32{}
		}
		st.committed[k] = v
	}
	t.created = nil
}

// rollbackSaltsLocked forgets the salts this transaction created (PHP's
// Option cache still has them: the request goes on using them).
func (t *tx) rollbackSaltsLocked() {
	for k := range t.created {
		t.dropPendingLocked(k)
	}
	t.created = nil
}

func (t *tx) dropPendingLocked(k saltKey) {
	st := &t.s.salts
	if st.pending[k] <= 1 {
		delete(st.pending, k)
	} else {
		st.pending[k]--
	}
}

// killed is the deadlock: InnoDB rolls the whole transaction back, and the
// statements that follow run in autocommit mode.
func (t *tx) killed() {
	t.s.mu.Lock()
	t.rollbackSaltsLocked()
	t.s.mu.Unlock()
	t.autocommit, t.dead = true, true
}

// rollback ends the transaction without committing.
func (t *tx) rollback() {
	t.s.mu.Lock()
	t.rollbackSaltsLocked()
	t.s.mu.Unlock()
}

// saltDay is the day of unix time ts in loc (nil: UTC), as days since
// 1970-01-01.
func saltDay(ts int64, loc *time.Location) int32 {
	if loc != nil && loc != time.UTC {
		_, off := time.Unix(ts, 0).In(loc).Zone()
		ts += int64(off)
	}
	d := ts / 86400
	if ts%86400 < 0 {
		d--
	}
	return int32(d)
}

func dayString(d int32) string {
	return time.Unix(int64(d)*86400, 0).UTC().Format("2006-01-02")
}

// configID is the visitor's fingerprint: the first 8 bytes of an md5 of
// what Settings::getConfigHash() puts in (the user agent standing in for
// DeviceDetector's OS and browser; no plugin flags), the daily salt and
// the site. buf is scratch space; the grown buffer is returned.
func configID(buf []byte, ua string, ip netip.Addr, lang string, salt uint32, site int32) ([8]byte, []byte) {
	b := append(buf[:0], ua...)
	b = append(b, 0)
	if ip.IsValid() {
		b = ip.Unmap().AppendTo(b)
	} else {
		b = append(b, "0.0.0.0"...)
	}
	b = append(b, 0)
	b = append(b, lang...)
	b = append(b, 0)
	b = strconv.AppendUint(b, uint64(salt), 10)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(site), 10)
	sum := md5.Sum(b)
	var out [8]byte
	copy(out[:], sum[:])
	return out, b
}

// ipText is how an IP is stored: Matomo keeps a binary address, and one it
// cannot parse becomes 0.0.0.0.
func ipText(a netip.Addr) string {
	if !a.IsValid() {
		return "0.0.0.0"
	}
	return a.Unmap().String()
}

// browserLanguage is Request::getBrowserLanguage(): lang, else the
// Accept-Language header (lower case, without spaces), cut to 20 bytes.
func browserLanguage(param, header string) string {
	l := param
	if l == "" {
		l = strings.ToLower(strings.ReplaceAll(header, " ", ""))
	}
	if len(l) > 20 {
		l = l[:20]
	}
	return l
}

// loadTimezone understands what Matomo stores as a site's time zone: an
// IANA name, "UTC", or a fixed offset in hours like "UTC+5.5" or "UTC-3".
func loadTimezone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if rest, ok := strings.CutPrefix(name, "UTC"); ok && rest != "" && (rest[0] == '+' || rest[0] == '-') {
		h, err := strconv.ParseFloat(rest[1:], 64)
		if err != nil || math.IsNaN(h) || h < 0 || h > 14 {
			return nil, errors.New("bad UTC offset " + strconv.Quote(name))
		}
		secs := int(math.Round(h * 3600))
		if rest[0] == '-' {
			secs = -secs
		}
		return time.FixedZone(name, secs), nil
	}
	if name == "Local" {
		return nil, errors.New(`"Local" is not a time zone Matomo knows`) // and it would depend on the machine
	}
	return time.LoadLocation(name)
}

// identity is the IP, user agent and language a visit record was stored
// with; get reads its parameters.
func (r *rec) identity(get func(string) string) (ip, ua, lang string) {
	ip = ipText(r.info.remote)
	if r.vflags&vfCip != 0 {
		a, _ := netip.ParseAddr(get("cip"))
		ip = ipText(a)
	}
	ua = get("ua")
	if r.vflags&vfUAHeader != 0 {
		ua = r.info.httpUA
	}
	lang = browserLanguage(get("lang"), "")
	if r.vflags&vfLangHeader != 0 {
		lang = r.info.acceptLang
	}
	return ip, ua, lang
}

// Visitor is one visitor as a test sees it: the hits stored for one site
// and salt day from one IP, user agent and language, and the fingerprints
// Matomo gave them. Without a salt race, every such visitor has exactly
// one ConfigID; more than one means Matomo split it into several visitors
// (and so several visits).
type Visitor struct {
	SiteID    int
	Day       string   // the salt day, in the site's time zone
	IP        string   // as in Record.IP
	UA        string   // ua, else the HTTP User-Agent of the request
	Lang      string   // lang, else Accept-Language (cut to 20 bytes)
	ConfigIDs []string // distinct, in commit order
	Hits      int      // stored records
}

// Visitors groups the committed visit records (not KindBot) by site, salt
// day, IP, user agent and language, sorted by those.
func (s *Server) Visitors() []Visitor {
	chunks, _ := s.snapshot()
	type key struct {
		site         int32
		day          int32
		ip, ua, lang string
	}
	idx := map[key]int{}
	var out []Visitor
	for _, c := range chunks {
		for i := range c {
			r := &c[i]
			if r.kind != 0 || r.info == nil {
				continue
			}
			ip, ua, lang := r.identity(paramsOf(r.raw, r.obj).Get)
			k := key{r.site, r.day, ip, ua, lang}
			j, ok := idx[k]
			if !ok {
				j = len(out)
				idx[k] = j
				out = append(out, Visitor{SiteID: int(r.site), Day: dayString(r.day), IP: ip, UA: ua, Lang: lang})
			}
			v := &out[j]
			v.Hits++
			id := hex.EncodeToString(r.cfg[:])
			found := false
			for _, x := range v.ConfigIDs {
				found = found || x == id
			}
			if !found {
				v.ConfigIDs = append(v.ConfigIDs, id)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		switch {
		case a.SiteID != b.SiteID:
			return a.SiteID < b.SiteID
		case a.Day != b.Day:
			return a.Day < b.Day
		case a.IP != b.IP:
			return a.IP < b.IP
		case a.UA != b.UA:
			return a.UA < b.UA
		}
		return a.Lang < b.Lang
	})
	return out
}

// SplitVisitors are the Visitors with more than one ConfigID.
func (s *Server) SplitVisitors() []Visitor {
	var out []Visitor
	for _, v := range s.Visitors() {
		if len(v.ConfigIDs) > 1 {
			out = append(out, v)
		}
	}
	return out
}
