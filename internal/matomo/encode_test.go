package matomo

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/hit"
)

func TestEncoderParameters(t *testing.T) {
	h := hit.Hit{
		Time: time.Date(2026, 11, 1, 9, 5, 7, 0, time.UTC), Method: "GET",
		UserAgent: "Mozilla/5.0 (compatible; ChatGPT-User/1.0; +https://openai.com/bot)",
		Status:    200, Bytes: 5230, Duration: 82500 * time.Microsecond, ClientIP: "198.51.100.23",
	}
	e := Encoder{SiteID: 7, RecMode: 1, Source: "CloudFront"}
	page := "https://www.example.org/docs/a b.pdf?x=1&y=%20"
	item := string(e.Append(nil, &h, page, true))
	if !strings.HasPrefix(item, "?") {
		t.Fatalf("item must start with '?': %s", item)
	}
	var keys []string
	for _, kv := range strings.Split(item[1:], "&") {
		keys = append(keys, strings.SplitN(kv, "=", 2)[0])
	}
	if got, want := strings.Join(keys, ","), "idsite,rec,recMode,url,source,cip,cdt,ua,http_status,bw_bytes,pf_srv,download"; got != want {
		t.Errorf("parameter order %s, want %s", got, want)
	}
	q, err := url.ParseQuery(item[1:])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"idsite": "7", "rec": "1", "recMode": "1", "url": page, "source": "CloudFront", "cip": "198.51.100.23", "cdt": "2026-11-01 09:05:07",
		"ua": h.UserAgent, "http_status": "200", "bw_bytes": "5230", "pf_srv": "83", "download": page,
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	// Values not in the log are left out; no download for a page.
	h2 := hit.Hit{Time: h.Time, Status: -1, Bytes: -1, Duration: -1}
	item = string(e.Append(nil, &h2, "https://e.com/", false))
	for _, k := range []string{"ua=", "http_status=", "bw_bytes=", "pf_srv=", "download="} {
		if strings.Contains(item, k) {
			t.Errorf("%s in %s", k, item)
		}
	}
	if q, _ := url.ParseQuery(item[1:]); q.Get("http_status") != "" {
		t.Error("status")
	}
	h2.Status = 0 // "000": the viewer went away
	if item = string(e.Append(nil, &h2, "https://e.com/", false)); !strings.Contains(item, "&http_status=0") {
		t.Errorf("status 000 must be sent as 0: %s", item)
	}
}

// TestCipAndPfSrv: the visitor's IP goes with every mode (without it, Matomo
// stores rec mode 2's visitors under the sender's IP), unless NoIP (no
// token); pf_srv only when the log says more than 0 ms, as Matomo's importer.
func TestCipAndPfSrv(t *testing.T) {
	h := hit.Hit{Time: time.Date(2026, 11, 1, 9, 5, 7, 0, time.UTC), UserAgent: "Mozilla/5.0", ClientIP: "2001:db8::1", Status: 200, Bytes: 10}
	for _, tt := range []struct {
		name     string
		e        Encoder
		duration time.Duration
		cip      string
		pfSrv    string
	}{
		{"rec mode 2", Encoder{SiteID: 1, RecMode: 2}, 0, "2001:db8::1", ""},
		{"rec mode 1, no token", Encoder{SiteID: 1, RecMode: 1, NoIP: true}, 3 * time.Millisecond, "", "3"},
		{"rec mode 1, anonymized", Encoder{SiteID: 1, RecMode: 1, AnonymizeIP: 1}, 400 * time.Microsecond, "2001:db8::", ""},
		{"visits, 0 ms", Encoder{SiteID: 1, Visits: true}, 0, "2001:db8::1", ""},
		{"visits, under 1 ms", Encoder{SiteID: 1, Visits: true}, 400 * time.Microsecond, "2001:db8::1", "0"},
		{"visits, 7.9 ms", Encoder{SiteID: 1, Visits: true}, 7900 * time.Microsecond, "2001:db8::1", "7"},
	} {
		h.Duration = tt.duration
		q, err := url.ParseQuery(string(tt.e.Append(nil, &h, "https://e.com/", false))[1:])
		if err != nil {
			t.Fatal(err)
		}
		if q.Get("cip") != tt.cip || q.Get("pf_srv") != tt.pfSrv || q.Has("pf_srv") != (tt.pfSrv != "") {
			t.Errorf("%s: cip %q pf_srv %q, want %q %q", tt.name, q.Get("cip"), q.Get("pf_srv"), tt.cip, tt.pfSrv)
		}
	}
}

func TestAppendQueryEscapeMatchesNetURL(t *testing.T) {
	for _, s := range []string{"", "a b+c&d=e/f?g#h%i", "日本\x00\xff~._-", "Mozilla/5.0 (X11; Linux)"} {
		if got, want := string(AppendQueryEscape(nil, s)), url.QueryEscape(s); got != want {
			t.Errorf("%q: %q, want %q", s, got, want)
		}
	}
}

