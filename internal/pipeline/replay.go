package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

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
	InDoubt        int64  `json:"in_doubt"`
	InDoubtFile    string `json:"in_doubt_file,omitempty"`
	// Damaged lists the lines of the file that are not whole records (a
	// record cut by a full disk): reported, and skipped.
	Damaged []int64 `json:"damaged_lines,omitempty"`
}

// Replay sends the batches of a dead-letter (or in-doubt) file again, one
// record at a time, and records in the ledger how far it got, so that
// replaying the same file twice sends nothing twice. Records Matomo refuses
// again go to deadLetter, records whose answer leaves them in doubt to
// inDoubt; a line that is not a whole record is reported and skipped. An
// outage of Matomo stops the replay with an *OutageError, at a record the
// next replay starts from.
func Replay(ctx context.Context, path string, client *matomo.Client, led ledger.Store, deadLetter, inDoubt, rejected *Recorder, log *slog.Logger) (*ReplayStats, error) {
	st := &ReplayStats{}
	in, err := input.Open(path)
	if err != nil {
		return st, err
	}
	defer in.Close()
	key, done, err := replayed(ctx, led, in)
	if err != nil {
		return st, err
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
		if err := json.Unmarshal(line, &rec); err != nil || len(rec.Requests) == 0 {
			log.Error("not a whole dead-letter record (cut by a full disk?): skipped", "file", path, "line", lineNo)
			st.Damaged = append(st.Damaged, lineNo)
			if err := save(lineNo); err != nil {
				return st, err
			}
			continue
		}
		items := make([][]byte, len(rec.Requests))
		for i, r := range rec.Requests {
			items[i] = []byte(r)
		}
		res, err := client.Send(ctx, ctx, items)
		var ns *matomo.NotStoredError
		var doubt *matomo.DoubtError
		switch {
		case errors.As(err, &ns) && ns.Stopped, err != nil && ctx.Err() != nil:
			return st, context.Canceled
		case ns != nil:
			return st, &OutageError{Err: ns}
		case errors.As(err, &doubt):
			log.Error("batch in doubt: Matomo may have stored it", "record", lineNo, "hits", len(items), "error", err)
			rec.Reason, rec.Endpoint, rec.InDoubt = err.Error(), client.EndpointURL(), true
			if werr := inDoubt.Write(rec); werr != nil {
				return st, fmt.Errorf("cannot write the in-doubt file: %w", werr)
			}
			st.InDoubt += int64(len(items))
			st.InDoubtFile = inDoubt.Path()
		case err != nil:
			log.Error("batch not delivered: Matomo refused it", "record", lineNo, "hits", len(items), "error", err)
			rec.Reason, rec.Endpoint, rec.InDoubt = err.Error(), client.EndpointURL(), false
			if werr := deadLetter.Write(rec); werr != nil {
				return st, fmt.Errorf("cannot write dead-letter file: %w", werr)
			}
			st.DeadLettered += int64(len(items))
			st.DeadLetterFile = deadLetter.Path()
		default:
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

// replayed returns the ledger key of a dead-letter file's replay progress
// ("" when it cannot have one: no ledger, or no identity) and the line
// through which its records were replayed.
func replayed(ctx context.Context, led ledger.Store, in *input.Input) (key string, done int64, err error) {
	if led == nil || in.Identity == nil {
		return "", 0, nil
	}
	key = "replay:" + in.Identity.Key()
	prev, err := led.Get(ctx, key)
	if err != nil || prev == nil {
		return key, 0, err
	}
	return key, prev.ConfirmedLine, nil
}

// Backlog is what a dead-letter or in-doubt file holds that no replay sent.
type Backlog struct {
	Path    string
	Records int
	Hits    int64
}

// PendingReplays lists the files of dir (a state directory's dead-letter/
// or in-doubt/ folder) whose records were not all replayed, by the replay
// progress kept in led. A folder that does not exist has none.
func PendingReplays(ctx context.Context, dir string, led ledger.Store) ([]Backlog, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Backlog
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".jsonl") {
			continue
		}
		b, err := pendingIn(ctx, filepath.Join(dir, e.Name()), led)
		if err != nil {
			return nil, err
		}
		if b.Records > 0 {
			out = append(out, b)
		}
	}
	return out, nil
}

func pendingIn(ctx context.Context, path string, led ledger.Store) (Backlog, error) {
	b := Backlog{Path: path}
	in, err := input.Open(path)
	if err != nil {
		return b, err
	}
	defer in.Close()
	_, done, err := replayed(ctx, led, in)
	if err != nil {
		return b, err
	}
	lines := in.Lines()
	defer lines.Close()
	for {
		line, err := lines.Next()
		if err == io.EOF {
			return b, nil
		}
		if err != nil && !errors.Is(err, input.ErrLineTooLong) {
			return b, fmt.Errorf("%s: %w", path, err)
		}
		if lines.Line() <= done || len(line) == 0 {
			continue
		}
		var rec struct {
			Requests []json.RawMessage `json:"requests"`
		}
		if json.Unmarshal(line, &rec) == nil {
			b.Records++
			b.Hits += int64(len(rec.Requests))
		}
	}
}
