package matomotest

import (
	"strings"
	"unicode/utf8"
)

// A small, strict, validating JSON scanner that mirrors what PHP's
// json_decode accepts (RFC 8259 grammar, depth limit 512, invalid UTF-8 and
// unpaired UTF-16 surrogate escapes rejected). It never builds a tree: the
// caller gets byte spans of the values it cares about, so a bulk body of a
// few hundred kilobytes is validated and split into items in one pass with
// almost no allocation.

const phpJSONMaxDepth = 512

// JSON value kinds as reported by the scanner.
const (
	jString = '"'
	jObject = '{'
	jArray  = '['
	jNumber = '0'
	jTrue   = 't'
	jFalse  = 'f'
	jNull   = 'n'
)

type jsonScanner struct {
	s     string
	i     int
	depth int
}

func (p *jsonScanner) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// value validates the value starting at p.i and leaves p.i after it. esc
// reports whether a string value contains escapes.
func (p *jsonScanner) value() (kind byte, esc, ok bool) {
	if p.i >= len(p.s) {
		return 0, false, false
	}
	switch c := p.s[p.i]; {
	case c == '"':
		esc, ok = p.str()
		return jString, esc, ok
	case c == '{':
		return jObject, false, p.object(nil)
	case c == '[':
		return jArray, false, p.array(nil)
	case c == 't':
		return jTrue, false, p.lit("true")
	case c == 'f':
		return jFalse, false, p.lit("false")
	case c == 'n':
		return jNull, false, p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return jNumber, false, p.number()
	}
	return 0, false, false
}

func (p *jsonScanner) lit(l string) bool {
	if strings.HasPrefix(p.s[p.i:], l) {
		p.i += len(l)
		return true
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *jsonScanner) number() bool {
	s, i := p.s, p.i
	if s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	switch {
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == j {
			return false
		}
	}
	p.i = i
	return true
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// str validates the string starting at p.i (which is '"').
func (p *jsonScanner) str() (esc, ok bool) {
	s := p.s
	i := p.i + 1
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.i = i + 1
			return esc, true
		case c == '\\':
			esc = true
			if i+1 >= len(s) {
				return esc, false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				r, ok := hex4(s, i+2)
				if !ok {
					return esc, false
				}
				i += 6
				switch {
				case r >= 0xD800 && r < 0xDC00:
					// PHP: a high surrogate must be followed by a low one.
					if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if r2, ok := hex4(s, i+2); ok && r2 >= 0xDC00 && r2 < 0xE000 {
							i += 6
							continue
						}
					}
					return esc, false
				case r >= 0xDC00 && r < 0xE000:
					return esc, false
				}
			default:
				return esc, false
			}
		case c < 0x20:
			return esc, false
		default:
			i++
		}
	}
	return esc, false
}

// array validates an array; fn, if not nil, gets the span of each element.
func (p *jsonScanner) array(fn func(a, b int, kind byte, esc bool)) bool {
	p.depth++
	if p.depth > phpJSONMaxDepth {
		return false
	}
	p.i++
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		p.depth--
		return true
	}
	for {
		a := p.i
		kind, esc, ok := p.value()
		if !ok {
			return false
		}
		if fn != nil {
			fn(a, p.i, kind, esc)
		}
		p.ws()
		if p.i >= len(p.s) {
			return false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.ws()
		case ']':
			p.i++
			p.depth--
			return true
		default:
			return false
		}
	}
}

// jmember describes one member of an object: key and value spans.
type jmember struct {
	ka, kb int // key, without quotes
	kesc   bool
	va, vb int // value, as in the text (strings with their quotes)
	kind   byte
	vesc   bool
}

// object validates an object; fn, if not nil, gets each member.
func (p *jsonScanner) object(fn func(m jmember)) bool {
	p.depth++
	if p.depth > phpJSONMaxDepth {
		return false
	}
	p.i++
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		p.depth--
		return true
	}
	for {
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return false
		}
		var m jmember
		m.ka = p.i + 1
		kesc, ok := p.str()
		if !ok {
			return false
		}
		m.kb, m.kesc = p.i-1, kesc
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return false
		}
		p.i++
		p.ws()
		m.va = p.i
		m.kind, m.vesc, ok = p.value()
		if !ok {
			return false
		}
		m.vb = p.i
		if fn != nil {
			fn(m)
		}
		p.ws()
		if p.i >= len(p.s) {
			return false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.ws()
		case '}':
			p.i++
			p.depth--
			return true
		default:
			return false
		}
	}
}

// jsonValid reports whether s is one JSON document PHP's json_decode accepts.
func jsonValid(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	p := jsonScanner{s: s}
	p.ws()
	if _, _, ok := p.value(); !ok {
		return false
	}
	p.ws()
	return p.i == len(s)
}

// jsonUnquote decodes the already validated string content s (without the
// quotes). Only called when the string has escapes.
func jsonUnquote(s string) string {
	b := make([]byte, 0, len(s))
	for {
		j := strings.IndexByte(s, '\\')
		if j < 0 {
			b = append(b, s...)
			break
		}
		b = append(b, s[:j]...)
		s = s[j:]
		switch s[1] {
		case '"', '\\', '/':
			b = append(b, s[1])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, _ := hex4(s, 2)
			n := 6
			if r >= 0xD800 && r < 0xDC00 {
				r2, _ := hex4(s, 8)
				r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
				n = 12
			}
			b = utf8.AppendRune(b, r)
			s = s[n:]
			continue
		}
		s = s[2:]
	}
	return string(b)
}

// jsonStringAt returns the decoded string whose span (with quotes) is [a,b).
func jsonStringAt(s string, a, b int, esc bool) string {
	if !esc {
		return s[a+1 : b-1]
	}
	return jsonUnquote(s[a+1 : b-1])
}

// jsonEmptyContainer reports whether the array or object at [a,b) is empty.
func jsonEmptyContainer(s string, a, b int) bool {
	for i := a + 1; i < b; i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return s[i] == ']' || s[i] == '}'
		}
	}
	return true
}
