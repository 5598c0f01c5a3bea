package hit

import (
	"strings"
	"unicode/utf8"
)

// PageURL builds the URL of the request as the client sent it:
// scheme://host + path + ("?" + query). CloudFront escapes '%' (and other
// characters) when it logs a path or query, so a client's "%20" is logged as
// "%2520"; with logEscaped, PageURL undoes that layer once. In every case it
// escapes what may not appear raw in a URL (spaces, controls, bytes over
// 0x7E, quotes). Sending CloudFront's logged form would give Matomo
// "caf%25C3%25A9" for the page a JavaScript tracker records as "caf%C3%A9".
func PageURL(scheme, host, path, query string, logEscaped bool) string {
	n := len(scheme) + 3 + len(host) + len(path) + 1 + len(query)
	b := make([]byte, 0, n)
	b = append(b, scheme...)
	b = append(b, "://"...)
	b = append(b, host...)
	b = appendURLPart(b, path, logEscaped)
	if query != "" {
		b = append(b, '?')
		b = appendURLPart(b, query, logEscaped)
	}
	return string(b)
}

func appendURLPart(dst []byte, s string, logEscaped bool) []byte {
	if logEscaped && strings.IndexByte(s, '%') >= 0 {
		s = Unescape(s)
	}
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if urlSafe(c) {
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, '%', upperhex[c>>4], upperhex[c&15])
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// URLPart is a path or query as the client sent it (see PageURL): with
// logEscaped, the log writer's layer of escaping undone; what may not
// appear raw in a URL escaped. The result is ASCII.
func URLPart(s string, logEscaped bool) string {
	if (!logEscaped || strings.IndexByte(s, '%') < 0) && !needsEscape(s) {
		return s
	}
	return string(appendURLPart(nil, s, logEscaped))
}

// needsEscape reports whether appendURLPart would escape a byte of s.
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !urlSafe(c) {
			return true
		}
	}
	return false
}

// URL is the page URL of the hit (see PageURL), with scheme and host given
// (a log may have neither: the caller chooses the defaults).
func (h *Hit) URL(scheme, host string) string {
	return PageURL(scheme, host, h.Path, h.Query, h.LogEscaped)
}

// urlSafe reports whether c may appear raw in a URL's path or query.
func urlSafe(c byte) bool {
	return c > 0x20 && c < 0x7f && c != '"' && c != '<' && c != '>' && c != '\\' && c != '^' && c != '`' && c != '{' && c != '|' && c != '}' && c != '#'
}

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
			h, okh := Unhex(s[i+1])
			l, okl := Unhex(s[i+2])
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

// Unhex is the value of a hexadecimal digit.
func Unhex(c byte) (byte, bool) {
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

const upperhex = "0123456789ABCDEF"

// DecodeQuery decodes a query string (as a client sent it) into m, as a
// form (see QueryPairs). A key given twice keeps its last value (as PHP,
// and so Matomo, read it). It returns nil when the query has no key. m
// may be nil: a map is made when the query has a key.
func DecodeQuery(m map[string]string, query string) map[string]string {
	QueryPairs(query, func(k, v string) {
		if m == nil {
			m = make(map[string]string, 4)
		}
		m[k] = v
	})
	if len(m) == 0 {
		return nil
	}
	return m
}

// QueryPairs calls f with each key and value of a query string (as a
// client sent it), decoded as a form, in order, a key given twice each
// time: pairs split on '&', '+' is a space, %XX escapes decoded, a key
// without '=' has the value "", a pair without a key is skipped. Keys and
// values that are not UTF-8 have their bad bytes replaced by U+FFFD.
func QueryPairs(query string, f func(k, v string)) {
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		k, v, _ := strings.Cut(pair, "=")
		k = toValid(formUnescape(k))
		if k == "" {
			continue
		}
		f(k, toValid(formUnescape(v)))
	}
}

// formUnescape decodes a form value: '+' is a space, %XX a byte; a
// malformed escape is kept as it is.
func formUnescape(s string) string {
	if strings.IndexByte(s, '+') >= 0 {
		s = strings.ReplaceAll(s, "+", " ")
	}
	return Unescape(s)
}

// toValid returns s with bytes that are not UTF-8 replaced by U+FFFD.
func toValid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
