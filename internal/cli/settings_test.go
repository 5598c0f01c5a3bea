package cli

import (
	"bytes"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/pipeline"
	"github.com/trackless/trackless/internal/report"
)

// runEnv runs the command line with the environment vars and returns its
// exit code, stdout and stderr.
func runEnv(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(Env{Args: args, Getenv: func(k string) string { return vars[k] }, Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

// TestSettingsTable: every command's flag set can be built (defaults
// parse, no name twice, every target has a flag type), every setting is
// complete, and no two settings of a command share a variable.
func TestSettingsTable(t *testing.T) {
	for _, n := range commandNames {
		var c config
		f := newFlags(n.cmd, &c) // panics on a malformed table
		vars := map[string]string{}
		for _, s := range f.list {
			for _, v := range s.allEnvVars() {
				if other, dup := vars[v]; dup {
					t.Errorf("%s: %s sets both --%s and --%s", n.name, v, other, s.name)
				}
				vars[v] = s.name
			}
		}
	}
	seen := map[string]bool{}
	for i := range settings {
		s := &settings[i]
		if s.help == "" || s.cmds == 0 || s.group >= numGroups || s.target == nil {
			t.Errorf("--%s: incomplete: %+v", s.name, s)
		}
		if strings.Contains(strings.ToLower(s.help+s.doc), "peer") {
			t.Errorf("--%s: its help says \"peer\"; say Matomo's CloudFront Lambda", s.name)
		}
		_, isBool := s.target(&config{}).(*bool)
		if isBool != (s.arg == "") {
			t.Errorf("--%s: a boolean has no value placeholder, and every other setting has one (%q)", s.name, s.arg)
		}
		for _, n := range s.names() {
			// A name may be in the table twice only for commands apart.
			if seen[n] {
				for j := range settings[:i] {
					if slices.Contains(settings[j].names(), n) && settings[j].cmds&s.cmds != 0 {
						t.Errorf("--%s twice for %s", n, settings[j].cmds&s.cmds)
					}
				}
			}
			seen[n] = true
		}
	}
}

// TestPrecedence: a flag under any of its names beats TRACKLESS_* under any
// name, which beats the variable of Matomo's CloudFront Lambda, which beats
// the default.
func TestPrecedence(t *testing.T) {
	tests := []struct {
		name    string
		cmd     command
		args    []string
		env     map[string]string
		get     func(*config) any
		want    any
		setting string // its source, in parseArgs' set
		source  string
	}{
		{"--default-host beats TRACKLESS_LOG_HOSTNAME", cmdSend, []string{"--default-host", "flag.example"},
			map[string]string{"TRACKLESS_LOG_HOSTNAME": "env.example"}, func(c *config) any { return c.defHost }, "flag.example", "default-host", "--default-host"},
		{"--log-hostname beats TRACKLESS_DEFAULT_HOST", cmdParse, []string{"--log-hostname", "flag.example"},
			map[string]string{"TRACKLESS_DEFAULT_HOST": "env.example", "CLOUDFRONT_DEFAULT_HOST": "cf.example"}, func(c *config) any { return c.defHost }, "flag.example", "default-host", "--log-hostname"},
		{"--hostname beats TRACKLESS_INCLUDE_HOST", cmdReport, []string{"--hostname", "a.example"},
			map[string]string{"TRACKLESS_INCLUDE_HOST": "b.example"}, func(c *config) any { return []string(c.includeHosts) }, []string{"a.example"}, "include-host", "--hostname"},
		{"TRACKLESS_HOSTNAME when no flag", cmdReport, nil,
			map[string]string{"TRACKLESS_HOSTNAME": "b.example,c.example"}, func(c *config) any { return []string(c.includeHosts) }, []string{"b.example", "c.example"}, "include-host", "TRACKLESS_HOSTNAME"},
		{"TRACKLESS_ of the name beats TRACKLESS_ of the alias", cmdSend, nil,
			map[string]string{"TRACKLESS_DEFAULT_HOST": "name.example", "TRACKLESS_LOG_HOSTNAME": "alias.example"}, func(c *config) any { return c.defHost }, "name.example", "default-host", "TRACKLESS_DEFAULT_HOST"},
		{"TRACKLESS_LOG_HOSTNAME beats CLOUDFRONT_DEFAULT_HOST", cmdLambda, nil,
			map[string]string{"TRACKLESS_LOG_HOSTNAME": "env.example", "CLOUDFRONT_DEFAULT_HOST": "cf.example"}, func(c *config) any { return c.defHost }, "env.example", "default-host", "TRACKLESS_LOG_HOSTNAME"},
		{"CLOUDFRONT_DEFAULT_HOST beats the default", cmdLambda, nil,
			map[string]string{"CLOUDFRONT_DEFAULT_HOST": "cf.example"}, func(c *config) any { return c.defHost }, "cf.example", "default-host", "CLOUDFRONT_DEFAULT_HOST"},
		{"--site-id beats both variables", cmdParse, []string{"--site-id", "3"},
			map[string]string{"TRACKLESS_SITE_ID": "2", "MATOMO_SITE_ID": "1"}, func(c *config) any { return c.siteID }, 3, "site-id", "--site-id"},
		{"TRACKLESS_SITE_ID beats MATOMO_SITE_ID", cmdSend, nil,
			map[string]string{"TRACKLESS_SITE_ID": "2", "MATOMO_SITE_ID": "1"}, func(c *config) any { return c.siteID }, 2, "site-id", "TRACKLESS_SITE_ID"},
		{"an empty TRACKLESS_ variable is unset", cmdSend, nil,
			map[string]string{"TRACKLESS_BATCH_SIZE": "", "BATCH_SIZE": "20"}, func(c *config) any { return c.batchSize }, 20, "batch-size", "BATCH_SIZE"},
		{"MATOMO_TIMEOUT_MS in replay", cmdReplay, nil,
			map[string]string{"MATOMO_TIMEOUT_MS": "1000"}, func(c *config) any { return c.timeoutMS }, 1000, "timeout-ms", "MATOMO_TIMEOUT_MS"},
		{"default timeout", cmdSend, nil, nil, func(c *config) any { return c.timeoutMS }, 300000, "timeout-ms", ""},
		{"default batch size", cmdLambda, nil, nil, func(c *config) any { return c.batchSize }, 200, "batch-size", ""},
		{"default max outage", cmdSend, nil, nil, func(c *config) any { return c.maxOutage }, 10 * time.Minute, "max-outage", ""},
		{"default reorder window", cmdParse, nil, nil, func(c *config) any { return c.reorderWindow }, pipeline.DefaultReorderWindow, "reorder-window", ""},
		{"--max-outage", cmdSend, []string{"--max-outage", "1h"}, map[string]string{"TRACKLESS_MAX_OUTAGE": "2h"}, func(c *config) any { return c.maxOutage }, time.Hour, "max-outage", "--max-outage"},
		{"TRACKLESS_ALLOW_OLD_MATOMO in the Lambda", cmdLambda, nil, map[string]string{"TRACKLESS_ALLOW_OLD_MATOMO": "true"}, func(c *config) any { return c.allowOldMatomo }, true, "allow-old-matomo", "TRACKLESS_ALLOW_OLD_MATOMO"},
		{"--force=false beats TRACKLESS_FORCE", cmdSend, []string{"--force=false"}, map[string]string{"TRACKLESS_FORCE": "1"}, func(c *config) any { return c.force }, false, "force", "--force"},
		{"report's own settings", cmdReport, []string{"-o", "r.html"}, map[string]string{"TRACKLESS_TOP": "7"}, func(c *config) any { return [2]any{c.rep.html, c.rep.top} }, [2]any{"r.html", 7}, "top", "TRACKLESS_TOP"},
		{"XDG_STATE_HOME", cmdSend, nil, map[string]string{"XDG_STATE_HOME": "/x"}, func(c *config) any { return c.stateDir }, "/x/trackless", "state-dir", ""},
		{"a variable of another command is not read", cmdReplay, nil, map[string]string{"TRACKLESS_LEDGER": "s3://b/p/"}, func(c *config) any { return c.ledger }, "", "ledger", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c config
			var stderr bytes.Buffer
			env := Env{Getenv: func(k string) string { return tt.env[k] }, Stdout: &stderr, Stderr: &stderr}
			_, set, code, ok := parseArgs(env, tt.cmd, &c, tt.args)
			if !ok {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if got := tt.get(&c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
			if set[tt.setting] != tt.source {
				t.Errorf("set by %q, want %q", set[tt.setting], tt.source)
			}
		})
	}
}

// TestUsageErrors: a bad flag or variable is one line that names it, with
// the command's help to see, and exit 2. The ignored flags of report and
// replay, and --retries, are unknown.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"send", "--sit-id", "1", "x.log"}, "trackless send: unknown flag --sit-id (did you mean --site-id?); see 'trackless send --help'"},
		{nil, []string{"parse", "-sit-id", "1", "x.log"}, "trackless parse: unknown flag --sit-id (did you mean --site-id?)"},
		{nil, []string{"send", "--matomo", "x"}, "unknown flag --matomo (did you mean --matomo-url?)"},
		{nil, []string{"parse", "--site-id", "1", "--after", "delete", "x.log"}, "trackless parse: unknown flag --after (it is a flag of send); see 'trackless parse --help'"},
		{nil, []string{"send", "--retries", "3", "x.log"}, "unknown flag --retries"},
		{nil, []string{"report", "--progress", "never", "x.log"}, "trackless report: unknown flag --progress (it is a flag of send, parse)"},
		{nil, []string{"replay", "--ledger", "s3://b/p/", "x.jsonl"}, "trackless replay: unknown flag --ledger"},
		{nil, []string{"replay", "--claim-ttl", "1m", "x.jsonl"}, "trackless replay: unknown flag --claim-ttl"},
		{nil, []string{"replay", "--after", "delete", "x.jsonl"}, "trackless replay: unknown flag --after"},
		{nil, []string{"send", "--site-id", "one", "x.log"}, `trackless send: invalid value "one" for --site-id: not an integer; see 'trackless send --help'`},
		{nil, []string{"send", "--force=maybe", "x.log"}, `invalid value "maybe" for --force`},
		{nil, []string{"send", "x.log", "--site-id"}, "trackless send: --site-id needs a value"},
		{nil, []string{"send", "--max-outage", "10", "x.log"}, `invalid value "10" for --max-outage: not a duration`},
		{map[string]string{"MATOMO_SITE_ID": "x"}, []string{"parse", "x.log"}, "trackless parse: MATOMO_SITE_ID=x: not an integer (the variable sets --site-id)"},
		{map[string]string{"TRACKLESS_LOG_HOSTNAME": "a", "TRACKLESS_CONCURRENCY": "many"}, []string{"parse", "x.log"}, "TRACKLESS_CONCURRENCY=many"},
		{nil, []string{"send", "-o", "x.html", "x.log"}, "trackless send: unknown flag -o (it is a flag of report)"},
		{nil, []string{"report", "-o"}, "trackless report: -o needs a value"},
		{nil, []string{"send", "--max-outage", "0s", "--matomo-url", "http://127.0.0.1:9", "--site-id", "1", "x.log"}, "--max-outage must be positive"},
		{nil, []string{"sned"}, "trackless: unknown command \"sned\" (did you mean send?); see 'trackless --help'"},
	}
	for _, tt := range tests {
		code, out, errs := runEnv(t, tt.env, tt.args...)
		if code != ExitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tt.want) {
			t.Errorf("%v %v: exit %d, stdout %q, stderr %q; want exit 2 and the one line %q", tt.env, tt.args, code, out, errs, tt.want)
		}
	}
}

// TestHelp: --help and -h exit 0 and list every setting of the command
// once, under its group's heading, the groups in their order, in 100
// columns, with examples and no "peer".
func TestHelp(t *testing.T) {
	wantGroups := map[command][]string{
		cmdSend:    {"Input and format", "Filters", "Matomo", "Delivery", "S3 and AWS", "Output", "Report", "Lake"},
		cmdLake:    {"Lake", "Input and format", "Filters", "Matomo", "Delivery", "S3 and AWS", "Output", "Report"},
		cmdCompact: {"Lake", "Filters", "S3 and AWS", "Output"},
		cmdParse:   {"Input and format", "Filters", "Matomo", "Delivery", "S3 and AWS", "Output"},
		cmdReport:  {"Report", "Input and format", "Filters", "Delivery", "S3 and AWS", "Output"},
		cmdReplay:  {"Matomo", "Delivery", "Output"},
	}
	for _, ci := range commandInfos {
		name := cmdName(ci.cmd)
		words := strings.Fields(name) // "lake compact"
		code, out, errs := runEnv(t, nil, append(words, "--help")...)
		if code != ExitOK || errs != "" {
			t.Fatalf("%s --help: exit %d, stderr %q", name, code, errs)
		}
		for _, alt := range [][]string{append(words, "-h"), append([]string{"help"}, words...), append(words, "x.log", "--help")} {
			if c2, o2, _ := runEnv(t, nil, alt...); c2 != ExitOK || o2 != out {
				t.Errorf("%v: exit %d, or not the help of %s --help", alt, c2, name)
			}
		}
		if strings.Contains(strings.ToLower(out), "peer") {
			t.Errorf("%s --help says \"peer\"", name)
		}
		if !strings.Contains(out, "Examples:\n  trackless ") || !strings.Contains(out, "Matomo's CloudFront Lambda") {
			t.Errorf("%s --help: no examples, or Matomo's CloudFront Lambda not explained:\n%s", name, out)
		}
		lines := strings.Split(out, "\n")
		var groups []string
		flagLines := map[string]int{}
		for _, l := range lines {
			if len(l) > helpWidth {
				t.Errorf("%s --help: line of %d columns: %q", name, len(l), l)
			}
			if strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " ") && l != "Examples:" {
				groups = append(groups, strings.TrimSuffix(l, ":"))
			}
			if strings.HasPrefix(l, "  -") {
				flagLines[strings.Fields(l)[0]]++
			}
		}
		if !slices.Equal(groups, wantGroups[ci.cmd]) {
			t.Errorf("%s --help: groups %q, want %q", name, groups, wantGroups[ci.cmd])
		}
		n := 0
		for i := range settings {
			s := &settings[i]
			if s.cmds&ci.cmd == 0 {
				continue
			}
			n++
			first := strings.Split(flagNames(s, ", "), ",")[0]
			if len(s.aliases) > 0 {
				first += ","
			}
			if flagLines[first] != 1 {
				t.Errorf("%s --help: %s listed %d times", name, first, flagLines[first])
			}
			for _, v := range s.allEnvVars() {
				if !strings.Contains(out, v) {
					t.Errorf("%s --help: %s does not name %s", name, s.name, v)
				}
			}
		}
		if len(flagLines) != n {
			t.Errorf("%s --help: %d flag lines, %d settings", name, len(flagLines), n)
		}
	}
	if code, out, _ := runEnv(t, nil, "--help"); code != ExitOK || !strings.Contains(out, "trackless COMMAND --help") {
		t.Errorf("trackless --help: exit %d\n%s", code, out)
	}
}

