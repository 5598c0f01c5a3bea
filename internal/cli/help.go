package cli

import (
	"fmt"
	"io"
	"strings"
)

// commandInfo is what --help says of a command besides its settings.
type commandInfo struct {
	cmd      command
	args     string // the positional arguments
	about    string
	examples []string
}

// commandInfos are the commands a user runs (the Lambda has no --help).
var commandInfos = []commandInfo{
	{cmd: cmdSend, args: "[FILE|DIR|s3://BUCKET/PREFIX|kinesis://STREAM|-]...",
		about: "Sends the hits of access logs to Matomo's bulk tracking API, in time order and once per input: a ledger " +
			"remembers which hits Matomo confirmed, and the next run resumes after them.",
		examples: []string{
			"trackless send --matomo-url https://analytics.example.com --site-id 1 /var/log/nginx/",
			"trackless send --site-id 1 --mode visits --token-file ~/.matomo-token access.log.gz",
			"trackless send --site example.com=1 --site '*.example.org=2' --since 48h s3://my-logs/cf/",
			"MATOMO_SITE_ID=1 trackless send --ledger s3://my-logs/ledger/ --after delete s3://my-logs/cf/",
			"trackless send --site-id 1 --follow --ledger s3://my-logs/ledger/ kinesis://cf-realtime",
		}},
	{cmd: cmdParse, args: "[FILE|DIR|s3://BUCKET/PREFIX|kinesis://STREAM|-]...",
		about: "Prints what send would post, without sending anything: the bulk bodies, one per line (the token is never " +
			"printed), or with --output jsonl one normalized hit per line.",
		examples: []string{
			"trackless parse --site-id 1 --rec-mode 2 testdata/cloudfront/",
			"trackless parse --output jsonl access.log | grep '\"skip\":\"'",
			"trackless parse --site-id 1 --default-protocol https --default-host example.com access.log",
			"trackless parse --site-id 1 --log-format '$remote_addr [$time_local] \"$request\" $status' app.log",
		}},
	{cmd: cmdReport, args: "[FILE|DIR|s3://BUCKET/PREFIX|kinesis://STREAM|-]...",
		about: "Analytics from the logs alone, with no Matomo: an HTML file (-o), JSON (--json), or a text summary " +
			"on stdout. See docs/report.md.",
		examples: []string{
			"trackless report /var/log/nginx/ -o report.html",
			"trackless report --json - --geoip GeoLite2-Country.mmdb access.log.gz",
			"trackless report --state ~/report-state --keep-days 90 s3://my-logs/cf/ -o report.html",
			"trackless report --include-host www.example.com --exclude-path '/admin/*' logs/",
		}},
	{cmd: cmdLake, args: "--out LAKE [FILE|DIR|s3://BUCKET/PREFIX|kinesis://STREAM|-]...",
		about: "Writes the hits of access logs as Parquet files, partitioned by day and hour (UTC), that DuckDB, Athena, " +
			"Trino and Spark query; each input once: a rerun writes nothing, an input that grew adds files of its own. " +
			"See docs/lake.md.",
		examples: []string{
			"trackless lake --out lake/ /var/log/nginx/access.log*",
			"trackless lake --out s3://my-bucket/lake/hits/ --since 48h s3://my-logs/cf/",
			"trackless lake --out s3://my-bucket/lake/hits/ --follow --flush-interval 5m kinesis://cf-realtime",
			"TRACKLESS_IP_HASH_KEY=... trackless lake --out lake/ --geoip GeoLite2-Country.mmdb access.log.gz",
		}},
	{cmd: cmdCompact, args: "--out LAKE",
		about: "Merges the files of each closed hour of a lake into one file. Lake writes a file per input and hour, " +
			"so CloudFront's many small objects make many small files, which readers are slow to list and open. " +
			"Each merge is done once, even by two processes at a time. --since and --until bound the hours merged " +
			"(default: the last 7 days). See docs/lake.md.",
		examples: []string{
			"trackless lake compact --out lake/",
			"trackless lake compact --out s3://my-bucket/lake/hits/ --since 720h --min-age 2h",
			"TRACKLESS_OUT=s3://my-bucket/lake/hits/ trackless lake compact --log-level info",
		}},
	{cmd: cmdReplay, args: "DEAD-LETTER-FILE",
		about: "Sends the batches of a dead-letter file again, each once: a second replay of the same file sends " +
			"nothing.",
		examples: []string{
			"trackless replay ~/.local/state/trackless/dead-letter/20261101T100000Z-4242.jsonl",
			"MATOMO_URL=https://analytics.example.com MATOMO_TOKEN_AUTH=... trackless replay failed.jsonl",
			"trackless replay --dead-letter-file still-failed.jsonl failed.jsonl",
		}},
}

// helpWidth is the width --help is laid out in; helpIndent is the column
// of the help texts.
const (
	helpWidth  = 100
	helpIndent = 32
)

