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
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/zstd"

	"github.com/trackless/trackless/internal/input"
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
	Version    int   `json:"version"`
	Generation int64 `json:"generation"`
	TableSize  int   `json:"table_size"`
	// Timezone is the IANA name of the zone of the days ("" before it was
	// recorded: UTC).
	Timezone string `json:"timezone,omitempty"`
	// ByHost: each host's days are kept apart.
	ByHost bool `json:"by_host,omitempty"`
	// Rendered is when the report of the state was last published
	// (the Lambda's TRACKLESS_REPORT_OUT).
	Rendered time.Time              `json:"rendered,omitzero"`
	Days     map[string]int64       `json:"days"` // day (dayName) → generation of its files
	Inputs   map[string]*InputEntry `json:"inputs"`
}

// ErrStateMismatch marks a state that counts otherwise than asked (its
// zone, by host): the settings, not the state, are to change.
var ErrStateMismatch = errors.New("report state counts otherwise")

// mismatch is an error of ErrStateMismatch that says it all.
type mismatch struct{ msg string }

func (e *mismatch) Error() string        { return e.msg }
func (e *mismatch) Is(target error) bool { return target == ErrStateMismatch }

// StateOptions are what a new state records: how it counts. An existing
// state keeps its own; asking for another is an error (its days would mix
// two ways of counting).
type StateOptions struct {
	TableSize int
	// Timezone is the IANA name of the zone of the days; "" takes the
	// state's (UTC for a new state).
	Timezone string
	// ByHost keeps each host's days apart; false takes the state's.
	ByHost bool
}

// dayName is how the manifest names a day: its date, and for a day of one
// host "DATE/HOST".
func dayName(k DayKey, byHost bool) string {
	if !byHost {
		return DayString(k.Date)
	}
	return DayString(k.Date) + "/" + k.Host
}

func parseDayName(name string) (DayKey, bool) {
	date, host, _ := strings.Cut(name, "/")
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return DayKey{}, false
	}
	return DayKey{Host: host, Date: DateOf(t)}, true
}

// hostDir is the directory of a host's day files under days/.
func hostDir(host string) string {
	switch host {
	case NoHost:
		return "-none"
	case OtherHosts:
		return "-other"
	case InvalidHost:
		return "-invalid"
	}
	return host
}

// State is a report state directory: per-day aggregates (a summary and the
// day's visitors, zstd-compressed) and the inputs already counted. One
// process at a time holds it.
type State struct {
	st  store
	dir string // where, for messages
	m   manifest
	loc *time.Location
}

// OpenState opens or creates a state directory. A new one records opt; an
// existing one keeps its table size, and its zone and way of counting
// hosts must be those asked for (see StateOptions). A state another
// process holds is an error.
func OpenState(dir string, opt StateOptions) (*State, error) {
	return openState(nil, dir, opt)
}

// OpenStateWait is OpenState, but waits while another process holds the
// state, until ctx ends.
func OpenStateWait(ctx context.Context, dir string, opt StateOptions) (*State, error) {
	return openState(ctx, dir, opt)
}

func openState(ctx context.Context, dir string, opt StateOptions) (*State, error) {
	ds, err := openDirStore(ctx, dir)
	if err != nil {
		return nil, err
	}
	return newState(ds, opt)
}

// OpenStateS3 opens or creates a state under s3://bucket/prefix (see
// OpenState): the same files as a directory's, held with a claim (see
// s3Store). With a wait context, a state another process holds is waited
// for until it ends; with nil, it is an error at once. ctx is that of
// every access to the state until Close.
func OpenStateS3(ctx context.Context, client *s3.Client, bucket, prefix string, opt StateOptions, wait context.Context, log *slog.Logger) (*State, error) {
	ss, err := openS3Store(ctx, client, bucket, prefix, wait, log)
	if err != nil {
		return nil, err
	}
	return newState(ss, opt)
}