// TestHelpExamples: the examples of --help are valid command lines.
func TestHelpExamples(t *testing.T) {
	for _, ci := range commandInfos {
		if len(ci.examples) < 3 {
			t.Errorf("%s: %d examples", cmdName(ci.cmd), len(ci.examples))
		}
		for _, e := range ci.examples {
			words := shellWords(e)
			for len(words) > 0 && strings.Contains(words[0], "=") {
				words = words[1:] // VAR=value
			}
			cmd := append([]string{"trackless"}, strings.Fields(cmdName(ci.cmd))...) // "lake compact"
			if len(words) < len(cmd) || !slices.Equal(words[:len(cmd)], cmd) {
				t.Errorf("example %q: not trackless %s", e, cmdName(ci.cmd))
				continue
			}
			var c config
			var stderr bytes.Buffer
			env := Env{Getenv: func(string) string { return "" }, Stdout: &stderr, Stderr: &stderr}
			if pos, _, _, ok := parseArgs(env, ci.cmd, &c, words[len(cmd):]); !ok || (len(pos) == 0) != (ci.cmd == cmdCompact) {
				t.Errorf("example %q: %s (inputs %q)", e, stderr.String(), pos)
			}
		}
	}
}

// shellWords splits a command line as a shell would, for the examples:
// quotes, and a pipe ends the command.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == '|':
			return words
		case r == ' ':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// TestSettingsDoc: docs/settings.md is what the settings table generates.
