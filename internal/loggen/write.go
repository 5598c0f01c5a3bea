package loggen

import (
	"bufio"
	"strconv"
	"strings"
	"time"
)

var ctEsc [numCT]string

func init() {
	for i, s := range contentTypes {
		ctEsc[i] = Escape(s)
	}
}

// outcome decides how CloudFront answered a request.
func (g *gen) outcome(vt *visit, q *req) outcome {
	r := q.res
	v := vt.vis
	o := outcome{rs: -1, re: -1, clen: -1, ctype: r.ctype, scBytes: -1}
	o.hdr = int64(g.between(260, 480))
	if q.http {
		o.status = 301
		o.rt, o.resp, o.det = rtRedirect, rtRedirect, rtRedirect
		o.ctype = ctHTMLShort
		o.clen, o.body = 167, 167
		o.hdr = int64(g.between(230, 270))
		o.taken = int64(g.between(0, 3))
		o.ttfb = o.taken
		if q.method == mHEAD {
			o.body = 0
		}
		return o
	}

	// refused at the edge
	switch x := g.f(); {
	case x < 0.00025:
		return g.edgeError(o, 503, rtCapacityExceeded)
	case x < 0.0004:
		return g.edgeError(o, 503, rtLimitExceeded)
	case x < 0.0008:
		o = g.edgeError(o, 403, rtError)
		o.det = rtClientGeoBlocked
		return o
	}
	if (q.method == mPOST || q.method == mPUT || q.method == mDELETE) && r.kind != kAPI && r.kind != kMissing {
		o = g.edgeError(o, 403, rtError)
		o.det = rtInvalidRequestMethod
		return o
	}

	switch r.kind {
	case kMissing:
		o.status = 404
		if strings.HasPrefix(r.stem, "/.") && g.chance(0.7) {
			o.status = 403
		}
		o.rt, o.resp, o.det = rtError, rtError, rtError
		o.body = r.size
		o.clen = r.size
		if g.chance(0.5) {
			o.ttfb = g.originTime(90)
		} else {
			o.ttfb = g.hitTime()
		}
	case kRedirect:
		o.status = 301
		if g.chance(0.25) {
			o.status = 302
		}
		o.rt = rtMiss
		if g.chance(0.4) {
			o.rt = rtHit
		}
		o.resp, o.det = o.rt, o.rt
		o.clen = 0
		if g.chance(0.5) {
			o.ctype = ctNone
			o.clen = -1
		}
		if o.rt == rtMiss {
			o.ttfb = g.originTime(80)
		} else {
			o.ttfb = g.hitTime()
		}
	case kGenerated:
		o.status = 302
		o.rt, o.resp, o.det = rtMiss, rtMiss, rtMissGeneratedResponse
		o.clen = 0
		o.ttfb = int64(g.between(1, 6))
	case kAPI:
		o.rt, o.resp, o.det = rtMiss, rtMiss, rtMiss
		o.ttfb = g.originTime(110)
		switch q.method {
		case mGET, mHEAD:
			o.status = 200
			o.body = r.size/2 + g.r.Int64N(r.size+1)
			o.clen = o.body
			if g.chance(0.3) {
				o.clen = -1 // chunked
			}
		case mPOST:
			o.status = 200
			if g.chance(0.3) {
				o.status = 201
			}
			o.body = int64(g.between(2, 300))
			o.clen = o.body
		case mPUT:
			o.status = 200
			o.body = int64(g.between(20, 600))
			o.clen = o.body
		case mDELETE, mOPTIONS:
			o.status = 204
			o.ctype = ctNone
			if q.method == mOPTIONS && g.chance(0.3) {
				o.rt, o.resp, o.det = rtHit, rtHit, rtHit
				o.ttfb = g.hitTime()
			}
		}
		if v.ag.behav == bhGoClient && q.method != mGET && g.chance(0.15) {
			o.status = 401
			o.rt, o.resp, o.det = rtError, rtError, rtError
			o.body = int64(g.between(30, 120))
			o.clen = o.body
			o.ctype = ctJSON
		}
		if o.status < 400 && g.chance(0.004) {
			o = g.originError(o, q)
		}
	default:
		g.cached(&o, q)
	}

	if q.method == mHEAD {
		o.body = 0
	}
	o.taken = o.ttfb + g.transfer(v, o.body)
	if o.det == rtOriginReadError || o.det == rtOriginConnectError {
		o.taken = o.ttfb
	}

	// the viewer went away before a response started
	if x := g.f(); x < 0.0025 && o.status != 304 {
		o.status = 0
		o.resp = o.rt
		o.rt, o.det = rtError, rtClientCommError
		o.scBytes = int64(g.between(0, 180))
		o.ctype = ctNone
		o.clen, o.rs, o.re = -1, -1, -1
		o.taken = int64(g.lognorm(900, 1.2))
		if o.ttfb > o.taken {
			o.ttfb = o.taken
		}
	}
	return o
}