// newState reads the manifest of a store held, or starts one.
func newState(st store, opt StateOptions) (*State, error) {
	s := &State{st: st, dir: st.String()}
	data, err := st.read(manifestName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.m = manifest{Version: StateVersion, TableSize: opt.TableSize, Days: map[string]int64{}, Inputs: map[string]*InputEntry{}}
	case err != nil:
		st.close()
		return nil, err
	default:
		if err := json.Unmarshal(data, &s.m); err != nil {
			st.close()
			return nil, fmt.Errorf("report state %s: %s: %w", s.dir, manifestName, err)
		}
		if s.m.Version != StateVersion {
			st.close()
			return nil, fmt.Errorf("report state %s has layout version %d; this trackless reads version %d", s.dir, s.m.Version, StateVersion)
		}
		if s.m.Days == nil {
			s.m.Days = map[string]int64{}
		}
		if s.m.Inputs == nil {
			s.m.Inputs = map[string]*InputEntry{}
		}
	}
	if err := s.setup(opt); err != nil {
		st.close()
		return nil, err
	}
	s.sweep()
	return s, nil
}

// setup settles the zone and the way of counting hosts: the state's, or
// those asked for when it counted nothing yet.
func (s *State) setup(opt StateOptions) error {
	zone := s.m.Timezone
	if zone == "" {
		zone = "UTC"
	}
	empty := len(s.m.Days) == 0
	opt.Timezone = CanonicalZone(opt.Timezone)
	if opt.Timezone != "" && opt.Timezone != zone {
		if !empty {
			return &mismatch{fmt.Sprintf("report state %s counts its days and hours in %s, not %s: to count in %s, start a new state (another directory, or remove this one) and read the logs again; without --timezone (TRACKLESS_TIMEZONE), the state's zone is used", s.dir, zone, opt.Timezone, opt.Timezone)}
		}
		zone = opt.Timezone
	}
	if opt.ByHost && !s.m.ByHost {
		if !empty {
			return &mismatch{fmt.Sprintf("report state %s counts every host together: to count each host apart (--by-host, --host), start a new state (another directory, or remove this one) and read the logs again", s.dir)}
		}
		s.m.ByHost = true
	}
	loc, err := LoadZone(zone)
	if err != nil {
		return fmt.Errorf("report state %s: %w", s.dir, err)
	}
	s.m.Timezone, s.loc = zone, loc
	return nil
}

// Rendered is when SetRendered last said the report was published.
func (s *State) Rendered() time.Time { return s.m.Rendered }

// SetRendered records when the report of the state was published.
func (s *State) SetRendered(t time.Time) error {
	next := s.m
	next.Rendered = t.UTC()
	return s.writeManifest(next)
}

// writeManifest replaces the manifest by next (see store.writeManifest),
// which is then the state's.
func (s *State) writeManifest(next manifest) error {
	data, err := json.MarshalIndent(next, "", " ")
	if err != nil {
		return fmt.Errorf("report state: %w", err)
	}
	if err := s.st.writeManifest(manifestName, append(data, '\n')); err != nil {
		return err
	}
	s.m = next
	return nil
}

// Zone is the time zone of the state's days.
func (s *State) Zone() *time.Location { return s.loc }

// ByHost reports whether the state keeps each host's days apart.
func (s *State) ByHost() bool { return s.m.ByHost }

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

// Close releases the state.
func (s *State) Close() error { return s.st.close() }

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

