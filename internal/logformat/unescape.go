package logformat

import "strings"

// Unescape decodes %XX escapes once. A malformed escape (a lone '%', '%G1',
// a '%' at the end) is kept as it is; '+' is not a space. The result may be
// invalid UTF-8, as the bytes a client sent may be.
func Unescape(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			h, okh := unhex(s[i+1])
			l, okl := unhex(s[i+2])
			if okh && okl {
				b = append(b, h<<4|l)
				i += 2
				continue
			}
		}
		b = append(b, c)
	}
	return string(b)
}

// UnescapeUserAgent decodes a logged user agent: once, and a second time when
// the result still looks encoded, which is how CloudFront logged user agents
// from about 2014 to December 2019 ("Mozilla/5.0%2520(Windows..."). A real
// user agent never has "%20" and no space.
func UnescapeUserAgent(s string) string {
	d := Unescape(s)
	if strings.IndexByte(d, ' ') < 0 && strings.Contains(d, "%20") {
		return Unescape(d)
	}
	return d
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
