package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/trackless/trackless/internal/matomo"
	"github.com/trackless/trackless/internal/pipeline"
)

// TestExitFor: every kind of error a command returns makes its exit code,
// in one place; exit writes the message unless the command said it.
func TestExitFor(t *testing.T) {
	outage := &pipeline.OutageError{Err: &matomo.NotStoredError{Last: errors.New("refused")}}
	for _, tt := range []struct {
		name string
		err  error
		code int
		says string
	}{
		{"none", nil, ExitOK, ""},
		{"usage", usagef("--top must be at least 1"), ExitUsage, "trackless: --top must be at least 1\n"},
		{"fatal", fatalError(errors.New("disk full")), ExitFatal, "trackless: disk full\n"},
		{"matomo", matomoError(errors.New("nothing was read: refused")), ExitMatomo, "trackless: nothing was read: refused\n"},
		{"said, undelivered", said(ExitUndelivered), ExitUndelivered, ""},
		{"said, ok (--help)", said(ExitOK), ExitOK, ""},
		{"interrupted", fmt.Errorf("reading: %w", context.Canceled), ExitInterrupted, "trackless: reading: context canceled\n"},
		{"old hits without a token", fmt.Errorf("%w: line 3", pipeline.ErrOldHits), ExitUsage, "trackless: old hits need a token: line 3\n"},
		{"no host", fmt.Errorf("%w (a.log, line 1)", pipeline.ErrNoHost), ExitUsage, "trackless: the log has no host name (a.log, line 1)\n"},
		{"outage", outage, ExitMatomo, "trackless: " + outage.Error() + "\n"},
		{"anything else", errors.New("ledger: bad entry"), ExitFatal, "trackless: ledger: bad entry\n"},
		{"wrapped usage", fmt.Errorf("lambda: %w", usagef("bad")), ExitUsage, "trackless: lambda: bad\n"},
	} {
		var b bytes.Buffer
		if got := exit(&b, tt.err); got != tt.code || b.String() != tt.says {
			t.Errorf("%s: exit %d, said %q; want %d, %q", tt.name, got, b.String(), tt.code, tt.says)
		}
	}
}
