package logformat

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/hit"
)

// Custom reads lines written with an nginx log_format or an Apache
// LogFormat string, as the user pastes it from the server's configuration:
//
//	nginx:  $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time
//	Apache: %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D
//
// The format is a sequence of literals and fields; a field ends where the
// next literal starts (a quoted field at its closing quote, \" and \x22
// escapes undone). Fields that are not known are read and ignored.
//
// A format without $http_user_agent or %{User-Agent}i gives hits with
// NoUserAgentField set.
//
// A Custom is used by one goroutine at a time (it reuses its value buffer).
type Custom struct {
	Source string
	parts  []customPart
	slot   map[string]int // normalized field name → index in vals
	vals   []string
	noUA   bool // the format has no user-agent field: hits have NoUserAgentField
}

type customPart struct {
	literal string // when field == ""
	field   string // normalized field name
	slot    int
}

// Normalized field names, and the nginx and Apache spellings that map to them.
var customFields = map[string]string{
	"remote_addr": "ip", "%h": "ip", "%a": "ip", "http_x_forwarded_for": "xff",
	"remote_user": "user", "%u": "user",
	"time_local": "time_clf", "%t": "time_clf", "time_iso8601": "time_iso", "msec": "time_epoch",
	"request": "request", "%r": "request",
	"request_method": "method", "%m": "method",
	"request_uri": "uri", "uri": "path", "document_uri": "path", "%U": "path",
	"args": "query", "query_string": "query", "%q": "query_q",
	"status": "status", "%>s": "status", "%s": "status",
	"body_bytes_sent": "bytes", "bytes_sent": "bytes", "%b": "bytes", "%B": "bytes", "%O": "bytes",
	"http_referer": "referer", "%{Referer}i": "referer", "%{referer}i": "referer",
	"http_user_agent": "ua", "%{User-Agent}i": "ua", "%{User-agent}i": "ua", "%{user-agent}i": "ua",
	"request_time": "secs", "%T": "secs", "%D": "micros",
	"host": "host", "http_host": "host", "server_name": "host", "%v": "host", "%V": "host", "%{Host}i": "host",
	"scheme": "scheme", "server_protocol": "proto", "%H": "proto",
}

// NewCustom compiles a log format string.
func NewCustom(source, format string) (*Custom, error) {
	c := &Custom{Source: source, slot: map[string]int{}}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			c.parts = append(c.parts, customPart{literal: lit.String()})
			lit.Reset()
		}
	}
	add := func(name string) error {
		if len(c.parts) > 0 && c.parts[len(c.parts)-1].field != "" && lit.Len() == 0 {
			return fmt.Errorf("log format: %s follows another field with nothing between them", name)
		}
		flush()
		f := customFields[name]
		if f == "" {
			f = "-" + name // read and ignored
		}
		if _, ok := c.slot[f]; !ok {
			c.slot[f] = len(c.slot)
		}
		c.parts = append(c.parts, customPart{field: f, slot: c.slot[f]})
		return nil
	}
	for i := 0; i < len(format); {
		ch := format[i]
		switch {
		case ch == '$':
			j := i + 1
			for j < len(format) && (format[j] == '_' || format[j] >= 'a' && format[j] <= 'z' || format[j] >= 'A' && format[j] <= 'Z' || format[j] >= '0' && format[j] <= '9') {
				j++
			}
			if j == i+1 {
				lit.WriteByte(ch)
				i++
				continue
			}
			if err := add(format[i+1 : j]); err != nil {
				return nil, err
			}
			i = j
		case ch == '%' && i+1 < len(format):
			j := i + 1
			if format[j] == '%' {
				lit.WriteByte('%')
				i += 2
				continue
			}
			for j < len(format) && (format[j] == '>' || format[j] == '<') {
				j++
			}
			if j < len(format) && format[j] == '{' {
				k := strings.IndexByte(format[j:], '}')
				if k < 0 {
					return nil, fmt.Errorf("log format: unclosed %%{ at %d", i)
				}
				j += k + 1
			}
			if j >= len(format) {
				return nil, fmt.Errorf("log format: %% at the end")
			}
			if err := add(format[i : j+1]); err != nil {
				return nil, err
			}
			i = j + 1
		default:
			lit.WriteByte(ch)
			i++
		}
	}
	flush()
	c.vals = make([]string, len(c.slot))
	has := func(f string) bool { _, ok := c.slot[f]; return ok }
	if !has("time_clf") && !has("time_iso") && !has("time_epoch") {
		return nil, fmt.Errorf("log format: no time ($time_local, $time_iso8601, $msec or %%t)")
	}
	if !has("request") && !has("uri") && !has("path") {
		return nil, fmt.Errorf("log format: no request ($request, $request_uri, %%r or %%U)")
	}
	c.noUA = !has("ua")
	return c, nil
}

