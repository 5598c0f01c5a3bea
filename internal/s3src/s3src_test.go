package s3src_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/s3src"
	"github.com/trackless/trackless/internal/s3test"
)

func TestKeyTime(t *testing.T) {
	h := func(s string) time.Time { t, _ := time.Parse("2006-01-02-15", s); return t }
	for _, c := range []struct {
		key  string
		want time.Time
	}{
		{"cf/E2QWRUHEXAMPLE.2025-03-14-08.9a1b2c3d.gz", h("2025-03-14-08")},
		{"E2QWRUHEXAMPLE.2025-03-14-08.9a1b2c3d", h("2025-03-14-08")},
		{"AWSLogs/123456789012/CloudFront/E2Q/2025/03/14/08/E2Q.2025-03-14-08.abcdef01.gz", h("2025-03-14-08")},
		{"logs/2025/03/14/08/part-0001.log.gz", h("2025-03-14-08")},
		{"logs/distributionid=E2Q/year=2025/month=03/day=14/hour=08/x.parquet", h("2025-03-14-08")},
		{"logs/2025/03/14/part.log", time.Time{}}, // a day, not an hour
		{"nginx/access.log.1.gz", time.Time{}},
		{"cf/E2Q.2025-13-14-08.x.gz", time.Time{}},
	} {
		got, ok := s3src.KeyTime(c.key)
		if ok != !c.want.IsZero() || !got.Equal(c.want) {
			t.Errorf("KeyTime(%q) = %v, %v; want %v", c.key, got, ok, c.want)
		}
	}
}

func gz(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	io.WriteString(w, s)
	w.Close()
	return b.Bytes()
}

// A range skips listing work: only the groups and hours asked for are
// listed, for flat (legacy) and partitioned (v2) layouts alike.
func TestListRange(t *testing.T) {
	srv := s3test.Start(t)
	b := srv.Bucket(t)
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for h := 0; h < 24*10; h++ { // 10 days, two distributions, two files an hour
		ts := start.Add(time.Duration(h) * time.Hour)
		for _, d := range []string{"E1AAAAAAAAAAAA", "E2BBBBBBBBBBBB"} {
			for i := 0; i < 2; i++ {
				srv.Put(t, b, fmt.Sprintf("cf/%s.%s.%04x.gz", d, ts.Format("2006-01-02-15"), h*4+i), []byte("x"))
				n++
			}
		}
		srv.Put(t, b, fmt.Sprintf("v2/E3/%s/E3.%s.%04x.gz", ts.Format("2006/01/02/15"), ts.Format("2006-01-02-15"), h), []byte("x"))
		n++
	}
	srv.Put(t, b, "cf/README", []byte("x"))
	srv.Put(t, b, "cf/empty.txt", nil)
	ctx := context.Background()
	all := &s3src.Lister{Client: srv.Client}
	objs, err := all.List(ctx, b, "", s3src.Range{})
	if err != nil || len(objs) != n+1 {
		t.Fatalf("all: %d objects (want %d), %v", len(objs), n+1, err)
	}
	rng := s3src.Range{Since: start.Add(5*24*time.Hour + 3*time.Hour), Until: start.Add(5*24*time.Hour + 5*time.Hour)}
	l := &s3src.Lister{Client: srv.Client}
	objs, err = l.List(ctx, b, "", rng)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	// 2 hours × (2 distributions × 2 files + 1 v2 file), and the README
	// (no time in its name).
	if len(objs) != 2*5+1 {
		t.Fatalf("range: %d objects: %v", len(objs), keys)
	}
	for i := 1; i < len(keys); i++ {
		if keys[i-1] >= keys[i] {
			t.Errorf("not in key order: %v", keys)
		}
	}
	// Listing work: the groups (the v2 hour groups: 240, and 2 + README)
	// and the objects around the range, not the 1,200 keys.
	if l.Keys > 300 {
		t.Errorf("range listing received %d keys; the whole listing has %d", l.Keys, all.Keys)
	}
	t.Logf("keys received: %d with the range, %d without; requests %d and %d", l.Keys, all.Keys, l.Requests, all.Requests)
}

// breakingTransport cuts the body of the first GET of an object after n
// bytes, as a broken connection does.
type breakingTransport struct {
	n     int64
	cut   atomic.Int32
	inner http.RoundTripper
}

func (bt *breakingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := bt.inner.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet || r.URL.Query().Has("list-type") || resp.StatusCode >= 300 || bt.cut.Add(1) > 1 {
		return resp, err
	}
	resp.Body = &cutBody{r: io.LimitReader(resp.Body, bt.n), c: resp.Body}
	return resp, nil
}

type cutBody struct {
	r io.Reader
	c io.Closer
}

func (c *cutBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		err = errors.New("connection reset by peer")
	}
	return n, err
}
func (c *cutBody) Close() error { return c.c.Close() }

// A body cut short is resumed where it stopped: every line is read once.
func TestOpenResumes(t *testing.T) {
	srv := s3test.Start(t)
	b := srv.Bucket(t)
	var text bytes.Buffer
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&text, "line %d %x\n", i, i*7919)
	}
	srv.Put(t, b, "logs/a.gz", gz(t, text.String()))
	bt := &breakingTransport{n: 10000, inner: http.DefaultTransport}
	c := s3.New(srv.Client.Options(), func(o *s3.Options) { o.HTTPClient = &http.Client{Transport: bt} })
	in, err := s3src.Open(context.Background(), c, s3src.Object{Bucket: b, Key: "logs/a.gz"})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if in.Identity == nil || in.Identity.ETag == "" || in.Identity.Object != "s3://"+b+"/logs/a.gz" || in.Compression != input.Gzip {
		t.Fatalf("identity %+v, compression %s", in.Identity, in.Compression)
	}
	lines := in.Lines()
	defer lines.Close()
	var got bytes.Buffer
	for {
		l, err := lines.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("line %d: %v", lines.Line(), err)
		}
		got.Write(l)
		got.WriteByte('\n')
	}
	if got.String() != text.String() {
		t.Fatalf("read %d bytes, want %d", got.Len(), text.Len())
	}
	if bt.cut.Load() < 2 {
		t.Fatal("the body was not cut: the test tests nothing")
	}
}