func (g *gen) edgeError(o outcome, status, rt int) outcome {
	o.status = status
	o.rt, o.resp, o.det = rt, rt, rt
	o.ctype = ctHTMLShort
	o.body = int64(g.between(900, 1100))
	o.clen = o.body
	o.ttfb = int64(g.between(0, 3))
	o.taken = o.ttfb + int64(g.between(0, 2))
	return o
}

func (g *gen) originError(o outcome, q *req) outcome {
	o.rt, o.resp, o.det = rtError, rtError, rtError
	o.ctype = ctHTMLShort
	o.body = int64(g.between(500, 1000))
	o.clen = o.body
	o.rs, o.re = -1, -1
	switch x := g.f(); {
	case x < 0.45:
		o.status = 502
		switch y := g.f(); {
		case y < 0.45:
			o.det = rtOriginConnectError
			if g.chance(0.5) {
				o.ttfb = int64(g.between(10000, 30500))
			} else {
				o.ttfb = int64(g.between(5, 120))
			}
		case y < 0.65:
			o.det = rtOriginDNSError
			o.ttfb = int64(g.between(3, 60))
		default:
			o.det = rtOriginCommError
			o.ttfb = g.originTime(300)
		}
	case x < 0.62:
		o.status = 504
		o.det = rtOriginReadError
		o.ttfb = int64(g.between(30000, 30120))
	case x < 0.82:
		o.status = 503
		o.det = rtOriginError
		o.ttfb = g.originTime(60)
	default:
		o.status = 500
		o.ttfb = g.originTime(400)
	}
	return o
}

// cached decides the answer for pages, assets, downloads and media.
func (g *gen) cached(o *outcome, q *req) {
	r := q.res
	var hit, refresh float64
	switch r.kind {
	case kPage:
		hit, refresh = 0.45, 0.05
	case kAsset:
		hit, refresh = 0.88, 0.04
	case kDownload:
		hit, refresh = 0.7, 0.03
	default:
		hit, refresh = 0.8, 0.02
	}
	x := g.f()
	switch {
	case x < hit:
		o.rt = rtHit
		o.ttfb = g.hitTime()
	case x < hit+refresh:
		o.rt = rtRefreshHit
		o.ttfb = g.originTime(40)
	default:
		o.rt = rtMiss
		if r.kind == kPage {
			o.ttfb = g.originTime(160)
		} else {
			o.ttfb = g.originTime(70)
		}
	}
	o.resp, o.det = o.rt, o.rt
	if o.rt == rtMiss && g.chance(0.25) {
		o.det = rtOriginShieldHit
		o.ttfb = int64(g.lognorm(35, 0.5)) + 2
	}
	o.status = 200
	switch {
	case q.cond && g.chance(0.85):
		o.status = 304
		if o.rt == rtMiss {
			o.rt, o.resp, o.det = rtRefreshHit, rtRefreshHit, rtRefreshHit
		}
		o.ctype = ctNone
		o.hdr = int64(g.between(220, 380))
		return
	case q.rs >= 0:
		if q.rs >= r.size {
			o.status = 416
			o.rt, o.resp, o.det = rtError, rtError, rtError
			o.ctype = ctNone
			o.hdr = int64(g.between(250, 330))
			return
		}
		o.status = 206
		o.rs, o.re = q.rs, q.re
		if o.re < 0 || o.re >= r.size {
			o.re = r.size - 1
		}
		o.clen = o.re - o.rs + 1
		o.body = o.clen
		if q.re == -2 && o.clen > 1<<20 && g.chance(0.6) { // the player stops reading
			o.body = int64(g.between(256<<10, 4<<20))
			if o.body > o.clen {
				o.body = o.clen
			}
			o.resp = o.rt
			o.rt, o.det = rtError, rtClientCommError
		}
		return
	}
	o.clen = r.size
	o.body = r.size
	if r.kind == kPage && o.rt == rtMiss && g.chance(0.5) {
		o.clen = -1 // compressed on the fly, chunked
		o.body = r.size / 4
	}
	if o.rt == rtMiss && g.chance(0.012) {
		*o = g.originError(*o, q)
		return
	}
	if (r.kind == kDownload || r.kind == kMedia) && r.size > 1<<20 && g.chance(0.06) {
		o.body = g.r.Int64N(r.size)
		o.resp = o.rt
		o.rt, o.det = rtError, rtClientCommError
	}
}

// hitTime returns a time to first byte for an edge cache hit, in ms.
func (g *gen) hitTime() int64 {
	return int64(g.r.ExpFloat64()*3) + 1
}

