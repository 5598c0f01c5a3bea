package logformat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/hit"
)

// NginxJSON reads the nginx JSON log format of Matomo's importer:
//
//	log_format matomo '{"ip": "$remote_addr","host": "$host","path": "$request_uri","status": "$status",
//	  "referrer": "$http_referer","user_agent": "$http_user_agent","length": $bytes_sent,
//	  "generation_time_milli": $request_time,"date": "$time_iso8601"}';
//
// path holds path and query; generation_time_milli holds $request_time,
// which nginx writes in SECONDS; date is ISO 8601 with an offset (and
// optional fractional seconds), converted to UTC. nginx writes '"' and
// non-UTF-8 bytes as \xHH, which is not JSON: those become \u00HH before
// decoding. Optional keys: method, query_string, userid. Missing or empty
// values are fine; a line without ip, path or date is missing_field. A line
// without a user_agent key (a log_format that does not write it) gives a
// hit with NoUserAgentField set; an empty or "-" value is an empty user agent.
type NginxJSON struct {
	Source string
	buf    []byte
}

// NewNginxJSON returns a reader for one input named source.
func NewNginxJSON(source string) *NginxJSON { return &NginxJSON{Source: source} }

type nginxRecord struct {
	IP, Host, Path, Status, Referrer, UserAgent, Length, GenTime, Date, Method, QueryString, UserID string
	HasUserAgent                                                                                    bool // the line has a user_agent key
}

func (r *NginxJSON) errorf(lineNo int64, reason, format string, args ...any) error {
	return &ParseError{Source: r.Source, Line: lineNo, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Parse implements Reader.
func (r *NginxJSON) Parse(line []byte, lineNo int64, h *hit.Hit) (bool, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return false, nil
	}
	if bytes.Contains(line, []byte(`\x`)) {
		r.buf = append(r.buf[:0], line...)
		r.buf = fixNginxEscapes(r.buf)
		line = r.buf
	}
	var rec nginxRecord
	err := flatJSON(string(line), func(k, v string, _ bool) {
		switch k {
		case "ip":
			rec.IP = v
		case "host":
			rec.Host = v
		case "path":
			rec.Path = v
		case "status":
			rec.Status = v
		case "referrer":
			rec.Referrer = v
		case "user_agent":
			rec.UserAgent, rec.HasUserAgent = v, true
		case "length":
			rec.Length = v
		case "generation_time_milli":
			rec.GenTime = v
		case "date":
			rec.Date = v
		case "method":
			rec.Method = v
		case "query_string":
			rec.QueryString = v
		case "userid":
			rec.UserID = v
		}
	})
	if err != nil {
		return false, r.errorf(lineNo, ReasonBadJSON, "%v", err)
	}
	if rec.IP == "" || rec.Path == "" || rec.Date == "" {
		return false, r.errorf(lineNo, ReasonMissingField, "ip, path and date are needed")
	}
	t, err := time.Parse(time.RFC3339Nano, rec.Date)
	if err != nil {
		return false, r.errorf(lineNo, ReasonBadDate, "date %q", rec.Date)
	}
	if y := t.UTC().Year(); y < minYear || y > maxYear {
		return false, r.errorf(lineNo, ReasonBadDate, "date %q is out of range", rec.Date)
	}
	status, ok := atoiOrMissing(rec.Status)
	if !ok || status > 999 {
		return false, r.errorf(lineNo, ReasonBadNumber, "status %s", rec.Status)
	}
	length, ok := atoiOrMissing(rec.Length)
	if !ok {
		return false, r.errorf(lineNo, ReasonBadNumber, "length %s", rec.Length)
	}
	dur := time.Duration(-1)
	if s := rec.GenTime; s != "" && s != "-" {
		d, ok := seconds(s)
		if !ok {
			return false, r.errorf(lineNo, ReasonBadNumber, "generation_time_milli %s", rec.GenTime)
		}
		dur = d
	}
	path, query := rec.Path, ""
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i+1:]
	}
	if path == "" {
		return false, r.errorf(lineNo, ReasonMissingField, "path %q has no path part", clip(rec.Path))
	}
	if query == "" && rec.QueryString != "" && rec.QueryString != "-" {
		query = rec.QueryString
	}
	method := rec.Method
	if method == "" {
		method = "GET" // the format has no method; Matomo's importer assumes GET too
	}
	*h = hit.Hit{
		Time: t.UTC(), Method: method, Host: dash(rec.Host), Path: path, Query: query,
		Status: status, Bytes: int64(length), Duration: dur, TTFB: -1,
		UserAgent: dash(rec.UserAgent), Referrer: dash(rec.Referrer), ClientIP: rec.IP, User: dash(rec.UserID),
		NoUserAgentField: !rec.HasUserAgent,
	}
	return true, nil
}

// atoiOrMissing reads a non-negative integer; empty and "-" are -1.
func atoiOrMissing(s string) (int, bool) {
	if s == "" || s == "-" {
		return -1, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 1<<53 {
		return 0, false
	}
	return int(n), true
}

// jsonInt reads a number or a numeric string; empty, "-" and null are -1.
func jsonInt(raw json.RawMessage) (int, bool) {
	s := strings.Trim(string(raw), `"`)
	if s == "" || s == "-" || s == "null" {
		return -1, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 1<<53 {
		return 0, false
	}
	return int(n), true
}

// fixNginxEscapes turns nginx's \xHH escapes into JSON's \u00HH, in place
// where it can.
func fixNginxEscapes(b []byte) []byte {
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) {
			if b[i+1] == 'x' {
				out = append(out, '\\', 'u', '0', '0')
				i++
				continue
			}
			out = append(out, b[i], b[i+1]) // keep other escapes (\\ \" \n) whole
			i++
			continue
		}
		out = append(out, b[i])
	}
	return out
}
