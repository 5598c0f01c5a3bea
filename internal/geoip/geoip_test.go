package geoip_test

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/trackless/trackless/internal/geoip"
	"github.com/trackless/trackless/internal/geoip/geoiptest"
)

func open(t testing.TB, path string) *geoip.DB {
	t.Helper()
	db, err := geoip.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// garbage lists strings that must never resolve to a country.
var garbage = []string{
	"", " ", "-", "not-an-ip", "unknown", "1.2.3.4:80", "81.2.69.142:443",
	"[2a02:ff0::1]", "[2a02:ff0::1]:443", "81.2.69.142, 10.0.0.1", "81.2.69",
	"81.2.69.999", "081.002.069.142", "1.2.3.4/24", "::ffff:", "2a02:ff0::1%",
	"\x00", "81.2.69.142\x00",
}

func TestCountry(t *testing.T) {
	gb := geoip.Country{Code: "GB", Name: "United Kingdom"}
	dbs := map[string]*geoip.DB{
		"maxmind":    open(t, writeDB(t, maxmindSpec())),
		"dbip":       open(t, writeDB(t, dbipSpec())),
		"ipinfo":     open(t, writeDB(t, ipinfoSpec())),
		"ipinfolite": open(t, writeDB(t, ipinfoLiteSpec())),
		"odd":        open(t, writeDB(t, oddSpec())),
	}
	tests := []struct {
		db   string
		ip   string
		want geoip.Country
	}{
		// MaxMind City layout.
		{"maxmind", "81.2.69.142", gb},
		{"maxmind", "81.2.1.1", gb}, // the wider network
		{"maxmind", " 81.2.69.142\t", gb},
		{"maxmind", "::ffff:81.2.69.142", gb},
		{"maxmind", "::FFFF:5102:458e", gb},
		{"maxmind", "2a02:ff0::1", geoip.Country{Code: "DE", Name: "Germany"}},
		{"maxmind", "2A02:FF0:0:0:0:0:0:1", geoip.Country{Code: "DE", Name: "Germany"}},
		{"maxmind", "2a02:ff0::1%eth0", geoip.Country{Code: "DE", Name: "Germany"}},
		{"maxmind", "192.0.2.7", geoip.Country{Code: "US", Name: "United States"}},     // registered_country only
		{"maxmind", "2001:db8:5a7::9", geoip.Country{Code: "NL", Name: "Netherlands"}}, // registered_country only
		{"maxmind", "198.51.100.1", geoip.Country{Code: "JP"}},                         // lower case code, no English name
		{"maxmind", "203.0.113.9", geoip.Country{}},                                    // continent only
		{"maxmind", "8.8.8.8", geoip.Country{}},                                        // not in the database
		{"maxmind", "2001:4860::8888", geoip.Country{}},
		{"maxmind", "fe80::1%eth0", geoip.Country{}},
		{"maxmind", "::", geoip.Country{}},
		{"maxmind", "0.0.0.0", geoip.Country{}},
		{"maxmind", "255.255.255.255", geoip.Country{}},
		// DB-IP layout.
		{"dbip", "1.0.0.1", geoip.Country{Code: "AU", Name: "Australia"}},
		{"dbip", "::ffff:1.0.0.1", geoip.Country{Code: "AU", Name: "Australia"}},
		{"dbip", "2001:200::1", geoip.Country{Code: "JP", Name: "Japan"}},
		{"dbip", "1.0.1.1", geoip.Country{}},
		// IPinfo country_asn layout.
		{"ipinfo", "8.8.8.8", geoip.Country{Code: "US", Name: "United States"}},
		{"ipinfo", "::ffff:8.8.8.8", geoip.Country{Code: "US", Name: "United States"}},
		{"ipinfo", "2a00:1450:4001::200e", geoip.Country{Code: "IE", Name: "Ireland"}},
		{"ipinfo", "8.8.4.4", geoip.Country{}},
		// IPinfo Lite layout and country_code only.
		{"ipinfolite", "9.9.9.9", geoip.Country{Code: "CH", Name: "Switzerland"}},
		{"ipinfolite", "2606:4700::1111", geoip.Country{Code: "US"}},
		// Records of unexpected shapes.
		{"odd", "10.1.0.1", geoip.Country{}},
		{"odd", "10.2.0.1", geoip.Country{Code: "AT"}},
		{"odd", "10.3.0.1", geoip.Country{Code: "BE"}},
		{"odd", "10.4.0.1", geoip.Country{Name: "Nowhere"}},
		{"odd", "10.5.0.1", geoip.Country{Name: "Atlantis"}},
		{"odd", "10.6.0.1", geoip.Country{}},
	}
	for name := range dbs {
		for _, ip := range garbage {
			tests = append(tests, struct {
				db   string
				ip   string
				want geoip.Country
			}{name, ip, geoip.Country{}})
		}
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%q", tt.db, tt.ip), func(t *testing.T) {
			if got := dbs[tt.db].Country(tt.ip); got != tt.want {
				t.Errorf("Country(%q) = %+v, want %+v", tt.ip, got, tt.want)
			}
		})
	}
}

