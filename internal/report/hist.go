package report

import (
	"slices"
	"time"
)

// Hist is a histogram of durations by millisecond: exact below 10 s for
// logs that give milliseconds (CloudFront, nginx), and to three significant
// digits above. Keys are milliseconds; a sparse map stays small (a few
// thousand keys at most).
type Hist map[int64]int64

// histKey rounds a duration to its bucket, in milliseconds.
func histKey(d time.Duration) int64 {
	ms := d.Milliseconds()
	if ms < 10000 {
		return ms
	}
	p := int64(1)
	for ms/p >= 1000 {
		p *= 10
	}
	return ms / p * p
}

// Add counts one duration; negative durations (not logged) are ignored.
func (h Hist) Add(d time.Duration) {
	if d < 0 {
		return
	}
	h[histKey(d)]++
}

// Merge adds o to h.
func (h Hist) Merge(o Hist) {
	for k, v := range o {
		h[k] += v
	}
}

// Percentiles returns the count and the given quantiles (0 < q <= 1) in
// milliseconds: the smallest bucket at or below which at least q of the
// values lie ("nearest rank").
func (h Hist) Percentiles(qs ...float64) (n int64, out []int64) {
	keys := make([]int64, 0, len(h))
	for k, v := range h {
		keys = append(keys, k)
		n += v
	}
	out = make([]int64, len(qs))
	if n == 0 {
		return 0, out
	}
	slices.Sort(keys)
	for i, q := range qs {
		rank := int64(q*float64(n) + 0.999999)
		rank = min(max(rank, 1), n)
		var c int64
		for _, k := range keys {
			c += h[k]
			if c >= rank {
				out[i] = k
				break
			}
		}
	}
	return n, out
}
