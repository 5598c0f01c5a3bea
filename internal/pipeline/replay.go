package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/matomo"
)

// ReplayStats are the counters of a replay.
type ReplayStats struct {
	Records        int    `json:"records"`
	RecordsSkipped int    `json:"records_already_replayed"`
	Sent           int64  `json:"sent"`
	Tracked        int64  `json:"tracked"`
	Invalid        int64  `json:"invalid"`
	DeadLettered   int64  `json:"dead_lettered"`
	DeadLetterFile string `json:"dead_letter_file,omitempty"`
}

// Replay sends the batches of a dead-letter file again, one record at a
// time, and records in the ledger how far it got, so that replaying the same
// file twice sends nothing twice. Records that fail again go to deadLetter.
func Replay(ctx context.Context, path string, client *matomo.Client, led *ledger.Ledger, deadLetter, rejected *Recorder, log *slog.Logger) (*ReplayStats, error) {
	st := &ReplayStats{}
	in, err := input.Open(path)
	if err != nil {
		return st, err
	}
	defer in.Close()
	var key string
	var done int64
	if led != nil && in.Identity != nil {
		key = "replay:" + in.Identity.Key()
		prev, err := led.Get(ctx, key)
		if err != nil {
			return st, err
		}
		if prev != nil {
			done = prev.ConfirmedLine
		}
	}
	lines := in.Lines()
	defer lines.Close()
	save := func(line int64) error {
		if key == "" {
			return nil
		}
		return led.Put(ctx, key, &ledger.Entry{Name: path, Identity: *in.Identity, ConfirmedLine: line})
	}
	var lineNo int64
	for {
		line, err := lines.Next()
		if err != nil {
			if err == io.EOF {
				break
			}
			return st, fmt.Errorf("%s: %w", path, err)
		}
		lineNo = lines.Line()
		if len(line) == 0 {
			continue
		}
		st.Records++
		if lineNo <= done {
			st.RecordsSkipped++
			continue
		}
		var rec DeadLetter
		if err := json.Unmarshal(line, &rec); err != nil {
			return st, fmt.Errorf("%s:%d: not a dead-letter record: %v", path, lineNo, err)
		}
		items := make([][]byte, len(rec.Requests))
		for i, r := range rec.Requests {
			items[i] = []byte(r)
		}
		res, err := client.Send(ctx, items)
		if err != nil && ctx.Err() != nil {
			return st, ctx.Err()
		}
		if err != nil {
			log.Error("batch not delivered", "record", lineNo, "hits", len(items), "error", err)
			rec.Reason, rec.Endpoint = err.Error(), client.EndpointURL()
			if werr := deadLetter.Write(rec); werr != nil {
				return st, fmt.Errorf("cannot write dead-letter file: %w", werr)
			}
			st.DeadLettered += int64(len(items))
			st.DeadLetterFile = deadLetter.Path()
		} else {
			st.Sent += int64(len(items))
			st.Tracked += int64(res.Tracked)
			st.Invalid += int64(res.Invalid)
			if res.Invalid > 0 && rejected != nil {
				if werr := rejected.Write(DeadLetter{Reason: fmt.Sprintf("Matomo rejected %d of these requests (indices %v)", res.Invalid, res.InvalidIndices), Requests: rec.Requests, Sources: rec.Sources}); werr != nil {
					return st, werr
				}
			}
		}
		if err := save(lineNo); err != nil {
			return st, err
		}
	}
	return st, nil
}
