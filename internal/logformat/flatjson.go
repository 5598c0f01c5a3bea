package logformat

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/trackless/trackless/internal/hit"
)

var errJSON = errors.New("not a JSON object")

// flatJSON calls fn for each member of the JSON object s, in order: string
// values decoded, numbers, true, false and null as written ("null" is
// given as ""); nested objects and arrays are skipped. It is the fast path
// of the JSON log readers: no maps, no reflection, and no allocation for
// strings without escapes (the values are substrings of s).
func flatJSON(s string, fn func(key, val string, isString bool)) error {
	i := skipWS(s, 0)
	if i >= len(s) || s[i] != '{' {
		return errJSON
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return trailing(s, i+1)
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return errJSON
		}
		key, n, err := jsonString(s, i)
		if err != nil {
			return err
		}
		i = skipWS(s, n)
		if i >= len(s) || s[i] != ':' {
			return errJSON
		}
		i = skipWS(s, i+1)
		if i >= len(s) {
			return errJSON
		}
		switch c := s[i]; {
		case c == '"':
			v, n, err := jsonString(s, i)
			if err != nil {
				return err
			}
			fn(key, v, true)
			i = n
		case c == '{' || c == '[':
			n, err := skipNested(s, i)
			if err != nil {
				return err
			}
			i = n
		default:
			j := i
			for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ' ' && s[j] != '\t' && s[j] != '\r' && s[j] != '\n' {
				j++
			}
			lit := s[i:j]
			switch {
			case lit == "null":
				fn(key, "", false)
			case lit == "true" || lit == "false" || isJSONNumber(lit):
				fn(key, lit, false)
			default:
				return errJSON
			}
			i = j
		}
		i = skipWS(s, i)
		if i >= len(s) {
			return errJSON
		}
		if s[i] == '}' {
			return trailing(s, i+1)
		}
		if s[i] != ',' {
			return errJSON
		}
		i = skipWS(s, i+1)
	}
}

func trailing(s string, i int) error {
	if skipWS(s, i) != len(s) {
		return errJSON
	}
	return nil
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func isJSONNumber(s string) bool {
	if s == "" {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return false
	}
	// JSON is stricter than ParseFloat: no leading '+', '.', hex, inf, nan, '_'.
	c := s[0]
	if c != '-' && (c < '0' || c > '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
		default:
			return false
		}
	}
	d := strings.TrimPrefix(s, "-")
	if len(d) > 1 && d[0] == '0' && d[1] >= '0' && d[1] <= '9' {
		return false // leading zero
	}
	return d != "" && d[0] >= '0' && d[0] <= '9' && !strings.HasSuffix(s, ".") && !strings.Contains(s, ".e") && !strings.Contains(s, ".E")
}

// jsonString decodes the string starting at s[i] == '"' and returns the
// index after its closing quote.
func jsonString(s string, i int) (string, int, error) {
	j := i + 1
	for j < len(s) {
		c := s[j]
		if c == '"' {
			return s[i+1 : j], j + 1, nil // bytes that are not UTF-8 are kept
		}
		if c == '\\' {
			return jsonStringSlow(s, i)
		}
		if c < 0x20 {
			return "", 0, errJSON
		}
		j++
	}
	return "", 0, errJSON
}

func jsonStringSlow(s string, i int) (string, int, error) {
	var b []byte
	j := i + 1
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			return string(b), j + 1, nil
		case c < 0x20:
			return "", 0, errJSON
		case c != '\\':
			b = append(b, c)
			j++
			continue
		}
		if j+1 >= len(s) {
			return "", 0, errJSON
		}
		switch e := s[j+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
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
			r, n, ok := hex4(s, j+2)
			if !ok {
				return "", 0, errJSON
			}
			j = n
			if utf16.IsSurrogate(r) {
				if j+1 < len(s) && s[j] == '\\' && s[j+1] == 'u' {
					if r2, n2, ok := hex4(s, j+2); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							b = utf8.AppendRune(b, d)
							j = n2
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
			continue
		default:
			return "", 0, errJSON
		}
		j += 2
	}
	return "", 0, errJSON
}

func hex4(s string, i int) (rune, int, bool) {
	if i+4 > len(s) {
		return 0, 0, false
	}
	var r rune
	for k := i; k < i+4; k++ {
		v, ok := hit.Unhex(s[k])
		if !ok {
			return 0, 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, i + 4, true
}

// skipNested skips a balanced {...} or [...] starting at s[i], which must
// be valid JSON (checked by encoding/json: nested values are rare in logs).
func skipNested(s string, i int) (int, error) {
	end, err := nestedEnd(s, i)
	if err != nil {
		return 0, err
	}
	if !json.Valid([]byte(s[i:end])) {
		return 0, errJSON
	}
	return end, nil
}

func nestedEnd(s string, i int) (int, error) {
	depth := 0
	for i < len(s) {
		switch s[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		case '"':
			_, n, err := jsonString(s, i)
			if err != nil {
				return 0, err
			}
			i = n
			continue
		}
		i++
	}
	return 0, errJSON
}
