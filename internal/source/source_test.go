package source

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/trackless/trackless/internal/awslambda"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/s3src"
	"github.com/trackless/trackless/internal/s3test"
)

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hour is the start of an hour of 2026-11-01, UTC.
func hour(h int) time.Time { return time.Date(2026, 11, 1, h, 0, 0, 0, time.UTC) }

// readLines opens name through the set and returns its decoded lines.
func readLines(t *testing.T, set *Set, name string) []string {
	t.Helper()
	in, err := set.Open(context.Background(), name)
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	defer in.Close()
	l := in.Lines()
	defer l.Close()
	var out []string
	for {
		b, err := l.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading %s: %v", name, err)
		}
		out = append(out, string(b))
	}
}

// noS3 is a Sources.S3 that fails the test: inputs that are all files need
// no client.
func noS3(t *testing.T) func(context.Context) (*s3.Client, error) {
	return func(context.Context) (*s3.Client, error) {
		t.Error("S3 client asked for, but no input is on S3")
		return nil, errors.New("no S3 here")
	}
}

func s3Of(srv *s3test.Server) func(context.Context) (*s3.Client, error) {
	return func(context.Context) (*s3.Client, error) { return srv.Client, nil }
}

func TestResolveNoInput(t *testing.T) {
	for _, args := range [][]string{nil, {}} {
		s := &Sources{S3: noS3(t)}
		set, notRead, err := s.Resolve(context.Background(), args)
		if !errors.Is(err, ErrNoInput) || set != nil || notRead != nil {
			t.Errorf("Resolve(%q) = %v, %v, %v; want ErrNoInput", args, set, notRead, err)
		}
	}
}

// Resolve lists files as given, the regular files of directories sorted
// and without hidden ones, "-" as a name; a file reached twice inside
// directories is read once, and what is left out is said in notRead.
func TestResolveFiles(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "logs/b.log"), "bbb")
	writeFile(t, filepath.Join(root, "logs/a.log"), "aaaaa")
	writeFile(t, filepath.Join(root, "logs/sub/c.log"), "cc")
	writeFile(t, filepath.Join(root, "logs/.hidden.log"), "hidden")
	writeFile(t, filepath.Join(root, "logs/.git/x.log"), "hidden dir")
	writeFile(t, filepath.Join(root, "links/real.log"), "rrrr")
	if err := os.Symlink("real.log", filepath.Join(root, "links/alias.log")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere.log", filepath.Join(root, "links/dangling.log")); err != nil {
		t.Fatal(err)
	}
	abs := func(p string) string {
		if p == "-" {
			return p
		}
		return filepath.Join(root, p)
	}
	for _, c := range []struct {
		name    string
		args    []string
		want    []string
		notRead map[string]string // path → part of the reason
		total   int64
		wantErr bool
	}{
		{name: "files as given, in the order given", args: []string{"logs/b.log", "logs/a.log"},
			want: []string{"logs/b.log", "logs/a.log"}, total: 8},
		{name: "a directory: its regular files sorted, hidden ones left out", args: []string{"logs"},
			want: []string{"logs/a.log", "logs/b.log", "logs/sub/c.log"}, total: 10},
		{name: "stdin", args: []string{"-"}, want: []string{"-"}, total: 0},
		{name: "stdin among files keeps its place", args: []string{"logs/a.log", "-", "logs/b.log"},
			want: []string{"logs/a.log", "-", "logs/b.log"}, total: 8},
		{name: "a directory given twice is walked once", args: []string{"logs", "logs"},
			want:    []string{"logs/a.log", "logs/b.log", "logs/sub/c.log"},
			notRead: map[string]string{"logs": "already walked"}, total: 10},
		{name: "a file given, then reached again through its directory, is read once", args: []string{"logs/a.log", "logs"},
			want:    []string{"logs/a.log", "logs/b.log", "logs/sub/c.log"},
			notRead: map[string]string{"logs/a.log": "same file as"}, total: 10},
		// input.Expand's documented contract: "Files given as arguments
		// are listed as given, even twice." (the ledger and the pipeline
		// then tell them apart by identity).
		{name: "a file given twice as an argument is listed twice", args: []string{"logs/a.log", "logs/a.log"},
			want: []string{"logs/a.log", "logs/a.log"}, total: 10},
		{name: "a link to a file of the same directory is read once; a dangling link is not read", args: []string{"links"},
			want: []string{"links/real.log"},
			notRead: map[string]string{
				"links/alias.log":    "same file as",
				"links/dangling.log": "dangling symbolic link",
			}, total: 4},
		{name: "a dangling link given as an argument is an error", args: []string{"links/dangling.log"}, wantErr: true},
		{name: "a file that does not exist is an error", args: []string{"logs/missing.log"}, wantErr: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var args []string
			for _, a := range c.args {
				args = append(args, abs(a))
			}
			s := &Sources{S3: noS3(t)}
			set, notRead, err := s.Resolve(context.Background(), args)
			if c.wantErr {
				if err == nil {
					t.Fatalf("Resolve(%q) = %q, no error", c.args, set.Names)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, w := range c.want {
				want = append(want, abs(w))
			}
			if !slices.Equal(set.Names, want) {
				t.Errorf("names %q\nwant  %q", set.Names, want)
			}
			if set.Total != c.total {
				t.Errorf("Total %d, want %d", set.Total, c.total)
			}
			if set.HasObjects() {
				t.Error("HasObjects() for files")
			}
			if len(notRead) != len(c.notRead) {
				t.Errorf("notRead %v, want %d entries %v", notRead, len(c.notRead), c.notRead)
			}
			for _, sk := range notRead {
				rel, _ := filepath.Rel(root, sk.Path)
				if why, ok := c.notRead[rel]; !ok || !strings.Contains(sk.Reason, why) {
					t.Errorf("not read: %s; want %v", sk, c.notRead)
				}
			}
		})
	}
}

