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
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
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
//
// What a failed attempt proves decides what Send does with the batch:
//   - nothing can have been stored (DNS, connection refused, TLS, the
//     connection lost before the whole request was sent, HTTP 429 and 5xx
//     but 504, which Matomo answers after rolling the batch back): the
//     whole batch is sent again, with backoff, for as long as the outage
//     lasts up to MaxOutage; then Send returns a *NotStoredError;
//   - Matomo may have stored it (no answer, or an answer cut, after the
//     whole request was sent: a timeout, a dropped connection; a proxy's
//     504; a 200 that does not account for the batch): Send returns a
//     *DoubtError and never sends it again (a resend would store it twice);
//   - Matomo refused it (another 4xx): a *StatusError.
type Client struct {
	endpoint string
	base     string
	token    string
	hc       *http.Client
	log      *slog.Logger

	// Timeout bounds each attempt (MATOMO_TIMEOUT_MS). It must be longer
	// than a loaded Matomo takes to store a batch: an attempt that times
	// out after sending its batch leaves the batch in doubt.
	Timeout time.Duration
	// MaxOutage bounds how long Send retries a batch that failed in a way
	// that proves it was not stored, counted from its first failure.
	MaxOutage time.Duration
	// Backoff is the first retry delay; it doubles, with jitter, up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// MaxRetryAfter caps a server's Retry-After.
	MaxRetryAfter time.Duration

	// sleep waits between attempts and now reads the clock; tests replace them.
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
	// dial opens connections (tests replace it); they are wrapped in a
	// trackedConn, which remembers a failed write.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// trackedConn remembers that a write failed: the request written on it was
// then not sent whole, which proves Matomo did not store it.
type trackedConn struct {
	net.Conn
	writeFailed atomic.Bool
}

func (c *trackedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil {
		c.writeFailed.Store(true)
	}
	return n, err
}

// writeFailed reports whether a write on conn (a *trackedConn, possibly
// under TLS) failed.
func writeFailed(conn net.Conn) bool {
	if nc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		conn = nc.NetConn()
	}
	tc, ok := conn.(*trackedConn)
	return ok && tc.writeFailed.Load()
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

// Defaults of a new Client.
const (
	// DefaultTimeout is Matomo's own importer's: a real Matomo 5.0.2 took
	// up to 17 s for a batch of 200 hits with 4 batches in flight.
	DefaultTimeout   = 300 * time.Second
	DefaultMaxOutage = 10 * time.Minute
	// idleConnTimeout closes kept-alive connections before a server does
	// (Apache closes them after 5 s): a batch written to a connection the
	// server is closing would be in doubt.
	idleConnTimeout = 2 * time.Second
)

// NewClient returns a client for matomoURL (see Endpoint). token may be empty.
func NewClient(matomoURL, token string, log *slog.Logger) (*Client, error) {
	ep, base, err := Endpoint(matomoURL)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		endpoint: ep, base: base, token: token, log: log,
		Timeout:       DefaultTimeout,
		MaxOutage:     DefaultMaxOutage,
		Backoff:       time.Second,
		MaxBackoff:    30 * time.Second,
		MaxRetryAfter: 5 * time.Minute,
		sleep:         sleepCtx,
		now:           time.Now,
		dial:          (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	tr.IdleConnTimeout = idleConnTimeout
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := c.dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &trackedConn{Conn: conn}, nil
	}
	c.hc = &http.Client{Transport: tr, CheckRedirect: noRedirects}
	return c, nil
}

// noRedirects keeps redirects as answers: a POST redirected would be sent
// again as a GET and lost, and a redirect to a login page is not Matomo.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

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
	// Elapsed is how long the successful attempt took.
	Elapsed time.Duration
}

// StatusError is an HTTP answer that retrying will not change (4xx but 429
// and 408): Matomo, or a server in front of it, refused the batch.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("Matomo answered HTTP %d: %s", e.Status, e.Body)
}

// DoubtError is a batch that Matomo may have stored, in part or whole: the
// request was sent and no answer accounted for it. It is not resent
// automatically.
type DoubtError struct {
	Sent   int
	Detail string
}

func (e *DoubtError) Error() string {
	return fmt.Sprintf("batch of %d hits in doubt: %s", e.Sent, e.Detail)
}

// NotStoredError is a batch that Matomo did not store: every attempt failed
// in a way that proves it. Stopped tells that Send gave up because its
// retry context ended (the run stops); otherwise the failures lasted longer
// than MaxOutage.
type NotStoredError struct {
	Attempts int
	Outage   time.Duration // from the first failure to the last
	Stopped  bool
	Last     error
}

func (e *NotStoredError) Error() string {
	if e.Stopped {
		return fmt.Sprintf("not sent (stopped after %d attempts): %v", e.Attempts, e.Last)
	}
	return fmt.Sprintf("Matomo failed for %s (%d attempts, the batch was not stored): %v", e.Outage.Round(time.Second), e.Attempts, e.Last)
}

func (e *NotStoredError) Unwrap() error { return e.Last }

// notStored is an attempt that proves the batch was not stored.
type notStored struct {
	err        error
	retryAfter time.Duration
}

func (e *notStored) Error() string { return e.err.Error() }

