// Package filter holds the reading flags that leave hits out or change
// them (--exclude-path, --include-host, --useragent-exclude, --strip-query,
// --add-to-date...), as Matomo's importer reads them. Every sink applies
// the same filter: what it keeps of the rest is its own policy.
package filter

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/hit"
)

// Filter holds the skip rules of Matomo's importer (the reading flags:
// hosts, paths, user agents, times) and the changes it makes to hits.
type Filter struct {
	IncludeHosts []*regexp.Regexp // when set, only hosts matching one of these globs (see Glob; lower case)
	ExcludeHosts []*regexp.Regexp // never hosts matching these globs
	ExcludePaths []*regexp.Regexp // globs on the path (see Glob), e.g. /admin/*
	IncludePaths []*regexp.Regexp // when set, only paths matching one of these globs
	UAExclude    []string         // case-insensitive user-agent substrings
	OlderThan    time.Time        // skip hits before this time (zero: none)
	NewerThan    time.Time        // skip hits after this time (zero: none)
	StripQuery   bool             // drop the query string from URLs
	LowerPath    bool             // lower-case the path (--force-lowercase-path)
	AddToDate    time.Duration    // added to every hit's time (--add-to-date), before the time filters
}

// Glob compiles a shell pattern as Python's fnmatch reads it (Matomo's
// importer uses it): '*' matches anything, '/' included; '?' one character;
// [abc], [a-z] and [!abc] a character class. The whole path must match.
func Glob(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			j := strings.IndexByte(pattern[i+1:], ']')
			if j < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := pattern[i+1 : i+1+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += j + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// Skip reasons of the filters.
const (
	SkipHost  = "host_excluded"
	SkipPath  = "path_excluded"
	SkipAgent = "user_agent_excluded"
	SkipOld   = "too_old"
	SkipNew   = "too_new"
)

// Apply changes a hit as the filter says, before Skip: the query string
// stripped, the path lower-cased, hours added to the time.
func (f *Filter) Apply(h *hit.Hit) {
	if f.StripQuery {
		h.Query = ""
	}
	if f.LowerPath {
		h.Path = strings.ToLower(h.Path)
	}
	if f.AddToDate != 0 {
		h.Time = h.Time.Add(f.AddToDate)
	}
}

// Skip applies f to a hit of host; it returns a skip reason or "".
func (f *Filter) Skip(h *hit.Hit, host string) string {
	if len(f.IncludeHosts) > 0 || len(f.ExcludeHosts) > 0 {
		lh := strings.ToLower(host)
		match := func(g *regexp.Regexp) bool { return g.MatchString(lh) }
		if len(f.IncludeHosts) > 0 && !slices.ContainsFunc(f.IncludeHosts, match) {
			return SkipHost
		}
		if slices.ContainsFunc(f.ExcludeHosts, match) {
			return SkipHost
		}
	}
	for _, g := range f.ExcludePaths {
		if g.MatchString(h.Path) {
			return SkipPath
		}
	}
	if len(f.IncludePaths) > 0 && !slices.ContainsFunc(f.IncludePaths, func(g *regexp.Regexp) bool { return g.MatchString(h.Path) }) {
		return SkipPath
	}
	if len(f.UAExclude) > 0 {
		lua := strings.ToLower(h.UserAgent)
		for _, u := range f.UAExclude {
			if strings.Contains(lua, u) {
				return SkipAgent
			}
		}
	}
	if !f.OlderThan.IsZero() && h.Time.Before(f.OlderThan) {
		return SkipOld
	}
	if !f.NewerThan.IsZero() && h.Time.After(f.NewerThan) {
		return SkipNew
	}
	return ""
}
