package logformat

import (
	"strings"

	"github.com/trackless/trackless/internal/hit"
)

// RealtimeFields is the fixed global order of CloudFront real-time log
// fields (the 40 of the launch plus the later origin-fbl, origin-lbl and
// asn). A real-time log has the enabled subset, always in this order.
var RealtimeFields = strings.Fields("timestamp c-ip time-to-first-byte sc-status sc-bytes cs-method " +
	"cs-protocol cs-host cs-uri-stem cs-bytes x-edge-location x-edge-request-id x-host-header time-taken " +
	"cs-protocol-version c-ip-version cs-user-agent cs-referer cs-cookie cs-uri-query " +
	"x-edge-response-result-type x-forwarded-for ssl-protocol ssl-cipher x-edge-result-type " +
	"fle-encrypted-fields fle-status sc-content-type sc-content-len sc-range-start sc-range-end c-port " +
	"x-edge-detailed-result-type c-country cs-accept-encoding cs-accept cache-behavior-path-pattern " +
	"cs-headers cs-header-names cs-headers-count origin-fbl origin-lbl asn")

// realtimeNames maps real-time field names to the standard log's roles. In
// real-time logs cs-host is the viewer's Host header (the site) and
// x-host-header the distribution's domain: the reverse of standard logs.
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

// NewCloudFrontRealtime returns a reader of CloudFront real-time log
// records (TAB separated, no header) with the given fields enabled, in any
// order (they are put in the global order); nil means all of
// RealtimeFields. Unknown names are an error.
func NewCloudFrontRealtime(source string, fields []string) (*CloudFront, error) {
	if len(fields) == 0 {
		fields = RealtimeFields
	}
	enabled := map[string]bool{}
	for _, f := range fields {
		f = strings.ToLower(strings.TrimSpace(f))
		if !slicesContains(RealtimeFields, f) {
			return nil, &unknownFieldError{f}
		}
		enabled[f] = true
	}
	r := NewCloudFront(source)
	r.realtime = true
	for _, f := range RealtimeFields {
		if enabled[f] {
			r.cols = append(r.cols, realtimeNames[f])
		}
	}
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

// splitRealtimeStem: in real-time logs cs-uri-stem carries the query too.
func splitRealtimeStem(h *hit.Hit) {
	if i := strings.IndexByte(h.Path, '?'); i >= 0 {
		if h.Query == "" {
			h.Query = h.Path[i+1:]
		}
		h.Path = h.Path[:i]
	}
}
