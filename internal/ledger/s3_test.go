package ledger_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/s3test"
)

func TestS3PutGet(t *testing.T) {
	srv := s3test.Start(t)
	b := srv.Bucket(t)
	ctx := context.Background()
	l := ledger.NewS3(srv.Client, b, "state", time.Minute, nil)
	defer l.Close()
	if e, err := l.Get(ctx, "k"); e != nil || err != nil {
		t.Fatalf("empty: %v %v", e, err)
	}
	want := &ledger.Entry{Name: "s3://x/y", Identity: input.Identity{Object: "s3://x/y", ETag: "abc", Size: 9}, ConfirmedLine: 7}
	if err := l.Put(ctx, "k", want); err != nil {
		t.Fatal(err)
	}
	got, err := l.Get(ctx, "k")
	if err != nil || got.ConfirmedLine != 7 || got.Identity != want.Identity {
		t.Fatalf("got %+v, %v", got, err)
	}
	if keys := srv.Keys(t, b, "state/inputs/"); len(keys) != 1 {
		t.Errorf("keys %v", keys)
	}
	srv.Put(t, b, srv.Keys(t, b, "state/inputs/")[0], []byte(`{"version":1,"confirm`))
	if _, err := l.Get(ctx, "k"); err == nil {
		t.Error("a corrupt entry must be an error")
	}
}

// Two workers never hold the same claim; a released claim can be taken;
// an expired one is taken over; a claim renewed in time is not.
func TestS3Claims(t *testing.T) {
	srv := s3test.Start(t)
	b := srv.Bucket(t)
	ctx := context.Background()
	a := ledger.NewS3(srv.Client, b, "l/", time.Hour, nil)
	c := ledger.NewS3(srv.Client, b, "l/", time.Hour, nil)
	defer a.Close()
	defer c.Close()
	if err := a.Claim(ctx, "in1"); err != nil {
		t.Fatal(err)
	}
	var ce *ledger.ClaimedError
	if err := c.Claim(ctx, "in1"); !errors.As(err, &ce) || ce.Owner != a.Owner() {
		t.Fatalf("second claim: %v", err)
	}
	if err := a.Claim(ctx, "in1"); err != nil {
		t.Fatalf("claiming again what one holds: %v", err)
	}
	if err := a.Release(ctx, "in1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Claim(ctx, "in1"); err != nil {
		t.Fatalf("claim after release: %v", err)
	}

	// A worker whose claims last 1 s stops (crash: no Close, no renewal).
	short := ledger.NewS3(srv.Client, b, "l/", time.Second, nil)
	if err := short.Claim(ctx, "in2"); err != nil {
		t.Fatal(err)
	}
	if err := c.Claim(ctx, "in2"); !errors.As(err, &ce) {
		t.Fatalf("claim held: %v", err)
	}
	time.Sleep(1500 * time.Millisecond)
	// short renews every 333 ms: still held.
	if err := c.Claim(ctx, "in2"); !errors.As(err, &ce) {
		t.Fatalf("renewed claim taken: %v", err)
	}
	short.Close() // releases
	if err := c.Claim(ctx, "in2"); err != nil {
		t.Fatalf("claim after the holder closed: %v", err)
	}
}

func TestS3ExpiredClaimTakenOver(t *testing.T) {
	srv := s3test.Start(t)
	b := srv.Bucket(t)
	ctx := context.Background()
	// The crashed worker: its claim is written, it never renews.
	crashed := ledger.NewS3(srv.Client, b, "", 300*time.Millisecond, nil)
	if err := crashed.Claim(ctx, "in"); err != nil {
		t.Fatal(err)
	}
	crashed.StopRenewing() // as if the process were gone
	next := ledger.NewS3(srv.Client, b, "", time.Minute, nil)
	defer next.Close()
	var ce *ledger.ClaimedError
	if err := next.Claim(ctx, "in"); !errors.As(err, &ce) {
		t.Fatalf("unexpired claim: %v", err)
	}
	time.Sleep(400 * time.Millisecond)
	if err := next.Claim(ctx, "in"); err != nil {
		t.Fatalf("expired claim not taken over: %v", err)
	}
	// The old worker comes back: its next renewal finds the claim taken,
	// and its progress is refused from then on.
	crashed.RenewNow()
	if err := crashed.Put(ctx, "in", &ledger.Entry{Name: "in"}); err == nil {
		t.Error("a worker whose claim was taken over still writes progress")
	}
}

// Many workers race for one claim: exactly one wins.
func TestS3ClaimRace(t *testing.T) {
	srv := s3test.Start(t)
	b := srv.Bucket(t)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := ledger.NewS3(srv.Client, b, "race/", time.Minute, nil)
			if err := l.Claim(context.Background(), "same"); err == nil {
				wins.Add(1)
			} else if _, ok := errors.AsType[*ledger.ClaimedError](err); !ok {
				t.Errorf("claim: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d workers hold the claim", wins.Load())
	}
}
