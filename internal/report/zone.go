package report

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// clock maps instants to the days and seconds of a time zone: a report
// counts by the calendar of its zone (Options.Zone). A day is the date in
// the zone (days since 1970-01-01 of its calendar) and a second of the day
// is the zone's wall clock: a day of a change to summer time has no hour
// 2, a day of the change back counts two hours of wall time 2:00 in it.
//
// It keeps the offset of the span the last instant fell in (ZoneBounds),
// so that most hits cost a comparison, not a zone lookup.
type clock struct {
	loc      *time.Location // nil: UTC
	from, to int64          // unix seconds of the span where off holds
	off      int64
}

func newClock(loc *time.Location) *clock {
	if loc == time.UTC {
		loc = nil
	}
	return &clock{loc: loc}
}

// local returns the wall-clock seconds since 1970-01-01 00:00 of the zone.
func (c *clock) local(unix int64) int64 {
	if c.loc == nil {
		return unix
	}
	if unix < c.from || unix >= c.to || c.from == c.to {
		t := time.Unix(unix, 0).In(c.loc)
		_, off := t.Zone()
		start, end := t.ZoneBounds()
		c.off, c.from, c.to = int64(off), math.MinInt64, math.MaxInt64
		if !start.IsZero() {
			c.from = start.Unix()
		}
		if !end.IsZero() {
			c.to = end.Unix()
		}
	}
	return unix + c.off
}

// dateSec returns the date of an instant in the zone and its second of
// that day (wall clock).
func (c *clock) dateSec(t time.Time) (int32, uint32) {
	l := c.local(t.Unix())
	d := floorDiv(l, 86400)
	return int32(d), uint32(l - d*86400)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// CanonicalZone is the name a state records of a zone: UTC for its other
// names (Etc/UTC, Debian's /etc/timezone; Universal, Zulu…), else the
// name as given.
func CanonicalZone(name string) string {
	switch name {
	case "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu":
		return "UTC"
	}
	return name
}

// LoadZone returns the time zone of an IANA name (Europe/Paris) or UTC;
// "" is UTC. "Local" is refused: a state records its zone by name, and
// the machine's zone differs from one machine to the next.
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if name == "Local" || strings.ContainsAny(name, " \t") {
		return nil, fmt.Errorf("time zone %q: an IANA name, such as Europe/Paris or America/New_York", name)
	}
	loc, err := time.LoadLocation(CanonicalZone(name))
	if err != nil {
		return nil, fmt.Errorf("time zone %q is not an IANA time zone name (such as Europe/Paris, America/New_York or UTC): %v", name, err)
	}
	return loc, nil
}
