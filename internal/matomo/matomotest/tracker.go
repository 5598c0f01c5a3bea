package matomotest

import (
	"context"
	"encoding/base64"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// transparentGIF is the 43-byte image Matomo's tracker answers with.
var transparentGIF, _ = base64.StdEncoding.DecodeString("R0lGODlhAQABAIAAAAAAAAAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")

// matomoPageText is Tracker\Response's text for a request Matomo did not
// log (no parameters, or an invalid single request).
const matomoPageText = "This resource is part of Matomo. Keep full control of your data with the leading free and open source <a href='https://matomo.org' target='_blank' rel='noopener noreferrer nofollow'>web analytics & conversion optimisation platform</a>.<br>\n" +
	"This file is the endpoint for the Matomo tracking API. If you want to access the Matomo UI or use the Reporting API, please use <a href='index.php'>index.php</a> instead.\n"

func (s *Server) serveTracker(w http.ResponseWriter, r *http.Request) {
	s.update(func(st *Stats) { st.Requests++ })
	if r.Method == http.MethodOptions &&
		(r.Header.Get("Access-Control-Request-Headers") != "" || r.Header.Get("Access-Control-Request-Method") != "") {
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "GET, POST")
		h.Set("Access-Control-Allow-Headers", "*")
		h.Set("Access-Control-Allow-Origin", "*")
		s.respond(w, http.StatusNoContent, "")
		return
	}
	raw, ok := s.readBody(r)
	if !ok {
		s.countStatus(0)
		return
	}
	if isBulk(raw) {
		s.serveBulk(w, r, raw)
		return
	}
	s.serveSingle(w, r, raw)
}

// readBody reads php://input. A body over post_max_size is dropped, as PHP
// does. ok is false when the client went away.
func (s *Server) readBody(r *http.Request) (string, bool) {
	if r.Body == nil || r.ContentLength == 0 {
		return "", true
	}
	if s.postMax > 0 && r.ContentLength > s.postMax {
		s.update(func(st *Stats) { st.TooLarge++ })
		return "", true
	}
	if r.ContentLength > 0 {
		buf := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			return "", false
		}
		return string(buf), true
	}
	var rd io.Reader = r.Body
	if s.postMax > 0 {
		rd = io.LimitReader(r.Body, s.postMax+1)
	}
	buf, err := io.ReadAll(rd)
	if err != nil {
		return "", false
	}
	if s.postMax > 0 && int64(len(buf)) > s.postMax {
		s.update(func(st *Stats) { st.TooLarge++ })
		return "", true
	}
	return string(buf), true
}

// isBulk is BulkTracking's Requests::isUsingBulkRequest(): strpos() of
// "requests" (either quote), where a match at offset 0 is falsy.
func isBulk(raw string) bool {
	return strings.Index(raw, `"requests"`) > 0 || strings.Index(raw, `'requests'`) > 0
}

func isMediaType(ct, want string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == want
}

func (s *Server) newReqCtx(r *http.Request, bodyToken string, t *tx) *reqCtx {
	rc := &reqCtx{s: s, now: s.now().Unix(), bodyToken: bodyToken, httpUA: r.Header.Get("User-Agent"), tx: t}
	if s.acceptBearer {
		if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
			rc.bearer = a[len("Bearer "):]
		}
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		rc.remote = ap.Addr()
	}
	rc.info = &reqInfo{remote: rc.remote, httpUA: rc.httpUA, acceptLang: browserLanguage("", r.Header.Get("Accept-Language"))}
	return rc
}

// Item types in a bulk body.
const (
	itQuery  uint8 = iota // a string with a query
	itObject              // a JSON object (a param map)
	itList                // a non-empty JSON array: params without any known name
	itEmpty               // a scalar, an empty array: Matomo's "empty request"
)

type bulkItem struct {
	raw string
	qs  string
	typ uint8
}