// usage is the help of trackless itself.
const usage = `trackless turns access logs into web analytics, with no JavaScript tracker.

Usage:
  trackless send   [flags] [FILE|DIR|s3://BUCKET/PREFIX|kinesis://STREAM|-]...   send hits to Matomo's bulk tracking API
  trackless parse  [flags] [FILE|DIR|s3://BUCKET/PREFIX|kinesis://STREAM|-]...   print what send would post, send nothing
  trackless report [flags] [FILE|DIR|s3://BUCKET/PREFIX|kinesis://STREAM|-]...   analytics from the logs alone
  trackless lake   --out DIR|s3://BUCKET/PREFIX/ [flags] [INPUT]...       write a Parquet data lake
  trackless lake compact --out DIR|s3://BUCKET/PREFIX/ [flags]        merge each closed hour's files into one
  trackless replay [flags] DEAD-LETTER-FILE                     send a dead-letter file again
  trackless version

Run 'trackless COMMAND --help' for the flags of a command. Every flag can also be set in the
environment as TRACKLESS_<FLAG> (--site-id: TRACKLESS_SITE_ID), and some by the variable of
Matomo's CloudFront Lambda (MATOMO_SITE_ID). All settings: docs/settings.md.
`

// envFooter ends every command's help.
const envFooter = `Every flag can also be set in the environment as TRACKLESS_<FLAG> (upper case, '_' for '-'),
and some by the variable of Matomo's CloudFront Lambda (the AWS Lambda function Matomo publishes
to send CloudFront logs; trackless reads its variables so that its configuration carries over).
A flag on the command line wins over TRACKLESS_*, which wins over the Lambda's variable, which
wins over the default. Repeatable flags also take comma-separated values. All settings and their
defaults: docs/settings.md.
`

// writeHelp writes the help of cmd: usage, examples, then its settings by
// group.
func writeHelp(w io.Writer, cmd command) {
	var b strings.Builder
	info := commandInfo{cmd: cmd}
	for _, ci := range commandInfos {
		if ci.cmd == cmd {
			info = ci
		}
	}
	name := cmdName(cmd)
	fmt.Fprintf(&b, "Usage: trackless %s [flags] %s\n\n", name, info.args)
	if info.about != "" {
		wrap(&b, info.about, 0, helpWidth)
		b.WriteString("\n")
	}
	if len(info.examples) > 0 {
		b.WriteString("Examples:\n")
		for _, e := range info.examples {
			b.WriteString("  " + e + "\n")
		}
		b.WriteString("\n")
	}
	// The command's own group first: report's settings come last in
	// send's help (--report-state and what goes with it).
	// Lake's own group first, and last in send's help.
	order := make([]group, 0, numGroups)
	for g := range numGroups {
		if g != groupReport && g != groupLake {
			order = append(order, g)
		}
	}
	switch cmd {
	case cmdReport:
		order = append([]group{groupReport}, order...)
	case cmdLake, cmdCompact:
		order = append(append([]group{groupLake}, order...), groupReport)
	default:
		order = append(order, groupReport, groupLake)
	}
	for _, g := range order {
		first := true
		for i := range settings {
			s := &settings[i]
			if s.cmds&cmd == 0 || s.group != g {
				continue
			}
			if first {
				b.WriteString(g.String() + ":\n")
				first = false
			}
			writeSettingHelp(&b, s)
		}
		if !first {
			b.WriteString("\n")
		}
	}
	b.WriteString(envFooter)
	io.WriteString(w, b.String())
}

// writeSettingHelp writes one setting: its names and value on the left,
// its help, default and variables on the right.
func writeSettingHelp(b *strings.Builder, s *setting) {
	left := "  " + flagNames(s, ", ")
	if s.arg != "" {
		left += " " + s.arg
	}
	text := s.help
	var notes []string
	if d := s.defaultText(); d != "" {
		notes = append(notes, "default "+d)
	}
	notes = append(notes, "env "+strings.Join(s.allEnvVars(), ", "))
	text += " (" + strings.Join(notes, "; ") + ")"
	if len(left)+2 > helpIndent {
		b.WriteString(left + "\n")
		wrap(b, text, helpIndent, helpWidth)
		return
	}
	b.WriteString(left + strings.Repeat(" ", helpIndent-len(left)))
	var rest strings.Builder
	wrap(&rest, text, helpIndent, helpWidth)
	b.WriteString(strings.TrimLeft(rest.String(), " "))
}

// flagNames writes the names of s with their dashes ("-o" for a
// one-letter name, as is usual), separated by sep.
func flagNames(s *setting, sep string) string {
	var out []string
	for _, n := range s.names() {
		if len(n) == 1 {
			out = append(out, "-"+n)
		} else {
			out = append(out, "--"+n)
		}
	}
	return strings.Join(out, sep)
}

// defaultText is the default as help shows it; "" when it is the zero
// value.
func (s *setting) defaultText() string {
	if s.defDoc != "" {
		return s.defDoc
	}
	return s.def
}

// wrap writes text in lines of at most width columns (a longer word stays
// whole), each indented by indent spaces.
func wrap(b *strings.Builder, text string, indent, width int) {
	pad := strings.Repeat(" ", indent)
	line := 0
	for i, word := range strings.Fields(text) {
		switch {
		case i == 0:
			b.WriteString(pad + word)
			line = indent + len(word)
		case line+1+len(word) > width:
			b.WriteString("\n" + pad + word)
			line = indent + len(word)
		default:
			b.WriteString(" " + word)
			line += 1 + len(word)
		}
	}
	b.WriteString("\n")
}
