package logformat

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/hit"
)

// Traefik reads Traefik's JSON access log: ClientHost, RequestMethod,
// RequestHost, RequestPath (with the query), RequestScheme,
// DownstreamStatus, DownstreamContentSize, Duration (nanoseconds),
// request_User-Agent and request_Referer (when Traefik keeps those headers),
// ClientUsername, and StartUTC for the time.
//
// Traefik drops request headers from its log by default. A line without
// request_User-Agent has NoUserAgentField set unless the log keeps headers:
// the line has another request_ header, or an earlier line of the input had
// request_User-Agent (then the client sent none, and the user agent is
// empty). A Traefik is used by one goroutine, for one input, in line order.
type Traefik struct {
	Source string
	uaSeen bool // a line of this input had request_User-Agent
}

// NewTraefik returns a reader for one input named source.
func NewTraefik(source string) *Traefik { return &Traefik{Source: source} }

type traefikRecord struct {
	ClientHost     string          `json:"ClientHost"`
	ClientUsername string          `json:"ClientUsername"`
	RequestMethod  string          `json:"RequestMethod"`
	RequestHost    string          `json:"RequestHost"`
	RequestPath    string          `json:"RequestPath"`
	RequestScheme  string          `json:"RequestScheme"`
	Status         json.RawMessage `json:"DownstreamStatus"`
	Size           json.RawMessage `json:"DownstreamContentSize"`
	Duration       json.RawMessage `json:"Duration"`
	UserAgent      *string         `json:"request_User-Agent"`
	Referer        string          `json:"request_Referer"`
	StartUTC       string          `json:"StartUTC"`
}

// Parse implements Reader.
func (r *Traefik) Parse(line []byte, lineNo int64, h *hit.Hit) (bool, error) {
	errorf := func(reason, format string, args ...any) error {
		return &ParseError{Source: r.Source, Line: lineNo, Reason: reason, Detail: fmt.Sprintf(format, args...)}
	}
	if len(strings.TrimSpace(string(line))) == 0 {
		return false, nil
	}
	var rec traefikRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return false, errorf(ReasonBadJSON, "%v", err)
	}
	if rec.RequestPath == "" || rec.StartUTC == "" || rec.ClientHost == "" {
		return false, errorf(ReasonMissingField, "ClientHost, RequestPath and StartUTC are needed")
	}
	t, err := time.Parse(time.RFC3339Nano, rec.StartUTC)
	if err != nil || t.Year() < minYear || t.Year() > maxYear {
		return false, errorf(ReasonBadDate, "StartUTC %q", rec.StartUTC)
	}
	status, ok := jsonInt(rec.Status)
	size, ok2 := jsonInt(rec.Size)
	ns, ok3 := jsonInt(rec.Duration)
	if !ok || !ok2 || !ok3 || status > 999 {
		return false, errorf(ReasonBadNumber, "status %s, size %s, duration %s", rec.Status, rec.Size, rec.Duration)
	}
	_, _, path, query := splitURL(rec.RequestPath)
	dur := time.Duration(ns)
	if ns < 0 {
		dur = -1
	}
	ua, noUA := "", false
	if rec.UserAgent != nil {
		ua, r.uaSeen = *rec.UserAgent, true
	} else {
		noUA = !r.uaSeen && !hasRequestHeader(line)
	}
	*h = hit.Hit{
		Time: t.UTC(), Method: rec.RequestMethod, Scheme: strings.ToLower(rec.RequestScheme), Host: stripPort(rec.RequestHost),
		Path: path, Query: query, Status: status, Bytes: int64(size), Duration: dur, TTFB: -1,
		UserAgent: dash(ua), Referrer: dash(rec.Referer), ClientIP: rec.ClientHost, User: dash(rec.ClientUsername),
		NoUserAgentField: noUA,
	}
	return true, nil
}