type bulkBody struct {
	valid     bool // json_decode() succeeded
	items     []bulkItem
	dropped   int
	token     string
	sendImage bool
}

func addItem(body string, a, e int, kind byte, esc bool, b *bulkBody) {
	switch kind {
	case jString:
		s := jsonStringAt(body, a, e, esc)
		qs, ok := queryOf(s)
		if !ok {
			b.dropped++
			return
		}
		b.items = append(b.items, bulkItem{raw: s, qs: qs, typ: itQuery})
	case jObject:
		b.items = append(b.items, bulkItem{raw: body[a:e], typ: itObject})
	case jArray:
		typ := itList
		if jsonEmptyContainer(body, a, e) {
			typ = itEmpty
		}
		b.items = append(b.items, bulkItem{raw: body[a:e], typ: typ})
	default:
		b.items = append(b.items, bulkItem{raw: body[a:e], typ: itEmpty})
	}
}

// parseBulk is Requests::getRequestsArrayFromBulkRequest() and
// initRequestsAndTokenAuth(): trim, drop line breaks, json_decode, take
// "requests", "token_auth" and "send_image".
func parseBulk(raw string) bulkBody {
	b := bulkBody{sendImage: true}
	body := phpTrim(raw)
	if strings.ContainsAny(body, "\n\r") {
		body = strings.NewReplacer("\n", "", "\r", "").Replace(body)
	}
	if body == "" || !utf8.ValidString(body) {
		return b
	}
	if body[0] != '{' {
		b.valid = jsonValid(body) // valid or not, there are no requests
		return b
	}
	var tok, send jmember
	hasTok, hasSend := false, false
	p := jsonScanner{s: body, i: 1, depth: 1}
	p.ws()
	if p.i < len(body) && body[p.i] == '}' {
		p.i++
	} else {
		for {
			if p.i >= len(body) || body[p.i] != '"' {
				return bulkBody{sendImage: true}
			}
			ka := p.i + 1
			kesc, ok := p.str()
			if !ok {
				return bulkBody{sendImage: true}
			}
			key := body[ka : p.i-1]
			if kesc {
				key = jsonUnquote(key)
			}
			p.ws()
			if p.i >= len(body) || body[p.i] != ':' {
				return bulkBody{sendImage: true}
			}
			p.i++
			p.ws()
			m := jmember{va: p.i}
			switch {
			case key == "requests" && p.i < len(body) && body[p.i] == '[':
				b.items, b.dropped = b.items[:0], 0
				m.kind = jArray
				ok = p.array(func(a, e int, kind byte, esc bool) { addItem(body, a, e, kind, esc, &b) })
			case key == "requests" && p.i < len(body) && body[p.i] == '{':
				// An object: PHP iterates its values in order; a repeated
				// key keeps its first position and takes the last value.
				b.items, b.dropped = b.items[:0], 0
				m.kind = jObject
				var spans []jmember
				pos := map[string]int{}
				ok = p.object(func(mm jmember) {
					k := body[mm.ka:mm.kb]
					if mm.kesc {
						k = jsonUnquote(k)
					}
					if i, dup := pos[k]; dup {
						spans[i] = mm
						return
					}
					pos[k] = len(spans)
					spans = append(spans, mm)
				})
				for _, mm := range spans {
					addItem(body, mm.va, mm.vb, mm.kind, mm.vesc, &b)
				}
			default:
				if key == "requests" {
					b.items, b.dropped = b.items[:0], 0
				}
				m.kind, m.vesc, ok = p.value()
			}
			if !ok {
				return bulkBody{sendImage: true}
			}
			m.vb = p.i
			switch key {
			case "token_auth":
				tok, hasTok = m, true
			case "send_image":
				send, hasSend = m, true
			}
			p.ws()
			if p.i >= len(body) {
				return bulkBody{sendImage: true}
			}
			if body[p.i] == ',' {
				p.i++
				p.ws()
				continue
			}
			if body[p.i] != '}' {
				return bulkBody{sendImage: true}
			}
			p.i++
			break
		}
	}
	p.ws()
	if p.i != len(body) {
		return bulkBody{sendImage: true}
	}
	b.valid = true
	if hasTok {
		switch tok.kind {
		case jString:
			b.token = jsonStringAt(body, tok.va, tok.vb, tok.vesc)
		case jNumber:
			b.token = phpNumberString(body[tok.va:tok.vb])
		}
	}
	if hasSend {
		switch send.kind {
		case jString:
			b.sendImage = jsonStringAt(body, send.va, send.vb, send.vesc) != "0"
		case jNumber:
			b.sendImage = phpNumberString(body[send.va:send.vb]) != "0"
		}
	}
	return b
}