func TestIPv4OnlyDatabase(t *testing.T) {
	spec := dbipSpec()
	spec.ipVersion = 4
	delete(spec.networks, "2001:200::/32")
	db := open(t, writeDB(t, spec))
	au := geoip.Country{Code: "AU", Name: "Australia"}
	for ip, want := range map[string]geoip.Country{
		"1.0.0.1":        au,
		"::ffff:1.0.0.1": au,
		"2001:200::1":    {},
		"::1":            {},
	} {
		if got := db.Country(ip); got != want {
			t.Errorf("Country(%q) = %+v, want %+v", ip, got, want)
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		spec dbSpec
		want string
	}{
		{maxmindSpec(), "GeoLite2-City built 2026-11-01"},
		{dbipSpec(), "DBIP-Country-Lite built 2026-11-01"},
		{ipinfoSpec(), "ipinfo country_asn.mmdb built 2026-11-01"},
	}
	for _, tt := range tests {
		if got := open(t, writeDB(t, tt.spec)).Describe(); got != tt.want {
			t.Errorf("Describe() = %q, want %q", got, tt.want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "access.log")
	if err := os.WriteFile(text, []byte("127.0.0.1 - - [01/Nov/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mmdb")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		contains []string
		is       error
	}{
		{"missing", filepath.Join(dir, "missing.mmdb"), nil, fs.ErrNotExist},
		{"directory", dir, nil, nil},
		{"not mmdb", text, []string{"not a MaxMind DB"}, nil},
		{"empty file", empty, []string{"not a MaxMind DB"}, nil},
		{"ASN database", writeDB(t, asnSpec()), []string{`"GeoLite2-ASN"`, "no country data"}, geoip.ErrNoCountryData},
		{"no records", writeDB(t, dbSpec{databaseType: "Empty-DB"}), []string{`"Empty-DB"`, "no records"}, geoip.ErrNoCountryData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := geoip.Open(tt.path)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded, want an error")
			}
			t.Log(err)
			msg := err.Error()
			if !strings.Contains(msg, tt.path) {
				t.Errorf("error %q does not name the file %q", msg, tt.path)
			}
			if strings.Count(msg, tt.path) > 1 {
				t.Errorf("error %q names the file more than once", msg)
			}
			for _, s := range tt.contains {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not contain %q", msg, s)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", msg, tt.is)
			}
		})
	}
}

