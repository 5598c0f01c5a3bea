// Package hit defines Hit, the one normalized record every log reader produces
// and every sink consumes, and the classification computed once per hit.
package hit

import "time"

// Hit is one HTTP request as read from an access log.
//
// Strings are as the log wrote them unless the field says otherwise; "-" and
// missing values are the empty string and zero. A Hit holds no references to
// reader buffers: it stays valid after the reader moves on.
type Hit struct {
	Time   time.Time // request time, UTC
	Method string    // cs-method, upper case as logged
	Scheme string    // cs-protocol: http, https, ws, wss
	Host   string    // the site's host: x-host-header, else cs(Host)
	Path   string    // cs-uri-stem as logged (still percent-encoded by the log writer)
	Query  string    // cs-uri-query as logged, without '?'; empty when "-"
	// LogEscaped tells that Path and Query carry the log writer's own
	// percent-encoding on top of the client's (CloudFront escapes '%').
	LogEscaped bool
	// NoUserAgentField tells that the log format has no user-agent field
	// (Apache's common format, a custom format without one, W3C or
	// CloudFront #Fields without cs(User-Agent)...), so an empty UserAgent
	// says nothing about the client. When false, an empty UserAgent is one
	// the client did not send (a bot's). It only matters when UserAgent is
	// empty; readers set it only then.
	NoUserAgentField bool
	Status           int   // sc-status; 0 for "000"; -1 when not logged
	Bytes            int64 // sc-bytes, response bytes including headers; -1 when not logged

	// Duration is time-taken, the server-side time of the request; -1 when not logged.
	Duration time.Duration
	// TTFB is time-to-first-byte; -1 when not logged.
	TTFB time.Duration

	UserAgent    string // cs(User-Agent), percent-decoded (see logformat/cloudfront)
	Referrer     string // cs(Referer), percent-decoded once
	ClientIP     string // c-ip, IPv4 or IPv6
	ForwardedFor string // x-forwarded-for as logged (a list, possibly)
	User         string // the authenticated user, when the log names one

	EdgeLocation string // x-edge-location
	ResultType   string // x-edge-result-type
	DetailedType string // x-edge-detailed-result-type
	RequestID    string // x-edge-request-id
	TLSProtocol  string // ssl-protocol
	HTTPVersion  string // cs-protocol-version
	ContentType  string // sc-content-type, percent-decoded once
}

// Kind is what a request fetched, by URL.
type Kind uint8

const (
	// Page is any tracked URL that is neither a download nor an excluded asset.
	Page Kind = iota
	// Download is a file download (DOCUMENT_REGEX).
	Download
	// Asset is a static resource excluded from tracking (URL_EXCLUDE_REGEX).
	Asset
)

// String returns "page", "download" or "asset".
func (k Kind) String() string {
	switch k {
	case Download:
		return "download"
	case Asset:
		return "asset"
	default:
		return "page"
	}
}
