package lake

import (
	"fmt"
	"time"

	"github.com/parquet-go/parquet-go"
)

// The shape of the files (docs/lake.md, "Files"): what the readers of a
// lake (Athena, Trino, Spark, DuckDB) all read, and what scans cheaply.
const (
	// rowGroupRows is the most rows in a row group: about 10-30 MB of
	// zstd per group for access logs, the size scans like.
	rowGroupRows = 1 << 20
	// pageBuffer is the size of a column's page before it is compressed:
	// each open file has one per column.
	pageBuffer = 32 << 10
	// maxBuffered is the most rows a Sink holds in the row groups of its
	// open files (compressed pages in memory until the row group is
	// written out): past it, the file holding the most ends its row group.
	maxBuffered = 128 << 10
	// bloomBits is the bits per distinct value of the bloom filters (about
	// 1 % false positives).
	bloomBits = 10
)

// SchemaVersion is the version of the Row schema, in each file's
// key-value metadata (trackless.schema): a column added bumps it.
const SchemaVersion = "1"

// writerOptions are those of every data file: zstd; version 1 data
// pages with PLAIN or dictionary encodings (parquet-go's default, version
// 2 pages with DELTA_LENGTH_BYTE_ARRAY strings, is what readers built on
// parquet-mr and Iceberg's vectorized reader fail on); split-block bloom
// filters on the columns people look up one value of; page statistics.
func writerOptions(version string, v2 bool) []parquet.WriterOption {
	pages := []parquet.WriterOption{parquet.DataPageVersion(1), parquet.DefaultEncodingFor(parquet.ByteArray, &parquet.Plain)}
	if v2 {
		pages = nil // parquet-go's default, for BenchmarkSink's comparison
	}
	return append(pages,
		parquet.Compression(&parquet.Zstd),
		parquet.BloomFilters(
			parquet.SplitBlockFilter(bloomBits, "client_ip"),
			parquet.SplitBlockFilter(bloomBits, "path"),
			parquet.SplitBlockFilter(bloomBits, "request_id"),
		),
		parquet.DataPageStatistics(true),
		parquet.MaxRowsPerRowGroup(rowGroupRows),
		parquet.PageBufferSize(pageBuffer),
		parquet.CreatedBy("trackless", version, ""),
		parquet.KeyValueMetadata("trackless.schema", SchemaVersion),
	)
}

// hourOf is the hour a time falls in: hours since the Unix epoch, UTC.
func hourOf(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - 3599) / 3600
	}
	return s / 3600
}

// partition is the directory of an hour: "dt=YYYY-MM-DD/hour=HH".
func partition(hour int64) string {
	t := time.Unix(hour*3600, 0).UTC()
	return fmt.Sprintf("dt=%s/hour=%02d", t.Format(time.DateOnly), t.Hour())
}

// fileWriter writes one data file: the rows of one input in one hour.
type fileWriter struct {
	name    string
	hour    int64
	f       File
	w       *parquet.GenericWriter[Row]
	rows    int64
	inGroup int64 // rows in the row group being written
	used    int64 // when last written to (the writer's count of rows), for closing the least used
}

func newFileWriter(out Out, name string, hour int64, version string, v2 bool) (*fileWriter, error) {
	f, err := out.Create(name)
	if err != nil {
		return nil, err
	}
	return &fileWriter{name: name, hour: hour, f: f, w: parquet.NewGenericWriter[Row](f, writerOptions(version, v2)...)}, nil
}

// write adds a row (a slice of one, not to allocate one per row). The
// row's strings need not outlive the call.
func (fw *fileWriter) write(row []Row) error {
	if _, err := fw.w.Write(row); err != nil {
		return fmt.Errorf("lake: writing %s: %w", fw.name, err)
	}
	fw.rows++
	fw.inGroup++
	return nil
}

// endGroup writes the row group being written out to the file.
func (fw *fileWriter) endGroup() error {
	if err := fw.w.Flush(); err != nil {
		return fmt.Errorf("lake: writing %s: %w", fw.name, err)
	}
	fw.inGroup = 0
	return nil
}

// close writes the file's footer: the file is whole, not yet published.
func (fw *fileWriter) close() error {
	if err := fw.w.Close(); err != nil {
		return fmt.Errorf("lake: writing %s: %w", fw.name, err)
	}
	return nil
}
