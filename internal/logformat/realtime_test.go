package logformat

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/hit"
)

// launchFields are the 40 fields of the real-time logs of 2020, in their
// order, as AWS's guide listed them then (and as the #Fields line of
// claygregory__node-cloudfront-log-parser__kinesis-1-0.txt has them).
var launchFields = strings.Fields("timestamp c-ip time-to-first-byte sc-status sc-bytes cs-method cs-protocol " +
	"cs-host cs-uri-stem cs-bytes x-edge-location x-edge-request-id x-host-header time-taken cs-protocol-version " +
	"c-ip-version cs-user-agent cs-referer cs-cookie cs-uri-query x-edge-response-result-type x-forwarded-for " +
	"ssl-protocol ssl-cipher x-edge-result-type fle-encrypted-fields fle-status sc-content-type sc-content-len " +
	"sc-range-start sc-range-end c-port x-edge-detailed-result-type c-country cs-accept-encoding cs-accept " +
	"cache-behavior-path-pattern cs-headers cs-header-names cs-headers-count")

// rtValues are values of every real-time field for rtRecord; a field not
// named here is "-".
var rtValues = map[string]string{
	"timestamp": "1600299221.087", "c-ip": "174.204.64.230", "s-ip": "130.176.1.1", "time-to-first-byte": "0.003",
	"sc-status": "200", "sc-bytes": "9120", "cs-method": "GET", "cs-protocol": "https", "cs-host": "www.example.org",
	"cs-uri-stem": "/pricing?plan=pro%2520plus", "cs-bytes": "412", "x-edge-location": "CDG50-P1",
	"x-edge-request-id": "reqid==", "x-host-header": "d111111abcdef8.cloudfront.net", "time-taken": "0.021",
	"cs-protocol-version": "HTTP/2.0", "c-ip-version": "IPv4", "cs-user-agent": "Mozilla/5.0%20(iPhone)",
	"cs-referer": "https://www.google.com/", "cs-uri-query": "plan=pro%2520plus", "x-edge-result-type": "Hit",
	"x-edge-detailed-result-type": "Hit", "ssl-protocol": "TLSv1.3", "c-port": "53122", "c-country": "FR",
	"sc-content-type": "text/html", "cs-headers-count": "9", "primary-distribution-id": "E1PRIMARY",
	"primary-distribution-dns-name": "d222222abcdef8.cloudfront.net", "origin-fbl": "0.010", "origin-lbl": "0.011",
	"asn": "3215", "cmcd-version": "1", "cmcd-session-id": "6e2fb550", "r-host": "origin.example.org",
	"sr-reason": "-", "distribution-tenant-id": "dt_1", "connection-id": "conn==",
}

// rtRecord is the record of the given fields, in the global order.
func rtRecord(fields []string, over map[string]string) string {
	var vals []string
	for _, f := range RealtimeFields {
		if !slicesContains(fields, f) {
			continue
		}
		v, ok := over[f]
		if !ok {
			v = rtValues[f]
		}
		if v == "" {
			v = "-"
		}
		vals = append(vals, v)
	}
	return strings.Join(vals, "\t")
}

// wantRT is the hit of rtRecord with every mapped field enabled.
var wantRT = hit.Hit{
	Time: time.UnixMilli(1600299221087).UTC(), Method: "GET", Scheme: "https", Host: "www.example.org",
	Path: "/pricing", Query: "plan=pro%2520plus", LogEscaped: true, Status: 200, Bytes: 9120,
	Duration: 21 * time.Millisecond, TTFB: 3 * time.Millisecond, UserAgent: "Mozilla/5.0 (iPhone)",
	Referrer: "https://www.google.com/", ClientIP: "174.204.64.230", EdgeLocation: "CDG50-P1", ResultType: "Hit",
	DetailedType: "Hit", RequestID: "reqid==", TLSProtocol: "TLSv1.3", HTTPVersion: "HTTP/2.0", ContentType: "text/html",
}

func plus(base []string, more ...string) []string {
	return append(append([]string{}, base...), more...)
}

