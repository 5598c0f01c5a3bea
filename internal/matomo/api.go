package matomo

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// APIError is an error answer of Matomo's reporting API: its message (from
// its JSON, or from its HTML error page) and the HTTP status.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("Matomo API answered HTTP %d", e.Status)
	}
	return fmt.Sprintf("Matomo API answered HTTP %d: %s", e.Status, e.Message)
}

// TokenRefused reports whether Matomo refused the token: HTTP 401 or 403
// (a real Matomo 5.0.2 answers a wrong token with 401), or its messages
// about authentication and access (older versions answer them with 200).
func (e *APIError) TokenRefused() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden ||
		strings.Contains(e.Message, "authenticate") || strings.Contains(e.Message, "requires view access") ||
		strings.Contains(e.Message, "requires 'view' access")
}

// callAPI posts a reporting-API call to index.php: module, method and
// format in the URL (a real Matomo then answers errors in JSON), the
// parameters and the token in the form body (never in a URL). It returns
// the answer (up to limit bytes) of a 200, and an *APIError for an error
// answer, whatever its status. Errors never show the token.
func (c *Client) callAPI(ctx context.Context, method string, form url.Values, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, min(c.Timeout, probeTimeout)) // API calls are small: no need to wait as for a batch
	defer cancel()
	form.Set("token_auth", c.token)
	q := url.Values{"module": {"API"}, "method": {method}, "format": {"json"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/index.php?"+q.Encode(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.scrub(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, c.scrub(err)
	}
	var e struct {
		Result  string `json:"result"`
		Message string `json:"message"`
	}
	isJSON := json.Unmarshal(data, &e) == nil
	switch {
	case isJSON && e.Result == "error":
		return nil, c.scrub(&APIError{Status: resp.StatusCode, Message: e.Message})
	case resp.StatusCode != http.StatusOK:
		return nil, c.scrub(&APIError{Status: resp.StatusCode, Message: pageMessage(data)})
	}
	return data, nil
}

// pageMessage is the message of an error page: its first <h2> or <title>,
// without tags, or the start of the text.
func pageMessage(data []byte) string {
	s := string(data)
	for _, tag := range []string{"h2", "title"} {
		if i := strings.Index(s, "<"+tag+">"); i >= 0 {
			rest := s[i+len(tag)+2:]
			if j := strings.Index(rest, "</"+tag+">"); j >= 0 {
				return strings.TrimSpace(html.UnescapeString(stripTags(rest[:j])))
			}
		}
	}
	return snippet(data)
}

func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Version asks Matomo for its version (API.getMatomoVersion). It needs a token.
func (c *Client) Version(ctx context.Context) (string, error) {
	data, err := c.callAPI(ctx, "API.getMatomoVersion", url.Values{}, 1<<16)
	if err != nil {
		return "", err
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(data, &v); err != nil || v.Value == "" {
		return "", fmt.Errorf("Matomo API: not a version: %s", snippet(data))
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
	data, err := c.callAPI(ctx, "SitesManager.getSitesIdFromSiteUrl", url.Values{"url": {"http://" + host}}, 1<<20)
	if err != nil {
		return 0, err
	}
	var ids []struct {
		IDSite any `json:"idsite"` // "3" from Matomo; a number is accepted too
	}
	if err := json.Unmarshal(data, &ids); err != nil {
		return 0, fmt.Errorf("Matomo API: not a list of sites: %s", snippet(data))
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
	data, err := c.callAPI(ctx, "SitesManager.addSite", url.Values{"siteName": {host}, "urls": {"https://" + host}}, 1<<16)
	if err != nil {
		return 0, err
	}
	var v struct {
		Value any `json:"value"`
	}
	if err := json.Unmarshal(data, &v); err != nil || v.Value == nil {
		return 0, fmt.Errorf("Matomo API: addSite answered %s", snippet(data))
	}
	id, err := strconv.Atoi(fmt.Sprint(v.Value))
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("Matomo API: addSite answered %v", v.Value)
	}
	return id, nil
}

// Site is what Matomo says of a site (SitesManager.getSiteFromId).
type Site struct {
	ID int
	// MainURL is the site's main URL, e.g. https://www.example.com.
	MainURL string
	// Timezone is Matomo's name of the site's time zone: an IANA name
	// (Europe/Paris), "UTC", or a fixed offset ("UTC+5.5", "UTC-3").
	Timezone string
}

// Site asks Matomo for a site's main URL and time zone, as Matomo's
// importer does for its --idsite (it needs a token with view access).
func (c *Client) Site(ctx context.Context, id int) (Site, error) {
	data, err := c.callAPI(ctx, "SitesManager.getSiteFromId", url.Values{"idSite": {strconv.Itoa(id)}}, 1<<20)
	if err != nil {
		return Site{}, err
	}
	var v struct {
		MainURL  string `json:"main_url"`
		Timezone string `json:"timezone"`
	}
	if err := json.Unmarshal(data, &v); err != nil || v.MainURL == "" {
		return Site{}, fmt.Errorf("Matomo API: not a site: %s", snippet(data))
	}
	return Site{ID: id, MainURL: v.MainURL, Timezone: v.Timezone}, nil
}

// SchemeHost returns the scheme and host of the site's main URL ("https"
// when the URL has no scheme).
func (s Site) SchemeHost() (scheme, host string, err error) {
	raw := strings.TrimSpace(s.MainURL)
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("site %d: main URL %q has no host", s.ID, s.MainURL)
	}
	scheme = strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		scheme = "https"
	}
	return scheme, u.Host, nil
}

// Location returns the site's time zone ("" and unknown names are UTC
// with ok false).
func (s Site) Location() (loc *time.Location, ok bool) {
	return ParseTimezone(s.Timezone)
}

// ParseTimezone reads Matomo's time zone names: IANA names, "UTC", and
// fixed offsets "UTC+5.5", "UTC-3" (hours, possibly fractional). ok is
// false, and the location UTC, for a name it cannot read.
func ParseTimezone(tz string) (*time.Location, bool) {
	tz = strings.TrimSpace(tz)
	switch {
	case tz == "":
		return time.UTC, false
	case tz == "UTC" || tz == "GMT":
		return time.UTC, true
	case strings.HasPrefix(tz, "UTC+") || strings.HasPrefix(tz, "UTC-"):
		h, err := strconv.ParseFloat(tz[3:], 64)
		if err != nil || h < -14 || h > 14 {
			return time.UTC, false
		}
		return time.FixedZone(tz, int(h*3600)), true
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC, false
	}
	return loc, true
}