// originTime returns a time to first byte through the origin, in ms.
func (g *gen) originTime(median float64) int64 {
	t := g.lognorm(median, 0.7)
	if t > 20000 {
		t = 20000
	}
	return int64(t) + 5
}

// transfer returns the time to send n bytes to v, in ms.
func (g *gen) transfer(v *visitor, n int64) int64 {
	if n <= 0 {
		return 0
	}
	bpms := g.lognorm(6000, 0.8) // bytes per ms
	if v.slow {
		bpms = g.lognorm(700, 0.6)
	}
	if bpms < 50 {
		bpms = 50
	}
	return int64(float64(n) / bpms)
}

// emit writes the next request of vt.
func (g *gen) emit(bw *bufio.Writer, vt *visit) {
	q := &vt.reqs[vt.i]
	v := vt.vis
	o := g.outcome(vt, q)

	ms := vt.next + o.taken
	sec := g.start + ms/1000
	switch x := g.n(100); {
	case x < 84:
	case x < 97:
		sec += int64(g.between(-2, 2))
	default:
		sec += int64(g.between(-8, 8))
	}
	if sec < g.start {
		sec = g.start
	}
	if q.http || vt.i == 0 || (v.pver == "HTTP/1.1" && g.chance(0.25)) || g.chance(0.04) {
		vt.port = g.port(v)
	}

	b := g.line[:0]
	b = g.appendDateTime(b, sec)
	b = append(b, '\t')
	b = append(b, v.edge...)
	b = append(b, '\t')
	scBytes := o.scBytes
	if scBytes < 0 {
		scBytes = o.hdr + o.body
	}
	b = strconv.AppendInt(b, scBytes, 10)
	b = append(b, '\t')
	b = append(b, v.ip...)
	b = append(b, '\t')
	b = append(b, methodNames[q.method]...)
	b = append(b, '\t')
	b = append(b, g.dist...)
	b = append(b, '\t')
	b = appendField(b, q.res.stem)
	b = append(b, '\t')
	if o.status == 0 {
		b = append(b, "000"...)
	} else {
		b = strconv.AppendInt(b, int64(o.status), 10)
	}
	b = append(b, '\t')
	b = appendField(b, q.ref)
	b = append(b, '\t')
	b = append(b, v.ag.esc...)
	b = append(b, '\t')
	qStart := len(b)
	b = appendField(b, q.query)
	qLen := len(b) - qStart
	b = append(b, '\t')
	b = append(b, v.cookie...)
	b = append(b, '\t')
	b = append(b, rtNames[o.rt]...)
	b = append(b, '\t')
	b = g.appendRand(b, b64url, 54)
	b = append(b, "==\t"...)
	b = appendField(b, vt.host)
	b = append(b, '\t')
	pver := v.pver
	if q.http {
		b = append(b, "http\t"...)
		pver = "HTTP/1.1"
	} else {
		b = append(b, "https\t"...)
	}
	b = strconv.AppendInt(b, g.csBytes(vt, q, pver), 10)
	b = append(b, '\t')
	b = appendMs(b, o.taken)
	b = append(b, '\t')
	b = append(b, v.xff...)
	b = append(b, '\t')
	if q.http {
		b = append(b, "-\t-\t"...)
	} else {
		b = append(b, tlsCombos[v.tls].proto...)
		b = append(b, '\t')
		b = append(b, tlsCombos[v.tls].cipher...)
		b = append(b, '\t')
	}
	b = append(b, rtNames[o.resp]...)
	b = append(b, '\t')
	b = append(b, pver...)
	b = append(b, "\t-\t-\t"...)
	b = strconv.AppendInt(b, int64(vt.port), 10)
	b = append(b, '\t')
	b = appendMs(b, o.ttfb)
	b = append(b, '\t')
	b = append(b, rtNames[o.det]...)
	b = append(b, '\t')
	b = append(b, ctEsc[o.ctype]...)
	b = append(b, '\t')
	b = appendOpt(b, o.clen)
	b = append(b, '\t')
	b = appendOpt(b, o.rs)
	b = append(b, '\t')
	b = appendOpt(b, o.re)
	b = append(b, '\n')
	bw.Write(b)
	g.line = b

	// truth
	g.lines++
	if sec < g.minSec {
		g.minSec = sec
	}
	if sec > g.maxSec {
		g.maxSec = sec
	}
	g.byMethod[q.method]++
	g.byStatus[o.status]++
	cat := category(q.res.stem)
	g.byCat[cat]++
	if ai := v.ag.ai; ai >= 0 {
		g.byAI[ai]++
		if aiTracked[ai] && q.method == mGET && cat != 1 {
			g.aiTrk[ai]++
		}
	}
	g.byRT[o.rt]++
	g.byDet[o.det]++
	if q.http {
		g.byProto[0]++
	} else {
		g.byProto[1]++
	}
	g.byPver[pver]++
	g.byClass[v.ag.class]++
	g.byHost[vt.host]++
	if v.v6 {
		g.nIPv6++
	}
	if v.xff != "-" {
		g.xff++
		if v.chain {
			g.chains++
		}
	}
	if v.cookie != "-" {
		g.cookies++
	}
	if o.rs >= 0 {
		g.rangesLogged++
	}
	if q.query != "" {
		g.queries++
		if qLen >= 1000 {
			g.longQ++
		}
	}
}

