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

// FormatError says that an input is not to be read: Auto cannot tell its
// format from its first data lines (see Auto, Accept), or, whatever the
// format, its start is binary data (Binary, see CheckText). Its lines are
// not read without --format or --log-format (and a binary input not at all).
type FormatError struct {
	Source string
	Line   int64  // the first data line; 0 for Binary
	Sample string // the start of that line

	// Binary: the input holds binary data, not text; Detail says what
	// gives it away.
	Binary bool
	Detail string

	// Tried is the format that the first data lines suggested and in which
	// most of them parse, though too few (Parsed of Tested, see Accept);
	// Err is the first error of those that do not. "" when no line
	// suggested any format.
	Tried          string
	Parsed, Tested int
	Err            error
}

// Detected are the formats Auto tells apart.
var Detected = []string{"cloudfront (standard logs, legacy and v2)", "cloudfront-realtime (real-time log records of a known field count)", "combined/common/vhost_combined", "nginx_json", "elb/alb", "s3", "traefik", "caddy", "w3c/iis"}

func (e *FormatError) Error() string {
	const way = "name it with --format (cloudfront-realtime for CloudFront real-time logs), or give the server's log_format/LogFormat with --log-format"
	switch {
	case e.Binary:
		msg := e.Source + ": not a text log: it holds binary data"
		if e.Detail != "" {
			msg += " (" + e.Detail + ")"
		}
		return msg
	case e.Tried != "":
		why := fmt.Sprint(e.Err)
		if pe, ok := e.Err.(*ParseError); ok {
			why = fmt.Sprintf("line %d: %s: %s", pe.Line, pe.Reason, pe.Detail)
		}
		if e.Tried == "cloudfront-realtime" {
			return fmt.Sprintf("%s:%d: cannot tell the log format: the first data lines look like CloudFront real-time log records, but only %d of %d parse as such (%s); read them with --format cloudfront-realtime and --realtime-fields set to the fields of the real-time log configuration (any order)",
				e.Source, e.Line, e.Parsed, e.Tested, why)
		}
		return fmt.Sprintf("%s:%d: cannot tell the log format: the first data lines look like %s, but only %d of %d parse in it (%s); the formats told apart are %s; %s",
			e.Source, e.Line, e.Tried, e.Parsed, e.Tested, why, strings.Join(Detected, ", "), way)
	}
	return fmt.Sprintf("%s:%d: cannot tell the log format from the first line (%q): it is none of %s; %s",
		e.Source, e.Line, e.Sample, strings.Join(Detected, ", "), way)
}
