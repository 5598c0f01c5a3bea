package matomo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Endpoint resolves the bulk tracking endpoint from MATOMO_URL as the peer
// does: the URL's path without a trailing "/matomo.php" (or "/piwik.php"),
// plus "/matomo.php". It also returns the base, for API calls.
func Endpoint(matomoURL string) (endpoint, base string, err error) {
	u, err := url.Parse(strings.TrimSpace(matomoURL))
	if err != nil {
		return "", "", fmt.Errorf("MATOMO_URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", fmt.Errorf("MATOMO_URL: %q must start with http:// or https://", matomoURL)
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("MATOMO_URL: %q has no host", matomoURL)
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/matomo.php")
	p = strings.TrimSuffix(p, "/piwik.php")
	p = strings.TrimRight(p, "/")
	u.Path, u.RawPath = p, ""
	base = u.String()
	return base + "/matomo.php", base, nil
}

// Client posts batches to Matomo's bulk tracking API. It is safe for
// concurrent use; each Send is one batch with its own retries.
type Client struct {
	endpoint string
	base     string
	token    string
	hc       *http.Client
	log      *slog.Logger

	// Timeout bounds each attempt (MATOMO_TIMEOUT_MS).
	Timeout time.Duration
	// Retries is how many times a failed attempt is retried.
	Retries int
	// Backoff is the first retry delay; it doubles, with jitter, up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// MaxRetryAfter caps a server's Retry-After.
	MaxRetryAfter time.Duration

	// sleep waits between attempts; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// NewClient returns a client for matomoURL (see Endpoint). token may be empty.
func NewClient(matomoURL, token string, log *slog.Logger) (*Client, error) {
	ep, base, err := Endpoint(matomoURL)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &Client{
		endpoint: ep, base: base, token: token, log: log,
		hc:            &http.Client{Transport: tr},
		Timeout:       5 * time.Second,
		Retries:       5,
		Backoff:       time.Second,
		MaxBackoff:    30 * time.Second,
		MaxRetryAfter: 5 * time.Minute,
		sleep:         sleepCtx,
	}, nil
}

// EndpointURL is where batches are posted.
func (c *Client) EndpointURL() string { return c.endpoint }

// Result is Matomo's answer to a batch that it processed.
type Result struct {
	Tracked, Invalid int
	// InvalidIndices are the 0-based positions of the rejected items; Matomo
	// names them only to a super user's token (HasIndices).
	InvalidIndices []int
	HasIndices     bool
	Attempts       int
}

// StatusError is an HTTP answer that retrying will not change (4xx but 429).
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("Matomo answered HTTP %d: %s", e.Status, e.Body)
}

// DoubtError is an answer that does not account for the batch: Matomo may
// have stored some or all of it, so it is not resent automatically.
type DoubtError struct {
	Sent   int
	Detail string
}

func (e *DoubtError) Error() string {
	return fmt.Sprintf("batch of %d hits in doubt: %s", e.Sent, e.Detail)
}

// RetryError is the last error of a batch that failed every attempt.
type RetryError struct {
	Attempts int
	Last     error
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("gave up after %d attempts: %v", e.Attempts, e.Last)
}

func (e *RetryError) Unwrap() error { return e.Last }

type retryable struct {
	err        error
	retryAfter time.Duration
}

func (e *retryable) Error() string { return e.err.Error() }

// Send posts items as one batch and checks the answer: tracked + invalid
// must equal len(items). Network errors, timeouts, 429 and 5xx are retried
// with the whole batch (Matomo rolls a failed batch back), honouring
// Retry-After. It returns a *StatusError, *DoubtError, *RetryError or the
// context's error.
func (c *Client) Send(ctx context.Context, items [][]byte) (Result, error) {
	body := c.body(items)
	var last error
	delay := c.Backoff
	for attempt := 1; ; attempt++ {
		res, err := c.attempt(ctx, body, len(items))
		if err == nil {
			res.Attempts = attempt
			return res, nil
		}
		var r *retryable
		if !errors.As(err, &r) {
			return Result{}, err
		}
		last = r.err
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		if attempt > c.Retries {
			return Result{}, &RetryError{Attempts: attempt, Last: last}
		}
		wait := delay/2 + rand.N(delay/2+1) // jitter: 50-100 % of the delay
		if r.retryAfter > 0 {
			wait = min(r.retryAfter, c.MaxRetryAfter)
		}
		c.log.Warn("retrying batch", "attempt", attempt, "wait", wait, "error", last.Error())
		if err := c.sleep(ctx, wait); err != nil {
			return Result{}, err
		}
		delay = min(2*delay, c.MaxBackoff)
	}
}

func (c *Client) body(items [][]byte) []byte {
	n := 40 + len(c.token)
	for _, it := range items {
		n += len(it) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, `{"requests":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		// Items are query-escaped: no '"', '\\' or control bytes to escape.
		b = append(b, '"')
		b = append(b, it...)
		b = append(b, '"')
	}
	b = append(b, ']')
	if c.token != "" {
		tok, _ := json.Marshal(c.token)
		b = append(b, `,"token_auth":`...)
		b = append(b, tok...)
	}
	return append(b, '}')
}

type bulkAnswer struct {
	Status         string `json:"status"`
	Tracked        *int   `json:"tracked"`
	Invalid        *int   `json:"invalid"`
	InvalidIndices []int  `json:"invalid_indices"`
	Message        string `json:"message"`
}

func (c *Client) attempt(ctx context.Context, body []byte, n int) (Result, error) {
	actx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "trackless")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return Result{}, &retryable{err: c.scrub(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		if resp.StatusCode == http.StatusOK {
			return Result{}, &DoubtError{Sent: n, Detail: "answer cut off: " + c.scrub(err).Error()}
		}
		return Result{}, &retryable{err: c.scrub(err)}
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return Result{}, &retryable{
			err:        fmt.Errorf("Matomo answered HTTP %d: %s", resp.StatusCode, snippet(data)),
			retryAfter: retryAfter(resp.Header.Get("Retry-After")),
		}
	case resp.StatusCode != http.StatusOK:
		return Result{}, &StatusError{Status: resp.StatusCode, Body: snippet(data)}
	}
	var a bulkAnswer
	if err := json.Unmarshal(data, &a); err != nil || a.Tracked == nil || a.Invalid == nil {
		return Result{}, &DoubtError{Sent: n, Detail: "answer is not a bulk tracking result: " + snippet(data)}
	}
	if a.Status != "success" {
		return Result{}, &retryable{err: fmt.Errorf("Matomo answered status %q: %s", a.Status, snippet(data))}
	}
	if *a.Tracked+*a.Invalid != n {
		return Result{}, &DoubtError{Sent: n, Detail: fmt.Sprintf("Matomo counted tracked=%d invalid=%d", *a.Tracked, *a.Invalid)}
	}
	res := Result{Tracked: *a.Tracked, Invalid: *a.Invalid, InvalidIndices: a.InvalidIndices, HasIndices: a.InvalidIndices != nil}
	return res, nil
}

// scrub removes the token from an error text (URLs in errors could carry it).
func (c *Client) scrub(err error) error {
	if c.token == "" || !strings.Contains(err.Error(), c.token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), c.token, "***"))
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// callAPI posts a reporting-API call (index.php, module API, JSON, the token
// in the form body) within the client's timeout and returns the HTTP status
// and up to limit bytes of the answer. Errors never show the token.
func (c *Client) callAPI(ctx context.Context, form url.Values, limit int64) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	form.Set("module", "API")
	form.Set("format", "json")
	form.Set("token_auth", c.token)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/index.php", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, c.scrub(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return 0, nil, c.scrub(err)
	}
	return resp.StatusCode, data, nil
}

// Version asks Matomo for its version (API.getMatomoVersion). It needs a token.
func (c *Client) Version(ctx context.Context) (string, error) {
	status, data, err := c.callAPI(ctx, url.Values{"method": {"API.getMatomoVersion"}}, 1<<16)
	if err != nil {
		return "", err
	}
	var v struct {
		Value   string `json:"value"`
		Result  string `json:"result"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(data, &v); err != nil || v.Value == "" {
		if v.Message != "" {
			return "", fmt.Errorf("Matomo API: %s", v.Message)
		}
		return "", fmt.Errorf("Matomo API answered HTTP %d: %s", status, snippet(data))
	}
	return v.Value, nil
}

// VersionAtLeast compares dotted versions ("5.10.1" >= "5.7.0").
func VersionAtLeast(v, minimum string) bool {
	a, b := strings.Split(v, "."), strings.Split(minimum, ".")
	for i := 0; i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x, _ = strconv.Atoi(strings.TrimFunc(a[i], func(r rune) bool { return r < '0' || r > '9' }))
		}
		y, _ = strconv.Atoi(b[i])
		if x != y {
			return x > y
		}
	}
	return true
}

// FirstRecModeVersion is the first Matomo version that routes recMode
// requests to bot tracking; older ones drop AI-assistant hits as bots while
// counting them as tracked.
const FirstRecModeVersion = "5.7.0"

// SiteForHost asks Matomo which site has host among its URLs
// (SitesManager.getSitesIdFromSiteUrl, which needs a token). It returns 0
// when none has; when several have, the lowest id.
func (c *Client) SiteForHost(ctx context.Context, host string) (int, error) {
	status, data, err := c.callAPI(ctx, url.Values{"method": {"SitesManager.getSitesIdFromSiteUrl"}, "url": {"http://" + host}}, 1<<20)
	if err != nil {
		return 0, err
	}
	var ids []struct {
		IDSite any `json:"idsite"` // "3" from Matomo; a number is accepted too
	}
	if err := json.Unmarshal(data, &ids); err != nil {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			return 0, fmt.Errorf("Matomo API: %s", e.Message)
		}
		return 0, fmt.Errorf("Matomo API answered HTTP %d: %s", status, snippet(data))
	}
	best := 0
	for _, x := range ids {
		n, err := strconv.Atoi(fmt.Sprint(x.IDSite))
		if err == nil && n > 0 && (best == 0 || n < best) {
			best = n
		}
	}
	return best, nil
}

// AddSite creates a site for host (SitesManager.addSite, which needs a
// super user's token) and returns its id. The site is named after the host
// and has https://host as its URL.
func (c *Client) AddSite(ctx context.Context, host string) (int, error) {
	status, data, err := c.callAPI(ctx, url.Values{"method": {"SitesManager.addSite"}, "siteName": {host}, "urls": {"https://" + host}}, 1<<16)
	if err != nil {
		return 0, err
	}
	var v struct {
		Value   any    `json:"value"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(data, &v); err != nil || v.Value == nil {
		if v.Message != "" {
			return 0, fmt.Errorf("Matomo API: %s", v.Message)
		}
		return 0, fmt.Errorf("Matomo API answered HTTP %d: %s", status, snippet(data))
	}
	id, err := strconv.Atoi(fmt.Sprint(v.Value))
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("Matomo API: addSite answered %v", v.Value)
	}
	return id, nil
}
