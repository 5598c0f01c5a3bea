// Package geoip maps client IP addresses, as they appear in web access logs,
// to countries using a MaxMind DB file (.mmdb).
//
// The record layout is detected per record, so one reader handles all of
// these databases:
//
//   - MaxMind GeoIP2/GeoLite2 Country and City, and DB-IP (dbip-country-lite,
//     dbip-city-lite, ...): "country" is a map; the code is country.iso_code
//     and the name country.names.en. When the record has no country code
//     (anonymous proxies, satellite providers) registered_country.iso_code
//     and registered_country.names.en are used instead.
//   - IPinfo country.mmdb and country_asn.mmdb: "country" is a string holding
//     the code and "country_name" holds the name.
//   - IPinfo Lite and other flat layouts: "country_code" holds the code; the
//     name is "country_name" or, when that is absent, a top-level "country"
//     string that is not the code itself (IPinfo Lite stores the name there).
//
// Values of an unexpected type (say a number where a string belongs) are
// ignored rather than treated as errors.
package geoip

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strings"
	"sync"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// ErrNoCountryData is wrapped by the error [Open] returns for a valid MaxMind
// DB whose records carry no country data in any supported layout, such as an
// ASN, ISP or anonymous-IP database.
var ErrNoCountryData = errors.New("no country data in a supported layout")

// probeLimit is how many records Open inspects, at most, looking for one
// with country data. Every record of a country or city database has country
// data, so the first record settles it; the limit only bounds the time spent
// rejecting databases of other kinds.
const probeLimit = 1024

// maxStringSize bounds the strings decoded from a record, so a corrupt or
// hostile database cannot make a lookup allocate large strings. Country codes
// and names are far shorter.
const maxStringSize = 256

// Country is the country of an IP address. The zero value means unknown.
type Country struct {
	// Code is the ISO 3166-1 alpha-2 code in upper case, e.g. "DE";
	// "" when unknown.
	Code string
	// Name is the English name, e.g. "Germany"; "" when unknown or when the
	// database has no English names.
	Name string
}

// DB looks up countries. Safe for concurrent use, except that Close must not
// be called concurrently with Country.
//
// The file is memory-mapped: replace a database on disk by writing a new
// file and renaming it over the old one, never by rewriting it in place
// while it is open.
type DB struct {
	reader   *maxminddb.Reader
	describe string
	records  sync.Pool // of *record, to decode without allocating
}

// Open opens the MaxMind DB file at path. Every error names path.
//
// Open fails when the file cannot be read, when it is not a MaxMind DB, and
// when it is a MaxMind DB without country data in a supported layout (see
// the package documentation); that error wraps [ErrNoCountryData] and names
// the database type found in the metadata, e.g. "GeoLite2-ASN". Open decides
// by decoding records: it succeeds as soon as one record has country data and
// fails if none of the first records (or of all records, in a small database)
// has any. A database that passes may still have records without country
// data; Country returns the zero Country for those.
func Open(path string) (*DB, error) {
	reader, err := maxminddb.Open(path)
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			// Avoid repeating the path: "geoip: open x: open x: ...".
			return nil, fmt.Errorf("geoip: open %s: %w", path, pathErr.Err)
		}
		return nil, fmt.Errorf("geoip: open %s: not a MaxMind DB (.mmdb) file: %w", path, err)
	}
	if err := probe(reader); err != nil {
		_ = reader.Close()
		return nil, fmt.Errorf("geoip: open %s: database type %q: %w", path, reader.Metadata.DatabaseType, err)
	}
	db := &DB{reader: reader, describe: describe(reader.Metadata)}
	db.records.New = func() any { return new(record) }
	return db, nil
}