func FuzzAppendQueryEscape(f *testing.F) {
	for _, s := range []string{"", "a b+c&d=e/f?g#h%i", "日本\x00\xff~._-", "Mozilla/5.0 (X11; Linux)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(AppendQueryEscape([]byte("x"), s)), "x"+url.QueryEscape(s); got != want {
			t.Fatalf("%q: %q, want %q", s, got, want)
		}
	})
}

func TestEndpoint(t *testing.T) {
	tests := []struct{ in, ep, base string }{
		{"https://analytics.example.com", "https://analytics.example.com/matomo.php", "https://analytics.example.com"},
		{"https://analytics.example.com/", "https://analytics.example.com/matomo.php", "https://analytics.example.com"},
		{"https://example.com/matomo/", "https://example.com/matomo/matomo.php", "https://example.com/matomo"},
		{"https://example.com/matomo/matomo.php", "https://example.com/matomo/matomo.php", "https://example.com/matomo"},
		{"http://127.0.0.1:8080/piwik.php?x=1", "http://127.0.0.1:8080/matomo.php", "http://127.0.0.1:8080"},
	}
	for _, tt := range tests {
		ep, base, err := Endpoint(tt.in)
		if err != nil || ep != tt.ep || base != tt.base {
			t.Errorf("Endpoint(%q) = %q, %q, %v; want %q, %q", tt.in, ep, base, err, tt.ep, tt.base)
		}
	}
	for _, bad := range []string{"", "example.com", "ftp://e.com", "https://"} {
		if _, _, err := Endpoint(bad); err == nil || !strings.Contains(err.Error(), "MATOMO_URL") {
			t.Errorf("Endpoint(%q): error %v, want one naming MATOMO_URL", bad, err)
		}
	}
}

func TestVersionAtLeast(t *testing.T) {
	for _, tt := range []struct {
		v    string
		want bool
	}{{"5.7.0", true}, {"5.10.1", true}, {"5.6.2", false}, {"5.0.2", false}, {"6.0.0-b1", true}, {"4.16", false}} {
		if got := VersionAtLeast(tt.v, FirstRecModeVersion); got != tt.want {
			t.Errorf("%s: %v", tt.v, got)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	h := hit.Hit{Time: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", Status: 200, Bytes: 5230, Duration: time.Millisecond}
	e := Encoder{SiteID: 1, RecMode: 2, Source: "CloudFront"}
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		buf = e.Append(buf[:0], &h, hit.PageURL("https", "www.example.com", "/blog/some-article/", "utm_source=news", true), false)
	}
}

func TestAppendVisit(t *testing.T) {
	h := hit.Hit{
		Time: time.Date(2026, 11, 1, 9, 5, 7, 0, time.UTC), Method: "GET", UserAgent: "Mozilla/5.0 (X11)",
		Referrer: "https://www.google.com/", ClientIP: "198.51.100.23", User: "bob",
		Status: 404, Bytes: 120, Duration: 3 * time.Millisecond,
	}
	e := Encoder{SiteID: 3, Visits: true}
	item := string(e.AppendVisit(nil, &h, "https://e.com/a b", false, true, true))
	var keys []string
	for _, kv := range strings.Split(item[1:], "&") {
		keys = append(keys, strings.SplitN(kv, "=", 2)[0])
	}
	if got, want := strings.Join(keys, ","), "idsite,rec,apiv,url,urlref,cip,cdt,ua,bw_bytes,pf_srv,uid,action_name,bots"; got != want {
		t.Errorf("parameters %s, want %s", got, want)
	}
	q, _ := url.ParseQuery(item[1:])
	if q.Get("action_name") != "404/URL = https%3A%2F%2Fe.com%2Fa%20b/From = https%3A%2F%2Fwww.google.com%2F" || q.Get("cip") != "198.51.100.23" || q.Get("uid") != "bob" {
		t.Errorf("item %s", item)
	}
	if strings.Contains(string(e.Append(nil, &h, "https://e.com/", false)), "recMode") {
		t.Error("visits must not send recMode")
	}
	e.NoIP = true
	if strings.Contains(string(e.Append(nil, &h, "https://e.com/", false)), "cip=") {
		t.Error("NoIP sent cip")
	}
}

func TestAnonymizeIP(t *testing.T) {
	for _, tt := range []struct {
		ip    string
		level int
		want  string
	}{
		{"198.51.100.23", 0, "198.51.100.23"}, {"198.51.100.23", 1, "198.51.100.0"}, {"198.51.100.23", 2, "198.51.0.0"},
		{"198.51.100.23", 3, "198.0.0.0"}, {"198.51.100.23", 9, "198.0.0.0"}, {"::ffff:198.51.100.23", 1, "198.51.100.0"},
		{"2001:db8:1:2:3:4:5:6", 1, "2001:db8:1:2::"}, {"2001:db8:1:2:3:4:5:6", 2, "2001:db8:1::"}, {"2001:db8:1:2:3:4:5:6", 3, "2001:d00::"},
		{"unknown", 2, "unknown"},
	} {
		if got := AnonymizeIP(tt.ip, tt.level); got != tt.want {
			t.Errorf("AnonymizeIP(%s, %d) = %s, want %s", tt.ip, tt.level, got, tt.want)
		}
	}
}