// Regenerate it with go test ./internal/cli -run TestSettingsDoc -update.
func TestSettingsDoc(t *testing.T) {
	const path = "../../docs/settings.md"
	want := settingsDoc()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("docs/settings.md is not what the settings table generates: run go test ./internal/cli -run TestSettingsDoc -update")
	}
	for i := range settings {
		if !strings.Contains(want, "`--"+settings[i].name) && !strings.Contains(want, "`-"+settings[i].name) {
			t.Errorf("docs/settings.md lacks --%s", settings[i].name)
		}
	}
	if strings.Contains(strings.ToLower(want), "peer") {
		t.Error(`docs/settings.md says "peer"`)
	}
}

// TestParseJSONLNeedsNoSite: parse --output jsonl prints hits without a
// site id; parse (requests) and send still need one.
func TestParseJSONLNeedsNoSite(t *testing.T) {
	const log = "../../testdata/cloudfront/E2EXAMPLE.2026-11-01-10.sample.gz"
	code, out, errs := runEnv(t, nil, "parse", "--output", "jsonl", log)
	if code != ExitOK || !strings.HasPrefix(out, `{"input":`) || !strings.Contains(out, `"ai_assistant":"ChatGPT-User"`) || strings.Contains(out, `"request"`) {
		t.Fatalf("parse --output jsonl: exit %d, or no AI assistant, or a request with no site\n%s\n%.300s", code, errs, out)
	}
	if _, out, _ := runEnv(t, nil, "parse", "--output", "jsonl", "--site-id", "4", log); !strings.Contains(out, `"request":"?idsite=4&`) {
		t.Errorf("parse --output jsonl --site-id 4: no request\n%.300s", out)
	}
	for _, args := range [][]string{{"parse", log}, {"parse", "--output", "requests", log}, {"send", "--matomo-url", "http://127.0.0.1:9", log}} {
		code, _, errs := runEnv(t, nil, args...)
		if code != ExitUsage || !strings.Contains(errs, "missing site id") {
			t.Errorf("%v: exit %d, %q; want exit 2, missing site id", args, code, errs)
		}
	}
}

