package cli

import (
	"strconv"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/logformat"
	"github.com/trackless/trackless/internal/pipeline"
	"github.com/trackless/trackless/internal/report"
)

// A setting is one value of the configuration: a flag, its other names,
// the environment variables that can also set it, its default, and the
// text of --help and of docs/settings.md. The table settings is the one
// source of all of them: the flag set of each command is built from it
// (newFlags), the environment is read through it (parseArgs), and --help
// (writeHelp) and docs/settings.md (settingsDoc) are written from it.
//
// Precedence: the command line under any of the setting's names, then
// TRACKLESS_<NAME> for the name and then each alias in order, then the
// variable of Matomo's CloudFront Lambda (lambdaEnv), then the default.
type setting struct {
	name    string   // flag name without dashes: "site-id"
	aliases []string // other flag names for the same setting: "hostname" for "include-host"
	// lambdaEnv is the environment variable of Matomo's CloudFront Lambda
	// (the AWS Lambda function Matomo publishes to send CloudFront logs to
	// Matomo) that also sets this setting, so that its configuration
	// carries over; "" when it has none.
	lambdaEnv string
	// def is the default, as it would be written on the command line; ""
	// is the Go zero value (false, 0, "", no items).
	def string
	// defDoc replaces def in --help and the docs when the default is
	// computed at run time (the state directory).
	defDoc string
	group  group
	cmds   command // the commands that have the setting
	arg    string  // the value's placeholder in --help: "N", "URL"; "" for a boolean
	help   string  // one or two sentences for --help and the docs
	doc    string  // more for docs/settings.md only; optional
	// target is the config field the setting fills: a *string, *int,
	// *bool, *float64, *time.Duration or *listFlag (see value).
	target func(*config) any
}

// command is a set of commands (bits).
type command uint8

const (
	cmdSend command = 1 << iota
	cmdParse
	cmdReport
	cmdReplay
	cmdLambda // the AWS Lambda function: the environment only, no flags
	cmdLake
	cmdCompact // lake compact

	cmdSendParse  = cmdSend | cmdParse | cmdLambda
	cmdRead       = cmdSend | cmdParse | cmdReport | cmdLake | cmdLambda
	cmdAllMatomo  = cmdSend | cmdParse | cmdReplay | cmdLambda
	cmdDelivering = cmdSend | cmdLambda
)

// commandNames are the commands in the order the docs list them.
var commandNames = []struct {
	cmd  command
	name string
}{{cmdSend, "send"}, {cmdParse, "parse"}, {cmdReport, "report"}, {cmdLake, "lake"}, {cmdCompact, "lake compact"}, {cmdReplay, "replay"}, {cmdLambda, "lambda"}}

// String lists the commands of the set: "send, parse, lambda".
func (c command) String() string {
	var names []string
	for _, n := range commandNames {
		if c&n.cmd != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ", ")
}

// group is the heading a setting is listed under; --help and the docs list
// the groups in this order.
type group uint8

const (
	groupReport group = iota
	groupLake
	groupInput
	groupFilters
	groupMatomo
	groupDelivery
	groupS3
	groupOutput
	numGroups
)

var groupTitles = [numGroups]string{
	groupReport:   "Report",
	groupLake:     "Lake",
	groupInput:    "Input and format",
	groupFilters:  "Filters",
	groupMatomo:   "Matomo",
	groupDelivery: "Delivery",
	groupS3:       "S3 and AWS",
	groupOutput:   "Output",
}

func (g group) String() string { return groupTitles[g] }

// names returns the setting's flag names: the name, then the aliases.
func (s *setting) names() []string { return append([]string{s.name}, s.aliases...) }

// envVars returns the TRACKLESS_* variables of the setting, of its name
// then of its aliases.
func (s *setting) envVars() []string {
	var vars []string
	for _, n := range s.names() {
		vars = append(vars, envName(n))
	}
	return vars
}

// allEnvVars returns every variable that sets s, first to last in
// precedence.
func (s *setting) allEnvVars() []string {
	vars := s.envVars()
	if s.lambdaEnv != "" {
		vars = append(vars, s.lambdaEnv)
	}
	return vars
}

