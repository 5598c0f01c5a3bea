package logformat

import (
	"bytes"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/loggen"
)

// BenchmarkCloudFrontParse parses generated 33-field lines (no I/O).
func BenchmarkCloudFrontParse(b *testing.B) {
	var buf bytes.Buffer
	if _, err := loggen.Write(&buf, loggen.Config{Seed: 1, Lines: 20000, Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	b.SetBytes(int64(buf.Len() / len(lines)))
	r := NewCloudFront("bench")
	var h hit.Hit
	i := 0
	for b.Loop() {
		if _, err := r.Parse(lines[i], int64(i+1), &h); err != nil {
			b.Fatal(err)
		}
		i++
		if i == len(lines) {
			i = 0
		}
	}
}

// BenchmarkReaders parses one typical line of each format (no I/O).
func BenchmarkReaders(b *testing.B) {
	ts := "10/Nov/2026:16:42:07 +0100"
	cases := []struct {
		format, line string
	}{
		{"combined", `192.0.2.10 - - [` + ts + `] "GET /blog/some-article/?utm_source=news HTTP/1.1" 200 5230 "https://www.google.com/" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"`},
		{"nginx_json", `{"ip": "192.0.2.10","host": "www.example.com","path": "/blog/some-article/?utm_source=news","status": "200","referrer": "https://www.google.com/","user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36","length": 5230,"generation_time_milli": 0.012,"date": "2026-11-10T16:42:07+01:00"}`},
		{"elb", `https 2026-11-10T15:42:07.127531Z app/my-alb/abcdef 192.0.2.10:2817 10.0.0.1:80 0.001 0.102 0.000 200 200 225 5230 "GET https://www.example.com:443/blog/some-article/?utm_source=news HTTP/1.1" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:x "Root=1-abc" "www.example.com" "arn:aws:acm:x" 0 2026-11-10T15:42:07.023000Z "forward" "-" "-" "10.1.1.1:80" "200"`},
		{"s3", `b659b576cff1e15e4c0313ff8930fba9f53e6794567f5c60dab3abf2f8dfb6cc www.example.com [` + ts + `] 192.0.2.10 arn:aws:iam::1:user/x EB3502676500C6BE WEBSITE.GET.OBJECT index "GET /index?x=1 HTTP/1.1" 200 - 368 368 10 9 "-" "Mozilla/5.0 (X11)"`},
		{"traefik", `{"ClientHost":"192.0.2.10","RequestHost":"www.example.com","RequestMethod":"GET","RequestPath":"/blog/some-article/?utm_source=news","RequestScheme":"https","DownstreamStatus":200,"DownstreamContentSize":5230,"Duration":12000000,"request_User-Agent":"Mozilla/5.0 (X11)","StartUTC":"2026-11-10T15:42:07.773360139Z"}`},
		{"caddy", `{"level":"info","ts":1762789327.5,"logger":"http.log.access","request":{"client_ip":"192.0.2.10","method":"GET","host":"www.example.com","uri":"/blog/some-article/?utm_source=news","headers":{"User-Agent":["Mozilla/5.0 (X11)"]},"tls":{"proto":"h2"}},"status":200,"size":5230,"duration":0.012}`},
	}
	for _, c := range cases {
		b.Run(c.format, func(b *testing.B) {
			r, err := New(c.format, "bench")
			if err != nil {
				b.Fatal(err)
			}
			line := []byte(c.line)
			b.SetBytes(int64(len(line)))
			var h hit.Hit
			for b.Loop() {
				if ok, err := r.Parse(line, 1, &h); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
	b.Run("w3c", func(b *testing.B) {
		r := NewW3C("bench")
		r.Parse([]byte("#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) cs-host sc-status sc-bytes time-taken"), 1, nil)
		line := []byte(`2026-11-10 15:42:07 5.6.7.8 GET /blog/some-article/ utm_source=news 443 - 192.0.2.10 Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) https://www.google.com/ www.example.com 200 5230 12`)
		b.SetBytes(int64(len(line)))
		var h hit.Hit
		for b.Loop() {
			if ok, err := r.Parse(line, 2, &h); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("custom", func(b *testing.B) {
		r, err := NewCustom("bench", `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $host`)
		if err != nil {
			b.Fatal(err)
		}
		line := []byte(`192.0.2.10 - - [` + ts + `] "GET /blog/some-article/?utm_source=news HTTP/1.1" 200 5230 "https://www.google.com/" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36" 0.012 www.example.com`)
		b.SetBytes(int64(len(line)))
		var h hit.Hit
		for b.Loop() {
			if ok, err := r.Parse(line, 1, &h); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("cloudfront-realtime", func(b *testing.B) {
		r, _ := NewCloudFrontRealtime("bench", []string{"timestamp", "c-ip", "sc-status", "sc-bytes", "cs-method", "cs-protocol", "cs-host", "cs-uri-stem", "time-taken", "cs-user-agent", "cs-referer"})
		line := []byte("1762789327.087\t192.0.2.10\t200\t5230\tGET\thttps\twww.example.com\t/blog/some-article/?utm_source=news\t0.012\tMozilla/5.0%20(X11;%20Linux%20x86_64)\thttps://www.google.com/")
		b.SetBytes(int64(len(line)))
		var h hit.Hit
		for b.Loop() {
			if ok, err := r.Parse(line, 1, &h); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}