func TestClose(t *testing.T) {
	db, err := geoip.Open(writeDB(t, dbipSpec()))
	if err != nil {
		t.Fatal(err)
	}
	if got := db.Country("1.0.0.1"); got.Code != "AU" {
		t.Fatalf("Country before Close = %+v", got)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := db.Country("1.0.0.1"); got != (geoip.Country{}) {
		t.Errorf("Country after Close = %+v, want zero", got)
	}
	var nilDB *geoip.DB
	if got := nilDB.Country("1.0.0.1"); got != (geoip.Country{}) {
		t.Errorf("nil DB Country = %+v, want zero", got)
	}
}

func TestConcurrent(t *testing.T) {
	db := open(t, writeDB(t, maxmindSpec()))
	ips := []string{"81.2.69.142", "2a02:ff0::1", "192.0.2.7", "8.8.8.8", "-"}
	want := make([]geoip.Country, len(ips))
	for i, ip := range ips {
		want[i] = db.Country(ip)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				j := (g + i) % len(ips)
				if got := db.Country(ips[j]); got != want[j] {
					t.Errorf("Country(%q) = %+v, want %+v", ips[j], got, want[j])
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCountryAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	db := open(t, writeDB(t, maxmindSpec()))
	for _, ip := range []string{"81.2.69.142", "2a02:ff0::1", "::ffff:81.2.69.142", "192.0.2.7", "8.8.8.8", "-"} {
		db.Country(ip) // warm the string cache
		if n := testing.AllocsPerRun(100, func() { db.Country(ip) }); n > 0 {
			t.Errorf("Country(%q) allocates %v times, want 0", ip, n)
		}
	}
}

func TestGeoiptestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.mmdb")
	geoiptest.Write(t, path, map[string]geoip.Country{
		"192.0.2.0/24":        {Code: "DE", Name: "Germany"},
		"192.0.2.128/25":      {Code: "FR", Name: "France"}, // overrides the wider network
		"198.51.100.7":        {Code: "JP"},
		"2001:db8::/32":       {Code: "NL", Name: "Netherlands"},
		"::ffff:10.0.0.0/104": {Code: "IT", Name: "Italy"},
	})
	db := open(t, path)
	if got := db.Describe(); got != geoiptest.Description {
		t.Errorf("Describe() = %q, want %q", got, geoiptest.Description)
	}
	for ip, want := range map[string]geoip.Country{
		"192.0.2.1":          {Code: "DE", Name: "Germany"},
		"192.0.2.200":        {Code: "FR", Name: "France"},
		"::ffff:192.0.2.200": {Code: "FR", Name: "France"},
		"198.51.100.7":       {Code: "JP"},
		"198.51.100.8":       {},
		"2001:db8::1":        {Code: "NL", Name: "Netherlands"},
		"10.1.2.3":           {Code: "IT", Name: "Italy"},
		"127.0.0.1":          {},
	} {
		if got := db.Country(ip); got != want {
			t.Errorf("Country(%q) = %+v, want %+v", ip, got, want)
		}
	}
}

func FuzzCountry(f *testing.F) {
	db := open(f, writeDB(f, maxmindSpec()))
	known := map[string]bool{"": true, "GB": true, "DE": true, "US": true, "NL": true, "JP": true}
	for _, s := range garbage {
		f.Add(s)
	}
	for _, s := range []string{"81.2.69.142", "::ffff:81.2.69.142", "2a02:ff0::1%eth0", "192.0.2.7", "2001:db8:5a7::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ip string) {
		got := db.Country(ip)
		if !known[got.Code] {
			t.Errorf("Country(%q) = %+v: unexpected code", ip, got)
		}
		if _, err := netip.ParseAddr(strings.TrimSpace(ip)); err != nil && got != (geoip.Country{}) {
			t.Errorf("Country(%q) = %+v for an unparsable address", ip, got)
		}
	})
}

// benchSpec is a GeoLite2-City-like database with n random IPv4 /24 and
// IPv6 /32 networks over 200 countries, with records as large as real ones.
func benchSpec(n int) (dbSpec, []string, []string) {
	rng := rand.New(rand.NewPCG(1, 2))
	spec := dbSpec{databaseType: "GeoLite2-City", networks: map[string]mmdbtype.DataType{}}
	var v4, v6 []string
	for i := range n {
		code := string([]byte{'A' + byte(i%200/26), 'A' + byte(i%200%26)})
		country := mmdbtype.Map{
			"geoname_id":           mmdbtype.Uint32(1000 + i%200),
			"iso_code":             mmdbtype.String(code),
			"is_in_european_union": mmdbtype.Bool(i%3 == 0),
			"names": names("de", "Land "+code, "en", "Country "+code, "es", "País "+code,
				"fr", "Pays "+code, "ja", "国 "+code, "pt-BR", "País "+code, "ru", "Страна "+code, "zh-CN", "国家 "+code),
		}
		rec := mmdbtype.Map{
			"city":               mmdbtype.Map{"geoname_id": mmdbtype.Uint32(i), "names": names("en", fmt.Sprintf("City %d", i), "de", fmt.Sprintf("Stadt %d", i))},
			"continent":          europe,
			"country":            country,
			"registered_country": country,
			"location": mmdbtype.Map{
				"accuracy_radius": mmdbtype.Uint16(100),
				"latitude":        mmdbtype.Float64(rng.Float64()*180 - 90),
				"longitude":       mmdbtype.Float64(rng.Float64()*360 - 180),
				"time_zone":       mmdbtype.String("Europe/Berlin"),
			},
			"postal":       mmdbtype.Map{"code": mmdbtype.String(fmt.Sprint(rng.IntN(99999)))},
			"subdivisions": mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String("BE"), "names": names("en", "Berlin")}},
		}
		if i%4 == 3 {
			a := netip.AddrFrom16([16]byte{0x2a, byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			spec.networks[netip.PrefixFrom(a, 32).String()] = rec
			v6 = append(v6, netip.AddrFrom16([16]byte{0x2a, a.As16()[1], a.As16()[2], a.As16()[3], 15: byte(rng.IntN(256))}).String())
		} else {
			a := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(222)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			spec.networks[netip.PrefixFrom(a, 24).String()] = rec
			v4 = append(v4, netip.AddrFrom4([4]byte{a.As4()[0], a.As4()[1], a.As4()[2], byte(rng.IntN(256))}).String())
		}
	}
	return spec, v4, v6
}

func BenchmarkCountry(b *testing.B) {
	spec, v4, v6 := benchSpec(20000)
	db := open(b, writeDB(b, spec))
	mapped := make([]string, len(v4))
	for i, ip := range v4 {
		mapped[i] = "::ffff:" + ip
	}
	miss := []string{"127.0.0.1", "::1", "fe80::1", "100.64.0.1"}
	for _, bb := range []struct {
		name string
		ips  []string
	}{
		{"IPv4", v4},
		{"IPv6", v6},
		{"IPv4-mapped", mapped},
		{"miss", miss},
		{"garbage", garbage},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for _, ip := range bb.ips[:min(len(bb.ips), 10)] {
				if bb.name != "miss" && bb.name != "garbage" && db.Country(ip).Code == "" {
					b.Fatalf("Country(%q) is unknown", ip)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				db.Country(bb.ips[i%len(bb.ips)])
				i++
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				db.Country(v4[i%len(v4)])
				i++
			}
		})
	})
}
