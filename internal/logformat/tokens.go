package logformat

import "strings"

// splitQuoted splits a line on spaces; a field that starts with '"' runs to
// the next unescaped '"' and is unquoted (\" and \\ undone), and "[...]" is
// one field (its brackets kept). It returns nil for an unterminated quote.
func splitQuoted(s string, dst []string) []string {
	dst = dst[:0]
	for i := 0; i < len(s); {
		switch s[i] {
		case ' ', '\t':
			i++
		case '"':
			j, esc := i+1, false
			for ; j < len(s); j++ {
				if s[j] == '\\' && j+1 < len(s) {
					esc = true
					j++
					continue
				}
				if s[j] == '"' {
					break
				}
			}
			if j >= len(s) {
				return nil
			}
			v := s[i+1 : j]
			if esc {
				v = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(v)
			}
			dst = append(dst, v)
			i = j + 1
		case '[':
			// "[10/Feb/2012:16:42:07 -0500]" (with its space) or "[2001:db8::1]:443"
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil
			}
			end := i + j + 1
			if k := strings.IndexAny(s[end:], " \t"); k < 0 {
				end = len(s)
			} else {
				end += k
			}
			dst = append(dst, s[i:end])
			i = end
		default:
			j := strings.IndexAny(s[i:], " \t")
			if j < 0 {
				j = len(s) - i
			}
			dst = append(dst, s[i:i+j])
			i += j
		}
	}
	return dst
}

// splitURL splits an absolute or origin-form request target into scheme,
// host (without a default port), path and query.
func splitURL(target string) (scheme, host, path, query string) {
	path = target
	if i := strings.Index(path, "://"); i > 0 && !strings.Contains(path[:i], "/") {
		scheme, path = strings.ToLower(path[:i]), path[i+3:]
		j := strings.IndexAny(path, "/?")
		if j < 0 {
			host, path = path, "/"
		} else {
			host, path = path[:j], path[j:]
		}
		if h, port, ok := strings.Cut(host, ":"); ok && !strings.Contains(port, ":") &&
			((scheme == "https" && port == "443") || (scheme == "http" && port == "80")) {
			host = h
		}
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i+1:]
	}
	if path == "" {
		path = "/"
	}
	return scheme, host, path, query
}
