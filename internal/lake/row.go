package lake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/matomo"
)

// Row is one hit as the lake stores it: a row of the Parquet files.
// docs/lake.md describes each column; partition columns (dt, hour) are in
// the file's path, not in the file. Strings a log does not have are null
// (an optional column with Go's zero value is written as null), numbers
// it does not have are nil.
type Row struct {
	TS          time.Time `parquet:"ts,timestamp(millisecond:utc)"`
	Host        string    `parquet:"host,optional,dict"`
	Scheme      string    `parquet:"scheme,optional,dict"`
	Method      string    `parquet:"method,optional,dict"`
	Path        string    `parquet:"path,optional,dict"`
	Query       string    `parquet:"query,optional"`
	Status      *int32    `parquet:"status,optional"`
	Bytes       *int64    `parquet:"bytes,optional"`
	TimeTakenMS *float64  `parquet:"time_taken_ms,optional"`
	TTFBMS      *float64  `parquet:"ttfb_ms,optional"`
	ClientIP    string    `parquet:"client_ip,optional"`
	UserAgent   string    `parquet:"user_agent,optional,dict"`
	Referrer    string    `parquet:"referrer,optional,dict"`
	Kind        string    `parquet:"kind,dict"`
	Agent       string    `parquet:"agent,dict"`
	AgentName   string    `parquet:"agent_name,optional,dict"`
	// The CDN's fields (CloudFront's names in docs/lake.md).
	EdgeLocation   string `parquet:"edge_location,optional,dict"`
	EdgeResultType string `parquet:"edge_result_type,optional,dict"`
	RequestID      string `parquet:"request_id,optional"`
	Protocol       string `parquet:"protocol,optional,dict"`
	TLS            string `parquet:"tls,optional,dict"`
	ContentType    string `parquet:"content_type,optional,dict"`
	Country        string `parquet:"country,optional,dict"`
	Site           *int32 `parquet:"site,optional"`
	// Provenance: the input the hit was read from, and its line there.
	Source string `parquet:"source,dict"`
	Line   int64  `parquet:"line"`
	// Params is the query decoded, last: DuckDB's parquet_bloom_probe
	// (1.5) finds the bloom filter of a column after a map at the wrong
	// index.
	Params map[string]string `parquet:"params,optional"`
}

// Person is the agent of a hit whose user agent is no bot's.
const Person = "person"

// RowOptions say what a Row keeps of a hit beyond what the log says.
type RowOptions struct {
	// AnonymizeIP masks client IPs (matomo.AnonymizeIP: 1-3 bytes of an
	// IPv4 address, 64, 80 or 104 bits of an IPv6 one); 0 keeps them.
	AnonymizeIP int
	// IPHashKey, if set, replaces each client IP by a keyed hash of it
	// (HMAC-SHA-256, 32 hex digits), after AnonymizeIP: the same address
	// gives the same value for whoever has the key, and no one can tell
	// the address from it without the key.
	IPHashKey []byte
	// DefaultScheme and DefaultHost stand for a log's missing ones.
	DefaultScheme, DefaultHost string
	// Country, if set, gives the ISO country code of an address ("" for
	// none); it is asked with the address as logged.
	Country func(ip string) string
	// Site, if set, gives the Matomo site id of a host (0: none).
	Site func(host string) int
}

// fill makes r the row of h, read on line of source, classified as f.
// r's map is reused.
func (o *RowOptions) fill(r *Row, h *hit.Hit, f *classify.Facts, source string, line int64) {
	params := r.Params
	clear(params)
	*r = Row{
		TS: h.Time.UTC(), Host: valid(h.Host), Scheme: h.Scheme, Method: valid(h.Method),
		Path: hit.URLPart(h.Path, h.LogEscaped), Query: hit.URLPart(h.Query, h.LogEscaped),
		UserAgent: valid(h.UserAgent), Referrer: valid(h.Referrer),
		Kind: f.Kind.String(), Agent: Person, AgentName: f.Agent,
		EdgeLocation: valid(h.EdgeLocation), EdgeResultType: valid(h.ResultType), RequestID: valid(h.RequestID),
		Protocol: valid(h.HTTPVersion), TLS: valid(h.TLSProtocol), ContentType: valid(h.ContentType),
		Source: valid(source), Line: line,
	}
	if r.Host == "" {
		r.Host = o.DefaultHost
	}
	if r.Scheme == "" {
		r.Scheme = o.DefaultScheme
	}
	if f.Category != "" {
		r.Agent = f.Category
	}
	if r.AgentName == "" {
		r.AgentName = f.BotName
	}
	if h.Query != "" {
		r.Params = hit.DecodeQuery(params, r.Query)
	}
	if h.Status >= 0 {
		s := int32(h.Status)
		r.Status = &s
	}
	if h.Bytes >= 0 {
		b := h.Bytes
		r.Bytes = &b
	}
	if h.Duration >= 0 {
		ms := float64(h.Duration) / float64(time.Millisecond)
		r.TimeTakenMS = &ms
	}
	if h.TTFB >= 0 {
		ms := float64(h.TTFB) / float64(time.Millisecond)
		r.TTFBMS = &ms
	}
	if h.ClientIP != "" {
		if o.Country != nil {
			r.Country = o.Country(h.ClientIP)
		}
		r.ClientIP = valid(matomo.AnonymizeIP(h.ClientIP, o.AnonymizeIP))
		if len(o.IPHashKey) > 0 {
			r.ClientIP = HashIP(o.IPHashKey, r.ClientIP)
		}
	}
	if o.Site != nil {
		if id := o.Site(r.Host); id > 0 {
			s := int32(id)
			r.Site = &s
		}
	}
}

// HashIP is the keyed hash of an address the lake writes for it with
// RowOptions.IPHashKey: the first 16 bytes of HMAC-SHA-256(key, ip), in
// hex.
func HashIP(key []byte, ip string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ip))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// valid returns s with bytes that are not UTF-8 replaced by U+FFFD:
// Parquet strings are UTF-8, and readers (DuckDB) refuse a file with
// other bytes in one.
func valid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