// An object overwritten after it was listed is not read as the listed one.
func TestOpenChanged(t *testing.T) {
	srv := s3test.Start(t)
	b := srv.Bucket(t)
	srv.Put(t, b, "k", []byte("one\n"))
	objs, err := (&s3src.Lister{Client: srv.Client}).List(context.Background(), b, "", s3src.Range{})
	if err != nil || len(objs) != 1 {
		t.Fatal(objs, err)
	}
	srv.Put(t, b, "k", []byte("two\n"))
	_, err = s3src.Open(context.Background(), srv.Client, objs[0])
	if !errors.Is(err, input.ErrSuperseded) {
		t.Fatalf("err %v, want ErrSuperseded", err)
	}
}

func TestMoveAndDelete(t *testing.T) {
	srv := s3test.Start(t)
	b := srv.Bucket(t)
	ctx := context.Background()
	srv.Put(t, b, "in/a b+c.gz", []byte("x\n"))
	srv.Put(t, b, "in/d.gz", []byte("y\n"))
	objs, _ := (&s3src.Lister{Client: srv.Client}).List(ctx, b, "in/", s3src.Range{})
	if len(objs) != 2 {
		t.Fatal(objs)
	}
	if err := s3src.Move(ctx, srv.Client, objs[0], "in/", "s3://"+b+"/done/"); err != nil {
		t.Fatal(err)
	}
	if err := s3src.Delete(ctx, srv.Client, objs[1]); err != nil {
		t.Fatal(err)
	}
	if keys := srv.Keys(t, b, ""); len(keys) != 1 || keys[0] != "done/a b+c.gz" {
		t.Fatalf("keys %q", keys)
	}
}

// FuzzKeyTime: any key gives an hour on the hour, or none.
func FuzzKeyTime(f *testing.F) {
	f.Add("cf/E2Q.2025-03-14-08.x.gz")
	f.Add("a/year=2025/month=03/day=14/hour=08/x")
	f.Add("a/2025/03/14/08/x")
	f.Fuzz(func(t *testing.T, key string) {
		if tm, ok := s3src.KeyTime(key); ok && (tm.Minute() != 0 || tm.Second() != 0 || tm.Location() != time.UTC) {
			t.Errorf("KeyTime(%q) = %v", key, tm)
		}
	})
}

// BenchmarkOpenRead streams a gzip object of 20,000 lines through Open and
// Lines (in-process S3 server, or TRACKLESS_TEST_S3_ENDPOINT).
func BenchmarkOpenRead(b *testing.B) {
	srv := s3test.Start(b)
	bucket := srv.Bucket(b)
	var text bytes.Buffer
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&text, "2026-11-01\t10:00:%02d\tAMS58-P2\t5230\t192.0.2.%d\tGET\td111.cloudfront.net\t/docs/page-%d\t200\t-\tMozilla/5.0\n", i%60, i%250, i)
	}
	srv.Put(b, bucket, "cf/E2B.2026-11-01-10.x.gz", gz(b, text.String()))
	b.SetBytes(int64(text.Len()))
	b.ResetTimer()
	for b.Loop() {
		in, err := s3src.Open(context.Background(), srv.Client, s3src.Object{Bucket: bucket, Key: "cf/E2B.2026-11-01-10.x.gz"})
		if err != nil {
			b.Fatal(err)
		}
		l := in.Lines()
		n := 0
		for {
			if _, err := l.Next(); err != nil {
				break
			}
			n++
		}
		l.Close()
		in.Close()
		if n != 20000 {
			b.Fatalf("%d lines", n)
		}
	}
}

// BenchmarkListRange lists two hours out of five days of one distribution.
func BenchmarkListRange(b *testing.B) {
	srv := s3test.Start(b)
	bucket := srv.Bucket(b)
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for h := 0; h < 24*5; h++ {
		srv.Put(b, bucket, fmt.Sprintf("cf/E1AAAAAAAAAAAA.%s.%04x.gz", start.Add(time.Duration(h)*time.Hour).Format("2006-01-02-15"), h), []byte("x"))
	}
	rng := s3src.Range{Since: start.Add(48 * time.Hour), Until: start.Add(50 * time.Hour)}
	for b.Loop() {
		objs, err := (&s3src.Lister{Client: srv.Client}).List(context.Background(), bucket, "cf/", rng)
		if err != nil || len(objs) != 2 {
			b.Fatal(len(objs), err)
		}
	}
}

// TestSilentServer: a server that takes the connection and never answers
// fails the request once ResponseTimeout passed (and the SDK's retries),
// instead of holding the run for ever.
func TestSilentServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conns := make(chan net.Conn, 16)
	defer func() {
		l.Close()
		for len(conns) > 0 {
			(<-conns).Close()
		}
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			select {
			case conns <- c: // read nothing, answer nothing
			default:
				c.Close()
			}
		}
	}()
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "y")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	c, err := s3src.NewClient(context.Background(), s3src.Config{Endpoint: "http://" + l.Addr().String(), PathStyle: true, Region: "us-east-1", ResponseTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("GetObject of a silent server succeeded")
		}
	case <-time.After(time.Minute): // a bound on a hang, not a timing assertion
		t.Fatal("GetObject of a silent server still waits after a minute")
	}
}
