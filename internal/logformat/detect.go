package logformat

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/trackless/trackless/internal/hit"
)

// SampleLines is how many data lines of an input Auto.Detect tries the
// formats on.
const SampleLines = 5

// maxHeaders is how many header lines before the first data line Auto keeps.
const maxHeaders = 64

// SampleLine is one of the first lines of an input, given to Detect.
type SampleLine struct {
	Line int64  // 1-based line number
	Text []byte // the line without its line end; nil when TooLong
	// TooLong: the line is over input.MaxLineLen and was skipped. It counts
	// as a data line that parses in no format.
	TooLong bool
}

// Detector is a Reader that chooses its format from the first lines of its
// input (Auto). Its reader must call Detect before the first Parse.
type Detector interface {
	Reader
	// Detect is given the first lines of the input, in order, header lines
	// included, up to SampleLines data lines (fewer when the input has
	// fewer). It returns nil when the input is to be read (then every line
	// is given to Parse, the sample's again), or a *FormatError when it is
	// not. A sample without any data line decides nothing: Parse then
	// decides on the first data line alone.
	Detect(sample []SampleLine) *FormatError
}

// IsDataLine reports whether a line is a data line: neither blank nor a
// '#' header or comment.
func IsDataLine(line []byte) bool {
	t := bytes.TrimSpace(line)
	return len(t) > 0 && t[0] != '#'
}

// Accept is the rule by which the first data lines of an input confirm a
// format: of the tested ones (SampleLines, or all of them when the input
// has fewer), at most one may fail to parse, and at least one must parse.
// So five lines need four, a log with one odd line among its first ones is
// read (the odd line is malformed), and a one-line input must parse. A
// line of the format that is not a hit (an ELB TCP connection, not_http)
// parses.
func Accept(parsed, tested int) bool { return parsed >= 1 && tested-parsed <= 1 }

// Detect implements Detector: each data line of the sample suggests a
// format (see Auto), every format suggested is tried on the whole sample
// with a reader of its own, and the one in which most data lines parse is
// chosen if it passes Accept (on a tie, the one suggested first).
func (a *Auto) Detect(sample []SampleLine) *FormatError {
	if a.r != nil || a.failed != nil {
		return a.failed
	}
	var headers []SampleLine
	var candidates []string
	first, last, tested := -1, -1, 0
	for i, l := range sample {
		if tested == SampleLines {
			break
		}
		if l.TooLong {
			tested, last = tested+1, i
			if first < 0 {
				first = i
			}
			continue
		}
		t := bytes.TrimSpace(l.Text)
		switch {
		case len(t) == 0:
			continue
		case t[0] == '#':
			if len(headers) < maxHeaders {
				headers = append(headers, l)
			}
			continue
		}
		tested, last = tested+1, i
		if first < 0 {
			first = i
		}
		if f := a.guess(string(t), headers); f != "" && !contains(candidates, f) {
			candidates = append(candidates, f)
		}
	}
	if tested == 0 {
		return nil
	}
	fe := &FormatError{Source: a.Source, Line: sample[first].Line, Sample: sampleOf(sample[first])}
	best, bestParsed := "", -1
	var bestErr error
	for _, f := range candidates {
		parsed, err := a.try(f, sample[:last+1])
		if parsed > bestParsed {
			best, bestParsed, bestErr = f, parsed, err
		}
	}
	switch {
	case best == "":
		a.failed = fe
	case Accept(bestParsed, tested):
		a.r = a.newFormat(best)
	default:
		fe.Tried, fe.Parsed, fe.Tested, fe.Err = best, bestParsed, tested, bestErr
		a.failed = fe
	}
	return a.failed
}

// guess returns the format that a data line suggests, given the header
// lines before it, or "".
func (a *Auto) guess(line string, headers []SampleLine) string {
	switch {
	case line[0] == '{' && len(headers) == 0:
		return jsonFormat(line)
	}
	switch names := lastFields(headers); {
	case names == nil && isRealtimeRecord(line), isRealtimeHeader(names):
		return "cloudfront-realtime"
	case names != nil && isW3CHeader("#Fields: "+strings.Join(names, " ")):
		return "w3c"
	case len(headers) > 0 || strings.IndexByte(line, '\t') >= 0:
		return "cloudfront"
	case isELB(line):
		return "elb"
	case isS3Access(line):
		return "s3"
	}
	var probe hit.Hit
	if ok, err := NewCombined(a.Source).Parse([]byte(line), 0, &probe); ok && err == nil {
		return "combined"
	}
	return ""
}

