// Package sink defines what a run's read path gives its outputs besides
// Matomo: the report's aggregator now, the Parquet lake next. It is an
// interface only, so that outputs need not import the pipeline.
package sink

import (
	"strings"

	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/input"
)

// A Sink takes the hits a run reads besides Matomo (or instead of it, with
// pipeline.Options.SinksOnly): the report's aggregator, and next the Parquet lake.
// Each sink keeps its own progress per input, so that each is exactly once
// on its own: a run reads an input from the earliest line any sink (or
// Matomo's ledger) still needs, and gives a sink only the lines after those
// it has.
//
// A run calls a sink from one goroutine, in the order it reads: the hits
// of one input in line order, inputs interleaved by time.
type Sink interface {
	// Begin is told that an input is about to be read. It returns the
	// sink's handle of the input, and the line through which the sink has
	// it already (0: none); a nil handle when the sink has all of the
	// input or will not take it (it says why itself).
	Begin(in Info) (Input, int64, error)
}

// Input receives the lines of one input that a sink does not have.
type Input interface {
	// Hit is a hit read on line, after the filter's changes (filter.Filter.Apply).
	// h is valid only during the call.
	Hit(line int64, h *hit.Hit) error
	// Malformed is a line that is not a hit of the format read.
	Malformed(line int64, reason string)
	// End is told that the input ended (see End). An input whose
	// reading was stopped (a signal, a fatal error), or that could not be
	// opened after Begin, gets no End: the sink keeps what it has of it.
	End(e End) error
}

// A Marked Input knows where a line it has, the one Begin returned or an
// earlier one, ends in the input's bytes (input.Mark, from an End before):
// a run reads on from the earliest such place any output needs instead
// of from the input's start. Its Mark is zero when it knows none.
type Marked interface {
	Mark() input.Mark
}

// A Started Input is told, before the first line of a stream read from
// its start, the mark of that start (input.Mark with At): it keeps it as
// its mark until it has a later one, so that a run that stopped before
// the stream's first other mark (killed, interrupted, an outage) can be
// read on from there: a stream is never read again from its own start,
// which moves as its records expire.
type Started interface {
	Start(m input.Mark)
}

// End says how an input ended.
type End struct {
	// Lines is the last line read; 0 when the input was refused before
	// any line was handed on (its format): the sink then keeps the line
	// it had.
	Lines int64
	// Failed says why the input was not read whole ("damaged after line
	// N: ...", "mostly malformed: ...", "format unknown: ...", "not a
	// text log: ..."); "" when it was.
	Failed string
	// Waiting: the input is being written (a log written to moments
	// ago): it is not whole yet, whatever it ends with, and an
	// unterminated last line was not read; a later run reads on from
	// Lines.
	Waiting bool
	// Fingerprint and FingerprintLen are those of the input's first bytes
	// at its end, when they grew as it was read (a file shorter than the
	// fingerprint's size when it was opened); FingerprintLen is 0 otherwise.
	Fingerprint    string
	FingerprintLen int
	// Mark is where line Lines ends in the input (input.Mark), for a
	// later run to read on from (see Marked); zero when there is none.
	Mark input.Mark
	// Stream: the input is a stream's (a Kinesis shard's), read as far as
	// this run had it: fewer lines than an output has is no sign of
	// another input (a Lambda event holds a window of the shard).
	Stream bool
}

// Whole reports whether the sink now has all of the input.
func (e End) Whole() bool { return e.Failed == "" && !e.Waiting }

// Info names an input for sinks.
type Info struct {
	Name string // as given: a path, "-", s3://bucket/key
	// Key is the input's identity (input.Identity.Key): the same object or
	// file has the same key wherever it is read from; "" when it has none
	// (stdin).
	Key  string
	Size int64 // in bytes, when known
	// Keys are the keys under which the input may have been recorded,
	// Key first (input.Identity.Keys); an entry found under another must
	// be checked with SamePrefix against the fingerprint it recorded.
	Keys []string
	// Fingerprint and FingerprintLen are the input's (a file's) to record.
	Fingerprint    string
	FingerprintLen int
	// Content is the fingerprint of the input's first bytes decompressed
	// (input.Identity.ContentFingerprint), of ContentLen bytes: an entry
	// found under the content's key (the last of Keys) is the input's
	// content if it recorded this fingerprint.
	Content    string
	ContentLen int
	// Alias is the key under which a plain file's entry is also recorded
	// (input.Identity.ContentKey), so that the file compressed or copied
	// by a rotation is known by its content; "" for other inputs.
	Alias string
	// SamePrefix reports whether the input starts with the bytes of a
	// recorded fingerprint (input.Input.SamePrefix); nil when it cannot
	// tell (an object, stdin).
	SamePrefix func(fingerprint string, n int) bool
}

// The prefixes of End's failed reasons that say the input is not a log of
// the format read (its lines were not read as hits). An output that
// recorded such a failure does not read the input again, unchanged,
// without being forced: a second run would find nothing new and take it
// for whole.
const (
	FailUnknownFormat   = "format unknown: "
	FailNotText         = "not a text log: "
	FailMostlyMalformed = "mostly malformed: "
)

// NotALog reports whether failed (End's reason) says that the input is
// mostly malformed for the format read.
func NotALog(failed string) bool {
	return strings.HasPrefix(failed, FailMostlyMalformed)
}

// AliasPrefix starts Info.Alias keys.
const AliasPrefix = "content:"

// Recorded is what an output recorded of an input under a key, as Find
// needs it to tell whether the input is that one.
type Recorded struct {
	// Fingerprint and FingerprintLen are those recorded of the input's
	// first bytes ("" when recorded before fingerprints were: the key
	// itself then holds the content's fingerprint).
	Fingerprint    string
	FingerprintLen int
	Lines          int64
}

// Find looks up what an output recorded of in: under each of in.Keys in
// order (in.Key when it has none), get returns the record under a key, or
// nil. It returns the key of the record that is in's, and how: the key
// is not in.Key when the input was recorded under another key (a file
// grown past its fingerprint's size), and byContent says that the
// record, under an alias key (AliasPrefix), is of another file whose
// content in has (a rotated file compressed or copied): in is then
// another input, to be read on after the lines recorded of that one. An
// entry is in's only if in still starts with the bytes it recorded. key
// is "" when nothing recorded is in's.
func Find(in Info, get func(key string) (*Recorded, error)) (key string, byContent bool, err error) {
	keys := in.Keys
	if len(keys) == 0 {
		keys = []string{in.Key}
	}
	for _, k := range keys {
		p, err := get(k)
		if err != nil {
			return "", false, err
		}
		if p == nil {
			continue
		}
		if strings.HasPrefix(k, AliasPrefix) {
			if p.Fingerprint == in.Content && p.FingerprintLen == in.ContentLen {
				return k, true, nil
			}
			continue
		}
		switch {
		case p.Fingerprint == "":
		case p.Fingerprint == in.Fingerprint && p.FingerprintLen == in.FingerprintLen:
		case in.SamePrefix != nil && (p.FingerprintLen > 0 || p.Lines == 0) && p.FingerprintLen <= in.FingerprintLen && in.SamePrefix(p.Fingerprint, p.FingerprintLen):
		default:
			continue
		}
		return k, false, nil
	}
	return "", false, nil
}
