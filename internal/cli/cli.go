// Package cli is the trackless command line: it turns flags and environment
// variables into a configuration, runs a command and returns its exit code.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/logformat"
	"github.com/trackless/trackless/internal/matomo"
	"github.com/trackless/trackless/internal/pipeline"
)

// Exit codes.
const (
	ExitOK          = 0 // everything read was delivered (or printed)
	ExitUndelivered = 1 // something was not delivered: dead-lettered or rejected hits, unreadable or damaged inputs
	ExitUsage       = 2 // bad command line or configuration
	ExitFatal       = 3 // the run had to stop: the state directory or ledger cannot be read or written, …
	// ExitMatomo: Matomo could not be reached, is not Matomo, or refused
	// the token (nothing was read), or it failed for longer than
	// --max-outage (the next run resumes: nothing was lost).
	ExitMatomo      = 4
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
		return exit(env.Stderr, runSend(env, args, false))
	case "parse":
		return exit(env.Stderr, runSend(env, args, true))
	case "replay":
		return exit(env.Stderr, runReplay(env, args))
	case "report":
		return exit(env.Stderr, runReport(env, args))
	case "lake":
		if len(args) > 0 && args[0] == "compact" {
			return exit(env.Stderr, runCompact(env, args[1:]))
		}
		return exit(env.Stderr, runLake(env, args))
	case "version", "--version":
		fmt.Fprintln(env.Stdout, "trackless", Version)
		return ExitOK
	case "help", "-h", "--help":
		if len(args) > 0 {
			for _, ci := range commandInfos {
				if cmdName(ci.cmd) == strings.Join(args, " ") {
					writeHelp(env.Stdout, ci.cmd)
					return ExitOK
				}
			}
		}
		fmt.Fprint(env.Stdout, usage)
		return ExitOK
	}
	msg := fmt.Sprintf("trackless: unknown command %q", cmd)
	for _, known := range []string{"send", "parse", "report", "lake", "replay", "version"} {
		if editDistance(cmd, known) <= 2 {
			msg += " (did you mean " + known + "?)"
			break
		}
	}
	fmt.Fprintln(env.Stderr, msg+"; see 'trackless --help'")
	return ExitUsage
}

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

