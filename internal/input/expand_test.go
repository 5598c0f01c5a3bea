package input

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// tree makes entries under root: "name" a file, "name/" a directory,
// "name -> target" a symbolic link, "name => other" a hard link to the
// file other (relative to root), "name|" a named pipe.
func tree(t *testing.T, root string, entries ...string) {
	t.Helper()
	for _, e := range entries {
		var err error
		name, target, isLink := strings.Cut(e, " -> ")
		hname, htarget, isHard := strings.Cut(e, " => ")
		switch {
		case isHard:
			err = os.Link(filepath.Join(root, htarget), filepath.Join(root, hname))
		case isLink:
			err = os.Symlink(target, filepath.Join(root, name))
		case strings.HasSuffix(e, "/"):
			err = os.MkdirAll(filepath.Join(root, e), 0o755)
		case strings.HasSuffix(e, "|"):
			err = syscall.Mkfifo(filepath.Join(root, strings.TrimSuffix(e, "|")), 0o600)
		default:
			err = os.WriteFile(filepath.Join(root, e), []byte(e+"\n"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestExpand(t *testing.T) {
	tests := []struct {
		name    string
		tree    []string
		args    []string          // relative to the temporary root
		want    []string          // relative to it
		skipped map[string]string // relative path → part of the reason
	}{
		{
			name: "a file",
			tree: []string{"d/", "d/a.log"},
			args: []string{"d"},
			want: []string{"d/a.log"},
		},
		{
			name: "a symbolic link to a file",
			tree: []string{"d/", "out/", "out/o.log", "d/link.log -> ../out/o.log"},
			args: []string{"d"},
			want: []string{"d/link.log"},
		},
		{
			name: "a symbolic link to a directory",
			tree: []string{"d/", "out/", "out/sub/", "out/sub/deep.log", "out/o.log", "d/a.log", "d/linked -> ../out"},
			args: []string{"d"},
			want: []string{"d/a.log", "d/linked/o.log", "d/linked/sub/deep.log"},
		},
		{
			name:    "a loop: dir/link -> ..",
			tree:    []string{"d/", "d/a.log", "d/sub/", "d/sub/s.log", "d/sub/up -> ..", "d/sub/self -> ."},
			args:    []string{"d"},
			want:    []string{"d/a.log", "d/sub/s.log"},
			skipped: map[string]string{"d/sub/up": "already walked as d", "d/sub/self": "already walked as d/sub"},
		},
		{
			name:    "a loop through two links",
			tree:    []string{"d/", "x/", "y/", "x/x.log", "y/y.log", "d/to-x -> ../x", "x/to-y -> ../y", "y/to-x -> ../x"},
			args:    []string{"d"},
			want:    []string{"d/to-x/to-y/y.log", "d/to-x/x.log"},
			skipped: map[string]string{"d/to-x/to-y/to-x": "already walked as d/to-x"},
		},
		{
			name:    "a dangling link",
			tree:    []string{"d/", "d/a.log", "d/gone.log -> nowhere.log"},
			args:    []string{"d"},
			want:    []string{"d/a.log"},
			skipped: map[string]string{"d/gone.log": "dangling symbolic link (to nowhere.log"},
		},
		{
			name:    "a link loop of links",
			tree:    []string{"d/", "d/a.log", "d/l1 -> l2", "d/l2 -> l1"},
			args:    []string{"d"},
			want:    []string{"d/a.log"},
			skipped: map[string]string{"d/l1": "symbolic link loop", "d/l2": "symbolic link loop"},
		},
		{
			name: "hidden files and directories",
			tree: []string{"d/", "d/a.log", "d/.hidden.log", "d/.git/", "d/.git/x.log", "d/.link -> a.log"},
			args: []string{"d"},
			want: []string{"d/a.log"},
		},
		{
			name: "a hidden argument is walked",
			tree: []string{".d/", ".d/a.log"},
			args: []string{".d"},
			want: []string{".d/a.log"},
		},
		{
			name:    "a named pipe in a directory",
			tree:    []string{"d/", "d/a.log", "d/pipe|", "d/pipe-link -> pipe"},
			args:    []string{"d"},
			want:    []string{"d/a.log"},
			skipped: map[string]string{"d/pipe": "a named pipe, not a regular file", "d/pipe-link": "symbolic link to a named pipe"},
		},
		{
			name:    "a second name of a file is skipped, the real path kept",
			tree:    []string{"d/", "d/access.log", "d/a-current.log -> access.log", "d/sub/", "d/sub/hard.log => d/access.log"},
			args:    []string{"d"},
			want:    []string{"d/access.log"},
			skipped: map[string]string{"d/a-current.log": "same file as d/access.log", "d/sub/hard.log": "same file as d/access.log"},
		},
		{
			name:    "a link to a directory inside: the real path kept",
			tree:    []string{"d/", "d/a-link -> z", "d/z/", "d/z/z.log"},
			args:    []string{"d"},
			want:    []string{"d/z/z.log"},
			skipped: map[string]string{"d/a-link": "already walked as d/z"},
		},
		{
			name: "files sorted by path within an argument, arguments in order",
			tree: []string{"d/", "d/b/", "d/b/x.log", "d/b.log", "d/a.log", "e/", "e/0.log", "f.log"},
			args: []string{"f.log", "-", "e", "d"},
			want: []string{"f.log", "-", "e/0.log", "d/a.log", "d/b.log", "d/b/x.log"},
		},
		{
			name:    "a directory given twice is walked once; files given are kept",
			tree:    []string{"d/", "d/a.log"},
			args:    []string{"d", "d/a.log", "d"},
			want:    []string{"d/a.log", "d/a.log"},
			skipped: map[string]string{"d": "directory already walked as d"},
		},
		{
			name:    "a file given, then found in a directory",
			tree:    []string{"d/", "d/a.log", "d/b.log"},
			args:    []string{"d/a.log", "d"},
			want:    []string{"d/a.log", "d/b.log"},
			skipped: map[string]string{"d/a.log": "same file as d/a.log"},
		},
		{
			name: "an argument that links to a directory",
			tree: []string{"d/", "d/a.log", "ld -> d"},
			args: []string{"ld"},
			want: []string{"ld/a.log"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tree(t, root, tt.tree...)
			t.Chdir(root)
			names, skipped, err := Expand(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("names %q, want %q", names, tt.want)
			}
			got := map[string]string{}
			for _, s := range skipped {
				got[s.Path] = s.Reason
			}
			for p, reason := range tt.skipped {
				if !strings.Contains(got[p], reason) {
					t.Errorf("skipped %s: %q, want %q", p, got[p], reason)
				}
			}
			if len(got) != len(tt.skipped) {
				t.Errorf("skipped %v, want %d entries", skipped, len(tt.skipped))
			}
		})
	}
}

func TestExpandErrors(t *testing.T) {
	if _, _, err := Expand(nil); err == nil {
		t.Error("no argument: no error")
	}
	root := t.TempDir()
	if _, _, err := Expand([]string{filepath.Join(root, "missing")}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing argument: %v", err)
	}
	// A dangling link given as an argument is an error, as a missing file.
	tree(t, root, "gone -> nowhere")
	if _, _, err := Expand([]string{filepath.Join(root, "gone")}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dangling argument: %v", err)
	}
}

// Absolute arguments give absolute names; "./d" gives "d/…" as
// filepath.Join cleans it (as the walk in cli did).
func TestExpandPaths(t *testing.T) {
	root := t.TempDir()
	tree(t, root, "d/", "d/a.log")
	names, _, err := Expand([]string{filepath.Join(root, "d") + "/"})
	if err != nil || len(names) != 1 || names[0] != filepath.Join(root, "d", "a.log") {
		t.Fatalf("%q %v", names, err)
	}
	t.Chdir(root)
	names, _, err = Expand([]string{"./d"})
	if err != nil || len(names) != 1 || names[0] != "d/a.log" {
		t.Fatalf("%q %v", names, err)
	}
}
