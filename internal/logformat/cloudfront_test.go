package logformat

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/hit"
)

const header33 = "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n"

// line33 is a 33-field line with the given overrides (by field name).
func line33(over map[string]string) string {
	vals := map[string]string{
		"date": "2026-11-01", "time": "10:11:12", "x-edge-location": "FRA56-P3", "sc-bytes": "5230",
		"c-ip": "198.51.100.23", "cs-method": "GET", "cs(Host)": "d2example1abc.cloudfront.net",
		"cs-uri-stem": "/blog/caf%25C3%25A9-guide/", "sc-status": "200", "cs(Referer)": "https://www.google.com/search?q=a%2520b",
		"cs(User-Agent)": "Mozilla/5.0%20(X11;%20Linux%20x86_64)", "cs-uri-query": "utm_source=news&q=a%2520b", "cs(Cookie)": "-",
		"x-edge-result-type": "Hit", "x-edge-request-id": "reqid==", "x-host-header": "www.example.org", "cs-protocol": "https",
		"cs-bytes": "412", "time-taken": "0.082", "x-forwarded-for": "203.0.113.9, 198.51.100.1", "ssl-protocol": "TLSv1.3",
		"ssl-cipher": "TLS_AES_128_GCM_SHA256", "x-edge-response-result-type": "Hit", "cs-protocol-version": "HTTP/2.0",
		"fle-status": "-", "fle-encrypted-fields": "-", "c-port": "53122", "time-to-first-byte": "0.003",
		"x-edge-detailed-result-type": "Hit", "sc-content-type": "text/html;%20charset=utf-8", "sc-content-len": "4871",
		"sc-range-start": "-", "sc-range-end": "-",
	}
	for k, v := range over {
		vals[k] = v
	}
	parts := make([]string, len(LegacyFields))
	for i, f := range LegacyFields {
		parts[i] = vals[f]
	}
	return strings.Join(parts, "\t")
}

type parsed struct {
	hits []hit.Hit
	errs []*ParseError
}

func parseAll(t testing.TB, text string) parsed {
	t.Helper()
	r := NewCloudFront("test.log")
	var p parsed
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 4<<20)
	var n int64
	for sc.Scan() {
		n++
		line := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		var h hit.Hit
		ok, err := r.Parse(line, n, &h)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("line %d: error is %T, want *ParseError", n, err)
			}
			p.errs = append(p.errs, pe)
			continue
		}
		if ok {
			p.hits = append(p.hits, h)
		}
	}
	return p
}

func TestCloudFrontFields(t *testing.T) {
	p := parseAll(t, header33+line33(nil)+"\n")
	if len(p.errs) != 0 || len(p.hits) != 1 {
		t.Fatalf("got %d hits, errors %v", len(p.hits), p.errs)
	}
	h := p.hits[0]
	want := hit.Hit{
		Time: time.Date(2026, 11, 1, 10, 11, 12, 0, time.UTC), Method: "GET", Scheme: "https",
		Host: "www.example.org", Path: "/blog/caf%25C3%25A9-guide/", Query: "utm_source=news&q=a%2520b", LogEscaped: true,
		Status: 200, Bytes: 5230, Duration: 82 * time.Millisecond, TTFB: 3 * time.Millisecond,
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Referrer: "https://www.google.com/search?q=a%20b",
		ClientIP: "198.51.100.23", ForwardedFor: "203.0.113.9, 198.51.100.1", EdgeLocation: "FRA56-P3",
		ResultType: "Hit", DetailedType: "Hit", RequestID: "reqid==", TLSProtocol: "TLSv1.3",
		HTTPVersion: "HTTP/2.0", ContentType: "text/html; charset=utf-8",
	}
	if h != want {
		t.Errorf("got  %+v\nwant %+v", h, want)
	}
}

