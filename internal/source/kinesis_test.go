package source

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/trackless/trackless/internal/awslambda"
	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/kinesis"
	"github.com/trackless/trackless/internal/kinesis/kinesistest"
	"github.com/trackless/trackless/internal/s3src"
)

// readAll reads an input's lines.
func readAll(t *testing.T, in *input.Input) []string {
	t.Helper()
	defer in.Close()
	l := in.Lines()
	var out []string
	for {
		line, err := l.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(line))
	}
}

// TestKinesisEventRecords: a Lambda event's records make one input per
// shard, named and identified as the shards of kinesis://NAME; read from
// a mark, only the records after it (at it, for a start mark) are read.
func TestKinesisEventRecords(t *testing.T) {
	const arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/pixel"
	var recs []awslambda.KinesisRecord
	for i := range 6 {
		recs = append(recs, awslambda.KinesisRecord{StreamARN: arn, ShardID: fmt.Sprintf("shardId-00000000000%d", i%2), Sequence: fmt.Sprintf("4959%02d", 10+i), Data: []byte(fmt.Sprintf("r%d", i))})
	}
	set, err := (&Sources{}).FromKinesisEvent(recs)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(set.Names) != "[kinesis://pixel/shardId-000000000000 kinesis://pixel/shardId-000000000001]" {
		t.Fatalf("names %v", set.Names)
	}
	stream, _ := kinesis.ParseURL("kinesis://pixel")
	if id := set.Identify(set.Names[1]); id.Key() != ShardIdentity(stream, "shardId-000000000001").Key() {
		t.Fatalf("identity %v", id)
	}
	for _, c := range []struct {
		mark input.Mark
		want string
	}{
		{input.Mark{}, "[r0 r2 r4]"},
		{input.Mark{Line: 7, Offset: 30, Position: "495912"}, "[r4]"},
		{input.Mark{Position: "495912", At: true}, "[r2 r4]"},
		{input.Mark{Line: 9, Offset: 40, Position: "495914"}, "[]"}, // the event again
	} {
		in, _ := set.Open(context.Background(), set.Names[0])
		if c.mark.Position != "" && !in.Jump(c.mark) {
			t.Fatalf("no jump to %+v", c.mark)
		}
		if got := fmt.Sprint(readAll(t, in)); got != c.want {
			t.Errorf("from %+v: read %s, want %s", c.mark, got, c.want)
		}
	}
	recs[3].Err = fmt.Errorf("not base64")
	if _, err := (&Sources{}).FromKinesisEvent(recs); err == nil || !strings.Contains(err.Error(), "495913") {
		t.Errorf("a record not decoded: %v", err)
	}
}

// TestUnread: sequence numbers compare as numbers.
func TestUnread(t *testing.T) {
	for _, c := range []struct {
		pos  string
		m    input.Mark
		want bool
	}{
		{"100", input.Mark{Line: 1, Position: "99"}, true},
		{"99", input.Mark{Line: 1, Position: "100"}, false},
		{"100", input.Mark{Line: 1, Position: "100"}, false},
		{"100", input.Mark{Position: "100", At: true}, true},
		{"49590338271490256608559692538361571095921575989136000010", input.Mark{Line: 1, Position: "49590338271490256608559692538361571095921575989136000009"}, true},
	} {
		if got := Unread(c.pos, c.m); got != c.want {
			t.Errorf("Unread(%s, %+v) = %v", c.pos, c.m, got)
		}
	}
}