// --since/--until leave out the files whose base name says an hour outside
// the range, and keep those whose base name says none.
func TestResolveFilesRange(t *testing.T) {
	dir := t.TempDir()
	files := map[string]int{ // name → size
		"E2EXAMPLE.2026-11-01-09.abcd.gz": 9,
		"E2EXAMPLE.2026-11-01-10.abcd.gz": 10,
		"E2EXAMPLE.2026-11-01-11.abcd.gz": 11,
		"E2EXAMPLE.2026-11-01-12.abcd.gz": 12,
		"access.log":                      1,
		// Only the base name counts for files: a partition path is not
		// read as an hour.
		"2026/11/01/05/part.log": 2,
	}
	for n, size := range files {
		writeFile(t, filepath.Join(dir, n), strings.Repeat("x", size))
	}
	const (
		h09 = "E2EXAMPLE.2026-11-01-09.abcd.gz"
		h10 = "E2EXAMPLE.2026-11-01-10.abcd.gz"
		h11 = "E2EXAMPLE.2026-11-01-11.abcd.gz"
		h12 = "E2EXAMPLE.2026-11-01-12.abcd.gz"
		acc = "access.log"
		prt = "2026/11/01/05/part.log"
	)
	for _, c := range []struct {
		name string
		rng  s3src.Range
		args []string // default: the directory
		want []string // sorted by path
	}{
		{"no range: all", s3src.Range{}, nil, []string{prt, h09, h10, h11, h12, acc}},
		{"since and until", s3src.Range{Since: hour(10), Until: hour(12)}, nil, []string{prt, h10, h11, acc}},
		{"since only", s3src.Range{Since: hour(11)}, nil, []string{prt, h11, h12, acc}},
		{"until only", s3src.Range{Until: hour(10)}, nil, []string{prt, h09, acc}},
		{"a range within an hour keeps that hour", s3src.Range{Since: hour(10).Add(30 * time.Minute), Until: hour(10).Add(45 * time.Minute)}, nil, []string{prt, h10, acc}},
		{"a range in another time zone is the same instants", s3src.Range{Since: hour(10).In(time.FixedZone("X", -5*3600)), Until: hour(11).In(time.FixedZone("X", -5*3600))}, nil, []string{prt, h10, acc}},
		{"a file given as an argument is left out too", s3src.Range{Since: hour(10)}, []string{h09, acc}, []string{acc}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{dir}
			if c.args != nil {
				args = nil
				for _, a := range c.args {
					args = append(args, filepath.Join(dir, a))
				}
			}
			s := &Sources{S3: noS3(t), Range: c.rng}
			set, _, err := s.Resolve(context.Background(), args)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			var total int64
			for _, w := range c.want {
				want = append(want, filepath.Join(dir, w))
				total += int64(files[w])
			}
			if !slices.Equal(set.Names, want) {
				t.Errorf("names %q\nwant  %q", set.Names, want)
			}
			if set.Total != total {
				t.Errorf("Total %d, want %d (the inputs kept only)", set.Total, total)
			}
		})
	}

	t.Run("nothing in range: no error, a warning", func(t *testing.T) {
		var logs bytes.Buffer
		s := &Sources{S3: noS3(t), Range: s3src.Range{Since: hour(13)}, Log: slog.New(slog.NewTextHandler(&logs, nil))}
		set, _, err := s.Resolve(context.Background(), []string{filepath.Join(dir, h09)})
		if err != nil || len(set.Names) != 0 || set.Total != 0 {
			t.Fatalf("Resolve = %q (total %d), %v; want nothing, no error", set.Names, set.Total, err)
		}
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "no input to read") {
			t.Errorf("log %q: want a warning that there is nothing to read", logs.String())
		}
	})
}

// s3Fixture is a bucket of logs, with a ledger and a --after move
// destination in the same bucket.
type s3Fixture struct {
	srv    *s3test.Server
	bucket string
	data   map[string][]byte // key → content as stored
	lines  map[string][]string
}

func newS3Fixture(t *testing.T) *s3Fixture {
	f := &s3Fixture{srv: s3test.Start(t), data: map[string][]byte{}, lines: map[string][]string{}}
	f.bucket = f.srv.Bucket(t)
	put := func(key string, lines ...string) {
		text := ""
		for _, l := range lines {
			text += l + "\n"
		}
		data := []byte(text)
		if strings.HasSuffix(key, ".gz") {
			data = gz(t, text)
		}
		f.srv.Put(t, f.bucket, key, data)
		f.data[key] = data
		f.lines[key] = lines
	}
	// Put out of key order: listings come back in key order all the same.
	put("logs/sub/z.log", "z")
	put("logs/E2EXAMPLE.2026-11-01-11.bbbb.gz", "line 11")
	put("logs/access.log", "access one", "access two")
	put("logs/E2EXAMPLE.2026-11-01-10.aaaa.gz", "line 10a", "line 10b")
	put("logs/E2EXAMPLE.2026-11-01-09.zzzz.gz", "line 9")
	put("ledger/inputs/0123.json", "{}")
	put("ledger/claims/0123.json", "{}")
	put("done/E2EXAMPLE.2026-10-31-23.yyyy.gz", "old")
	put("top.log", "top")
	f.srv.Put(t, f.bucket, "logs/empty.log", nil) // empty objects are not inputs
	f.srv.Put(t, f.bucket, "logs/dir/", nil)      // nor directory markers
	return f
}

func (f *s3Fixture) url(key string) string { return "s3://" + f.bucket + "/" + key }

func (f *s3Fixture) names(keys ...string) []string {
	var out []string
	for _, k := range keys {
		out = append(out, f.url(k))
	}
	return out
}

