package report

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/trackless/trackless/internal/classify"
	"github.com/trackless/trackless/internal/hit"
)

// DefaultTableSize is the default capacity of a day's tables (Table).
const DefaultTableSize = 5000

// Options configure an Aggregator.
type Options struct {
	// Classify holds the download and static-file patterns (Kind); its
	// user-agent and method filters are not used: the report counts all.
	Classify      classify.Config
	DefaultScheme string
	DefaultHost   string
	// TableSize is the capacity of each day's tables of URLs, referrers
	// and bots (default DefaultTableSize): below it per day, they are exact.
	TableSize int
	Country   CountryFunc // nil: no countries
	ParseUA   UAFunc      // nil: browsers, OS and devices are "Other"
	// Zone is the time zone of the days and hours (nil: UTC).
	Zone *time.Location
	// ByHost counts each host's days apart (Day.Host); otherwise every
	// host counts into one day (Day.Host "").
	ByHost bool
	// Load returns the stored aggregate of a day, or nil for none. It is
	// called once per day, when a hit of that day first comes.
	Load func(DayKey) (*Day, error)
	// MinDate: hits of earlier days are not counted (Add returns false).
	MinDate int32
	// ParamPaths are paths (a pixel, an API endpoint) whose query
	// parameters are counted by name and value (Day.Params).
	ParamPaths []string
}

// DayKey names a day of the report: its date, and its host when days are
// counted per host (Options.ByHost; "" otherwise).
type DayKey struct {
	Host string
	Date int32
}

// MaxHostsPerDay bounds the hosts a run counts apart in one day
// (Options.ByHost): the hits of further hosts count as OtherHosts, so
// that a flood of made-up Host headers cannot exhaust memory.
const MaxHostsPerDay = 1000

// The hosts of by-host days that are not a host name.
const (
	NoHost      = ""                // the log names no host
	OtherHosts  = "(other hosts)"   // past MaxHostsPerDay
	InvalidHost = "(invalid hosts)" // not a host name (made-up headers)
)

// HostKey is the host a by-host day is counted under: the host lowered,
// or InvalidHost when it is not a host name (a DNS name or an IP
// address, with a port).
func HostKey(host string) string {
	if len(host) > 260 {
		return InvalidHost
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '.', c == '-', c == '_', c == ':', c == '[', c == ']':
		case 'A' <= c && c <= 'Z':
			return HostKey(strings.ToLower(host))
		default:
			return InvalidHost
		}
	}
	if host != "" && (host[0] == '-' || host[0] == '_') {
		return InvalidHost
	}
	return host
}

// Aggregator counts hits into days. It is not safe for concurrent use.
type Aggregator struct {
	opt   Options
	cls   *classify.Classifier
	clock *clock
	days  map[DayKey]*Day
	hosts map[int32]int // by host: the hosts counted apart per date
	last  *Day
}

// New returns an Aggregator.
func New(opt Options) (*Aggregator, error) {
	if opt.TableSize <= 0 {
		opt.TableSize = DefaultTableSize
	}
	// The report counts every hit by what it is (classify's Facts): of
	// the configuration, only the download and static-file patterns apply.
	cls, err := classify.New(classify.Config{DocumentRegex: opt.Classify.DocumentRegex, URLExcludeRegex: opt.Classify.URLExcludeRegex})
	if err != nil {
		return nil, err
	}
	return &Aggregator{opt: opt, cls: cls, clock: newClock(opt.Zone), days: map[DayKey]*Day{}, hosts: map[int32]int{}}, nil
}

// Date returns the date of an instant in the aggregator's zone.
func (a *Aggregator) Date(t time.Time) int32 {
	d, _ := a.clock.dateSec(t)
	return d
}

// Add counts a hit. It returns false for a hit of a day before MinDate,
// which is not counted, and an error when the day's stored aggregate
// cannot be loaded.
func (a *Aggregator) Add(h *hit.Hit) (bool, error) {
	date, sec := a.clock.dateSec(h.Time)
	if date < a.opt.MinDate {
		return false, nil
	}
	host := h.Host
	if host == "" {
		host = a.opt.DefaultHost
	}
	host = lowerHost(host)
	d := a.last
	if d == nil || d.Date != date || a.opt.ByHost && d.Host != host && d.Host != HostKey(host) {
		k := DayKey{Date: date}
		if a.opt.ByHost {
			k.Host = HostKey(host)
		}
		var err error
		if d, err = a.day(k); err != nil {
			return false, err
		}
		a.last = d
	}
	var url string
	if a.cls.NeedsURL() {
		scheme := h.Scheme
		if scheme == "" {
			scheme = a.opt.DefaultScheme
		}
		url = h.URL(scheme, host)
	}
	f := a.cls.Facts(h, url)
	d.add(h, &f, host, sec, a.opt.Country, a.opt.ParamPaths)
	return true, nil
}

func (a *Aggregator) day(k DayKey) (*Day, error) {
	if d := a.days[k]; d != nil {
		return d, nil
	}
	if a.opt.ByHost && k.Host != OtherHosts {
		if a.hosts[k.Date] >= MaxHostsPerDay {
			return a.day(DayKey{Host: OtherHosts, Date: k.Date})
		}
		a.hosts[k.Date]++
	}
	var d *Day
	if a.opt.Load != nil {
		var err error
		if d, err = a.opt.Load(k); err != nil {
			return nil, err
		}
	}
	if d == nil {
		d = newDay(k.Date, a.opt.TableSize)
		d.Host = k.Host
	}
	d.init(a.opt.TableSize)
	a.days[k] = d
	return d, nil
}

// Days finishes the days that hits touched (see Day.finish) and returns
// them by date.
func (a *Aggregator) Days() []*Day {
	out := make([]*Day, 0, len(a.days))
	for _, d := range a.days {
		d.finish(a.opt.ParseUA, a.opt.TableSize)
		out = append(out, d)
	}
	slices.SortFunc(out, func(x, y *Day) int { return x.Key().compare(y.Key()) })
	return out
}

// lowerHost lower-cases a host without allocating when it already is.
func lowerHost(h string) string {
	for i := 0; i < len(h); i++ {
		if c := h[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

func (k DayKey) compare(o DayKey) int {
	if c := strings.Compare(k.Host, o.Host); c != 0 {
		return c
	}
	return cmp.Compare(k.Date, o.Date)
}