// TestRealtimeFieldsOrder: RealtimeFields is AWS's current list in AWS's
// order, so that enabling any later field (s-ip, primary-distribution-*,
// asn, CMCD, r-host ... connection-id) is accepted and shifts no column.
func TestRealtimeFieldsOrder(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range RealtimeFields {
		if seen[f] {
			t.Errorf("%s twice", f)
		}
		seen[f] = true
	}
	pos := func(f string) int { // 1-based, as AWS numbers them
		for i, x := range RealtimeFields {
			if x == f {
				return i + 1
			}
		}
		return 0
	}
	for f, want := range map[string]int{"timestamp": 1, "s-ip": 3, "cs-headers-count": 41, "primary-distribution-id": 42,
		"origin-fbl": 44, "asn": 46, "cmcd-encoded-bitrate": 47, "cmcd-version": 64, "r-host": 65, "sr-reason": 66,
		"x-edge-mqcs": 67, "distribution-tenant-id": 68, "connection-id": 69} {
		if got := pos(f); got != want {
			t.Errorf("%s at %d, want %d", f, got, want)
		}
	}
	if len(RealtimeFields) != 69 {
		t.Errorf("%d fields, want 69", len(RealtimeFields))
	}

	base := []string{"timestamp", "c-ip", "sc-status", "cs-host", "cs-uri-stem", "cs-user-agent"}
	want := hit.Hit{Time: wantRT.Time, Method: "GET", Host: wantRT.Host, Path: wantRT.Path, Query: "plan=pro%2520plus", LogEscaped: true,
		Status: 200, Bytes: -1, Duration: -1, TTFB: -1, UserAgent: wantRT.UserAgent, ClientIP: wantRT.ClientIP}
	tests := []struct {
		name   string
		fields []string
	}{
		{"the base", base},
		{"s-ip, before time-to-first-byte", plus(base, "s-ip")},
		{"primary-distribution-id and -dns-name", plus(base, "primary-distribution-id", "primary-distribution-dns-name")},
		{"origin-fbl, origin-lbl, asn", plus(base, "origin-fbl", "origin-lbl", "asn")},
		{"CMCD", plus(base, "cmcd-version", "cmcd-session-id", "cmcd-top-bitrate")},
		{"the last five", plus(base, "r-host", "sr-reason", "x-edge-mqcs", "distribution-tenant-id", "connection-id")},
		{"listed in another order, upper case", []string{"CONNECTION-ID", "cs-user-agent", "asn", "cs-uri-stem", "s-ip", "cs-host", "sc-status", "c-ip", "timestamp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewCloudFrontRealtime("rt", tt.fields)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range tt.fields {
				names = append(names, strings.ToLower(f))
			}
			var h hit.Hit
			if ok, err := r.Parse([]byte(rtRecord(names, nil)), 1, &h); !ok || err != nil {
				t.Fatal(ok, err)
			}
			if h != want {
				t.Errorf("\ngot  %+v\nwant %+v", h, want)
			}
		})
	}

	t.Run("all current fields", func(t *testing.T) {
		for _, fields := range [][]string{RealtimeFields, nil} {
			r, err := NewCloudFrontRealtime("rt", fields)
			if err != nil {
				t.Fatal(err)
			}
			var h hit.Hit
			if ok, err := r.Parse([]byte(rtRecord(RealtimeFields, nil)), 1, &h); !ok || err != nil || h != wantRT {
				t.Errorf("fields %d: %v %v\ngot  %+v\nwant %+v", len(fields), ok, err, h, wantRT)
			}
		}
	})
}

