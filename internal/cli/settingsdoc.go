package cli

import (
	"fmt"
	"strings"
)

// settingsDocIntro opens docs/settings.md.
const settingsDocIntro = `# Settings

<!-- Generated from the settings table of internal/cli/settings.go: do not edit. Regenerate with
     go test ./internal/cli -run TestSettingsDoc -update -->

Every setting of trackless is a flag, and can also be set in the environment:

- as ` + "`TRACKLESS_<FLAG>`" + `: the flag's name in upper case with ` + "`_`" + ` for ` + "`-`" + ` (` + "`--state-dir`" + ` is
  ` + "`TRACKLESS_STATE_DIR`" + `); a flag with another name (an alias) has that variable too;
- some also by the variable of **Matomo's CloudFront Lambda**: the AWS Lambda function Matomo publishes
  to send CloudFront logs to Matomo. trackless reads its variables (` + "`MATOMO_URL`, `MATOMO_SITE_ID`" + `, …) so that
  a configuration written for it carries over ([lambda.md](lambda.md)).

A flag on the command line, under any of its names, wins over ` + "`TRACKLESS_*`" + ` (that of the flag's name first,
then of its aliases), which wins over the CloudFront Lambda's variable, which wins over the default. An empty
variable counts as unset. Repeatable flags (lists) also take comma-separated values, as their variables do.
Durations are written as Go writes them: ` + "`90s`, `10m`, `1h30m`" + `.

` + "`trackless COMMAND --help`" + ` lists the settings of a command, grouped as below, with examples. The AWS Lambda
function (the same binary started by Lambda with no arguments) reads its settings from the environment only:
the column *commands* says ` + "`lambda`" + ` for those it reads.

A bad setting stops the run before anything is read, with one line that names it
(` + "`trackless: missing site id: set --site-id or MATOMO_SITE_ID`" + `); an unknown flag too
(` + "`trackless send: unknown flag --sit-id (did you mean --site-id?); see 'trackless send --help'`" + `). Both exit 2.
`

// settingsDocOutro ends docs/settings.md.
const settingsDocOutro = `## Other environment variables

| variable | meaning |
|---|---|
| ` + "`AWS_REGION`, `AWS_PROFILE`, `AWS_ACCESS_KEY_ID`, …" + ` | the standard AWS configuration and credentials chain, for S3 |
| ` + "`XDG_STATE_HOME`" + ` | the default state directory is ` + "`$XDG_STATE_HOME/trackless`" + ` |
| ` + "`GOGC`" + ` | Go's garbage-collector target; trackless sets 200 (a few MiB more memory, a fifth less CPU), and ` + "`report`" + ` 100, unless ` + "`GOGC`" + ` is set |
| ` + "`GOMEMLIMIT`" + ` | Go's soft memory limit; ` + "`report`" + ` sets 192 MiB unless it is set |
| ` + "`AWS_LAMBDA_RUNTIME_API`" + ` | set by AWS Lambda: started with no arguments, trackless serves Lambda invocations |
`

// settingsDoc returns docs/settings.md, generated from the settings table.
func settingsDoc() string {
	var b strings.Builder
	b.WriteString(settingsDocIntro)
	for g := range numGroups {
		first := true
		for i := range settings {
			s := &settings[i]
			if s.group != g {
				continue
			}
			if first {
				fmt.Fprintf(&b, "\n## %s\n\n", g)
				b.WriteString("| flag | environment | CloudFront Lambda variable | default | commands | meaning |\n")
				b.WriteString("|---|---|---|---|---|---|\n")
				first = false
			}
			flag := "`--" + s.name
			if len(s.name) == 1 {
				flag = "`-" + s.name
			}
			if s.arg != "" {
				flag += " " + s.arg
			}
			flag = strings.ReplaceAll(flag+"`", "|", `\|`)
			for _, a := range s.aliases {
				flag += ", alias `--" + a + "`"
			}
			def := code(nonEmpty(s.def))
			if s.defDoc != "" {
				def = mdEscape(s.defDoc)
			}
			meaning := mdEscape(s.help)
			if s.doc != "" {
				meaning += ". " + mdEscape(s.doc)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n",
				flag, code(s.envVars()), code(nonEmpty(s.lambdaEnv)), def, s.cmds, meaning)
		}
	}
	b.WriteString("\n")
	b.WriteString(settingsDocOutro)
	return b.String()
}

// code writes names as code, separated by commas.
func code(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return "`" + strings.Join(names, "`, `") + "`"
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// mdEscape makes text safe in a Markdown table cell: '|' is escaped, and
// '*' outside code spans (text between backquotes keeps it).
func mdEscape(s string) string {
	parts := strings.Split(s, "`")
	for i := range parts {
		parts[i] = strings.ReplaceAll(parts[i], "|", `\|`)
		if i%2 == 0 {
			parts[i] = strings.ReplaceAll(parts[i], "*", `\*`)
		}
	}
	return strings.Join(parts, "`")
}
