package logformat

import (
	"strings"
	"testing"

	"github.com/trackless/trackless/internal/hit"
)

// TestNoUserAgentField: each reader tells a format without a user-agent
// field (NoUserAgentField) from an empty user agent in a format that has
// one. The last line of each case is the hit looked at.
func TestNoUserAgentField(t *testing.T) {
	custom := func(format string) func() Reader {
		return func() Reader {
			r, err := NewCustom("t", format)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	realtime := func(fields ...string) func() Reader {
		return func() Reader {
			r, err := NewCloudFrontRealtime("t", fields)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	combined := func() Reader { return NewCombined("t") }
	w3c := func() Reader { return NewW3C("t") }
	cf := func() Reader { return NewCloudFront("t") }
	const (
		clf      = `1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] "GET / HTTP/1.0" 200 5`
		nginxFmt = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent`
		traefik  = `{"ClientHost":"1.2.3.4","RequestPath":"/","StartUTC":"2023-08-11T11:39:21Z"`
		caddy    = `{"ts":1703373474.5,"request":{"client_ip":"1.2.3.4","uri":"/"`
		elb      = `2015-05-13T23:39:43.945958Z lb 1.2.3.4:2817 10.0.0.1:80 0.1 0.1 0.1 200 200 0 57 "GET http://e.com/ HTTP/1.1"`
	)
	tests := []struct {
		name   string
		reader func() Reader
		lines  string
		noUA   bool
		ua     string
	}{
		{"combined", combined, clf + ` "-" "Firefox"`, false, "Firefox"},
		{"combined, user agent -", combined, clf + ` "-" "-"`, false, ""},
		{"combined, user agent empty", combined, clf + ` "-" ""`, false, ""},
		{"common", combined, clf, true, ""},
		{"common vhost", combined, "www.e.com:443 " + clf, true, ""},
		{"referrer without user agent", combined, clf + ` "http://r/"`, true, ""},
		{"custom nginx with user agent", custom(nginxFmt + ` "$http_user_agent"`), clf + ` "-"`, false, ""},
		{"custom nginx without", custom(nginxFmt), clf, true, ""},
		{"custom Apache with", custom(`%h %l %u %t "%r" %>s %b "%{User-Agent}i"`), clf + ` "Firefox"`, false, "Firefox"},
		{"custom Apache common", custom(`%h %l %u %t "%r" %>s %b`), clf, true, ""},
		{"W3C with cs(User-Agent)", w3c, "#Fields: date time cs-uri-stem cs(User-Agent)\n2012-04-01 00:00:13 /a -", false, ""},
		{"W3C without", w3c, "#Fields: date time cs-uri-stem c-ip\n2012-04-01 00:00:13 /a 1.2.3.4", true, ""},
		{"W3C with a mapped field", func() Reader { return &W3C{Source: "t", FieldMap: map[string]string{"ua": "cs(user-agent)"}} },
			"#Fields: date time cs-uri-stem ua\n2012-04-01 00:00:13 /a X", false, "X"},
		{"W3C header changes", w3c, "#Fields: date time cs-uri-stem cs(User-Agent)\n#Fields: date time cs-uri-stem\n2012-04-01 00:00:13 /a", true, ""},
		{"CloudFront legacy, no header", cf, line33(map[string]string{"cs(User-Agent)": "-"}), false, ""},
		{"CloudFront header with", cf, header33 + line33(nil), false, "Mozilla/5.0 (X11; Linux x86_64)"},
		{"CloudFront v2 fields without", cf, "#Fields: date time cs-uri-stem c-ip\n2025-02-18\t12:00:00\t/p\t1.2.3.4", true, ""},
		{"CloudFront v2 JSON with", cf, `{"date":"2025-03-14","time":"08:15:02","cs-uri-stem":"/x","cs(User-Agent)":"-"}`, false, ""},
		{"CloudFront v2 JSON with null", cf, `{"date":"2025-03-14","time":"08:15:02","cs-uri-stem":"/x","cs(User-Agent)":null}`, false, ""},
		{"CloudFront v2 JSON without", cf, `{"date":"2025-03-14","time":"08:15:02","cs-uri-stem":"/x"}`, true, ""},
		{"real-time with cs-user-agent", realtime("timestamp", "cs-uri-stem", "cs-user-agent"), "1600299221.087\t/a\tX", false, "X"},
		{"real-time without", realtime("timestamp", "cs-uri-stem", "c-ip"), "1600299221.087\t/a\t1.2.3.4", true, ""},
		{"nginx JSON with", func() Reader { return NewNginxJSON("t") }, `{"ip":"1.2.3.4","path":"/","date":"2013-10-10T16:52:00+02:00","user_agent":"X"}`, false, "X"},
		{"nginx JSON empty", func() Reader { return NewNginxJSON("t") }, `{"ip":"1.2.3.4","path":"/","date":"2013-10-10T16:52:00+02:00","user_agent":""}`, false, ""},
		{"nginx JSON without the key", func() Reader { return NewNginxJSON("t") }, `{"ip":"1.2.3.4","path":"/","date":"2013-10-10T16:52:00+02:00"}`, true, ""},
		{"ELB with", func() Reader { return NewELB("t") }, elb + ` "-" - -`, false, ""},
		{"classic ELB of 12 fields", func() Reader { return NewELB("t") }, elb, true, ""},
		{"S3 access", func() Reader { return NewS3Access("t") },
			`b659b576cff1e15e4c0313ff8930fba9f53e6794567f5c60dab3abf2f8dfb6cc b [10/Feb/2012:16:42:07 -0500] 1.2.3.4 r i OP k "GET /i HTTP/1.1" 200 - 368 368 10 9 "-" "-"`, false, ""},
		{"Traefik with", func() Reader { return NewTraefik("t") }, traefik + `,"request_User-Agent":"X"}`, false, "X"},
		{"Traefik, headers dropped", func() Reader { return NewTraefik("t") }, traefik + `}`, true, ""},
		{"Traefik, headers kept, none sent", func() Reader { return NewTraefik("t") }, traefik + `,"request_Accept":"*/*"}`, false, ""},
		{"Traefik, a user agent earlier", func() Reader { return NewTraefik("t") }, traefik + `,"request_User-Agent":"X"}` + "\n" + traefik + `}`, false, ""},
		{"Caddy with", func() Reader { return NewCaddy("t") }, caddy + `,"headers":{"User-Agent":["X"]}}}`, false, "X"},
		{"Caddy, headers without", func() Reader { return NewCaddy("t") }, caddy + `,"headers":{"Accept":["*/*"]}}}`, false, ""},
		{"Caddy, no headers", func() Reader { return NewCaddy("t") }, caddy + `}}`, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.reader()
			var last hit.Hit
			hits := 0
			for i, line := range strings.Split(tt.lines, "\n") {
				var h hit.Hit
				ok, err := r.Parse([]byte(line), int64(i+1), &h)
				if err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				if ok {
					last, hits = h, hits+1
				}
			}
			if hits == 0 {
				t.Fatal("no hit")
			}
			if last.NoUserAgentField != tt.noUA || last.UserAgent != tt.ua {
				t.Errorf("NoUserAgentField %v, user agent %q; want %v, %q", last.NoUserAgentField, last.UserAgent, tt.noUA, tt.ua)
			}
		})
	}
}
