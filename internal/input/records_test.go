package input

import (
	"context"
	"fmt"
	"io"
	"testing"
)

// fakeStream serves records 1..n in calls of at most per, positions
// "p<i>"; ended says whether it ends after them.
type fakeStream struct {
	recs  []Record
	per   int
	after string
	ended bool
}

func (f *fakeStream) Next(ctx context.Context) ([]Record, error) {
	if len(f.recs) == 0 {
		return nil, io.EOF
	}
	n := min(f.per, len(f.recs))
	out := f.recs[:n]
	f.recs = f.recs[n:]
	return out, nil
}

func (f *fakeStream) Ended() bool { return f.ended }

func streamOf(n int, ended bool) (StartFunc, *string) {
	var started string
	return func(ctx context.Context, from Mark) (RecordReader, error) {
		after := from.Position
		started = "start:" + after
		f := &fakeStream{per: 3, ended: ended}
		skip := after != ""
		for i := 1; i <= n; i++ {
			p := fmt.Sprintf("p%d", i)
			if skip {
				skip = p != after
				continue
			}
			data := fmt.Sprintf("line %d", i)
			if i%2 == 0 {
				data += "\n" // some records end with a newline, some not
			}
			f.recs = append(f.recs, Record{Data: []byte(data), Position: p})
		}
		return f, nil
	}, &started
}

// TestRecordsLinesAndMarks: a stream's records are its lines, each a
// place to read on from (its mark has the record's position); a jump to a
// mark starts after that record and numbers on from its line; Unfinished
// says whether the stream will have more.
func TestRecordsLinesAndMarks(t *testing.T) {
	for _, ended := range []bool{false, true} {
		start, started := streamOf(7, ended)
		in := FromRecords("kinesis://s/shardId-0", nil, start)
		if !in.IsStream() {
			t.Fatal("not a stream")
		}
		l := in.Lines()
		var marks []Mark
		for {
			line, err := l.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("line %d", l.Line()); string(line) != want {
				t.Fatalf("line %d: %q", l.Line(), line)
			}
			m, ok := l.Mark()
			if !ok || m.Position != fmt.Sprintf("p%d", l.Line()) || m.Line != l.Line() {
				t.Fatalf("line %d: mark %+v %v", l.Line(), m, ok)
			}
			marks = append(marks, m)
		}
		if *started != "start:" || in.Unfinished() == ended {
			t.Fatalf("started %q, unfinished %v (ended %v)", *started, in.Unfinished(), ended)
		}
		in.Close()

		// A later run with the stream through line 4 reads on from there.
		start, started = streamOf(7, ended)
		in = FromRecords("kinesis://s/shardId-0", nil, start)
		if !in.Jump(marks[3]) {
			t.Fatal("no jump to a record's mark")
		}
		l = in.Lines()
		var got []string
		for {
			line, err := l.Next()
			if err != nil {
				break
			}
			got = append(got, fmt.Sprintf("%d:%s", l.Line(), line))
		}
		if *started != "start:p4" || fmt.Sprint(got) != "[5:line 5 6:line 6 7:line 7]" {
			t.Fatalf("started %q, read %v", *started, got)
		}
		if m, ok := l.Mark(); !ok || m != marks[6] {
			t.Fatalf("mark after the jump %+v, want %+v", m, marks[6])
		}
		in.Close()
	}
}

// TestRecordsMarkOnlyAtARecordsEnd: a record of several lines gives a
// mark at its last line only; a mark without a position is no jump.
func TestRecordsMarkOnlyAtARecordsEnd(t *testing.T) {
	in := FromRecords("s", nil, func(ctx context.Context, from Mark) (RecordReader, error) {
		return &fakeStream{per: 10, recs: []Record{{Data: []byte("a\nb\nc\n"), Position: "p1"}, {Data: []byte("d"), Position: "p2"}}}, nil
	})
	if in.Jump(Mark{Line: 3, Offset: 6}) {
		t.Fatal("jumped to a mark without a position")
	}
	l := in.Lines()
	var ok []bool
	for {
		if _, err := l.Next(); err != nil {
			break
		}
		_, k := l.Mark()
		ok = append(ok, k)
	}
	if fmt.Sprint(ok) != "[false false true true]" {
		t.Fatalf("marks %v", ok)
	}
	in.Close()
}

// TestRecordsCloseBeforeRead: closing a stream's input that was never
// read does not start it.
func TestRecordsCloseBeforeRead(t *testing.T) {
	in := FromRecords("s", nil, func(ctx context.Context, from Mark) (RecordReader, error) {
		t.Fatal("started")
		return nil, nil
	})
	in.Close()
}
