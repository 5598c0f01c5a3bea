// Package cli is the trackless command line: it turns flags and environment
// variables into a configuration, runs a command and returns its exit code.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/logformat"
	"github.com/trackless/trackless/internal/matomo"
	"github.com/trackless/trackless/internal/pipeline"
)

// Exit codes.
const (
	ExitOK          = 0 // everything read was delivered (or printed)
	ExitUndelivered = 1 // something was not delivered: dead-lettered or rejected hits, unreadable or damaged inputs
	ExitUsage       = 2 // bad command line or configuration
	ExitFatal       = 3 // the run had to stop: ledger error, old hits without a token, …
	ExitInterrupted = 130
)

// Env is the process environment the CLI reads.
type Env struct {
	Args   []string // without the program name
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// StderrIsTerminal enables the progress bar in "auto" mode.
	StderrIsTerminal bool
}

// Main runs the command line and returns the exit code.
func Main(env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(env.Args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return ExitUsage
	}
	cmd, args := env.Args[0], env.Args[1:]
	switch cmd {
	case "send":
		return runSend(env, args, false)
	case "parse":
		return runSend(env, args, true)
	case "replay":
		return runReplay(env, args)
	case "report":
		return runReport(env, args)
	case "version", "--version":
		fmt.Fprintln(env.Stdout, "trackless", Version)
		return ExitOK
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "trackless: unknown command %q\n\n%s", cmd, usage)
	return ExitUsage
}

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

const usage = `trackless turns access logs into web analytics, with no JavaScript tracker.

Usage:
  trackless send   [flags] [FILE|DIR|-]...   send hits to Matomo's bulk tracking API
  trackless parse  [flags] [FILE|DIR|-]...   print what send would post, without sending
  trackless report [flags] [FILE|DIR|-]...   analytics from the logs alone: HTML (-o), JSON (--json) or text
  trackless replay [flags] DEAD-LETTER-FILE  send the batches of a dead-letter file again
  trackless version

Run "trackless COMMAND -h" for the flags of a command. Every flag can also be
set as TRACKLESS_<FLAG> in the environment (TRACKLESS_SITE_ID), and the
settings of Matomo's CloudFront Lambda (MATOMO_URL, MATOMO_SITE_ID, ...) are
read too; flags win over the environment. See README.md.
`

type config struct {
	matomoURL, token, tokenFile      string
	siteID, recMode                  int
	batchSize, concurrency           int
	timeoutMS                        int
	docRe, excludeRe, uaRe, methods  string
	defScheme, defHost, source       string
	logLevel, summaryJSON, progress  string
	stateDir, deadLetter, rejected   string
	force, noVersionCheck            bool
	retries                          int
	retryBackoff                     time.Duration
	output, format                   string
	mode                             string
	noIP                             bool
	anonymizeIP                      int
	enableStatic, enableBots         bool
	enableErrors, enableRedirects    bool
	sites, includeHosts              listFlag
	excludeHosts, excludePaths       listFlag
	includePaths                     listFlag
	uaExclude                        listFlag
	siteFile, olderThan, newerThan   string
	stripQuery, siteAuto, addSites   bool
	reorderWindow                    time.Duration
	realtimeFields                   listFlag
	logFormat                        string
	cpuProfile                       string
	excludePathFrom, includePathFrom listFlag
	lowerPath                        bool
	addToDate                        float64
	w3cFields                        string
	w3cMap                           listFlag
	w3cTimeTakenMS                   bool
	decodeUA                         string
	s3Endpoint, s3PathStyle          string
	s3Region, since, until           string
	ledger, after                    string
	claimTTL                         time.Duration
	maxOpen                          int
}

