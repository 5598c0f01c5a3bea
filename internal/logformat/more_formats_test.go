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

func TestOtherFormats(t *testing.T) {
	tests := []struct {
		name, format, line string
		want               hit.Hit
		reason             string
	}{
		{
			name: "ALB", format: "elb",
			line: `https 2020-01-01T00:55:04.127531Z app/my-alb/abcdef 1.2.3.4:2817 10.0.0.1:80 0.001 0.102 0.000 200 200 225 24950 "GET https://www.example.com:443/path/index.html?a=1 HTTP/1.1" "Mozilla/5.0 (X11)" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:x "Root=1-abc" "www.example.com" "arn:aws:acm:x" 0 2020-01-01T00:55:04.023000Z "forward" "-" "-" "10.1.1.1:80" "200"`,
			want: hit.Hit{Time: time.Date(2020, 1, 1, 0, 55, 4, 127531000, time.UTC), Method: "GET", Scheme: "https", Host: "www.example.com", Path: "/path/index.html", Query: "a=1", Status: 200, Bytes: 24950, Duration: 103 * time.Millisecond, TTFB: -1, UserAgent: "Mozilla/5.0 (X11)", ClientIP: "1.2.3.4", HTTPVersion: "HTTP/1.1"},
		},
		{
			name: "classic ELB", format: "elb",
			line: `2015-05-13T23:39:43.945958Z my-loadbalancer [2001:db8::1]:2817 10.0.0.1:80 -1 -1 -1 504 0 0 57 "GET http://www.example.com:8080/ HTTP/1.1" "curl/8" - -`,
			want: hit.Hit{Time: time.Date(2015, 5, 13, 23, 39, 43, 945958000, time.UTC), Method: "GET", Scheme: "http", Host: "www.example.com:8080", Path: "/", Status: 504, Bytes: 57, Duration: -1, TTFB: -1, UserAgent: "curl/8", ClientIP: "2001:db8::1", HTTPVersion: "HTTP/1.1"},
		},
		{name: "ELB TCP line", format: "elb", line: `2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.001069 0.000028 0.000041 - - 82 305 "- - - " "-" - -`, reason: ReasonNotHTTP},
		{
			name: "S3 access", format: "s3",
			line: `b659b576cff1e15e4c0313ff8930fba9f53e6794567f5c60dab3abf2f8dfb6cc www.example.com [10/Feb/2012:16:42:07 -0500] 1.2.3.4 arn:aws:iam::1:user/x EB3502676500C6BE WEBSITE.GET.OBJECT index "GET /index?x=1 HTTP/1.1" 200 - 368 368 10 9 "-" "Mozilla/5.0 (X11)"`,
			want: hit.Hit{Time: time.Date(2012, 2, 10, 21, 42, 7, 0, time.UTC), Method: "GET", Host: "www.example.com", Path: "/index", Query: "x=1", Status: 200, Bytes: 368, Duration: 10 * time.Millisecond, TTFB: -1, UserAgent: "Mozilla/5.0 (X11)", ClientIP: "1.2.3.4", User: "arn:aws:iam::1:user/x", HTTPVersion: "HTTP/1.1"},
		},
		{
			name: "Traefik", format: "traefik",
			line: `{"ClientHost":"1.2.3.4","ClientUsername":"-","request_User-Agent":"Prometheus/2.40.5","request_Referer":"www.example.com","DownstreamContentSize":15,"DownstreamStatus":"200","Duration":10002425284,"RequestHost":"localhost:8080","RequestMethod":"GET","RequestPath":"/my/app/auth?id=1234","RequestScheme":"http","StartUTC":"2023-08-11T11:39:21.773360139Z"}`,
			want: hit.Hit{Time: time.Date(2023, 8, 11, 11, 39, 21, 773360139, time.UTC), Method: "GET", Scheme: "http", Host: "localhost", Path: "/my/app/auth", Query: "id=1234", Status: 200, Bytes: 15, Duration: 10002425284, TTFB: -1, UserAgent: "Prometheus/2.40.5", Referrer: "www.example.com", ClientIP: "1.2.3.4"},
		},
		{
			name: "Caddy", format: "caddy",
			line: `{"level":"info","ts":1703373474.5,"logger":"http.log.access","request":{"remote_ip":"1.2.3.4","client_ip":"5.6.7.8","method":"GET","host":"example.com","uri":"/beta/?q","headers":{"User-Agent":["Mozilla/5.0 (X)"],"Referer":["https://r/"]},"tls":{"proto":"h2"}},"status":200,"size":3609,"duration":0.25,"user_id":""}`,
			want: hit.Hit{Time: time.Date(2023, 12, 23, 23, 17, 54, 500000000, time.UTC), Method: "GET", Scheme: "https", Host: "example.com", Path: "/beta/", Query: "q", Status: 200, Bytes: 3609, Duration: 250 * time.Millisecond, TTFB: -1, UserAgent: "Mozilla/5.0 (X)", Referrer: "https://r/", ClientIP: "5.6.7.8"},
		},
		{name: "Caddy without uri", format: "caddy", line: `{"ts":1703373474.5,"request":{"client_ip":"1.2.3.4"}}`, reason: ReasonMissingField},
		{name: "Traefik bad time", format: "traefik", line: `{"ClientHost":"1.2.3.4","RequestPath":"/","StartUTC":"now"}`, reason: ReasonBadDate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, format := range []string{tt.format, "auto"} {
				r, err := New(format, "t")
				if err != nil {
					t.Fatal(err)
				}
				var h hit.Hit
				ok, err := r.Parse([]byte(tt.line), 1, &h)
				var fe *FormatError
				if isFE := errors.As(err, &fe); isFE || format == "auto" && tt.reason != "" && tt.reason != ReasonNotHTTP {
					// A one-line input confirms its format only if the line
					// parses; a line of the format that is not a hit does.
					if fe == nil || format != "auto" || tt.reason == "" || tt.reason == ReasonNotHTTP || fe.Tried != tt.format || fe.Parsed != 0 || fe.Tested != 1 ||
						!errors.As(fe.Err, new(*ParseError)) || fe.Err.(*ParseError).Reason != tt.reason {
						t.Errorf("auto: %v, want a parse error %s", err, tt.reason)
					}
					continue
				}
				if a, isAuto := r.(*Auto); isAuto && a.Format() != tt.format {
					t.Errorf("detected %q, want %q", a.Format(), tt.format)
				}
				if tt.reason != "" {
					var pe *ParseError
					if !errors.As(err, &pe) || pe.Reason != tt.reason {
						t.Errorf("%s: error %v, want %s", format, err, tt.reason)
					}
					continue
				}
				if err != nil || !ok || h != tt.want {
					t.Errorf("%s: %v %v\ngot  %+v\nwant %+v", format, ok, err, h, tt.want)
				}
			}
		})
	}
}

