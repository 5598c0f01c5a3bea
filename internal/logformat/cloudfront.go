package logformat

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/hit"
)

// cfField is a CloudFront log field that the reader uses.
type cfField uint8

const (
	cfNone cfField = iota
	cfDate
	cfTime
	cfEdge
	cfScBytes
	cfCIP
	cfMethod
	cfCsHost
	cfStem
	cfStatus
	cfReferer
	cfUA
	cfQuery
	cfResultType
	cfRequestID
	cfXHost
	cfProto
	cfTimeTaken
	cfXFF
	cfSSLProto
	cfProtoVersion
	cfTTFB
	cfDetailed
	cfContentType
	cfTimestampMs
	cfTimestamp
	cfNumFields
)

// cfFieldNames maps CloudFront field names (lower case) to what the reader
// keeps, and their snake_case forms, the column names of CloudFront's
// Parquet output (cs_uri_stem, cs_user_agent; see withSnakeCase). Names
// it does not know are read and ignored.
var cfFieldNames = withSnakeCase(map[string]cfField{
	"date":                        cfDate,
	"time":                        cfTime,
	"x-edge-location":             cfEdge,
	"sc-bytes":                    cfScBytes,
	"c-ip":                        cfCIP,
	"cs-method":                   cfMethod,
	"cs(host)":                    cfCsHost,
	"cs-uri-stem":                 cfStem,
	"sc-status":                   cfStatus,
	"cs(referer)":                 cfReferer,
	"cs(user-agent)":              cfUA,
	"cs-uri-query":                cfQuery,
	"x-edge-result-type":          cfResultType,
	"x-edge-request-id":           cfRequestID,
	"x-host-header":               cfXHost,
	"cs-protocol":                 cfProto,
	"time-taken":                  cfTimeTaken,
	"x-forwarded-for":             cfXFF,
	"ssl-protocol":                cfSSLProto,
	"cs-protocol-version":         cfProtoVersion,
	"time-to-first-byte":          cfTTFB,
	"x-edge-detailed-result-type": cfDetailed,
	"sc-content-type":             cfContentType,
	"timestamp(ms)":               cfTimestampMs,
	"timestamp":                   cfTimestamp,
})

// withSnakeCase adds to names the snake_case form of each: '-' and '(' as
// '_', ')' dropped (cs(user-agent): cs_user_agent), and the spellings
// CloudFront's Parquet tables use for the headers (cs_referrer).
func withSnakeCase(names map[string]cfField) map[string]cfField {
	out := make(map[string]cfField, 2*len(names)+2)
	for n, f := range names {
		out[n] = f
		out[strings.NewReplacer("-", "_", "(", "_", ")", "").Replace(n)] = f
	}
	out["cs_referrer"] = cfReferer
	out["timestamp_ms"] = cfTimestampMs
	return out
}

// LegacyFields is the documented order of the 33 fields of CloudFront
// standard logs (legacy). Files without a #Fields header are read with it, or
// with its first N names when a line has N fields: fields were only ever
// appended (12 in 2010, then 15, 18, 19, 23, 24, 26 and 33 in December 2019).
var LegacyFields = strings.Fields("date time x-edge-location sc-bytes c-ip cs-method cs(Host) " +
	"cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type " +
	"x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol " +
	"ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields " +
	"c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len " +
	"sc-range-start sc-range-end")

var legacyCols = columnsOf(LegacyFields)

func columnsOf(names []string) []cfField {
	cols := make([]cfField, len(names))
	for i, n := range names {
		n = strings.ToLower(strings.Trim(n, "\u200b\ufeff"))
		cols[i] = cfFieldNames[n]
	}
	return cols
}

