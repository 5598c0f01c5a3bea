package pipeline

import (
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/sink"
)

// sinkIn is an input's handle of one sink, the line through which the
// sink has the input, and where a line through which it has it ends
// (sink.Marked; zero when unknown).
type sinkIn struct {
	in      sink.Input
	through int64
	mark    input.Mark
}
