package logformat

import (
	"strings"

	"github.com/trackless/trackless/internal/hit"
)

// UnescapeUserAgent decodes a logged user agent: once, and a second time when
// the result still looks encoded, which is how CloudFront logged user agents
// from about 2014 to December 2019 ("Mozilla/5.0%2520(Windows..."). A real
// user agent never has "%20" and no space.
func UnescapeUserAgent(s string) string {
	d := hit.Unescape(s)
	if strings.IndexByte(d, ' ') < 0 && strings.Contains(d, "%20") {
		return hit.Unescape(d)
	}
	return d
}
