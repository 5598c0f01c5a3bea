package logformat

import (
	"fmt"
	"strings"

	"github.com/trackless/trackless/internal/hit"
)

// RealtimeFields is CloudFront's global order of the real-time log fields:
// all the fields a real-time log configuration can enable today (69). A
// record holds the enabled subset, always in this order whatever the order
// of the configuration, so a field added to the configuration shifts the
// fields after it. The order is AWS's (the CloudFront developer guide's
// "Real-time log configuration fields"; its MQAR page numbers r-host,
// sr-reason and x-edge-mqcs as fields 65 to 67): the 40 fields of the 2020
// launch, s-ip as the third, primary-distribution-id and
// primary-distribution-dns-name, origin-fbl, origin-lbl, asn, the 18 CMCD
// fields (2024), r-host, sr-reason, x-edge-mqcs, distribution-tenant-id and
// connection-id. To follow AWS, add a new field here at its place.
//
// The fields that hit.Hit has a place for are read (see realtimeNames);
// the others are accepted and ignored.
var RealtimeFields = strings.Fields("timestamp c-ip s-ip time-to-first-byte sc-status sc-bytes cs-method " +
	"cs-protocol cs-host cs-uri-stem cs-bytes x-edge-location x-edge-request-id x-host-header time-taken " +
	"cs-protocol-version c-ip-version cs-user-agent cs-referer cs-cookie cs-uri-query " +
	"x-edge-response-result-type x-forwarded-for ssl-protocol ssl-cipher x-edge-result-type " +
	"fle-encrypted-fields fle-status sc-content-type sc-content-len sc-range-start sc-range-end c-port " +
	"x-edge-detailed-result-type c-country cs-accept-encoding cs-accept cache-behavior-path-pattern " +
	"cs-headers cs-header-names cs-headers-count primary-distribution-id primary-distribution-dns-name " +
	"origin-fbl origin-lbl asn " +
	"cmcd-encoded-bitrate cmcd-buffer-length cmcd-buffer-starvation cmcd-content-id cmcd-object-duration " +
	"cmcd-deadline cmcd-measured-throughput cmcd-next-object-request cmcd-next-range-request " +
	"cmcd-object-type cmcd-playback-rate cmcd-requested-maximum-throughput cmcd-streaming-format " +
	"cmcd-session-id cmcd-stream-type cmcd-startup cmcd-top-bitrate cmcd-version " +
	"r-host sr-reason x-edge-mqcs distribution-tenant-id connection-id")

// RealtimeConfig is a selection of real-time log fields that a record's
// field count alone identifies (see RealtimeConfigs).
type RealtimeConfig struct {
	Name   string   // for people: "all 69 current fields"
	Fields []string // in the order of RealtimeFields
}

// RealtimeConfigs are the real-time log configurations that a reader
// without configured fields (no --realtime-fields, no #Fields line) and
// Auto recognise by a record's field count: "all fields" as AWS offered
// them over the years (the 45 as infrastructure code of the time lists
// them). Their counts differ. Any other selection needs its fields named
// (--realtime-fields).
var RealtimeConfigs = []RealtimeConfig{
	{Name: "all 69 current fields", Fields: RealtimeFields},
	{Name: "45 fields: the launch fields, primary-distribution-id, primary-distribution-dns-name, origin-fbl, origin-lbl, asn",
		Fields: realtimeWithout("s-ip", "cmcd-", "r-host", "sr-reason", "x-edge-mqcs", "distribution-tenant-id", "connection-id")},
	{Name: "43 fields: the launch fields, origin-fbl, origin-lbl, asn (AWS's guide in 2023)",
		Fields: realtimeWithout("s-ip", "primary-distribution-", "cmcd-", "r-host", "sr-reason", "x-edge-mqcs", "distribution-tenant-id", "connection-id")},
	{Name: "40 fields: those of the 2020 launch (timestamp to cs-headers-count, without s-ip)",
		Fields: realtimeWithout("s-ip", "primary-distribution-", "origin-fbl", "origin-lbl", "asn", "cmcd-", "r-host", "sr-reason", "x-edge-mqcs", "distribution-tenant-id", "connection-id")},
}