// try reads the sample with a new reader of format f: how many data lines
// parse, and the first error of the others.
func (a *Auto) try(f string, sample []SampleLine) (parsed int, first error) {
	r := a.newFormat(f)
	var h hit.Hit
	for _, l := range sample {
		if l.TooLong {
			if first == nil {
				first = &ParseError{Source: a.Source, Line: l.Line, Reason: ReasonLineTooLong, Detail: "over 1 MiB"}
			}
			continue
		}
		_, err := r.Parse(l.Text, l.Line, &h)
		if !IsDataLine(l.Text) {
			continue
		}
		var pe *ParseError
		switch {
		case err == nil, errors.As(err, &pe) && pe.Reason == ReasonNotHTTP:
			parsed++
		case first == nil:
			first = err
		}
	}
	return parsed, first
}

// newFormat returns a new reader of a format that guess names.
func (a *Auto) newFormat(f string) Reader {
	switch f {
	case "cloudfront":
		return NewCloudFront(a.Source)
	case "cloudfront-realtime":
		r, err := NewCloudFrontRealtime(a.Source, a.Options.RealtimeFields)
		if err != nil { // an unknown field name: read with the known configurations
			r, _ = NewCloudFrontRealtime(a.Source, nil)
		}
		return r
	case "combined":
		return NewCombined(a.Source)
	case "nginx_json":
		return NewNginxJSON(a.Source)
	case "elb":
		return NewELB(a.Source)
	case "s3":
		return NewS3Access(a.Source)
	case "traefik":
		return NewTraefik(a.Source)
	case "caddy":
		return NewCaddy(a.Source)
	case "w3c":
		return newW3C(a.Source, a.Options)
	}
	panic("logformat: no format " + f)
}

// lastFields returns the names of the last #Fields header of headers, nil
// when there is none.
func lastFields(headers []SampleLine) []string {
	for i := len(headers) - 1; i >= 0; i-- {
		h := strings.TrimSpace(string(headers[i].Text))
		if name, rest, ok := strings.Cut(h, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "#fields") {
			if names := strings.Fields(rest); len(names) > 0 {
				return names
			}
			return []string{}
		}
	}
	return nil
}

func sampleOf(l SampleLine) string {
	if l.TooLong {
		return "(a line over 1 MiB)"
	}
	return clip(string(bytes.TrimSpace(l.Text)))
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// SniffLen is how many bytes of the start of an input SniffBinary looks
// at (all of them when the input is shorter).
const SniffLen = 4096

// SniffBinary reports whether start, the first bytes of an input's decoded
// content (its lines joined by '\n'), is binary data rather than text, and
// what gives it away: a NUL byte (no log has one; UTF-16 text has them, and
// is not read either), or more than one byte in 16 being a control
// character other than TAB, LF, VT, FF, CR and ESC. Bytes from 0x80 up are
// text: logs in charsets other than UTF-8 are read.
func SniffBinary(start []byte) (detail string, binary bool) {
	if len(start) > SniffLen {
		start = start[:SniffLen]
	}
	if i := bytes.IndexByte(start, 0); i >= 0 {
		return fmt.Sprintf("a NUL byte at offset %d", i), true
	}
	n := 0
	for _, c := range start {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r' && c != 0x1b) || c == 0x7f {
			n++
		}
	}
	if n*16 > len(start) {
		return fmt.Sprintf("%d of its first %d bytes are control characters", n, len(start)), true
	}
	return "", false
}

// CheckText returns the refusal of an input whose start (see SniffBinary)
// is binary data, naming the input as r names it, or nil for text. It
// applies whatever the format: a log is text.
func CheckText(r Reader, start []byte) *FormatError {
	detail, binary := SniffBinary(start)
	if !binary {
		return nil
	}
	return &FormatError{Source: sourceOf(r), Binary: true, Detail: detail}
}

// sourceOf returns the name a reader gives its input in errors.
func sourceOf(r Reader) string {
	switch r := r.(type) {
	case *Auto:
		return r.Source
	case *CloudFront:
		return r.Source
	case *Combined:
		return r.Source
	case *NginxJSON:
		return r.Source
	case *ELB:
		return r.Source
	case *S3Access:
		return r.Source
	case *Traefik:
		return r.Source
	case *Caddy:
		return r.Source
	case *W3C:
		return r.Source
	case *Custom:
		return r.Source
	}
	return ""
}
