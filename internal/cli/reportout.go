package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trackless/trackless/internal/atomicfile"
	"github.com/trackless/trackless/internal/report"
	"github.com/trackless/trackless/internal/s3src"
)

// rendered is what render made: the report of one page, or the index of
// the hosts' pages (by host).
type rendered struct {
	rep   *report.Report // nil for an index
	index *report.Index
	// avail is the first and last days counted (of any host), to say
	// what there is when the period asked for has no hits.
	avail [2]string
}

// what says what the report covers: its days, or its hosts.
func (r *rendered) what() string {
	if r.index != nil {
		s := plural(len(r.index.Hosts), "host", "hosts")
		if p := r.index.Period; p.From != "" {
			s += fmt.Sprintf(" (%s to %s)", p.From, p.To)
		}
		return s
	}
	s := plural(r.rep.Period.Days, "day", "days")
	if p := r.rep.Period; p.Days > 0 {
		s += fmt.Sprintf(" (%s to %s)", p.From, p.To)
	}
	return s
}

// empty reports whether the period asked for has no hits.
func (r *rendered) empty() bool {
	if r.rep != nil {
		return r.rep.Period.Days == 0
	}
	return len(r.index.Hosts) == 0
}

// render builds the report the settings ask for from days (every day
// counted, of every host) and writes it (writeReport): one report; with
// days counted by host, the page of --host, or an index of the hosts and
// a page per host. meta holds what every page shares.
func (ro *reportOutput) render(env Env, rc reportConfig, days []*report.Day, meta report.Meta, now time.Time) (*rendered, error) {
	meta.Zone, meta.ParamPaths = ro.zone, rc.params
	var first, last int32
	for i, d := range days {
		if i == 0 || d.Date < first {
			first = d.Date
		}
		if i == 0 || d.Date > last {
			last = d.Date
		}
	}
	out := &rendered{avail: daysOf(days)}
	rg, err := periodOf(rc.from, rc.to, report.DateOf(now.Add(time.Duration(tzOffset(now, ro.zone))*time.Second)), first, last)
	if err != nil {
		return nil, usageError(err)
	}
	meta.Range = rg
	if !ro.byHost {
		out.rep = report.Build(days, meta)
		return out, writeReport(env, rc, out.rep)
	}
	byHost := map[string][]*report.Day{}
	for _, d := range days {
		byHost[d.Host] = append(byHost[d.Host], d)
	}
	if rc.host != "" {
		key := report.HostKey(rc.host)
		for h := range byHost {
			if report.HostTitle(h) == rc.host { // "(no host)", as the list names it
				key = h
			}
		}
		hd, ok := byHost[key]
		if !ok {
			return nil, usagef("--host %s: no hits of that host were counted (hosts: %s)", rc.host, hostList(byHost))
		}
		meta.Host, meta.Title = key, hostTitle(rc.title, key)
		out.avail = daysOf(hd)
		out.rep = report.Build(hd, meta)
		return out, writeReport(env, rc, out.rep)
	}
	hosts := make([]string, 0, len(byHost))
	for h := range byHost {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	reps := make([]*report.Report, 0, len(hosts))
	for _, h := range hosts {
		m := meta
		m.Host, m.Title = h, hostTitle(rc.title, h)
		reps = append(reps, report.Build(byHost[h], m))
	}
	idx := report.BuildIndex(reps, meta)
	out.index = idx
	return out, writeIndex(env, rc, idx, reps)
}

// daysOf is the first and last dates of days ("" for none).
func daysOf(days []*report.Day) [2]string {
	var out [2]string
	for _, d := range days {
		if s := report.DayString(d.Date); out[0] == "" || s < out[0] {
			out[0] = s
		}
		if s := report.DayString(d.Date); s > out[1] {
			out[1] = s
		}
	}
	return out
}

// hostTitle is the title of a host's page: the host, after --title when
// given ("My sites — a.example").
func hostTitle(title, host string) string {
	if title == "" {
		return report.HostTitle(host)
	}
	return title + " — " + report.HostTitle(host)
}

// tzOffset is the offset of zone at now, in seconds.
func tzOffset(now time.Time, zone *time.Location) int {
	_, off := now.In(zone).Zone()
	return off
}

// periodOf reads --from and --to (see their help) into a range of days;
// nil when neither is given. today is the date of now in the report's
// zone; first and last are the days counted.
func periodOf(from, to string, today, first, last int32) (*report.DateRange, error) {
	if from == "" && to == "" {
		return nil, nil
	}
	end := last
	defaultTo := to == ""
	if to != "" {
		d, n, err := parseDay(to, today)
		if err != nil {
			return nil, fmt.Errorf("--to: %w", err)
		}
		if n > 0 {
			d = today - n
		}
		end = d
	}
	start := first
	if from != "" {
		d, n, err := parseDay(from, today)
		if err != nil {
			return nil, fmt.Errorf("--from: %w", err)
		}
		if n > 0 {
			d = end - n + 1
		}
		start = d
		if defaultTo && start > end {
			// --from today on a day with no hit yet: an empty period,
			// not an error.
			end = start
		}
	}
	if start > end {
		return nil, fmt.Errorf("--from %s is after --to %s", report.DayString(start), report.DayString(end))
	}
	return &report.DateRange{From: start, To: end}, nil
}

// parseDay reads a day: YYYY-MM-DD, today or yesterday (a date), or a
// number of days (7d) or weeks (4w): n days, for the caller to count.
func parseDay(v string, today int32) (date, n int32, err error) {
	v = strings.TrimSpace(v)
	switch v {
	case "today":
		return today, 0, nil
	case "yesterday":
		return today - 1, 0, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return report.DateOf(t), 0, nil
	}
	if len(v) > 1 {
		num, unit := v[:len(v)-1], v[len(v)-1]
		if k, err := strconv.Atoi(num); err == nil && k > 0 && k <= 100000 {
			switch unit {
			case 'd':
				return 0, int32(k), nil
			case 'w':
				return 0, int32(7 * k), nil
			}
		}
	}
	return 0, 0, fmt.Errorf("%q is not a day (YYYY-MM-DD, today, yesterday) or a number of days or weeks (7d, 4w)", v)
}

func hostList(byHost map[string][]*report.Day) string {
	var hs []string
	for h := range byHost {
		hs = append(hs, report.HostTitle(h))
	}
	slices.Sort(hs)
	if len(hs) > 10 {
		hs = append(hs[:10], fmt.Sprintf("and %d more", len(hs)-10))
	}
	return strings.Join(hs, ", ")
}

// hostFile is the file of a host's page beside the index file base:
// report.html → report-example.com.html.
func hostFile(base, host, defExt string) string {
	ext := filepath.Ext(base)
	if ext == "" {
		ext = defExt
	}
	return strings.TrimSuffix(base, filepath.Ext(base)) + "-" + report.HostFileName(host) + ext
}

// writeIndex writes the index of the hosts and each host's report, as
// the flags ask: -o (HTML), --json, or else the index as text.
func writeIndex(env Env, rc reportConfig, idx *report.Index, reps []*report.Report) error {
	byHost := map[string]*report.Report{}
	for _, r := range reps {
		byHost[r.Period.Host] = r
	}
	for i := range idx.Hosts {
		h := &idx.Hosts[i]
		one := rc
		one.html, one.json = "", ""
		if rc.html != "" {
			one.html = hostFile(rc.html, h.Host, ".html")
			h.HTML = filepath.Base(one.html)
		}
		if rc.json != "" && rc.json != "-" {
			one.json = hostFile(rc.json, h.Host, ".json")
			h.JSON = filepath.Base(one.json)
		}
		if one.html == "" && one.json == "" {
			continue
		}
		r := byHost[h.Host]
		if rc.html != "" {
			r.IndexPage = filepath.Base(rc.html)
		}
		if err := writeReport(env, one, r); err != nil {
			return err
		}
	}
	if rc.json != "" {
		data, err := json.MarshalIndent(idx, "", " ")
		if err != nil {
			return err
		}
		if err := writeOut(env, rc.json, "--json", append(data, '\n')); err != nil {
			return err
		}
	}
	if rc.html != "" {
		if err := writeAtomic(rc.html, "-o", func(w io.Writer) error { return report.WriteIndexHTML(w, idx, liveSeconds(rc)) }); err != nil {
			return err
		}
	}
	if rc.html == "" && rc.json == "" {
		return report.WriteIndexText(env.Stdout, idx)
	}
	return nil
}

// liveSeconds is the refresh of a live page (report --follow), 0 for none.
func liveSeconds(rc reportConfig) int {
	if !rc.live {
		return 0
	}
	return max(1, int(rc.refresh.Round(time.Second)/time.Second))
}

// writeOut writes data to path, or to stdout for "-", whole or not at all.
func writeOut(env Env, path, flag string, data []byte) error {
	if path == "-" {
		_, err := env.Stdout.Write(data)
		return err
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("%s %s (the previous file, if any, is left as it was): %w", flag, path, err)
	}
	return nil
}

// writeAtomic writes a file with write, whole or not at all: a full disk
// leaves the previous file.
func writeAtomic(path, flag string, write func(io.Writer) error) error {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return fmt.Errorf("%s %s (the previous file, if any, is left as it was): %w", flag, path, err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("%s %s (the previous file, if any, is left as it was): %w", flag, path, err)
	}
	return nil
}

// publishReport renders the report of the Lambda's report state to
// TRACKLESS_REPORT_OUT (s3://BUCKET/KEY.html; by host, an index there and a
// page per host beside it), when this invocation counted something and
// the last report is TRACKLESS_REPORT_EVERY old; the state records when.
func (j *job) publishReport(env Env, outs sides) error {
	rc := j.c.rep
	if rc.reportOut == "" {
		return nil
	}
	var ro *reportOutput
	for _, s := range outs {
		if r, ok := s.(*reportOutput); ok {
			ro = r
		}
	}
	now := time.Now()
	if ro == nil || ro.state == nil || ro.sink.Counted() == 0 || now.Sub(ro.state.Rendered()) < rc.reportEvery {
		return nil
	}
	bucket, key, err := s3src.ParseURL(rc.reportOut)
	if err != nil || key == "" || strings.HasSuffix(key, "/") {
		return usagef("TRACKLESS_REPORT_OUT %s: want s3://BUCKET/KEY.html", rc.reportOut)
	}
	days, err := ro.sink.Days()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "trackless-report-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rc.html, rc.json = filepath.Join(tmp, path.Base(key)), ""
	meta := report.Meta{Version: Version, Generated: now, Top: rc.top, TableSize: ro.tableSize, Inputs: ro.sink.Inputs(), Title: rc.title}
	if _, err := ro.render(env, rc, days, meta, now); err != nil {
		return fmt.Errorf("TRACKLESS_REPORT_OUT: %w", err)
	}
	client, err := j.s3Client(context.Background())
	if err != nil {
		return err
	}
	files, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	dir := path.Dir(key)
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(tmp, f.Name()))
		if err != nil {
			return err
		}
		k := f.Name()
		if dir != "." {
			k = dir + "/" + k
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err = client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &bucket, Key: &k, Body: bytes.NewReader(data),
			ContentType: aws.String("text/html; charset=utf-8"), CacheControl: aws.String("max-age=60"),
		})
		cancel()
		if err != nil {
			return fmt.Errorf("TRACKLESS_REPORT_OUT: writing s3://%s/%s: %w", bucket, k, err)
		}
	}
	j.log.Info("report published", "to", rc.reportOut, "files", len(files))
	return ro.state.SetRendered(now)
}
