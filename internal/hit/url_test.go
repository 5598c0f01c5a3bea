package hit

import (
	"testing"
	"unicode/utf8"
)

func TestPageURL(t *testing.T) {
	tests := []struct{ scheme, host, path, query, want string }{
		{"https", "www.example.org", "/blog/caf%25C3%25A9-guide/", "utm_source=news&q=a%2520b", "https://www.example.org/blog/caf%C3%A9-guide/?utm_source=news&q=a%20b"},
		{"http", "e.com", "/", "", "http://e.com/"},
		{"https", "e.com", "/a%20b", "q=a+b", "https://e.com/a%20b?q=a+b"},               // CloudFront's %20 for a raw space stays escaped; + is kept
		{"https", "e.com", "/%C0%AE", "x=100%25&t=%", "https://e.com/%C0%AE?x=100%&t=%"}, // raw bytes re-escaped; lone % kept
		{"https", "e.com", "/a%22b%3Cc", "", "https://e.com/a%22b%3Cc"},
		{"https", "e.com", "/a%2523", "", "https://e.com/a%23"},
	}
	for _, tt := range tests {
		if got := PageURL(tt.scheme, tt.host, tt.path, tt.query, true); got != tt.want {
			t.Errorf("PageURL(%q, %q) = %q, want %q", tt.path, tt.query, got, tt.want)
		}
	}
	// Logs that write the path as the client sent it (Apache, nginx): kept,
	// only what may not appear raw is escaped.
	if got, want := PageURL("https", "e.com", "/a%2520b", `q="x" y`, false), "https://e.com/a%2520b?q=%22x%22%20y"; got != want {
		t.Errorf("not log-escaped: %q, want %q", got, want)
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a%20b", "a b"},
		{"a%2520b", "a%20b"}, // once only
		{"a+b", "a+b"},       // + is not a space
		{"100%", "100%"},     // trailing %
		{"%G1x", "%G1x"},     // bad escape passes through
		{"%e6%97%a5", "日"},
		{"%FF", "\xff"}, // invalid UTF-8 may come out
		{"", ""},
	}
	for _, tt := range tests {
		if got := Unescape(tt.in); got != tt.want {
			t.Errorf("Unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDecodeQuery(t *testing.T) {
	for _, tt := range []struct {
		query string
		want  map[string]string
	}{
		{"page=blog&ref=google.com", map[string]string{"page": "blog", "ref": "google.com"}},
		{"", nil},
		{"&&=x&", nil},
		{"flag&k=", map[string]string{"flag": "", "k": ""}},
		{"q=a+b%2Bc&e=caf%C3%A9", map[string]string{"q": "a b+c", "e": "café"}},
		{"k=1&k=2", map[string]string{"k": "2"}},
		{"bad=%FF&lone=%&half=%4", map[string]string{"bad": "\uFFFD", "lone": "%", "half": "%4"}},
		{"a%3Db=c%26d", map[string]string{"a=b": "c&d"}},
	} {
		got := DecodeQuery(nil, tt.query)
		if len(got) != len(tt.want) || (tt.want == nil) != (got == nil) {
			t.Errorf("%q: %v, want %v", tt.query, got, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%q: %v, want %v", tt.query, got, tt.want)
			}
		}
	}
}

// FuzzDecodeQuery: any query decodes without a panic into UTF-8 keys and
// values, and a key of the result came from the query.
func FuzzDecodeQuery(f *testing.F) {
	for _, q := range []string{"page=blog&ref=google.com", "a+b=%C3%A9&&=&k", "%", "bad=%FF%FE", "x=1&x=2"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		for k, v := range DecodeQuery(nil, q) {
			if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Fatalf("%q: key %q value %q", q, k, v)
			}
		}
	})
}