// TestImportLogsFixtures reads the fixtures of Matomo's importer for the
// formats here: every line is a hit, or a line the importer skips too.
func TestImportLogsFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "fixtures", "import_logs")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("shared fixtures not present")
	}
	for file, want := range map[string]struct {
		format     string
		hits, errs int
	}{
		"alb.log": {"elb", 1, 0}, "elb.log": {"elb", 1, 1}, "s3.log": {"s3", 1, 0},
		"traefik_json.log": {"traefik", 1, 0}, "caddy_json.log": {"caddy", 3, 0},
		"nginx_json.log": {"nginx_json", 2, 0}, "common.log": {"combined", 1, 0},
		"amazon_cloudfront_web.log": {"cloudfront", 1, 0},
	} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		a := &Auto{Source: file}
		hits, errs := 0, 0
		for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			var h hit.Hit
			ok, err := a.Parse([]byte(line), int64(i+1), &h)
			if err != nil {
				errs++
			} else if ok {
				hits++
			}
		}
		if a.Format() != want.format || hits != want.hits || errs != want.errs {
			t.Errorf("%s: %s, %d hits, %d errors; want %s, %d, %d", file, a.Format(), hits, errs, want.format, want.hits, want.errs)
		}
	}
}

func fuzzReader(f *testing.F, newReader func() Reader, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newReader()
		for i, line := range strings.Split(string(data), "\n") {
			var h hit.Hit
			ok, err := r.Parse([]byte(line), int64(i+1), &h)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || ok || pe.Line != int64(i+1) {
					t.Fatalf("bad error %v", err)
				}
			}
			if ok && (h.Time.IsZero() || h.Path == "") {
				t.Fatalf("incomplete hit %+v", h)
			}
		}
	})
}

