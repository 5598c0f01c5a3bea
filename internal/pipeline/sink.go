package pipeline

import "github.com/trackless/trackless/internal/sink"

// sinkIn is an input's handle of one sink, and the line through which the
// sink has the input.
type sinkIn struct {
	in      sink.Input
	through int64
}