// TestSummaryWords: counts of one are singular, and counts by reason are
// "reason=n" pairs, never a Go map.
func TestSummaryWords(t *testing.T) {
	var b bytes.Buffer
	printSummary(&b, "parse", &pipeline.Stats{Inputs: 1, LinesRead: 1, Hits: 1, Malformed: map[string]int64{"field_count": 1, "bad_date": 2}}, true)
	got := b.String()
	if !strings.HasPrefix(got, "trackless parse: 1 input, 1 line read in 0.0s, 1 hit\n") || !strings.Contains(got, "malformed lines: bad_date=2 field_count=1\n") {
		t.Errorf("summary:\n%s", got)
	}
	b.Reset()
	printSummary(&b, "send", &pipeline.Stats{Inputs: 2, LinesRead: 3, Hits: 3, Sent: 3, Batches: 1}, false)
	if got := b.String(); !strings.HasPrefix(got, "trackless send: 2 inputs, 3 lines read in 0.0s, 3 hits\n") || !strings.Contains(got, "sent: 3 in 1 batch (") {
		t.Errorf("summary:\n%s", got)
	}
	b.Reset()
	printReportSummary(&b, 1, &pipeline.Stats{LinesRead: 2, Hits: 1, Malformed: map[string]int64{"field_count": 1, "bad_date": 1}}, &report.Sink{}, nil)
	if got := b.String(); got != "report: 1 input, 2 lines, 1 hit, 2 malformed (bad_date=1 field_count=1)\n" {
		t.Errorf("report summary: %q", got)
	}
}
