// Package logformat turns log lines into hits. Readers do no I/O of their
// own: they are given lines (header lines included) in order and keep the
// state a format needs between them, such as CloudFront's #Fields header.
package logformat

import (
	"fmt"
	"strings"
)

// Reasons a line is malformed. They are stable: summaries and metrics use them.
const (
	ReasonLineTooLong  = "line_too_long"
	ReasonFieldCount   = "field_count"
	ReasonBadDate      = "bad_date"
	ReasonBadNumber    = "bad_number"
	ReasonBadJSON      = "bad_json"
	ReasonMissingField = "missing_field"
)

// ParseError is a line that could not be read. Reading goes on after it.
type ParseError struct {
	Source string // file name, "-" for stdin
	Line   int64  // 1-based line number
	Reason string // one of the Reason constants
	Detail string // what was wrong, for people
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.Source, e.Line, e.Reason, e.Detail)
}

// FormatError is returned by Auto for the first data line of an input when
// it is in none of the formats Auto detects. The input cannot be read
// without --format or --log-format; its later lines are not tried.
type FormatError struct {
	Source string
	Line   int64
	Sample string // the start of the line
}

// Detected are the formats Auto tells apart.
var Detected = []string{"cloudfront (standard logs, legacy and v2)", "combined/common/vhost_combined", "nginx_json", "elb/alb", "s3", "traefik", "caddy", "w3c/iis"}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s:%d: cannot tell the log format from the first line (%q): it is none of %s; name it with --format, or give the server's log_format/LogFormat with --log-format",
		e.Source, e.Line, e.Sample, strings.Join(Detected, ", "))
}
