package logformat

import (
	"fmt"
	"strings"

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
var Formats = []string{"auto", "cloudfront", "combined", "nginx_json"}

// New returns a reader of format for the input named source.
func New(format, source string) (Reader, error) {
	switch format {
	case "", "auto":
		return &Auto{Source: source}, nil
	case "cloudfront":
		return NewCloudFront(source), nil
	case "combined", "common", "vhost_combined":
		return NewCombined(source), nil
	case "nginx_json":
		return NewNginxJSON(source), nil
	}
	return nil, fmt.Errorf("unknown log format %q (known: %s)", format, strings.Join(Formats, ", "))
}

// Auto picks the format of an input from its first data line: a JSON object
// with a "path" key and no "cs-uri-stem" is nginx JSON; a '#' header, another
// JSON object or a TAB-separated line is CloudFront; a line of the shape
// `host ident user [time] "request" status size` is combined/common.
// Header lines seen before are given to the chosen reader.
type Auto struct {
	Source  string
	r       Reader
	headers [][]byte
	nums    []int64
}

// Format is the name of the format chosen, or "" before the first data line.
func (a *Auto) Format() string {
	switch a.r.(type) {
	case *CloudFront:
		return "cloudfront"
	case *Combined:
		return "combined"
	case *NginxJSON:
		return "nginx_json"
	}
	return ""
}

// Parse implements Reader.
func (a *Auto) Parse(line []byte, lineNo int64, h *hit.Hit) (bool, error) {
	if a.r != nil {
		return a.r.Parse(line, lineNo, h)
	}
	trimmed := strings.TrimSpace(string(line))
	switch {
	case trimmed == "":
		return false, nil
	case trimmed[0] == '#':
		if len(a.headers) < 64 {
			a.headers = append(a.headers, append([]byte(nil), line...))
			a.nums = append(a.nums, lineNo)
		}
		return false, nil
	case trimmed[0] == '{' && len(a.headers) == 0 && !strings.Contains(trimmed, `"cs-uri-stem"`) && strings.Contains(trimmed, `"path"`):
		a.r = NewNginxJSON(a.Source)
	case trimmed[0] == '{' || strings.IndexByte(trimmed, '\t') >= 0 || len(a.headers) > 0:
		a.r = NewCloudFront(a.Source)
	default:
		c := NewCombined(a.Source)
		var probe hit.Hit
		if ok, err := c.Parse(line, lineNo, &probe); ok && err == nil {
			a.r = c
		} else {
			a.r = NewCloudFront(a.Source)
		}
	}
	for i, hl := range a.headers {
		a.r.Parse(hl, a.nums[i], h)
	}
	a.headers, a.nums = nil, nil
	return a.r.Parse(line, lineNo, h)
}
