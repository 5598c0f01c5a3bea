package report

import (
	"encoding/binary"
	"math/bits"
)

// hashSet is a set of 32-bit hashes: open addressing with linear probing
// in one slice, at most half full. It is smaller and faster than a map of
// the same hashes (one cache line per lookup, no control bytes): a day's
// visitor and file pairs (Day.fileVis) are about a million for a million
// hits, 8 MB here. 32 bits suffice for what it counts (a visitor once per
// file): with n pairs in a day, a new pair is taken for one seen with a
// probability of n/2³², 0.02 % for a million.
//
// It holds at most maxHashSlots slots (32 MiB), filled to three quarters:
// past that it is full, and a hash it does not hold is taken as new
// without being added (a visitor may then count more than once per
// file; Full says so).
type hashSet struct {
	slots []uint32 // 0: empty (the hash 0 is stored as 1)
	n     int
	// Full: the set stopped adding (see above).
	Full bool
}

// maxHashSlots bounds a hashSet's memory.
const maxHashSlots = 1 << 23

// add adds h and reports whether it was new.
func (s *hashSet) add(h uint32) bool {
	if h == 0 {
		h = 1
	}
	if 2*(s.n+1) > len(s.slots) {
		if len(s.slots) < maxHashSlots {
			s.grow()
		} else if 4*(s.n+1) > 3*len(s.slots) {
			s.Full = true
			return !s.has(h)
		}
	}
	i, held := s.find(h)
	if held {
		return false
	}
	s.slots[i] = h
	s.n++
	return true
}

// has reports whether the set holds h.
func (s *hashSet) has(h uint32) bool {
	_, held := s.find(h)
	return held
}

// find returns the slot of h, or the empty slot where it would go.
func (s *hashSet) find(h uint32) (uint32, bool) {
	mask := uint32(len(s.slots) - 1)
	for i := (h * 0x9e3779b1) & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return i, true
		case 0:
			return i, false
		}
	}
}

func (s *hashSet) grow() {
	old := s.slots
	s.slots = make([]uint32, max(1024, 2*len(old)))
	s.n = 0
	for _, h := range old {
		if h != 0 {
			s.add(h)
		}
	}
}

// len is the number of hashes in the set.
func (s *hashSet) len() int { return s.n }

// each calls f with every hash of the set (in no order).
func (s *hashSet) each(f func(uint32)) {
	for _, h := range s.slots {
		if h != 0 {
			f(h)
		}
	}
}

// pairHash hashes a visitor (IP address and user agent) with a file key,
// eight bytes at a time (a multiply-xorshift mix, stable across versions:
// the state keeps these hashes).
func pairHash(ip, ua string, key []byte) uint32 {
	h := uint64(0x9e3779b97f4a7c15)
	h = mixString(h, ip)
	h = mixString(h^0xff, ua)
	h = mixBytes(h^0xfe, key)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return uint32(h)
}

func mix(h, v uint64) uint64 {
	hi, lo := bits.Mul64(h^v, 0xbf58476d1ce4e5b9)
	return hi ^ lo
}

func mixString(h uint64, s string) uint64 {
	for len(s) >= 8 {
		h = mix(h, uint64(s[0])|uint64(s[1])<<8|uint64(s[2])<<16|uint64(s[3])<<24|uint64(s[4])<<32|uint64(s[5])<<40|uint64(s[6])<<48|uint64(s[7])<<56)
		s = s[8:]
	}
	var tail uint64
	for i := 0; i < len(s); i++ {
		tail |= uint64(s[i]) << (8 * i)
	}
	return mix(h, tail^uint64(len(s))<<59)
}

func mixBytes(h uint64, b []byte) uint64 {
	for len(b) >= 8 {
		h = mix(h, binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	var tail uint64
	for i := 0; i < len(b); i++ {
		tail |= uint64(b[i]) << (8 * i)
	}
	return mix(h, tail^uint64(len(b))<<59)
}