func (g *gen) csBytes(vt *visit, q *req, pver string) int64 {
	v := vt.vis
	n := int64(len(q.res.stem) + len(q.query) + len(q.ref) + len(vt.host) + 24)
	if v.cookie != "-" {
		n += int64(len(v.cookie))
	}
	if pver == "HTTP/1.1" {
		n += int64(len(v.ag.ua)) + 180 + int64(g.n(120))
	} else {
		n = n/2 + 40 + int64(len(v.ag.ua))/4 + int64(g.n(60))
	}
	return n + q.body
}

func appendOpt(b []byte, n int64) []byte {
	if n < 0 {
		return append(b, '-')
	}
	return strconv.AppendInt(b, n, 10)
}

// appendMs writes ms milliseconds as seconds with 3 decimals.
func appendMs(b []byte, ms int64) []byte {
	if ms < 0 {
		ms = 0
	}
	b = strconv.AppendInt(b, ms/1000, 10)
	f := ms % 1000
	return append(b, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
}

// appendDateTime writes "YYYY-MM-DD\tHH:MM:SS" (UTC) of unix second sec.
func (g *gen) appendDateTime(b []byte, sec int64) []byte {
	day := sec / 86400
	sod := sec % 86400
	if sod < 0 {
		sod += 86400
		day--
	}
	if day != g.lastDay {
		g.lastDay = day
		g.dayStr = time.Unix(day*86400, 0).UTC().AppendFormat(g.dayStr[:0], "2006-01-02")
	}
	b = append(b, g.dayStr...)
	h, m, s := sod/3600, sod/60%60, sod%60
	return append(b, '\t', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10))
}

func (g *gen) truth() Truth {
	t := Truth{
		Lines:                g.lines,
		ByMethod:             map[string]int64{},
		ByStatus:             map[string]int64{},
		ByCategory:           map[string]int64{},
		ByAIAssistant:        map[string]int64{},
		AIGetTrackedByName:   map[string]int64{},
		ByResultType:         map[string]int64{},
		ByDetailedResultType: map[string]int64{},
		ByProtocol:           map[string]int64{},
		ByProtocolVersion:    map[string]int64{},
		ByClient:             map[string]int64{},
		ByHost:               map[string]int64{},
		IPv6:                 g.nIPv6,
		XForwardedFor:        g.xff,
		XFFChains:            g.chains,
		Cookies:              g.cookies,
		Ranges:               g.rangesLogged,
		Queries:              g.queries,
		LongQueries:          g.longQ,
		DistributionDomain:   g.dist,
	}
	if g.lines > 0 {
		t.First = time.Unix(g.minSec, 0).UTC()
		t.Last = time.Unix(g.maxSec, 0).UTC()
	}
	for i, n := range g.byMethod {
		if n > 0 {
			t.ByMethod[methodNames[i]] = n
		}
	}
	for s, n := range g.byStatus {
		if n > 0 {
			k := "000"
			if s > 0 {
				k = strconv.Itoa(s)
			}
			t.ByStatus[k] = n
		}
	}
	for i, n := range g.byCat {
		t.ByCategory[categoryNames[i]] = n
	}
	for i, n := range g.byAI {
		if n > 0 {
			t.ByAIAssistant[aiNames[i]] = n
		}
		if m := g.aiTrk[i]; m > 0 {
			t.AIGetTracked += m
			t.AIGetTrackedByName[aiMatomoName[i]] += m
		}
	}
	for i, n := range g.byRT {
		if n > 0 {
			t.ByResultType[rtNames[i]] = n
		}
	}
	for i, n := range g.byDet {
		if n > 0 {
			t.ByDetailedResultType[rtNames[i]] = n
		}
	}
	if g.byProto[0] > 0 {
		t.ByProtocol["http"] = g.byProto[0]
	}
	if g.byProto[1] > 0 {
		t.ByProtocol["https"] = g.byProto[1]
	}
	for k, n := range g.byPver {
		t.ByProtocolVersion[k] = n
	}
	for i, n := range g.byClass {
		if n > 0 {
			t.ByClient[classNames[i]] = n
		}
	}
	for k, n := range g.byHost {
		t.ByHost[k] = n
	}
	return t
}
