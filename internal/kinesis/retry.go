package kinesis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Clock tells the time and waits; tests use a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or returns ctx's error as soon as ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff says how calls are retried after throttling
// (ProvisionedThroughputExceededException, LimitExceededException,
// KMSThrottlingException), server errors (HTTP 5xx) and connection errors.
// The n-th retry in a row waits a random duration in [d/2, d), d being
// Initial·2^(n-1) capped at Max ("equal jitter": never a busy loop, and
// consumers throttled together spread out). Any other error is returned at
// once. The zero value is usable.
type Backoff struct {
	// Clock tells the time and sleeps; nil is the wall clock.
	Clock Clock
	// Retries is how many retryable failures in a row are retried before
	// the last one is returned; 0 means 10 (30 to 60 seconds of waits with
	// the default durations), a negative number means until ctx is done.
	Retries int
	// Initial is the base of the first wait; 0 means 400ms (the first wait
	// is then at least 200ms, GetRecords' interval).
	Initial time.Duration
	// Max caps the base of a wait; 0 means 10s.
	Max time.Duration
	// Rand returns a number in [0, 1) for the jitter; nil is math/rand/v2.
	Rand func() float64
}

func (b Backoff) withDefaults() Backoff {
	if b.Clock == nil {
		b.Clock = realClock{}
	}
	if b.Retries == 0 {
		b.Retries = 10
	}
	if b.Initial <= 0 {
		b.Initial = 400 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 10 * time.Second
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Rand == nil {
		b.Rand = rand.Float64
	}
	return b
}

// wait returns how long to wait before the n-th retry in a row (n >= 1).
func (b Backoff) wait(n int) time.Duration {
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d/2 + time.Duration(b.Rand()*float64(d/2))
}

// retry calls fn until it succeeds, fails with an error that is not
// retryable, fails retryably more than b.Retries times in a row, or ctx is
// done. b must have its defaults.
func (b Backoff) retry(ctx context.Context, fn func() error) error {
	for n := 1; ; n++ {
		err := fn()
		if err == nil || !Retryable(err) || ctx.Err() != nil {
			return err
		}
		if b.Retries >= 0 && n > b.Retries {
			return fmt.Errorf("after %d retries: %w", b.Retries, err)
		}
		if serr := b.Clock.Sleep(ctx, b.wait(n)); serr != nil {
			return fmt.Errorf("%w (while backing off after: %v)", serr, err)
		}
	}
}

// throttles are the error codes that mean "too many calls, wait".
var throttles = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"LimitExceededException":                 true,
	"KMSThrottlingException":                 true,
	"ThrottlingException":                    true,
	"Throttling":                             true,
	"RequestLimitExceeded":                   true,
	"SlowDown":                               true,
}

// Retryable reports whether err is worth retrying after a wait: a
// throttling error, a server error (HTTP 5xx, InternalFailure) or a
// connection error. Context errors are not.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && (throttles[ae.ErrorCode()] || ae.ErrorFault() == smithy.FaultServer) {
		return true
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() >= 500 {
		return true
	}
	return retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary
}
