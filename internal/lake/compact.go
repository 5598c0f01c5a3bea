package lake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// CompactOptions say which partitions Compact merges.
type CompactOptions struct {
	// From and To bound the hours compacted: those starting at or after
	// From and before To.
	From, To time.Time
	// MinAge: an hour is compacted once it ended MinAge ago, and only its
	// files written MinAge ago or more (late inputs still arrive, and a
	// writer's flush may be under way).
	MinAge time.Duration
	// Version goes into the merged files' created_by.
	Version string
	Log     *slog.Logger
	Now     func() time.Time
}

// CompactStats say what Compact did.
type CompactStats struct {
	Partitions int   // partitions merged
	Files      int   // files merged into them
	Rows       int64 // rows of those files
	Left       int   // files left for now: a flush not recorded as done names them
}

// compaction is the record of a merge under way, written before the merged
// file is published (StateDir/compactions/dt=…/hour=….json): a run that
// finds one finishes it (removes the sources once the target is there) or
// forgets it (the target was not published: the sources are whole).
type compaction struct {
	Target  string    `json:"target"`
	Sources []string  `json:"sources"`
	Started time.Time `json:"started"`
}

// compactionTTL is how long a compaction's record says that a process is
// merging the hour: a younger one is left to it, an older one is taken
// for a process that stopped, and finished or forgotten.
const compactionTTL = time.Hour

