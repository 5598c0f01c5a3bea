// Package matomo encodes hits as Matomo tracking requests and sends them to
// Matomo's bulk tracking API.
package matomo

import (
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/trackless/trackless/internal/hit"
)

// Encoder turns hits into bulk request items, strings that start with '?'
// (Matomo drops items without one before numbering, §8 of the reference).
type Encoder struct {
	SiteID  int
	RecMode int    // 1 or 2; 0 omits recMode
	Source  string // sent as source= ("CloudFront" like the peer); empty omits it

	// Visits selects classic visit tracking (see AppendVisit) instead of
	// the AI-assistant request.
	Visits bool
	// NoIP leaves cip out (Matomo then sees the sender's address). cip
	// needs a token: without one, Matomo rejects the request.
	NoIP bool
	// AnonymizeIP masks the visitor's address before it is sent: 1 to 3
	// bytes of an IPv4 address; 64, 80 or 104 bits of an IPv6 address
	// (Matomo's own levels).
	AnonymizeIP int
}

// Append appends the item for h to dst. url is the page URL (see hit.PageURL);
// download marks a download (download=url is added).
//
// Parameters, in this order: idsite, rec, recMode, url, source, cip
// (unless NoIP), cdt (UTC, "YYYY-MM-DD HH:MM:SS"), ua (decoded),
// http_status, bw_bytes, pf_srv (time-taken in ms, rounded; only above 0),
// download. Values not in the log are omitted. Without cip, Matomo would
// store every visitor of rec mode 2 under the sender's address.
func (e *Encoder) Append(dst []byte, h *hit.Hit, url string, download bool) []byte {
	if e.Visits {
		return e.AppendVisit(dst, h, url, download, false, false)
	}
	dst = append(dst, "?idsite="...)
	dst = strconv.AppendInt(dst, int64(e.SiteID), 10)
	dst = append(dst, "&rec=1"...)
	if e.RecMode != 0 {
		dst = append(dst, "&recMode="...)
		dst = strconv.AppendInt(dst, int64(e.RecMode), 10)
	}
	dst = append(dst, "&url="...)
	dst = AppendQueryEscape(dst, url)
	if e.Source != "" {
		dst = append(dst, "&source="...)
		dst = AppendQueryEscape(dst, e.Source)
	}
	if !e.NoIP && h.ClientIP != "" {
		dst = append(dst, "&cip="...)
		dst = AppendQueryEscape(dst, AnonymizeIP(h.ClientIP, e.AnonymizeIP))
	}
	dst = append(dst, "&cdt="...)
	dst = appendCDT(dst, h.Time)
	if h.UserAgent != "" {
		dst = append(dst, "&ua="...)
		dst = AppendQueryEscape(dst, h.UserAgent)
	}
	if h.Status >= 0 {
		dst = append(dst, "&http_status="...)
		dst = strconv.AppendInt(dst, int64(h.Status), 10)
	}
	if h.Bytes >= 0 {
		dst = append(dst, "&bw_bytes="...)
		dst = strconv.AppendInt(dst, h.Bytes, 10)
	}
	if ms := int64((h.Duration + 500*time.Microsecond) / time.Millisecond); h.Duration > 0 && ms > 0 {
		dst = append(dst, "&pf_srv="...)
		dst = strconv.AppendInt(dst, ms, 10)
	}
	if download {
		dst = append(dst, "&download="...)
		dst = AppendQueryEscape(dst, url)
	}
	return dst
}

