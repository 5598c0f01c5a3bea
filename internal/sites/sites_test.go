package sites

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMap(t *testing.T) {
	var m Map
	for _, s := range []string{"www.example.com=1", "Example.COM=2", "*.example.com=3", "*.a.example.com=4"} {
		if err := m.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	for host, want := range map[string]int{
		"www.example.com": 1, "WWW.EXAMPLE.COM:443": 1, "example.com": 2, "example.com.": 2,
		"blog.example.com": 3, "x.a.example.com": 4, "other.org": 0, "badexample.com": 0,
	} {
		got, ok := m.Lookup(host)
		if got != want || ok != (want != 0) {
			t.Errorf("%s: %d %v, want %d", host, got, ok, want)
		}
	}
	for _, bad := range []string{"x", "x=0", "=3", "x=y", "*=3", "*example.com=3"} {
		if err := m.Add(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	p := filepath.Join(t.TempDir(), "sites")
	os.WriteFile(p, []byte("# comment\n\nshop.example.org=7\nbroken\n"), 0o600)
	var f Map
	if err := f.LoadFile(p); err == nil || !strings.Contains(err.Error(), ":4:") {
		t.Errorf("error %v, want one at line 4", err)
	}
	if id, _ := f.Lookup("shop.example.org"); id != 7 {
		t.Errorf("file mapping: %d", id)
	}
}
