package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trackless/trackless/internal/atomicfile"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/pipeline"
)

func printSummary(w io.Writer, cmd string, s *pipeline.Stats, parse bool) {
	var b strings.Builder
	fmt.Fprintf(&b, "trackless %s: %s", cmd, plural(s.Inputs, "input", "inputs"))
	if s.InputsSkipped > 0 {
		fmt.Fprintf(&b, " (%d already delivered)", s.InputsSkipped)
	}
	fmt.Fprintf(&b, ", %s read in %.1fs, %s\n", plural(s.LinesRead, "line", "lines"), s.Elapsed.Seconds(), plural(s.Hits, "hit", "hits"))
	if s.Duplicates > 0 {
		fmt.Fprintf(&b, "  records the stream holds twice (same x-edge-request-id), read once: %d\n", s.Duplicates)
	}
	if s.LinesResumed > 0 {
		fmt.Fprintf(&b, "  already delivered by an earlier run: %s\n", plural(s.LinesResumed, "line", "lines"))
	}
	if s.InvalidUTF8 > 0 {
		fmt.Fprintf(&b, "  lines with bytes that are not UTF-8: %d (kept as they are; escaped in what is sent)\n", s.InvalidUTF8)
	}
	if len(s.Malformed) > 0 {
		fmt.Fprintf(&b, "  malformed lines: %s\n", counts(s.Malformed))
	}
	if len(s.Skipped) > 0 {
		fmt.Fprintf(&b, "  skipped hits: %s\n", counts(s.Skipped))
	}
	for _, site := range sortedKeys(s.SiteURLs) {
		switch part := s.SiteURLParts[site]; part {
		case "host":
			fmt.Fprintf(&b, "  the log has no host: hits of site %d sent for the host of %s, the site's main URL in Matomo (--default-host wins)\n", site, s.SiteURLs[site])
		case "scheme":
			fmt.Fprintf(&b, "  the log has no scheme: hits of site %d sent with the scheme of %s, the site's main URL in Matomo (--default-protocol wins)\n", site, s.SiteURLs[site])
		default:
			fmt.Fprintf(&b, "  the log has no scheme or host: hits of site %d sent as %s, the site's main URL in Matomo (--default-protocol and --default-host win)\n", site, s.SiteURLs[site])
		}
	}
	if s.SchemeDefaulted > 0 {
		fmt.Fprintf(&b, "  the log has no scheme: https assumed for %s (set --default-protocol, or give MATOMO_URL and a token: the site's main URL in Matomo says it)\n", plural(s.SchemeDefaulted, "hit", "hits"))
	}
	for _, in := range s.InputsMostlyMalformed {
		fmt.Fprintf(&b, "  MOSTLY MALFORMED: %s: more lines are malformed than read; is it a log of this format? (--format, --log-format)\n", in)
	}
	if len(s.UnmappedHosts) > 0 {
		fmt.Fprintf(&b, "  hosts mapped to no site (hits not sent): %s\n", topCounts(s.UnmappedHosts, 10))
	}
	if len(s.AIAgents) > 0 {
		fmt.Fprintf(&b, "  AI assistants: %s\n", counts(s.AIAgents))
	}
	if parse {
		fmt.Fprintf(&b, "  requests printed: %d\n", s.Queued)
	} else {
		fmt.Fprintf(&b, "  sent: %d in %s (tracked %d, invalid %d, retries %d)\n", s.Sent, plural(s.Batches, "batch", "batches"), s.Tracked, s.Invalid, s.Retries)
		if s.PeakInFlight > 0 && s.FinalInFlight < s.PeakInFlight {
			fmt.Fprintf(&b, "  Matomo answered slowly: batches in flight lowered from %d to %d\n", s.PeakInFlight, s.FinalInFlight)
		}
		if s.NotSent > 0 {
			fmt.Fprintf(&b, "  not sent (the run stopped; the next run sends them, nothing is lost): %s\n", plural(s.NotSent, "hit", "hits"))
		}
	}
	if s.DeadLettered > 0 {
		fmt.Fprintf(&b, "  NOT DELIVERED: Matomo refused %s, written to %s (fix the cause, then: trackless replay %s)\n", plural(s.DeadLettered, "hit", "hits"), s.DeadLetterFile, s.DeadLetterFile)
	}
	if s.InDoubt > 0 {
		fmt.Fprintf(&b, "  IN DOUBT: %s sent and not confirmed: Matomo may have stored them, so they are not sent again; written to %s (check Matomo, then if they are missing: trackless replay %s)\n",
			plural(s.InDoubt, "hit", "hits"), s.InDoubtFile, s.InDoubtFile)
	}
	if s.Invalid > 0 && s.RejectedFile != "" {
		fmt.Fprintf(&b, "  REJECTED by Matomo: %s, see %s\n", plural(s.Invalid, "hit", "hits"), s.RejectedFile)
	}
	for _, d := range s.InputsDamaged {
		fmt.Fprintf(&b, "  DAMAGED or unreadable input: %s\n", d)
	}
	if len(s.InputsWaiting) > 0 {
		fmt.Fprintf(&b, "  last line still being written (read by a later run, once complete): %s, e.g. %s\n", plural(len(s.InputsWaiting), "input", "inputs"), s.InputsWaiting[0])
	}
	if len(s.InputsBusy) > 0 {
		fmt.Fprintf(&b, "  being read by another worker (left to it): %s, e.g. %s\n", plural(len(s.InputsBusy), "input", "inputs"), s.InputsBusy[0])
	}
	for _, n := range s.InputsGone {
		fmt.Fprintf(&b, "  gone before it was read (rotated or moved since it was listed; a later run finds it where it went): %s\n", n)
	}
	if s.InputsSuperseded > 0 {
		fmt.Fprintf(&b, "  objects overwritten since they were listed (their new version is read by the next run): %d\n", s.InputsSuperseded)
	}
	if s.AfterFailed > 0 {
		fmt.Fprintf(&b, "  DELIVERED, but the --after action failed for %s (see the log); they stay delivered\n", plural(s.AfterFailed, "input", "inputs"))
	}
	io.WriteString(w, b.String())
}