// probe returns nil if one of the first probeLimit records of r has
// country data, and an error wrapping ErrNoCountryData otherwise.
func probe(r *maxminddb.Reader) error {
	n := 0
	for res := range r.Networks() {
		var rec record
		if err := res.Decode(&rec); err != nil {
			return fmt.Errorf("reading record for %s: %w", res.Prefix(), err)
		}
		if rec.country() != (Country{}) {
			return nil
		}
		n++
		if n >= probeLimit {
			break
		}
	}
	if n == 0 {
		return fmt.Errorf("%w: the database has no records", ErrNoCountryData)
	}
	return fmt.Errorf("%w: none of the %d records read has country.iso_code, registered_country.iso_code, "+
		"country or country_code; use a country or city database such as GeoLite2-Country, "+
		"GeoLite2-City or dbip-country-lite", ErrNoCountryData, n)
}

func describe(md maxminddb.Metadata) string {
	s := md.DatabaseType
	if s == "" {
		s = "MaxMind DB"
	}
	if md.BuildEpoch != 0 {
		s += " built " + md.BuildTime().UTC().Format("2006-01-02")
	}
	return s
}

// Close releases the database. Country returns the zero Country after
// Close. Close must not be called concurrently with Country; calling it more
// than once is harmless.
func (db *DB) Close() error {
	if db == nil || db.reader == nil {
		return nil
	}
	return db.reader.Close()
}

// Describe returns the database type and build date from the metadata, e.g.
// "GeoLite2-Country built 2026-11-01", for a report footer. The date is in
// UTC and omitted when the metadata has no build time.
func (db *DB) Describe() string {
	if db == nil {
		return ""
	}
	return db.describe
}

// Country returns the country of ip, an IPv4 or IPv6 address as written in
// an access log. Surrounding white space and an IPv6 zone ("fe80::1%eth0")
// are ignored, and an IPv4-mapped IPv6 address ("::ffff:192.0.2.1") is looked
// up as the IPv4 address. Anything else that is not a bare address, such as
// "1.2.3.4:80", "[::1]", "-" or "", does not parse.
//
// Country returns the zero Country when ip does not parse, when the address
// is not in the database, when its record has no country data, and when the
// record cannot be decoded. It does not panic.
func (db *DB) Country(ip string) Country {
	if db == nil || db.reader == nil {
		return Country{}
	}
	ip = strings.TrimSpace(ip)
	if !maybeAddr(ip) {
		return Country{} // without the allocation of a ParseAddr error
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return Country{}
	}
	addr = addr.Unmap().WithZone("")
	// Decode takes an interface, so a local record would escape to the heap.
	rec := db.records.Get().(*record)
	*rec = record{}
	var c Country
	if err := db.reader.Lookup(addr).Decode(rec); err == nil {
		c = rec.country()
	}
	db.records.Put(rec)
	return c
}