func TestCloudFrontCases(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		hits    int
		reasons []string
		check   func(t *testing.T, hs []hit.Hit)
	}{
		{
			name: "headerless uses the 33-field legacy order",
			text: line33(nil) + "\n",
			hits: 1,
			check: func(t *testing.T, hs []hit.Hit) {
				if hs[0].Host != "www.example.org" || hs[0].Status != 200 {
					t.Errorf("got %+v", hs[0])
				}
			},
		},
		{
			name: "headerless 24-field line of the 2016 era",
			text: strings.Join(strings.Split(line33(nil), "\t")[:24], "\t") + "\n",
			hits: 1,
		},
		{
			name: "trailing TAB (34 columns) is accepted",
			text: header33 + line33(nil) + "\t\n",
			hits: 1,
		},
		{
			name:    "too few fields, too many fields",
			text:    header33 + strings.Join(strings.Split(line33(nil), "\t")[:31], "\t") + "\n" + line33(nil) + "\tx\ty\n",
			reasons: []string{ReasonFieldCount, ReasonFieldCount},
		},
		{
			name:    "bad date, bad time, bad status, bad bytes, reading goes on",
			text:    header33 + line33(map[string]string{"date": "2026-13-01"}) + "\n" + line33(map[string]string{"date": "0001-01-01"}) + "\n" + line33(map[string]string{"time": "25:00:00"}) + "\n" + line33(map[string]string{"sc-status": "OK"}) + "\n" + line33(map[string]string{"sc-bytes": "-5"}) + "\n" + line33(nil) + "\n",
			hits:    1,
			reasons: []string{ReasonBadDate, ReasonBadDate, ReasonBadDate, ReasonBadNumber, ReasonBadNumber},
		},
		{
			name: "a #Fields line in mid-file applies from there on",
			text: header33 + line33(nil) + "\n#Version: 1.0\n#Fields: date time cs-method x-host-header cs-uri-stem sc-status cs(User-Agent)\n2026-11-02\t01:02:03\tHEAD\tother.example\t/x\t404\tcurl/8\n",
			hits: 2,
			check: func(t *testing.T, hs []hit.Hit) {
				if hs[1].Host != "other.example" || hs[1].Method != "HEAD" || hs[1].Status != 404 || hs[1].Bytes != -1 {
					t.Errorf("second hit %+v", hs[1])
				}
			},
		},
		{
			name: "CRLF line ends",
			text: strings.ReplaceAll(header33+line33(nil)+"\n", "\n", "\r\n"),
			hits: 1,
		},
		{
			name: "space-delimited v2 W3C output and a + in the user agent",
			text: "#Fields: date time cs-method cs-protocol x-host-header cs-uri-stem cs-uri-query sc-status time-taken sc-bytes cs(User-Agent)\n2025-02-18 12:00:00 GET https example.com /path - 200 0.123 512 Bot/1.0%20(+https://example.com/a+b)\n",
			hits: 1,
			check: func(t *testing.T, hs []hit.Hit) {
				if hs[0].UserAgent != "Bot/1.0 (+https://example.com/a+b)" || hs[0].Query != "" {
					t.Errorf("got %+v", hs[0])
				}
			},
		},
		{
			name: "x-forwarded-for with a space stays one field (TAB split)",
			text: header33 + line33(map[string]string{"x-forwarded-for": "81.2.69.142, 216.160.83.56"}) + "\n",
			hits: 1,
			check: func(t *testing.T, hs []hit.Hit) {
				if hs[0].ForwardedFor != "81.2.69.142, 216.160.83.56" {
					t.Errorf("xff %q", hs[0].ForwardedFor)
				}
			},
		},
		{
			name: "host falls back to cs(Host)",
			text: header33 + line33(map[string]string{"x-host-header": "-"}) + "\n",
			hits: 1,
			check: func(t *testing.T, hs []hit.Hit) {
				if hs[0].Host != "d2example1abc.cloudfront.net" {
					t.Errorf("host %q", hs[0].Host)
				}
			},
		},
		{
			name: "user agent double-encoded (2014-2019) and status 000",
			text: header33 + line33(map[string]string{"cs(User-Agent)": "Mozilla/5.0%2520(Windows%2520NT%252010.0)", "sc-status": "000", "sc-bytes": "-", "time-taken": "-"}) + "\n",
			hits: 1,
			check: func(t *testing.T, hs []hit.Hit) {
				h := hs[0]
				if h.UserAgent != "Mozilla/5.0 (Windows NT 10.0)" || h.Status != 0 || h.Bytes != -1 || h.Duration != -1 {
					t.Errorf("got %+v", h)
				}
			},
		},
		{
			name: "JSON lines, every value a string",
			text: `{"date":"2025-03-14","time":"08:15:02","c-ip":"198.51.100.23","cs-method":"GET","x-host-header":"www.example.org","cs-protocol":"https","cs-uri-stem":"/pricing","cs-uri-query":"-","sc-status":"200","sc-bytes":"9120","cs(User-Agent)":"Mozilla/5.0%20(iPhone)","time-taken":"0.021"}` + "\n" +
				`{"timestamp(ms)":"1741940102731","cs-uri-stem":"/a","sc-status":"200"}` + "\n{not json\n",
			hits:    2,
			reasons: []string{ReasonBadJSON},
			check: func(t *testing.T, hs []hit.Hit) {
				if hs[0].UserAgent != "Mozilla/5.0 (iPhone)" || hs[0].Bytes != 9120 || hs[0].Query != "" {
					t.Errorf("got %+v", hs[0])
				}
				if !hs[1].Time.Equal(time.UnixMilli(1741940102731)) {
					t.Errorf("timestamp(ms): %v", hs[1].Time)
				}
			},
		},
		{
			name:    "no cs-uri-stem",
			text:    "#Fields: date time sc-status\n2026-01-01\t00:00:00\t200\n",
			reasons: []string{ReasonMissingField},
		},
		{
			name: "blank lines and comments are not hits",
			text: "\n   \n# a comment\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parseAll(t, tt.text)
			var reasons []string
			for _, e := range p.errs {
				reasons = append(reasons, e.Reason)
				if e.Source != "test.log" || e.Line <= 0 {
					t.Errorf("error without position: %+v", e)
				}
			}
			if len(p.hits) != tt.hits || strings.Join(reasons, ",") != strings.Join(tt.reasons, ",") {
				t.Fatalf("got %d hits and errors %v, want %d hits and %v", len(p.hits), p.errs, tt.hits, tt.reasons)
			}
			if tt.check != nil {
				tt.check(t, p.hits)
			}
		})
	}
}

