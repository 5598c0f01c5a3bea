package report

import (
	"cmp"
	"slices"
	"strings"
)

// Table counts string keys in bounded memory with Space-Saving (Metwally,
// Agrawal and El Abbadi, "Efficient computation of frequent and top-k
// elements in data streams", 2005).
//
// While a table has seen at most Cap distinct keys, every count is exact.
// Past that, a new key replaces the row of the smallest count m, and starts
// at m+n with an error of m: each row's Count is then an upper bound of the
// key's true count and Count-Err a lower bound, and every key whose true
// count exceeds N/Cap (N: the sum of all counts) is guaranteed to be in the
// table. A and B, the row's secondary sums (bytes, cache hits), count only
// what came since the key entered the table: they are lower bounds.
//
// Tables of different days merge (Merge) with the same guarantees: the
// error of a key absent from a full table is that table's smallest count.
type Table struct {
	Cap  int
	Rows []Row // a min-heap by Count while adding; see Sorted
	// Full records that the table dropped a key at least once: its counts
	// may be approximate and Floor bounds what a key missing from it counts.
	Full bool

	// index maps a key to the id of its row, pos an id to the row's place
	// in the heap: moving a row in the heap changes pos, never the map.
	index map[string]int32
	pos   []int32
}

// Row is one key of a Table.
type Row struct {
	Key   string
	Count int64 // the key's count, an upper bound once the table is Full
	Err   int64 // Count-Err is a lower bound of the true count
	A, B  int64 // secondary sums (lower bounds once the table is Full)

	id   int32  // its slot of Table.pos
	hash uint64 // of Key: the heap's order among equal counts
}

// NewTable returns an empty table of capacity cap (at least 1).
func NewTable(cap int) *Table {
	return &Table{Cap: max(cap, 1)}
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.Rows) }

// Floor is what a key absent from the table may have counted: 0 while the
// table never dropped a key, else its smallest count.
func (t *Table) Floor() int64 {
	if !t.Full || len(t.Rows) == 0 {
		return 0
	}
	return t.Rows[0].Count
}

// reindex rebuilds the index of rows set whole (decoded, merged).
func (t *Table) reindex() {
	t.index = make(map[string]int32, len(t.Rows))
	t.pos = make([]int32, len(t.Rows))
	for i := range t.Rows {
		r := &t.Rows[i]
		r.id, r.hash = int32(i), keyHash(r.Key)
		t.index[r.Key] = int32(i)
		t.pos[i] = int32(i)
	}
}

// keyHash is FNV-1a of a key: a deterministic order among equal counts
// that costs no string comparison.
func keyHash(key string) uint64 {
	x := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		x = (x ^ uint64(key[i])) * 1099511628211
	}
	return x
}

// Add counts n occurrences of key, with secondary sums a and b. The key is
// copied when it enters the table (callers may pass substrings of a line).
func (t *Table) Add(key string, n, a, b int64) {
	if t.index == nil {
		t.reindex()
	}
	if id, ok := t.index[key]; ok {
		t.bump(id, n, a, b)
		return
	}
	t.insert(strings.Clone(key), n, a, b)
}

// bump adds to the row of id.
func (t *Table) bump(id int32, n, a, b int64) {
	i := t.pos[id]
	r := &t.Rows[i]
	r.Count += n
	r.A += a
	r.B += b
	t.down(int(i))
}

// insert adds a key the table does not hold (a string of its own).
func (t *Table) insert(key string, n, a, b int64) {
	h := keyHash(key)
	if len(t.Rows) < t.Cap {
		id := int32(len(t.Rows))
		t.Rows = append(t.Rows, Row{Key: key, Count: n, A: a, B: b, id: id, hash: h})
		t.pos = append(t.pos, id)
		t.index[key] = id
		t.up(len(t.Rows) - 1)
		return
	}
	t.Full = true
	r := &t.Rows[0]
	delete(t.index, r.Key)
	m, id := r.Count, r.id
	*r = Row{Key: key, Count: m + n, Err: m, A: a, B: b, id: id, hash: h}
	t.index[key] = id
	t.down(0)
}

// AddBytes is Add of the key in b, which allocates only when the key
// enters the table.
func (t *Table) AddBytes(b []byte, n, x, y int64) {
	if t.index == nil {
		t.reindex()
	}
	if id, ok := t.index[string(b)]; ok {
		t.bump(id, n, x, y)
		return
	}
	t.insert(string(b), n, x, y)
}

func (t *Table) less(i, j int) bool {
	a, b := &t.Rows[i], &t.Rows[j]
	if a.Count != b.Count {
		return a.Count < b.Count
	}
	// Among equal counts, by the key's hash (then the key): deterministic.
	if a.hash != b.hash {
		return a.hash > b.hash
	}
	return a.Key > b.Key
}

func (t *Table) swap(i, j int) {
	t.Rows[i], t.Rows[j] = t.Rows[j], t.Rows[i]
	t.pos[t.Rows[i].id] = int32(i)
	t.pos[t.Rows[j].id] = int32(j)
}

func (t *Table) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !t.less(j, i) {
			break
		}
		t.swap(i, j)
		j = i
	}
}

func (t *Table) down(i int) {
	n := len(t.Rows)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && t.less(r, l) {
			j = r
		}
		if !t.less(j, i) {
			return
		}
		t.swap(i, j)
		i = j
	}
}

// Merge adds the rows of o to t, as if t had also counted o's stream. A key
// missing from one of two tables counts that table's Floor in its Count
// and its Err (it may have been dropped there). The result keeps t.Cap
// rows at most; the rows dropped raise its Floor.
func (t *Table) Merge(o *Table) {
	if o == nil || len(o.Rows) == 0 {
		return
	}
	tf, of := t.Floor(), o.Floor()
	m := make(map[string]Row, len(t.Rows)+len(o.Rows))
	for _, r := range t.Rows {
		r.Count += of
		r.Err += of
		m[r.Key] = r
	}
	for _, r := range o.Rows {
		if x, ok := m[r.Key]; ok {
			x.Count += r.Count - of
			x.Err += r.Err - of
			x.A += r.A
			x.B += r.B
			m[r.Key] = x
		} else {
			r.Count += tf
			r.Err += tf
			m[r.Key] = r
		}
	}
	rows := make([]Row, 0, len(m))
	for _, r := range m {
		rows = append(rows, r)
	}
	sortRows(rows)
	full := t.Full || o.Full
	if len(rows) > t.Cap {
		rows, full = rows[:t.Cap], true
	}
	t.Rows, t.Full = rows, full
	slices.Reverse(t.Rows) // back to a valid min-heap: ascending order is one
	t.reindex()
}

// Sorted returns the rows by count, largest first (ties by key). The table
// is unchanged.
func (t *Table) Sorted() []Row {
	rows := slices.Clone(t.Rows)
	sortRows(rows)
	return rows
}

func sortRows(rows []Row) {
	slices.SortFunc(rows, func(a, b Row) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// tableOf returns a table of exact counts that keeps the cap largest
// (ties by key); the others raise its Floor.
func tableOf(counts map[string]int64, cap int) *Table {
	rows := make([]Row, 0, len(counts))
	for k, n := range counts {
		rows = append(rows, Row{Key: k, Count: n})
	}
	sortRows(rows)
	t := NewTable(cap)
	if len(rows) > t.Cap {
		rows, t.Full = rows[:t.Cap], true
	}
	slices.Reverse(rows)
	t.Rows = rows
	t.reindex()
	return t
}
