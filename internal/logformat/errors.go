// Package logformat turns log lines into hits. Readers do no I/O of their
// own: they are given lines (header lines included) in order and keep the
// state a format needs between them, such as CloudFront's #Fields header.
package logformat

import "fmt"

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
