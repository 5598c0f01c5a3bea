package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/trackless/trackless/internal/atomicfile"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/sink"
)

// StateVersion is the layout of a state directory this code reads.
const StateVersion = 1

// manifestName is the file that says what a state directory holds. It is
// replaced atomically, after the files it names are durable: a run that
// stops in the middle leaves the previous state whole.
const manifestName = "report-state.json"

// InputEntry is what the state records of an input it counted.
type InputEntry struct {
	Name  string `json:"name"`
	Size  int64  `json:"size"`
	Lines int64  `json:"lines"` // lines counted (the next run of a grown file goes on after them)
	// From: the lines up to here were counted as another input's, the
	// file whose content this one is (compressed or copied by a
	// rotation); its figures (Hits, Malformed, Excluded) are of the lines
	// after.
	From      int64            `json:"from,omitempty"`
	Hits      int64            `json:"hits"`
	Malformed map[string]int64 `json:"malformed,omitempty"`
	Excluded  int64            `json:"excluded,omitempty"` // hits left out by the filters or --keep-days
	Done      bool             `json:"done"`
	Failed    string           `json:"failed,omitempty"`
	LastDate  string           `json:"last_date,omitempty"` // of its latest hit
	Counted   time.Time        `json:"counted"`
	// Fingerprint and FingerprintLen are those of the file's first bytes
	// (input.Identity), to tell it from another file that reuses its
	// inode; empty for objects and stdin.
	Fingerprint    string `json:"fingerprint,omitempty"`
	FingerprintLen int    `json:"fingerprint_len,omitempty"`
	// Mark is where a line at or before Lines ends in the file
	// (input.Mark): the next run reads on from there, not from the start.
	Mark *input.Mark `json:"mark,omitempty"`
}

type manifest struct {
	Version    int                    `json:"version"`
	Generation int64                  `json:"generation"`
	TableSize  int                    `json:"table_size"`
	Days       map[string]int64       `json:"days"` // date → generation of its files
	Inputs     map[string]*InputEntry `json:"inputs"`
}

// State is a report state directory: per-day aggregates (a summary and the
// day's visitors, zstd-compressed) and the inputs already counted. One
// process at a time holds it.
type State struct {
	dir  string
	lock *os.File
	m    manifest
}

// OpenState opens or creates a state directory. tableSize is recorded on
// creation; a state made with another size keeps its own. A state another
// process holds is an error.
func OpenState(dir string, tableSize int) (*State, error) {
	return openState(nil, dir, tableSize)
}

// OpenStateWait is OpenState, but waits while another process holds the
// state, until ctx ends.
func OpenStateWait(ctx context.Context, dir string, tableSize int) (*State, error) {
	return openState(ctx, dir, tableSize)
}

func openState(ctx context.Context, dir string, tableSize int) (*State, error) {
	if err := os.MkdirAll(filepath.Join(dir, "days"), 0o700); err != nil {
		return nil, fmt.Errorf("report state: %w", err)
	}
	var lock *os.File
	var err error
	if ctx == nil {
		lock, err = ledger.LockDir(dir)
	} else {
		lock, err = ledger.LockDirWait(ctx, dir)
	}
	if err != nil {
		return nil, err
	}
	// Holding the lock: temporary files are those of a run killed while
	// writing (days/ is swept below).
	if _, err := atomicfile.RemoveTemps(dir); err != nil {
		lock.Close()
		return nil, fmt.Errorf("report state %s: %w", dir, err)
	}
	s := &State{dir: dir, lock: lock}
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.m = manifest{Version: StateVersion, TableSize: tableSize, Days: map[string]int64{}, Inputs: map[string]*InputEntry{}}
	case err != nil:
		lock.Close()
		return nil, fmt.Errorf("report state: %w", err)
	default:
		if err := json.Unmarshal(data, &s.m); err != nil {
			lock.Close()
			return nil, fmt.Errorf("report state %s: %w", filepath.Join(dir, manifestName), err)
		}
		if s.m.Version != StateVersion {
			lock.Close()
			return nil, fmt.Errorf("report state %s has layout version %d; this trackless reads version %d", dir, s.m.Version, StateVersion)
		}
		if s.m.Days == nil {
			s.m.Days = map[string]int64{}
		}
		if s.m.Inputs == nil {
			s.m.Inputs = map[string]*InputEntry{}
		}
	}
	s.sweep()
	return s, nil
}

// StateExists reports whether dir holds a report state (something was
// counted into it once).
func StateExists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, manifestName))
	return err == nil
}

// Dir is the state directory.
func (s *State) Dir() string { return s.dir }

// TableSize is the capacity of the state's tables.
func (s *State) TableSize() int { return s.m.TableSize }

// Close releases the directory.
func (s *State) Close() error { return s.lock.Close() }

