package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trackless/trackless/internal/atomicfile"
	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/filter"
	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/kinesis"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/matomo"
	"github.com/trackless/trackless/internal/pipeline"
	"github.com/trackless/trackless/internal/s3src"
	"github.com/trackless/trackless/internal/sites"
	"github.com/trackless/trackless/internal/source"
)

// job is a configured send or parse: everything but its inputs. The
// command line builds one per run, the Lambda one per process.
type job struct {
	c      *config
	parse  bool
	log    *slog.Logger
	stderr io.Writer
	opt    pipeline.Options // without inputs
	out    *bufio.Writer    // parse's output
	s3     *s3.Client       // made on first use
	led    ledger.Store
	rng    s3src.Range  // --since/--until
	after  source.After // --after

	// envEndpoint: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL is set.
	envEndpoint bool
	// lambda: the job serves Lambda invocations (the lake is not probed
	// at each: its first write says what is wrong).
	lambda bool
	// kinesis are the Kinesis clients made, by region ("" for the
	// configuration's); readers keeps the shards' readers from one round
	// of --follow to the next.
	kinesis map[string]kinesis.API
	readers source.Readers

	// noMatomo: the Lambda has no Matomo (no MATOMO_URL) and feeds only
	// its report state and lake.
	noMatomo bool
	// sideMarks: after a run without Matomo, how far the report state has
	// each shard of the event, by key.
	sideMarks map[string]input.Mark

	mu    sync.Mutex
	ready bool // the Lambda's preflight succeeded
}

// newJob checks the configuration and builds the job; a configuration
// that is not usable is a usageError.
func newJob(ctx context.Context, env Env, c *config, parse bool, log *slog.Logger) (*job, error) {
	j := &job{c: c, parse: parse, log: log, stderr: env.Stderr, envEndpoint: env.Getenv("AWS_ENDPOINT_URL_S3") != "" || env.Getenv("AWS_ENDPOINT_URL") != ""}
	cls := classify.Config{
		RecMode: c.recMode, UserAgentRegex: c.uaRe, DocumentRegex: c.docRe, URLExcludeRegex: c.excludeRe, Methods: splitList(c.methods),
		Visits: c.mode == "visits", EnableStatic: c.enableStatic, EnableBots: c.enableBots, EnableErrors: c.enableErrors, EnableRedirects: c.enableRedirects,
	}
	filter, rng, err := c.readFilter()
	if err != nil {
		return nil, usageError(err)
	}
	j.rng = rng
	if j.after, err = source.ParseAfter(c.after); err != nil {
		return nil, usageError(err)
	}
	siteMap, err := c.siteMap()
	if err != nil {
		return nil, err
	}
	if c.noIP && c.mode == "visits" {
		log.Warn("--no-ip: Matomo will see every visit as coming from this machine's address, and merge visitors")
	}
	if _, err := classify.New(cls); err != nil {
		return nil, usageError(err)
	}
	if v := strings.ToLower(strings.TrimSpace(c.decodeUA)); v == "false" || v == "0" {
		log.Warn("CLOUDFRONT_DECODE_USER_AGENT=false is ignored: trackless always decodes the user agent, as Matomo needs it for device detection")
	}
	j.opt = pipeline.Options{
		// Records a stream holds twice are read once, for the life of
		// the process (a follow's rounds included).
		Dedup: pipeline.NewDedup(),
		Encoder: matomo.Encoder{
			SiteID: c.siteID, RecMode: c.recMode, Source: c.source,
			Visits: c.mode == "visits", AnonymizeIP: c.anonymizeIP,
			// cip needs a token (Matomo rejects it otherwise); parse shows
			// what send would post, which in visits mode needs a token.
			NoIP: c.noIP || (c.token == "" && c.mode != "visits"),
		},
		Classify:      cls,
		DefaultScheme: c.defScheme,
		DefaultHost:   c.defHost,
		Format:        c.format,
		Filter:        filter,
		Sites:         siteMap,
		ReorderWindow: c.reorderWindow,
		Reader:        c.readerOptions(),
		BatchSize:     c.batchSize,
		Concurrency:   c.concurrency,
		MaxOpen:       c.maxOpen,
		HasToken:      c.token != "",
		Log:           log,
	}
	if c.siteAuto {
		lookup, err := c.newClient(log)
		if err != nil {
			return nil, usageError(err)
		}
		addSites := c.addSites && !parse // parse never changes Matomo
		j.opt.SiteLookup = func(host string) (int, error) {
			id, err := lookup.SiteForHost(ctx, host)
			if err != nil || id > 0 || !addSites {
				return id, err
			}
			if id, err = lookup.AddSite(ctx, host); err == nil {
				log.Warn("created a site in Matomo", "host", host, "idsite", id)
			}
			return id, err
		}
	}
	if parse {
		j.out = bufio.NewWriterSize(env.Stdout, 1<<20)
		if c.output == "jsonl" {
			enc := json.NewEncoder(j.out)
			enc.SetEscapeHTML(false)
			// Without a site (parse --output jsonl needs none) there is no
			// request to show: it would say idsite=0.
			noSite := c.siteID == 0 && siteMap == nil && !c.siteAuto
			j.opt.EmitHit = func(input string, line int64, h *hit.Hit, r classify.Result, url string, item []byte) error {
				if noSite {
					item = nil
				}
				return enc.Encode(jsonHit(input, line, h, r, url, item))
			}
		} else {
			j.opt.Emit = func(items [][]byte) error { return writeRequests(j.out, items) }
		}
		return j, nil
	}
	if c.matomoURL == "" {
		// Only a Lambda without Matomo gets here (send refuses no URL):
		// it feeds its report state and lake.
		return j, nil
	}
	client, err := c.newClient(log)
	if err != nil {
		return nil, usageError(err)
	}
	j.opt.Client = client
	return j, nil
}