// sleepCtx waits d, or until ctx is done; it reports whether ctx is still
// live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) serveBulk(w http.ResponseWriter, r *http.Request, raw string) {
	n, fault := s.nextFault()
	g := s.genOf(r)
	// Faults of the web server or network in front of PHP.
	switch fault.Kind {
	case Fault429:
		if fault.RetryAfter > 0 {
			secs := int64(math.Ceil(fault.RetryAfter.Seconds()))
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		}
		w.Header().Set("Content-Type", "text/html")
		s.respond(w, http.StatusTooManyRequests, "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
		return
	case Fault503:
		w.Header().Set("Content-Type", "text/html")
		s.respond(w, http.StatusServiceUnavailable, "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
		return
	case FaultDrop:
		s.drop(w)
		return
	case FaultDBGone:
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		s.respond(w, http.StatusOK, "Error:SQLSTATE[HY000]: General error: 2006 MySQL server has gone away")
		return
	case FaultHang:
		if fault.Delay > 0 {
			sleepCtx(r.Context(), fault.Delay)
		} else {
			<-r.Context().Done()
		}
		s.drop(w)
		return
	}
	// Approximation: real PHP would parse a non-JSON body as a form (and
	// warn "Input variables exceeded 1000" for big batches); a client that
	// does not send application/json is refused outright here.
	if !isMediaType(r.Header.Get("Content-Type"), "application/json") {
		s.update(func(st *Stats) { st.BadContentType++ })
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		s.respond(w, http.StatusBadRequest, "expected Content-Type application/json\n")
		return
	}

	// From here on PHP runs the request. It has ignore_user_abort(true):
	// a client that goes away does not stop it, only the server stopping
	// does.
	if !s.acquire(g) {
		s.update(func(st *Stats) { st.Aborted++ })
		s.abandon()
	}
	released := false
	release := func() {
		if !released {
			released = true
			s.release()
		}
	}
	defer release()

	b := parseBulk(raw)
	s.update(func(st *Stats) {
		st.ItemsReceived += len(b.items)
		st.ItemsDropped += b.dropped
		if !b.valid {
			st.Malformed++
		}
	})
	t := newTx(s, false)
	defer t.rollback() // whatever it did not commit dies with it
	rc := s.newReqCtx(r, b.token, t)
	// Handler::isBulkTrackingRequestAuthenticated(): only the body's
	// token, and only once process() runs, i.e. when there are requests.
	super := len(b.items) > 0 && s.super[b.token]

	abortAt := -1
	if fault.Kind == Fault500 {
		abortAt = max(fault.ProcessBefore, 0)
	}
	var skip map[int]bool
	if fault.Kind == FaultLockWait {
		skip = map[int]bool{}
		for _, i := range fault.Indices {
			skip[i] = true
		}
	}
	recs := make([]rec, 0, len(b.items))
	var invalid []int
	tracked, skipped, discarded, aborted, processed := 0, 0, 0, false, 0
	lost := 0 // records rolled back by a salt deadlock
	var it item
	for i := range b.items {
		if i == abortAt {
			aborted = true
			break
		}
		processed++
		if skip[i] {
			skipped++
			continue
		}
		bi := &b.items[i]
		it = item{}
		switch bi.typ {
		case itQuery:
			parseQueryInto(bi.qs, &it)
		case itObject:
			parseObjectInto(bi.raw, &it)
		case itList:
			it.nonEmpty = true
		}
		out, rr := rc.track(&it)
		switch out {
		case outInvalid:
			invalid = append(invalid, i)
			continue
		case outDeadlock:
			// InnoDB rolls the whole transaction back; Matomo skips the
			// item like a lock wait and goes on, and what follows is
			// written in autocommit mode.
			t.killed()
			lost += len(recs)
			recs = recs[:0]
			skipped++
			continue
		case outStored:
			rr.raw, rr.obj, rr.batch = bi.raw, bi.typ == itObject, int32(n)
			recs = append(recs, rr)
		default:
			discarded++
		}
		tracked++
	}
	if abortAt >= 0 && abortAt >= len(b.items) {
		aborted = true // the failure hits at commit time
	}

	// PHP's time: the transaction stays open meanwhile.
	delay := time.Duration(processed) * s.cfg.PerItemDelay
	if fault.Kind == FaultSlow {
		delay += fault.Delay
	}
	if !sleepCtx(g.ctx, delay) {
		t.rollback()
		s.update(func(st *Stats) { st.Aborted++ })
		s.abandon()
	}
	if s.cfg.BeforeCommit != nil {
		s.cfg.BeforeCommit(r.Context(), n)
	}
	gone := r.Context().Err() != nil

	if aborted || t.dead {
		// Response::formatException(): the invalid list is only set after
		// the loop, so a failed batch always reports invalid 0.
		t.rollback()
		s.mu.Lock()
		if g.dead {
			s.stats.Aborted++
			s.mu.Unlock()
			s.abandon()
		}
		s.stats.RolledBack++
		if t.dead {
			// The items after the deadlock were autocommitted.
			s.stats.SaltDeadlocks++
			s.stats.RolledBackRecords += lost
			if len(recs) > 0 {
				s.chunks = append(s.chunks, recs)
				s.nStored += len(recs)
				s.stats.Stored += len(recs)
				if gone {
					s.stats.CommittedClientGone++
				}
			}
		} else {
			s.stats.RolledBackRecords += len(recs)
		}
		s.mu.Unlock()
		release()
		if gone {
			s.countStatus(0)
			return
		}
		body := `{"status":"error","tracked":` + strconv.Itoa(tracked) + `,"invalid":0`
		if super {
			body += `,"invalid_indices":[]`
		}
		s.respondBulk(w, r, http.StatusInternalServerError, body+"}")
		return
	}
	if !s.commit(g, t, recs, tracked, len(invalid), skipped, discarded, true) {
		s.abandon()
	}
	release()
	if gone {
		s.update(func(st *Stats) { st.CommittedClientGone++ })
		s.countStatus(0)
		return
	}

	tr, inv := tracked, len(invalid)
	switch fault.Kind {
	case FaultDropAfterCommit:
		s.drop(w)
		return
	case FaultSlowAfterCommit:
		if !sleepCtx(r.Context(), fault.Delay) {
			s.countStatus(0)
			return
		}
	case FaultMismatch:
		switch {
		case tr > 0:
			tr--
		case inv > 0:
			inv--
		default:
			tr = 1
		}
	case FaultBadJSONAnswer:
		s.respondBulk(w, r, http.StatusOK, "<br />\n<b>Warning</b>:  PHP Request Startup: Input variables exceeded 1000. To increase the limit change max_input_vars in php.ini. in <b>Unknown</b> on line <b>0</b><br />\n"+
			successJSON(tr, inv, super, invalid))
		return
	}
	if !b.sendImage {
		s.respondBulk(w, r, http.StatusNoContent, "")
		return
	}
	s.respondBulk(w, r, http.StatusOK, successJSON(tr, inv, super, invalid))
}

func successJSON(tracked, invalid int, super bool, indices []int) string {
	b := make([]byte, 0, 64+8*len(indices))
	b = append(b, `{"status":"success","tracked":`...)
	b = strconv.AppendInt(b, int64(tracked), 10)
	b = append(b, `,"invalid":`...)
	b = strconv.AppendInt(b, int64(invalid), 10)
	if super {
		b = append(b, `,"invalid_indices":[`...)
		for i, x := range indices {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(x), 10)
		}
		b = append(b, ']')
	}
	return string(append(b, '}'))
}