func FuzzELB(f *testing.F) {
	fuzzReader(f, func() Reader { return NewELB("f") },
		`https 2020-01-01T00:55:04.127531Z app/x 1.2.3.4:2817 10.0.0.1:80 0.001 0.102 0.000 200 200 225 24950 "GET https://www.example.com:443/p?q HTTP/1.1" "ua"`)
}

func FuzzS3Access(f *testing.F) {
	fuzzReader(f, func() Reader { return NewS3Access("f") },
		`b659b576cff1e15e4c0313ff8930fba9f53e6794567f5c60dab3abf2f8dfb6cc b [10/Feb/2012:16:42:07 -0500] 1.2.3.4 r i OP k "GET /i HTTP/1.1" 200 - 368 368 10 9 "-" "ua"`)
}

func FuzzTraefik(f *testing.F) {
	fuzzReader(f, func() Reader { return NewTraefik("f") },
		`{"ClientHost":"1.2.3.4","RequestPath":"/a?b","StartUTC":"2023-08-11T11:39:21Z","DownstreamStatus":"200","Duration":5}`)
}

func FuzzCaddy(f *testing.F) {
	fuzzReader(f, func() Reader { return NewCaddy("f") },
		`{"ts":1703373474.5,"request":{"client_ip":"1.2.3.4","method":"GET","uri":"/x","tls":{}},"status":200,"size":1,"duration":0.1}`)
}

// TestW3CTimeTaken: seconds as the W3C draft says, milliseconds in IIS's
// logs and when asked.
func TestW3CTimeTaken(t *testing.T) {
	const fields = "#Fields: date time cs-uri-stem time-taken"
	for _, tt := range []struct {
		name    string
		headers []string
		ms      bool
		value   string
		want    time.Duration
	}{
		{"plain W3C: seconds", []string{fields}, false, "2", 2 * time.Second},
		{"plain W3C: fractions of seconds", []string{fields}, false, "0.125", 125 * time.Millisecond},
		{"IIS by #Software", []string{"#Software: Microsoft Internet Information Services 10.0", fields}, false, "2", 2 * time.Millisecond},
		{"IIS by sc-win32-status", []string{"#Fields: date time cs-uri-stem sc-win32-status time-taken"}, false, "0 2", 2 * time.Millisecond},
		{"asked for milliseconds", []string{fields}, true, "2", 2 * time.Millisecond},
		{"TimeTakenMS", []string{"#Fields: date time cs-uri-stem TimeTakenMS"}, false, "2", 2 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader("w3c", "t", ReaderOptions{W3CTimeTakenMS: tt.ms})
			if err != nil {
				t.Fatal(err)
			}
			for i, hl := range tt.headers {
				r.Parse([]byte(hl), int64(i+1), nil)
			}
			var h hit.Hit
			if ok, err := r.Parse([]byte("2026-11-01 10:00:00 /x "+tt.value), 9, &h); !ok || err != nil {
				t.Fatal(ok, err)
			}
			if h.Duration != tt.want {
				t.Fatalf("duration %v, want %v", h.Duration, tt.want)
			}
		})
	}
}

