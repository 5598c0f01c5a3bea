package report

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/s3test"
)

// TestStateRecordsHowItCounts: a state records its zone and whether it
// counts by host when it is made; it keeps them, and asking for another
// is ErrStateMismatch with what to do; a state of before the zone was
// recorded counts in UTC.
func TestStateRecordsHowItCounts(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenState(dir, StateOptions{TableSize: 100, Timezone: "Europe/Paris"})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := New(Options{Zone: st.Zone(), Load: st.Load})
	// 22:30 UTC on 2026-10-24 is 00:30 on the 25th in Paris.
	a.Add(&hit.Hit{Time: time.Date(2026, 10, 24, 22, 30, 0, 0, time.UTC), Status: 200, Path: "/", ClientIP: "192.0.2.1", UserAgent: "Mozilla/5.0"})
	if err := st.Commit(a.Days(), nil, 0); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st, err = OpenState(dir, StateOptions{}) // the state's own zone
	if err != nil {
		t.Fatal(err)
	}
	if st.Zone().String() != "Europe/Paris" || st.ByHost() {
		t.Errorf("zone %s, by host %v", st.Zone(), st.ByHost())
	}
	if ks := st.Days(); len(ks) != 1 || DayString(ks[0].Date) != "2026-10-25" {
		t.Errorf("days %v: want 2026-10-25 (Paris)", ks)
	}
	st.Close()
	for _, opt := range []StateOptions{{Timezone: "UTC"}, {ByHost: true}} {
		_, err := OpenState(dir, opt)
		if !errors.Is(err, ErrStateMismatch) || !strings.Contains(err.Error(), "start a new state") {
			t.Errorf("%+v: %v", opt, err)
		}
	}

	// A state of an earlier version: no zone recorded, UTC.
	old := t.TempDir()
	os.WriteFile(filepath.Join(old, manifestName), []byte(`{"version":1,"generation":1,"table_size":100,"days":{},"inputs":{}}`), 0o600)
	st, err = OpenState(old, StateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Zone() != time.UTC {
		t.Errorf("an old state: zone %s", st.Zone())
	}
	st.Close()
	// An empty state takes the zone asked for.
	if st, err = OpenState(old, StateOptions{Timezone: "Asia/Tokyo", ByHost: true}); err != nil {
		t.Fatal(err)
	}
	if st.Zone().String() != "Asia/Tokyo" || !st.ByHost() {
		t.Errorf("an empty state: zone %s, by host %v", st.Zone(), st.ByHost())
	}
	st.Close()
}

// TestStateByHost: a state counted by host keeps each host's days in a
// directory of its own; a run after adds to the right host's day, and a
// made-up host is one InvalidHost day.
func TestStateByHost(t *testing.T) {
	dir := t.TempDir()
	day := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	count := func(hosts ...string) {
		t.Helper()
		st, err := OpenState(dir, StateOptions{TableSize: 100, ByHost: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		a, _ := New(Options{ByHost: st.ByHost(), Load: st.Load})
		for i, h := range hosts {
			if _, err := a.Add(&hit.Hit{Time: day.Add(time.Duration(i) * time.Minute), Host: h, Status: 200, Path: "/", ClientIP: "192.0.2.1", UserAgent: "Mozilla/5.0"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Commit(a.Days(), nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	count("a.example", "B.Example", "a.example", "", "bad host/../x")
	count("b.example")
	st, err := OpenState(dir, StateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := map[string]int64{}
	for _, k := range st.Days() {
		d, err := st.Summary(k)
		if err != nil {
			t.Fatal(err)
		}
		got[k.Host] = d.Total.Requests
		if d.Host != k.Host {
			t.Errorf("day of %q says host %q", k.Host, d.Host)
		}
	}
	want := map[string]int64{"a.example": 2, "b.example": 2, NoHost: 1, InvalidHost: 1}
	if len(got) != len(want) {
		t.Errorf("hosts %v, want %v", got, want)
	}
	for h, n := range want {
		if got[h] != n {
			t.Errorf("%q: %d requests, want %d", h, got[h], n)
		}
	}
	for _, sub := range []string{"a.example", "b.example", "-none", "-invalid"} {
		if ents, _ := os.ReadDir(filepath.Join(dir, "days", sub)); len(ents) != 3 { // summary, visitors, files
			t.Errorf("days/%s: %d files, want 3", sub, len(ents))
		}
	}
}

// TestAggregatorHostCap: past MaxHostsPerDay hosts in a day, hits count
// under OtherHosts.
func TestAggregatorHostCap(t *testing.T) {
	a, _ := New(Options{ByHost: true})
	day := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	for i := range MaxHostsPerDay + 5 {
		a.Add(&hit.Hit{Time: day, Host: "h" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + time.Duration(i).String() + ".example", Status: 200, Path: "/"})
	}
	var other int64
	hosts := 0
	for _, d := range a.Days() {
		if d.Host == OtherHosts {
			other = d.Total.Requests
		} else {
			hosts++
		}
	}
	if hosts != MaxHostsPerDay || other != 5 {
		t.Errorf("%d hosts and %d requests of other hosts, want %d and 5", hosts, other, MaxHostsPerDay)
	}
}

// TestClockAcrossSummerTime: the clock gives each instant its date and
// wall-clock second in the zone, across both changes of a year.
func TestClockAcrossSummerTime(t *testing.T) {
	paris, err := LoadZone("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	c := newClock(paris)
	for _, tc := range []struct {
		utc  string
		date string
		hour uint32
	}{
		{"2026-03-29T00:59:59Z", "2026-03-29", 1}, // 01:59:59 CET
		{"2026-03-29T01:00:00Z", "2026-03-29", 3}, // 03:00 CEST: no hour 2
		{"2026-10-25T00:30:00Z", "2026-10-25", 2}, // 02:30 CEST
		{"2026-10-25T01:30:00Z", "2026-10-25", 2}, // 02:30 CET
		{"2026-10-25T22:59:59Z", "2026-10-25", 23},
		{"2026-10-25T23:00:00Z", "2026-10-26", 0},
		{"1969-12-31T23:30:00Z", "1970-01-01", 0}, // before the epoch, +01:00
		{"2026-03-29T00:59:59Z", "2026-03-29", 1}, // back: the span is looked up again
	} {
		ts, _ := time.Parse(time.RFC3339, tc.utc)
		d, sec := c.dateSec(ts)
		if DayString(d) != tc.date || sec/3600 != tc.hour {
			t.Errorf("%s: %s hour %d, want %s hour %d", tc.utc, DayString(d), sec/3600, tc.date, tc.hour)
		}
	}
	if _, err := LoadZone("Local"); err == nil {
		t.Error("Local accepted")
	}
}

// TestStateS3: a state under an S3 prefix holds the same files as a
// directory; processes take turns on it (the second waits for the first,
// or is told another holds it), and two that count at once both end up
// in it, each once.
func TestStateS3(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	count := func(input string, hits int) error {
		st, err := OpenStateS3(ctx, srv.Client, bucket, "rs", StateOptions{TableSize: 100, Timezone: "Europe/Paris"}, ctx, nil)
		if err != nil {
			return err
		}
		defer st.Close()
		if st.Input(input) != nil {
			return nil // counted already
		}
		a, _ := New(Options{Zone: st.Zone(), Load: st.Load})
		for i := range hits {
			a.Add(&hit.Hit{Time: day.Add(time.Duration(i) * time.Second), Status: 200, Path: "/" + input, ClientIP: "192.0.2." + strconv.Itoa(i%200), UserAgent: "Mozilla/5.0"})
		}
		time.Sleep(50 * time.Millisecond) // hold it a while: the other waits
		return st.Commit(a.Days(), map[string]*InputEntry{input: {Name: input, Lines: int64(hits), Done: true}}, 0)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i, in := range []string{"a", "b", "a", "b"} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = count(in, 100*(i%2+1)) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := OpenStateS3(ctx, srv.Client, bucket, "rs/", StateOptions{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Zone().String() != "Europe/Paris" || len(st.Inputs()) != 2 {
		t.Errorf("zone %s, inputs %v", st.Zone(), st.Inputs())
	}
	ks := st.Days()
	if len(ks) != 1 {
		t.Fatalf("days %v", ks)
	}
	d, err := st.Load(ks[0])
	if err != nil || d.Total.Requests != 300 || d.Pages.Len() != 2 {
		t.Fatalf("day: %v, %d requests, %d pages: want 300 and 2 (each input once)", err, d.Total.Requests, d.Pages.Len())
	}
	// Held: another process is told, or waits.
	if _, err := OpenStateS3(ctx, srv.Client, bucket, "rs", StateOptions{}, nil, nil); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("a held state: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := OpenStateS3(ctx, srv.Client, bucket, "rs", StateOptions{}, short, nil); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for a held state: %v", err)
	}
	st.Close()
	// Only the files of the manifest remain (the generations replaced
	// are swept), and the claim is released.
	keys := srv.Keys(t, bucket, "rs/")
	var days, claims int
	for _, k := range keys {
		switch {
		case strings.HasPrefix(k, "rs/days/"):
			days++
		case strings.HasPrefix(k, "rs/claims/"):
			claims++
		}
	}
	if days != 3 || claims != 0 {
		t.Errorf("objects %v: want the 3 files of one day and no claim", keys)
	}
}

// TestHashSet: every hash added once is new once; past its bound the set
// is Full and takes what it does not hold as new, without growing.
func TestHashSet(t *testing.T) {
	var s hashSet
	for i := range uint32(100000) {
		if !s.add(i * 2654435761) {
			t.Fatalf("%d: not new", i)
		}
	}
	for i := range uint32(100000) {
		if s.add(i * 2654435761) {
			t.Fatalf("%d: new again", i)
		}
	}
	if s.len() != 100000 || s.Full {
		t.Fatalf("%d hashes, full %v", s.len(), s.Full)
	}
	for i := uint32(100000); s.len() < maxHashSlots*3/4; i++ {
		s.add(i * 2654435761)
	}
	if !s.add(7) || !s.add(7) || !s.Full || len(s.slots) != maxHashSlots {
		t.Errorf("past the bound: full %v, %d slots", s.Full, len(s.slots))
	}
}
