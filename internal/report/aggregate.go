package report

import (
	"slices"
	"strings"

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
	// Load returns the stored aggregate of a date, or nil for none. It is
	// called once per date, when a hit of that date first comes.
	Load func(date int32) (*Day, error)
	// MinDate: hits of earlier days are not counted (Add returns false).
	MinDate int32
}

// Aggregator counts hits into days. It is not safe for concurrent use.
type Aggregator struct {
	opt  Options
	cls  *classify.Classifier
	days map[int32]*Day
	last *Day
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
	return &Aggregator{opt: opt, cls: cls, days: map[int32]*Day{}}, nil
}

// Add counts a hit. It returns false for a hit of a day before MinDate,
// which is not counted, and an error when the day's stored aggregate
// cannot be loaded.
func (a *Aggregator) Add(h *hit.Hit) (bool, error) {
	date := DateOf(h.Time)
	if date < a.opt.MinDate {
		return false, nil
	}
	d := a.last
	if d == nil || d.Date != date {
		var err error
		if d, err = a.day(date); err != nil {
			return false, err
		}
		a.last = d
	}
	host := h.Host
	if host == "" {
		host = a.opt.DefaultHost
	}
	host = lowerHost(host)
	var url string
	if a.cls.NeedsURL() {
		scheme := h.Scheme
		if scheme == "" {
			scheme = a.opt.DefaultScheme
		}
		url = h.URL(scheme, host)
	}
	f := a.cls.Facts(h, url)
	d.add(h, &f, host, a.opt.Country)
	return true, nil
}

func (a *Aggregator) day(date int32) (*Day, error) {
	if d := a.days[date]; d != nil {
		return d, nil
	}
	var d *Day
	if a.opt.Load != nil {
		var err error
		if d, err = a.opt.Load(date); err != nil {
			return nil, err
		}
	}
	if d == nil {
		d = newDay(date, a.opt.TableSize)
	}
	a.days[date] = d
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
	slices.SortFunc(out, func(x, y *Day) int { return int(x.Date - y.Date) })
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
