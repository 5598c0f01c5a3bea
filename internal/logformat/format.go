package logformat

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/hit"
)

// Reader turns the lines of one input into hits. Lines come in order,
// header lines included, without their line end. Parse returns false and no
// error for lines that are not hits (headers, blank lines) and a
// *ParseError for a malformed line; it never panics.
type Reader interface {
	Parse(line []byte, lineNo int64, h *hit.Hit) (bool, error)
}

// Formats that --format accepts.
var Formats = []string{"auto", "cloudfront", "combined", "nginx_json", "elb", "s3", "traefik", "caddy", "w3c", "cloudfront-realtime", "custom"}

// New returns a reader of format for the input named source.
func New(format, source string) (Reader, error) { return NewReader(format, source, ReaderOptions{}) }

// ReaderOptions complete some formats.
type ReaderOptions struct {
	// RealtimeFields are the fields enabled in CloudFront real-time logs,
	// in any order (nil: a record is read with the one of RealtimeConfigs
	// that has its field count; see NewCloudFrontRealtime). Auto reads the
	// real-time records it recognises with them.
	RealtimeFields []string
	// LogFormat is an nginx log_format or Apache LogFormat string; when
	// set, the format is "custom" whatever format says.
	LogFormat string
	// W3CTimeTakenMS reads W3C time-taken as milliseconds also in logs
	// that do not say they are IIS's (import_logs.py's
	// --w3c-time-taken-millisecs).
	W3CTimeTakenMS bool
	// W3CFields is a "#Fields: ..." header for W3C logs that have none
	// (--w3c-fields); it makes the format W3C.
	W3CFields string
	// W3CFieldMap reads W3C fields of other names as standard ones
	// (lower case: custom name → standard name; --w3c-map-field).
	W3CFieldMap map[string]string
}

// NewReader is New with options.
func NewReader(format, source string, o ReaderOptions) (Reader, error) {
	if o.LogFormat != "" {
		return NewCustom(source, o.LogFormat)
	}
	if o.W3CFields != "" && (format == "" || format == "auto") {
		format = "w3c"
	}
	switch format {
	case "", "auto":
		if len(o.RealtimeFields) > 0 {
			if _, err := NewCloudFrontRealtime(source, o.RealtimeFields); err != nil {
				return nil, err
			}
		}
		return &Auto{Source: source, Options: o}, nil
	case "cloudfront":
		return NewCloudFront(source), nil
	case "combined", "common", "vhost_combined":
		return NewCombined(source), nil
	case "nginx_json":
		return NewNginxJSON(source), nil
	case "elb", "alb":
		return NewELB(source), nil
	case "s3":
		return NewS3Access(source), nil
	case "traefik", "traefik_json":
		return NewTraefik(source), nil
	case "caddy", "caddy_json":
		return NewCaddy(source), nil
	case "w3c", "iis":
		return newW3C(source, o), nil
	case "cloudfront-realtime":
		return NewCloudFrontRealtime(source, o.RealtimeFields)
	case "custom":
		return nil, fmt.Errorf("format custom needs --log-format")
	}
	return nil, fmt.Errorf("unknown log format %q (known: %s)", format, strings.Join(Formats, ", "))
}

// Auto picks the format of an input from its first data lines (lines that
// are neither blank nor '#' headers). Each data line suggests a format: JSON
// objects by their keys (CloudFront v2, Traefik, Caddy, nginx JSON); a
// TAB-separated line whose first field is epoch seconds with milliseconds
// (1591371245.123), without a #Fields line before it, is a CloudFront
// real-time record (read with ReaderOptions.RealtimeFields, or else with
// the RealtimeConfigs of its field count); a '#' header before it or a
// TAB is CloudFront (W3C/IIS when the last #Fields are IIS's, real-time
// when they are real-time names); an ISO time first (after an ALB type)
// is an AWS load balancer; an owner id, a bucket and a [time] is S3 access; a line that
// reads as `host ident user [time] "request" status size` is
// combined/common. Each format suggested is tried on the first SampleLines
// data lines (header lines included, in order), and the one in which most
// of them parse is chosen when it passes Accept. Otherwise the input's
// format cannot be told: a *FormatError, and the input is not to be read.
//
// lineparse gives Auto its sample with Detect before parsing any line, so
// that no hit is handed on before the format is confirmed. Without Detect,
// Parse decides on the first data line alone (with the headers before it).
// After the decision, Parse gives every line to the chosen reader.
type Auto struct {
	Source  string
	Options ReaderOptions
	r       Reader
	failed  *FormatError
	pending []SampleLine // headers seen by Parse before a decision
}

// Format is the name of the format chosen, or "" before the decision.
func (a *Auto) Format() string { return formatName(a.r) }

func formatName(r Reader) string {
	switch r := r.(type) {
	case *CloudFront:
		if r.realtime {
			return "cloudfront-realtime"
		}
		return "cloudfront"
	case *Combined:
		return "combined"
	case *NginxJSON:
		return "nginx_json"
	case *ELB:
		return "elb"
	case *S3Access:
		return "s3"
	case *Traefik:
		return "traefik"
	case *Caddy:
		return "caddy"
	case *W3C:
		return "w3c"
	case *Custom:
		return "custom"
	}
	return ""
}

// Parse implements Reader. Once the input is refused, every data line
// gives the refusal (the same *FormatError) again.
func (a *Auto) Parse(line []byte, lineNo int64, h *hit.Hit) (bool, error) {
	if a.r != nil {
		return a.r.Parse(line, lineNo, h)
	}
	if !IsDataLine(line) {
		if t := bytes.TrimSpace(line); len(t) > 0 && a.failed == nil && len(a.pending) < maxHeaders {
			a.pending = append(a.pending, SampleLine{Line: lineNo, Text: bytes.Clone(t)})
		}
		return false, nil
	}
	if a.failed != nil {
		return false, a.failed
	}
	if fe := a.Detect(append(a.pending, SampleLine{Line: lineNo, Text: line})); fe != nil {
		return false, fe
	}
	for _, hl := range a.pending {
		a.r.Parse(hl.Text, hl.Line, h)
	}
	a.pending = nil
	return a.r.Parse(line, lineNo, h)
}

// jsonFormat tells the JSON formats apart by their keys ("" for none).
func jsonFormat(line string) string {
	switch {
	case strings.Contains(line, `"cs-uri-stem"`), strings.Contains(line, `"cs_uri_stem"`):
		return "cloudfront"
	case strings.Contains(line, `"RequestPath"`):
		return "traefik"
	case strings.Contains(line, `"http.log.access`) || (strings.Contains(line, `"request"`) && strings.Contains(line, `"ts"`)):
		return "caddy"
	case strings.Contains(line, `"path"`):
		return "nginx_json"
	}
	return ""
}

// isELB: "2015-05-13T23:39:43.945958Z my-lb ..." or "https 2020-01-01T00:55:04.127531Z app/...".
func isELB(line string) bool {
	f := strings.Fields(line)
	if len(f) > 1 && len(f[0]) < 8 && !strings.Contains(f[0], "-") {
		f = f[1:]
	}
	if len(f) < 12 || len(f[0]) < 20 || f[0][10] != 'T' {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, f[0])
	return err == nil
}

// isS3Access: "<owner id> <bucket> [10/Feb/2012:16:42:07 -0500] <ip> ..."
func isS3Access(line string) bool {
	f := strings.SplitN(line, " ", 4)
	return len(f) == 4 && len(f[0]) >= 32 && strings.HasPrefix(f[2], "[") && !strings.ContainsAny(f[0], "./:")
}
