package pipeline

import (
	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/sink"
)

// sinkIn is an input's handle of one sink, and the line through which the
// sink has the input.
type sinkIn struct {
	in      sink.Input
	through int64
}

// toSinks gives a hit to the sinks that do not have its line.
func (st *inputState) toSinks(line int64, h *hit.Hit) error {
	for _, s := range st.sinks {
		if line > s.through {
			if err := s.in.Hit(line, h); err != nil {
				return err
			}
		}
	}
	return nil
}

// malformedToSinks tells the sinks that do not have line that it is malformed.
func (st *inputState) malformedToSinks(line int64, reason string) {
	for _, s := range st.sinks {
		if line > s.through {
			s.in.Malformed(line, reason)
		}
	}
}

// endSinks tells the sinks that the input ended.
func (st *inputState) endSinks(lines int64, failed string) error {
	for _, s := range st.sinks {
		if err := s.in.End(lines, failed); err != nil {
			return err
		}
	}
	st.sinks = nil
	return nil
}