// Days returns the days the state holds, by host and date.
func (s *State) Days() []DayKey {
	var out []DayKey
	for name := range s.m.Days {
		if k, ok := parseDayName(name); ok {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, DayKey.compare)
	return out
}

// Dates returns the dates the state holds (of any host), in order.
func (s *State) Dates() []int32 {
	var out []int32
	for _, k := range s.Days() {
		out = append(out, k.Date)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// file is the name of a day's file of a generation; kind is summary,
// visitors or files. A host's days are in a directory of their own.
func (s *State) file(k DayKey, gen int64, kind string) string {
	name := DayString(k.Date) + "." + strconv.FormatInt(gen, 10) + "." + kind + ".zst"
	if !s.m.ByHost {
		return "days/" + name
	}
	return "days/" + hostDir(k.Host) + "/" + name
}

// sweep removes day files the manifest does not name: those of a run that
// stopped before its manifest was written, and temporary files.
func (s *State) sweep() {
	keep := map[string]bool{}
	for name, gen := range s.m.Days {
		if k, ok := parseDayName(name); ok {
			for _, kind := range []string{"summary", "visitors", "files"} {
				keep[s.file(k, gen, kind)] = true
			}
		}
	}
	names, _ := s.st.list("days")
	for _, n := range names {
		if !keep[n] {
			s.st.remove(n)
		}
	}
}

// Load returns the stored aggregate of a day with its visitors, or nil.
func (s *State) Load(k DayKey) (*Day, error) {
	gen, ok := s.m.Days[dayName(k, s.m.ByHost)]
	if !ok {
		return nil, nil
	}
	d, err := s.summary(k, gen)
	if err != nil {
		return nil, err
	}
	p := s.file(k, gen, "visitors")
	data, err := s.readZstd(p)
	if err != nil {
		return nil, err
	}
	if d.vis, err = decodeVisitors(data); err != nil {
		return nil, fmt.Errorf("report state %s: %w", p, err)
	}
	// The visitors of each file (a day of an earlier version has none:
	// its files' visitors count again).
	p = s.file(k, gen, "files")
	if data, err = s.readZstd(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if d.fileVis, err = decodeHashes(data); err != nil {
		return nil, fmt.Errorf("report state %s: %w", p, err)
	}
	return d, nil
}

// Summary returns the stored aggregate of a day without its visitors
// (enough to render), or nil.
func (s *State) Summary(k DayKey) (*Day, error) {
	gen, ok := s.m.Days[dayName(k, s.m.ByHost)]
	if !ok {
		return nil, nil
	}
	return s.summary(k, gen)
}

func (s *State) summary(k DayKey, gen int64) (*Day, error) {
	p := s.file(k, gen, "summary")
	data, err := s.readZstd(p)
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
	next := s.m
	next.Generation, next.Days, next.Inputs = gen, map[string]int64{}, map[string]*InputEntry{}
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
		k := d.Key()
		if d.Host != "" && !s.m.ByHost {
			return fmt.Errorf("report state %s: a day of the host %q in a state of every host", s.dir, d.Host)
		}
		var sum bytes.Buffer
		if err := gob.NewEncoder(&sum).Encode(d); err != nil {
			return fmt.Errorf("report state: %w", err)
		}
		for _, f := range []struct {
			kind string
			data []byte
		}{{"summary", sum.Bytes()}, {"visitors", encodeVisitors(d.vis)}, {"files", encodeHashes(d.fileVis)}} {
			if err := s.writeZstd(s.file(k, gen, f.kind), f.data); err != nil {
				return err
			}
		}
		next.Days[dayName(k, s.m.ByHost)] = gen
	}
	if minDate > 0 {
		cut := DayString(minDate)
		for name := range next.Days {
			if k, ok := parseDayName(name); !ok || k.Date < minDate {
				delete(next.Days, name)
			}
		}
		for k, e := range next.Inputs {
			if e.LastDate != "" && e.LastDate < cut {
				delete(next.Inputs, k)
			}
		}
	}
	if err := s.writeManifest(next); err != nil {
		return err
	}
	s.sweep()
	return nil
}

func (s *State) readZstd(name string) ([]byte, error) {
	data, err := s.st.read(name)
	if err != nil {
		return nil, err
	}
	zr, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("report state %s: %s: %w", s.dir, name, err)
	}
	defer zr.Close()
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("report state %s: %s: %w", s.dir, name, err)
	}
	return out, nil
}

func (s *State) writeZstd(name string, data []byte) error {
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return err
	}
	zw.Write(data)
	if err := zw.Close(); err != nil {
		return err
	}
	return s.st.write(name, buf.Bytes())
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

// The files file: "TLF1", then the 32-bit hashes of Day.fileVis in
// order, each a varint of its difference from the one before.
const hashesMagic = "TLF1"

func encodeHashes(set *hashSet) []byte {
	hs := make([]uint32, 0, set.len())
	set.each(func(h uint32) { hs = append(hs, h) })
	slices.Sort(hs)
	b := append(make([]byte, 0, 4+3*len(hs)), hashesMagic...)
	var prev uint32
	for _, h := range hs {
		b = binary.AppendUvarint(b, uint64(h-prev))
		prev = h
	}
	return b
}

// decodeHashes reads what encodeHashes wrote; no data is an empty set.
func decodeHashes(data []byte) (*hashSet, error) {
	set := &hashSet{}
	if len(data) == 0 {
		return set, nil
	}
	if !bytes.HasPrefix(data, []byte(hashesMagic)) {
		return nil, errors.New("not a files file")
	}
	data = data[len(hashesMagic):]
	var prev uint32
	for len(data) > 0 {
		d, n := binary.Uvarint(data)
		if n <= 0 || d > 1<<32-1 {
			return nil, errors.New("truncated")
		}
		prev += uint32(d)
		set.add(prev)
		data = data[n:]
	}
	return set, nil
}
