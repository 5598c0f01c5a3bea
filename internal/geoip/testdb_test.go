package geoip_test

import (
	"bytes"
	"cmp"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// testEpoch is the build time of the test databases: 2026-11-01 00:00 UTC.
const testEpoch = 1793491200

// dbSpec describes a test database.
type dbSpec struct {
	databaseType string
	ipVersion    int // 4 or 6 (default)
	// networks maps a CIDR to its record. Wider networks are inserted
	// first, so narrower ones override them.
	networks map[string]mmdbtype.DataType
}

// writeDB builds the database described by spec in t's temporary directory
// and returns its path.
func writeDB(t testing.TB, spec dbSpec) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            spec.databaseType,
		IPVersion:               spec.ipVersion,
		BuildEpoch:              testEpoch,
		Languages:               []string{"en", "de"},
		IncludeReservedNetworks: true,
		RecordSize:              28,
	})
	if err != nil {
		t.Fatal(err)
	}
	prefixes := make([]netip.Prefix, 0, len(spec.networks))
	records := make(map[netip.Prefix]mmdbtype.DataType, len(spec.networks))
	for cidr, rec := range spec.networks {
		p := netip.MustParsePrefix(cidr).Masked()
		prefixes = append(prefixes, p)
		records[p] = rec
	}
	slices.SortFunc(prefixes, func(a, b netip.Prefix) int {
		return cmp.Or(cmp.Compare(a.Bits(), b.Bits()), a.Addr().Compare(b.Addr()))
	})
	for _, p := range prefixes {
		ipNet := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
		if err := w.Insert(ipNet, records[p]); err != nil {
			t.Fatalf("insert %s: %v", p, err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), spec.databaseType+".mmdb")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// names returns a MaxMind names map from alternating language, name pairs.
func names(kv ...string) mmdbtype.Map {
	m := mmdbtype.Map{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[mmdbtype.String(kv[i])] = mmdbtype.String(kv[i+1])
	}
	return m
}

// mmCountry returns a MaxMind/DB-IP country map.
func mmCountry(code, en string, geonameID uint32) mmdbtype.Map {
	return mmdbtype.Map{
		"geoname_id": mmdbtype.Uint32(geonameID),
		"iso_code":   mmdbtype.String(code),
		"names":      names("en", en, "de", en+" (de)"),
	}
}

var europe = mmdbtype.Map{
	"code":       mmdbtype.String("EU"),
	"geoname_id": mmdbtype.Uint32(6255148),
	"names":      names("en", "Europe", "de", "Europa"),
}

// maxmindSpec is a GeoLite2-City-like database: records carry city,
// location and subdivisions besides the country, which the reader must skip.
func maxmindSpec() dbSpec {
	return dbSpec{
		databaseType: "GeoLite2-City",
		networks: map[string]mmdbtype.DataType{
			"81.2.0.0/16": mmdbtype.Map{
				"continent":          europe,
				"country":            mmCountry("GB", "United Kingdom", 2635167),
				"registered_country": mmCountry("GB", "United Kingdom", 2635167),
			},
			"81.2.69.0/24": mmdbtype.Map{
				"city":      mmdbtype.Map{"geoname_id": mmdbtype.Uint32(2643743), "names": names("en", "London", "de", "London")},
				"continent": europe,
				"country":   mmCountry("GB", "United Kingdom", 2635167),
				"location": mmdbtype.Map{
					"accuracy_radius": mmdbtype.Uint16(10),
					"latitude":        mmdbtype.Float64(51.5142),
					"longitude":       mmdbtype.Float64(-0.0931),
					"time_zone":       mmdbtype.String("Europe/London"),
				},
				"postal":             mmdbtype.Map{"code": mmdbtype.String("EC4R")},
				"registered_country": mmCountry("SE", "Sweden", 2661886),
				"subdivisions": mmdbtype.Slice{
					mmdbtype.Map{"iso_code": mmdbtype.String("ENG"), "names": names("en", "England")},
				},
			},
			"2a02:ff0::/32": mmdbtype.Map{
				"continent":          europe,
				"country":            mmCountry("DE", "Germany", 2921044),
				"registered_country": mmCountry("DE", "Germany", 2921044),
			},
			// Anonymous proxy: no country, only the registered country.
			"192.0.2.0/24": mmdbtype.Map{
				"registered_country": mmCountry("US", "United States", 6252001),
				"traits":             mmdbtype.Map{"is_anonymous_proxy": mmdbtype.Bool(true)},
			},
			// Satellite provider over IPv6, same.
			"2001:db8:5a7::/48": mmdbtype.Map{
				"registered_country": mmCountry("NL", "Netherlands", 2750405),
				"traits":             mmdbtype.Map{"is_satellite_provider": mmdbtype.Bool(true)},
			},
			// Continent only: unknown country.
			"203.0.113.0/24": mmdbtype.Map{"continent": europe},
			// No English name.
			"198.51.100.0/24": mmdbtype.Map{
				"country": mmdbtype.Map{"iso_code": mmdbtype.String("jp"), "names": names("de", "Japan", "ja", "日本")},
			},
		},
	}
}

// dbipSpec is a dbip-country-lite-like database.
func dbipSpec() dbSpec {
	return dbSpec{
		databaseType: "DBIP-Country-Lite",
		networks: map[string]mmdbtype.DataType{
			"1.0.0.0/24": mmdbtype.Map{
				"continent": mmdbtype.Map{"code": mmdbtype.String("OC"), "geoname_id": mmdbtype.Uint32(6255151), "names": names("en", "Oceania")},
				"country": mmdbtype.Map{
					"geoname_id":           mmdbtype.Uint32(2077456),
					"iso_code":             mmdbtype.String("AU"),
					"is_in_european_union": mmdbtype.Bool(false),
					"names":                names("en", "Australia", "de", "Australien", "fr", "Australie"),
				},
			},
			"2001:200::/32": mmdbtype.Map{
				"country": mmdbtype.Map{
					"iso_code":             mmdbtype.String("JP"),
					"is_in_european_union": mmdbtype.Bool(false),
					"names":                names("en", "Japan"),
				},
			},
		},
	}
}

// ipinfoSpec is an IPinfo country_asn.mmdb-like database: flat records with
// "country" as the code and "country_name".
func ipinfoSpec() dbSpec {
	return dbSpec{
		databaseType: "ipinfo country_asn.mmdb",
		networks: map[string]mmdbtype.DataType{
			"8.8.8.0/24": mmdbtype.Map{
				"as_domain":      mmdbtype.String("google.com"),
				"as_name":        mmdbtype.String("Google LLC"),
				"asn":            mmdbtype.String("AS15169"),
				"continent":      mmdbtype.String("NA"),
				"continent_name": mmdbtype.String("North America"),
				"country":        mmdbtype.String("US"),
				"country_name":   mmdbtype.String("United States"),
			},
			"2a00:1450::/32": mmdbtype.Map{
				"asn":          mmdbtype.String("AS15169"),
				"continent":    mmdbtype.String("EU"),
				"country":      mmdbtype.String("ie"),
				"country_name": mmdbtype.String("Ireland"),
			},
		},
	}
}

// ipinfoLiteSpec is an IPinfo Lite-like database ("country_code" holds the
// code, "country" the name), plus a record with only "country_code" as in
// the ip-location-db databases.
func ipinfoLiteSpec() dbSpec {
	return dbSpec{
		databaseType: "ipinfo_lite.mmdb",
		networks: map[string]mmdbtype.DataType{
			"9.9.9.0/24": mmdbtype.Map{
				"as_name":        mmdbtype.String("Quad9"),
				"asn":            mmdbtype.String("AS19281"),
				"continent":      mmdbtype.String("Europe"),
				"continent_code": mmdbtype.String("EU"),
				"country":        mmdbtype.String("Switzerland"),
				"country_code":   mmdbtype.String("CH"),
			},
			"2606:4700::/32": mmdbtype.Map{"country_code": mmdbtype.String("US")},
		},
	}
}

// asnSpec is a GeoLite2-ASN-like database: no country data at all.
func asnSpec() dbSpec {
	return dbSpec{
		databaseType: "GeoLite2-ASN",
		networks: map[string]mmdbtype.DataType{
			"1.0.0.0/24": mmdbtype.Map{
				"autonomous_system_number":       mmdbtype.Uint32(13335),
				"autonomous_system_organization": mmdbtype.String("CLOUDFLARENET"),
			},
			"2001:200::/32": mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(2500)},
		},
	}
}