// Send posts items as one batch and checks the answer: tracked + invalid
// must equal len(items). Failures that prove nothing was stored are retried
// with the whole batch (Matomo rolls a failed batch back), honouring
// Retry-After, until MaxOutage has passed since the first failure or retry
// is done. ctx bounds everything, the attempt in flight included; retry
// only ends the waiting and keeps new attempts from starting (a run that
// stops lets the attempt in flight finish). It returns a Result, or a
// *NotStoredError, *DoubtError, *StatusError, or ctx's error.
func (c *Client) Send(ctx, retry context.Context, items [][]byte) (Result, error) {
	body := c.body(items)
	var last error
	var first time.Time
	delay := c.Backoff
	for attempt := 1; ; attempt++ {
		if retry.Err() != nil && attempt > 1 {
			return Result{}, &NotStoredError{Attempts: attempt - 1, Outage: c.now().Sub(first), Stopped: true, Last: last}
		}
		start := c.now()
		res, err := c.attempt(ctx, body, len(items))
		if err == nil {
			res.Attempts, res.Elapsed = attempt, c.now().Sub(start)
			return res, nil
		}
		var ns *notStored
		if !errors.As(err, &ns) {
			if ctx.Err() != nil {
				var doubt *DoubtError
				if errors.As(err, &doubt) {
					return Result{}, err
				}
				return Result{}, ctx.Err()
			}
			return Result{}, err
		}
		last = ns.err
		if first.IsZero() {
			first = start
		}
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		outage := c.now().Sub(first)
		if outage >= c.MaxOutage {
			return Result{}, &NotStoredError{Attempts: attempt, Outage: outage, Last: last}
		}
		wait := delay/2 + rand.N(delay/2+1) // jitter: 50-100 % of the delay
		if ns.retryAfter > 0 {
			wait = min(ns.retryAfter, c.MaxRetryAfter)
		}
		wait = min(wait, c.MaxOutage-outage)
		c.log.Warn("Matomo did not store the batch; sending it again", "attempt", attempt, "wait", wait, "failing_for", outage.Round(time.Second), "error", last.Error())
		if err := c.sleep(retry, wait); err != nil {
			if ctx.Err() != nil {
				return Result{}, ctx.Err()
			}
			return Result{}, &NotStoredError{Attempts: attempt, Outage: outage, Stopped: true, Last: last}
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

// attempt posts the batch once. Its error is a *notStored, a *DoubtError,
// a *StatusError, or (for a request that cannot be made) another error.
func (c *Client) attempt(ctx context.Context, body []byte, n int) (Result, error) {
	actx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	// The request was sent whole when it was written (WroteRequest) and
	// no write on its connection failed: the transport's last flush comes
	// after WroteRequest.
	var wrote atomic.Bool
	var conn atomic.Pointer[net.Conn]
	trace := &httptrace.ClientTrace{
		GotConn: func(g httptrace.GotConnInfo) { conn.Store(&g.Conn) },
		WroteRequest: func(w httptrace.WroteRequestInfo) {
			if w.Err == nil {
				wrote.Store(true)
			}
		},
	}
	sent := func() bool {
		c := conn.Load()
		return wrote.Load() && (c == nil || !writeFailed(*c))
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(actx, trace), http.MethodPost, c.endpoint, bytes.NewReader(body))
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
		if sent() {
			return Result{}, &DoubtError{Sent: n, Detail: "the batch was sent and no answer came (" + c.describe(err, actx) + "): Matomo may have stored it"}
		}
		return Result{}, &notStored{err: errors.New(c.describe(err, actx))}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Result{}, &DoubtError{Sent: n, Detail: fmt.Sprintf("Matomo's answer (HTTP %d) was cut off: %s", resp.StatusCode, c.describe(err, actx))}
	}
	switch {
	case resp.StatusCode == http.StatusGatewayTimeout:
		// A proxy gave up waiting for Matomo, which goes on storing.
		return Result{}, &DoubtError{Sent: n, Detail: "a proxy answered HTTP 504 (gateway timeout): Matomo may still have stored the batch"}
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return Result{}, &notStored{
			err:        fmt.Errorf("Matomo answered HTTP %d: %s", resp.StatusCode, snippet(data)),
			retryAfter: retryAfter(resp.Header.Get("Retry-After"), c.now()),
		}
	case resp.StatusCode != http.StatusOK:
		return Result{}, &StatusError{Status: resp.StatusCode, Body: snippet(data)}
	}
	var a bulkAnswer
	if err := json.Unmarshal(data, &a); err != nil || a.Tracked == nil || a.Invalid == nil {
		return Result{}, &DoubtError{Sent: n, Detail: "answer is not a bulk tracking result: " + snippet(data)}
	}
	if a.Status != "success" {
		// Matomo reports an error inside a batch with HTTP 500; a 200 that
		// says otherwise is not something it does: the batch may be stored.
		return Result{}, &DoubtError{Sent: n, Detail: fmt.Sprintf("Matomo answered HTTP 200 with status %q: %s", a.Status, snippet(data))}
	}
	if *a.Tracked+*a.Invalid != n {
		return Result{}, &DoubtError{Sent: n, Detail: fmt.Sprintf("Matomo counted tracked=%d invalid=%d", *a.Tracked, *a.Invalid)}
	}
	res := Result{Tracked: *a.Tracked, Invalid: *a.Invalid, InvalidIndices: a.InvalidIndices, HasIndices: a.InvalidIndices != nil}
	return res, nil
}

// describe says what went wrong with a request, in a user's words, without
// the token.
func (c *Client) describe(err error, actx context.Context) string {
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %s (--timeout-ms)", c.Timeout)
	}
	return c.scrub(errors.New(Explain(err))).Error()
}

// scrub removes the token from an error text (URLs in errors could carry it).
func (c *Client) scrub(err error) error {
	if c.token == "" || !strings.Contains(err.Error(), c.token) {
		return err
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return &APIError{Status: ae.Status, Message: strings.ReplaceAll(ae.Message, c.token, "***")}
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

func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
