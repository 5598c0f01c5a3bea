package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
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
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/matomo"
	"github.com/trackless/trackless/internal/pipeline"
	"github.com/trackless/trackless/internal/s3src"
	"github.com/trackless/trackless/internal/sites"
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
	rng    s3src.Range // --since/--until
	after  afterAction

	mu    sync.Mutex
	ready bool // the Lambda's preflight succeeded
}

// newJob checks the configuration and builds the job. It returns nil and
// the exit code when the configuration is not usable (the message is
// written to env.Stderr).
func newJob(ctx context.Context, env Env, c *config, parse bool, log *slog.Logger) (*job, int) {
	fail := func(code int, args ...any) (*job, int) {
		fmt.Fprintln(env.Stderr, append([]any{"trackless:"}, args...)...)
		return nil, code
	}
	j := &job{c: c, parse: parse, log: log, stderr: env.Stderr}
	cls := classify.Config{
		RecMode: c.recMode, UserAgentRegex: c.uaRe, DocumentRegex: c.docRe, URLExcludeRegex: c.excludeRe, Methods: splitList(c.methods),
		Visits: c.mode == "visits", EnableStatic: c.enableStatic, EnableBots: c.enableBots, EnableErrors: c.enableErrors, EnableRedirects: c.enableRedirects,
	}
	filter, rng, err := c.readFilter()
	if err != nil {
		return fail(ExitUsage, err)
	}
	j.rng = rng
	if j.after, err = parseAfter(c.after); err != nil {
		return fail(ExitUsage, err)
	}
	var siteMap *sites.Map
	if len(c.sites) > 0 || c.siteFile != "" {
		siteMap = &sites.Map{}
		for _, sp := range c.sites {
			if err := siteMap.Add(sp); err != nil {
				return fail(ExitUsage, "--site:", err)
			}
		}
		if c.siteFile != "" {
			if err := siteMap.LoadFile(c.siteFile); err != nil {
				return fail(ExitUsage, "--site-file:", err)
			}
		}
	}
	if c.noIP && c.mode == "visits" {
		log.Warn("--no-ip: Matomo will see every visit as coming from this machine's address, and merge visitors")
	}
	if _, err := classify.New(cls); err != nil {
		return fail(ExitUsage, err)
	}
	if v := strings.ToLower(strings.TrimSpace(c.decodeUA)); v == "false" || v == "0" {
		log.Warn("CLOUDFRONT_DECODE_USER_AGENT=false is ignored: trackless always decodes the user agent, as Matomo needs it for device detection")
	}
	j.opt = pipeline.Options{
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
			return fail(ExitUsage, err)
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
		return j, ExitOK
	}
	client, err := c.newClient(log)
	if err != nil {
		return fail(ExitUsage, err)
	}
	j.opt.Client = client
	return j, ExitOK
}

// openLedger opens the ledger: --ledger s3://..., or a state directory.
// local says whether a local directory may be used (not in a Lambda, whose
// disk does not outlive it).
func (j *job) openLedger(ctx context.Context, local bool) int {
	loc := j.c.ledger
	if s3src.IsURL(loc) {
		bucket, prefix, err := s3src.ParseURL(loc)
		if err != nil {
			fmt.Fprintln(j.stderr, "trackless: --ledger:", err)
			return ExitUsage
		}
		client, err := j.s3Client(ctx)
		if err != nil {
			fmt.Fprintln(j.stderr, "trackless: --ledger:", err)
			return ExitFatal
		}
		j.led = ledger.NewS3(client, bucket, prefix, j.c.claimTTL, j.log)
	} else {
		if !local {
			fmt.Fprintln(j.stderr, "trackless: a Lambda needs its ledger on S3: set TRACKLESS_LEDGER=s3://BUCKET/PREFIX/ (its disk is gone after each run, and the same S3 event can come twice); TRACKLESS_LEDGER=none sends without one")
			return ExitUsage
		}
		dir := orDefault(loc, j.c.stateDir)
		led, err := ledger.Open(dir)
		if err != nil {
			fmt.Fprintln(j.stderr, "trackless:", err)
			return ExitFatal
		}
		j.led = led
	}
	j.opt.Ledger, j.opt.Force = j.led, j.c.force
	return ExitOK
}