// AppendVisit appends the classic visit request for h: idsite, rec=1,
// apiv=1, url, urlref, cip (unless NoIP), cdt, ua, bw_bytes, pf_srv,
// download, uid (when the log names a user), then action_name for an
// error or redirect when titled is set (as Matomo's importer does:
// "404/URL = <url>/From = <referrer>") and bots=1 when bot is set.
func (e *Encoder) AppendVisit(dst []byte, h *hit.Hit, url string, download, titled, bot bool) []byte {
	dst = append(dst, "?idsite="...)
	dst = strconv.AppendInt(dst, int64(e.SiteID), 10)
	dst = append(dst, "&rec=1&apiv=1&url="...)
	dst = AppendQueryEscape(dst, url)
	if h.Referrer != "" {
		dst = append(dst, "&urlref="...)
		dst = AppendQueryEscape(dst, h.Referrer)
	}
	if !e.NoIP && h.ClientIP != "" {
		dst = append(dst, "&cip="...)
		dst = AppendQueryEscape(dst, AnonymizeIP(h.ClientIP, e.AnonymizeIP))
	}
	dst = append(dst, "&cdt="...)
	dst = appendCDT(dst, h.Time)
	if h.UserAgent != "" {
		dst = append(dst, "&ua="...)
		dst = AppendQueryEscape(dst, h.UserAgent)
	}
	if h.Bytes >= 0 {
		dst = append(dst, "&bw_bytes="...)
		dst = strconv.AppendInt(dst, h.Bytes, 10)
	}
	if h.Duration > 0 {
		// Whole milliseconds, truncated, and only for a time above 0, as
		// Matomo's importer does (the AI requests round, as Matomo's
		// CloudFront Lambda does).
		dst = append(dst, "&pf_srv="...)
		dst = strconv.AppendInt(dst, int64(h.Duration/time.Millisecond), 10)
	}
	if download {
		dst = append(dst, "&download="...)
		dst = AppendQueryEscape(dst, url)
	}
	if h.User != "" {
		dst = append(dst, "&uid="...)
		dst = AppendQueryEscape(dst, h.User)
	}
	if titled {
		title := strconv.Itoa(h.Status) + "/URL = " + quoteAll(url)
		if h.Referrer != "" {
			title += "/From = " + quoteAll(h.Referrer)
		}
		dst = append(dst, "&action_name="...)
		dst = AppendQueryEscape(dst, title)
	}
	if bot {
		dst = append(dst, "&bots=1"...)
	}
	return dst
}

// quoteAll escapes everything but letters, digits and "_.-~", like
// Python's urllib quote(s, "") that Matomo's importer uses in titles.
func quoteAll(s string) string {
	b := make([]byte, 0, len(s)+16)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-' || c == '~' {
			b = append(b, c)
		} else {
			b = append(b, '%', upperhex[c>>4], upperhex[c&15])
		}
	}
	return string(b)
}

// AnonymizeIP masks an address: level 1-3 zero that many trailing bytes of
// an IPv4 address, or the last 64, 80 or 104 bits of an IPv6 address.
// Level 0, or something that is not an address, is returned as it is.
func AnonymizeIP(ip string, level int) string {
	if level <= 0 {
		return ip
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	level = min(level, 3)
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		for i := 0; i < level; i++ {
			b[3-i] = 0
		}
		return netip.AddrFrom4(b).String()
	}
	p, _ := a.Prefix(128 - []int{64, 80, 104}[level-1])
	return p.Addr().String()
}

// appendCDT appends t as "YYYY-MM-DD HH:MM:SS", query-escaped.
func appendCDT(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	hh, mm, ss := t.Clock()
	dst = appendInt(dst, y, 4)
	dst = append(dst, '-')
	dst = appendInt(dst, int(mo), 2)
	dst = append(dst, '-')
	dst = appendInt(dst, d, 2)
	dst = append(dst, '+')
	dst = appendInt(dst, hh, 2)
	dst = append(dst, "%3A"...)
	dst = appendInt(dst, mm, 2)
	dst = append(dst, "%3A"...)
	return appendInt(dst, ss, 2)
}

func appendInt(dst []byte, v, width int) []byte {
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	for len(b)-i < width {
		i--
		b[i] = '0'
	}
	return append(dst, b[i:]...)
}

const upperhex = "0123456789ABCDEF"

// AppendQueryEscape appends s escaped like url.QueryEscape.
func AppendQueryEscape(dst []byte, s string) []byte {
	dst = slices.Grow(dst, len(s)+len(s)/2)
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if querySafe[c] {
			continue
		}
		dst = append(dst, s[start:i]...)
		if c == ' ' {
			dst = append(dst, '+')
		} else {
			dst = append(dst, '%', upperhex[c>>4], upperhex[c&15])
		}
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// querySafe marks the bytes url.QueryEscape keeps as they are.
var querySafe = [256]bool{
	'-': true, '_': true, '.': true, '~': true,
	'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true, '8': true, '9': true,
	'A': true, 'B': true, 'C': true, 'D': true, 'E': true, 'F': true, 'G': true, 'H': true, 'I': true, 'J': true, 'K': true, 'L': true, 'M': true,
	'N': true, 'O': true, 'P': true, 'Q': true, 'R': true, 'S': true, 'T': true, 'U': true, 'V': true, 'W': true, 'X': true, 'Y': true, 'Z': true,
	'a': true, 'b': true, 'c': true, 'd': true, 'e': true, 'f': true, 'g': true, 'h': true, 'i': true, 'j': true, 'k': true, 'l': true, 'm': true,
	'n': true, 'o': true, 'p': true, 'q': true, 'r': true, 's': true, 't': true, 'u': true, 'v': true, 'w': true, 'x': true, 'y': true, 'z': true,
}
