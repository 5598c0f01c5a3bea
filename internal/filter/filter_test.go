package filter

import "testing"

func TestGlob(t *testing.T) {
	for _, tt := range []struct {
		glob, path string
		want       bool
	}{
		{"/blog/*", "/blog/a/b/", true}, {"/blog/*", "/blogs", false}, {"*.php", "/x/y.php", true},
		{"/a?c", "/abc", true}, {"/[ab]x", "/bx", true}, {"/[!ab]x", "/bx", false}, {"/a.b", "/axb", false}, {"/[x", "/[x", true},
	} {
		re, err := Glob(tt.glob)
		if err != nil {
			t.Fatal(err)
		}
		if got := re.MatchString(tt.path); got != tt.want {
			t.Errorf("Glob(%q) on %q: %v", tt.glob, tt.path, got)
		}
	}
}
