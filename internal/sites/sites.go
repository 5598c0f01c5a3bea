// Package sites maps the host of a hit to a Matomo site id.
package sites

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Map maps hosts to site ids: exact host names, and "*.example.com"
// patterns for any subdomain. Hosts are compared in lower case, without a
// port. The zero Map maps nothing.
type Map struct {
	exact map[string]int
	wild  []wildcard // longest suffix first
}

type wildcard struct {
	suffix string // ".example.com"
	id     int
}

// Add parses "HOST=ID" and adds it.
func (m *Map) Add(spec string) error {
	host, id, ok := strings.Cut(spec, "=")
	host = normalize(host)
	n, err := strconv.Atoi(strings.TrimSpace(id))
	if !ok || host == "" || err != nil || n <= 0 {
		return fmt.Errorf("site %q: want HOST=ID with a positive id, e.g. www.example.com=3 or *.example.com=3", spec)
	}
	if m.exact == nil {
		m.exact = make(map[string]int)
	}
	if suffix, ok := strings.CutPrefix(host, "*"); ok {
		if !strings.HasPrefix(suffix, ".") || len(suffix) < 2 {
			return fmt.Errorf("site %q: a pattern must look like *.example.com", spec)
		}
		m.wild = append(m.wild, wildcard{suffix, n})
		for i := len(m.wild) - 1; i > 0 && len(m.wild[i].suffix) > len(m.wild[i-1].suffix); i-- {
			m.wild[i], m.wild[i-1] = m.wild[i-1], m.wild[i]
		}
		return nil
	}
	m.exact[host] = n
	return nil
}

// LoadFile adds the HOST=ID lines of a file; blank lines and lines starting
// with '#' are skipped.
func (m *Map) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if err := m.Add(line); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}

// Len is the number of rules.
func (m *Map) Len() int { return len(m.exact) + len(m.wild) }

// Lookup returns the site of host.
func (m *Map) Lookup(host string) (int, bool) {
	h := normalize(host)
	if id, ok := m.exact[h]; ok {
		return id, true
	}
	for _, w := range m.wild {
		if strings.HasSuffix(h, w.suffix) {
			return w.id, true
		}
	}
	return 0, false
}

func normalize(host string) string {
	host = strings.ToLower(strings.TrimSpace(host))
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") && strings.Count(host, ":") == 1 {
		host = host[:i]
	}
	return strings.TrimSuffix(host, ".")
}