// TestRealtimeConfigs: the configurations recognised by field count.
func TestRealtimeConfigs(t *testing.T) {
	counts := map[int]bool{}
	for _, c := range RealtimeConfigs {
		if counts[len(c.Fields)] {
			t.Errorf("two configurations of %d fields", len(c.Fields))
		}
		counts[len(c.Fields)] = true
		for _, f := range c.Fields {
			if !slicesContains(RealtimeFields, f) {
				t.Errorf("%s: unknown field %s", c.Name, f)
			}
		}
	}
	last := RealtimeConfigs[len(RealtimeConfigs)-1].Fields
	if strings.Join(last, " ") != strings.Join(launchFields, " ") {
		t.Errorf("the launch configuration is\n%v, want\n%v", last, launchFields)
	}
	if n := len(RealtimeConfigs[2].Fields); n != 43 || RealtimeConfigs[2].Fields[42] != "asn" {
		t.Errorf("the 2023 configuration: %d fields", n)
	}
}

// TestRealtimeFieldCount: a record of another field count than the
// configuration's is malformed, with a message that says what to do; with
// no fields configured, the count picks a known configuration.
func TestRealtimeFieldCount(t *testing.T) {
	conf43 := RealtimeConfigs[2].Fields
	tests := []struct {
		name    string
		fields  []string // configured; nil: none
		record  string
		want    hit.Hit // when no error
		detail  []string
		without string // not in the detail
	}{
		{name: "40 fields under 43 configured", fields: conf43, record: rtRecord(launchFields, nil),
			detail: []string{"the record has 40 fields, --realtime-fields names 43", "set --realtime-fields to the fields of your real-time log configuration"}, without: "header"},
		{name: "44 fields under 43 configured", fields: conf43, record: rtRecord(plus(conf43, "s-ip"), nil),
			detail: []string{"the record has 44 fields, --realtime-fields names 43"}, without: "header"},
		{name: "a trailing TAB is a field", fields: launchFields, record: rtRecord(launchFields, nil) + "\t",
			detail: []string{"the record has 41 fields, --realtime-fields names 40"}},
		{name: "none configured: 40 fields", record: rtRecord(launchFields, nil), want: launchHit()},
		{name: "none configured: 43 fields", record: rtRecord(conf43, nil), want: launchHit()},
		{name: "none configured: 45 fields", record: rtRecord(RealtimeConfigs[1].Fields, nil), want: launchHit()},
		{name: "none configured: 69 fields", record: rtRecord(RealtimeFields, nil), want: wantRT},
		{name: "none configured: 41 fields", record: rtRecord(plus(launchFields, "asn"), nil),
			detail: []string{"the record has 41 fields", "no --realtime-fields", "69, 45, 43, 40", "set --realtime-fields"}, without: "header"},
		{name: "TABs turned into spaces", fields: launchFields, record: strings.ReplaceAll(rtRecord(launchFields, nil), "\t", " "), want: launchHit()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader("cloudfront-realtime", "rt", ReaderOptions{RealtimeFields: tt.fields})
			if err != nil {
				t.Fatal(err)
			}
			var h hit.Hit
			ok, err := r.Parse([]byte(tt.record), 7, &h)
			if tt.detail == nil {
				if !ok || err != nil || h != tt.want {
					t.Fatalf("%v %v\ngot  %+v\nwant %+v", ok, err, h, tt.want)
				}
				return
			}
			var pe *ParseError
			if ok || !errors.As(err, &pe) || pe.Reason != ReasonFieldCount || pe.Line != 7 {
				t.Fatalf("got %v %v, want a field_count error", ok, err)
			}
			for _, d := range tt.detail {
				if !strings.Contains(pe.Detail, d) {
					t.Errorf("detail %q lacks %q", pe.Detail, d)
				}
			}
			if tt.without != "" && strings.Contains(pe.Detail, tt.without) {
				t.Errorf("detail %q says %q", pe.Detail, tt.without)
			}
		})
	}
}

// launchHit is wantRT as a record of the launch fields gives it (the same:
// none of the later fields has a place in hit.Hit).
func launchHit() hit.Hit { return wantRT }

