// Package geoiptest builds small MaxMind DB files for tests of packages that
// use [geoip]. It is meant for _test.go files only.
package geoiptest

import (
	"bytes"
	"cmp"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/trackless/trackless/internal/geoip"
)

// DatabaseType is the metadata database type of the files Write creates.
const DatabaseType = "GeoLite2-Country"

// BuildEpoch is the metadata build time (Unix seconds) of the files Write
// creates: 2026-01-02 00:00:00 UTC.
const BuildEpoch = 1767312000

// Description is what [geoip.DB.Describe] returns for a file Write created.
const Description = DatabaseType + " built 2026-01-02"

// Write creates a MaxMind DB file at path that maps each network of networks
// to its country, in the GeoLite2-Country layout (country.iso_code and
// country.names.en; empty fields are left out). It calls t.Fatal on error.
//
// A key is a CIDR ("192.0.2.0/24", "2001:db8::/32") or a single address
// ("192.0.2.1"). Reserved and documentation ranges are allowed. Where
// networks overlap, the more specific one wins. IPv4 networks are also
// found through IPv4-mapped IPv6 addresses.
//
// [geoip.Open] rejects a file in which no network has a Code or Name, so
// give at least one.
func Write(t testing.TB, path string, networks map[string]geoip.Country) {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            DatabaseType,
		Description:             map[string]string{"en": "geoiptest database"},
		Languages:               []string{"en"},
		BuildEpoch:              BuildEpoch,
		IncludeReservedNetworks: true,
		RecordSize:              24,
	})
	if err != nil {
		t.Fatalf("geoiptest: %v", err)
	}
	type entry struct {
		prefix  netip.Prefix
		country geoip.Country
	}
	entries := make([]entry, 0, len(networks))
	for key, country := range networks {
		prefix, err := parsePrefix(key)
		if err != nil {
			t.Fatalf("geoiptest: network %q: %v", key, err)
		}
		entries = append(entries, entry{prefix, country})
	}
	// Insert wider networks first so that narrower ones override them; an
	// IPv4 network sits 96 bits deep in the database's IPv6 tree.
	depth := func(p netip.Prefix) int {
		if p.Addr().Is4() {
			return p.Bits() + 96
		}
		return p.Bits()
	}
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(
			cmp.Compare(depth(a.prefix), depth(b.prefix)),
			a.prefix.Addr().Compare(b.prefix.Addr()),
		)
	})
	for _, e := range entries {
		record := mmdbtype.Map{}
		country := mmdbtype.Map{}
		if e.country.Code != "" {
			country["iso_code"] = mmdbtype.String(e.country.Code)
		}
		if e.country.Name != "" {
			country["names"] = mmdbtype.Map{"en": mmdbtype.String(e.country.Name)}
		}
		if len(country) > 0 {
			record["country"] = country
		}
		ipNet := &net.IPNet{
			IP:   net.IP(e.prefix.Addr().AsSlice()),
			Mask: net.CIDRMask(e.prefix.Bits(), e.prefix.Addr().BitLen()),
		}
		if err := w.Insert(ipNet, record); err != nil {
			t.Fatalf("geoiptest: insert %s: %v", e.prefix, err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatalf("geoiptest: %v", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatalf("geoiptest: %v", err)
	}
}

// parsePrefix parses a CIDR or a single address, and returns the masked
// prefix with IPv4-mapped IPv6 addresses turned into IPv4.
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		addr = addr.Unmap()
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	prefix, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if addr := prefix.Addr(); addr.Is4In6() && prefix.Bits() >= 96 {
		prefix = netip.PrefixFrom(addr.Unmap(), prefix.Bits()-96)
	}
	return prefix.Masked(), nil
}
