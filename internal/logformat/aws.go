package logformat

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/hit"
)

// ReasonNotHTTP is a load balancer line for a TCP connection, with no HTTP request.
const ReasonNotHTTP = "not_http"

// ELB reads AWS Application Load Balancer logs (a first field giving the
// type: http, https, h2, grpcs, ws, wss) and Classic Load Balancer logs (the
// time first). The request's absolute URL gives scheme, host and path; the
// three processing times add up to the duration; "-1" times and "-" values
// are missing. A line whose request is "- - - " (a TCP connection) is
// counted as not_http. Classic Load Balancer lines of 12 fields (before
// the user agent was added) give hits with NoUserAgentField set.
type ELB struct {
	Source string
	f      []string
}

// NewELB returns a reader for one input named source.
func NewELB(source string) *ELB { return &ELB{Source: source} }

func (r *ELB) errorf(lineNo int64, reason, format string, args ...any) error {
	return &ParseError{Source: r.Source, Line: lineNo, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Parse implements Reader.
func (r *ELB) Parse(line []byte, lineNo int64, h *hit.Hit) (bool, error) {
	s := strings.TrimSpace(string(line))
	if s == "" || s[0] == '#' {
		return false, nil
	}
	r.f = splitQuoted(s, r.f)
	f := r.f
	if len(f) > 0 && !strings.Contains(f[0], "T") { // ALB: the type comes first
		f = f[1:]
	}
	if len(f) < 12 {
		return false, r.errorf(lineNo, ReasonFieldCount, "%d fields, want at least 12", len(f))
	}
	t, err := time.Parse(time.RFC3339Nano, f[0])
	if err != nil || t.Year() < minYear || t.Year() > maxYear {
		return false, r.errorf(lineNo, ReasonBadDate, "time %q", f[0])
	}
	method, target, proto, ok := splitRequest(strings.TrimSpace(f[11]))
	if !ok {
		if strings.HasPrefix(f[11], "- - -") {
			return false, r.errorf(lineNo, ReasonNotHTTP, "a TCP connection, no HTTP request")
		}
		return false, r.errorf(lineNo, ReasonBadRequest, "request %q", clip(f[11]))
	}
	scheme, host, path, query := splitURL(target)
	status := -1
	if f[7] != "-" {
		if status, ok = atoi(f[7]); !ok {
			return false, r.errorf(lineNo, ReasonBadNumber, "status %q", f[7])
		}
	}
	bytes := int64(-1)
	if f[10] != "-" {
		if bytes, err = strconv.ParseInt(f[10], 10, 64); err != nil {
			return false, r.errorf(lineNo, ReasonBadNumber, "sent bytes %q", f[10])
		}
	}
	dur := time.Duration(0)
	for _, v := range f[4:7] {
		d, ok := seconds(v)
		if !ok { // -1: the request did not reach a target
			dur = -1
			break
		}
		dur += d
	}
	ip := f[2]
	if i := strings.LastIndexByte(ip, ':'); i > 0 {
		ip = strings.TrimSuffix(strings.TrimPrefix(ip[:i], "["), "]")
	}
	ua := ""
	if len(f) > 12 {
		ua = dash(f[12])
	}
	*h = hit.Hit{
		Time: t.UTC(), Method: method, Scheme: scheme, Host: host, Path: path, Query: query, HTTPVersion: proto,
		Status: status, Bytes: bytes, Duration: dur, TTFB: -1, UserAgent: ua, ClientIP: ip,
		NoUserAgentField: len(f) <= 12,
	}
	return true, nil
}

// S3Access reads Amazon S3 server access logs: bucket owner, bucket,
// [time], remote IP, requester, request id, operation, key, "request-URI",
// status, error code, bytes sent, object size, total time (ms),
// turn-around time, "referer", "user-agent", and later fields, of which the
// Host header (the 22nd) gives the host when present, else the bucket. The
// requester, when not anonymous, is the user (sent as uid in visits mode,
// as Matomo's importer does).
type S3Access struct {
	Source string
	f      []string
}

// NewS3Access returns a reader for one input named source.
func NewS3Access(source string) *S3Access { return &S3Access{Source: source} }

// Parse implements Reader.
func (r *S3Access) Parse(line []byte, lineNo int64, h *hit.Hit) (bool, error) {
	s := strings.TrimSpace(string(line))
	if s == "" {
		return false, nil
	}
	errorf := func(reason, format string, args ...any) error {
		return &ParseError{Source: r.Source, Line: lineNo, Reason: reason, Detail: fmt.Sprintf(format, args...)}
	}
	r.f = splitQuoted(s, r.f)
	f := r.f
	if len(f) < 17 {
		return false, errorf(ReasonFieldCount, "%d fields, want at least 17", len(f))
	}
	if len(f[2]) < 2 || f[2][0] != '[' {
		return false, errorf(ReasonBadFormat, "no [time]")
	}
	t, err := parseCLFTime(f[2][1 : len(f[2])-1])
	if err != nil {
		return false, errorf(ReasonBadDate, "%v", err)
	}
	method, target, proto, ok := splitRequest(f[8])
	if !ok {
		return false, errorf(ReasonBadRequest, "request %q", clip(f[8]))
	}
	_, _, path, query := splitURL(target)
	status, ok := atoi(f[9])
	if !ok {
		return false, errorf(ReasonBadNumber, "status %q", f[9])
	}
	bytes := int64(-1)
	if f[11] != "-" {
		if bytes, err = strconv.ParseInt(f[11], 10, 64); err != nil {
			return false, errorf(ReasonBadNumber, "bytes sent %q", f[11])
		}
	}
	dur := time.Duration(-1)
	if ms, err := strconv.ParseInt(f[13], 10, 64); err == nil && ms >= 0 {
		dur = time.Duration(ms) * time.Millisecond
	}
	host := f[1]
	if len(f) > 21 && f[21] != "-" {
		host = f[21]
	}
	*h = hit.Hit{
		Time: t, Method: method, Host: host, Path: path, Query: query, Status: status, Bytes: bytes, HTTPVersion: proto,
		Duration: dur, TTFB: -1, Referrer: dash(f[15]), UserAgent: dash(f[16]), ClientIP: f[3],
		User: dash(f[4]), // the requester: an IAM principal's ARN, "-" when anonymous
	}
	return true, nil
}
