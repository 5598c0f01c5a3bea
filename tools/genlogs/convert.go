package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/logformat"
)

// convertWriter turns the CloudFront lines written to it into another
// log format, line by line: the same requests, as Apache/nginx would log
// them. Header lines are dropped.
type convertWriter struct {
	w      io.Writer
	format string
	cf     *logformat.CloudFront
	buf    []byte // an unfinished line
	out    []byte
	n      int64
}

func newConvertWriter(w io.Writer, format string) (*convertWriter, error) {
	switch format {
	case "combined", "nginx_json":
	default:
		return nil, fmt.Errorf("-format: %q is not cloudfront, combined or nginx_json", format)
	}
	return &convertWriter{w: w, format: format, cf: logformat.NewCloudFront("genlogs")}, nil
}

func (c *convertWriter) Write(p []byte) (int, error) {
	c.buf = append(c.buf, p...)
	for {
		i := bytes.IndexByte(c.buf, '\n')
		if i < 0 {
			break
		}
		if err := c.line(c.buf[:i]); err != nil {
			return 0, err
		}
		c.buf = c.buf[i+1:]
	}
	if len(c.out) > 0 {
		if _, err := c.w.Write(c.out); err != nil {
			return 0, err
		}
		c.out = c.out[:0]
	}
	c.buf = append([]byte(nil), c.buf...)
	return len(p), nil
}

func (c *convertWriter) line(l []byte) error {
	c.n++
	var h hit.Hit
	ok, err := c.cf.Parse(l, c.n, &h)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	// The request target as the client sent it (CloudFront's escaping undone).
	target := strings.TrimPrefix(hit.PageURL("http", "x", h.Path, h.Query, true), "http://x")
	proto := h.HTTPVersion
	if proto == "" {
		proto = "HTTP/1.1"
	}
	bytesSent := strconv.FormatInt(max(h.Bytes, 0), 10)
	switch c.format {
	case "combined":
		c.out = fmt.Appendf(c.out, "%s - - [%s] \"%s %s %s\" %d %s \"%s\" \"%s\"\n",
			h.ClientIP, h.Time.Format("02/Jan/2006:15:04:05 -0700"), h.Method, target, proto, max(h.Status, 0), bytesSent,
			dashIfEmpty(escapeQuotes(h.Referrer)), dashIfEmpty(escapeQuotes(h.UserAgent)))
	case "nginx_json":
		rec := map[string]any{
			"ip": h.ClientIP, "host": h.Host, "path": target, "status": strconv.Itoa(max(h.Status, 0)),
			"referrer": h.Referrer, "user_agent": h.UserAgent, "length": max(h.Bytes, 0),
			// The date as nginx writes $time_iso8601: +00:00, never Z (which
			// Matomo's importer refuses).
			"generation_time_milli": max(h.Duration, 0).Seconds(), "date": h.Time.Format(isoOffset),
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		c.out = append(append(c.out, b...), '\n')
	}
	return nil
}

// isoOffset is nginx's $time_iso8601.
const isoOffset = "2006-01-02T15:04:05-07:00"

func escapeQuotes(s string) string { return strings.ReplaceAll(s, `"`, `\x22`) }

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