func (s *Server) respond(w http.ResponseWriter, code int, body string) {
	s.countStatus(code)
	if code != http.StatusNoContent {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(code)
	if body != "" {
		_, _ = io.WriteString(w, body)
	}
}

func (s *Server) corsHeaders(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		origin := r.Header.Get("Origin")
		if origin == "" {
			origin = "*"
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}
}

func (s *Server) respondBulk(w http.ResponseWriter, r *http.Request, code int, body string) {
	s.corsHeaders(w, r)
	w.Header().Set("Content-Type", "application/json")
	s.respond(w, code, body)
}

// abandon ends a request the stopped server was still running: the
// connection is closed without an answer (net/http would otherwise send an
// empty 200 if it is still open).
func (s *Server) abandon() {
	s.countStatus(0)
	panic(http.ErrAbortHandler)
}

// drop closes the connection without an answer.
func (s *Server) drop(w http.ResponseWriter) {
	s.countStatus(0)
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// serveSingle handles a non-bulk tracking request: $_GET + $_POST is one
// request, answered with a GIF.
func (s *Server) serveSingle(w http.ResponseWriter, r *http.Request, raw string) {
	s.update(func(st *Stats) { st.SingleRequests++ })
	g := s.genOf(r)
	if !s.acquire(g) {
		s.abandon()
	}
	defer s.release()
	var it item
	post := ""
	if raw != "" && r.Method == http.MethodPost && isMediaType(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		post = raw
		parseQueryInto(post, &it)
	}
	q := r.URL.RawQuery
	if q != "" {
		parseQueryInto(q, &it) // $_GET wins over $_POST
	}
	if r.Method == http.MethodGet {
		w.Header().Set("Cache-Control", "no-store")
	}
	s.corsHeaders(w, r)
	if !it.nonEmpty {
		code := http.StatusOK
		if r.Method != http.MethodGet {
			code = http.StatusBadRequest
		}
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		s.respond(w, code, matomoPageText)
		return
	}
	sendImage := !(it.f[fSendImage].kind == vStr && it.f[fSendImage].text() == "0")
	// Not transactional: a salt it creates is committed at once.
	rc := s.newReqCtx(r, "", newTx(s, true))
	out, rr := rc.track(&it)
	if !sleepCtx(g.ctx, s.cfg.PerItemDelay) {
		s.abandon()
	}
	if out == outInvalid {
		s.commit(g, nil, nil, 0, 1, 0, 0, false)
		// The exception answer (GIF, status 400), then Response::
		// outputResponse() adds its text since nothing was logged.
		body := matomoPageText
		if sendImage {
			body = string(transparentGIF) + body
			w.Header().Set("Content-Type", "image/gif")
		} else {
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		}
		s.respond(w, http.StatusBadRequest, body)
		return
	}
	if out == outStored {
		rr.raw, rr.batch = "?"+q, -1
		if post != "" {
			rr.raw = "?" + post
			if q != "" {
				rr.raw += "&" + q
			}
		}
		if !s.commit(g, nil, []rec{rr}, 1, 0, 0, 0, false) {
			s.abandon()
		}
	} else {
		s.commit(g, nil, nil, 1, 0, 0, 1, false)
	}
	if !sendImage {
		s.respond(w, http.StatusNoContent, "")
		return
	}
	w.Header().Set("Content-Type", "image/gif")
	s.respond(w, http.StatusOK, string(transparentGIF))
}
