package pipeline

import (
	"fmt"
	"testing"
)

// TestDedup: an id seen on another line is a duplicate, the same line
// read again is not, and the oldest ids are forgotten past the window.
func TestDedup(t *testing.T) {
	d := NewDedup()
	for _, c := range []struct {
		id, key string
		line    int64
		want    bool
	}{
		{"a", "k1", 1, false},
		{"a", "k1", 1, false}, // the same line read again (a run after an outage)
		{"a", "k1", 2, true},  // written twice
		{"a", "k2", 1, true},  // in another shard
		{"b", "k1", 2, false},
	} {
		if got := d.Duplicate(c.id, c.key, c.line); got != c.want {
			t.Errorf("Duplicate(%q, %q, %d) = %v", c.id, c.key, c.line, got)
		}
	}
	for i := range DedupWindow {
		d.Duplicate(fmt.Sprint("x", i), "k", int64(i+10))
	}
	if d.Duplicate("a", "k1", 99) {
		t.Error("an id past the window is still remembered")
	}
	if len(d.seen) != DedupWindow || len(d.ring) != DedupWindow {
		t.Errorf("remembers %d ids (ring %d), want %d", len(d.seen), len(d.ring), DedupWindow)
	}
	// An input numbered anew: its ids are forgotten, others' kept.
	d.Duplicate("c", "k3", 1)
	d.Forget("k")
	if d.Duplicate("x5", "k", 99) || !d.Duplicate("c", "k3", 2) {
		t.Error("Forget forgot the wrong ids")
	}
}