func TestW3C(t *testing.T) {
	text := "#Software: Microsoft Internet Information Services 6.0\n#Version: 1.0\n" +
		"#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) cs-host sc-status sc-bytes time-taken\n" +
		`2012-04-01 00:00:13 5.6.7.8 GET /foo/bar a=1 80 theuser 1.2.3.4 Mozilla/5.0+(X11;+Linux) http://r/ example.com:8080 200 27028 1687` + "\n" +
		`2012-04-01 00:00:14 5.6.7.8 GET /x - 80 - 1.2.3.4 - - - 404 - -` + "\n" +
		`2012-04-01 00:00:14 5.6.7.8 GET /short` + "\n"
	a := &Auto{Source: "iis"}
	var hits []hit.Hit
	var errs []string
	for i, line := range strings.Split(strings.TrimSpace(text), "\n") {
		var h hit.Hit
		ok, err := a.Parse([]byte(line), int64(i+1), &h)
		if err != nil {
			errs = append(errs, err.(*ParseError).Reason)
		} else if ok {
			hits = append(hits, h)
		}
	}
	want := hit.Hit{Time: time.Date(2012, 4, 1, 0, 0, 13, 0, time.UTC), Method: "GET", Host: "example.com", Path: "/foo/bar", Query: "a=1", Status: 200, Bytes: 27028, Duration: 1687 * time.Millisecond, TTFB: -1, UserAgent: "Mozilla/5.0 (X11; Linux)", Referrer: "http://r/", ClientIP: "1.2.3.4", User: "theuser"}
	if a.Format() != "w3c" || len(hits) != 2 || hits[0] != want || hits[1].Status != 404 || hits[1].Bytes != -1 || strings.Join(errs, ",") != ReasonFieldCount {
		t.Fatalf("format %s, hits %+v, errors %v", a.Format(), hits, errs)
	}
	dir := filepath.Join("..", "..", "..", "shared", "fixtures", "import_logs")
	for file, n := range map[string]int{"iis.log": 1, "iis_custom.log": 3, "netscaler.log": 1} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			continue
		}
		a := &Auto{Source: file}
		got := 0
		for i, line := range strings.Split(string(data), "\n") {
			var h hit.Hit
			if ok, err := a.Parse([]byte(line), int64(i+1), &h); err != nil {
				t.Errorf("%s:%d: %v", file, i+1, err)
			} else if ok {
				got++
			}
		}
		if a.Format() != "w3c" || got != n {
			t.Errorf("%s: %s with %d hits, want w3c with %d", file, a.Format(), got, n)
		}
	}
}

func FuzzW3C(f *testing.F) {
	fuzzReader(f, func() Reader { return NewW3C("f") },
		"#Fields: date time cs-method cs-uri-stem sc-status time-taken cs(User-Agent)\n2012-04-01 00:00:13 GET /a 200 5 Mozilla/5.0+(X)\n2012-04-01 00:00:13.5 GET \"/b c\" - - -")
}

func TestCloudFrontRealtime(t *testing.T) {
	r, err := NewCloudFrontRealtime("rt", []string{"cs-uri-stem", "timestamp", "c-ip", "sc-status", "cs-host", "cs-user-agent", "x-host-header"})
	if err != nil {
		t.Fatal(err)
	}
	// Fields come in the global order whatever the configured order.
	line := "1600299221.087\t174.204.64.230\t200\twww.example.com\t/a/b?x=1\td3gpvymg9z2unc.cloudfront.net\tMozilla/5.0%20(iPhone)"
	var h hit.Hit
	if ok, err := r.Parse([]byte(line), 1, &h); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if h.Host != "www.example.com" || h.Path != "/a/b" || h.Query != "x=1" || h.UserAgent != "Mozilla/5.0 (iPhone)" || h.Status != 200 ||
		!h.Time.Equal(time.UnixMilli(1600299221087)) || !h.LogEscaped {
		t.Errorf("got %+v", h)
	}
	if _, err := NewCloudFrontRealtime("rt", []string{"nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown field: %v", err)
	}
	dir := filepath.Join("..", "..", "..", "shared", "samples")
	for _, f := range []string{"shashoul__Getting-Started-Terraform__pipeline3.tf_realtime_2020-09-16_allfields_a.log", "shashoul__Getting-Started-Terraform__pipeline3.tf_realtime_2020-09-13_allfields_b.log"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		r, _ := NewCloudFrontRealtime(f, launchFields)
		var h hit.Hit
		ok, err := r.Parse([]byte(strings.TrimSpace(string(data))), 1, &h)
		if !ok || err != nil || h.Host == "" || strings.HasSuffix(h.Host, "cloudfront.net") || h.Status < 100 || !strings.HasPrefix(h.UserAgent, "Mozilla/5.0 (") {
			t.Errorf("%s: %v %v %+v", f, ok, err, h)
		}
	}
}