// realtimeWithout is RealtimeFields without the names given and those
// starting with a given prefix ending in '-'.
func realtimeWithout(drop ...string) []string {
	var out []string
next:
	for _, f := range RealtimeFields {
		for _, d := range drop {
			if f == d || strings.HasSuffix(d, "-") && strings.HasPrefix(f, d) {
				continue next
			}
		}
		out = append(out, f)
	}
	return out
}

// realtimeByCount holds the columns of each of RealtimeConfigs by field
// count. Read only.
var realtimeByCount = func() map[int][]cfField {
	m := make(map[int][]cfField, len(RealtimeConfigs))
	for _, c := range RealtimeConfigs {
		m[len(c.Fields)] = realtimeColumnsOf(c.Fields)
	}
	return m
}()

// realtimeConfigCounts describes RealtimeConfigs for error messages.
func realtimeConfigCounts() string {
	var b strings.Builder
	for i, c := range RealtimeConfigs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d", len(c.Fields))
	}
	return b.String()
}

// realtimeNames maps real-time field names to the standard log's roles. In
// real-time logs cs-host is the viewer's Host header (the site) and
// x-host-header the distribution's domain: the reverse of standard logs.
// The other fields of RealtimeFields (s-ip, cs-cookie, c-country, asn,
// primary-distribution-*, origin-fbl/lbl, the CMCD fields, r-host, ...)
// have no place in hit.Hit: read and ignored.
var realtimeNames = map[string]cfField{
	"cs-host":                     cfXHost,
	"x-host-header":               cfCsHost,
	"cs-user-agent":               cfUA,
	"cs-referer":                  cfReferer,
	"cs-uri-stem":                 cfStem,
	"cs-uri-query":                cfQuery,
	"timestamp":                   cfTimestamp,
	"time-taken":                  cfTimeTaken,
	"sc-status":                   cfStatus,
	"sc-bytes":                    cfScBytes,
	"c-ip":                        cfCIP,
	"cs-method":                   cfMethod,
	"cs-protocol":                 cfProto,
	"x-edge-location":             cfEdge,
	"x-edge-request-id":           cfRequestID,
	"x-edge-result-type":          cfResultType,
	"x-edge-detailed-result-type": cfDetailed,
	"x-forwarded-for":             cfXFF,
	"ssl-protocol":                cfSSLProto,
	"cs-protocol-version":         cfProtoVersion,
	"time-to-first-byte":          cfTTFB,
	"sc-content-type":             cfContentType,
}

func realtimeColumnsOf(names []string) []cfField {
	cols := make([]cfField, len(names))
	for i, n := range names {
		cols[i] = realtimeNames[strings.ToLower(strings.Trim(n, "\u200b\ufeff"))]
	}
	return cols
}

// NewCloudFrontRealtime returns a reader of CloudFront real-time log
// records: TAB-separated values, no header, the enabled fields in the order
// of RealtimeFields. fields are the fields of the real-time log
// configuration, any subset of RealtimeFields in any order (they are put
// in the global order; names are case-insensitive); unknown names are an
// error. A record with another number of fields is malformed
// (ReasonFieldCount, naming --realtime-fields and both counts).
//
// With no fields, each record is read with the configuration of
// RealtimeConfigs that has its field count; a record of another count is
// malformed. A "#Fields:" line (which CloudFront does not write, but
// people add) names the columns of the records after it, as in standard
// logs.
//
// A record without cs-uri-stem (a tracking pixel's configuration:
// timestamp, c-ip, cs-user-agent, cs-uri-query) is a hit of path "/" with
// the query; cs-uri-stem, which carries the query in real-time logs, is
// split at '?'.
func NewCloudFrontRealtime(source string, fields []string) (*CloudFront, error) {
	r := NewCloudFront(source)
	r.realtime = true
	if len(fields) == 0 {
		r.rtByCount = true
		return r, nil
	}
	enabled := map[string]bool{}
	for _, f := range fields {
		f = strings.ToLower(strings.TrimSpace(f))
		if !slicesContains(RealtimeFields, f) {
			return nil, &unknownFieldError{f}
		}
		enabled[f] = true
	}
	var names []string
	for _, f := range RealtimeFields {
		if enabled[f] {
			names = append(names, f)
		}
	}
	r.cols = realtimeColumnsOf(names)
	r.colsFrom = "--realtime-fields"
	return r, nil
}