func sortedKeys(m map[int]string) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}

// plural writes n and the noun, singular when n is 1: "1 input", "2 inputs".
func plural[N int | int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// topCounts lists the n largest counts, largest first.
func topCounts(m map[string]int64, n int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, n+1)
	for i, k := range keys {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(keys)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func counts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func writeSummaryJSON(env Env, path string, stats any, code int) error {
	data, err := json.MarshalIndent(struct {
		Stats    any `json:"stats"`
		ExitCode int `json:"exit_code"`
	}{stats, code}, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if path == "-" {
		_, err = env.Stdout.Write(data)
		return err
	}
	return atomicfile.WriteFile(path, data, 0o644)
}

// progressBar draws bytes read, hits/s and an ETA on a terminal.
type progressBar struct {
	w       io.Writer
	total   int64
	mu      sync.Mutex
	cur     *input.Input
	doneB   int64 // bytes of finished inputs
	started time.Time
	quit    chan struct{}
	wg      sync.WaitGroup
	hits    atomic.Int64
}

// newProgressBar draws progress over inputs of total bytes.
func newProgressBar(w io.Writer, total int64) *progressBar {
	return &progressBar{w: w, quit: make(chan struct{}), total: total}
}

func (p *progressBar) setInput(in *input.Input) {
	p.mu.Lock()
	if p.cur != nil {
		p.doneB += p.cur.Size
	}
	p.cur = in
	p.mu.Unlock()
}

func (p *progressBar) start() {
	p.started = time.Now()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
}

func (p *progressBar) draw() {
	p.mu.Lock()
	read := p.doneB
	if p.cur != nil {
		read += p.cur.BytesRead()
	}
	p.mu.Unlock()
	el := time.Since(p.started).Seconds()
	line := fmt.Sprintf("\r%s read", human(read))
	if p.total > 0 {
		frac := float64(read) / float64(p.total)
		line = fmt.Sprintf("\r%5.1f%% %s of %s", 100*frac, human(read), human(p.total))
		if frac > 0.01 && el > 1 {
			eta := time.Duration(el/frac*(1-frac)) * time.Second
			line += fmt.Sprintf(", ETA %s", eta.Round(time.Second))
		}
	}
	if el > 0 {
		line += fmt.Sprintf(", %s/s, %.0f hits/s", human(int64(float64(read)/el)), float64(p.hits.Load())/el)
	}
	fmt.Fprintf(p.w, "%-70s", line)
}

func (p *progressBar) stop(s *pipeline.Stats) {
	close(p.quit)
	p.wg.Wait()
	if s != nil && s.Elapsed > 0 {
		fmt.Fprintf(p.w, "\r%-70s\r", fmt.Sprintf("%d hits, %.0f hits/s", s.Hits, float64(s.Hits)/s.Elapsed.Seconds()))
		fmt.Fprintln(p.w)
	}
}

func human(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}