// siteMap is the map of hosts to Matomo sites of --site and --site-file;
// nil without either.
func (c *config) siteMap() (*sites.Map, error) {
	if len(c.sites) == 0 && c.siteFile == "" {
		return nil, nil
	}
	m := &sites.Map{}
	for _, sp := range c.sites {
		if err := m.Add(sp); err != nil {
			return nil, usagef("--site: %v", err)
		}
	}
	if c.siteFile != "" {
		if err := m.LoadFile(c.siteFile); err != nil {
			return nil, usagef("--site-file: %v", err)
		}
	}
	return m, nil
}

// openLedger opens the ledger: --ledger s3://..., or a state directory.
// local says whether a local directory may be used (not in a Lambda, whose
// disk does not outlive it).
func (j *job) openLedger(ctx context.Context, local bool) error {
	loc := j.c.ledger
	if s3src.IsURL(loc) {
		bucket, prefix, err := s3src.ParseURL(loc)
		if err != nil {
			return usagef("--ledger: %v", err)
		}
		client, err := j.s3Client(ctx)
		if err != nil {
			return fatalError(fmt.Errorf("--ledger: %w", err))
		}
		j.led = ledger.NewS3(client, bucket, prefix, j.c.claimTTL, j.log)
	} else {
		if !local {
			return usagef("a Lambda needs its ledger on S3: set TRACKLESS_LEDGER=s3://BUCKET/PREFIX/ (its disk is gone after each run, and the same S3 event can come twice); TRACKLESS_LEDGER=none sends without one")
		}
		dir := orDefault(loc, j.c.stateDir)
		led, err := ledger.Open(dir)
		if err != nil {
			return fatalError(err)
		}
		j.led = led
	}
	j.opt.Ledger, j.opt.Force = j.led, j.c.force
	j.opt.WholeLines = true // a later run reads a half-written last line
	return nil
}

// probeDirs proves that the state directory's folders this run writes can
// be written (a small file written, synced and removed in each), before
// anything is sent: a full or read-only disk found after Matomo stored hits
// would make every retry send them again.
func (j *job) probeDirs(rec recorders) error {
	dirs := rec.dirs()
	if l, ok := j.led.(*ledger.Ledger); ok {
		dirs = append([]string{filepath.Join(l.Dir(), "inputs")}, dirs...)
	}
	for _, d := range dirs {
		if err := atomicfile.ProbeDir(d); err != nil {
			return fatalError(fmt.Errorf("nothing was sent: %w", err))
		}
	}
	return nil
}

