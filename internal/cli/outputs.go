package cli

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/trackless/trackless/internal/pipeline"
	"github.com/trackless/trackless/internal/sink"
)

// sideOutput is an output that goes with Matomo in a send run, or in the
// Lambda: the report state (--report-state), the lake (--lake). Each keeps
// its own progress; an error of one stops only it.
type sideOutput interface {
	output() sink.Sink
	// commit makes what the output has so far durable (after each run).
	commit() error
	// idle is told that a follower's round read nothing: what an output
	// keeps for a while is written once that while is over.
	idle() error
	// stop makes what it kept for later runs durable (after the last run:
	// the lake's files kept open by --follow).
	stop() error
	// hasWhole reports whether the output has an input whole, durably.
	hasWhole(name string) bool
	// damaged lists the inputs it could not take whole.
	damaged() []string
	// summary says what it took, for the run's summary.
	summary(w io.Writer)
	// what names it in messages: "the report state DIR".
	what() string
	close()
}

// sides are the side outputs of a run.
type sides []sideOutput

// feed adds the outputs' sinks to a run's options; the after-delivery
// action (which needs every output to have an input) is left to finish.
func (ss sides) feed(opt pipeline.Options) pipeline.Options {
	if len(ss) == 0 {
		return opt
	}
	for _, s := range ss {
		opt.Sinks = append(opt.Sinks, s.output())
	}
	opt.OnDone = nil
	return opt
}

// finish ends a run that fed the outputs: each commits (whatever happened
// to Matomo: each keeps its own progress), then the after-delivery action
// runs on the inputs delivered that every output has whole. It returns the
// run's error, or an output's (an output that could not be written stopped
// only itself: Matomo got its hits).
func (ss sides) finish(stats *pipeline.Stats, runErr error, onDone func(string) error, log *slog.Logger) error {
	if len(ss) == 0 {
		return runErr
	}
	failed := false
	for _, s := range ss {
		if err := s.commit(); err != nil {
			failed = true
			if runErr == nil {
				runErr = fatalError(err)
				continue
			}
			log.Error(s.what()+" was not updated", "error", err)
		}
	}
	if failed || stats == nil || onDone == nil {
		return runErr
	}
	for _, name := range stats.Delivered {
		if !ss.haveWhole(name) {
			continue
		}
		if err := onDone(name); err != nil {
			log.Error("input delivered, but its after-delivery action failed", "input", name, "error", err)
			stats.AfterFailed++
		}
	}
	return runErr
}

func (ss sides) haveWhole(name string) bool {
	for _, s := range ss {
		if !s.hasWhole(name) {
			return false
		}
	}
	return true
}

// idle tells the outputs that a round read nothing (see sideOutput.idle).
func (ss sides) idle() error {
	for _, s := range ss {
		if err := s.idle(); err != nil {
			return fatalError(err)
		}
	}
	return nil
}

// stop ends the outputs' last run (see sideOutput.stop).
func (ss sides) stop(runErr error, log *slog.Logger) error {
	for _, s := range ss {
		if err := s.stop(); err != nil {
			if runErr == nil {
				runErr = fatalError(err)
				continue
			}
			log.Error(s.what()+" was not updated", "error", err)
		}
	}
	return runErr
}

// damaged lists what an output could not take whole, each line naming it.
func (ss sides) damaged() []string {
	var out []string
	for _, s := range ss {
		for _, d := range s.damaged() {
			out = append(out, fmt.Sprintf("%s (%s)", d, s.what()))
		}
	}
	return out
}

func (ss sides) summary(w io.Writer) {
	for _, s := range ss {
		s.summary(w)
	}
}

func (ss sides) close() {
	for _, s := range ss {
		s.close()
	}
}