// oddSpec has records of unexpected shapes. The first record in tree order
// has no country data, so Open has to look further.
func oddSpec() dbSpec {
	return dbSpec{
		databaseType: "Odd-Layout",
		networks: map[string]mmdbtype.DataType{
			"10.1.0.0/16": mmdbtype.String("DE"), // not a map
			"10.2.0.0/16": mmdbtype.Map{ // "country" of the wrong type
				"country":      mmdbtype.Uint32(5),
				"country_code": mmdbtype.String("AT"),
			},
			"10.3.0.0/16": mmdbtype.Map{ // iso_code and names of the wrong type
				"country":            mmdbtype.Map{"iso_code": mmdbtype.Uint32(1), "names": mmdbtype.String("x")},
				"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("BE"), "names": mmdbtype.Slice{mmdbtype.String("x")}},
			},
			"10.4.0.0/16": mmdbtype.Map{ // name without code
				"country": mmdbtype.Map{"names": names("en", "Nowhere")},
			},
			"10.5.0.0/16": mmdbtype.Map{ // flat name without code
				"country": mmdbtype.String("Atlantis"),
			},
			"10.6.0.0/16": mmdbtype.Map{ // country_code of the wrong type
				"country_code": mmdbtype.Slice{mmdbtype.String("FR")},
			},
		},
	}
}