// commonFlags are shared by send and parse; peers maps flags to the
// variables of Matomo's CloudFront Lambda.
func commonFlags(fs *flag.FlagSet, c *config, peers map[string]string) {
	fs.StringVar(&c.matomoURL, "matomo-url", "", "Matomo base URL, e.g. https://analytics.example.com (MATOMO_URL)")
	fs.IntVar(&c.siteID, "site-id", 0, "Matomo site id (MATOMO_SITE_ID)")
	fs.StringVar(&c.token, "token-auth", "", "Matomo token_auth; prefer the environment or --token-file (MATOMO_TOKEN_AUTH)")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding the Matomo token")
	fs.StringVar(&c.mode, "mode", "", "ai (AI assistants, recMode=1), visits (classic visits, no recMode) or auto (recMode=2); default: from --rec-mode")
	fs.IntVar(&c.recMode, "rec-mode", 1, "1: AI assistants only (bot tracking); 2: AI assistants and visits, routed by Matomo (MATOMO_REC_MODE)")
	fs.BoolVar(&c.noIP, "no-ip", false, "visits mode: do not send the visitor's IP (cip); Matomo then sees this machine's address")
	fs.IntVar(&c.anonymizeIP, "anonymize-ip", 0, "visits mode: mask 1-3 bytes of IPv4 addresses (IPv6: 64, 80, 104 bits) before sending")
	fs.BoolVar(&c.enableStatic, "enable-static", false, "visits mode: also track static files (css, js, images...)")
	fs.BoolVar(&c.enableBots, "enable-bots", false, "visits mode: also track bots, with bots=1")
	fs.BoolVar(&c.enableErrors, "enable-http-errors", false, "visits mode: also track HTTP errors (4xx, 5xx), titled \"404/URL = ...\"")
	fs.BoolVar(&c.enableRedirects, "enable-http-redirects", false, "visits mode: also track redirects (3xx but 304)")
	fs.Var(&c.sites, "site", "HOST=ID: send the hits of HOST (or *.domain) to site ID; repeatable; hosts mapped to no site are skipped and listed, unless --site-id is given as the fallback")
	fs.StringVar(&c.siteFile, "site-file", "", "file of HOST=ID lines, as --site")
	fs.BoolVar(&c.addSites, "add-sites", false, "with --site-auto: create a site in Matomo for a host that has none (SitesManager.addSite; needs a super user's token)")
	fs.BoolVar(&c.siteAuto, "site-auto", false, "ask Matomo which site has a host among its URLs (SitesManager.getSitesIdFromSiteUrl; needs the token), once per host")
	fs.DurationVar(&c.reorderWindow, "reorder-window", pipeline.DefaultReorderWindow, "how late a hit may come within a log and still be sent in time order (memory grows with it)")
	fs.IntVar(&c.batchSize, "batch-size", 200, "hits per bulk request (BATCH_SIZE)")
	fs.IntVar(&c.concurrency, "concurrency", 4, "bulk requests in flight")
	fs.IntVar(&c.timeoutMS, "timeout-ms", 5000, "deadline of one HTTP attempt, in ms (MATOMO_TIMEOUT_MS)")
	fs.StringVar(&c.uaRe, "user-agent-allowlist-regex", "", "case-insensitive regex of user agents to track (USER_AGENT_ALLOWLIST_REGEX; default: AI assistants in rec mode 1, any in 2)")
	fs.StringVar(&c.methods, "http-method-allowlist", "", "comma-separated HTTP methods to track (HTTP_METHOD_ALLOWLIST; default GET, and every method in visits mode)")
	fs.StringVar(&c.source, "source", "CloudFront", "value of Matomo's source parameter")
	fs.StringVar(&c.summaryJSON, "summary-json", "", "write the summary as JSON to this file (- for stdout)")
	fs.IntVar(&c.maxOpen, "max-open-inputs", 64, "inputs read side by side at most (inputs that overlap in time are merged while open)")
	fs.StringVar(&c.decodeUA, "decode-user-agent", "", "accepted for compatibility (CLOUDFRONT_DECODE_USER_AGENT): trackless always decodes user agents")
	readFlags(fs, c, peers)
	peers["matomo-url"] = "MATOMO_URL"
	peers["site-id"] = "MATOMO_SITE_ID"
	peers["token-auth"] = "MATOMO_TOKEN_AUTH"
	peers["rec-mode"] = "MATOMO_REC_MODE"
	peers["batch-size"] = "BATCH_SIZE"
	peers["timeout-ms"] = "MATOMO_TIMEOUT_MS"
	peers["user-agent-allowlist-regex"] = "USER_AGENT_ALLOWLIST_REGEX"
	peers["http-method-allowlist"] = "HTTP_METHOD_ALLOWLIST"
	peers["decode-user-agent"] = "CLOUDFRONT_DECODE_USER_AGENT"
}

