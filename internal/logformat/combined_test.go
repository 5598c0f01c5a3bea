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

func parseCombined(t testing.TB, text string) ([]hit.Hit, []*ParseError) {
	r := NewCombined("test.log")
	var hits []hit.Hit
	var errs []*ParseError
	sc := bufio.NewScanner(strings.NewReader(text))
	var n int64
	for sc.Scan() {
		n++
		var h hit.Hit
		ok, err := r.Parse(sc.Bytes(), n, &h)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T", err)
			}
			errs = append(errs, pe)
		} else if ok {
			hits = append(hits, h)
		}
	}
	return hits, errs
}

func TestCombined(t *testing.T) {
	ua := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/535.11 (KHTML, like Gecko) Chrome/17.0.963.56 Safari/535.11"
	tests := []struct {
		name   string
		line   string
		want   hit.Hit
		reason string
	}{
		{
			name: "common",
			line: `1.2.3.4 - theuser [10/Feb/2012:16:42:07 -0500] "GET / HTTP/1.0" 301 368`,
			want: hit.Hit{Time: time.Date(2012, 2, 10, 21, 42, 7, 0, time.UTC), Method: "GET", Path: "/", Status: 301, Bytes: 368, Duration: -1, TTFB: -1, ClientIP: "1.2.3.4", User: "theuser", NoUserAgentField: true, HTTPVersion: "HTTP/1.0"},
		},
		{
			name: "combined with query, referrer and user agent",
			line: `1.2.3.4 - - [10/Feb/2012:16:42:07 +0100] "GET /a%20b?q=x+y HTTP/1.1" 200 - "http://ref.example/?a=1" "` + ua + `"`,
			want: hit.Hit{Time: time.Date(2012, 2, 10, 15, 42, 7, 0, time.UTC), Method: "GET", Path: "/a%20b", Query: "q=x+y", Status: 200, Bytes: 0, Duration: -1, TTFB: -1, ClientIP: "1.2.3.4", Referrer: "http://ref.example/?a=1", UserAgent: ua, HTTPVersion: "HTTP/1.1"},
		},
		{
			name: "vhost with port, IPv6, nginx \\x22 escapes and extra fields",
			line: `www.example.com:443 2001:db8::1 - - [01/Nov/2026:00:00:01 +0000] "GET /x?\x22y\x22 HTTP/2.0" 404 12 "-" "curl/8 \x22q\x22" "extra" 0.004`,
			want: hit.Hit{Time: time.Date(2026, 11, 1, 0, 0, 1, 0, time.UTC), Method: "GET", Host: "www.example.com", Path: "/x", Query: `"y"`, Status: 404, Bytes: 12, Duration: -1, TTFB: -1, ClientIP: "2001:db8::1", UserAgent: `curl/8 "q"`, HTTPVersion: "HTTP/2.0"},
		},
		{
			name: "Apache \\\" escapes",
			line: `1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] "GET /q=\"a\" HTTP/1.1" 200 5 "-" "agent \"x\" \\ y"`,
			want: hit.Hit{Time: time.Date(2012, 2, 10, 21, 42, 7, 0, time.UTC), Method: "GET", Path: `/q="a"`, Status: 200, Bytes: 5, Duration: -1, TTFB: -1, ClientIP: "1.2.3.4", UserAgent: `agent "x" \ y`, HTTPVersion: "HTTP/1.1"},
		},
		{name: "request -", line: `1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] "-" 400 0 "-" "-"`, reason: ReasonBadRequest},
		{name: "binary garbage request", line: "1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] \"\x16\x03\x01\x02\" 400 0 \"-\" \"-\"", reason: ReasonBadRequest},
		{name: "bad time", line: `1.2.3.4 - - [10/Foo/2012:16:42:07 -0500] "GET / HTTP/1.1" 200 1`, reason: ReasonBadDate},
		{name: "no time", line: `1.2.3.4 - - "GET / HTTP/1.1" 200 1`, reason: ReasonBadFormat},
		{name: "bad status", line: `1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] "GET / HTTP/1.1" OK 1`, reason: ReasonBadNumber},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits, errs := parseCombined(t, tt.line)
			if tt.reason != "" {
				if len(errs) != 1 || errs[0].Reason != tt.reason || errs[0].Line != 1 {
					t.Fatalf("errors %v, want %s", errs, tt.reason)
				}
				return
			}
			if len(errs) != 0 || len(hits) != 1 {
				t.Fatalf("errors %v", errs)
			}
			if hits[0] != tt.want {
				t.Errorf("got  %+v\nwant %+v", hits[0], tt.want)
			}
		})
	}
}

// TestCombinedFixtures reads the fixtures of Matomo's importer.
func TestCombinedFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "fixtures", "import_logs")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("shared fixtures not present")
	}
	for file, want := range map[string]struct {
		hits int
		host string
	}{
		"common.log":          {1, ""},
		"common_vhost.log":    {1, "www.example.com"},
		"ncsa_extended.log":   {1, ""},
		"common_complete.log": {1, "www.example.com"},
	} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		hits, errs := parseCombined(t, string(data))
		if len(hits) != want.hits || len(errs) != 0 || hits[0].Host != want.host || hits[0].ClientIP != "1.2.3.4" || hits[0].User != "theuser" {
			t.Errorf("%s: %d hits %+v, errors %v", file, len(hits), hits, errs)
		}
	}
}