// Input returns the entry of an input key, or nil.
func (s *State) Input(key string) *InputEntry { return s.m.Inputs[key] }

// Inputs returns the entries of every input counted (not the aliases
// under which a plain file's entry is also recorded: AliasPrefix).
func (s *State) Inputs() map[string]*InputEntry {
	out := make(map[string]*InputEntry, len(s.m.Inputs))
	for k, e := range s.m.Inputs {
		if !strings.HasPrefix(k, AliasPrefix) {
			out[k] = e
		}
	}
	return out
}

// AliasPrefix starts the keys under which a plain file's entry is also
// recorded, its content's (input.Identity.ContentKey): the file compressed
// or copied by a rotation is known by them.
const AliasPrefix = sink.AliasPrefix

// Dates returns the dates the state holds, in order.
func (s *State) Dates() []int32 {
	var out []int32
	for k := range s.m.Days {
		if t, err := time.Parse(time.DateOnly, k); err == nil {
			out = append(out, DateOf(t))
		}
	}
	slices.Sort(out)
	return out
}

func (s *State) file(date string, gen int64, kind string) string {
	return filepath.Join(s.dir, "days", date+"."+strconv.FormatInt(gen, 10)+"."+kind+".zst")
}

// sweep removes day files the manifest does not name: those of a run that
// stopped before its manifest was written, and temporary files.
func (s *State) sweep() {
	ents, _ := os.ReadDir(filepath.Join(s.dir, "days"))
	for _, e := range ents {
		parts := strings.Split(e.Name(), ".")
		if len(parts) == 4 {
			if gen, ok := s.m.Days[parts[0]]; ok && strconv.FormatInt(gen, 10) == parts[1] {
				continue
			}
		}
		os.Remove(filepath.Join(s.dir, "days", e.Name()))
	}
}

// Load returns the stored aggregate of a date with its visitors, or nil.
func (s *State) Load(date int32) (*Day, error) {
	key := DayString(date)
	gen, ok := s.m.Days[key]
	if !ok {
		return nil, nil
	}
	d, err := s.summary(key, gen)
	if err != nil {
		return nil, err
	}
	p := s.file(key, gen, "visitors")
	data, err := readZstd(p)
	if err != nil {
		return nil, err
	}
	if d.vis, err = decodeVisitors(data); err != nil {
		return nil, fmt.Errorf("report state %s: %w", p, err)
	}
	return d, nil
}

// Summary returns the stored aggregate of a date without its visitors
// (enough to render), or nil.
func (s *State) Summary(date int32) (*Day, error) {
	key := DayString(date)
	gen, ok := s.m.Days[key]
	if !ok {
		return nil, nil
	}
	return s.summary(key, gen)
}

func (s *State) summary(key string, gen int64) (*Day, error) {
	p := s.file(key, gen, "summary")
	data, err := readZstd(p)
	if err != nil {
		return nil, err
	}
	d := new(Day)
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(d); err != nil {
		return nil, fmt.Errorf("report state %s: %w", p, err)
	}
	return d, nil
}

// Commit stores the days given (finished: see Aggregator.Days) and the
// input entries, drops the days before minDate and the inputs whose hits
// all were before it, and writes the manifest last.
func (s *State) Commit(days []*Day, inputs map[string]*InputEntry, minDate int32) error {
	gen := s.m.Generation + 1
	next := manifest{Version: StateVersion, Generation: gen, TableSize: s.m.TableSize, Days: map[string]int64{}, Inputs: map[string]*InputEntry{}}
	for k, v := range s.m.Days {
		next.Days[k] = v
	}
	for k, v := range s.m.Inputs {
		next.Inputs[k] = v
	}
	for k, v := range inputs {
		if v == nil { // recorded under another key now
			delete(next.Inputs, k)
			continue
		}
		next.Inputs[k] = v
	}
	for _, d := range days {
		key := DayString(d.Date)
		var sum bytes.Buffer
		if err := gob.NewEncoder(&sum).Encode(d); err != nil {
			return fmt.Errorf("report state: %w", err)
		}
		if err := writeZstd(s.file(key, gen, "summary"), sum.Bytes()); err != nil {
			return err
		}
		if err := writeZstd(s.file(key, gen, "visitors"), encodeVisitors(d.vis)); err != nil {
			return err
		}
		next.Days[key] = gen
	}
	if minDate > 0 {
		cut := DayString(minDate)
		for k := range next.Days {
			if k < cut {
				delete(next.Days, k)
			}
		}
		for k, e := range next.Inputs {
			if e.LastDate != "" && e.LastDate < cut {
				delete(next.Inputs, k)
			}
		}
	}
	data, err := json.MarshalIndent(next, "", " ")
	if err != nil {
		return fmt.Errorf("report state: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(s.dir, manifestName), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("report state: %w", err)
	}
	s.m = next
	s.sweep()
	return nil
}

func readZstd(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("report state: %w", err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("report state %s: %w", p, err)
	}
	defer zr.Close()
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("report state %s: %w", p, err)
	}
	return data, nil
}