// remindReplays says when dead-letter or in-doubt files of earlier runs
// were not replayed (replay keeps its progress in the state directory,
// whatever --ledger says).
func (j *job) remindReplays(ctx context.Context, rec recorders) {
	replays := ledger.ReadOnly(j.c.stateDir)
	for _, d := range []struct{ dir, what string }{
		{filepath.Dir(rec.deadLetter.Path()), "refused by Matomo (dead letters)"},
		{filepath.Dir(rec.inDoubt.Path()), "in doubt (check whether Matomo has them before replaying)"},
	} {
		pend, err := pipeline.PendingReplays(ctx, d.dir, replays)
		if err != nil {
			j.log.Warn("cannot look for files not replayed", "dir", d.dir, "error", err)
			continue
		}
		for _, b := range pend {
			fmt.Fprintf(j.stderr, "trackless: %s of an earlier run %s, not replayed: trackless replay %s\n", plural(b.Hits, "hit", "hits"), d.what, b.Path)
		}
	}
}

// siteInfo lets the run ask Matomo for a site's main URL and time zone
// (for logs without scheme or host, and for the first batch of each day)
// when it has a Matomo URL and a token.
func (j *job) siteInfo(ctx context.Context) {
	if j.c.matomoURL == "" || j.c.token == "" {
		return
	}
	client := j.opt.Client
	if client == nil {
		var err error
		if client, err = j.c.newClient(j.log); err != nil {
			return
		}
	}
	// Asked once per site for a while, not once per run (send --follow
	// runs a round every second).
	type known struct {
		site matomo.Site
		at   time.Time
	}
	var mu sync.Mutex
	cache := map[int]known{}
	j.opt.SiteInfo = func(id int) (matomo.Site, error) {
		mu.Lock()
		k, ok := cache[id]
		mu.Unlock()
		if ok && time.Since(k.at) < siteInfoTTL {
			return k.site, nil
		}
		s, err := client.Site(ctx, id)
		if err == nil {
			mu.Lock()
			cache[id] = known{s, time.Now()}
			mu.Unlock()
		}
		return s, err
	}
}

// siteInfoTTL is how long what Matomo said of a site is used before it is
// asked again.
const siteInfoTTL = 10 * time.Minute

