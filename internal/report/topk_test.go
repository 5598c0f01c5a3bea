package report

import (
	"encoding/json"
	"fmt"
	"testing"
)

func mustJSON(v any) string {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestTableBounds checks Space-Saving's guarantees on a skewed stream far
// larger than the table: true counts lie within [Count-Err, Count], and
// every key over N/Cap is kept.
func TestTableBounds(t *testing.T) {
	const keys, cap = 5000, 100
	truth := map[string]int64{}
	tab := NewTable(cap)
	var n int64
	for i := 0; i < 200000; i++ {
		k := fmt.Sprintf("/k%d", (i*i+7*i)%keys%(1+i%keys)) // skewed toward small keys
		truth[k]++
		tab.Add(k, 1, 0, 0)
		n++
	}
	if !tab.Full || tab.Len() != cap {
		t.Fatalf("full=%v len=%d", tab.Full, tab.Len())
	}
	kept := map[string]bool{}
	for _, r := range tab.Rows {
		kept[r.Key] = true
		if tv := truth[r.Key]; tv > r.Count || tv < r.Count-r.Err {
			t.Errorf("%s: true %d outside [%d, %d]", r.Key, tv, r.Count-r.Err, r.Count)
		}
	}
	for k, v := range truth {
		if v > n/cap && !kept[k] {
			t.Errorf("%s counts %d > N/cap = %d but was dropped", k, v, n/cap)
		}
	}
	// Merging two halves keeps the bounds.
	a, b := NewTable(cap), NewTable(cap)
	truth = map[string]int64{}
	for i := 0; i < 100000; i++ {
		k := fmt.Sprintf("/k%d", (i*31)%(1+i%keys))
		truth[k]++
		if i%2 == 0 {
			a.Add(k, 1, 0, 0)
		} else {
			b.Add(k, 1, 0, 0)
		}
	}
	a.Merge(b)
	for _, r := range a.Rows {
		if tv := truth[r.Key]; tv > r.Count || tv < r.Count-r.Err {
			t.Errorf("merged %s: true %d outside [%d, %d]", r.Key, tv, r.Count-r.Err, r.Count)
		}
	}
}

// TestTableExact: below capacity, counts are exact and independent of order.
func TestTableExact(t *testing.T) {
	a, b := NewTable(10), NewTable(10)
	keys := []string{"a", "b", "a", "c", "a", "b", "d"}
	for i := range keys {
		a.Add(keys[i], 1, 2, 3)
		b.Add(keys[len(keys)-1-i], 1, 2, 3)
	}
	if mustJSON(a.Sorted()) != mustJSON(b.Sorted()) || a.Full {
		t.Errorf("%v vs %v", a.Sorted(), b.Sorted())
	}
	if r := a.Sorted()[0]; r.Key != "a" || r.Count != 3 || r.A != 6 || r.B != 9 || r.Err != 0 {
		t.Errorf("first row %+v", r)
	}
}
