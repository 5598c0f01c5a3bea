package e2e_test

import (
	"bufio"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// fixturesDir holds the log fixtures of Matomo's import_logs.py, beside the
// repository (see ../shared/fixtures/README.md); tests skip without it.
const fixturesDir = "../../../shared/fixtures/import_logs"

// compared are the parameters of a visit request the parity test compares.
var compared = []string{"url", "urlref", "cip", "cdt", "ua", "idsite", "download", "bw_bytes", "pf_srv", "uid", "action_name", "bots"}

// trackless options for fixtures whose format is not detected: gandi's is
// read by a --log-format pasted as a user would.
var parityOptions = map[string][]string{
	"gandi": {"--log-format", `$host $remote_addr - $remote_user [$time_local] ($request_time s) "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`},
}

// importerRequest is one line of testdata/import_logs/*/*.jsonl: what
// import_logs.py sends for a line of a fixture (tools/parity/update.sh).
type importerRequest struct {
	Line int64             `json:"line"`
	Args map[string]string `json:"args"`
}

// tlHit is the part of a `parse --output jsonl` line the test reads.
type tlHit struct {
	Line      int64  `json:"line"`
	Skip      string `json:"skip"`
	Request   string `json:"request"`
	UserAgent string `json:"user_agent"`
}

// TestImportLogsParity runs `parse --mode visits` over each fixture of
// import_logs.py and compares, line by line, the requests with those the
// importer sends (recorded by tools/parity/update.sh), with the importer's
// default filters and with every --enable-* filter. Every difference must be
// one of the deliberate ones of docs/import_logs.md, named in deliberate.
func TestImportLogsParity(t *testing.T) {
	if _, err := os.Stat(fixturesDir); err != nil {
		t.Skip("no import_logs fixtures beside the repository:", err)
	}
	cases, err := os.ReadFile("testdata/import_logs/cases.tsv")
	if err != nil {
		t.Fatal(err)
	}
	enable := []string{"--enable-static", "--enable-bots", "--enable-http-errors", "--enable-http-redirects"}
	for _, c := range strings.Split(strings.TrimSpace(string(cases)), "\n") {
		name, _, _ := strings.Cut(c, "\t")
		for _, conf := range []string{"defaults", "all"} {
			t.Run(name+"/"+conf, func(t *testing.T) {
				args := []string{"parse", "--mode", "visits", "--token-auth", "parity", "--site-id", "1",
					"--log-hostname", "example.com", "--default-protocol", "http", "--output", "jsonl"}
				if conf == "all" {
					args = append(args, enable...)
				}
				args = append(args, parityOptions[name]...)
				args = append(args, filepath.Join(fixturesDir, name+".log"))
				r := run(t, nil, args...)
				if r.code != 0 && r.code != 1 {
					t.Fatalf("exit %d: %s", r.code, r.stderr)
				}
				ours := map[int64]tlHit{}
				for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
					if l == "" {
						continue
					}
					var h tlHit
					if err := json.Unmarshal([]byte(l), &h); err != nil {
						t.Fatal(err, l)
					}
					ours[h.Line] = h
				}
				theirs := readImporter(t, filepath.Join("testdata/import_logs", conf, name+".jsonl"))
				lines := map[int64]bool{}
				for l := range ours {
					if ours[l].Request != "" {
						lines[l] = true
					}
				}
				for l := range theirs {
					lines[l] = true
				}
				var sorted []int64
				for l := range lines {
					sorted = append(sorted, l)
				}
				sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
				for _, l := range sorted {
					want, sent := theirs[l]
					h := ours[l]
					if h.Request == "" || !sent {
						why := deliberateSelection(h, sent)
						if why == "" {
							t.Errorf("line %d: import_logs.py sends it: %v, trackless: %v (skip %q)", l, sent, h.Request != "", h.Skip)
						} else {
							t.Logf("line %d: sent by one only, deliberately: %s", l, why)
						}
						continue
					}
					q, err := url.ParseQuery(strings.TrimPrefix(h.Request, "?"))
					if err != nil {
						t.Fatal(err)
					}
					for _, k := range compared {
						got, w := q.Get(k), want.Args[k]
						if got == w {
							continue
						}
						if why := deliberateParam(name, k, w, got); why != "" {
							t.Logf("line %d %s: import_logs.py %q, trackless %q: %s", l, k, w, got, why)
							continue
						}
						t.Errorf("line %d %s: import_logs.py %q, trackless %q", l, k, w, got)
					}
				}
			})
		}
	}
}

func readImporter(t *testing.T, path string) map[int64]importerRequest {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[int64]importerRequest{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r importerRequest
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(path, err)
		}
		m[r.Line] = r
	}
	return m
}

// deliberateSelection says why a line is sent by one tool and not the other,
// or "" when it is not a documented difference.
func deliberateSelection(h tlHit, importerSends bool) string {
	if importerSends && h.Skip == "bot" {
		return "a bot for crawler-user-agents, a person for the importer's 30 substrings"
	}
	return ""
}

// deliberate lists the documented differences (docs/import_logs.md,
// "Deliberate differences") of one parameter, each with a check that the
// two values differ in that way only.
var deliberate = []struct {
	fixtures []string // nil: any
	key      string
	reason   string
	ok       func(importer, trackless string) bool
}{
	{nil, "url", "the scheme is the log's (https), the importer uses the site's main URL's", sameButScheme},
	{nil, "download", "the scheme is the log's", sameButScheme},
	{[]string{"iis", "netscaler"}, "ua", "a '+' in a W3C user agent is a space", func(i, t string) bool { return strings.ReplaceAll(i, "+", " ") == t }},
	{[]string{"caddy_json"}, "cdt", "whole seconds (Matomo stores seconds)", func(i, t string) bool { return strings.HasPrefix(i, t+".") }},
	{[]string{"traefik_json"}, "cdt", "Traefik's StartUTC (the request's time, UTC), not `time` (when the line was written, without a zone)", func(i, t string) bool { return t != "" }},
	{[]string{"alb", "elb"}, "pf_srv", "the three processing times added, not the target's alone", func(i, t string) bool { return atoi(t) >= atoi(i) && atoi(t)-atoi(i) <= 2 }},
	{[]string{"s3"}, "pf_srv", "S3's total time is sent (the importer reads none)", func(i, t string) bool { return i == "" && t != "" }},
	{nil, "pf_srv", "0 ms is sent (the importer omits it)", func(i, t string) bool { return i == "" && t == "0" }},
	{nil, "bw_bytes", "0 bytes is sent (the importer omits it)", func(i, t string) bool { return i == "" && t == "0" }},
	{nil, "ua", "\"-\" is no user agent (the importer sends \"-\")", func(i, t string) bool { return i == "-" && t == "" }},
	{[]string{"iis_custom"}, "cip", "no client address in the log: no cip (the importer sends \"-\")", func(i, t string) bool { return i == "-" && t == "" }},
}

// deliberateParam says why a parameter of a fixture differs, or "" when it
// is not a documented difference.
func deliberateParam(fixture, key, importer, trackless string) string {
	for _, d := range deliberate {
		if d.key == key && (d.fixtures == nil || slices.Contains(d.fixtures, fixture)) && d.ok(importer, trackless) {
			return d.reason
		}
	}
	return ""
}

func sameButScheme(importer, trackless string) bool {
	return strings.HasPrefix(importer, "http://") && "https://"+strings.TrimPrefix(importer, "http://") == trackless
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1 << 30
	}
	return n
}