// TestStreamShards: kinesis://NAME lists the stream's shards as inputs;
// a shard is read from its oldest record, or from the first at --since;
// --after delete or move is refused for a stream.
func TestStreamShards(t *testing.T) {
	kin := kinesistest.New(t)
	name := kin.CreateStream(t, 2)
	for i := range 6 {
		kin.Put(t, name, kinesistest.HashKey(int64(i%2), 2), []byte(fmt.Sprintf("record %d\n", i)))
	}
	client := kinesistest.NewClient(kin.Endpoint)
	s := &Sources{Kinesis: func(context.Context, kinesis.Stream) (kinesis.API, error) { return client, nil }}
	set, _, err := s.Resolve(context.Background(), []string{"kinesis://" + name})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Names) != 2 || set.Names[0] != "kinesis://"+name+"/shardId-000000000000" || !set.HasObjects() {
		t.Fatalf("names %v", set.Names)
	}
	in, _ := set.Open(context.Background(), set.Names[1])
	if got := fmt.Sprint(readAll(t, in)); got != "[record 1 record 3 record 5]" || !in.Unfinished() {
		t.Errorf("shard 1: %s, unfinished %v", got, in.Unfinished())
	}
	// --since after every record: nothing.
	s.Range = s3src.Range{Since: time.Now().Add(time.Hour)}
	if set, _, err = s.Resolve(context.Background(), []string{"kinesis://" + name}); err != nil {
		t.Fatal(err)
	}
	in, _ = set.Open(context.Background(), set.Names[0])
	if got := readAll(t, in); len(got) != 0 {
		t.Errorf("--since an hour from now read %v", got)
	}
	s.After = After{Kind: AfterDelete}
	if _, _, err := s.Resolve(context.Background(), []string{"kinesis://" + name}); err == nil || !strings.Contains(err.Error(), "--after delete") {
		t.Errorf("--after delete on a stream: %v", err)
	}
}

// countingAPI counts GetShardIterator calls.
type countingAPI struct {
	kinesis.API
	iterators atomic.Int32
}

func (c *countingAPI) GetShardIterator(ctx context.Context, in *awskinesis.GetShardIteratorInput, opts ...func(*awskinesis.Options)) (*awskinesis.GetShardIteratorOutput, error) {
	c.iterators.Add(1)
	return c.API.GetShardIterator(ctx, in, opts...)
}

// TestReadersAcrossRuns: a run that reads a shard on from where the last
// one stopped goes on with its reader (no new iterator); one that reads
// from elsewhere gets a new one. Shards are not looked into to be ordered
// (FirstHint answers for them).
func TestReadersAcrossRuns(t *testing.T) {
	kin := kinesistest.New(t)
	name := kin.CreateStream(t, 1)
	for i := range 3 {
		kin.Put(t, name, kinesistest.HashKey(0, 1), []byte(fmt.Sprintf("record %d\n", i)))
	}
	api := &countingAPI{API: kinesistest.NewClient(kin.Endpoint)}
	s := &Sources{Kinesis: func(context.Context, kinesis.Stream) (kinesis.API, error) { return api, nil }, Readers: &Readers{}}
	round := func(from input.Mark) ([]string, input.Mark) {
		t.Helper()
		set, _, err := s.Resolve(context.Background(), []string{"kinesis://" + name})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := set.FirstHint(set.Names[0]); !ok {
			t.Fatal("a shard has no first hint: it would be read to be ordered")
		}
		in, _ := set.Open(context.Background(), set.Names[0])
		if from.Valid() && !in.Jump(from) {
			t.Fatal("no jump")
		}
		defer in.Close()
		l := in.Lines()
		var got []string
		var last input.Mark
		for {
			line, err := l.Next()
			if err != nil {
				break
			}
			got = append(got, string(line))
			last, _ = l.Mark()
		}
		return got, last
	}
	got, m := round(input.Mark{})
	if len(got) != 3 || api.iterators.Load() != 1 {
		t.Fatalf("first run: %v, %d iterators", got, api.iterators.Load())
	}
	kin.Put(t, name, kinesistest.HashKey(0, 1), []byte("record 3\n"))
	got, _ = round(m)
	if fmt.Sprint(got) != "[record 3]" || api.iterators.Load() != 1 {
		t.Fatalf("second run: %v, %d iterators (want the first one still)", got, api.iterators.Load())
	}
	// A run from an earlier record (the last one not confirmed) starts anew.
	if got, _ = round(m); fmt.Sprint(got) != "[record 3]" || api.iterators.Load() != 2 {
		t.Fatalf("third run: %v, %d iterators", got, api.iterators.Load())
	}
}