// hasRequestHeader reports whether a Traefik line has a request_ header
// key: the log keeps request headers.
func hasRequestHeader(line []byte) bool {
	found := false
	flatJSON(string(line), func(k, _ string, _ bool) {
		found = found || strings.HasPrefix(k, "request_")
	})
	return found
}

// Caddy reads Caddy's JSON access log (logger http.log.access): ts (epoch
// seconds), request.{client_ip, remote_ip, method, host, uri, tls,
// headers.User-Agent, headers.Referer}, status, size, duration (seconds),
// user_id. A request with a tls object is https. Caddy logs every request
// header: a request without a headers object (removed by a log filter) has
// NoUserAgentField set; one whose headers have no User-Agent is a client
// that sent none (an empty user agent).
type Caddy struct{ Source string }

// NewCaddy returns a reader for one input named source.
func NewCaddy(source string) *Caddy { return &Caddy{Source: source} }

type caddyRecord struct {
	TS      float64 `json:"ts"`
	Request struct {
		ClientIP string              `json:"client_ip"`
		RemoteIP string              `json:"remote_ip"`
		Method   string              `json:"method"`
		Host     string              `json:"host"`
		URI      string              `json:"uri"`
		TLS      json.RawMessage     `json:"tls"`
		Headers  map[string][]string `json:"headers"`
	} `json:"request"`
	Status   int     `json:"status"`
	Size     int64   `json:"size"`
	Duration float64 `json:"duration"`
	UserID   string  `json:"user_id"`
}

// Parse implements Reader.
func (r *Caddy) Parse(line []byte, lineNo int64, h *hit.Hit) (bool, error) {
	errorf := func(reason, format string, args ...any) error {
		return &ParseError{Source: r.Source, Line: lineNo, Reason: reason, Detail: fmt.Sprintf(format, args...)}
	}
	if len(strings.TrimSpace(string(line))) == 0 {
		return false, nil
	}
	var rec caddyRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return false, errorf(ReasonBadJSON, "%v", err)
	}
	q := &rec.Request
	ip := q.ClientIP
	if ip == "" {
		ip = q.RemoteIP
	}
	if q.URI == "" || ip == "" {
		return false, errorf(ReasonMissingField, "request.uri and request.client_ip are needed")
	}
	if rec.TS < minUnix || rec.TS > maxUnix || math.IsNaN(rec.TS) {
		return false, errorf(ReasonBadDate, "ts %v", rec.TS)
	}
	if rec.Status < 0 || rec.Status > 999 || rec.Size < -1 || rec.Duration < 0 || rec.Duration > 1e9 {
		return false, errorf(ReasonBadNumber, "status %d, size %d, duration %v", rec.Status, rec.Size, rec.Duration)
	}
	scheme := "http"
	if len(q.TLS) > 0 && string(q.TLS) != "null" {
		scheme = "https"
	}
	_, _, path, query := splitURL(q.URI)
	header := func(name string) string {
		for k, v := range q.Headers {
			if strings.EqualFold(k, name) && len(v) > 0 {
				return v[0]
			}
		}
		return ""
	}
	sec, frac := math.Modf(rec.TS)
	noUA := q.Headers == nil // absent or null
	*h = hit.Hit{
		Time: time.Unix(int64(sec), int64(frac*1e9)).UTC(), Method: q.Method, Scheme: scheme, Host: stripPort(q.Host),
		Path: path, Query: query, Status: rec.Status, Bytes: rec.Size, Duration: time.Duration(rec.Duration * 1e9), TTFB: -1,
		UserAgent: header("User-Agent"), Referrer: header("Referer"), ClientIP: ip, User: rec.UserID,
		NoUserAgentField: noUA,
	}
	return true, nil
}

// stripPort removes ":port" from a host (not from a bare IPv6 address).
func stripPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i > 0 {
			return host[1:i]
		}
	}
	if i := strings.LastIndexByte(host, ':'); i > 0 && strings.Count(host, ":") == 1 {
		if _, err := strconv.Atoi(host[i+1:]); err == nil {
			return host[:i]
		}
	}
	return host
}