// config is the configuration of a command: the settings table (settings.go)
// says which flag and variables set each field.
type config struct {
	matomoURL, token, tokenFile      string
	siteID, recMode                  int
	batchSize, concurrency           int
	timeoutMS                        int
	docRe, excludeRe, uaRe, methods  string
	defScheme, defHost, source       string
	logLevel, summaryJSON, progress  string
	quiet                            bool
	stateDir, deadLetter, rejected   string
	inDoubt                          string
	force, noVersionCheck            bool
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
	follow                           bool
	poll                             time.Duration
	claimTTL                         time.Duration
	maxOpen                          int
	// maxOutage is how long Matomo may be unreachable or failing before
	// the run stops (--max-outage; it replaces --retries).
	maxOutage time.Duration
	// allowOldMatomo lets AI-assistant requests go to a Matomo older than
	// matomo.FirstRecModeVersion (--allow-old-matomo).
	allowOldMatomo bool
	// lambdaStopBefore is how long before an invocation's deadline the
	// Lambda stops reading (--lambda-stop-before).
	lambdaStopBefore time.Duration
	// rep holds report's own settings.
	rep reportConfig
	// lake holds the lake's settings.
	lake lakeConfig
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

// validate checks the configuration of send (parse false), parse or the
// Lambda, section by section (those of the settings table), and completes
// it (the mode from the rec mode, the token from --token-file). The
// report's section is reportConfig.validate; the filters' are checked as
// readFilter builds them.
func (c *config) validate(parse bool) error {
	for _, check := range []func(parse bool) error{c.validateMatomo, c.validateInput, c.validateOutput} {
		if err := check(parse); err != nil {
			return err
		}
	}
	return c.readTokenFile()
}

// validateMatomo checks the Matomo section: where to send, which site,
// the mode, batches and time-outs.
func (c *config) validateMatomo(parse bool) error {
	// parse --output jsonl prints hits, not requests: it needs no site.
	needSite := !parse || c.output != "jsonl"
	if c.siteID < 0 || (needSite && c.siteID == 0 && len(c.sites) == 0 && c.siteFile == "" && !c.siteAuto) {
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
	if !parse && c.maxOutage <= 0 {
		return fmt.Errorf("--max-outage must be positive, not %s", c.maxOutage)
	}
	if c.timeoutMS < 1 {
		return fmt.Errorf("MATOMO_TIMEOUT_MS (--timeout-ms) must be positive, not %d", c.timeoutMS)
	}
	if !parse && c.matomoURL == "" {
		return errors.New("missing Matomo URL: set --matomo-url or MATOMO_URL")
	}
	return nil
}

// validateInput checks the input and format section.
func (c *config) validateInput(bool) error {
	for _, kv := range c.w3cMap {
		if k, v, ok := strings.Cut(kv, "="); !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			return fmt.Errorf("--w3c-map-field %q: want CUSTOM=STANDARD", kv)
		}
	}
	if _, err := logformat.NewReader(c.format, "", c.readerOptions()); err != nil {
		return fmt.Errorf("--format: %v", err)
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
	return nil
}

// validateOutput checks the output section.
func (c *config) validateOutput(bool) error {
	switch c.progress {
	case "", "auto", "always", "never": // "": the Lambda has no progress bar
	default:
		return fmt.Errorf("--progress must be auto, always or never, not %q", c.progress)
	}
	return nil
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

// newClient returns the Matomo client the configuration describes.
func (c *config) newClient(log *slog.Logger) (*matomo.Client, error) {
	client, err := matomo.NewClient(c.matomoURL, c.token, log)
	if err != nil {
		return nil, err
	}
	client.Timeout = time.Duration(c.timeoutMS) * time.Millisecond
	if c.maxOutage > 0 { // replay and parse have no --max-outage: the client's default
		client.MaxOutage = c.maxOutage
	}
	if c.retryBackoff > 0 {
		client.Backoff = c.retryBackoff
	}
	return client, nil
}

// recorders are the dead-letter, in-doubt and rejected-hits files of a run.
type recorders struct {
	deadLetter, inDoubt, rejected *pipeline.Recorder
}

// recorders returns the files of this run (created on first use).
func (c *config) recorders() recorders {
	stamp := time.Now().UTC().Format("20060102T150405Z") + "-" + strconv.Itoa(os.Getpid())
	return recorders{
		deadLetter: pipeline.NewRecorder(orDefault(c.deadLetter, filepath.Join(c.stateDir, "dead-letter", stamp+".jsonl"))),
		inDoubt:    pipeline.NewRecorder(orDefault(c.inDoubt, filepath.Join(c.stateDir, "in-doubt", stamp+".jsonl"))),
		rejected:   pipeline.NewRecorder(orDefault(c.rejected, filepath.Join(c.stateDir, "rejected", stamp+".jsonl"))),
	}
}

// dirs are the folders the files are written in.
func (r recorders) dirs() []string {
	return []string{filepath.Dir(r.deadLetter.Path()), filepath.Dir(r.inDoubt.Path()), filepath.Dir(r.rejected.Path())}
}

func (r recorders) close() {
	r.deadLetter.Close()
	r.inDoubt.Close()
	r.rejected.Close()
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

func runSend(env Env, args []string, parse bool) error {
	name := "send"
	if parse {
		name = "parse"
	}
	cmd := cmdSend
	if parse {
		cmd = cmdParse
	}
	var c config
	positional, _, err := parseCommand(env, cmd, &c, args)
	if err != nil {
		return err
	}
	if err := c.validate(parse); err != nil {
		return usageError(err)
	}
	if err := c.rep.validate(c.rep.reportState, "--report-state"); err != nil && !parse {
		return usageError(err)
	}
	if !parse && c.rep.reportState != "" && (sameDir(c.rep.reportState, c.stateDir) || sameDir(c.rep.reportState, c.ledger)) {
		return usagef("--report-state %s is the state directory of the ledger: give the report state a directory of its own", c.rep.reportState)
	}
	if c.follow && c.poll <= 0 {
		return usagef("--follow needs a positive --poll")
	}
	if parse && c.output != "requests" && c.output != "jsonl" {
		return usagef("--output must be requests or jsonl, not %q", c.output)
	}
	if c.cpuProfile != "" {
		stop, err := startCPUProfile(c.cpuProfile)
		if err != nil {
			return usageError(err)
		}
		defer stop()
	}
	log, err := newLogger(env.Stderr, c.logLevel)
	if err != nil {
		return usageError(err)
	}
	ctx, sendCtx, stop := signalContexts(log, c.follow)
	defer stop()
	j, err := newJob(ctx, env, &c, parse, log)
	if err != nil {
		return err
	}
	defer j.close()
	inputs, err := j.resolve(ctx, positional)
	if err != nil {
		return usageError(err)
	}
	if !parse {
		if err := j.openLedger(ctx, true); err != nil {
			return err
		}
		j.withRemainders(ctx, inputs)
		rec := c.recorders()
		defer rec.close()
		if err := j.probeDirs(rec); err != nil {
			return err
		}
		if err := preflight(ctx, j, &c, log); err != nil {
			return err
		}
		j.opt.DeadLetter, j.opt.InDoubt, j.opt.Rejected = rec.deadLetter, rec.inDoubt, rec.rejected
		j.remindReplays(ctx, rec)
	}
	if parse && c.follow {
		// What was printed is remembered for the rounds to come, in a
		// ledger of its own that goes with the process (parse records
		// nothing): each round prints the lines written since.
		tmp, err := os.MkdirTemp("", "trackless-parse-follow-")
		if err != nil {
			return fatalError(err)
		}
		defer os.RemoveAll(tmp)
		c.stateDir, c.ledger = tmp, ""
		if err := j.openLedger(ctx, true); err != nil {
			return err
		}
	}
	j.siteInfo(ctx)
	var outs sides
	defer func() { outs.close() }()
	if c.rep.reportState != "" {
		rc := c
		if rc.defHost == "" {
			// Hits of a log without hosts are counted under the host
			// Matomo gets for them: its site's.
			rc.defHost = j.siteHost(c.siteID)
		}
		ro, err := rc.openReport(ctx, c.rep.reportState, j.s3Client, j.opt.Filter, true, nil, log)
		if err != nil {
			return err
		}
		outs = append(outs, ro)
	}
	if c.lake.where != "" && !parse {
		lo, err := j.openLake(sendCtx, c.lake.where, j.opt.Filter, true)
		if err != nil {
			return err
		}
		outs = append(outs, lo)
	}
	if c.follow {
		return j.follow(ctx, sendCtx, outs, positional)
	}
	opt := j.options(inputs)
	onDone := opt.OnDone
	opt = outs.feed(opt)
	var bar *progressBar
	if c.progress == "always" || (c.progress == "auto" && env.StderrIsTerminal) {
		bar = newProgressBar(env.Stderr, inputs.Total)
		opt.Progress = bar.setInput
		opt.HitCount = &bar.hits
		bar.start()
	}
	stats, runErr := pipeline.Run(ctx, sendCtx, inputs.Names, opt)
	runErr = outs.finish(stats, runErr, onDone, log)
	runErr = outs.stop(runErr, log)
	if bar != nil {
		bar.stop(stats)
	}
	if j.out != nil {
		if err := j.out.Flush(); err != nil && runErr == nil {
			runErr = fmt.Errorf("writing output: %w", err)
		}
	}
	code := exitCode(stats, runErr)
	if code == ExitOK && len(outs.damaged()) > 0 {
		code = ExitUndelivered
	}
	if stats != nil && !(c.quiet && code == ExitOK) {
		printSummary(env.Stderr, name, stats, parse)
		outs.summary(env.Stderr)
	}
	if stats != nil {
		if c.summaryJSON != "" {
			if err := writeSummaryJSON(env, c.summaryJSON, stats, code); err != nil {
				fmt.Fprintln(env.Stderr, "trackless:", err)
			}
		}
	}
	if runErr != nil {
		fmt.Fprintln(env.Stderr, "trackless:", runErr)
	}
	if stats != nil && nothingForASetting(stats) {
		fmt.Fprintln(env.Stderr, "trackless: nothing was sent: no hit goes to a Matomo site; map its hosts with --site HOST=ID or --site-auto, or give --site-id for the others")
	}
	return said(code)
}

// exitCode is the exit code of a send or parse run (stats may be nil):
// its error's (exitFor), else ExitUndelivered when something was not
// delivered.
func exitCode(stats *pipeline.Stats, runErr error) int {
	switch {
	case runErr != nil:
		return exitFor(runErr)
	case stats == nil:
		return ExitOK
	case stats.DeadLettered > 0 || stats.InDoubt > 0 || stats.Invalid > 0 || len(stats.InputsDamaged) > 0 ||
		stats.AfterFailed > 0 || len(stats.InputsMostlyMalformed) > 0 || nothingForASetting(stats):
		return ExitUndelivered
	}
	return ExitOK
}

// nothingForASetting tells a run that sent nothing because of a missing
// setting: every hit that passed the filters goes to no site.
func nothingForASetting(s *pipeline.Stats) bool {
	return s.Queued == 0 && s.Skipped[pipeline.SkipNoSite] > 0
}

// sameDir reports whether two local paths name the same directory.
func sameDir(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// preflight proves, before anything is read, that the run can deliver:
// Matomo answers at its URL and takes the token (else a matomoError), and
// it is recent enough for the mode (else a usageError).
func preflight(ctx context.Context, j *job, c *config, log *slog.Logger) error {
	client := j.opt.Client
	version, err := client.Probe(ctx)
	if err != nil {
		return matomoError(fmt.Errorf("nothing was read: %w", err))
	}
	if c.timeoutMS < 30000 {
		log.Warn("the timeout is short for a loaded Matomo (one batch took 17 s on a real one): a batch not answered in time is in doubt and not sent again",
			"timeout", time.Duration(c.timeoutMS)*time.Millisecond)
	}
	if c.mode == "visits" || c.noVersionCheck {
		return nil
	}
	switch {
	case version == "":
		log.Warn("no token: cannot check that Matomo is " + matomo.FirstRecModeVersion + " or later, which rec modes 1 and 2 (AI assistants) need; an older Matomo stores some AI-assistant hits as ordinary visits")
	case matomo.VersionAtLeast(version, matomo.FirstRecModeVersion):
	case c.allowOldMatomo:
		log.Warn("Matomo is older than "+matomo.FirstRecModeVersion+": it ignores recMode, drops AI assistants its device detector knows as bots and stores the others as ordinary visits (--allow-old-matomo)", "matomo_version", version)
	default:
		return usagef("Matomo %s is older than %s, the first version with AI-assistant tracking (rec modes 1 and 2): it would ignore recMode, drop ChatGPT-User hits as bots and store Claude-User and Perplexity-User hits as ordinary visits. Use --mode visits, upgrade Matomo, or --allow-old-matomo to send anyway",
			version, matomo.FirstRecModeVersion)
	}
	return nil
}

// signalGrace is how long batches in flight have to be answered after an
// interrupt; then they are abandoned (and recorded in doubt, as they were
// sent).
const signalGrace = 4 * time.Second

// signalContexts: the first SIGINT/SIGTERM stops reading and retrying at
// once (ctx); batches in flight have signalGrace to be answered before
// sendCtx ends them; a second signal ends them at once. following: the
// signal is the normal way to stop (--follow), said at info level.
func signalContexts(log *slog.Logger, following bool) (ctx, sendCtx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sendCtx, cancelSend := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		n := 0
		for range ch {
			n++
			if n == 1 && following {
				log.Info("stopping: what is confirmed is saved; batches in flight have a few seconds to be answered")
				cancel()
				time.AfterFunc(signalGrace, cancelSend)
			} else if n == 1 {
				log.Warn("interrupted: stopping; batches in flight have a few seconds to be answered; interrupt again to stop at once")
				cancel()
				time.AfterFunc(signalGrace, cancelSend)
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
	Input  string `json:"input"`
	Line   int64  `json:"line"`
	Time   string `json:"time"`
	Method string `json:"method,omitempty"`
	URL    string `json:"url,omitempty"`
	Scheme string `json:"scheme,omitempty"`
	Host   string `json:"host,omitempty"`
	Path   string `json:"path"`
	Query  string `json:"query,omitempty"`
	// Params is the query decoded (hit.DecodeQuery), as the lake's params.
	Params       map[string]string `json:"params,omitempty"`
	Status       int               `json:"status"`
	Bytes        int64             `json:"bytes"`
	DurationMS   int64             `json:"duration_ms"`
	UserAgent    string            `json:"user_agent,omitempty"`
	Referrer     string            `json:"referrer,omitempty"`
	ClientIP     string            `json:"client_ip,omitempty"`
	ForwardedFor string            `json:"x_forwarded_for,omitempty"`
	EdgeLocation string            `json:"edge_location,omitempty"`
	ResultType   string            `json:"result_type,omitempty"`
	RequestID    string            `json:"request_id,omitempty"`
	Kind         string            `json:"kind"`
	AIAssistant  string            `json:"ai_assistant,omitempty"`
	Skip         string            `json:"skip,omitempty"`
	Request      string            `json:"request,omitempty"`
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
	if h.Query != "" {
		j.Params = hit.DecodeQuery(nil, hit.URLPart(h.Query, h.LogEscaped))
	}
	return j
}
