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
	seen map[uint64]seenAt // id's hash → where it was seen
	ring []uint64          // ids in the order seen, to forget the oldest
	next int
}

// seenAt is where an id was seen: the input's key (hashed) and the line.
type seenAt struct {
	key  uint64
	line int64
}

// NewDedup returns an empty Dedup.
func NewDedup() *Dedup {
	return &Dedup{seed: maphash.MakeSeed(), seen: map[uint64]seenAt{}}
}

// Forget forgets the ids seen in the input key: its lines are numbered
// anew (a shard read on after records that were given up on), so a line
// number no longer says which record an id was seen on.
func (d *Dedup) Forget(key string) {
	k := maphash.String(d.seed, key)
	d.mu.Lock()
	defer d.mu.Unlock()
	for h, at := range d.seen {
		if at.key == k {
			delete(d.seen, h)
		}
	}
}

// Duplicate reports whether id was seen on another line than line of
// the input key, and remembers it otherwise.
func (d *Dedup) Duplicate(id, key string, line int64) bool {
	h := maphash.String(d.seed, id)
	where := seenAt{maphash.String(d.seed, key), line}
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
