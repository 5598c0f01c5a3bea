package matomo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ProbeError is why Probe found Matomo unusable, in a user's words.
type ProbeError struct {
	// Kind is one of "dns", "refused", "tls", "timeout", "network",
	// "not_matomo", "failing" (Matomo answers, with errors: its database
	// is down), "token".
	Kind string
	Msg  string
}

func (e *ProbeError) Error() string { return e.Msg }

// probeTimeout bounds each request of Probe.
const probeTimeout = 30 * time.Second

// Probe proves, before anything is read, that batches can be delivered:
// the tracker answers at the endpoint as Matomo does (GET matomo.php
// without parameters: Matomo's page text or its GIF), and, with a token,
// that Matomo accepts it (API.getMatomoVersion, whose answer it returns;
// "" without a token). Its error is a *ProbeError.
func (c *Client) Probe(ctx context.Context) (version string, err error) {
	ctx, cancel := context.WithTimeout(ctx, min(c.Timeout, probeTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint, nil)
	if err != nil {
		return "", &ProbeError{Kind: "network", Msg: err.Error()}
	}
	req.Header.Set("User-Agent", "trackless")
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", c.probeNetError(err, ctx)
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	body := string(data)
	isMatomo := strings.HasPrefix(body, "GIF8") || strings.Contains(body, "Matomo") || strings.Contains(body, "Piwik")
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", &ProbeError{Kind: "not_matomo", Msg: fmt.Sprintf("%s answered HTTP %d: the tracker is behind a login or refuses this machine (Matomo's tracker needs no login; check MATOMO_URL and the server in front of Matomo)", c.endpoint, resp.StatusCode)}
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return "", &ProbeError{Kind: "not_matomo", Msg: fmt.Sprintf("%s redirects to %s: give MATOMO_URL as the address Matomo answers at (no redirect)", c.endpoint, resp.Header.Get("Location"))}
	case resp.StatusCode >= 500:
		return "", &ProbeError{Kind: "not_matomo", Msg: fmt.Sprintf("%s answered HTTP %d: Matomo is failing (%s)", c.endpoint, resp.StatusCode, snippet(data))}
	case !isMatomo || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest):
		return "", &ProbeError{Kind: "not_matomo", Msg: fmt.Sprintf("%s is not Matomo's tracker: it answered HTTP %d %q (MATOMO_URL is Matomo's base address, e.g. https://analytics.example.com)", c.endpoint, resp.StatusCode, snippet(data))}
	}
	if c.token == "" {
		return "", nil
	}
	v, err := c.Version(ctx)
	var ae *APIError
	switch {
	case err == nil:
		return v, nil
	case errors.As(err, &ae) && ae.TokenRefused():
		return "", &ProbeError{Kind: "token", Msg: "Matomo does not accept the token (MATOMO_TOKEN_AUTH, --token-auth or --token-file): " + ae.Message}
	case errors.As(err, &ae) && ae.Status >= 500:
		return "", &ProbeError{Kind: "failing", Msg: fmt.Sprintf("Matomo is failing: its API answered HTTP %d (%s); is its database up?", ae.Status, ae.Message)}
	case errors.As(err, &ae):
		return "", &ProbeError{Kind: "not_matomo", Msg: fmt.Sprintf("%s/index.php does not answer as Matomo's API does: %v", c.base, err)}
	}
	var ne *net.OpError
	if errors.As(err, &ne) || ctx.Err() != nil {
		return "", c.probeNetError(err, ctx)
	}
	return "", &ProbeError{Kind: "not_matomo", Msg: fmt.Sprintf("%s/index.php does not answer as Matomo's API does: %v", c.base, err)}
}

func (c *Client) probeNetError(err error, ctx context.Context) *ProbeError {
	host := c.endpoint
	if u, perr := url.Parse(c.endpoint); perr == nil {
		host = u.Host
	}
	kind := "network"
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var rec tls.RecordHeaderError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &ProbeError{Kind: "timeout", Msg: fmt.Sprintf("Matomo at %s did not answer within %s", host, min(c.Timeout, probeTimeout))}
	case errors.As(err, &dns):
		kind = "dns"
	case errors.Is(err, syscall.ECONNREFUSED):
		kind = "refused"
	case errors.As(err, &cert), errors.As(err, &unknownAuth), errors.As(err, &hostname), errors.As(err, &rec),
		strings.Contains(err.Error(), "HTTP response to HTTPS client"):
		kind = "tls"
	}
	return &ProbeError{Kind: kind, Msg: fmt.Sprintf("cannot reach Matomo at %s: %s (check MATOMO_URL)", host, c.scrub(errors.New(Explain(err))).Error())}
}

// Explain says what a network error means, in a user's words: "the name
// x does not resolve (DNS)", "connection refused: nothing listens at
// host:port", "TLS: ...", or the error itself.
func Explain(err error) string {
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var rec tls.RecordHeaderError
	var op *net.OpError
	switch {
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return fmt.Sprintf("the name %s does not resolve (DNS)", dns.Name)
		}
		return fmt.Sprintf("cannot resolve %s (DNS: %s)", dns.Name, dns.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		addr := ""
		if errors.As(err, &op) && op.Addr != nil {
			addr = " at " + op.Addr.String()
		}
		return "connection refused: nothing listens" + addr
	case errors.As(err, &cert):
		return "TLS: the server's certificate is not valid: " + cert.Err.Error()
	case errors.As(err, &unknownAuth), errors.As(err, &hostname):
		return "TLS: the server's certificate is not valid: " + err.Error()
	case errors.As(err, &rec), strings.Contains(err.Error(), "HTTP response to HTTPS client"):
		return "TLS: the server does not speak TLS there (is the address http:// rather than https://?)"
	case errors.Is(err, syscall.ECONNRESET):
		return "the connection was reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection was closed without an answer"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