// CloudFront reads CloudFront standard access logs: legacy files, v2 files in
// W3C/plain output (TAB or space delimited, any field selection and order)
// and v2 JSON output (one object per line, every value a string).
//
// Columns are mapped by the latest #Fields line, which may appear anywhere
// (concatenated files); before any, the legacy order applies. A #Fields
// line of real-time names (cs-host, cs-user-agent, cs-referer... and no
// date, time or cs(...)) makes the records after it read as real-time
// records (see NewCloudFrontRealtime), and a standard one as standard logs. Values are as
// CloudFront logs them: "-" is empty, and the user agent, referrer and
// content type are percent-decoded (see hit.Unescape, UnescapeUserAgent).
// When the line's fields (the #Fields header, the real-time fields, or the
// keys of a JSON line) have no cs(User-Agent), the hit has NoUserAgentField
// set; legacy files without a header always have the field.
//
// A CloudFront is used by one goroutine, for one input, in line order.
type CloudFront struct {
	// Source names the input in errors.
	Source string

	cols     []cfField // column i holds field cols[i]; nil: legacy order
	realtime bool      // real-time records: real-time names, cs-uri-stem carries the query
	// rtByCount: real-time records without configured fields, read with
	// the RealtimeConfigs of their field count.
	rtByCount bool
	colsFrom  string // real-time: where cols come from, for errors ("--realtime-fields", "the #Fields line")
	vals      [cfNumFields]string
	seen      [cfNumFields]bool
	uaCache   map[string]string
	dayKey    string
	dayStart  int64
}

// NewCloudFront returns a reader for one input named source.
func NewCloudFront(source string) *CloudFront {
	return &CloudFront{Source: source, uaCache: make(map[string]string)}
}

const uaCacheMax = 8192

// Parse reads one line (without its line end) into h. It returns false and
// no error for header and blank lines, and a *ParseError for a malformed
// line. Parse never panics, whatever the bytes.
func (r *CloudFront) Parse(line []byte, lineNo int64, h *hit.Hit) (bool, error) {
	if len(line) == 0 {
		return false, nil
	}
	switch line[0] {
	case '#':
		r.header(line)
		return false, nil
	case '{':
		return r.parseJSON(line, lineNo, h)
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return false, nil
	}
	s := string(line) // the one allocation per line; fields are substrings of it
	if r.realtime {
		r.vals = [cfNumFields]string{}
		r.seen = [cfNumFields]bool{}
		if err := r.parseRealtime(s, lineNo); err != nil {
			return false, err
		}
		return r.fill(lineNo, h)
	}
	cols := r.cols
	if cols == nil {
		cols = legacyCols
	}
	r.vals = [cfNumFields]string{}
	r.seen = [cfNumFields]bool{}
	n := strings.Count(s, "\t") + 1
	trailing := s[len(s)-1] == '\t' // AWS's own examples have a trailing TAB
	switch {
	case n == len(cols) || (n == len(cols)+1 && trailing):
		r.splitTabs(s, cols)
	case r.cols == nil && n > 1 && validLegacyCount(n):
		r.splitTabs(s, cols[:n]) // a headerless file of an older era
	default:
		// v2 W3C output can be space delimited, and copies of logs often have
		// their TABs turned into spaces. CloudFront encodes spaces inside
		// values, so splitting on blanks is safe when the count matches.
		switch ws := fieldsCount(s); {
		case ws == len(cols):
			r.splitSpaces(s, cols)
		case r.cols == nil && validLegacyCount(ws):
			r.splitSpaces(s, cols[:ws])
		case r.cols == nil:
			return false, r.errorf(lineNo, ReasonFieldCount,
				"%d fields, and no #Fields line before it: standard logs without one have 12, 15, 18, 19, 23, 24, 26 or 33 fields (real-time log records: --format cloudfront-realtime)", n)
		default:
			return false, r.errorf(lineNo, ReasonFieldCount, "%d fields, the #Fields line names %d", n, len(cols))
		}
	}
	return r.fill(lineNo, h)
}

// validLegacyCount reports whether n is a field count that legacy files had.
func validLegacyCount(n int) bool {
	switch n {
	case 12, 15, 18, 19, 23, 24, 26:
		return true
	}
	return false
}

func (r *CloudFront) splitTabs(s string, cols []cfField) {
	for i := 0; i < len(cols); i++ {
		j := strings.IndexByte(s, '\t')
		var v string
		if j < 0 {
			v, s = s, ""
		} else {
			v, s = s[:j], s[j+1:]
		}
		r.set(cols[i], v)
	}
}

func (r *CloudFront) splitSpaces(s string, cols []cfField) {
	i := 0
	for _, v := range strings.Fields(s) {
		if i == len(cols) {
			break
		}
		r.set(cols[i], v)
		i++
	}
}

