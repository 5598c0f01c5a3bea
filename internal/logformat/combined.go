package logformat

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/hit"
)

// Reasons specific to text access logs.
const (
	ReasonBadFormat  = "bad_format"  // the line does not have the format's shape
	ReasonBadRequest = "bad_request" // the quoted request line is not "METHOD TARGET PROTOCOL"
)

// Combined reads the NCSA family of access logs that Apache and nginx write:
//
//	common:         %h %l %u %t "%r" %>s %b
//	combined:       %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"
//	vhost variants: the same preceded by the virtual host ("%v" or "%v:%p")
//
// Fields after the user agent (nginx additions) are ignored. A line without
// the quoted user agent (common format) has no user-agent field: its hit
// has NoUserAgentField set; a logged "-" is an empty user agent. Times carry an
// offset and are converted to UTC. Quoted strings may escape '"' as \" (Apache)
// or \x22 (nginx); both are undone. Path and query are as the client sent
// them. A Combined is used by one goroutine, for one input, in line order.
type Combined struct {
	// Source names the input in errors.
	Source string
	buf    []byte
}

// NewCombined returns a reader for one input named source.
func NewCombined(source string) *Combined { return &Combined{Source: source} }

func (r *Combined) errorf(lineNo int64, reason, format string, args ...any) error {
	return &ParseError{Source: r.Source, Line: lineNo, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Parse reads one line into h; blank lines give false and no error.
func (r *Combined) Parse(line []byte, lineNo int64, h *hit.Hit) (bool, error) {
	if len(bytes.TrimSpace(line)) == 0 {
		return false, nil
	}
	s := string(line)
	open := strings.IndexByte(s, '[')
	if open < 0 {
		return false, r.errorf(lineNo, ReasonBadFormat, "no [time]")
	}
	var headBuf [5]string
	head := fieldsN(s[:open], headBuf[:0])
	var vhost, ip, user string
	switch len(head) {
	case 3:
		ip, user = head[0], head[2]
	case 4:
		vhost, ip, user = head[0], head[1], head[3]
		if i := strings.LastIndexByte(vhost, ':'); i > 0 && !strings.Contains(vhost[:i], ":") {
			vhost = vhost[:i] // "%v:%p"
		}
	default:
		return false, r.errorf(lineNo, ReasonBadFormat, "%d fields before the time, want 3 or 4", len(head))
	}
	closeAt := strings.IndexByte(s[open:], ']')
	if closeAt < 0 {
		return false, r.errorf(lineNo, ReasonBadFormat, "no end of [time]")
	}
	t, err := parseCLFTime(s[open+1 : open+closeAt])
	if err != nil {
		return false, r.errorf(lineNo, ReasonBadDate, "%v", err)
	}
	rest := s[open+closeAt+1:]
	req, rest, ok := r.quoted(rest)
	if !ok {
		return false, r.errorf(lineNo, ReasonBadFormat, "no quoted request")
	}
	statusTok, rest := nextToken(rest)
	sizeTok, rest := nextToken(rest)
	if sizeTok == "" {
		return false, r.errorf(lineNo, ReasonBadFormat, "no status and size")
	}
	status, ok := atoi(statusTok)
	if !ok {
		return false, r.errorf(lineNo, ReasonBadNumber, "status %q", statusTok)
	}
	var size int64
	if sizeTok != "-" {
		if size, err = strconv.ParseInt(sizeTok, 10, 64); err != nil || size < 0 {
			return false, r.errorf(lineNo, ReasonBadNumber, "size %q", sizeTok)
		}
	}
	// Then the optional quoted referrer and user agent.
	var ref, ua string
	noUA := true
	if q, r2, ok := r.quoted(rest); ok {
		ref, rest = q, r2
		if q, _, ok := r.quoted(rest); ok {
			ua, noUA = q, false
		}
	}
	method, target, proto, ok := splitRequest(req)
	if !ok {
		return false, r.errorf(lineNo, ReasonBadRequest, "request %q", clip(req))
	}
	path, query := target, ""
	if i := strings.IndexByte(target, '?'); i >= 0 {
		path, query = target[:i], target[i+1:]
	}
	if path == "" {
		return false, r.errorf(lineNo, ReasonBadRequest, "request %q has no path", clip(req))
	}
	*h = hit.Hit{
		Time: t, Method: method, Host: vhost, Path: path, Query: query, HTTPVersion: proto,
		Status: status, Bytes: size, Duration: -1, TTFB: -1,
		UserAgent: dash(ua), Referrer: dash(ref), ClientIP: ip, User: dash(user),
		NoUserAgentField: noUA,
	}
	return true, nil
}

func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// splitRequest splits "GET /a?b HTTP/1.1" (the protocol may be missing:
// HTTP/0.9; proto is then "").
func splitRequest(req string) (method, target, proto string, ok bool) {
	sp := strings.IndexByte(req, ' ')
	if sp <= 0 {
		return "", "", "", false
	}
	method, target = req[:sp], req[sp+1:]
	for i := 0; i < len(method); i++ {
		if c := method[i]; c < 'A' || c > 'Z' {
			return "", "", "", false
		}
	}
	if i := strings.LastIndexByte(target, ' '); i >= 0 && strings.HasPrefix(target[i+1:], "HTTP/") {
		target, proto = target[:i], target[i+1:]
	}
	if target == "" || strings.IndexByte(target, ' ') >= 0 {
		return "", "", "", false
	}
	return method, target, proto, true
}

// quoted reads a "..." string at the start of s (after blanks), undoing
// \" \\ and \xHH escapes. It returns the value and what follows.
func (r *Combined) quoted(s string) (string, string, bool) {
	s = strings.TrimLeft(s, " ")
	if len(s) == 0 || s[0] != '"' {
		return "", s, false
	}
	// The common case, no backslash before the closing quote, with two
	// vectorized searches.
	if j := strings.IndexByte(s[1:], '"'); j >= 0 && strings.IndexByte(s[1:1+j], '\\') < 0 {
		return s[1 : 1+j], s[2+j:], true
	}
	esc := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			esc = true
			i++
		case c == '"':
			v := s[1:i]
			if esc {
				v = r.unescape(v)
			}
			return v, s[i+1:], true
		}
	}
	return "", s, false
}