// readFlags are the flags of reading logs, shared by send, parse and
// report: formats, filters, S3, logging.
func readFlags(fs *flag.FlagSet, c *config, peers map[string]string) {
	fs.Var(&c.includeHosts, "include-host", "only hits of this host, or of hosts matching this glob (*.example.com); repeatable")
	fs.Var(&c.includeHosts, "hostname", "the same as --include-host (Matomo's importer's name)")
	fs.Var(&c.excludeHosts, "exclude-host", "skip hits of this host, or of hosts matching this glob; repeatable")
	fs.Var(&c.excludePaths, "exclude-path", "skip paths matching this glob (/admin/*); repeatable")
	fs.Var(&c.includePaths, "include-path", "only paths matching this glob; repeatable")
	fs.Var(&c.excludePathFrom, "exclude-path-from", "file of globs to skip, one a line ('#' comments); repeatable")
	fs.Var(&c.includePathFrom, "include-path-from", "file of globs to keep, one a line; repeatable")
	fs.BoolVar(&c.lowerPath, "force-lowercase-path", false, "lower-case paths before filtering and sending")
	fs.Float64Var(&c.addToDate, "add-to-date", 0, "hours to add to every hit's time (for logs written in local time without an offset); may be negative or fractional")
	fs.StringVar(&c.w3cFields, "w3c-fields", "", "W3C logs without a #Fields header: the header to use ('#Fields: date time c-ip ...')")
	fs.Var(&c.w3cMap, "w3c-map-field", "W3C logs: CUSTOM=STANDARD reads a field named CUSTOM as the standard field (TimeTaken=time-taken); repeatable")
	fs.Var(&c.uaExclude, "useragent-exclude", "skip user agents containing this text (case-insensitive); repeatable")
	fs.StringVar(&c.olderThan, "exclude-older-than", "", "skip hits before this time (2026-11-01, 2026-11-01 10:00:00 +0100, RFC 3339, or a duration back from now: 36h)")
	fs.StringVar(&c.newerThan, "exclude-newer-than", "", "skip hits after this time (same forms)")
	fs.BoolVar(&c.stripQuery, "strip-query-string", false, "drop query strings from URLs")
	fs.StringVar(&c.logFormat, "log-format", "", "an nginx log_format or Apache LogFormat string, as in the server's configuration ('$remote_addr - $remote_user [$time_local] \"$request\" ...'); implies --format custom")
	fs.StringVar(&c.cpuProfile, "cpu-profile", "", "write a CPU profile of the run to this file (go tool pprof)")
	fs.BoolVar(&c.w3cTimeTakenMS, "w3c-time-taken-millisecs", false, "W3C logs: time-taken is in milliseconds (IIS logs are recognised and always read so; other W3C logs are read in seconds, as the W3C draft says)")
	fs.Var(&c.realtimeFields, "realtime-fields", "--format cloudfront-realtime: the fields enabled in the real-time log configuration, in any order (default: all 43)")
	fs.StringVar(&c.defHost, "log-hostname", "", "host for logs that carry none (the same as --default-host)")
	fs.StringVar(&c.docRe, "document-regex", "", "case-insensitive regex on the URL marking downloads (DOCUMENT_REGEX; default: the peer's list)")
	fs.StringVar(&c.excludeRe, "url-exclude-regex", "", "case-insensitive regex on the URL of requests not to track (URL_EXCLUDE_REGEX; default: static assets)")
	fs.StringVar(&c.defScheme, "default-protocol", "", "protocol when the log has none (CLOUDFRONT_DEFAULT_PROTOCOL)")
	fs.StringVar(&c.defHost, "default-host", "", "host when the log has none (CLOUDFRONT_DEFAULT_HOST)")
	fs.StringVar(&c.format, "format", "auto", "log format: "+strings.Join(logformat.Formats, ", ")+"; auto detects it per input")
	fs.StringVar(&c.logLevel, "log-level", "warn", "silent, error, warn, info or debug (LOG_LEVEL)")
	fs.StringVar(&c.progress, "progress", "auto", "progress bar on stderr: auto (on a terminal), always, never")
	fs.StringVar(&c.s3Endpoint, "s3-endpoint", "", "URL of an S3-compatible server (http://127.0.0.1:7070); default: AWS")
	fs.StringVar(&c.s3PathStyle, "s3-path-style", "auto", "address buckets in the path (true), as a host name (false), or auto: path style with --s3-endpoint")
	fs.StringVar(&c.s3Region, "s3-region", "", "AWS region of the buckets (default: AWS_REGION or the profile's)")
	fs.StringVar(&c.since, "since", "", "read only inputs whose name says an hour at or after this time (CloudFront's DIST.YYYY-MM-DD-HH.ID.gz and v2 partitions; the same forms as --exclude-older-than); S3 listings skip the rest")
	fs.StringVar(&c.until, "until", "", "read only inputs whose name says an hour before this time (same forms)")
	peers["document-regex"] = "DOCUMENT_REGEX"
	peers["url-exclude-regex"] = "URL_EXCLUDE_REGEX"
	peers["default-protocol"] = "CLOUDFRONT_DEFAULT_PROTOCOL"
	peers["default-host"] = "CLOUDFRONT_DEFAULT_HOST"
	peers["log-level"] = "LOG_LEVEL"
}

func deliveryFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.stateDir, "state-dir", defaultStateDir(), "directory of the delivery ledger, dead-letter and rejected-hits files")
	fs.StringVar(&c.ledger, "ledger", "", "where the ledger is: s3://BUCKET/PREFIX/ (shared by every run and Lambda, with claims), or a directory (default: the state dir)")
	fs.DurationVar(&c.claimTTL, "claim-ttl", ledger.DefaultClaimTTL, "S3 ledger: how long a claim on an input lasts unless renewed (renewed every third of it); a crashed worker's inputs are read again after it")
	fs.StringVar(&c.after, "after", "keep", "what to do with an input once all its hits are confirmed: keep, delete, or move=DEST (s3://BUCKET/PREFIX/ for objects, a directory for files)")
	fs.StringVar(&c.deadLetter, "dead-letter-file", "", "where undeliverable batches go (default: STATE-DIR/dead-letter/TIME-PID.jsonl)")
	fs.StringVar(&c.rejected, "rejected-file", "", "where hits Matomo rejected go (default: STATE-DIR/rejected/TIME-PID.jsonl)")
	fs.IntVar(&c.retries, "retries", 5, "retries of a failed bulk request")
	fs.DurationVar(&c.retryBackoff, "retry-backoff", time.Second, "first retry delay; doubles up to 30s, with jitter")
}

func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "trackless")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "trackless")
	}
	return ".trackless-state"
}