func (f *s3Fixture) etag(t *testing.T, key string) string {
	t.Helper()
	out, err := f.srv.Client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &f.bucket, Key: &key})
	if err != nil {
		t.Fatalf("head %s: %v", key, err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`)
}

func (f *s3Fixture) exists(t *testing.T, key string) bool {
	t.Helper()
	return slices.Contains(f.srv.Keys(t, f.bucket, ""), key)
}

func TestResolveS3(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	const (
		h09 = "logs/E2EXAMPLE.2026-11-01-09.zzzz.gz"
		h10 = "logs/E2EXAMPLE.2026-11-01-10.aaaa.gz"
		h11 = "logs/E2EXAMPLE.2026-11-01-11.bbbb.gz"
		acc = "logs/access.log"
		sub = "logs/sub/z.log"
		old = "done/E2EXAMPLE.2026-10-31-23.yyyy.gz"
	)
	withLedger := func(s Sources) *Sources {
		s.Ledger = "s3://" + f.bucket + "/ledger/"
		s.After = After{Kind: AfterMove, Dest: "s3://" + f.bucket + "/done/"}
		return &s
	}
	for _, c := range []struct {
		name string
		s    *Sources
		args []string
		want []string // keys
	}{
		{"a prefix: its objects in key order, not empty ones or directory markers",
			&Sources{}, []string{f.url("logs/")}, []string{h09, h10, h11, acc, sub}},
		{"the ledger and --after move's destination are left out of a listing of their bucket",
			withLedger(Sources{}), []string{f.url("")}, []string{h09, h10, h11, acc, sub, "top.log"}},
		{"without them, the same listing has those objects",
			&Sources{}, []string{f.url("")}, []string{old, "ledger/claims/0123.json", "ledger/inputs/0123.json", h09, h10, h11, acc, sub, "top.log"}},
		{"a ledger in a directory leaves the listing alone",
			&Sources{Ledger: "/var/lib/trackless/ledger"}, []string{f.url("")}, []string{old, "ledger/claims/0123.json", "ledger/inputs/0123.json", h09, h10, h11, acc, sub, "top.log"}},
		{"--after delete has no destination to leave out",
			&Sources{After: After{Kind: AfterDelete, Dest: "s3://" + f.bucket + "/done/"}}, []string{f.url("done/")}, []string{old}},
		{"a range leaves out the hours outside it, keeps keys without an hour",
			&Sources{Range: s3src.Range{Since: hour(10), Until: hour(11)}}, []string{f.url("logs/")}, []string{h10, acc, sub}},
		{"an object listed under two prefixes is read once",
			&Sources{}, []string{f.url("logs/"), f.url("logs/sub/")}, []string{h09, h10, h11, acc, sub}},
		{"a prefix without objects", &Sources{}, []string{f.url("nothing/")}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.s.S3 = s3Of(f.srv)
			set, notRead, err := c.s.Resolve(ctx, c.args)
			if err != nil || notRead != nil {
				t.Fatal(notRead, err)
			}
			if want := f.names(c.want...); !slices.Equal(set.Names, want) {
				t.Errorf("names %q\nwant  %q", set.Names, want)
			}
			var total int64
			for _, k := range c.want {
				total += int64(len(f.data[k]))
			}
			if set.Total != total {
				t.Errorf("Total %d, want %d", set.Total, total)
			}
			if set.HasObjects() != (len(c.want) > 0) {
				t.Errorf("HasObjects() = %v", set.HasObjects())
			}
		})
	}

	t.Run("Identify, FirstHint and Open", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "E2EXAMPLE.2026-11-01-10.file.log")
		writeFile(t, file, "from a file\n")
		s := &Sources{S3: s3Of(f.srv)}
		set, _, err := s.Resolve(ctx, []string{f.url("logs/"), file})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(set.Names, file) || !slices.Contains(set.Names, f.url(h10)) {
			t.Fatalf("names %q: want the file and the objects", set.Names)
		}
		for _, k := range []string{h10, acc} {
			want := input.Identity{Object: f.url(k), ETag: f.etag(t, k), Size: int64(len(f.data[k]))}
			if id := set.Identify(f.url(k)); id == nil || *id != want || id.ETag == "" {
				t.Errorf("Identify(%s) = %+v, want %+v", k, id, want)
			}
		}
		if id := set.Identify(file); id != nil {
			t.Errorf("Identify(a file) = %+v, want nil (a file is identified when opened)", id)
		}
		if id := set.Identify(f.url("logs/not-listed.log")); id != nil {
			t.Errorf("Identify(not in the set) = %+v, want nil", id)
		}

		if got, ok := set.FirstHint(f.url(h10)); !ok || got != hour(10).UnixNano() {
			t.Errorf("FirstHint(%s) = %d, %v; want %d (%v), true", h10, got, ok, hour(10).UnixNano(), hour(10))
		}
		for _, n := range []string{f.url(acc), f.url(sub), file} {
			if _, ok := set.FirstHint(n); ok {
				t.Errorf("FirstHint(%s): ok, want none (no hour in an object's key; files have none)", n)
			}
		}

		for _, k := range []string{h10, acc} {
			if got := readLines(t, set, f.url(k)); !slices.Equal(got, f.lines[k]) {
				t.Errorf("lines of %s: %q, want %q", k, got, f.lines[k])
			}
		}
		if got := readLines(t, set, file); !slices.Equal(got, []string{"from a file"}) {
			t.Errorf("lines of the file: %q", got)
		}
	})

	t.Run("errors", func(t *testing.T) {
		errNoClient := errors.New("no client")
		calls := 0
		failing := func(context.Context) (*s3.Client, error) { calls++; return nil, errNoClient }
		if _, _, err := (&Sources{S3: failing}).Resolve(ctx, []string{f.url("logs/")}); !errors.Is(err, errNoClient) {
			t.Errorf("client error: %v, want it returned", err)
		}
		calls = 0
		if _, _, err := (&Sources{S3: failing}).Resolve(ctx, []string{"s3://"}); err == nil || calls != 0 {
			t.Errorf("s3:// (no bucket): %v, %d client calls; want an error before any", err, calls)
		}
		if _, _, err := (&Sources{S3: s3Of(f.srv)}).Resolve(ctx, []string{"s3://no-such-bucket-for-trackless/logs/"}); err == nil {
			t.Error("a bucket that does not exist: no error")
		}
	})
}

// fakeHead answers HEAD from a map of keys and records the keys asked for.
type fakeHead struct {
	objects map[string]s3src.Object // key → object
	errs    map[string]error        // key → error to answer
	asked   []string
}

func (h *fakeHead) HeadObject(_ context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	k := aws.ToString(in.Key)
	h.asked = append(h.asked, k)
	if err := h.errs[k]; err != nil {
		return nil, err
	}
	o, ok := h.objects[k]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "NotFound", Message: "Not Found"}
	}
	return &s3.HeadObjectOutput{ETag: aws.String(`"` + o.ETag + `"`), ContentLength: aws.Int64(o.Size)}, nil
}

// resolveObject asks S3 only what the event leaves unknown, and for a key
// that may or may not be encoded, tries the raw one first.
func TestResolveObject(t *testing.T) {
	obj := func(key, etag string, size int64) s3src.Object {
		return s3src.Object{Bucket: "b", Key: key, ETag: etag, Size: size}
	}
	stored := map[string]s3src.Object{
		"in/a.log":   obj("in/a.log", "etag-a", 10),
		"in/a+b.log": obj("in/a+b.log", "etag-plus", 20),
		"in/c d.log": obj("in/c d.log", "etag-space", 30),
	}
	forbidden := &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"}
	for _, c := range []struct {
		name    string
		in      awslambda.Object
		want    s3src.Object
		asked   []string
		wantErr func(error) bool
	}{
		{name: "ETag and size in the event: trusted, no HEAD",
			in: awslambda.Object{Object: obj("in/a.log", "from-event", 7)}, want: obj("in/a.log", "from-event", 7)},
		{name: "no ETag: from a HEAD", in: awslambda.Object{Object: obj("in/a.log", "", 10)},
			want: obj("in/a.log", "etag-a", 10), asked: []string{"in/a.log"}},
		{name: "no size: from a HEAD", in: awslambda.Object{Object: obj("in/a.log", "from-event", 0)},
			want: obj("in/a.log", "etag-a", 10), asked: []string{"in/a.log"}},
		{name: "the raw key exists: it is the key (EventBridge did not encode it)",
			in:   awslambda.Object{Object: obj("in/a b.log", "from-event", 20), RawKey: "in/a+b.log"},
			want: obj("in/a+b.log", "etag-plus", 20), asked: []string{"in/a+b.log"}},
		{name: "the raw key is not found: the decoded key, complete in the event",
			in:   awslambda.Object{Object: obj("in/c d.log", "from-event", 30), RawKey: "in/c%20d.log"},
			want: obj("in/c d.log", "from-event", 30), asked: []string{"in/c%20d.log"}},
		{name: "the raw key is not found: the decoded key, completed by a HEAD",
			in:   awslambda.Object{Object: obj("in/c d.log", "", 0), RawKey: "in/c%20d.log"},
			want: obj("in/c d.log", "etag-space", 30), asked: []string{"in/c%20d.log", "in/c d.log"}},
		{name: "another error on the raw key is returned, the decoded key not tried",
			in:      awslambda.Object{Object: obj("in/x y.log", "", 0), RawKey: "in/forbidden"},
			asked:   []string{"in/forbidden"},
			wantErr: func(err error) bool { return errors.Is(err, forbidden) }},
		{name: "an object that does not exist",
			in:      awslambda.Object{Object: obj("in/gone.log", "", 0)},
			asked:   []string{"in/gone.log"},
			wantErr: s3src.IsNotFound},
		{name: "neither the raw nor the decoded key exists",
			in:      awslambda.Object{Object: obj("in/g h.log", "", 0), RawKey: "in/g+h.log"},
			asked:   []string{"in/g+h.log", "in/g h.log"},
			wantErr: s3src.IsNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := &fakeHead{objects: stored, errs: map[string]error{"in/forbidden": forbidden}}
			got, err := resolveObject(context.Background(), h, c.in)
			if c.wantErr != nil {
				if err == nil || !c.wantErr(err) {
					t.Errorf("err %v, want one that passes the test", err)
				}
			} else if err != nil || got != c.want {
				t.Errorf("resolveObject = %+v, %v; want %+v", got, err, c.want)
			}
			if !slices.Equal(h.asked, c.asked) {
				t.Errorf("HEAD of %q, want %q", h.asked, c.asked)
			}
		})
	}
}

// FromEvent (the Lambda's objects) against the in-process S3 server.
func TestFromEvent(t *testing.T) {
	srv := s3test.Start(t)
	b := srv.Bucket(t)
	srv.Put(t, b, "in/a.log", []byte("hello\n"))
	srv.Put(t, b, "in/a+b.log", []byte("plus\n"))
	srv.Put(t, b, "in/c d.log", []byte("space\n"))
	ctx := context.Background()
	etag := func(key string) string {
		out, err := srv.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Trim(aws.ToString(out.ETag), `"`)
	}
	obj := func(key, etag string, size int64) s3src.Object {
		return s3src.Object{Bucket: b, Key: key, ETag: etag, Size: size}
	}
	ev := func(key, etag string, size int64) awslambda.Object {
		return awslambda.Object{Object: obj(key, etag, size)}
	}
	for _, c := range []struct {
		name    string
		objs    []awslambda.Object
		want    []s3src.Object
		wantErr bool
	}{
		{name: "no objects", objs: nil, want: nil},
		{name: "complete in the event: as the event says",
			objs: []awslambda.Object{ev("in/a.log", "from-event", 6)}, want: []s3src.Object{obj("in/a.log", "from-event", 6)}},
		{name: "without ETag and size: from S3",
			objs: []awslambda.Object{ev("in/a.log", "", 0)}, want: []s3src.Object{obj("in/a.log", etag("in/a.log"), 6)}},
		{name: "under the ledger's prefix or --after's destination: ignored, not even looked up",
			objs: []awslambda.Object{ev("ledger/inputs/x.json", "", 0), ev("in/a.log", "", 0), ev("done/in/old.log", "", 0)},
			want: []s3src.Object{obj("in/a.log", etag("in/a.log"), 6)}},
		{name: "the ledger of another bucket hides nothing",
			objs: []awslambda.Object{{Object: s3src.Object{Bucket: "other", Key: "ledger/x", ETag: "e", Size: 1}}},
			want: []s3src.Object{{Bucket: "other", Key: "ledger/x", ETag: "e", Size: 1}}},
		{name: "raw key found (EventBridge, not encoded)",
			objs: []awslambda.Object{{Object: obj("in/a b.log", "", 0), RawKey: "in/a+b.log"}},
			want: []s3src.Object{obj("in/a+b.log", etag("in/a+b.log"), 5)}},
		{name: "raw key not found: the decoded one (EventBridge, encoded)",
			objs: []awslambda.Object{{Object: obj("in/c d.log", "", 0), RawKey: "in/c%20d.log"}},
			want: []s3src.Object{obj("in/c d.log", etag("in/c d.log"), 6)}},
		{name: "an object named twice is read once",
			objs: []awslambda.Object{ev("in/a.log", "", 0), ev("in/a.log", "", 0)},
			want: []s3src.Object{obj("in/a.log", etag("in/a.log"), 6)}},
		{name: "an object that does not exist", objs: []awslambda.Object{ev("in/a.log", "", 0), ev("in/gone.log", "", 0)}, wantErr: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &Sources{S3: s3Of(srv), Ledger: "s3://" + b + "/ledger/", After: After{Kind: AfterMove, Dest: "s3://" + b + "/done/"}}
			set, err := s.FromEvent(ctx, c.objs)
			if c.wantErr {
				if err == nil {
					t.Fatalf("FromEvent = %q, no error", set.Names)
				}
				if !s3src.IsNotFound(err) {
					t.Errorf("err %v, want S3's not found", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			var total int64
			for _, o := range c.want {
				names = append(names, o.Name())
				total += o.Size
				if got := set.objects[o.Name()]; got != o {
					t.Errorf("object %s: %+v, want %+v", o.Name(), got, o)
				}
				if id := set.Identify(o.Name()); id == nil || *id != *o.Identity() {
					t.Errorf("Identify(%s) = %+v, want %+v", o.Name(), id, o.Identity())
				}
			}
			if !slices.Equal(set.Names, names) {
				t.Errorf("names %q, want %q", set.Names, names)
			}
			if set.Total != total {
				t.Errorf("Total %d, want %d", set.Total, total)
			}
		})
	}

	t.Run("open an event's object", func(t *testing.T) {
		s := &Sources{S3: s3Of(srv)}
		set, err := s.FromEvent(ctx, []awslambda.Object{{Object: obj("in/c d.log", "", 0), RawKey: "in/c%20d.log"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := readLines(t, set, obj("in/c d.log", "", 0).Name()); !slices.Equal(got, []string{"space"}) {
			t.Errorf("lines %q", got)
		}
	})

	t.Run("client error", func(t *testing.T) {
		errNoClient := errors.New("no client")
		s := &Sources{S3: func(context.Context) (*s3.Client, error) { return nil, errNoClient }}
		if _, err := s.FromEvent(ctx, []awslambda.Object{ev("in/a.log", "e", 6)}); !errors.Is(err, errNoClient) {
			t.Errorf("err %v, want the client's", err)
		}
	})
}

func TestSkipKey(t *testing.T) {
	for _, c := range []struct {
		name    string
		s       Sources
		bucket  string
		skipped []string
		kept    []string
		none    bool // skipKey returns nil
	}{
		{name: "nothing to leave out", s: Sources{}, bucket: "b", none: true},
		{name: "the ledger's prefix", s: Sources{Ledger: "s3://b/ledger/"}, bucket: "b",
			skipped: []string{"ledger/inputs/x.json", "ledger/claims/x.json"}, kept: []string{"logs/ledger/x", "x.log"}},
		{name: "a ledger in another bucket", s: Sources{Ledger: "s3://other/ledger/"}, bucket: "b", none: true},
		{name: "a ledger in a directory", s: Sources{Ledger: "/var/lib/trackless"}, bucket: "b", none: true},
		{name: "--after move's destination", s: Sources{After: After{Kind: AfterMove, Dest: "s3://b/done/"}}, bucket: "b",
			skipped: []string{"done/x.gz", "done/2026/x.gz"}, kept: []string{"logs/done/x.gz"}},
		{name: "--after move to a directory", s: Sources{After: After{Kind: AfterMove, Dest: "/srv/done"}}, bucket: "b", none: true},
		{name: "--after delete: its Dest means nothing", s: Sources{After: After{Kind: AfterDelete, Dest: "s3://b/done/"}}, bucket: "b", none: true},
		{name: "both", s: Sources{Ledger: "s3://b/l/", After: After{Kind: AfterMove, Dest: "s3://b/done/"}}, bucket: "b",
			skipped: []string{"l/inputs/x", "done/x"}, kept: []string{"logs/x"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			skip := c.s.skipKey(c.bucket)
			if c.none {
				if skip != nil {
					t.Error("skipKey is not nil, want nil (nothing to leave out)")
				}
				return
			}
			if skip == nil {
				t.Fatal("skipKey is nil")
			}
			for _, k := range c.skipped {
				if !skip(k) {
					t.Errorf("%s not left out", k)
				}
			}
			for _, k := range c.kept {
				if skip(k) {
					t.Errorf("%s left out", k)
				}
			}
		})
	}
}

// The S3 ledger keeps its objects under PREFIX/ (ledger.NewS3 adds the
// slash), but skipKey compares keys with the prefix as given.
func TestSkipKeyLedgerPrefixWithoutSlash(t *testing.T) {
	s := Sources{Ledger: "s3://b/ledger"}
	if skip := s.skipKey("b"); skip("ledger.log") || skip("ledgers/x.log") {
		t.Error("a log whose key starts with the ledger's prefix without its slash is left out")
	}
	s = Sources{Ledger: "s3://b/"}
	if skip := s.skipKey("b"); skip("cf/E2EXAMPLE.2026-11-01-10.abcd.gz") {
		t.Error("a ledger at the root of the bucket leaves out every log of the bucket")
	}
}

func TestParseAfter(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    After
		wantErr bool
	}{
		{in: "", want: After{Kind: AfterKeep}},
		{in: "keep", want: After{Kind: AfterKeep}},
		{in: "delete", want: After{Kind: AfterDelete}},
		{in: "move=/srv/done", want: After{Kind: AfterMove, Dest: "/srv/done"}},
		{in: "move=done", want: After{Kind: AfterMove, Dest: "done"}},
		{in: "move=s3://b/p/", want: After{Kind: AfterMove, Dest: "s3://b/p/"}},
		{in: "move=s3://b", want: After{Kind: AfterMove, Dest: "s3://b"}},
		{in: "move=", wantErr: true},
		{in: "move=s3://", wantErr: true},
		{in: "move=s3:///p/", wantErr: true},
		{in: "bogus", wantErr: true},
		{in: "Delete", wantErr: true},
		{in: "move", wantErr: true},
		{in: "keep=x", wantErr: true},
	} {
		got, err := ParseAfter(c.in)
		if c.wantErr {
			if err == nil {
				t.Errorf("ParseAfter(%q) = %+v, no error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseAfter(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func FuzzParseAfter(f *testing.F) {
	for _, s := range []string{"", "keep", "delete", "move=/d", "move=s3://b/p/", "move=s3://", "move="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		a, err := ParseAfter(v)
		if err != nil {
			return
		}
		switch a.Kind {
		case AfterKeep, AfterDelete:
			if a.Dest != "" {
				t.Errorf("ParseAfter(%q) = %+v: a destination without move", v, a)
			}
		case AfterMove:
			if a.Dest == "" {
				t.Errorf("ParseAfter(%q) = %+v: move without a destination", v, a)
			}
			if s3src.IsURL(a.Dest) {
				if _, _, err := s3src.ParseURL(a.Dest); err != nil {
					t.Errorf("ParseAfter(%q) = %+v: %v", v, a, err)
				}
			}
		default:
			t.Errorf("ParseAfter(%q) = %+v: unknown kind", v, a)
		}
	})
}

// resolveFiles resolves files with an after-action and returns its Done.
func resolveFiles(t *testing.T, a After, args ...string) (*Set, func(string) error) {
	t.Helper()
	s := &Sources{S3: noS3(t), After: a}
	set, _, err := s.Resolve(context.Background(), args)
	if err != nil {
		t.Fatal(err)
	}
	return set, s.Done(set)
}

func TestDoneFiles(t *testing.T) {
	for _, kind := range []string{"", AfterKeep} {
		s := &Sources{After: After{Kind: kind}}
		if done := s.Done(newSet()); done != nil {
			t.Errorf("Done with --after %q is not nil: inputs are kept", kind)
		}
	}

	t.Run("delete", func(t *testing.T) {
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
		writeFile(t, a, "a\n")
		writeFile(t, b, "b\n")
		_, done := resolveFiles(t, After{Kind: AfterDelete}, dir, "-")
		if err := done(a); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(a); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after delete: %v", a, err)
		}
		if _, err := os.Stat(b); err != nil {
			t.Errorf("%s, not delivered, is gone: %v", b, err)
		}
		if err := done("-"); err != nil {
			t.Errorf(`done("-") = %v, want nil: stdin is left alone`, err)
		}
	})

	t.Run("move into a directory, created if missing", func(t *testing.T) {
		dir := t.TempDir()
		a := filepath.Join(dir, "logs/access.log.1")
		writeFile(t, a, "a\n")
		dest := filepath.Join(dir, "done/2026")
		_, done := resolveFiles(t, After{Kind: AfterMove, Dest: dest}, filepath.Join(dir, "logs"), "-")
		if err := done(a); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(a); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after move: %v", a, err)
		}
		if b, err := os.ReadFile(filepath.Join(dest, "access.log.1")); err != nil || string(b) != "a\n" {
			t.Errorf("moved file: %q, %v", b, err)
		}
		if err := done("-"); err != nil {
			t.Errorf(`done("-") = %v, want nil: stdin is left alone`, err)
		}
	})

	t.Run("move a file to s3:// is an error, the file stays", func(t *testing.T) {
		dir := t.TempDir()
		a := filepath.Join(dir, "a.log")
		writeFile(t, a, "a\n")
		_, done := resolveFiles(t, After{Kind: AfterMove, Dest: "s3://b/done/"}, a)
		if err := done(a); err == nil {
			t.Error("no error")
		}
		if _, err := os.Stat(a); err != nil {
			t.Errorf("the file is gone: %v", err)
		}
	})
}

// Moving files of the same name into a directory (rotated logs: a new
// access.log.1 every day) must not lose the one moved before.
func TestAfterMoveFileKeepsExistingFile(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "done")
	writeFile(t, filepath.Join(dest, "access.log.1"), "yesterday\n")
	a := filepath.Join(dir, "logs/access.log.1")
	writeFile(t, a, "today\n")
	_, done := resolveFiles(t, After{Kind: AfterMove, Dest: dest}, a)
	err := done(a)
	if b, rerr := os.ReadFile(filepath.Join(dest, "access.log.1")); rerr != nil || string(b) != "yesterday\n" {
		t.Errorf("the file moved before is replaced (done: %v): %s has %q", err, filepath.Join(dest, "access.log.1"), b)
	}
	if b, rerr := os.ReadFile(filepath.Join(dest, "access.log.1.2")); err != nil || rerr != nil || string(b) != "today\n" {
		t.Errorf("today's file is not kept as access.log.1.2 (done: %v): %q, %v", err, b, rerr)
	}
	if _, err := os.Stat(a); !os.IsNotExist(err) {
		t.Errorf("the moved file is still there: %v", err)
	}
}

func TestDoneObjects(t *testing.T) {
	srv := s3test.Start(t)
	b := srv.Bucket(t)
	ctx := context.Background()
	content := func(key string) string {
		out, err := srv.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key})
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		defer out.Body.Close()
		data, err := io.ReadAll(out.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	resolve := func(a After, args ...string) func(string) error {
		s := &Sources{S3: s3Of(srv), After: a}
		set, _, err := s.Resolve(ctx, args)
		if err != nil {
			t.Fatal(err)
		}
		return s.Done(set)
	}
	url := func(key string) string { return "s3://" + b + "/" + key }
	keys := func() []string { return srv.Keys(t, b, "") }

	t.Run("delete", func(t *testing.T) {
		srv.Put(t, b, "del/x.log", []byte("x\n"))
		srv.Put(t, b, "del/y.log", []byte("y\n"))
		done := resolve(After{Kind: AfterDelete}, url("del/"))
		if err := done(url("del/x.log")); err != nil {
			t.Fatal(err)
		}
		if k := srv.Keys(t, b, "del/"); !slices.Equal(k, []string{"del/y.log"}) {
			t.Errorf("keys %q, want only del/y.log", k)
		}
	})

	t.Run("move keeps the key below the listed prefix", func(t *testing.T) {
		srv.Put(t, b, "in/2026/11/E2EXAMPLE.2026-11-01-10.abcd.gz", []byte("hit\n"))
		srv.Put(t, b, "in/a b+c.log", []byte("odd key\n"))
		srv.Put(t, b, "in/stay.log", []byte("stay\n"))
		done := resolve(After{Kind: AfterMove, Dest: url("done/")}, url("in/"))
		for _, k := range []string{"in/2026/11/E2EXAMPLE.2026-11-01-10.abcd.gz", "in/a b+c.log"} {
			if err := done(url(k)); err != nil {
				t.Fatal(err)
			}
		}
		if k := srv.Keys(t, b, "in/"); !slices.Equal(k, []string{"in/stay.log"}) {
			t.Errorf("keys under in/: %q, want only in/stay.log", k)
		}
		want := []string{"done/2026/11/E2EXAMPLE.2026-11-01-10.abcd.gz", "done/a b+c.log"}
		if k := srv.Keys(t, b, "done/"); !slices.Equal(k, want) {
			t.Errorf("keys under done/: %q, want %q", k, want)
		}
		if got := content("done/a b+c.log"); got != "odd key\n" {
			t.Errorf("moved object has %q", got)
		}
		if err := done("-"); err != nil {
			t.Errorf(`done("-") = %v, want nil`, err)
		}
	})

	t.Run("move an event's object: its whole key under the destination", func(t *testing.T) {
		srv.Put(t, b, "ev/k.log", []byte("k\n"))
		s := &Sources{S3: s3Of(srv), After: After{Kind: AfterMove, Dest: url("moved/")}}
		set, err := s.FromEvent(ctx, []awslambda.Object{{Object: s3src.Object{Bucket: b, Key: "ev/k.log"}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Done(set)(url("ev/k.log")); err != nil {
			t.Fatal(err)
		}
		if k := srv.Keys(t, b, "moved/"); !slices.Equal(k, []string{"moved/ev/k.log"}) || slices.Contains(keys(), "ev/k.log") {
			t.Errorf("keys %q", keys())
		}
	})

	t.Run("move an object to a directory is an error, the object stays", func(t *testing.T) {
		srv.Put(t, b, "todir/x.log", []byte("x\n"))
		done := resolve(After{Kind: AfterMove, Dest: t.TempDir()}, url("todir/"))
		if err := done(url("todir/x.log")); err == nil {
			t.Error("no error")
		}
		if !slices.Contains(keys(), "todir/x.log") {
			t.Error("the object is gone")
		}
	})
}

// A prefix is often given without its slash (s3://bucket/cf), and the
// destination too (move=s3://bucket/done): the moved key should still be
// DEST/ + the key below the listed "directory".
func TestAfterMoveObjectPrefixesWithoutSlash(t *testing.T) {
	srv := s3test.Start(t)
	b := srv.Bucket(t)
	ctx := context.Background()
	srv.Put(t, b, "in/x.log", []byte("x\n"))
	srv.Put(t, b, "in/y.log", []byte("y\n"))
	for _, c := range []struct{ list, dest, key, want string }{
		{"s3://" + b + "/in", "s3://" + b + "/done/", "in/x.log", "done/x.log"},
		{"s3://" + b + "/in/", "s3://" + b + "/done", "in/y.log", "done/y.log"},
	} {
		s := &Sources{S3: s3Of(srv), After: After{Kind: AfterMove, Dest: c.dest}}
		set, _, err := s.Resolve(ctx, []string{c.list})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Done(set)("s3://" + b + "/" + c.key); err != nil {
			t.Fatal(err)
		}
		if keys := srv.Keys(t, b, ""); !slices.Contains(keys, c.want) {
			t.Errorf("listed %s, moved %s to %s: keys %q, want %s", c.list, c.key, c.dest, keys, c.want)
		}
	}
}

// The zero Set (report builds one for files) opens files and acts on them.
func TestZeroSet(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, "one\ntwo\n")
	set := &Set{Names: []string{a}}
	if got := readLines(t, set, a); !reflect.DeepEqual(got, []string{"one", "two"}) {
		t.Errorf("lines %q", got)
	}
	if set.Identify(a) != nil || set.HasObjects() {
		t.Error("a zero set has objects")
	}
	if _, ok := set.FirstHint(a); ok {
		t.Error("FirstHint of a file")
	}
	if err := (After{Kind: AfterDelete}).apply(context.Background(), set, a); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("not deleted: %v", err)
	}
}

// TestRemainder: the file a path was, renamed beside it under any name
// that starts with the path's (access.log.1, access.log-20261204), is
// found by its device and inode; another file, or one elsewhere, is not.
func TestRemainder(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "access.log")
	writeFile(t, live, "old\n")
	in, err := input.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	was := *in.Identity
	in.Close()
	writeFile(t, filepath.Join(dir, "access.log.2"), "other\n")
	from := live
	for _, name := range []string{"access.log.1", "access.log-20261204"} { // renamed, then renamed again
		if err := os.Rename(from, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		from = filepath.Join(dir, name)
		writeFile(t, live, "new\n")
		if got, err := Remainder(live, was); err != nil || got != from {
			t.Errorf("renamed to %s: found %q, %v", name, got, err)
		}
	}
	os.Rename(filepath.Join(dir, "access.log-20261204"), filepath.Join(t.TempDir(), "elsewhere"))
	if got, err := Remainder(live, was); err != nil || got != "" {
		t.Errorf("moved elsewhere: found %q, %v", got, err)
	}
}

// TestRemainderCopied: copytruncate's copy (a plain file with other device
// and inode) and a compressed rotation are found by their content, names
// of rotations first, the plain copy before the compressed one, then a
// copy under any other name beside the path.
func TestRemainderCopied(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "access.log")
	content := strings.Repeat("192.0.2.1 - - [04/Dec/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"x\"\n", 100)
	writeFile(t, live, content)
	in, err := input.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	was := *in.Identity
	in.Close()
	if got, _ := Remainder(live, was); got != "" {
		t.Errorf("found %q before any copy", got)
	}
	// A copy under a name that is not a rotation's (a dateformat of its
	// own): found, when no rotation's name has the content.
	writeFile(t, filepath.Join(dir, "access.log.bak"), content)
	if got, _ := Remainder(live, was); got != filepath.Join(dir, "access.log.bak") {
		t.Errorf("a copy under another name: found %q", got)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(content))
	zw.Close()
	writeFile(t, filepath.Join(dir, "access.log.2.gz"), z.String())
	writeFile(t, filepath.Join(dir, "access.log.1"), content+"more\n")
	os.Truncate(live, 0)
	if got, err := Remainder(live, was); err != nil || got != filepath.Join(dir, "access.log.1") {
		t.Errorf("copytruncate: found %q, %v; want the plain copy", got, err)
	}
	os.Remove(filepath.Join(dir, "access.log.1"))
	if got, err := Remainder(live, was); err != nil || got != filepath.Join(dir, "access.log.2.gz") {
		t.Errorf("compressed: found %q, %v", got, err)
	}
}

// TestRotations: the files named as rotations of a path and modified
// after a time; other names are not.
func TestRotations(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "access.log")
	old := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for name, recent := range map[string]bool{
		"access.log": true, "access.log.1": true, "access.log.2.gz": true, "access.log-20261204": true,
		"access.log-20261204.gz": true, "access.log.2026-12-04": true, "access.log-2026120413.zst": true,
		"access.log-20261204-1733380000.gz": true, "access.log_20261204T1300": true,
		"access.log.3.gz": false, "access.log.bak": true, "access.log.1.swp": true, "access.logger": true,
	} {
		p := filepath.Join(dir, name)
		writeFile(t, p, "x\n")
		if !recent {
			os.Chtimes(p, old, old)
		}
	}
	got, err := Rotations(live, old.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i] = filepath.Base(got[i])
	}
	want := []string{"access.log-20261204", "access.log-20261204-1733380000.gz", "access.log-20261204.gz", "access.log-2026120413.zst", "access.log.1", "access.log.2.gz", "access.log.2026-12-04", "access.log_20261204T1300"}
	if !slices.Equal(got, want) {
		t.Errorf("rotations: %v, want %v", got, want)
	}
}

// TestBusy: a file beside the path written to lately is a rotation in
// progress; older ones, and other folders' files, are not.
func TestBusy(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "access.log")
	writeFile(t, live, "x\n")
	old := time.Now().Add(-time.Hour)
	writeFile(t, live+".1", "x\n")
	os.Chtimes(live+".1", old, old)
	writeFile(t, live+"_ssl", "x\n") // another live log, not a rotation
	if Busy(live, 5*time.Second) {
		t.Error("busy with only an old rotated file (the path itself, and other logs, do not count)")
	}
	writeFile(t, live+".2.gz", "")
	if !Busy(live, 5*time.Second) {
		t.Error("not busy while a rotated file is being written")
	}
}