// TestRealtimePixel: the tracking-pixel configuration (no cs-uri-stem) is
// a hit with only a query, of path "/", like a request line without a
// path, and method GET (no cs-method: Matomo's importer assumes GET, and
// the method allowlist would skip an empty one); a record with neither
// path nor query is malformed.
func TestRealtimePixel(t *testing.T) {
	pixel := []string{"timestamp", "c-ip", "cs-user-agent", "cs-uri-query"}
	tests := []struct {
		name, record string
		fields       []string
		path, query  string
		url          string // h.URL("https", "www.example.org")
		reason       string
	}{
		{name: "pixel with a query", fields: pixel,
			record: "1600299221.087\t174.204.64.230\tMozilla/5.0%20(iPhone)\te=pv&url=https%253A%252F%252Fwww.example.org%252Fa",
			path:   "/", query: "e=pv&url=https%253A%252F%252Fwww.example.org%252Fa",
			url: "https://www.example.org/?e=pv&url=https%3A%2F%2Fwww.example.org%2Fa"},
		{name: "pixel without a query", fields: pixel, record: "1600299221.087\t174.204.64.230\tMozilla/5.0%20(iPhone)\t-",
			path: "/", url: "https://www.example.org/"},
		{name: "a stem that is only a query", fields: []string{"timestamp", "cs-uri-stem"}, record: "1600299221.087\t?a=1",
			path: "/", query: "a=1", url: "https://www.example.org/?a=1"},
		{name: "a stem of -", fields: []string{"timestamp", "cs-uri-stem"}, record: "1600299221.087\t-",
			path: "/", url: "https://www.example.org/"},
		{name: "neither path nor query", fields: []string{"timestamp", "c-ip", "sc-status"}, record: "1600299221.087\t174.204.64.230\t200",
			reason: ReasonMissingField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewCloudFrontRealtime("rt", tt.fields)
			if err != nil {
				t.Fatal(err)
			}
			var h hit.Hit
			ok, err := r.Parse([]byte(tt.record), 1, &h)
			if tt.reason != "" {
				var pe *ParseError
				if ok || !errors.As(err, &pe) || pe.Reason != tt.reason {
					t.Fatalf("got %v %v, want %s", ok, err, tt.reason)
				}
				return
			}
			if !ok || err != nil {
				t.Fatal(ok, err)
			}
			if h.Path != tt.path || h.Query != tt.query || h.Time.IsZero() || h.Method != "GET" {
				t.Errorf("path %q query %q, want %q %q", h.Path, h.Query, tt.path, tt.query)
			}
			if u := h.URL("https", "www.example.org"); u != tt.url {
				t.Errorf("URL %q, want %q", u, tt.url)
			}
		})
	}
}

// TestRealtimeFieldsHeader: a #Fields line with real-time names is read
// with them, whatever the reader (standard, real-time, auto): the query is
// not doubled, the user agent, referrer and host are kept.
func TestRealtimeFieldsHeader(t *testing.T) {
	text := "#Version: 1.0\n#Fields: " + strings.Join(launchFields, " ") + "\n" + rtRecord(launchFields, nil)
	readers := map[string]func() Reader{
		"cloudfront": func() Reader { return NewCloudFront("t") },
		"cloudfront-realtime": func() Reader {
			r, _ := NewCloudFrontRealtime("t", nil)
			return r
		},
		"cloudfront-realtime with other fields": func() Reader {
			r, _ := NewCloudFrontRealtime("t", []string{"timestamp", "cs-uri-stem"})
			return r
		},
		"auto": func() Reader { return &Auto{Source: "t"} },
	}
	for name, newReader := range readers {
		t.Run(name, func(t *testing.T) {
			hs, errs := readAll(newReader(), text)
			if len(errs) != 0 || len(hs) != 1 || hs[0] != wantRT {
				t.Fatalf("%d hits, errors %v\ngot  %+v\nwant %+v", len(hs), errs, hs, wantRT)
			}
		})
	}
	// A standard #Fields line after it is read as standard again.
	hs, errs := readAll(NewCloudFront("t"), text+"\n"+header33+line33(nil))
	if len(errs) != 0 || len(hs) != 2 || hs[1].Host != "www.example.org" || hs[1].Path != "/blog/caf%25C3%25A9-guide/" {
		t.Errorf("%v %+v", errs, hs)
	}
	// A header count mismatch names the #Fields line.
	_, errs = readAll(NewCloudFront("t"), "#Fields: "+strings.Join(launchFields, " ")+"\n"+rtRecord(RealtimeFields, nil))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "the record has 69 fields, the #Fields line names 40") {
		t.Errorf("errors %v", errs)
	}
}

