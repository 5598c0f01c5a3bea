package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/trackless/trackless/internal/pipeline"
)

// The errors of a command say what they mean to the user, and exitFor
// maps them to exit codes, in one place: a command returns an error, Main
// says it and exits with its code.

// exitError is an error that makes an exit code. A nil err means that the
// command has said everything already (a summary, a usage message).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError: the command line or the configuration cannot be used
// (ExitUsage); nothing was read.
func usageError(err error) error { return &exitError{ExitUsage, err} }

// usagef is usageError of a message.
func usagef(format string, args ...any) error {
	return usageError(fmt.Errorf(format, args...))
}

// fatalError: the run had to stop (ExitFatal): its state or ledger cannot
// be read or written, an output cannot be written.
func fatalError(err error) error { return &exitError{ExitFatal, err} }

// matomoError: Matomo cannot be reached, is not Matomo, refuses the token
// or is too old (ExitMatomo); nothing was read.
func matomoError(err error) error { return &exitError{ExitMatomo, err} }

// said ends a command whose output has said why it ends so (a summary,
// the help): code is the exit code (ExitOK too), nothing more is written.
func said(code int) error { return &exitError{code: code} }

// exitFor is the exit code of a command's error (nil: ExitOK).
func exitFor(err error) int {
	var e *exitError
	var outage *pipeline.OutageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &e):
		return e.code
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.Is(err, pipeline.ErrOldHits), errors.Is(err, pipeline.ErrNoHost):
		return ExitUsage
	case errors.As(err, &outage):
		return ExitMatomo
	}
	return ExitFatal
}

// exit writes what err says (unless it was said already) and returns its
// exit code.
func exit(stderr io.Writer, err error) int {
	var e *exitError
	if err != nil && !(errors.As(err, &e) && e.err == nil) {
		fmt.Fprintln(stderr, "trackless:", err)
	}
	return exitFor(err)
}