// envName is TRACKLESS_ + the flag name in upper case with '_' for '-'.
func envName(flagName string) string {
	return "TRACKLESS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// shortDuration writes d as a flag would take it, without zero units:
// "5m", "1h30m", "45s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// settings is every setting of every command. A new setting is one entry
// here (and a config field): its flag, environment variables, --help line
// and row of docs/settings.md follow; regenerate the docs with
// go test ./internal/cli -run TestSettingsDoc -update.
var settings = []setting{
	// Report: report's own settings.
	{name: "o", arg: "FILE", group: groupReport, cmds: cmdReport,
		help:   "write the HTML report to this file (one self-contained file that loads nothing else; - for stdout)",
		target: func(c *config) any { return &c.rep.html }},
	{name: "json", arg: "FILE", group: groupReport, cmds: cmdReport,
		help:   "write the report as JSON to this file (- for stdout); schema: docs/report.md",
		target: func(c *config) any { return &c.rep.json }},
	{name: "state", arg: "DIR", group: groupReport, cmds: cmdReport,
		help:   "directory of per-day aggregates and of the inputs already counted: each run adds what is new, and the report covers every day kept",
		target: func(c *config) any { return &c.rep.state }},
	{name: "report-state", arg: "DIR", group: groupReport, cmds: cmdSend | cmdLambda,
		help: "also count what is read into this report state (the directory of report --state): one read feeds Matomo and the report; trackless report --state DIR renders it",
		doc: "Each keeps its own progress: an input Matomo has whole is still read for a state that has not counted it, and a rerun adds nothing to either. " +
			"`--after` acts on an input once Matomo and the state both have it. In the Lambda, the directory must outlive the invocation (an EFS mount); " +
			"an invocation waits for the state while another holds it.",
		target: func(c *config) any { return &c.rep.reportState }},
	{name: "report-out", arg: "s3://BUCKET/KEY.html", group: groupReport, cmds: cmdLambda,
		help: "the Lambda renders the report of TRACKLESS_REPORT_STATE to this object (and, counted by host, one per host beside it) after an invocation that counted something, at most every TRACKLESS_REPORT_EVERY",
		doc: "A static site, or CloudFront itself, can serve it: always-current analytics with no server. The objects are written with Content-Type text/html and Cache-Control max-age=60. " +
			"Without MATOMO_URL, the function counts into the report state (and TRACKLESS_LAKE) only: see docs/lambda.md.",
		target: func(c *config) any { return &c.rep.reportOut }},
	{name: "report-every", arg: "DURATION", def: "5m", group: groupReport, cmds: cmdLambda,
		help:   "with TRACKLESS_REPORT_OUT: render the report at most this often (the state records when it was last rendered)",
		target: func(c *config) any { return &c.rep.reportEvery }},
	{name: "keep-days", arg: "N", group: groupReport, cmds: cmdReport | cmdSend | cmdLambda,
		help:   "with --state or --report-state: keep this many days, up to the newest day seen, and drop older ones (0: keep all)",
		target: func(c *config) any { return &c.rep.keepDays }},
	{name: "geoip", arg: "FILE", group: groupReport, cmds: cmdReport | cmdLake | cmdSend | cmdLambda,
		help:   "a MaxMind, DB-IP or IPinfo database (.mmdb, country or city) for the countries panel",
		target: func(c *config) any { return &c.rep.geoip }},
	{name: "top", arg: "N", def: "50", group: groupReport, cmds: cmdReport,
		help:   "rows shown per table",
		target: func(c *config) any { return &c.rep.top }},
	{name: "table-size", arg: "N", def: strconv.Itoa(report.DefaultTableSize), group: groupReport, cmds: cmdReport | cmdSend | cmdLambda,
		help:   "capacity of each day's tables of URLs, referrers and bots: exact below it per day, Space-Saving estimates above (memory grows with it)",
		target: func(c *config) any { return &c.rep.tableSize }},
	{name: "title", arg: "TEXT", defDoc: "its hosts", group: groupReport, cmds: cmdReport,
		help:   "title of the report",
		target: func(c *config) any { return &c.rep.title }},
	{name: "timezone", arg: "ZONE", defDoc: "UTC, or the state's", group: groupReport, cmds: cmdReport | cmdSend | cmdLambda,
		help: "count days and hours in this time zone (an IANA name: Europe/Paris, America/New_York)",
		doc: "A state records its zone when it is made and keeps it: asking for another is an error that says how to start over (days already counted cannot be split again). " +
			"Without it, a state's own zone is used. The daylight-saving days have 23 or 25 hours of wall clock.",
		target: func(c *config) any { return &c.rep.timezone }},
	{name: "by-host", group: groupReport, cmds: cmdReport | cmdSend | cmdLambda,
		help: "count each host (virtual host, CloudFront distribution alias) apart: report -o FILE writes FILE as an index of the hosts and one page per host beside it (FILE-HOST.html)",
		doc: "A state records it when it is made; a state of every host together cannot be split later. Hits of a log that names no host are under \"(no host)\" (or `--default-host`); " +
			"a Host that is no host name under \"(invalid hosts)\", and past 1,000 hosts in a day under \"(other hosts)\". With `--json`, FILE is the index (`trackless-report-index/1`) and each host's report is FILE-HOST.json.",
		target: func(c *config) any { return &c.rep.byHost }},
	{name: "host", arg: "HOST", group: groupReport, cmds: cmdReport,
		help:   "report one host: hosts are counted apart (as --by-host) and the report is this host's; a --state must be one counted by host",
		target: func(c *config) any { return &c.rep.host }},
	{name: "from", arg: "DAY", group: groupReport, cmds: cmdReport,
		help:   "first day of the report: YYYY-MM-DD, today, or a number of days (7d) or weeks (4w) back to --to, included; the report compares the period with the one of the same length before it",
		target: func(c *config) any { return &c.rep.from }},
	{name: "to", arg: "DAY", defDoc: "the newest day counted", group: groupReport, cmds: cmdReport,
		help:   "last day of the report: YYYY-MM-DD, today, yesterday, or a number of days back from today (1d: yesterday)",
		target: func(c *config) any { return &c.rep.to }},
	{name: "params", arg: "PATH", group: groupReport, cmds: cmdReport | cmdSend | cmdLambda,
		help:   "count the query parameters of requests for this path (a tracking pixel, an API endpoint) by name and value; repeatable",
		doc:    "The path is the request's, without host or query: `--params /pixel.gif`. Counted while reading: days counted before it was given have none.",
		target: func(c *config) any { return &c.rep.params }},
	{name: "refresh", arg: "DURATION", def: "10s", group: groupReport, cmds: cmdReport,
		help:   "with --follow: rewrite the HTML at most this often; the page reloads itself as often (a meta refresh, no script)",
		target: func(c *config) any { return &c.rep.refresh }},
	{name: "checkpoint", arg: "DURATION", def: "2m", group: groupReport, cmds: cmdReport | cmdSend | cmdLambda,
		help:   "with --state or --report-state: save what was counted this often during a long run (when an input ends)",
		target: func(c *config) any { return &c.rep.checkpoint }},

	// Input and format.
	// Lake: the Parquet data lake (docs/lake.md).
	{name: "out", arg: "DIR|s3://BUCKET/PREFIX/", group: groupLake, cmds: cmdLake | cmdCompact,
		help:   "where lake writes its Parquet files (dt=YYYY-MM-DD/hour=HH/part-*.parquet) and what it has of each input (_trackless/)",
		target: func(c *config) any { return &c.lake.where }},
	{name: "lake", arg: "DIR|s3://BUCKET/PREFIX/", group: groupLake, cmds: cmdSend | cmdLambda,
		help:   "also write the hits read to this Parquet lake, in the same pass (as lake --out does); the Lambda's must be on S3",
		doc:    "The lake keeps its own progress per input: an input Matomo has but the lake lacks (or the other way round) is read again for the one that lacks it only. An error of the lake stops only the lake: the run goes on for Matomo and exits 3.",
		target: func(c *config) any { return &c.lake.where }},
	{name: "flush-interval", arg: "DURATION", def: "5m", group: groupLake, cmds: cmdLake | cmdSend,
		help:   "with --follow, how long an input's rows wait in open files before they are published (on exit too); without --follow, files are published as each input is read",
		doc:    "Shorter makes rows queryable sooner and makes more, smaller files (see lake compact).",
		target: func(c *config) any { return &c.lake.flushEvery }},
	{name: "ip-hash-key", arg: "KEY", group: groupLake, cmds: cmdLake | cmdSend | cmdLambda,
		help:   "write a keyed hash of each client IP (HMAC-SHA-256, 32 hex digits) instead of the IP (after --anonymize-ip); keep the key secret, set it in the environment",
		doc:    "The same address gives the same value in every file written with the same key, so visitors can still be counted; without the key, the address cannot be found from the value (an unkeyed hash of an IPv4 address can be reversed by trying all 2^32). Never printed.",
		target: func(c *config) any { return &c.lake.ipHashKey }},
	{name: "min-age", arg: "DURATION", def: "1h", group: groupLake, cmds: cmdCompact,
		help:   "merge an hour's files once the hour ended this long ago, and only files written this long ago (late inputs, flushes under way)",
		target: func(c *config) any { return &c.lake.minAge }},
	{name: "lake-open-hours", arg: "N", def: "24", group: groupLake, cmds: cmdLake | cmdSend,
		help:   "the most hours an input writes files for at once; a row of another hour closes the least recently written file, and a later row of that hour starts a new one",
		target: func(c *config) any { return &c.lake.maxOpen }},

	{name: "format", arg: "NAME", def: "auto", group: groupInput, cmds: cmdRead,
		help: "log format: " + strings.Join(logformat.Formats, ", ") + "; auto detects it per input",
		doc: "`auto` reads an input's first five data lines to tell its format (most must parse in it, one odd line allowed); " +
			"an input in none of the detected formats, or with binary content, is not read (the run names it and exits 1). " +
			"CloudFront real-time log records (TAB-separated, epoch seconds with milliseconds first, no header) are detected when `--realtime-fields` is given " +
			"or their field count is that of a known configuration (69, 45, 43 or 40 fields); otherwise name them with `--format cloudfront-realtime` and `--realtime-fields`. " +
			"`custom` needs `--log-format`.",
		target: func(c *config) any { return &c.format }},
	{name: "log-format", arg: "FORMAT", group: groupInput, cmds: cmdRead,
		help:   "an nginx log_format or Apache LogFormat string, as in the server's configuration ('$remote_addr - $remote_user [$time_local] \"$request\" ...'); implies --format custom",
		target: func(c *config) any { return &c.logFormat }},
	{name: "realtime-fields", arg: "FIELD,...", defDoc: "69, 45, 43 or 40 fields, by count", group: groupInput, cmds: cmdRead,
		help: "CloudFront real-time logs: the fields of the real-time log configuration (any of the 69 current ones, in any order: records hold them in CloudFront's order); " +
			"without it, a record must have all the fields of a known configuration",
		target: func(c *config) any { return &c.realtimeFields }},
	{name: "w3c-fields", arg: "HEADER", group: groupInput, cmds: cmdRead,
		help:   "W3C logs without a #Fields header: the header to use ('#Fields: date time c-ip ...')",
		target: func(c *config) any { return &c.w3cFields }},
	{name: "w3c-map-field", arg: "CUSTOM=STANDARD", group: groupInput, cmds: cmdRead,
		help:   "W3C logs: read a field named CUSTOM as the standard field (TimeTaken=time-taken); repeatable",
		target: func(c *config) any { return &c.w3cMap }},
	{name: "w3c-time-taken-millisecs", group: groupInput, cmds: cmdRead,
		help:   "W3C logs: time-taken is in milliseconds (IIS logs are recognised and always read so; other W3C logs are read in seconds, as the W3C draft says)",
		target: func(c *config) any { return &c.w3cTimeTakenMS }},
	{name: "add-to-date", arg: "HOURS", group: groupInput, cmds: cmdRead,
		help:   "hours to add to every hit's time, before the time filters (logs written in local time without an offset); may be negative or fractional",
		target: func(c *config) any { return &c.addToDate }},
	{name: "default-protocol", arg: "http|https", lambdaEnv: "CLOUDFRONT_DEFAULT_PROTOCOL", group: groupInput, cmds: cmdRead,
		help:   "protocol of hits whose log has none (nginx and Apache logs; CloudFront logs before 2014); otherwise that of the site's main URL in Matomo (with a token), else https",
		target: func(c *config) any { return &c.defScheme }},
	{name: "default-host", aliases: []string{"log-hostname"}, arg: "HOST", lambdaEnv: "CLOUDFRONT_DEFAULT_HOST", group: groupInput, cmds: cmdRead,
		help:   "host of hits whose log has none (Apache and nginx logs without the virtual host); otherwise that of the site's main URL in Matomo (with a token)",
		target: func(c *config) any { return &c.defHost }},
	{name: "decode-user-agent", arg: "BOOL", lambdaEnv: "CLOUDFRONT_DECODE_USER_AGENT", group: groupInput, cmds: cmdSendParse,
		help:   "accepted for compatibility with Matomo's CloudFront Lambda: trackless always decodes user agents",
		target: func(c *config) any { return &c.decodeUA }},
	{name: "max-open-inputs", arg: "N", def: "64", group: groupInput, cmds: cmdSendParse,
		help:   "inputs read side by side at most (inputs that overlap in time are merged while open)",
		target: func(c *config) any { return &c.maxOpen }},
	{name: "reorder-window", arg: "DURATION", def: shortDuration(pipeline.DefaultReorderWindow), group: groupInput, cmds: cmdSendParse,
		help: "how late a hit may come within a log and still be sent in time order (memory grows with it)",
		doc: "Hits are sent in time order: the inputs of a run are merged by time (each opened when the merge reaches its first hit), " +
			"and a hit may come this much later than a later one within a log and still be put back in order. The hits of the window are held in memory.",
		target: func(c *config) any { return &c.reorderWindow }},

	// Filters.
	{name: "include-host", aliases: []string{"hostname"}, arg: "GLOB", group: groupFilters, cmds: cmdRead,
		help:   "only hits of this host, or of hosts matching this glob (*.example.com); case-insensitive; repeatable",
		target: func(c *config) any { return &c.includeHosts }},
	{name: "exclude-host", arg: "GLOB", group: groupFilters, cmds: cmdRead,
		help:   "skip hits of this host, or of hosts matching this glob; repeatable",
		target: func(c *config) any { return &c.excludeHosts }},
	{name: "include-path", arg: "GLOB", group: groupFilters, cmds: cmdRead,
		help:   "only paths matching this glob (* crosses /, as in Matomo's importer); repeatable",
		target: func(c *config) any { return &c.includePaths }},
	{name: "exclude-path", arg: "GLOB", group: groupFilters, cmds: cmdRead,
		help:   "skip paths matching this glob (/admin/*); repeatable",
		target: func(c *config) any { return &c.excludePaths }},
	{name: "include-path-from", arg: "FILE", group: groupFilters, cmds: cmdRead,
		help:   "file of globs to keep, one a line ('#' comments); repeatable",
		target: func(c *config) any { return &c.includePathFrom }},
	{name: "exclude-path-from", arg: "FILE", group: groupFilters, cmds: cmdRead,
		help:   "file of globs to skip, one a line ('#' comments); repeatable",
		target: func(c *config) any { return &c.excludePathFrom }},
	{name: "force-lowercase-path", group: groupFilters, cmds: cmdRead,
		help:   "lower-case paths before filtering and sending",
		target: func(c *config) any { return &c.lowerPath }},
	{name: "strip-query-string", group: groupFilters, cmds: cmdRead,
		help:   "drop query strings from URLs",
		target: func(c *config) any { return &c.stripQuery }},
	{name: "useragent-exclude", arg: "TEXT", group: groupFilters, cmds: cmdRead,
		help:   "skip user agents containing this text (case-insensitive); repeatable",
		target: func(c *config) any { return &c.uaExclude }},
	{name: "exclude-older-than", arg: "TIME", group: groupFilters, cmds: cmdRead,
		help:   "skip hits before this time: 2026-11-01, '2026-11-01 10:00:00 +0100', RFC 3339, or a duration back from now (36h)",
		target: func(c *config) any { return &c.olderThan }},
	{name: "exclude-newer-than", arg: "TIME", group: groupFilters, cmds: cmdRead,
		help:   "skip hits after this time (the same forms)",
		target: func(c *config) any { return &c.newerThan }},
	{name: "since", arg: "TIME", group: groupFilters, cmds: cmdSend | cmdParse | cmdReport | cmdLake | cmdCompact,
		help:   "read only inputs whose name says an hour at or after this time (CloudFront's DIST.YYYY-MM-DD-HH.ID.gz and v2 partitions; the same forms as --exclude-older-than); S3 listings skip the rest; a Kinesis shard read for the first time starts at the first record that arrived at this time",
		target: func(c *config) any { return &c.since }},
	{name: "until", arg: "TIME", group: groupFilters, cmds: cmdSend | cmdParse | cmdReport | cmdLake | cmdCompact,
		help:   "read only inputs whose name says an hour before this time (the same forms)",
		target: func(c *config) any { return &c.until }},
	{name: "user-agent-allowlist-regex", arg: "REGEX", lambdaEnv: "USER_AGENT_ALLOWLIST_REGEX", defDoc: "the AI assistants in rec mode 1, any in rec mode 2",
		group: groupFilters, cmds: cmdSendParse,
		help:   "case-insensitive regex of the user agents to track",
		doc:    "RE2 syntax: no catastrophic backtracking. The default list of AI assistants is Matomo's CloudFront Lambda's.",
		target: func(c *config) any { return &c.uaRe }},
	{name: "http-method-allowlist", arg: "METHOD,...", lambdaEnv: "HTTP_METHOD_ALLOWLIST", defDoc: "GET, or every method in visits mode",
		group: groupFilters, cmds: cmdSendParse,
		help:   "HTTP methods to track (in visits mode the default follows Matomo's importer)",
		doc:    "In visits mode `--http-method-allowlist GET` leaves out `HEAD` probes.",
		target: func(c *config) any { return &c.methods }},
	{name: "url-exclude-regex", arg: "REGEX", lambdaEnv: "URL_EXCLUDE_REGEX", defDoc: "static assets (css, js, images, fonts...)",
		group: groupFilters, cmds: cmdRead,
		help:   "case-insensitive regex on the URL of requests not to track",
		target: func(c *config) any { return &c.excludeRe }},
	{name: "document-regex", arg: "REGEX", lambdaEnv: "DOCUMENT_REGEX", defDoc: "documents, media and archives, as Matomo's CloudFront Lambda",
		group: groupFilters, cmds: cmdRead,
		help:   "case-insensitive regex on the URL of downloads",
		target: func(c *config) any { return &c.docRe }},
	{name: "enable-static", group: groupFilters, cmds: cmdSendParse,
		help:   "visits mode: also track static files (css, js, images...)",
		target: func(c *config) any { return &c.enableStatic }},
	{name: "enable-bots", group: groupFilters, cmds: cmdSendParse,
		help:   "visits mode: also track bots, with bots=1",
		target: func(c *config) any { return &c.enableBots }},
	{name: "enable-http-errors", group: groupFilters, cmds: cmdSendParse,
		help:   "visits mode: also track HTTP errors (4xx, 5xx), titled \"404/URL = ...\" as Matomo's importer does",
		target: func(c *config) any { return &c.enableErrors }},
	{name: "enable-http-redirects", group: groupFilters, cmds: cmdSendParse,
		help:   "visits mode: also track redirects (3xx but 304), titled the same way",
		target: func(c *config) any { return &c.enableRedirects }},

	// Matomo.
	{name: "matomo-url", arg: "URL", lambdaEnv: "MATOMO_URL", group: groupMatomo, cmds: cmdAllMatomo,
		help:   "Matomo's base URL (https://analytics.example.com; a trailing /matomo.php is allowed); send and replay need it",
		target: func(c *config) any { return &c.matomoURL }},
	{name: "site-id", arg: "N", lambdaEnv: "MATOMO_SITE_ID", group: groupMatomo, cmds: cmdSendParse,
		help:   "Matomo site id; with --site, the site of hosts no rule maps",
		doc:    "`send` and `parse` need it unless `--site`, `--site-file` or `--site-auto` maps hosts to sites; `parse --output jsonl` does not need it.",
		target: func(c *config) any { return &c.siteID }},
	{name: "site", arg: "HOST=ID", group: groupMatomo, cmds: cmdSendParse | cmdLake,
		help:   "send the hits of HOST (or *.domain) to site ID; repeatable; hits of hosts mapped to no site are skipped and listed, unless --site-id is given as the fallback",
		target: func(c *config) any { return &c.sites }},
	{name: "site-file", arg: "FILE", group: groupMatomo, cmds: cmdSendParse | cmdLake,
		help:   "file of HOST=ID lines, as --site",
		target: func(c *config) any { return &c.siteFile }},
	{name: "site-auto", group: groupMatomo, cmds: cmdSendParse,
		help:   "ask Matomo which site has a host among its URLs (SitesManager.getSitesIdFromSiteUrl; needs the token), once per host; --site rules come first",
		target: func(c *config) any { return &c.siteAuto }},
	{name: "add-sites", group: groupMatomo, cmds: cmdSendParse,
		help:   "with --site-auto: send creates a site in Matomo for a host that has none (SitesManager.addSite; needs a super user's token); parse never changes Matomo",
		target: func(c *config) any { return &c.addSites }},
	{name: "token-auth", arg: "TOKEN", lambdaEnv: "MATOMO_TOKEN_AUTH", group: groupMatomo, cmds: cmdAllMatomo,
		help:   "Matomo token (token_auth); needed for hits older than 24 h and for visits' IPs; prefer the environment or --token-file to a flag (visible in ps)",
		target: func(c *config) any { return &c.token }},
	{name: "token-file", arg: "FILE", group: groupMatomo, cmds: cmdAllMatomo,
		help:   "file holding the Matomo token",
		target: func(c *config) any { return &c.tokenFile }},
	{name: "mode", arg: "ai|visits|auto", defDoc: "from --rec-mode", group: groupMatomo, cmds: cmdSendParse,
		help: "ai: AI assistants only (recMode=1); visits: classic visits (no recMode, any Matomo); auto: AI assistants and visits, routed by Matomo (recMode=2)",
		doc: "`ai` and `auto` need Matomo 5.7 or later (see `--allow-old-matomo`); `visits` works with any Matomo 4 or 5 and sends " +
			"what Matomo's `import_logs.py` sends.",
		target: func(c *config) any { return &c.mode }},
	{name: "rec-mode", arg: "1|2", def: "1", lambdaEnv: "MATOMO_REC_MODE", group: groupMatomo, cmds: cmdSendParse,
		help:   "1: AI assistants only; 2: AI assistants and visits, routed by Matomo (--mode wins)",
		target: func(c *config) any { return &c.recMode }},
	{name: "allow-old-matomo", group: groupMatomo, cmds: cmdDelivering,
		help:   "send AI-assistant requests (rec modes 1 and 2) to a Matomo older than 5.7, which ignores recMode: it drops ChatGPT-User hits as bots and stores Claude-User and Perplexity-User hits as ordinary visits",
		target: func(c *config) any { return &c.allowOldMatomo }},
	{name: "no-version-check", group: groupMatomo, cmds: cmdDelivering,
		help:   "do not ask Matomo for its version",
		target: func(c *config) any { return &c.noVersionCheck }},
	{name: "no-ip", group: groupMatomo, cmds: cmdSendParse,
		help:   "do not send the visitor's IP (cip); Matomo then sees this machine's address for every visit. Without a token, cip is never sent (Matomo would reject it)",
		target: func(c *config) any { return &c.noIP }},
	{name: "anonymize-ip", arg: "0-3", group: groupMatomo, cmds: cmdSendParse | cmdLake,
		help:   "mask 1 to 3 bytes of IPv4 addresses (IPv6: 64, 80 or 104 bits) before sending, and in the lake",
		target: func(c *config) any { return &c.anonymizeIP }},
	{name: "source", arg: "TEXT", def: "CloudFront", group: groupMatomo, cmds: cmdSendParse,
		help:   "value of Matomo's source parameter",
		target: func(c *config) any { return &c.source }},

	// Delivery.
	{name: "batch-size", arg: "N", def: "200", lambdaEnv: "BATCH_SIZE", group: groupDelivery, cmds: cmdSendParse,
		help:   "hits per bulk request (Matomo's CloudFront Lambda's default is 20)",
		target: func(c *config) any { return &c.batchSize }},
	{name: "concurrency", arg: "N", def: "4", group: groupDelivery, cmds: cmdSendParse,
		help:   "bulk requests in flight",
		target: func(c *config) any { return &c.concurrency }},
	{name: "timeout-ms", arg: "MS", def: "300000", lambdaEnv: "MATOMO_TIMEOUT_MS", group: groupDelivery, cmds: cmdAllMatomo,
		help: "deadline of one HTTP attempt; a batch whose request was sent and not answered in time is in doubt (Matomo may have stored it) and is not resent",
		doc: "300 s, as Matomo's `import_logs.py`: a loaded Matomo took 17 s for one batch. Matomo's CloudFront Lambda's default " +
			"(5000) is too short for a busy Matomo: every batch that times out is in doubt.",
		target: func(c *config) any { return &c.timeoutMS }},
	{name: "max-outage", arg: "DURATION", def: "10m", group: groupDelivery, cmds: cmdDelivering | cmdReplay,
		help:   "how long Matomo may be unreachable or failing (connection refused, DNS, TLS, HTTP 429 or 5xx) before the run stops; batches are retried meanwhile and never dead-lettered for an outage; the next run resumes where the confirmed hits end",
		target: func(c *config) any { return &c.maxOutage }},
	{name: "retry-backoff", arg: "DURATION", def: "1s", group: groupDelivery, cmds: cmdSend | cmdReplay | cmdLambda,
		help:   "first retry delay; doubles, with jitter, up to 30s; a Retry-After answer wins",
		target: func(c *config) any { return &c.retryBackoff }},
	{name: "state-dir", arg: "DIR", defDoc: "$XDG_STATE_HOME/trackless, else ~/.local/state/trackless", group: groupDelivery, cmds: cmdSend | cmdReplay,
		help:   "directory of the delivery ledger and of the dead-letter and rejected-hits files",
		target: func(c *config) any { return &c.stateDir }},
	{name: "ledger", arg: "LOCATION", group: groupDelivery, cmds: cmdDelivering,
		defDoc: "the state dir",
		help:   "where the ledger is: s3://BUCKET/PREFIX/ (shared by every run and Lambda, with claims), or a directory",
		doc: "A Lambda needs it on S3 (`none`: no ledger, with a warning: an S3 event that comes twice is sent twice). " +
			"See docs/lambda.md.",
		target: func(c *config) any { return &c.ledger }},
	{name: "claim-ttl", arg: "DURATION", def: shortDuration(ledger.DefaultClaimTTL), group: groupDelivery, cmds: cmdDelivering,
		help:   "S3 ledger: how long a claim on an input lasts unless renewed (renewed every third of it; 45s in a Lambda); a crashed worker's inputs are read again after it",
		target: func(c *config) any { return &c.claimTTL }},
	{name: "after", arg: "ACTION", def: "keep", group: groupDelivery, cmds: cmdDelivering,
		help: "what to do with an input once all its hits are confirmed (and counted, with --report-state): keep, delete, or move=DEST (s3://BUCKET/PREFIX/ for objects, a directory for files)",
		doc: "A file moved never replaces one of the same name in DEST: it becomes NAME.2, NAME.3... (rotated logs come back under the same names). " +
			"An object keeps its key below the prefix it was listed under (listed under `s3://b/in/`, `in/2026/x.gz` moves to `DEST/2026/x.gz`); an object of a Lambda event keeps its whole key.",
		target: func(c *config) any { return &c.after }},
	{name: "follow", group: groupDelivery, cmds: cmdSend | cmdParse | cmdReport | cmdLake,
		help: "keep reading what is written to the inputs, as they grow and rotate, until stopped (SIGTERM, SIGINT: exit 0, progress saved): send (and count into --report-state, write to --lake) or print every --poll; lake writes every --poll, publishing files every --flush-interval; report (with --state and -o) rewrites its HTML every --refresh",
		doc: "Each round reads the lines written since the last confirmed one (a half-written last line waits for the next round), finds the file a path was after a rotation, " +
			"and records its progress as Matomo confirms it (and the report state, with `--report-state`, as it counts it). An outage longer than `--max-outage` does not stop it: it waits and goes on where it stopped. " +
			"`parse --follow` prints the inputs whole, then what is written to them, like `tail -F`; it remembers what it printed only while it runs.",
		target: func(c *config) any { return &c.follow }},
	{name: "poll", arg: "DURATION", def: "1s", group: groupDelivery, cmds: cmdSend | cmdParse | cmdLake,
		help:   "with --follow: how often to look for new lines",
		target: func(c *config) any { return &c.poll }},
	{name: "force", group: groupDelivery, cmds: cmdSend | cmdReport | cmdLake,
		help: "ignore what the ledger and the report state recorded of the inputs: send (and count) every input again; " +
			"the lake reads again only the inputs it found not to be logs (with another --format): what it wrote is never written twice",
		target: func(c *config) any { return &c.force }},
	{name: "dead-letter-file", arg: "FILE", defDoc: "STATE-DIR/dead-letter/TIME-PID.jsonl", group: groupDelivery, cmds: cmdSend | cmdReplay,
		help:   "where batches go that Matomo refused (a 4xx no retry can fix); send them again with trackless replay FILE",
		target: func(c *config) any { return &c.deadLetter }},
	{name: "in-doubt-file", arg: "FILE", defDoc: "STATE-DIR/in-doubt/TIME-PID.jsonl", group: groupDelivery, cmds: cmdSend | cmdReplay,
		help:   "where batches go that Matomo may have stored (sent, and not answered in time or answered in a way that does not account for them): they are never resent automatically; check Matomo, then trackless replay FILE",
		target: func(c *config) any { return &c.inDoubt }},
	{name: "rejected-file", arg: "FILE", defDoc: "STATE-DIR/rejected/TIME-PID.jsonl", group: groupDelivery, cmds: cmdSend | cmdReplay,
		help:   "where hits Matomo rejected go",
		target: func(c *config) any { return &c.rejected }},
	{name: "lambda-stop-before", arg: "DURATION", def: "10s", group: groupDelivery, cmds: cmdLambda,
		help:   "stop reading this long before the invocation's deadline, finish what is in flight, and fail so that the retry resumes",
		target: func(c *config) any { return &c.lambdaStopBefore }},

	// S3 and AWS.
	{name: "s3-endpoint", arg: "URL", defDoc: "AWS", group: groupS3, cmds: cmdRead | cmdCompact,
		help:   "URL of an S3-compatible server (http://127.0.0.1:7070); turns on path-style addressing",
		target: func(c *config) any { return &c.s3Endpoint }},
	{name: "s3-path-style", arg: "auto|true|false", def: "auto", group: groupS3, cmds: cmdRead | cmdCompact,
		help:   "address buckets in the path (true), as a host name (false), or auto: path style with --s3-endpoint or the SDK's AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL), which S3-compatible servers need",
		target: func(c *config) any { return &c.s3PathStyle }},
	{name: "s3-region", arg: "REGION", defDoc: "AWS_REGION or the profile's", group: groupS3, cmds: cmdRead | cmdCompact,
		help:   "AWS region of the buckets; credentials come from the standard AWS chain (environment, AWS_PROFILE, SSO, roles)",
		target: func(c *config) any { return &c.s3Region }},

	// Output.
	{name: "output", arg: "requests|jsonl", def: "requests", group: groupOutput, cmds: cmdParse,
		help:   "requests: the {\"requests\":[...]} bodies send would post, one per line (without the token); jsonl: one normalized hit per line, with its classification, why it is skipped, and its request (when a site is set)",
		target: func(c *config) any { return &c.output }},
	{name: "log-level", arg: "LEVEL", def: "warn", lambdaEnv: "LOG_LEVEL", group: groupOutput, cmds: cmdRead | cmdReplay | cmdCompact,
		help:   "silent, error, warn, info or debug; structured logs on stderr",
		target: func(c *config) any { return &c.logLevel }},
	{name: "progress", arg: "auto|always|never", def: "auto", group: groupOutput, cmds: cmdSend | cmdParse,
		help:   "progress bar on stderr (bytes, rate, ETA): auto (only on a terminal), always, never",
		target: func(c *config) any { return &c.progress }},
	{name: "quiet", group: groupOutput, cmds: cmdSend,
		help:   "print the summary only when the run exits non-zero (for cron: no mail when all went well); warnings and errors are still logged",
		target: func(c *config) any { return &c.quiet }},
	{name: "summary-json", arg: "FILE", group: groupOutput, cmds: cmdSend | cmdParse | cmdReplay,
		help:   "also write the summary as JSON to this file (- for stdout)",
		target: func(c *config) any { return &c.summaryJSON }},
	{name: "cpu-profile", arg: "FILE", group: groupOutput, cmds: cmdSend | cmdParse | cmdReport | cmdLake,
		help:   "write a CPU profile of the run to this file (go tool pprof)",
		target: func(c *config) any { return &c.cpuProfile }},
}