func readAll(r Reader, text string) (hs []hit.Hit, errs []error) {
	for i, l := range strings.Split(text, "\n") {
		var h hit.Hit
		ok, err := r.Parse([]byte(l), int64(i+1), &h)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			hs = append(hs, h)
		}
	}
	return hs, errs
}

// TestDetectRealtime: Auto recognises real-time records by shape (TABs,
// epoch seconds with milliseconds first, no #Fields line) and reads them
// with the configuration of their field count, or with
// ReaderOptions.RealtimeFields; otherwise it refuses the input, saying to
// name the format and the fields.
func TestDetectRealtime(t *testing.T) {
	pixel := "1600299221.087\t174.204.64.230\tMozilla/5.0%20(iPhone)\te=pv"
	tests := []struct {
		name, text string
		fields     []string
		format     string // chosen; "" refused
		hits       int
		tried      string
		msg        []string // in the refusal
	}{
		{name: "40 fields", text: rtRecord(launchFields, nil) + "\n" + rtRecord(launchFields, map[string]string{"sc-status": "404"}), format: "cloudfront-realtime", hits: 2},
		{name: "43 fields", text: rtRecord(RealtimeConfigs[2].Fields, nil), format: "cloudfront-realtime", hits: 1},
		{name: "69 fields", text: rtRecord(RealtimeFields, nil), format: "cloudfront-realtime", hits: 1},
		{name: "after a #Version line", text: "#Version: 1.0\n" + rtRecord(launchFields, nil), format: "cloudfront-realtime", hits: 1},
		{name: "with a real-time #Fields line", text: "#Fields: timestamp cs-host cs-uri-stem cs-user-agent\n1600299221.087\twww.example.org\t/a?b\tX", format: "cloudfront-realtime", hits: 1},
		{name: "the pixel's 4 fields with --realtime-fields", text: pixel, fields: []string{"timestamp", "c-ip", "cs-user-agent", "cs-uri-query"}, format: "cloudfront-realtime", hits: 1},
		{name: "the pixel's 4 fields without", text: pixel, tried: "cloudfront-realtime",
			msg: []string{"look like CloudFront real-time log records", "the record has 4 fields", "--format cloudfront-realtime", "--realtime-fields"}},
		{name: "an unknown field count", text: rtRecord(plus(launchFields, "asn"), nil), tried: "cloudfront-realtime",
			msg: []string{"the record has 41 fields", "--format cloudfront-realtime and --realtime-fields"}},
		{name: "a known count, values that do not fit", text: rtRecord(launchFields, map[string]string{"sc-status": "OK"}), tried: "cloudfront-realtime"},
		{name: "standard logs stay standard", text: header33 + line33(nil), format: "cloudfront", hits: 1},
		{name: "epoch seconds without milliseconds are not a real-time record", text: "1600299221\t/a\t200", tried: "cloudfront"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Auto{Source: "s", Options: ReaderOptions{RealtimeFields: tt.fields}}
			fe := a.Detect(sampleOfText(tt.text))
			if tt.tried != "" {
				if fe == nil || fe.Tried != tt.tried || a.Format() != "" {
					t.Fatalf("got %v, format %q; want a refusal after trying %s", fe, a.Format(), tt.tried)
				}
				for _, m := range tt.msg {
					if !strings.Contains(fe.Error(), m) {
						t.Errorf("%q lacks %q", fe.Error(), m)
					}
				}
				return
			}
			if fe != nil || a.Format() != tt.format {
				t.Fatalf("got %v, format %q, want %s", fe, a.Format(), tt.format)
			}
			hs, errs := readAll(a, tt.text)
			if len(hs) != tt.hits || len(errs) != 0 {
				t.Fatalf("%d hits, errors %v", len(hs), errs)
			}
			if tt.format == "cloudfront-realtime" && (hs[0].Host == "" && tt.fields == nil || hs[0].UserAgent == "") {
				t.Errorf("hit %+v", hs[0])
			}
		})
	}
}