func FuzzCombined(f *testing.F) {
	f.Add([]byte(`1.2.3.4 - u [10/Feb/2012:16:42:07 -0500] "GET /a?b HTTP/1.1" 200 5 "r" "ua \"x\" \x41"`))
	f.Add([]byte(`h:1 ::1 - - [01/Nov/2026:00:00:01 +0000] "GET / HTTP/2.0" 200 -`))
	f.Add([]byte(`[ ] "" 0 0`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewCombined("fuzz")
		for i, line := range bytes.Split(data, []byte("\n")) {
			var h hit.Hit
			ok, err := r.Parse(line, int64(i+1), &h)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Line != int64(i+1) || ok {
					t.Fatalf("bad error %v", err)
				}
			}
			if ok && (h.Time.IsZero() || h.Method == "" || h.Path == "") {
				t.Fatalf("incomplete hit %+v", h)
			}
		}
	})
}

func TestAutoDetection(t *testing.T) {
	tests := []struct{ text, format string }{
		{header33 + line33(nil), "cloudfront"},
		{line33(nil), "cloudfront"},
		{`{"date":"2025-03-14","time":"08:15:02","cs-uri-stem":"/x"}`, "cloudfront"},
		{"#Fields: date time cs-method cs-uri-stem\n2025-02-18 12:00:00 GET /path", "cloudfront"},
		{`1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] "GET / HTTP/1.0" 301 368`, "combined"},
		{"\n" + `www.example.com 1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] "GET / HTTP/1.0" 200 1 "-" "x"`, "combined"},
	}
	for _, tt := range tests {
		a := &Auto{Source: "t"}
		var hits int
		for i, line := range strings.Split(tt.text, "\n") {
			var h hit.Hit
			if ok, err := a.Parse([]byte(line), int64(i+1), &h); err != nil {
				t.Errorf("%.40q: %v", tt.text, err)
			} else if ok {
				hits++
			}
		}
		if a.Format() != tt.format || hits != 1 {
			t.Errorf("%.60q: format %q with %d hits, want %q with 1", tt.text, a.Format(), hits, tt.format)
		}
	}
	if _, err := New("nope", "x"); err == nil || !strings.Contains(err.Error(), "cloudfront") {
		t.Errorf("unknown format: %v", err)
	}
}

func TestNginxJSON(t *testing.T) {
	r := NewNginxJSON("n")
	tests := []struct {
		line   string
		want   hit.Hit
		reason string
	}{
		{
			line: `{"ip": "1.2.3.4","host": "www.example.org","path": "/a?b=c","status": "200","referrer": "http://r/","user_agent": "Mozilla/5.0 (X)","length": 192,"generation_time_milli": 0.008,"date": "2013-10-10T16:52:00+02:00"}`,
			want: hit.Hit{Time: time.Date(2013, 10, 10, 14, 52, 0, 0, time.UTC), Method: "GET", Host: "www.example.org", Path: "/a", Query: "b=c", Status: 200, Bytes: 192, Duration: 8 * time.Millisecond, TTFB: -1, UserAgent: "Mozilla/5.0 (X)", Referrer: "http://r/", ClientIP: "1.2.3.4"},
		},
		{
			line: `{"ip":"::1","path":"/x","status":404,"user_agent":"a \x22quoted\x22 \xC3\xA9","date":"2026-11-01T10:00:00.123+00:00","method":"POST","userid":"bob"}`,
			want: hit.Hit{Time: time.Date(2026, 11, 1, 10, 0, 0, 123e6, time.UTC), Method: "POST", Path: "/x", Status: 404, Bytes: -1, Duration: -1, TTFB: -1, UserAgent: `a "quoted" Ã©`, ClientIP: "::1", User: "bob"},
		},
		{line: `{"ip":"1.2.3.4","path":"/x","date":"yesterday"}`, reason: ReasonBadDate},
		{line: `{"ip":"1.2.3.4","date":"2026-11-01T10:00:00Z"}`, reason: ReasonMissingField},
		{line: `{"ip":"1.2.3.4","path":"/x","date":"2026-11-01T10:00:00Z","status":"OK"}`, reason: ReasonBadNumber},
		{line: `{"ip":`, reason: ReasonBadJSON},
	}
	for i, tt := range tests {
		var h hit.Hit
		ok, err := r.Parse([]byte(tt.line), int64(i+1), &h)
		if tt.reason != "" {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Reason != tt.reason {
				t.Errorf("%d: error %v, want %s", i, err, tt.reason)
			}
			continue
		}
		if !ok || err != nil || h != tt.want {
			t.Errorf("%d: %v %v\ngot  %+v\nwant %+v", i, ok, err, h, tt.want)
		}
	}
	dir := filepath.Join("..", "..", "..", "shared", "fixtures", "import_logs")
	if data, err := os.ReadFile(filepath.Join(dir, "nginx_json.log")); err == nil {
		a := &Auto{Source: "f"}
		n := 0
		for i, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			var h hit.Hit
			if ok, err := a.Parse(line, int64(i+1), &h); err != nil || !ok || h.Host != "www.piwik.org" || h.ClientIP != "1.2.3.4" {
				t.Errorf("fixture line %d: %v %v %+v", i+1, ok, err, h)
			}
			n++
		}
		if a.Format() != "nginx_json" || n != 2 {
			t.Errorf("fixture: format %q, %d lines", a.Format(), n)
		}
	}
}

func FuzzNginxJSON(f *testing.F) {
	f.Add([]byte(`{"ip":"::1","path":"/x?y","status":"200","length":"-","generation_time_milli":"0.1","date":"2026-11-01T10:00:00+01:00","user_agent":"\x22"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewNginxJSON("fuzz")
		var h hit.Hit
		ok, err := r.Parse(data, 1, &h)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || ok {
				t.Fatalf("bad error %v", err)
			}
		}
		if ok && (h.Time.IsZero() || h.Path == "") {
			t.Fatalf("incomplete hit %+v", h)
		}
	})
}
