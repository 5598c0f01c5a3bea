package cli

import (
	"flag"
	"io"
	"testing"
	"time"
)

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"36h":                       now.Add(-36 * time.Hour),
		"2026-11-01":                time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		"2026-11-01 10:00:00":       time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
		"2026-11-01 10:00:00 +0100": time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
		"2026-11-01T10:00:00-02:00": time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
	} {
		got, err := parseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	if _, err := parseWhen("yesterday", now); err == nil {
		t.Error("yesterday accepted")
	}
}

func TestInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var site int
	var hosts listFlag
	fs.IntVar(&site, "site-id", 0, "")
	fs.Var(&hosts, "exclude-host", "")
	pos, err := parseInterspersed(fs, []string{"a.log", "--site-id", "3", "b.log", "--exclude-host", "x,y", "--", "--c.log"})
	if err != nil || len(pos) != 3 || pos[2] != "--c.log" || site != 3 || len(hosts) != 2 {
		t.Fatalf("%v %v site %d hosts %v", pos, err, site, hosts)
	}
}