// Compact merges the data files of each closed hour into one file, so
// that readers list and open fewer, larger files. Each merge is exactly
// once: the merged file is named after the files it merges and written
// whole before it is published; the merge is recorded first, by a write
// that only one process can make (two compactors never merge the same
// hour twice), and the merged files are removed after it is published.
// Between the publication and the removal (one request per file) a reader
// may see the hour's rows twice: the Hive layout has no atomic swap of
// files.
//
// Files that an input's unfinished flush names (its entry's Pending) are
// left: the next run of that input writes them again.
func Compact(ctx context.Context, out Out, opt CompactOptions) (CompactStats, error) {
	var st CompactStats
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	now := opt.Now()
	last := hourOf(now.Add(-opt.MinAge)) - 1 // the last hour ended MinAge ago
	if to := hourOf(opt.To.Add(-time.Nanosecond)); !opt.To.IsZero() && to < last {
		last = to
	}
	for h := hourOf(opt.From); h <= last; h++ {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if err := compactHour(ctx, out, h, now, opt, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

func compactHour(ctx context.Context, out Out, hour int64, now time.Time, opt CompactOptions, st *CompactStats) error {
	part := partition(hour)
	record := "compactions/" + part + ".json"
	if busy, err := finishCompaction(ctx, out, record, now, opt.Log); err != nil || busy {
		return err
	}
	files, err := out.List(ctx, part)
	if err != nil {
		return err
	}
	pending, err := pendingFiles(ctx, out, files)
	if err != nil {
		return err
	}
	var sources []string
	for _, f := range files {
		switch {
		case pending[f.Name]:
			st.Left++
			opt.Log.Info("file left: an input's flush to the lake did not finish, its next run writes it again", "file", f.Name)
		case now.Sub(f.Modified) < opt.MinAge:
			st.Left++
		default:
			sources = append(sources, f.Name)
		}
	}
	if len(sources) < 2 {
		return nil
	}
	slices.Sort(sources)
	sum := sha256.Sum256([]byte(strings.Join(sources, "\n")))
	c := compaction{Target: fmt.Sprintf("%s/compact-%s.parquet", part, hex.EncodeToString(sum[:8])), Sources: sources, Started: now.UTC()}
	data, _ := json.Marshal(c)
	if err := out.CreateMeta(ctx, record, data); err != nil {
		if errors.Is(err, ErrExists) {
			opt.Log.Info("hour being compacted by another process: left", "partition", part)
			return nil
		}
		return err
	}
	rows, err := mergeFiles(ctx, out, c, opt.Version)
	if err != nil {
		// Not published: the sources are whole; the record is forgotten.
		if rerr := out.RemoveMeta(ctx, record); rerr != nil {
			opt.Log.Warn("compaction record left: the next compaction forgets it", "record", record, "error", rerr)
		}
		return fmt.Errorf("compacting %s: %w", part, err)
	}
	if err := removeSources(ctx, out, c); err != nil {
		return fmt.Errorf("compacting %s: %w (the next compaction removes them)", part, err)
	}
	if err := out.RemoveMeta(ctx, record); err != nil {
		return err
	}
	st.Partitions++
	st.Files += len(sources)
	st.Rows += rows
	opt.Log.Info("hour compacted", "partition", part, "files", len(sources), "rows", rows, "into", c.Target)
	return nil
}

// finishCompaction finishes a merge an earlier run recorded and did not
// finish: once its target is published, its sources are removed; without
// a target, the record is forgotten (the sources are whole). busy: the
// record is younger than compactionTTL, another process is merging the
// hour.
func finishCompaction(ctx context.Context, out Out, record string, now time.Time, log *slog.Logger) (busy bool, err error) {
	data, err := out.GetMeta(ctx, record)
	if err != nil || data == nil {
		return false, err
	}
	var c compaction
	if err := json.Unmarshal(data, &c); err != nil {
		return false, fmt.Errorf("lake: compaction record %s is corrupt (%v): remove it", record, err)
	}
	if now.Sub(c.Started) < compactionTTL {
		log.Info("hour being compacted by another process: left", "record", record, "since", c.Started)
		return true, nil
	}
	files, err := out.List(ctx, path.Dir(c.Target))
	if err != nil {
		return false, err
	}
	if slices.ContainsFunc(files, func(f FileInfo) bool { return f.Name == c.Target }) {
		log.Info("finishing a compaction an earlier run did not finish", "into", c.Target)
		if err := removeSources(ctx, out, c); err != nil {
			return false, err
		}
	}
	return false, out.RemoveMeta(ctx, record)
}

func removeSources(ctx context.Context, out Out, c compaction) error {
	for _, s := range c.Sources {
		if s == c.Target {
			continue
		}
		if err := out.Remove(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// pendingFiles are the files of a partition that an input's unfinished
// flush names: found through the entries of the inputs whose files they
// are (part-<id>-<line>.parquet: the entry's name starts with id).
func pendingFiles(ctx context.Context, out Out, files []FileInfo) (map[string]bool, error) {
	ids := map[string]bool{}
	for _, f := range files {
		if id, ok := fileInput(path.Base(f.Name)); ok {
			ids[id] = true
		}
	}
	pending := map[string]bool{}
	for id := range ids {
		entries, err := out.Entries(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Pending != nil {
				for _, name := range e.Pending.Files {
					pending[name] = true
				}
			}
		}
	}
	return pending, nil
}

// fileInput is the input id of a file written by a Sink (part-<id>-<line>.parquet).
func fileInput(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "part-")
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(rest, "-")
	return id, ok && len(id) == 16
}

// mergeFiles writes the rows of c's sources, in their order, into c's
// target and publishes it; it returns the rows written.
func mergeFiles(ctx context.Context, out Out, c compaction, version string) (int64, error) {
	f, err := out.Create(c.Target)
	if err != nil {
		return 0, err
	}
	defer f.Abort()
	w := parquet.NewGenericWriter[Row](f, writerOptions(version, false)...)
	var rows int64
	for _, name := range c.Sources {
		n, err := copyFile(ctx, out, name, w)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		rows += n
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return rows, f.Publish(ctx)
}

// copyFile copies the rows of a data file into w.
func copyFile(ctx context.Context, out Out, name string, w *parquet.GenericWriter[Row]) (int64, error) {
	r, size, err := out.Open(ctx, name)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	ra, ok := r.(io.ReaderAt)
	if !ok {
		return 0, errors.New("not a file")
	}
	pf, err := parquet.OpenFile(ra, size)
	if err != nil {
		return 0, err
	}
	if v, _ := pf.Lookup("trackless.schema"); v != SchemaVersion {
		return 0, fmt.Errorf("written with schema %q, this trackless writes %q: compact it with the trackless that wrote it", v, SchemaVersion)
	}
	if !parquet.EqualNodes(pf.Schema(), w.Schema()) {
		return 0, errors.New("its columns are not the lake's")
	}
	var rows int64
	for _, rg := range pf.RowGroups() {
		rr := rg.Rows()
		n, err := parquet.CopyRows(w, rr)
		rr.Close()
		rows += n
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}