// TestRealtimeFieldsUnknown: an unknown field name is refused, with
// --format cloudfront-realtime and with auto.
func TestRealtimeFieldsUnknown(t *testing.T) {
	for _, format := range []string{"cloudfront-realtime", "auto"} {
		if _, err := NewReader(format, "s", ReaderOptions{RealtimeFields: []string{"timestamp", "nope"}}); err == nil || !strings.Contains(err.Error(), "unknown real-time log field nope") {
			t.Errorf("%s: %v", format, err)
		}
	}
}

// TestRealtimeSamples: the real records of 2020 (40 fields) and the record
// with a #Fields line parse with the right fields, with --format
// cloudfront-realtime (with and without --realtime-fields) and auto.
func TestRealtimeSamples(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "samples")
	type want struct{ host, path, query, ua, referrer string }
	samples := map[string]want{
		"shashoul__Getting-Started-Terraform__pipeline3.tf_realtime_2020-09-16_allfields_a.log": {
			"preview.dashcon.io", "/michaelw/real-time-logs-all_fields/2020/speakers/", "",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 13_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.2 Mobile/15E148 Safari/604.1",
			"https://preview.dashcon.io/michaelw/real-time-logs-all_fields/2020/speakers/alex-landau/"},
		"shashoul__Getting-Started-Terraform__pipeline3.tf_realtime_2020-09-13_allfields_b.log": {
			"preview.dashcon.io", "/michaelw/real-time-logs-all_fields/2020/font/CalibreWeb-Medium.woff2", "",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/85.0.4183.83 Safari/537.36",
			"https://preview.dashcon.io/michaelw/real-time-logs-all_fields/2020/static/style.8fb2b.css"},
		"claygregory__node-cloudfront-log-parser__kinesis-1-0.txt": {
			"test.cloudfront.net", "/i", "stm=1607374321563&e=pp&url=http%253A%252F%252Flocalhost%253A5000%252Fpage-2&refr=",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:83.0) Gecko/20100101 Firefox/83.0", "http://localhost:5000/page-2"},
	}
	for file, w := range samples {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Skip("shared samples not present")
		}
		text := strings.TrimRight(string(data), "\n")
		for _, format := range []string{"auto", "cloudfront-realtime", "launch fields", "cloudfront"} {
			o := ReaderOptions{}
			f := format
			if format == "launch fields" {
				f, o.RealtimeFields = "cloudfront-realtime", launchFields
			}
			if format == "cloudfront" && !strings.Contains(text, "#Fields") {
				continue // standard logs: a header is needed
			}
			r, err := NewReader(f, file, o)
			if err != nil {
				t.Fatal(err)
			}
			if a, ok := r.(*Auto); ok {
				if fe := a.Detect(sampleOfText(text)); fe != nil || a.Format() != "cloudfront-realtime" {
					t.Errorf("%s: auto: %v, format %q", file, fe, a.Format())
					continue
				}
			}
			hs, errs := readAll(r, text)
			if len(errs) != 0 || len(hs) != 1 {
				t.Errorf("%s, %s: %d hits, errors %v", file, format, len(hs), errs)
				continue
			}
			h := hs[0]
			if h.Host != w.host || h.Path != w.path || !strings.HasPrefix(h.Query, w.query) || w.query == "" && h.Query != "" ||
				h.UserAgent != w.ua || h.Referrer != w.referrer || h.Status != 200 && h.Status != 304 || h.Time.Year() != 2020 ||
				strings.Count(h.URL("https", "x"), "stm=") > 1 {
				t.Errorf("%s, %s: got %+v", file, format, h)
			}
		}
	}
}