func (r *Combined) unescape(v string) string {
	b := r.buf[:0]
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' || i+1 >= len(v) {
			b = append(b, c)
			continue
		}
		switch n := v[i+1]; {
		case n == 'x' && i+3 < len(v):
			hi, ok1 := hit.Unhex(v[i+2])
			lo, ok2 := hit.Unhex(v[i+3])
			if ok1 && ok2 {
				b = append(b, hi<<4|lo)
				i += 3
				continue
			}
			b = append(b, c)
		case n == '"' || n == '\\':
			b = append(b, n)
			i++
		default:
			b = append(b, c)
		}
	}
	r.buf = b
	return string(b)
}

var months = map[string]time.Month{"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}

// parseCLFTime parses "10/Feb/2012:16:42:07 -0500" into UTC.
func parseCLFTime(s string) (time.Time, error) {
	if len(s) != 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' || s[20] != ' ' {
		return time.Time{}, fmt.Errorf("time %q is not dd/Mon/yyyy:HH:MM:SS +hhmm", s)
	}
	d, ok1 := atoi(s[0:2])
	mon, ok2 := months[s[3:6]]
	y, ok3 := atoi(s[7:11])
	hh, ok4 := atoi(s[12:14])
	mm, ok5 := atoi(s[15:17])
	ss, ok6 := atoi(s[18:20])
	oh, ok7 := atoi(s[22:24])
	om, ok8 := atoi(s[24:26])
	sign := s[21]
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || !ok7 || !ok8 || (sign != '+' && sign != '-') ||
		d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 || oh > 23 || om > 59 || y < minYear || y > maxYear {
		return time.Time{}, fmt.Errorf("time %q is not dd/Mon/yyyy:HH:MM:SS +hhmm", s)
	}
	off := (oh*60 + om) * 60
	if sign == '-' {
		off = -off
	}
	t := time.Date(y, mon, d, hh, mm, ss, 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, fmt.Errorf("date %q does not exist", s)
	}
	return t.Add(-time.Duration(off) * time.Second), nil
}

// nextToken returns the next blank-separated token of s and what follows.
func nextToken(s string) (tok, rest string) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	j := i
	for j < len(s) && s[j] != ' ' && s[j] != '\t' {
		j++
	}
	return s[i:j], s[j:]
}

// fieldsN appends the blank-separated fields of s to dst, at most
// cap(dst)+1 of them (one more tells the caller there were too many).
func fieldsN(s string, dst []string) []string {
	for {
		tok, rest := nextToken(s)
		if tok == "" {
			return dst
		}
		dst = append(dst, tok)
		if len(dst) > cap(dst)-1 {
			return dst
		}
		s = rest
	}
}