func TestUnescapeUserAgent(t *testing.T) {
	if got := UnescapeUserAgent("Mozilla/5.0%2520(X11)"); got != "Mozilla/5.0 (X11)" {
		t.Errorf("double-encoded UA: %q", got)
	}
	if got := UnescapeUserAgent("curl/8%2520with%20space"); got != "curl/8%20with space" {
		t.Errorf("UA with a real space must be decoded once: %q", got)
	}
}

// TestSamples reads the real samples of ../shared/samples and checks what
// each must give.
func TestSamples(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "samples")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("shared samples not present")
	}
	tests := []struct {
		file       string
		hits       int
		malformed  int
		firstUA    string
		firstHost  string
		firstQuery string
	}{
		{"awsdocs__amazon-cloudfront-developer-guide__AccessLogs.md_example_33fields_2019-12.log", 6, 0, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.108 Safari/537.36", "d111111abcdef8.cloudfront.net", ""},
		{"Ironholds__webreadr__log.aws", 2, 0, "Mozilla/5.0 (Windows NT 5.1; rv:6.0.2) Gecko/20100101 Firefox/6.0.2", "example.com", ""},
		{"claygregory__node-cloudfront-log-parser__web-1-0-2019-12.txt", 3, 0, "", "", ""},
		{"constructed__edgecases__concatenated_header_midfile.log", 2, 0, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "jsherz.com", ""},
		{"constructed__edgecases__crlf.log", 2, 0, "", "jsherz.com", ""},
		{"constructed__edgecases__odd_fields.log", 7, 1, "", "", ""},
		{"elastic__integrations__test-cloudfront.log", 11, 1, "", "", ""},
		{"shashoul__Getting-Started-Terraform__pipeline3.tf_web_doc_example_spaces_mangled.log", 1, 0, "", "", ""},
		{"shashoul__Getting-Started-Terraform__pipeline3.tf_web_2019-12-17_netsuite_double_encoded.log", 1, 0, "NetSuite/2019.2 (SuiteScript)", "www.farmersbusinessnetwork.com", ""},
		{"java-test__CloudFrontLogParserTest__v2_json_lines.ndjson", 2, 0, "Feedly/1.0", "post-tenebras-lire.net", ""},
		{"matomo-org__matomo-log-analytics__amazon_cloudfront_web.log", 1, 0, "Mozilla/5.0 (Windows; U; Windows NT 6.1; de-DE) AppleWebKit/534.17 (KHTML, like Gecko) Chrome/10.0.649.0 Safari/534.17", "example.com", ""},
		{"snowplow__enrich__CloudfrontLoaderSpec.scala_lines.log", 5, 0, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Skip(err)
			}
			p := parseAll(t, string(data))
			if len(p.hits) != tt.hits || len(p.errs) != tt.malformed {
				t.Fatalf("%d hits, %d malformed %v; want %d, %d", len(p.hits), len(p.errs), p.errs, tt.hits, tt.malformed)
			}
			h := p.hits[0]
			if tt.firstUA != "" && h.UserAgent != tt.firstUA {
				t.Errorf("UA %q, want %q", h.UserAgent, tt.firstUA)
			}
			if tt.firstHost != "" && h.Host != tt.firstHost {
				t.Errorf("host %q, want %q", h.Host, tt.firstHost)
			}
		})
	}
}

// FuzzCloudFront feeds arbitrary lines, headers included, to one reader:
// it must never panic, and every error must be a *ParseError with a line.
func FuzzCloudFront(f *testing.F) {
	f.Add([]byte(header33 + line33(nil)))
	f.Add([]byte(line33(map[string]string{"cs(User-Agent)": "%", "date": "2026-02-30"})))
	f.Add([]byte(`{"date":"2025-03-14","time":"08:15:02","cs-uri-stem":"/x","sc-status":null}`))
	f.Add([]byte("#Fields: timestamp cs-uri-stem\n1e300\t/x\n-1\t/y"))
	f.Add([]byte("#Fields:\n\t\t\t"))
	f.Add([]byte("#Version: 1.0\n#Fields: " + strings.Join(launchFields, " ") + "\n" + rtRecord(launchFields, nil) + "\n" + header33 + line33(nil)))
	f.Add([]byte("#Fields: timestamp cs-host cs-uri-query\n1600299221.087\t-\t-\n1600299221.087\t\t"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewCloudFront("fuzz")
		for i, line := range bytes.Split(data, []byte("\n")) {
			var h hit.Hit
			ok, err := r.Parse(line, int64(i+1), &h)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Line != int64(i+1) || pe.Reason == "" {
					t.Fatalf("bad error %v", err)
				}
				if ok {
					t.Fatal("hit and error")
				}
			}
			if ok && h.Time.IsZero() {
				t.Fatal("hit without time")
			}
		}
	})
}
