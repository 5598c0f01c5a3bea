package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// Parquet is an input that is a Parquet file (CloudFront standard logging
// v2 can deliver its logs so): it is read as JSON lines, one object per
// row, its flat columns as keys with their values as strings (see
// parquetLines).
const Parquet Compression = "parquet"

// parquetMagic starts (and ends) a Parquet file.
var parquetMagic = []byte("PAR1")

// MaxParquetSize is the largest Parquet input read: a Parquet file is read
// from its end (its footer), so it is held in memory whole.
const MaxParquetSize = 1 << 30

// parquetLines returns the rows of the Parquet file r holds as JSON lines:
// {"column":"value",...}, one per row, in the file's order. Only columns
// at the top level and not repeated are written (a log's are); a null
// is left out; a
// number is written in decimal, a DATE as YYYY-MM-DD, a TIMESTAMP as Unix
// seconds with milliseconds, bytes as a string (invalid UTF-8 replaced).
func parquetLines(r io.Reader) (io.ReadCloser, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxParquetSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxParquetSize {
		return nil, fmt.Errorf("a Parquet log of more than %d MiB is not read", MaxParquetSize>>20)
	}
	f, err := openParquet(data)
	if err != nil {
		return nil, fmt.Errorf("not a Parquet file: %w", err)
	}
	// A damaged footer can claim any size: a file whose row groups say
	// more rows, or more bytes, than a log of its size has is refused
	// before its pages are decoded.
	for _, rg := range f.Metadata().RowGroups {
		if rg.NumRows < 0 || rg.NumRows > int64(len(data))*16 || rg.TotalByteSize > int64(len(data))*256+1<<20 {
			return nil, fmt.Errorf("damaged Parquet file: a row group says %d rows, %d bytes, in a file of %d bytes", rg.NumRows, rg.TotalByteSize, len(data))
		}
	}
	cols := f.Schema().Columns()
	keys := make([][]byte, len(cols))
	conv := make([]func(parquet.Value) string, len(cols))
	for i, path := range cols {
		leaf, _ := f.Schema().Lookup(path...)
		if len(path) != 1 || leaf.MaxRepetitionLevel > 0 {
			continue // nested, or a list
		}
		keys[i], _ = json.Marshal(path[0])
		conv[i] = valueString(leaf.Node.Type())
	}
	pr, pw := io.Pipe()
	go func() {
		var err error
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("damaged Parquet file: %v", p)
			}
			pw.CloseWithError(err)
		}()
		err = writeParquetLines(pw, f, keys, conv)
	}()
	return pr, nil
}

// openParquet opens a Parquet file held in data; a damaged one is an
// error, never a panic of the decoder.
func openParquet(data []byte) (f *parquet.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("damaged: %v", p)
		}
	}()
	return parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
}

func writeParquetLines(w io.Writer, f *parquet.File, keys [][]byte, conv []func(parquet.Value) string) error {
	var line []byte
	buf := make([]parquet.Row, 256)
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		for {
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				line = append(line[:0], '{')
				first := true
				for _, v := range row {
					c := v.Column()
					if c < 0 || c >= len(keys) || keys[c] == nil || v.IsNull() {
						continue
					}
					if !first {
						line = append(line, ',')
					}
					first = false
					line = append(line, keys[c]...)
					line = append(line, ':')
					s, _ := json.Marshal(conv[c](v))
					line = append(line, s...)
				}
				line = append(line, '}', '\n')
				if _, err := w.Write(line); err != nil {
					rows.Close()
					return err
				}
			}
			if errors.Is(err, io.EOF) || (n == 0 && err == nil) {
				break // (no rows and no error: a damaged file, not a loop)
			}
			if err != nil {
				rows.Close()
				return fmt.Errorf("Parquet: %w", err)
			}
		}
		rows.Close()
	}
	return nil
}

// valueString converts a value of a column of type t to a string.
func valueString(t parquet.Type) func(parquet.Value) string {
	var date, ts bool
	unit := time.Millisecond
	if lt := t.LogicalType(); lt != nil {
		switch v := lt.Value.(type) {
		case *format.DateType:
			date = true
		case *format.TimestampType:
			ts = true
			if v.Unit.Value != nil {
				unit = v.Unit.Value.Duration()
			}
		}
	}
	return func(v parquet.Value) string {
		switch v.Kind() {
		case parquet.Boolean:
			return strconv.FormatBool(v.Boolean())
		case parquet.Int32:
			if date {
				return time.Unix(int64(v.Int32())*86400, 0).UTC().Format(time.DateOnly)
			}
			return strconv.FormatInt(int64(v.Int32()), 10)
		case parquet.Int64:
			if ts {
				t := time.Unix(0, v.Int64()*int64(unit)).UTC()
				return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
			}
			return strconv.FormatInt(v.Int64(), 10)
		case parquet.Float:
			return strconv.FormatFloat(float64(v.Float()), 'f', -1, 32)
		case parquet.Double:
			return strconv.FormatFloat(v.Double(), 'f', -1, 64)
		default:
			return string(v.ByteArray())
		}
	}
}
