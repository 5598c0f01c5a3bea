package input

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Skipped is an entry of a directory that Expand left out, and why.
type Skipped struct {
	Path   string // the name it would have been listed as
	Reason string
}

func (s Skipped) String() string { return s.Path + ": " + s.Reason }

// Expand turns command-line arguments into input names:
//
//   - "-" (stdin) stays;
//   - anything else that is not a directory is listed as given (an error if
//     it does not exist);
//   - a directory (also through a symbolic link) is walked recursively and
//     its regular files are listed, sorted by name (the whole path, as
//     sort.Strings sorts) within each argument. Names starting with '.'
//     (hidden files and directories) are left out, except the argument
//     itself.
//
// Within a directory, a symbolic link is followed: to a regular file it is
// listed by its path inside the directory; to a directory that one is
// walked, after the directories reached without links, so that a file is
// listed by its real path when it has one. A directory is walked once
// (directories are told apart by device and inode, across all arguments):
// a link back to a directory already walked (a loop) is skipped, so are a
// dangling link and entries that are not regular files (named pipes,
// sockets, devices: give them as arguments to read them). A file found in
// a directory that is the same file (device and inode) as a name already
// listed is skipped, so that "current.log -> access.log" is not read twice;
// among names of one file found in one argument, a path without links is
// preferred. Files given as arguments are listed as given, even twice.
//
// Every entry left out, except hidden ones, is returned in skipped with the
// reason: nothing is left out silently. An argument that does not exist or
// a directory that cannot be read is an error.
func Expand(args []string) (names []string, skipped []Skipped, err error) {
	if len(args) == 0 {
		return nil, nil, errors.New("no input: give files, directories, or - for stdin")
	}
	e := &expander{dirs: map[fileKey]string{}, files: map[fileKey]string{}}
	for _, a := range args {
		if a == "-" {
			names = append(names, a)
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, nil, err
		}
		if !st.IsDir() {
			names = append(names, a)
			if k, ok := keyOf(st); ok {
				if _, seen := e.files[k]; !seen {
					e.files[k] = a
				}
			}
			continue
		}
		found, err := e.walkArg(a, st)
		if err != nil {
			return nil, nil, err
		}
		names = append(names, e.dedupe(found)...)
	}
	return names, e.skipped, nil
}

type fileKey struct{ dev, ino uint64 }

func keyOf(fi fs.FileInfo) (fileKey, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileKey{}, false
	}
	return fileKey{uint64(st.Dev), uint64(st.Ino)}, true
}

type expander struct {
	dirs    map[fileKey]string // directories walked → the path walked as
	files   map[fileKey]string // files listed → the name listed
	skipped []Skipped
}

type found struct {
	path    string
	key     fileKey
	hasKey  bool
	viaLink bool // a symbolic link is on its path inside the argument
}

type linkedDir struct {
	path string
	st   fs.FileInfo
}

func (e *expander) skip(path, format string, a ...any) {
	e.skipped = append(e.skipped, Skipped{Path: path, Reason: fmt.Sprintf(format, a...)})
}

// enter marks a directory walked; false when it was already.
func (e *expander) enter(path string, st fs.FileInfo, link bool) bool {
	k, ok := keyOf(st)
	if !ok {
		return true
	}
	if prev, seen := e.dirs[k]; seen {
		if link {
			e.skip(path, "symbolic link to a directory already walked as %s (a loop, or a second way in)", prev)
		} else {
			e.skip(path, "directory already walked as %s", prev)
		}
		return false
	}
	e.dirs[k] = path
	return true
}

// walkArg walks a directory argument: its tree without links first, then
// the directories that links lead to.
func (e *expander) walkArg(root string, st fs.FileInfo) ([]found, error) {
	if !e.enter(root, st, false) {
		return nil, nil
	}
	var files []found
	var pending []linkedDir
	if err := e.walk(root, false, &files, &pending); err != nil {
		return nil, err
	}
	for len(pending) > 0 {
		d := pending[0]
		pending = pending[1:]
		if !e.enter(d.path, d.st, true) {
			continue
		}
		if err := e.walk(d.path, true, &files, &pending); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// walk lists dir: regular files into files, directories recursively,
// links to directories into pending.
func (e *expander) walk(dir string, viaLink bool, files *[]found, pending *[]linkedDir) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, d := range ents {
		name := d.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		t := d.Type()
		switch {
		case t.IsRegular():
			f := found{path: p, viaLink: viaLink}
			if info, err := d.Info(); err == nil {
				f.key, f.hasKey = keyOf(info)
			} else {
				e.skip(p, "%v", bare(err))
				continue
			}
			*files = append(*files, f)
		case t.IsDir():
			info, err := d.Info()
			if err != nil {
				e.skip(p, "%v", bare(err))
				continue
			}
			if !e.enter(p, info, false) {
				continue
			}
			if err := e.walk(p, viaLink, files, pending); err != nil {
				return err
			}
		case t&fs.ModeSymlink != 0:
			st, err := os.Stat(p)
			if err != nil {
				e.skip(p, "%s", linkError(p, err))
				continue
			}
			switch {
			case st.Mode().IsRegular():
				f := found{path: p, viaLink: true}
				f.key, f.hasKey = keyOf(st)
				*files = append(*files, f)
			case st.IsDir():
				*pending = append(*pending, linkedDir{p, st})
			default:
				e.skip(p, "symbolic link to %s, not a regular file", kind(st.Mode()))
			}
		default:
			e.skip(p, "%s, not a regular file", kind(t))
		}
	}
	return nil
}

// dedupe sorts the files of one argument and drops the second names of a
// file (see Expand).
func (e *expander) dedupe(files []found) []string {
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	// The name each file is listed as: one listed before, or the first
	// without a link, or the first.
	chosen := map[fileKey]string{}
	for _, f := range files {
		if !f.hasKey {
			continue
		}
		if _, ok := e.files[f.key]; ok {
			continue
		}
		if _, ok := chosen[f.key]; !ok || !f.viaLink && linked(files, chosen[f.key]) {
			chosen[f.key] = f.path
		}
	}
	var out []string
	for _, f := range files {
		if !f.hasKey {
			out = append(out, f.path)
			continue
		}
		if prev, ok := e.files[f.key]; ok {
			e.skip(f.path, "same file as %s", prev)
			continue
		}
		if c := chosen[f.key]; c != f.path {
			e.skip(f.path, "same file as %s", c)
			continue
		}
		out = append(out, f.path)
	}
	for k, p := range chosen {
		e.files[k] = p
	}
	return out
}

// linked reports whether path was found through a link.
func linked(files []found, path string) bool {
	i := sort.Search(len(files), func(i int) bool { return files[i].path >= path })
	return i < len(files) && files[i].path == path && files[i].viaLink
}

// linkError says why a symbolic link cannot be followed.
func linkError(p string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if target, rerr := os.Readlink(p); rerr == nil {
			return fmt.Sprintf("dangling symbolic link (to %s, which does not exist)", target)
		}
		return "dangling symbolic link"
	case errors.Is(err, syscall.ELOOP):
		return "symbolic link loop (too many levels of symbolic links)"
	}
	return fmt.Sprintf("symbolic link cannot be followed: %v", bare(err))
}

// bare is err without the path a *fs.PathError repeats.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "an irregular file"
}