// Parse implements Reader.
func (c *Custom) Parse(line []byte, lineNo int64, h *hit.Hit) (bool, error) {
	s := string(line)
	if strings.TrimSpace(s) == "" {
		return false, nil
	}
	errorf := func(reason, format string, args ...any) error {
		return &ParseError{Source: c.Source, Line: lineNo, Reason: reason, Detail: fmt.Sprintf(format, args...)}
	}
	clear(c.vals)
	pos := 0
	for i, p := range c.parts {
		if p.field == "" {
			if !strings.HasPrefix(s[pos:], p.literal) {
				return false, errorf(ReasonBadFormat, "expected %q at column %d", p.literal, pos+1)
			}
			pos += len(p.literal)
			continue
		}
		quoted := i > 0 && strings.HasSuffix(c.parts[i-1].literal, `"`)
		var end int
		switch {
		case quoted:
			end = closingQuote(s, pos)
		case p.field == "time_clf" && pos < len(s) && s[pos] == '[':
			// Apache's %t writes the brackets itself.
			if end = strings.IndexByte(s[pos:], ']'); end >= 0 {
				end += pos + 1
			}
		case i+1 < len(c.parts):
			next := c.parts[i+1].literal
			if p.field == "time_clf" && strings.HasPrefix(next, "]") {
				end = strings.IndexByte(s[pos:], ']')
			} else {
				end = strings.Index(s[pos:], next[:1])
			}
			if end >= 0 {
				end += pos
			}
		default:
			end = len(s)
		}
		if end < 0 {
			return false, errorf(ReasonBadFormat, "field %s does not end", strings.TrimPrefix(p.field, "-"))
		}
		val := s[pos:end]
		if quoted && strings.IndexByte(val, '\\') >= 0 {
			val = (&Combined{}).unescape(val)
		}
		c.vals[p.slot] = val
		pos = end
	}
	return c.fill(h, errorf)
}

// get returns the value of a normalized field in the line just split, or "".
func (c *Custom) get(field string) string {
	if i, ok := c.slot[field]; ok {
		return c.vals[i]
	}
	return ""
}

// closingQuote returns the index of the '"' that ends a quoted value
// starting at pos (escaped quotes skipped), or -1.
func closingQuote(s string, pos int) int {
	for j := pos; j < len(s); j++ {
		if s[j] == '\\' {
			j++
			continue
		}
		if s[j] == '"' {
			return j
		}
	}
	return -1
}

func (c *Custom) fill(h *hit.Hit, errorf func(string, string, ...any) error) (bool, error) {
	var t time.Time
	var err error
	switch {
	case c.get("time_clf") != "":
		t, err = parseCLFTime(strings.Trim(c.get("time_clf"), "[]"))
	case c.get("time_iso") != "":
		t, err = time.Parse(time.RFC3339, c.get("time_iso"))
	case c.get("time_epoch") != "":
		var f float64
		f, err = strconv.ParseFloat(c.get("time_epoch"), 64)
		t = time.UnixMilli(int64(f * 1000)).UTC()
	}
	if err != nil || t.UTC().Year() < minYear || t.UTC().Year() > maxYear {
		return false, errorf(ReasonBadDate, "time %q", c.get("time_clf")+c.get("time_iso")+c.get("time_epoch"))
	}
	method, target := c.get("method"), c.get("uri")
	proto := dash(c.get("proto"))
	if req := c.get("request"); req != "" {
		m, tg, reqProto, ok := splitRequest(req)
		if !ok {
			return false, errorf(ReasonBadRequest, "request %q", clip(req))
		}
		method, target = m, tg
		if proto == "" {
			proto = reqProto
		}
	}
	if target == "" {
		target = c.get("path")
		if q := c.get("query"); q != "" && q != "-" {
			target += "?" + q
		} else if q := c.get("query_q"); q != "" {
			target += q // Apache %q has its '?'
		}
	}
	if method == "" {
		method = "GET"
	}
	_, _, path, query := splitURL(target)
	if path == "" || target == "-" {
		return false, errorf(ReasonBadRequest, "no path")
	}
	status := -1
	if x := dash(c.get("status")); x != "" {
		n, ok := atoi(x)
		if !ok {
			return false, errorf(ReasonBadNumber, "status %q", x)
		}
		status = n
	}
	bytes := int64(-1)
	if x := c.get("bytes"); x == "-" {
		bytes = 0
	} else if x != "" {
		if bytes, err = strconv.ParseInt(x, 10, 64); err != nil || bytes < 0 {
			return false, errorf(ReasonBadNumber, "bytes %q", x)
		}
	}
	dur := time.Duration(-1)
	if x := dash(c.get("secs")); x != "" {
		d, ok := seconds(x)
		if !ok {
			return false, errorf(ReasonBadNumber, "request time %q", x)
		}
		dur = d
	} else if x := dash(c.get("micros")); x != "" {
		us, err := strconv.ParseInt(x, 10, 64)
		if err != nil || us < 0 {
			return false, errorf(ReasonBadNumber, "request time %q", x)
		}
		dur = time.Duration(us) * time.Microsecond
	}
	*h = hit.Hit{
		Time: t.UTC(), Method: method, Scheme: dash(c.get("scheme")), Host: stripPort(dash(c.get("host"))), Path: path, Query: query,
		Status: status, Bytes: bytes, Duration: dur, TTFB: -1, UserAgent: dash(c.get("ua")), Referrer: dash(c.get("referer")),
		ClientIP: c.get("ip"), ForwardedFor: dash(c.get("xff")), User: dash(c.get("user")), HTTPVersion: proto,
		NoUserAgentField: c.noUA,
	}
	return true, nil
}
