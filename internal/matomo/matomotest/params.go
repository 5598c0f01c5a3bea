package matomotest

import (
	"math"
	"net/url"
	"strconv"
	"strings"
)

// Tracking parameters are read the way Matomo's PHP reads them: parse_str()
// for query strings (last value wins, keys normalised, '+' is a space,
// malformed %-escapes kept literally), json_decode() for object items, and
// Common::getRequestVar() / (int) casts / empty() for typed access.

// Kinds of a parameter value.
const (
	vAbsent   uint8 = iota // not set (isset() is false)
	vStr                   // a string; s may still be URL-encoded (enc)
	vNum                   // a JSON number; s is its literal
	vTrue                  // JSON true
	vFalse                 // JSON false
	vArr                   // a non-empty PHP array (JSON array/object, or a[]= syntax)
	vArrEmpty              // an empty PHP array
)

type pval struct {
	s    string
	kind uint8
	enc  bool // s is raw query text that needs urldecode()
}

// The parameters the tracker logic looks at.
const (
	fIdsite = iota
	fRec
	fBots
	fRecMode
	fUA
	fCid
	fUid
	fCip
	fCdt
	fCdo
	fPfSrv
	fEC
	fEA
	fDownload
	fLink
	fSearch
	fCN
	fCountry
	fRegion
	fCity
	fLat
	fLong
	fToken
	fSendImage
	fLang
	nFields
)

func fieldOf(name string) int {
	switch name {
	case "idsite":
		return fIdsite
	case "rec":
		return fRec
	case "bots":
		return fBots
	case "recMode":
		return fRecMode
	case "ua":
		return fUA
	case "cid":
		return fCid
	case "uid":
		return fUid
	case "cip":
		return fCip
	case "cdt":
		return fCdt
	case "cdo":
		return fCdo
	case "pf_srv":
		return fPfSrv
	case "e_c":
		return fEC
	case "e_a":
		return fEA
	case "download":
		return fDownload
	case "link":
		return fLink
	case "search":
		return fSearch
	case "c_n":
		return fCN
	case "country":
		return fCountry
	case "region":
		return fRegion
	case "city":
		return fCity
	case "lat":
		return fLat
	case "long":
		return fLong
	case "token_auth":
		return fToken
	case "send_image":
		return fSendImage
	case "lang":
		return fLang
	}
	return -1
}

// item holds the parameters of one tracking request.
type item struct {
	f        [nFields]pval
	nonEmpty bool // PHP: !empty($params)
}

// phpURLDecode is PHP's urldecode(): '+' is a space, %XX is decoded, any
// other '%' is kept.
func phpURLDecode(s string) string {
	i := 0
	for i < len(s) && s[i] != '%' && s[i] != '+' {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, i, len(s))
	copy(b, s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func ishex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// phpVarName applies php_register_variable_ex's name rules to a raw query
// key: urldecode, cut at NUL, drop leading spaces, ' ' and '.' become '_'
// before the first '['; "a[...]" is an array assignment to "a"; an
// unterminated '[' becomes '_'. ok is false when PHP ignores the variable.
func phpVarName(k string) (name string, arr, ok bool) {
	k = phpURLDecode(k)
	if j := strings.IndexByte(k, 0); j >= 0 {
		k = k[:j]
	}
	k = strings.TrimLeft(k, " ")
	if k == "" {
		return "", false, false
	}
	if !strings.ContainsAny(k, " .[") {
		return k, false, true
	}
	b := []byte(k)
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case ' ', '.':
			b[i] = '_'
		case '[':
			if i == 0 {
				return "", false, false
			}
			if strings.IndexByte(k[i+1:], ']') >= 0 {
				return string(b[:i]), true, true
			}
			b[i] = '_'
			return string(b), false, true
		}
	}
	return string(b), false, true
}