// probeDirs proves that the state directory's folders this run writes can
// be written (a small file written, synced and removed in each), before
// anything is sent: a full or read-only disk found after Matomo stored hits
// would make every retry send them again.
func (j *job) probeDirs(rec recorders) int {
	dirs := rec.dirs()
	if l, ok := j.led.(*ledger.Ledger); ok {
		dirs = append([]string{filepath.Join(l.Dir(), "inputs")}, dirs...)
	}
	for _, d := range dirs {
		if err := atomicfile.ProbeDir(d); err != nil {
			fmt.Fprintln(j.stderr, "trackless: nothing was sent:", err)
			return ExitFatal
		}
	}
	return ExitOK
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
	j.opt.SiteInfo = func(id int) (matomo.Site, error) { return client.Site(ctx, id) }
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
	pathStyle := j.c.s3Endpoint != ""
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

// inputSet is what a run reads: files (and stdin) by path, objects by name
// (s3://bucket/key).
type inputSet struct {
	names   []string
	objects map[string]s3src.Object
	// listed is the prefix an object was listed under (for --after move).
	listed map[string]string
	total  int64 // bytes, for the progress bar
}

// resolve turns arguments into inputs: files as given, the regular files
// under directories (sorted, hidden ones left out), "-", and the objects
// under s3:// prefixes (in key order). --since/--until leave out inputs
// whose name says an hour outside the range (CloudFront's names and
// partitions); other inputs are all read.
func (j *job) resolve(ctx context.Context, args []string) (*inputSet, error) {
	if len(args) == 0 {
		return nil, errors.New("no input: give files, directories, s3://BUCKET/PREFIX, or - for stdin")
	}
	set := &inputSet{objects: map[string]s3src.Object{}, listed: map[string]string{}}
	var files []string
	for _, a := range args {
		if !s3src.IsURL(a) {
			files = append(files, a)
			continue
		}
		bucket, prefix, err := s3src.ParseURL(a)
		if err != nil {
			return nil, err
		}
		client, err := j.s3Client(ctx)
		if err != nil {
			return nil, err
		}
		l := &s3src.Lister{Client: client, Skip: j.skipKey(bucket)}
		objs, err := l.List(ctx, bucket, prefix, j.rng)
		if err != nil {
			return nil, err
		}
		j.log.Info("listed", "prefix", a, "objects", len(objs), "list_requests", l.Requests)
		for _, o := range objs {
			set.add(o, prefix)
		}
	}
	if len(files) > 0 {
		names, skipped, err := input.Expand(files)
		if err != nil {
			return nil, err
		}
		for _, sk := range skipped {
			fmt.Fprintf(j.stderr, "trackless: not read: %s\n", sk)
		}
		for _, n := range names {
			if t, ok := s3src.KeyTime(filepath.Base(n)); ok && !j.rng.Contains(t) {
				continue
			}
			set.names = append(set.names, n)
			if st, err := os.Stat(n); err == nil {
				set.total += st.Size()
			}
		}
	}
	if len(set.names) == 0 {
		j.log.Warn("no input to read (nothing listed, or nothing in the --since/--until range)")
	}
	return set, nil
}

func (s *inputSet) add(o s3src.Object, prefix string) {
	n := o.Name()
	if _, dup := s.objects[n]; dup {
		return
	}
	s.objects[n] = o
	s.listed[n] = prefix
	s.names = append(s.names, n)
	s.total += o.Size
}

// skipKey leaves the ledger's objects and --after's destination out of
// listings of bucket: they are not logs, or logs already delivered.
func (j *job) skipKey(bucket string) func(string) bool {
	var prefixes []string
	if b, p, err := s3src.ParseURL(j.c.ledger); err == nil && b == bucket {
		prefixes = append(prefixes, p)
	}
	if j.after.kind == afterMove {
		if b, p, err := s3src.ParseURL(j.after.dest); err == nil && b == bucket {
			prefixes = append(prefixes, p)
		}
	}
	if len(prefixes) == 0 {
		return nil
	}
	return func(k string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				return true
			}
		}
		return false
	}
}

// options are the job's pipeline options for a set of inputs.
func (j *job) options(set *inputSet) pipeline.Options {
	opt := j.opt
	if len(set.objects) > 0 {
		opt.Open = func(ctx context.Context, name string) (*input.Input, error) {
			o, ok := set.objects[name]
			if !ok {
				return input.OpenContext(ctx, name)
			}
			return s3src.Open(ctx, j.s3, o)
		}
		opt.Identify = func(name string) *input.Identity {
			if o, ok := set.objects[name]; ok && o.ETag != "" {
				return o.Identity()
			}
			return nil
		}
		opt.FirstHint = func(name string) (int64, bool) {
			o, ok := set.objects[name]
			if !ok {
				return 0, false
			}
			t, ok := s3src.KeyTime(o.Key)
			return t.UnixNano(), ok
		}
	}
	if j.after.kind != afterKeep {
		opt.OnDone = func(name string) error { return j.after.apply(context.Background(), j, set, name) }
	}
	return opt
}

// afterAction is what --after does with an input once delivered.
type afterAction struct {
	kind string // afterKeep, afterDelete or afterMove
	dest string // afterMove: s3://bucket/prefix/ or a directory
}

const (
	afterKeep   = "keep"
	afterDelete = "delete"
	afterMove   = "move"
)

func parseAfter(v string) (afterAction, error) {
	switch {
	case v == "" || v == afterKeep:
		return afterAction{kind: afterKeep}, nil
	case v == afterDelete:
		return afterAction{kind: afterDelete}, nil
	case strings.HasPrefix(v, "move="):
		dest := strings.TrimPrefix(v, "move=")
		if dest == "" {
			return afterAction{}, errors.New("--after move=DEST: DEST is s3://BUCKET/PREFIX/ for objects or a directory for files")
		}
		if s3src.IsURL(dest) {
			if _, _, err := s3src.ParseURL(dest); err != nil {
				return afterAction{}, fmt.Errorf("--after: %v", err)
			}
		}
		return afterAction{kind: afterMove, dest: dest}, nil
	}
	return afterAction{}, fmt.Errorf("--after must be keep, delete or move=DEST, not %q", v)
}

// apply deletes or moves a delivered input.
func (a afterAction) apply(ctx context.Context, j *job, set *inputSet, name string) error {
	if name == "-" {
		return nil
	}
	o, isObject := set.objects[name]
	switch {
	case a.kind == afterDelete && isObject:
		return s3src.Delete(ctx, j.s3, o)
	case a.kind == afterDelete:
		return os.Remove(name)
	case isObject != s3src.IsURL(a.dest):
		return fmt.Errorf("--after move=%s: objects move to s3://BUCKET/PREFIX/, files to a directory", a.dest)
	case isObject:
		return s3src.Move(ctx, j.s3, o, set.listed[name], a.dest)
	}
	if err := os.MkdirAll(a.dest, 0o755); err != nil {
		return err
	}
	return os.Rename(name, filepath.Join(a.dest, filepath.Base(name)))
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
