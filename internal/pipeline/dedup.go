package pipeline

import (
	"hash/maphash"
	"sync"
)

// DedupWindow is how many request ids a Dedup remembers: at CloudFront's
// real-time record sizes (some hundred bytes), minutes of a busy shard.
const DedupWindow = 1 << 20

// Dedup drops the hits a stream's producer wrote twice (CloudFront's
// real-time logs are delivered to Kinesis at least once): a hit whose
// request id (x-edge-request-id) was seen on another line of a stream in
// the last DedupWindow ids is a duplicate. The same line read again (a
// run after an outage, a follow round) is not one. It remembers ids for
// the life of the process (carry one Dedup from round to round): a
// duplicate on both sides of a restart is not told. Safe for concurrent
// use.
type Dedup struct {
	mu   sync.Mutex
	seed maphash.Seed
	seen map[uint64]uint64 // id's hash → where it was seen (input, line)
	ring []uint64          // ids in the order seen, to forget the oldest
	next int
}

// NewDedup returns an empty Dedup.
func NewDedup() *Dedup {
	return &Dedup{seed: maphash.MakeSeed(), seen: map[uint64]uint64{}}
}

// Duplicate reports whether id was seen on another line than line of
// the input key, and remembers it otherwise.
func (d *Dedup) Duplicate(id, key string, line int64) bool {
	h := maphash.String(d.seed, id)
	var w maphash.Hash
	w.SetSeed(d.seed)
	w.WriteString(key)
	where := w.Sum64() ^ uint64(line)*0x9e3779b97f4a7c15
	d.mu.Lock()
	defer d.mu.Unlock()
	if at, ok := d.seen[h]; ok {
		return at != where
	}
	if len(d.ring) < DedupWindow {
		d.ring = append(d.ring, h)
	} else {
		delete(d.seen, d.ring[d.next])
		d.ring[d.next] = h
		d.next = (d.next + 1) % DedupWindow
	}
	d.seen[h] = where
	return false
}