// forEachQueryVar calls fn for every variable parse_str() would register.
// raw is the decoded key as given (used for array keys).
func forEachQueryVar(qs string, fn func(name string, arr bool, rawKey, encVal string)) {
	for len(qs) > 0 {
		var piece string
		if j := strings.IndexByte(qs, '&'); j >= 0 {
			piece, qs = qs[:j], qs[j+1:]
		} else {
			piece, qs = qs, ""
		}
		if piece == "" {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		name, arr, ok := phpVarName(k)
		if !ok {
			continue
		}
		fn(name, arr, k, v)
	}
}

// needsVarName reports whether a raw key needs phpVarName's treatment.
func needsVarName(k string) bool {
	for i := 0; i < len(k); i++ {
		switch k[i] {
		case '%', '+', ' ', '.', '[', 0:
			return true
		}
	}
	return false
}

// parseQueryInto fills it from a query string, as parse_str() would.
func parseQueryInto(qs string, it *item) {
	for len(qs) > 0 {
		var piece string
		if j := strings.IndexByte(qs, '&'); j >= 0 {
			piece, qs = qs[:j], qs[j+1:]
		} else {
			piece, qs = qs, ""
		}
		if piece == "" {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		var name string
		var arr bool
		if needsVarName(k) {
			var ok bool
			if name, arr, ok = phpVarName(k); !ok {
				continue
			}
		} else {
			name = k
		}
		it.nonEmpty = true
		if f := fieldOf(name); f >= 0 {
			if arr {
				it.f[f] = pval{kind: vArr}
			} else {
				it.f[f] = pval{s: v, kind: vStr, enc: true}
			}
		}
	}
}

// parseObjectInto fills it from a JSON object item (already validated), as
// json_decode($x, true) would.
func parseObjectInto(obj string, it *item) {
	p := jsonScanner{s: obj}
	p.object(func(m jmember) {
		it.nonEmpty = true
		key := obj[m.ka:m.kb]
		if m.kesc {
			key = jsonUnquote(key)
		}
		f := fieldOf(key)
		if f < 0 {
			return
		}
		switch m.kind {
		case jString:
			it.f[f] = pval{s: jsonStringAt(obj, m.va, m.vb, m.vesc), kind: vStr}
		case jNumber:
			it.f[f] = pval{s: obj[m.va:m.vb], kind: vNum}
		case jTrue:
			it.f[f] = pval{kind: vTrue}
		case jFalse:
			it.f[f] = pval{kind: vFalse}
		case jNull:
			it.f[f] = pval{}
		default:
			if jsonEmptyContainer(obj, m.va, m.vb) {
				it.f[f] = pval{kind: vArrEmpty}
			} else {
				it.f[f] = pval{kind: vArr}
			}
		}
	})
}

// text is the (decoded) text of a string or number value.
func (v *pval) text() string {
	if v.enc {
		return phpURLDecode(v.s)
	}
	return v.s
}

// getStr is Common::getRequestVar($name, $def, 'string').
func getStr(v *pval, def string) string {
	switch v.kind {
	case vStr:
		if s := v.text(); s != "" {
			return s
		}
	case vNum:
		return phpNumberString(v.s)
	}
	return def
}

// getInt is Common::getRequestVar($name, $def, 'int'): the value must be a
// numeric string equal to its integer cast.
func getInt(v *pval, def int64) int64 {
	switch v.kind {
	case vStr, vNum:
		s := v.text()
		if s == "" {
			return def
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
		f, ok := phpNumeric(s)
		if !ok || f != math.Trunc(f) || math.Abs(f) > 9e18 {
			return def
		}
		return int64(f)
	case vTrue:
		return 1
	}
	return def
}

// phpIntCast is PHP's (int) cast of a raw parameter value.
func phpIntCast(v *pval) int64 {
	switch v.kind {
	case vStr, vNum:
		s := strings.TrimLeft(v.text(), " \t\n\r\v\f")
		n := numericPrefix(s)
		if n == 0 {
			return 0
		}
		f, err := strconv.ParseFloat(s[:n], 64)
		if err != nil || math.IsNaN(f) {
			return 0
		}
		if math.Abs(f) > 9e18 {
			return 0
		}
		return int64(f)
	case vTrue, vArr:
		return 1
	}
	return 0
}

// phpEmpty is PHP's empty() of a raw parameter value.
func phpEmpty(v *pval) bool {
	switch v.kind {
	case vStr:
		return phpEmptyStr(v.text())
	case vNum:
		f, _ := strconv.ParseFloat(v.s, 64)
		return f == 0
	case vTrue, vArr:
		return false
	}
	return true
}

func phpEmptyStr(s string) bool { return s == "" || s == "0" }

// numericPrefix returns the length of the longest prefix of s that is a
// number: [+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?
func numericPrefix(s string) int {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	d := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		d++
	}
	if i < len(s) && s[i] == '.' {
		j := i + 1
		f := 0
		for j < len(s) && isDigit(s[j]) {
			j++
			f++
		}
		if d+f > 0 {
			i = j
			d += f
		}
	}
	if d == 0 {
		return 0
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		if k > j {
			i = k
		}
	}
	return i
}

// phpNumeric is PHP 8's is_numeric(): optional surrounding whitespace around
// a decimal number.
func phpNumeric(s string) (float64, bool) {
	s = strings.TrimLeft(s, " \t\n\r\v\f")
	n := numericPrefix(s)
	if n == 0 || strings.TrimRight(s[n:], " \t\n\r\v\f") != "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s[:n], 64)
	if err != nil && !strings.Contains(err.Error(), "range") {
		return 0, false
	}
	return f, true
}

// phpNumberString is how PHP turns a decoded JSON number into a string
// (integers as they are, floats in their shortest form, "1.0E+20" style
// beyond 15 digits).
func phpNumberString(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		if lit == "-0" {
			return "0"
		}
		return lit
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return lit
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		if f == 0 && math.Signbit(f) {
			return "-0"
		}
		return strconv.FormatInt(int64(f), 10)
	}
	g := strconv.FormatFloat(f, 'G', -1, 64)
	mant, exp, ok := strings.Cut(g, "E")
	if !ok {
		return g
	}
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	sign := exp[:1]
	exp = strings.TrimLeft(exp[1:], "0")
	return mant + "E" + sign + exp
}

// phpTrim is PHP's trim() with its default character list.
func phpTrim(s string) string { return strings.Trim(s, " \t\n\r\x00\x0B") }

// paramsOf returns the parameters of a stored item as Matomo sees them: one
// value per name (the last one given), names normalised like PHP does.
// Array syntax ("a[]=1&a[]=2") is kept under the decoded raw key with all
// its values. For object items string values are kept, numbers as their
// literal, true as "1", false as "", nested arrays/objects as JSON text;
// null members are left out.
func paramsOf(raw string, obj bool) url.Values {
	if obj {
		v := url.Values{}
		p := jsonScanner{s: raw}
		p.object(func(m jmember) {
			key := raw[m.ka:m.kb]
			if m.kesc {
				key = jsonUnquote(key)
			}
			switch m.kind {
			case jString:
				v[key] = []string{jsonStringAt(raw, m.va, m.vb, m.vesc)}
			case jNumber:
				v[key] = []string{raw[m.va:m.vb]}
			case jTrue:
				v[key] = []string{"1"}
			case jFalse:
				v[key] = []string{""}
			case jNull:
				delete(v, key)
			default:
				v[key] = []string{raw[m.va:m.vb]}
			}
		})
		return v
	}
	qs, ok := queryOf(raw)
	if !ok {
		return url.Values{}
	}
	// One backing array for all the one-element value slices.
	n := strings.Count(qs, "&") + 1
	v := make(url.Values, n)
	back := make([]string, n)
	forEachQueryVar(qs, func(name string, arr bool, rawKey, encVal string) {
		val := phpURLDecode(encVal)
		if arr {
			k := phpURLDecode(rawKey)
			v[k] = append(v[k], val)
			return
		}
		back[0] = val
		v[name], back = back[:1:1], back[1:]
	})
	return v
}

// queryOf is what parse_url($s)['query'] gives for a string item: the text
// after the first '?' up to a '#'. ok is false when that is empty() in PHP
// ("" or "0"): Matomo drops such items before numbering them.
func queryOf(s string) (string, bool) {
	q := strings.IndexByte(s, '?')
	if q < 0 {
		return "", false
	}
	if h := strings.IndexByte(s, '#'); h >= 0 && h < q {
		return "", false
	}
	qs := s[q+1:]
	if h := strings.IndexByte(qs, '#'); h >= 0 {
		qs = qs[:h]
	}
	return qs, !phpEmptyStr(qs)
}