func newFlagSet(env Env, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: trackless %s [flags] %s\n\nFlags (each also TRACKLESS_<FLAG> in the environment):\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// readerOptions are the settings of the log readers.
func (c *config) readerOptions() logformat.ReaderOptions {
	o := logformat.ReaderOptions{RealtimeFields: c.realtimeFields, LogFormat: c.logFormat, W3CTimeTakenMS: c.w3cTimeTakenMS, W3CFields: c.w3cFields}
	for _, kv := range c.w3cMap {
		k, v, _ := strings.Cut(kv, "=")
		if o.W3CFieldMap == nil {
			o.W3CFieldMap = map[string]string{}
		}
		o.W3CFieldMap[strings.ToLower(strings.TrimSpace(k))] = strings.ToLower(strings.TrimSpace(v))
	}
	return o
}

func (c *config) validate(parse bool) error {
	if c.siteID < 0 || (c.siteID == 0 && len(c.sites) == 0 && c.siteFile == "" && !c.siteAuto) {
		return errors.New("missing site id: set --site-id or MATOMO_SITE_ID (a positive integer), or map hosts with --site HOST=ID or --site-auto")
	}
	if c.addSites && !c.siteAuto {
		return errors.New("--add-sites works with --site-auto")
	}
	if c.siteAuto && (c.matomoURL == "" || (c.token == "" && c.tokenFile == "")) {
		return errors.New("--site-auto asks Matomo for sites: it needs --matomo-url (MATOMO_URL) and a token (MATOMO_TOKEN_AUTH)")
	}
	if c.recMode != 1 && c.recMode != 2 {
		return fmt.Errorf("MATOMO_REC_MODE (--rec-mode) must be 1 or 2, not %d", c.recMode)
	}
	switch c.mode {
	case "":
		c.mode = map[int]string{1: "ai", 2: "auto"}[c.recMode]
	case "ai":
		c.recMode = 1
	case "auto":
		c.recMode = 2
	case "visits":
		c.recMode = 0
		if c.token == "" && c.tokenFile == "" && !c.noIP && !parse {
			return errors.New("visits mode sends the visitor's IP (cip), which Matomo accepts only with a token: set MATOMO_TOKEN_AUTH (--token-auth), or --no-ip to send none (Matomo then sees every visit as coming from this machine)")
		}
	default:
		return fmt.Errorf("TRACKLESS_MODE (--mode) must be ai, visits or auto, not %q", c.mode)
	}
	if c.anonymizeIP < 0 || c.anonymizeIP > 3 {
		return fmt.Errorf("--anonymize-ip must be 0 to 3, not %d", c.anonymizeIP)
	}
	if c.batchSize < 1 || c.batchSize > 10000 {
		return fmt.Errorf("BATCH_SIZE (--batch-size) must be between 1 and 10000, not %d", c.batchSize)
	}
	if c.concurrency < 1 || c.concurrency > 64 {
		return fmt.Errorf("--concurrency must be between 1 and 64, not %d", c.concurrency)
	}
	for _, kv := range c.w3cMap {
		if k, v, ok := strings.Cut(kv, "="); !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			return fmt.Errorf("--w3c-map-field %q: want CUSTOM=STANDARD", kv)
		}
	}
	if c.timeoutMS < 1 {
		return fmt.Errorf("MATOMO_TIMEOUT_MS (--timeout-ms) must be positive, not %d", c.timeoutMS)
	}
	if _, err := logformat.NewReader(c.format, "", c.readerOptions()); err != nil {
		return fmt.Errorf("--format: %v", err)
	}
	switch c.progress {
	case "auto", "always", "never":
	default:
		return fmt.Errorf("--progress must be auto, always or never, not %q", c.progress)
	}
	switch strings.ToLower(strings.TrimSpace(c.decodeUA)) {
	case "", "true", "1", "false", "0":
	default:
		return fmt.Errorf("CLOUDFRONT_DECODE_USER_AGENT must be true, 1, false or 0, not %q", c.decodeUA)
	}
	if c.defScheme != "" && c.defScheme != "http" && c.defScheme != "https" {
		return fmt.Errorf("CLOUDFRONT_DEFAULT_PROTOCOL (--default-protocol) must be http or https, not %q", c.defScheme)
	}
	if strings.ContainsAny(c.defHost, "/:? ") {
		return fmt.Errorf("CLOUDFRONT_DEFAULT_HOST (--default-host) must be a host name without protocol or path, not %q", c.defHost)
	}
	if !parse && c.matomoURL == "" {
		return errors.New("missing Matomo URL: set --matomo-url or MATOMO_URL")
	}
	return c.readTokenFile()
}

// readTokenFile reads --token-file into the token.
func (c *config) readTokenFile() error {
	if c.tokenFile == "" {
		return nil
	}
	data, err := os.ReadFile(c.tokenFile)
	if err != nil {
		return fmt.Errorf("--token-file: %v", err)
	}
	c.token = strings.TrimSpace(string(data))
	return nil
}

// parseArgs parses the flags, then the environment. ok is false when the
// command must stop with code (help was asked for, or a usage error).
func parseArgs(env Env, fs *flag.FlagSet, peers map[string]string, args []string) (positional []string, code int, ok bool) {
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, ExitOK, false
		}
		return nil, ExitUsage, false
	}
	if err := applyEnv(fs, peers, env.Getenv); err != nil {
		fmt.Fprintln(env.Stderr, "trackless:", err)
		return nil, ExitUsage, false
	}
	return positional, ExitOK, true
}

// newClient returns the Matomo client the configuration describes.
func (c *config) newClient(log *slog.Logger) (*matomo.Client, error) {
	client, err := matomo.NewClient(c.matomoURL, c.token, log)
	if err != nil {
		return nil, err
	}
	client.Timeout = time.Duration(c.timeoutMS) * time.Millisecond
	client.Retries, client.Backoff = c.retries, c.retryBackoff
	return client, nil
}

