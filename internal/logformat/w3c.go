package logformat

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/hit"
)

// W3C reads W3C extended logs as IIS writes them: a #Fields header names
// the space-separated columns (a value may be in double quotes); "-" is
// empty; a '+' in the user agent and referrer is a space. time-taken is in
// seconds, as the W3C draft defines it, except in IIS's logs (a #Software
// header naming Internet Information Services, or an sc-win32-status or
// sc-substatus field), which write milliseconds, as does TimeTakenMS (IIS
// Advanced Logging). Times are UTC (IIS's default); date-local and time-local,
// when they are all there is, are read as UTC too, as the log does not say
// its offset. When the #Fields have no cs(User-Agent), hits have
// NoUserAgentField set. CloudFront's W3C files are read by CloudFront, not here.
type W3C struct {
	Source string
	// TimeTakenMS: time-taken is in milliseconds whatever the headers say.
	TimeTakenMS bool
	// FieldMap reads fields of other names (lower case) as standard ones.
	FieldMap map[string]string
	iis      bool     // the headers say the log is IIS's
	noUA     bool     // the #Fields have no cs(User-Agent)
	cols     []string // lower-case field names
	f        []string
}

// NewW3C returns a reader for one input named source.
func NewW3C(source string) *W3C { return &W3C{Source: source} }

// newW3C returns a reader with the W3C options of o; a header given in
// o.W3CFields is read first.
func newW3C(source string, o ReaderOptions) *W3C {
	r := &W3C{Source: source, TimeTakenMS: o.W3CTimeTakenMS, FieldMap: o.W3CFieldMap}
	if o.W3CFields != "" {
		hdr := strings.TrimSpace(o.W3CFields)
		if !strings.HasPrefix(hdr, "#") {
			hdr = "#Fields: " + hdr
		}
		r.Parse([]byte(hdr), 0, nil)
	}
	return r
}

// isW3CHeader reports whether a #Fields line is IIS/W3C rather than CloudFront.
func isW3CHeader(line string) bool {
	l := strings.ToLower(line)
	if strings.Contains(l, "x-edge-") || strings.Contains(l, "x-host-header") || strings.Contains(l, "cs-protocol") {
		return false
	}
	for _, f := range []string{" s-ip", " s-sitename", " s-port", " cs-host", " cs-username", " s-computername", " date-local", " cs-uri "} {
		if strings.Contains(l+" ", f) {
			return true
		}
	}
	return false
}

// Parse implements Reader.
func (r *W3C) Parse(line []byte, lineNo int64, h *hit.Hit) (bool, error) {
	s := strings.TrimSpace(string(line))
	if s == "" {
		return false, nil
	}
	errorf := func(reason, format string, args ...any) error {
		return &ParseError{Source: r.Source, Line: lineNo, Reason: reason, Detail: fmt.Sprintf(format, args...)}
	}
	if s[0] == '#' {
		name, rest, _ := strings.Cut(s, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "#fields":
			r.cols = strings.Fields(strings.ToLower(rest))
			for i, c := range r.cols {
				if std, ok := r.FieldMap[c]; ok {
					r.cols[i] = std
				}
			}
			r.noUA = true
			for _, c := range r.cols {
				r.iis = r.iis || c == "sc-win32-status" || c == "sc-substatus"
				r.noUA = r.noUA && c != "cs(user-agent)"
			}
		case "#software":
			r.iis = r.iis || strings.Contains(strings.ToLower(rest), "internet information services")
		}
		return false, nil
	}
	if r.cols == nil {
		return false, errorf(ReasonBadFormat, "no #Fields header before the first line")
	}
	r.f = splitQuoted(s, r.f)
	if len(r.f) != len(r.cols) {
		return false, errorf(ReasonFieldCount, "%d fields, the header has %d", len(r.f), len(r.cols))
	}
	v := map[string]string{}
	for i, c := range r.cols {
		if r.f[i] != "-" {
			v[c] = r.f[i]
		}
	}
	date, tm := v["date"], v["time"]
	if date == "" {
		date, tm = v["date-local"], v["time-local"]
	}
	if i := strings.IndexByte(tm, '.'); i > 0 {
		tm = tm[:i] // fractions of a second
	}
	t, err := time.Parse("2006-01-02 15:04:05", date+" "+tm)
	if err != nil || t.Year() < minYear || t.Year() > maxYear {
		return false, errorf(ReasonBadDate, "date %q time %q", date, tm)
	}
	path := v["cs-uri-stem"]
	if path == "" {
		return false, errorf(ReasonMissingField, "no cs-uri-stem")
	}
	status := -1
	if x := v["sc-status"]; x != "" {
		n, ok := atoi(x)
		if !ok {
			return false, errorf(ReasonBadNumber, "sc-status %q", x)
		}
		status = n
	}
	bytes := int64(-1)
	if x := v["sc-bytes"]; x != "" {
		if bytes, err = strconv.ParseInt(x, 10, 64); err != nil || bytes < 0 {
			return false, errorf(ReasonBadNumber, "sc-bytes %q", x)
		}
	}
	dur := time.Duration(-1)
	for _, k := range []string{"time-taken", "timetakenms"} {
		x := v[k]
		if x == "" {
			continue
		}
		if k == "timetakenms" || r.iis || r.TimeTakenMS {
			ms, err := strconv.ParseInt(x, 10, 64)
			if err != nil || ms < 0 {
				return false, errorf(ReasonBadNumber, "%s %q", k, x)
			}
			dur = time.Duration(ms) * time.Millisecond
		} else {
			d, ok := seconds(x)
			if !ok {
				return false, errorf(ReasonBadNumber, "%s %q", k, x)
			}
			dur = d
		}
	}
	host := v["cs-host"]
	if host == "" {
		host = v["cs(host)"]
	}
	ref := v["cs(referer)"]
	if ref == "" {
		ref = v["cs(referrer)"]
	}
	method := v["cs-method"]
	if method == "" {
		method = "GET"
	}
	*h = hit.Hit{
		Time: t, Method: method, Host: stripPort(host), Path: path, Query: v["cs-uri-query"],
		Status: status, Bytes: bytes, Duration: dur, TTFB: -1,
		UserAgent: strings.ReplaceAll(v["cs(user-agent)"], "+", " "), Referrer: ref,
		ClientIP: v["c-ip"], User: v["cs-username"], NoUserAgentField: r.noUA,
	}
	return true, nil
}