// FuzzCloudFrontRealtime: a real-time reader of any subset of
// RealtimeFields (a bit mask over them; none: each record is read with the
// known configuration of its field count) reads any lines, and the record
// of its fields in the global order, without panicking: every line is a
// hit with a time and a path, a non-hit, or a *ParseError with its line.
func FuzzCloudFrontRealtime(f *testing.F) {
	for _, s := range []string{
		"1600299221.087\t174.204.64.230\t0.000\t304\t322\tGET\thttps\tpreview.dashcon.io\t/x?y\t637",
		rtRecord(launchFields, nil),
		rtRecord(RealtimeFields, nil) + "\n" + rtRecord(RealtimeConfigs[2].Fields, map[string]string{"cs-uri-stem": "?q", "timestamp": "1e300"}),
		rtRecord(RealtimeConfigs[1].Fields, map[string]string{"cs-uri-stem": "-", "cs-uri-query": "-"}),
		strings.ReplaceAll(rtRecord(launchFields, nil), "\t", " "),
		"#Fields: timestamp c-ip cs-user-agent cs-uri-query\n1600299221.087\t1.2.3.4\tua\te=pv\n1600299221.087\t1.2.3.4\tua",
		"#Fields: timestamp sc-status\n1600299221.087\t200\n#Fields: date time cs-uri-stem\n2026-01-01\t00:00:00\t/a",
	} {
		f.Add(uint64(0), uint8(0), []byte(s))
	}
	f.Add(uint64(1)|1<<1|1<<17|1<<20, uint8(0), []byte("1600299221.087\t1.2.3.4\tMozilla/5.0\te=pv"))
	f.Add(^uint64(0), uint8(31), []byte(rtRecord(RealtimeFields, nil)))
	f.Add(uint64(1)|1<<9, uint8(0), []byte("1600299221.087\t?\n1600299221.087\t-\n#Fields: cs-host\nx"))
	f.Fuzz(func(t *testing.T, mask uint64, more uint8, data []byte) {
		var fields []string
		for i, name := range RealtimeFields {
			if i < 64 && mask&(1<<i) != 0 || i >= 64 && more&(1<<(i-64)) != 0 {
				fields = append(fields, name)
			}
		}
		for _, text := range []string{string(data), rtRecord(fields, nil)} {
			r, err := NewCloudFrontRealtime("f", fields)
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(text, "\n") {
				var h hit.Hit
				ok, err := r.Parse([]byte(line), int64(i+1), &h)
				var pe *ParseError
				if err != nil && (!errors.As(err, &pe) || ok || pe.Line != int64(i+1) || pe.Reason == "") {
					t.Fatalf("bad error %v", err)
				}
				if ok && (h.Time.IsZero() || h.Path == "") {
					t.Fatalf("incomplete hit %+v", h)
				}
			}
		}
	})
}