// recorders returns the dead-letter and rejected-hits files of this run.
func (c *config) recorders() (deadLetter, rejected *pipeline.Recorder) {
	stamp := time.Now().UTC().Format("20060102T150405Z") + "-" + strconv.Itoa(os.Getpid())
	deadLetter = pipeline.NewRecorder(orDefault(c.deadLetter, filepath.Join(c.stateDir, "dead-letter", stamp+".jsonl")))
	rejected = pipeline.NewRecorder(orDefault(c.rejected, filepath.Join(c.stateDir, "rejected", stamp+".jsonl")))
	return deadLetter, rejected
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "silent":
		return slog.New(slog.DiscardHandler), nil
	case "error":
		l = slog.LevelError
	case "warn", "warning", "":
		l = slog.LevelWarn
	case "info":
		l = slog.LevelInfo
	case "debug":
		l = slog.LevelDebug
	default:
		return nil, fmt.Errorf("LOG_LEVEL (--log-level) must be silent, error, warn, info or debug, not %q", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func runSend(env Env, args []string, parse bool) int {
	name := "send"
	if parse {
		name = "parse"
	}
	var c config
	peers := map[string]string{}
	fs := newFlagSet(env, name, "[FILE|DIR|s3://BUCKET/PREFIX|-]...")
	commonFlags(fs, &c, peers)
	if parse {
		fs.StringVar(&c.output, "output", "requests", `"requests": the {"requests":[...]} bodies send would post, one per line; "jsonl": one normalized hit per line`)
	} else {
		deliveryFlags(fs, &c)
		fs.BoolVar(&c.force, "force", false, "ignore the ledger: send every input again")
		fs.BoolVar(&c.noVersionCheck, "no-version-check", false, "do not ask Matomo for its version")
	}
	positional, code, ok := parseArgs(env, fs, peers, args)
	if !ok {
		return code
	}
	if err := c.validate(parse); err != nil {
		fmt.Fprintln(env.Stderr, "trackless:", err)
		return ExitUsage
	}
	if parse && c.output != "requests" && c.output != "jsonl" {
		fmt.Fprintf(env.Stderr, "trackless: --output must be requests or jsonl, not %q\n", c.output)
		return ExitUsage
	}
	if c.cpuProfile != "" {
		stop, err := startCPUProfile(c.cpuProfile)
		if err != nil {
			fmt.Fprintln(env.Stderr, "trackless:", err)
			return ExitUsage
		}
		defer stop()
	}
	log, err := newLogger(env.Stderr, c.logLevel)
	if err != nil {
		fmt.Fprintln(env.Stderr, "trackless:", err)
		return ExitUsage
	}
	ctx, sendCtx, stop := signalContexts(log)
	defer stop()
	j, code := newJob(ctx, env, &c, parse, log)
	if j == nil {
		return code
	}
	defer j.close()
	inputs, err := j.resolve(ctx, positional)
	if err != nil {
		fmt.Fprintln(env.Stderr, "trackless:", err)
		return ExitUsage
	}
	if !parse {
		if !c.noVersionCheck && c.mode != "visits" {
			checkVersion(ctx, j.opt.Client, c, log)
		}
		if code := j.openLedger(ctx, true); code != ExitOK {
			return code
		}
		j.opt.DeadLetter, j.opt.Rejected = c.recorders()
		defer j.opt.DeadLetter.Close()
		defer j.opt.Rejected.Close()
	}
	opt := j.options(inputs)
	var bar *progressBar
	if c.progress == "always" || (c.progress == "auto" && env.StderrIsTerminal) {
		bar = newProgressBar(env.Stderr, inputs.total)
		opt.Progress = bar.setInput
		opt.HitCount = &bar.hits
		bar.start()
	}
	stats, runErr := pipeline.Run(ctx, sendCtx, inputs.names, opt)
	if bar != nil {
		bar.stop(stats)
	}
	if j.out != nil {
		if err := j.out.Flush(); err != nil && runErr == nil {
			runErr = fmt.Errorf("writing output: %w", err)
		}
	}
	code = exitCode(stats, runErr)
	if stats != nil {
		printSummary(env.Stderr, name, stats, parse)
		if c.summaryJSON != "" {
			if err := writeSummaryJSON(env, c.summaryJSON, stats, code); err != nil {
				fmt.Fprintln(env.Stderr, "trackless:", err)
			}
		}
	}
	if runErr != nil {
		fmt.Fprintln(env.Stderr, "trackless:", runErr)
	}
	return code
}

// exitCode is the exit code of a run.
func exitCode(stats *pipeline.Stats, runErr error) int {
	switch {
	case runErr != nil && (errors.Is(runErr, context.Canceled)):
		return ExitInterrupted
	case runErr != nil && errors.Is(runErr, pipeline.ErrOldHits):
		return ExitUsage
	case runErr != nil:
		return ExitFatal
	case stats.DeadLettered > 0 || stats.Invalid > 0 || len(stats.InputsDamaged) > 0 || stats.AfterFailed > 0:
		return ExitUndelivered
	}
	return ExitOK
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// checkVersion warns when Matomo is too old for recMode: such a server
// counts AI-assistant hits as tracked and drops them.
func checkVersion(ctx context.Context, client *matomo.Client, c config, log *slog.Logger) {
	if c.token == "" {
		log.Info("no token: cannot check that Matomo is recent enough for AI-assistant tracking (recMode needs Matomo " + matomo.FirstRecModeVersion + " or later)")
		return
	}
	v, err := client.Version(ctx)
	if err != nil {
		log.Warn("cannot read Matomo's version", "error", err)
		return
	}
	if !matomo.VersionAtLeast(v, matomo.FirstRecModeVersion) {
		log.Warn("Matomo is older than the first version with AI-assistant tracking (recMode): it will count AI-assistant hits as tracked and store nothing",
			"matomo_version", v, "needed", matomo.FirstRecModeVersion)
	}
}

// signalContexts: the first SIGINT/SIGTERM stops reading (batches in flight
// finish and are recorded), the second cancels them too.
func signalContexts(log *slog.Logger) (ctx, sendCtx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sendCtx, cancelSend := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		n := 0
		for range ch {
			n++
			if n == 1 {
				log.Warn("interrupted: finishing the batches in flight; interrupt again to stop at once")
				cancel()
			} else {
				cancelSend()
			}
		}
	}()
	return ctx, sendCtx, func() {
		signal.Stop(ch)
		cancel()
		cancelSend()
	}
}

// expandInputs turns arguments into input names: files as given, the
// regular files under directories (sorted, hidden ones left out), "-".
func expandInputs(args []string) ([]string, error) {
	if len(args) == 0 {
		return nil, errors.New("no input: give files, directories, or - for stdin")
	}
	var out []string
	for _, a := range args {
		if a == "-" {
			out = append(out, a)
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		var files []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && p != a {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		out = append(out, files...)
	}
	return out, nil
}

// writeRequests writes one bulk body, as send posts it but without the token.
func writeRequests(w *bufio.Writer, items [][]byte) error {
	w.WriteString(`{"requests":[`)
	for i, it := range items {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteByte('"')
		w.Write(it)
		w.WriteByte('"')
	}
	_, err := w.WriteString("]}\n")
	return err
}

type hitJSON struct {
	Input        string `json:"input"`
	Line         int64  `json:"line"`
	Time         string `json:"time"`
	Method       string `json:"method,omitempty"`
	URL          string `json:"url,omitempty"`
	Scheme       string `json:"scheme,omitempty"`
	Host         string `json:"host,omitempty"`
	Path         string `json:"path"`
	Query        string `json:"query,omitempty"`
	Status       int    `json:"status"`
	Bytes        int64  `json:"bytes"`
	DurationMS   int64  `json:"duration_ms"`
	UserAgent    string `json:"user_agent,omitempty"`
	Referrer     string `json:"referrer,omitempty"`
	ClientIP     string `json:"client_ip,omitempty"`
	ForwardedFor string `json:"x_forwarded_for,omitempty"`
	EdgeLocation string `json:"edge_location,omitempty"`
	ResultType   string `json:"result_type,omitempty"`
	RequestID    string `json:"request_id,omitempty"`
	Kind         string `json:"kind"`
	AIAssistant  string `json:"ai_assistant,omitempty"`
	Skip         string `json:"skip,omitempty"`
	Request      string `json:"request,omitempty"`
}

func jsonHit(input string, line int64, h *hit.Hit, r classify.Result, url string, item []byte) hitJSON {
	j := hitJSON{
		Input: input, Line: line,
		Time: h.Time.Format(time.RFC3339Nano), Method: h.Method, URL: url, Scheme: h.Scheme, Host: h.Host,
		Path: h.Path, Query: h.Query, Status: h.Status, Bytes: h.Bytes, DurationMS: -1,
		UserAgent: h.UserAgent, Referrer: h.Referrer, ClientIP: h.ClientIP, ForwardedFor: h.ForwardedFor,
		EdgeLocation: h.EdgeLocation, ResultType: h.ResultType, RequestID: h.RequestID,
		Kind: r.Kind.String(), AIAssistant: r.Agent, Skip: r.Skip, Request: string(item),
	}
	if h.Duration >= 0 {
		j.DurationMS = h.Duration.Milliseconds()
	}
	return j
}
