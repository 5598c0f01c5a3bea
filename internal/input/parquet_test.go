package input

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

type cfParquetRow struct {
	Date   string `parquet:"date"`
	Time   string `parquet:"time"`
	Stem   string `parquet:"cs_uri_stem"`
	Status *int32 `parquet:"sc_status,optional"`
	Day    int32  `parquet:"day,date"`
	TS     int64  `parquet:"ts,timestamp(microsecond)"`
	Tags   []string
}

func parquetBytes(t testing.TB) []byte {
	var b bytes.Buffer
	s := int32(200)
	if err := parquet.Write(&b, []cfParquetRow{
		{Date: "2026-11-01", Time: "10:00:00", Stem: "/a\tb\"c", Status: &s, Day: 20393, TS: 1762000000123456, Tags: []string{"x"}},
		{Date: "2026-11-01", Time: "10:00:01", Stem: "/d"},
	}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestParquetLines: a Parquet input is read as JSON lines of its flat
// columns; nulls left out, dates and timestamps as strings.
func TestParquetLines(t *testing.T) {
	in, err := FromReader("x.parquet", bytes.NewReader(parquetBytes(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if in.Compression != Parquet {
		t.Fatalf("compression %q", in.Compression)
	}
	data, err := io.ReadAll(in.decoded)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"date":"2026-11-01","time":"10:00:00","cs_uri_stem":"/a\tb\"c","sc_status":"200","day":"2025-11-01","ts":"1762000000.123"}
{"date":"2026-11-01","time":"10:00:01","cs_uri_stem":"/d","day":"1970-01-01","ts":"0.000"}
`
	if string(data) != want {
		t.Errorf("got\n%s\nwant\n%s", data, want)
	}
}

// A damaged Parquet file is an error of the input, never a crash.
func TestParquetDamaged(t *testing.T) {
	good := parquetBytes(t)
	for _, cut := range []int{4, 20, len(good) / 2, len(good) - 5} {
		bad := append(append([]byte{}, good[:cut]...), "PAR1"...)
		in, err := FromReader("x.parquet", bytes.NewReader(bad))
		if err != nil {
			if !strings.Contains(err.Error(), "Parquet") {
				t.Errorf("cut at %d: %v", cut, err)
			}
			continue
		}
		io.ReadAll(in.decoded)
		in.Close()
	}
}

func FuzzParquetLines(f *testing.F) {
	f.Add(parquetBytes(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parquetLines(bytes.NewReader(data))
		if err != nil {
			return
		}
		io.Copy(io.Discard, r)
		r.Close()
	})
}