// siteHost is the host of site id's main URL in Matomo (what send uses for
// hits without a host); "" when unknown.
func (j *job) siteHost(id int) string {
	if j.opt.SiteInfo == nil || id <= 0 {
		return ""
	}
	s, err := j.opt.SiteInfo(id)
	if err != nil {
		return ""
	}
	u, err := url.Parse(s.MainURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func (j *job) close() {
	if j.led != nil {
		if err := j.led.Close(); err != nil {
			j.log.Warn("closing the ledger", "error", err)
		}
	}
}

// s3Client returns the job's S3 client.
func (j *job) s3Client(ctx context.Context) (*s3.Client, error) {
	if j.s3 != nil {
		return j.s3, nil
	}
	// An endpoint of its own (--s3-endpoint, or the SDK's standard
	// variables, which it honours by itself) is an S3-compatible server:
	// path style, which they all serve.
	pathStyle := j.c.s3Endpoint != "" || j.envEndpoint
	switch j.c.s3PathStyle {
	case "true":
		pathStyle = true
	case "false":
		pathStyle = false
	}
	c, err := s3src.NewClient(ctx, s3src.Config{Endpoint: j.c.s3Endpoint, PathStyle: pathStyle, Region: j.c.s3Region})
	if err != nil {
		return nil, err
	}
	j.s3 = c
	return c, nil
}

// kinesisClient returns the Kinesis client for a stream: in its ARN's
// region when named by ARN, else in the configuration's. The endpoint
// comes from the SDK's standard settings (AWS_ENDPOINT_URL_KINESIS).
func (j *job) kinesisClient(ctx context.Context, stream kinesis.Stream) (kinesis.API, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	region := stream.Region()
	if c, ok := j.kinesis[region]; ok {
		return c, nil
	}
	c, err := kinesis.NewClient(ctx, kinesis.Config{Region: region})
	if err != nil {
		return nil, err
	}
	if j.kinesis == nil {
		j.kinesis = map[string]kinesis.API{}
	}
	j.kinesis[region] = c
	return c, nil
}

// resolve turns arguments into inputs (see source.Sources.Resolve) and
// names on stderr what is not read.
func (j *job) resolve(ctx context.Context, args []string) (*source.Set, error) {
	set, notRead, err := j.sources().Resolve(ctx, args)
	for _, sk := range notRead {
		fmt.Fprintf(j.stderr, "trackless: not read: %s\n", sk)
	}
	return set, err
}

// sources is where the job's inputs come from.
func (j *job) sources() *source.Sources {
	return &source.Sources{S3: j.s3Client, Kinesis: j.kinesisClient, Readers: &j.readers, Range: j.rng, After: j.after, Ledger: j.c.ledger, Log: j.log}
}

// options are the job's pipeline options for a set of inputs.
func (j *job) options(set *source.Set) pipeline.Options {
	opt := j.opt
	if set.HasObjects() {
		opt.Open, opt.Identify, opt.FirstHint = set.Open, set.Identify, set.FirstHint
	}
	opt.OnDone = j.sources().Done(set)
	return opt
}

// readSetup is what report and lake do before they read: the filters of
// the reading flags and the --since/--until range (readFilter), the
// logger, and the CPU profile (--cpu-profile), whose stop the caller
// defers. Its errors are usage errors.
func (c *config) readSetup(env Env) (filter.Filter, s3src.Range, *slog.Logger, func(), error) {
	flt, rng, err := c.readFilter()
	if err != nil {
		return flt, rng, nil, nil, usageError(err)
	}
	log, err := newLogger(env.Stderr, c.logLevel)
	if err != nil {
		return flt, rng, nil, nil, usageError(err)
	}
	stop := func() {}
	if c.cpuProfile != "" {
		if stop, err = startCPUProfile(c.cpuProfile); err != nil {
			return flt, rng, nil, nil, usageError(err)
		}
	}
	return flt, rng, log, stop, nil
}

// readFilter builds the filters of the reading flags, and the --since and
// --until range of inputs.
func (c *config) readFilter() (filter.Filter, s3src.Range, error) {
	var rng s3src.Range
	flt := filter.Filter{StripQuery: c.stripQuery, LowerPath: c.lowerPath, AddToDate: time.Duration(c.addToDate * float64(time.Hour))}
	for _, list := range []struct {
		name  string
		files []string
		dst   *listFlag
	}{{"--exclude-path-from", c.excludePathFrom, &c.excludePaths}, {"--include-path-from", c.includePathFrom, &c.includePaths}} {
		for _, f := range list.files {
			globs, err := readGlobFile(f)
			if err != nil {
				return flt, rng, fmt.Errorf("%s: %w", list.name, err)
			}
			*list.dst = append(*list.dst, globs...)
		}
	}
	for _, u := range c.uaExclude {
		flt.UAExclude = append(flt.UAExclude, strings.ToLower(u))
	}
	for _, list := range []struct {
		name  string
		globs []string
		dst   *[]*regexp.Regexp
	}{
		{"--exclude-path", c.excludePaths, &flt.ExcludePaths}, {"--include-path", c.includePaths, &flt.IncludePaths},
		{"--include-host", lower(c.includeHosts), &flt.IncludeHosts}, {"--exclude-host", lower(c.excludeHosts), &flt.ExcludeHosts},
	} {
		for _, g := range list.globs {
			re, err := filter.Glob(g)
			if err != nil {
				return flt, rng, fmt.Errorf("%s %q: %v", list.name, g, err)
			}
			*list.dst = append(*list.dst, re)
		}
	}
	for _, w := range []struct {
		name, v string
		t       *time.Time
	}{
		{"--exclude-older-than", c.olderThan, &flt.OlderThan}, {"--exclude-newer-than", c.newerThan, &flt.NewerThan},
		{"--since", c.since, &rng.Since}, {"--until", c.until, &rng.Until},
	} {
		if w.v == "" {
			continue
		}
		t, err := parseWhen(w.v, time.Now())
		if err != nil {
			return flt, rng, fmt.Errorf("%s: %w", w.name, err)
		}
		*w.t = t
	}
	return flt, rng, nil
}