func TestCustom(t *testing.T) {
	tests := []struct {
		name, format, line string
		want               hit.Hit
		reason             string
	}{
		{
			name:   "nginx combined plus request time and host",
			format: `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $host`,
			line:   `192.0.2.1 - bob [10/Nov/2026:16:42:07 +0100] "GET /a?b=c HTTP/2.0" 200 512 "https://r/" "Mozilla/5.0 (X \x22q\x22)" 0.012 www.example.com`,
			want:   hit.Hit{Time: time.Date(2026, 11, 10, 15, 42, 7, 0, time.UTC), Method: "GET", Host: "www.example.com", Path: "/a", Query: "b=c", Status: 200, Bytes: 512, Duration: 12 * time.Millisecond, TTFB: -1, UserAgent: `Mozilla/5.0 (X "q")`, Referrer: "https://r/", ClientIP: "192.0.2.1", User: "bob", HTTPVersion: "HTTP/2.0"},
		},
		{
			name:   "Apache with %D and %v",
			format: `%v %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D`,
			line:   `www.example.com 192.0.2.1 - - [10/Nov/2026:16:42:07 -0000] "POST /form HTTP/1.1" 302 - "-" "curl/8" 1500`,
			want:   hit.Hit{Time: time.Date(2026, 11, 10, 16, 42, 7, 0, time.UTC), Method: "POST", Host: "www.example.com", Path: "/form", Status: 302, Bytes: 0, Duration: 1500 * time.Microsecond, TTFB: -1, UserAgent: "curl/8", ClientIP: "192.0.2.1", HTTPVersion: "HTTP/1.1"},
		},
		{
			name:   "ISO time, method and URI apart, unknown fields",
			format: `$time_iso8601|$remote_addr|$request_method|$request_uri|$status|$upstream_addr|$http_user_agent`,
			line:   `2026-11-10T16:42:07+01:00|2001:db8::1|GET|/x?y=1|404|10.0.0.1:80|Go-http-client/1.1`,
			want:   hit.Hit{Time: time.Date(2026, 11, 10, 15, 42, 7, 0, time.UTC), Method: "GET", Path: "/x", Query: "y=1", Status: 404, Bytes: -1, Duration: -1, TTFB: -1, UserAgent: "Go-http-client/1.1", ClientIP: "2001:db8::1"},
		},
		{name: "line of another shape", format: `$remote_addr [$time_local] "$request"`, line: `192.0.2.1 10/Nov/2026`, reason: ReasonBadFormat},
		{name: "bad request", format: `$remote_addr [$time_local] "$request"`, line: `192.0.2.1 [10/Nov/2026:16:42:07 +0100] "-"`, reason: ReasonBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader("auto", "c", ReaderOptions{LogFormat: tt.format})
			if err != nil {
				t.Fatal(err)
			}
			var h hit.Hit
			ok, err := r.Parse([]byte(tt.line), 1, &h)
			if tt.reason != "" {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Reason != tt.reason {
					t.Fatalf("error %v, want %s", err, tt.reason)
				}
				return
			}
			if !ok || err != nil || h != tt.want {
				t.Fatalf("%v %v\ngot  %+v\nwant %+v", ok, err, h, tt.want)
			}
		})
	}
	for _, bad := range []string{`$remote_addr $status`, `$remote_addr$remote_user [$time_local] "$request"`, `%h %{Referer`} {
		if _, err := NewCustom("c", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzCustom(f *testing.F) {
	fuzzReader(f, func() Reader {
		r, _ := NewCustom("f", `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time`)
		return r
	}, `192.0.2.1 - - [10/Nov/2026:16:42:07 +0100] "GET /a HTTP/1.1" 200 5 "-" "ua" 0.1`)
}

// FuzzAuto: whatever the first lines, Auto.Detect picks a reader or
// refuses the input with a *FormatError, never anything else, and never
// panics; once it picked one, every line is a hit, a non-hit or a
// *ParseError. Parse alone (without Detect) behaves the same.
func FuzzAuto(f *testing.F) {
	for _, s := range []string{
		`192.0.2.1 - - [10/Nov/2026:16:42:07 +0100] "GET /a HTTP/1.1" 200 5 "-" "ua"`,
		`{"ip": "1.2.3.4","host": "h","path": "/","status": "200","date": "2013-10-10T16:52:00+02:00"}`,
		"#Version: 1.0\n#Fields: date time cs-uri-stem\n2026-11-01 10:00:00 /x",
		`{"unknown": 1}`, "hello world", "a\tb\nc\td", "\x00\x01\x02\n\x7f",
		"garbage\n" + `192.0.2.1 - - [10/Nov/2026:16:42:07 +0100] "GET /a HTTP/1.1" 200 5`,
		rtRecord(launchFields, nil) + "\n" + rtRecord(RealtimeFields, nil),
		"1600299221.087\t1.2.3.4\tMozilla/5.0\te=pv",
		"#Version: 1.0\n#Fields: " + strings.Join(launchFields, " ") + "\n" + rtRecord(launchFields, nil),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		SniffBinary(data)
		lines := strings.Split(string(data), "\n")
		var sample []SampleLine
		for i, data := 0, 0; i < len(lines) && data < SampleLines; i++ {
			sample = append(sample, SampleLine{Line: int64(i + 1), Text: []byte(lines[i])})
			if IsDataLine([]byte(lines[i])) {
				data++
			}
		}
		a := &Auto{Source: "f"}
		if fe := a.Detect(sample); fe != nil {
			if fe.Binary || fe.Line < 1 || int(fe.Line) > len(sample) || !IsDataLine(sample[fe.Line-1].Text) {
				t.Fatalf("bad format error %+v", fe)
			}
			if fe.Tried != "" && (Accept(fe.Parsed, fe.Tested) || fe.Err == nil || fe.Tested < 1 || fe.Tested > SampleLines) {
				t.Fatalf("refused though %d of %d parse", fe.Parsed, fe.Tested)
			}
			if a.Format() != "" {
				t.Fatalf("refused, but format %s", a.Format())
			}
			return // the input is not read
		}
		checkLines(t, a, lines, true)
		checkLines(t, &Auto{Source: "f"}, lines, false)
	})
}

// checkLines gives lines to an Auto and checks each result; a refusal
// (without Detect, or with a Detect that saw no data line) stops.
func checkLines(t *testing.T, a *Auto, lines []string, detected bool) {
	for i, line := range lines {
		var h hit.Hit
		ok, err := a.Parse([]byte(line), int64(i+1), &h)
		var fe *FormatError
		if errors.As(err, &fe) {
			if ok || fe.Line != int64(i+1) || detected && a.Format() != "" {
				t.Fatalf("bad format error %v", err)
			}
			return
		}
		var pe *ParseError
		if err != nil && (!errors.As(err, &pe) || ok || pe.Line != int64(i+1)) {
			t.Fatalf("bad error %v", err)
		}
		if ok && (h.Time.IsZero() || h.Path == "" || a.Format() == "") {
			t.Fatalf("incomplete hit %+v", h)
		}
	}
}

// FuzzCustomFormat: any format string is compiled or refused, and a
// compiled one reads any line without panicking.
func FuzzCustomFormat(f *testing.F) {
	f.Add(`$remote_addr [$time_local] "$request" $status`, `1.2.3.4 [10/Nov/2026:16:42:07 +0100] "GET / HTTP/1.1" 200`)
	f.Add(`%h %t "%r" %>s %{User-Agent}i`, `1.2.3.4 [10/Nov/2026:16:42:07 +0100] "GET / HTTP/1.1" 200 x`)
	f.Add(`$msec|$request_uri`, `1762789327.5|/a?b`)
	f.Fuzz(func(t *testing.T, format, line string) {
		r, err := NewCustom("f", format)
		if err != nil {
			return
		}
		var h hit.Hit
		ok, err := r.Parse([]byte(line), 1, &h)
		var pe *ParseError
		if err != nil && (!errors.As(err, &pe) || ok) {
			t.Fatalf("bad error %v", err)
		}
		if ok && (h.Time.IsZero() || h.Path == "") {
			t.Fatalf("incomplete hit %+v", h)
		}
	})
}