func fieldsCount(s string) int {
	n, in := 0, false
	for i := 0; i < len(s); i++ {
		sp := s[i] == ' ' || s[i] == '\t'
		if !sp && !in {
			n++
		}
		in = !sp
	}
	return n
}

func (r *CloudFront) set(f cfField, v string) {
	if f == cfNone {
		return
	}
	r.seen[f] = true
	if v == "-" {
		v = ""
	}
	r.vals[f] = v
}

func (r *CloudFront) header(line []byte) {
	const prefix = "#fields:"
	if len(line) < len(prefix) || !strings.EqualFold(string(line[:len(prefix)]), prefix) {
		return // #Version and comments
	}
	names := strings.Fields(string(line[len(prefix):]))
	if len(names) == 0 {
		return
	}
	// The latest #Fields line decides how the records after it are read:
	// with real-time names (cs-host, cs-user-agent...) as real-time
	// records, else as standard logs.
	r.realtime = isRealtimeHeader(names) || r.realtime && !isStandardHeader(names)
	if r.realtime {
		r.cols, r.colsFrom, r.rtByCount = realtimeColumnsOf(names), "the #Fields line", false
		return
	}
	r.cols = columnsOf(names)
}

// isStandardHeader reports whether a #Fields line has a name that only
// standard logs have.
func isStandardHeader(names []string) bool {
	for _, n := range names {
		n = strings.ToLower(strings.Trim(n, "\u200b\ufeff"))
		if n == "date" || n == "time" || strings.ContainsRune(n, '(') {
			return true
		}
	}
	return false
}

func (r *CloudFront) parseJSON(line []byte, lineNo int64, h *hit.Hit) (bool, error) {
	r.vals = [cfNumFields]string{}
	r.seen = [cfNumFields]bool{}
	err := flatJSON(string(line), func(k, v string, _ bool) {
		f, ok := cfFieldNames[k]
		if !ok {
			f = cfFieldNames[strings.ToLower(k)]
		}
		if f != cfNone {
			r.set(f, v)
		}
	})
	if err != nil {
		return false, r.errorf(lineNo, ReasonBadJSON, "%v", err)
	}
	return r.fill(lineNo, h)
}

func (r *CloudFront) errorf(lineNo int64, reason, format string, args ...any) error {
	return &ParseError{Source: r.Source, Line: lineNo, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// fill builds the hit from the values of one line.
func (r *CloudFront) fill(lineNo int64, h *hit.Hit) (bool, error) {
	v := &r.vals
	t, err := r.time()
	if err != nil {
		return false, r.errorf(lineNo, ReasonBadDate, "%v", err)
	}
	if !r.seen[cfStem] && !r.seen[cfQuery] {
		return false, r.errorf(lineNo, ReasonMissingField, "no cs-uri-stem and no cs-uri-query: no URL")
	}
	*h = hit.Hit{
		Time:         t,
		Method:       v[cfMethod],
		Scheme:       v[cfProto],
		Host:         v[cfXHost],
		Path:         v[cfStem],
		Query:        v[cfQuery],
		LogEscaped:   true,
		ClientIP:     v[cfCIP],
		ForwardedFor: v[cfXFF],
		EdgeLocation: v[cfEdge],
		ResultType:   v[cfResultType],
		DetailedType: v[cfDetailed],
		RequestID:    v[cfRequestID],
		TLSProtocol:  v[cfSSLProto],
		HTTPVersion:  v[cfProtoVersion],
		// seen: the line's fields include the user agent (see set).
		NoUserAgentField: !r.seen[cfUA],
		Status:           -1,
		Bytes:            -1,
		Duration:         -1,
		TTFB:             -1,
	}
	if h.Host == "" {
		h.Host = v[cfCsHost]
	}
	if !r.seen[cfMethod] {
		h.Method = "GET" // the fields have no cs-method (a pixel's); Matomo's importer assumes GET too
	}
	if s := v[cfStatus]; s != "" {
		n, ok := atoi(s)
		if !ok {
			return false, r.errorf(lineNo, ReasonBadNumber, "sc-status %q", s)
		}
		h.Status = n
	}
	if s := v[cfScBytes]; s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return false, r.errorf(lineNo, ReasonBadNumber, "sc-bytes %q", s)
		}
		h.Bytes = n
	}
	if s := v[cfTimeTaken]; s != "" {
		d, ok := seconds(s)
		if !ok {
			return false, r.errorf(lineNo, ReasonBadNumber, "time-taken %q", s)
		}
		h.Duration = d
	}
	if s := v[cfTTFB]; s != "" {
		d, ok := seconds(s)
		if !ok {
			return false, r.errorf(lineNo, ReasonBadNumber, "time-to-first-byte %q", s)
		}
		h.TTFB = d
	}
	if ua := v[cfUA]; ua != "" {
		d, ok := r.uaCache[ua]
		if !ok {
			d = UnescapeUserAgent(ua)
			if len(r.uaCache) >= uaCacheMax {
				clear(r.uaCache)
			}
			r.uaCache[strings.Clone(ua)] = d
		}
		h.UserAgent = d
	}
	h.Referrer = hit.Unescape(v[cfReferer])
	h.ContentType = hit.Unescape(v[cfContentType])
	if r.realtime {
		splitRealtimeStem(h)
	} else if !r.seen[cfStem] || h.Path == "" {
		// Only a query, or an empty cs-uri-stem: the request's path is
		// "/" as far as the log tells (as in real-time logs).
		h.Path = "/"
	}
	return true, nil
}