// maybeAddr reports whether s could be an IP address: it is not empty and,
// up to an IPv6 zone, has only hexadecimal digits, dots and colons. It
// rejects the common non-addresses ("-", "unknown") cheaply.
func maybeAddr(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		switch c := s[i]; {
		case c == '%':
			return i > 0
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// record holds the fields of every supported layout; decoding fills those
// the record has.
type record struct {
	nested      countryMap // "country" when it is a map (MaxMind, DB-IP)
	registered  countryMap // "registered_country" (MaxMind, DB-IP)
	flatCountry string     // "country" when it is a string (IPinfo)
	countryCode string     // "country_code" (IPinfo Lite)
	countryName string     // "country_name" (IPinfo)
}

// countryMap is a MaxMind-style country map.
type countryMap struct {
	isoCode string // "iso_code"
	en      string // "names"."en"
}

// country picks the country out of the fields decoded into rec.
func (rec *record) country() Country {
	switch {
	case rec.nested.isoCode != "":
		return Country{Code: upper(rec.nested.isoCode), Name: rec.nested.en}
	case rec.countryCode != "":
		name := rec.countryName
		if name == "" && !strings.EqualFold(rec.flatCountry, rec.countryCode) {
			name = rec.flatCountry
		}
		return Country{Code: upper(rec.countryCode), Name: name}
	case rec.flatCountry != "":
		if isCode(rec.flatCountry) {
			return Country{Code: upper(rec.flatCountry), Name: rec.countryName}
		}
		return Country{Name: rec.flatCountry}
	case rec.registered.isoCode != "":
		return Country{Code: upper(rec.registered.isoCode), Name: rec.registered.en}
	default:
		// A country map with a name but no code, or nothing at all.
		return Country{Name: rec.nested.en}
	}
}

// isCode reports whether s looks like an ISO 3166-1 alpha-2 code.
func isCode(s string) bool {
	return len(s) == 2 && isLetter(s[0]) && isLetter(s[1])
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// upper returns s in upper case, without allocating when it already is.
func upper(s string) string {
	for i := range len(s) {
		if 'a' <= s[i] && s[i] <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}

// UnmarshalMaxMindDBCursor implements [mmdbdata.CursorUnmarshaler]. It reads
// only the keys of interest and skips everything else, without going through
// reflection or allocating maps.
func (rec *record) UnmarshalMaxMindDBCursor(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	m, isMap, next, err := openMap(c)
	if err != nil || !isMap {
		return next, err
	}
	for {
		key, value, ok := m.Next(next)
		if !ok {
			break
		}
		switch string(key) {
		case "country":
			var kind mmdbdata.Kind
			kind, err = value.Kind()
			if err != nil {
				return mmdbdata.Cursor{}, err
			}
			if kind == mmdbdata.KindString {
				rec.flatCountry, next, err = value.ReadStringMaxSize(maxStringSize)
			} else {
				next, err = rec.nested.unmarshal(value)
			}
		case "registered_country":
			if rec.nested.isoCode != "" {
				// Not needed; keys are usually sorted, so "country" came first.
				next, err = value.Skip()
			} else {
				next, err = rec.registered.unmarshal(value)
			}
		case "country_code":
			rec.countryCode, next, err = readString(value)
		case "country_name":
			rec.countryName, next, err = readString(value)
		default:
			next, err = value.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return m.End()
}

// unmarshal reads a MaxMind-style country map; any other value is skipped.
func (n *countryMap) unmarshal(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	m, isMap, next, err := openMap(c)
	if err != nil || !isMap {
		return next, err
	}
	for {
		key, value, ok := m.Next(next)
		if !ok {
			break
		}
		switch string(key) {
		case "iso_code":
			n.isoCode, next, err = readString(value)
		case "names":
			n.en, next, err = readEnglish(value)
		default:
			next, err = value.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return m.End()
}

// readEnglish returns the "en" entry of a names map.
func readEnglish(c mmdbdata.Cursor) (string, mmdbdata.Cursor, error) {
	m, isMap, next, err := openMap(c)
	if err != nil || !isMap {
		return "", next, err
	}
	var en string
	for {
		key, value, ok := m.Next(next)
		if !ok {
			break
		}
		if string(key) == "en" {
			en, next, err = readString(value)
		} else {
			next, err = value.Skip()
		}
		if err != nil {
			return "", mmdbdata.Cursor{}, err
		}
	}
	next, err = m.End()
	return en, next, err
}

// openMap opens the map at c. When the value is not a map, isMap is false
// and next is the cursor after the value, so that callers skip it.
func openMap(c mmdbdata.Cursor) (m mmdbdata.MapCursor, isMap bool, next mmdbdata.Cursor, err error) {
	kind, err := c.Kind()
	if err != nil {
		return m, false, next, err
	}
	if kind != mmdbdata.KindMap {
		next, err = c.Skip()
		return m, false, next, err
	}
	m, err = c.Map()
	return m, err == nil, next, err
}

// readString reads the string at c; a value of another kind reads as "".
func readString(c mmdbdata.Cursor) (string, mmdbdata.Cursor, error) {
	kind, err := c.Kind()
	if err != nil {
		return "", mmdbdata.Cursor{}, err
	}
	if kind != mmdbdata.KindString {
		next, err := c.Skip()
		return "", next, err
	}
	return c.ReadStringMaxSize(maxStringSize)
}
