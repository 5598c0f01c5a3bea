// Package lake writes hits as Parquet files in a Hive-partitioned data
// lake (dt=YYYY-MM-DD/hour=HH/, UTC, by hit time), in a local directory or
// under an S3 prefix, exactly once per input: see Sink.
package lake

import (
	"time"

	"github.com/trackless/trackless/internal/input"
)

// EntryVersion is the version of the entry format.
const EntryVersion = 1

// Entry is what the lake has of one input, kept in the lake itself
// (StateDir/inputs/, one JSON file per input, named after its identity).
type Entry struct {
	Version int    `json:"version"`
	Name    string `json:"name"` // the input as last read, for people
	Size    int64  `json:"size"`
	// Fingerprint and FingerprintLen are those of the input's first bytes
	// (a file's), to tell it from another file later under its key.
	Fingerprint    string `json:"fingerprint,omitempty"`
	FingerprintLen int    `json:"fingerprint_len,omitempty"`
	// Lines: every hit on a line through Lines is in a published file.
	Lines int64 `json:"lines"`
	// Mark is where line Lines ends in the input (input.Mark), for a
	// later run to read on from; nil when unknown.
	Mark *input.Mark `json:"mark,omitempty"`
	// Done: the input was read whole (Lines is its line count, Size its size).
	Done bool `json:"done"`
	// Failed says why the input was not read to its end.
	Failed string `json:"failed,omitempty"`
	// Rows and Files count what the input wrote.
	Rows  int64 `json:"rows"`
	Files int   `json:"files"`
	// Last are the files the input's last flush wrote.
	Last []string `json:"last,omitempty"`
	// Pending is a flush under way: its files may be published, some or
	// all, and are rewritten (or removed) by the next run, which reads
	// the input again from Lines and flushes at Pending.Through.
	Pending *Pending  `json:"pending,omitempty"`
	Updated time.Time `json:"updated"`
}

// Pending is a flush recorded before its files are published.
type Pending struct {
	// Through is the last line whose hits the flush writes (after the
	// entry's Lines).
	Through int64 `json:"through"`
	// Mark is where line Through ends, when known.
	Mark *input.Mark `json:"mark,omitempty"`
	// Files are the names the flush publishes.
	Files []string `json:"files"`
}
