package matomo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// callAPI posts a reporting-API call (index.php, module API, JSON, the token
// in the form body) within the client's timeout and returns the HTTP status
// and up to limit bytes of the answer. Errors never show the token.
func (c *Client) callAPI(ctx context.Context, form url.Values, limit int64) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, min(c.Timeout, probeTimeout)) // API calls are small: no need to wait as for a batch
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
	status, data, err := c.callAPI(ctx, url.Values{"method": {"SitesManager.getSiteFromId"}, "idSite": {strconv.Itoa(id)}}, 1<<20)
	if err != nil {
		return Site{}, err
	}
	var v struct {
		MainURL  string `json:"main_url"`
		Timezone string `json:"timezone"`
		Result   string `json:"result"`
		Message  string `json:"message"`
	}
	if err := json.Unmarshal(data, &v); err != nil || v.MainURL == "" {
		if v.Message != "" {
			return Site{}, fmt.Errorf("Matomo API: %s", v.Message)
		}
		return Site{}, fmt.Errorf("Matomo API answered HTTP %d: %s", status, snippet(data))
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