func writeZstd(p string, data []byte) error {
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return err
	}
	zw.Write(data)
	if err := zw.Close(); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("report state: %w", err)
	}
	return nil
}

// The visitors file: "TLV1", the user agents, what was said of each (three
// strings each: browser, OS, device; empty when not asked yet) and the
// entry pages (each list a count and length-prefixed strings), then the visitors (a count, then per
// visitor its id, hours, actions, user agent, country and visits).
const visitorsMagic = "TLV1"

func encodeVisitors(s *visitorSet) []byte {
	var b []byte
	b = append(b, visitorsMagic...)
	putStrings := func(ss []string) {
		b = binary.AppendUvarint(b, uint64(len(ss)))
		for _, x := range ss {
			b = binary.AppendUvarint(b, uint64(len(x)))
			b = append(b, x...)
		}
	}
	putStrings(s.uas)
	kinds := make([]string, 0, 3*len(s.uas))
	for i := range s.uas {
		var k [3]string
		if i < len(s.uaKind) {
			k = s.uaKind[i]
		}
		kinds = append(kinds, k[:]...)
	}
	putStrings(kinds)
	putStrings(s.pages)
	ids := make([]uint64, 0, len(s.m))
	for id := range s.m {
		ids = append(ids, id)
	}
	slices.Sort(ids) // the same state gives the same bytes
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		v := s.m[id]
		b = binary.LittleEndian.AppendUint64(b, id)
		b = binary.AppendUvarint(b, uint64(v.hours))
		b = binary.AppendUvarint(b, uint64(v.actions))
		b = binary.AppendUvarint(b, uint64(v.ua))
		b = append(b, v.country[:]...)
		b = binary.AppendUvarint(b, uint64(v.count()))
		v.visits(func(x visit) {
			b = binary.AppendUvarint(b, uint64(x.start))
			b = binary.AppendUvarint(b, uint64(x.end))
			b = binary.AppendUvarint(b, uint64(x.entry))
		})
	}
	return b
}

func decodeVisitors(data []byte) (*visitorSet, error) {
	if !bytes.HasPrefix(data, []byte(visitorsMagic)) {
		return nil, errors.New("not a visitors file")
	}
	r := bufio.NewReader(bytes.NewReader(data[len(visitorsMagic):]))
	var err error
	num := func() uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = binary.ReadUvarint(r)
		return v
	}
	getStrings := func() []string {
		n := num()
		if err != nil || n > uint64(len(data)) {
			err = errors.New("truncated")
			return nil
		}
		out := make([]string, 0, n)
		for range n {
			l := num()
			if err != nil || l > uint64(len(data)) {
				err = errors.New("truncated")
				return nil
			}
			buf := make([]byte, l)
			if _, err = io.ReadFull(r, buf); err != nil {
				return nil
			}
			out = append(out, string(buf))
		}
		return out
	}
	s := newVisitorSet()
	s.uas = getStrings()
	kinds := getStrings()
	if len(kinds) != 3*len(s.uas) {
		return nil, errors.New("bad user-agent kinds")
	}
	for i := range s.uas {
		s.uaKind = append(s.uaKind, [3]string{kinds[3*i], kinds[3*i+1], kinds[3*i+2]})
	}
	s.pages = getStrings()
	for i, x := range s.uas {
		s.uaIdx[x] = uint32(i)
	}
	for i, x := range s.pages {
		s.pageIdx[x] = uint32(i)
	}
	n := num()
	if err != nil || n > uint64(len(data)) {
		return nil, errors.New("truncated")
	}
	for range n {
		var id [8]byte
		if _, err = io.ReadFull(r, id[:]); err != nil {
			return nil, fmt.Errorf("truncated: %w", err)
		}
		v := &visitor{hours: uint32(num()), actions: uint32(num()), ua: uint32(num())}
		if _, err = io.ReadFull(r, v.country[:]); err != nil {
			return nil, fmt.Errorf("truncated: %w", err)
		}
		nv := num()
		for j := uint64(0); j < nv && err == nil; j++ {
			x := visit{start: uint32(num()), end: uint32(num()), entry: uint32(num())}
			if int(x.entry) >= len(s.pages) || x.start >= 86400 {
				return nil, errors.New("bad visit")
			}
			if j == 0 {
				v.first = x
			} else {
				v.more = append(v.more, x)
			}
		}
		if err != nil || nv == 0 || int(v.ua) >= len(s.uas) {
			return nil, errors.New("bad visitor")
		}
		s.m[binary.LittleEndian.Uint64(id[:])] = v
	}
	return s, nil
}
