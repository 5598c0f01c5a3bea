package ledger_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/s3test"
)

// TestStoreConformance: what the pipeline relies on, for both stores: an
// unknown key has no entry; Put replaces an entry and Get returns it as
// written (shard watermarks, confirmed lines above them, done, failed);
// keys are independent, whatever characters they hold; an entry that
// cannot be read is an error, never a fresh start; Claim then Release
// then Claim again works, and releasing a key not held is a no-op; after
// Close, a new store over the same place reads what was written.
func TestStoreConformance(t *testing.T) {
	dir := t.TempDir()
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	stores := []struct {
		name    string
		open    func(t *testing.T) ledger.Store
		corrupt func(t *testing.T) // makes every entry unreadable
	}{
		{"state directory",
			func(t *testing.T) ledger.Store {
				l, err := ledger.Open(dir)
				if err != nil {
					t.Fatal(err)
				}
				return l
			},
			func(t *testing.T) {
				files, _ := filepath.Glob(filepath.Join(dir, "inputs", "*"))
				for _, f := range files {
					os.WriteFile(f, []byte(`{"version":1,"confirm`), 0o600)
				}
			}},
		{"S3 prefix",
			func(t *testing.T) ledger.Store { return ledger.NewS3(srv.Client, bucket, "conf/", time.Minute, nil) },
			func(t *testing.T) {
				for _, k := range srv.Keys(t, bucket, "conf/inputs/") {
					srv.Put(t, bucket, k, []byte(`{"version":1,"confirm`))
				}
			}},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			st := s.open(t)
			if e, err := st.Get(ctx, "missing"); e != nil || err != nil {
				t.Fatalf("unknown key: %+v, %v", e, err)
			}
			keys := []string{"1-2-abcdef0123456789", "object:s3://b/logs/a b+c.gz#\"etag\""}
			want := map[string]*ledger.Entry{
				keys[0]: {Version: ledger.FormatVersion, Name: "/var/log/a.log", Identity: input.Identity{Device: 1, Inode: 2, Size: 300, Fingerprint: "abcdef0123456789", FingerprintLen: 300},
					ConfirmedLine: 10, ShardLines: []int64{10, 12, 30}, ShardDone: map[int][]int64{0: {14, 15}}, Failed: "damaged after line 40: unexpected EOF", Updated: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)},
				keys[1]: {Version: ledger.FormatVersion, Name: "s3://b/logs/a b+c.gz", Identity: input.Identity{Object: "s3://b/logs/a b+c.gz", ETag: `"etag"`, Size: 9},
					ConfirmedLine: 500, Done: true, Lines: 500, Updated: time.Date(2026, 11, 1, 13, 0, 0, 0, time.UTC)},
			}
			for _, k := range keys {
				if err := st.Put(ctx, k, want[k]); err != nil {
					t.Fatal(err)
				}
			}
			// Put replaces.
			want[keys[0]].ConfirmedLine, want[keys[0]].ShardLines = 11, []int64{11, 12, 30}
			if err := st.Put(ctx, keys[0], want[keys[0]]); err != nil {
				t.Fatal(err)
			}
			check := func(st ledger.Store) {
				t.Helper()
				for _, k := range keys {
					got, err := st.Get(ctx, k)
					if err != nil || !reflect.DeepEqual(got, want[k]) {
						t.Errorf("Get(%q) = %+v, %v; want %+v", k, got, err, want[k])
					}
				}
			}
			check(st)
			for _, k := range keys {
				if err := st.Claim(ctx, k); err != nil {
					t.Fatalf("claim %q: %v", k, err)
				}
				if err := st.Release(ctx, k); err != nil {
					t.Fatalf("release %q: %v", k, err)
				}
				if err := st.Claim(ctx, k); err != nil {
					t.Fatalf("claim again %q: %v", k, err)
				}
			}
			if err := st.Release(ctx, "never claimed"); err != nil {
				t.Errorf("releasing a key not held: %v", err)
			}
			if st.String() == "" {
				t.Error("String says nothing of where the store is")
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			again := s.open(t)
			defer again.Close()
			check(again)
			s.corrupt(t)
			if e, err := again.Get(ctx, keys[0]); err == nil {
				t.Errorf("an unreadable entry gave %+v and no error", e)
			}
		})
	}
}