type unknownFieldError struct{ name string }

func (e *unknownFieldError) Error() string {
	return "unknown real-time log field " + e.name + " (known: " + strings.Join(RealtimeFields, " ") + ")"
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// realtimeOnlyNames are real-time field names that standard logs spell
// otherwise (cs(Host), cs(User-Agent), ...) or do not have.
var realtimeOnlyNames = map[string]bool{
	"cs-host": true, "cs-user-agent": true, "cs-referer": true, "cs-cookie": true, "c-ip-version": true,
	"cs-accept": true, "cs-accept-encoding": true, "cs-headers": true, "cs-header-names": true,
	"cs-headers-count": true,
}

// isRealtimeHeader reports whether the names of a #Fields line are those
// of real-time logs: at least one name only real-time logs have, and none
// only standard logs have (date, time, cs(...), timestamp(ms)).
func isRealtimeHeader(names []string) bool {
	if isStandardHeader(names) {
		return false
	}
	for _, n := range names {
		if realtimeOnlyNames[strings.ToLower(strings.Trim(n, "\u200b\ufeff"))] {
			return true
		}
	}
	return false
}

// parseRealtime splits a real-time record (not a header, not blank) into
// r.vals.
func (r *CloudFront) parseRealtime(s string, lineNo int64) error {
	n := strings.Count(s, "\t") + 1
	cols := r.cols
	if r.rtByCount {
		cols = realtimeByCount[n]
	}
	if cols != nil && n == len(cols) {
		r.splitTabs(s, cols)
		return nil
	}
	if n == 1 {
		// A record copied with its TABs turned into spaces: values are
		// URL-encoded, so blanks only separate them.
		ws := fieldsCount(s)
		cols = r.cols
		if r.rtByCount {
			cols = realtimeByCount[ws]
		}
		if cols != nil && ws == len(cols) {
			r.splitSpaces(s, cols)
			return nil
		}
		n = ws
	}
	switch {
	case r.rtByCount:
		return r.errorf(lineNo, ReasonFieldCount,
			"the record has %d fields, and no --realtime-fields were given: without them a record must have all the fields of one of the known configurations (%s fields): set --realtime-fields to the fields of your real-time log configuration (aws cloudfront get-realtime-log-config --name NAME lists them)",
			n, realtimeConfigCounts())
	case r.colsFrom == "--realtime-fields":
		return r.errorf(lineNo, ReasonFieldCount,
			"the record has %d fields, --realtime-fields names %d: set --realtime-fields to the fields of your real-time log configuration, in any order (aws cloudfront get-realtime-log-config --name NAME lists them)",
			n, len(r.cols))
	}
	return r.errorf(lineNo, ReasonFieldCount, "the record has %d fields, the #Fields line names %d", n, len(r.cols))
}

// splitRealtimeStem: in real-time logs cs-uri-stem carries the query too;
// a record without a path is one of "/", as a request line's target.
func splitRealtimeStem(h *hit.Hit) {
	if i := strings.IndexByte(h.Path, '?'); i >= 0 {
		if h.Query == "" {
			h.Query = h.Path[i+1:]
		}
		h.Path = h.Path[:i]
	}
	if h.Path == "" {
		h.Path = "/" // no cs-uri-stem, "-", or only a query
	}
}

// isRealtimeRecord reports whether a line has the shape of a CloudFront
// real-time log record: TAB-separated, its first field the epoch seconds
// with milliseconds (1591371245.123). Standard logs start with a date, or
// have a #Fields line.
func isRealtimeRecord(line string) bool {
	first, _, tab := strings.Cut(line, "\t")
	if !tab || len(first) != 14 || first[10] != '.' {
		return false
	}
	for i := 0; i < len(first); i++ {
		if i != 10 && (first[i] < '0' || first[i] > '9') {
			return false
		}
	}
	return true
}