// time reads date+time, or timestamp(ms), or timestamp (epoch seconds with
// an optional fraction), in that order.
func (r *CloudFront) time() (time.Time, error) {
	v := &r.vals
	switch {
	case v[cfDate] != "" || v[cfTime] != "":
		day, err := r.day(v[cfDate])
		if err != nil {
			return time.Time{}, err
		}
		s := v[cfTime]
		if len(s) != 8 || s[2] != ':' || s[5] != ':' {
			return time.Time{}, fmt.Errorf("time %q is not HH:MM:SS", s)
		}
		hh, ok1 := atoi(s[0:2])
		mm, ok2 := atoi(s[3:5])
		ss, ok3 := atoi(s[6:8])
		if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 60 {
			return time.Time{}, fmt.Errorf("time %q is not HH:MM:SS", s)
		}
		return time.Unix(day+int64(hh*3600+mm*60+ss), 0).UTC(), nil
	case v[cfTimestampMs] != "":
		ms, err := strconv.ParseInt(v[cfTimestampMs], 10, 64)
		if err != nil || ms < minUnix*1000 || ms > maxUnix*1000 {
			return time.Time{}, fmt.Errorf("timestamp(ms) %q", v[cfTimestampMs])
		}
		return time.UnixMilli(ms).UTC(), nil
	case v[cfTimestamp] != "":
		f, err := strconv.ParseFloat(v[cfTimestamp], 64)
		if err != nil || f < minUnix || f > maxUnix {
			return time.Time{}, fmt.Errorf("timestamp %q", v[cfTimestamp])
		}
		return time.UnixMilli(int64(f*1000 + 0.5)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("no date and time")
}

// Dates outside these years are corrupt: CloudFront started logging in 2008.
const (
	minYear = 2000
	maxYear = 2999
	minUnix = 946684800   // 2000-01-01
	maxUnix = 32503680000 // 3000-01-01
)

func (r *CloudFront) day(s string) (int64, error) {
	if s == r.dayKey && s != "" {
		return r.dayStart, nil
	}
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	y, ok1 := atoi(s[0:4])
	m, ok2 := atoi(s[5:7])
	d, ok3 := atoi(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	if y < minYear || y > maxYear {
		return 0, fmt.Errorf("date %q is out of range", s)
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return 0, fmt.Errorf("date %q does not exist", s)
	}
	r.dayKey, r.dayStart = strings.Clone(s), t.Unix()
	return r.dayStart, nil
}

// atoi parses a short unsigned decimal.
func atoi(s string) (int, bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// seconds parses CloudFront's "0.082" seconds.
func seconds(s string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e9 {
		return 0, false
	}
	return time.Duration(f*1e9 + 0.5), true
}
