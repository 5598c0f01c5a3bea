package kinesis

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

var base = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// fixedRand makes the jitter predictable: every wait is exactly half its
// base.
func fixedRand() float64 { return 0 }

func fakeOptions(clock *fakeClock) ReaderOptions {
	return ReaderOptions{Backoff: Backoff{Clock: clock, Rand: fixedRand}}
}

// readAll calls Next until the shard is caught up or ends, and returns the
// records' data.
func readAll(t *testing.T, r *Reader) (data []string, last Batch) {
	t.Helper()
	for range 1000 {
		b, err := r.Next(context.Background())
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		for _, rec := range b.Records {
			data = append(data, string(rec.Data))
		}
		if b.CaughtUp || b.End {
			return data, b
		}
	}
	t.Fatal("no end after 1000 calls")
	return nil, Batch{}
}

func recordData(id string, from, to int) []string {
	var d []string
	for i := from; i < to; i++ {
		d = append(d, id+"-"+strconv.Itoa(i)+"\n")
	}
	return d
}

func TestReaderReadsInOrderUntilCaughtUp(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(clock, "shard-0")
	api.put("shard-0", 7, base)
	api.perCall = 3
	r := NewReader(api, Stream{Name: "s"}, "shard-0", TrimHorizon(), fakeOptions(clock))
	var seqs []string
	var batches []Batch
	for {
		b, err := r.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b)
		for _, rec := range b.Records {
			if rec.ShardID != "shard-0" || rec.PartitionKey != "k" || !rec.ArrivalTime.Equal(base.Add(time.Duration(len(seqs))*time.Second)) {
				t.Errorf("record %d: %+v", len(seqs), rec)
			}
			seqs = append(seqs, rec.SequenceNumber)
		}
		if b.CaughtUp {
			break
		}
	}
	// 3 + 3 + 1 records, then one empty answer with MillisBehindLatest 0.
	if len(batches) != 4 || len(batches[2].Records) != 1 || batches[2].CaughtUp || !batches[3].CaughtUp || len(batches[3].Records) != 0 {
		t.Errorf("batches: %+v", batches)
	}
	if batches[0].Behind != time.Second || batches[3].Behind != 0 {
		t.Errorf("Behind: %v, %v", batches[0].Behind, batches[3].Behind)
	}
	if !slices.IsSorted(seqs) || len(seqs) != 7 || r.LastSequence() != seqs[6] {
		t.Errorf("sequence numbers %v, last %q", seqs, r.LastSequence())
	}
}

// The API allows 5 GetRecords calls a second per shard: the Reader makes at
// most 5 in any second of (fake) time, and, once caught up, one a second.
func TestReaderKeepsTo5CallsPerSecond(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(clock, "shard-0")
	api.put("shard-0", 30, base)
	api.perCall = 1
	r := NewReader(api, Stream{Name: "s"}, "shard-0", TrimHorizon(), fakeOptions(clock))
	if data, _ := readAll(t, r); len(data) != 30 {
		t.Fatalf("read %d records", len(data))
	}
	for range 3 { // idle polls
		if _, err := r.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	calls := api.callsOf("GetRecords")
	if len(calls) != 34 { // 30 records, one caught-up answer, 3 more polls
		t.Fatalf("%d GetRecords calls", len(calls))
	}
	for i := range calls {
		// No 6 calls within one second.
		if j := i + 5; j < len(calls) && calls[j].at.Sub(calls[i].at) < time.Second {
			t.Errorf("calls %d to %d within %v", i, j, calls[j].at.Sub(calls[i].at))
		}
	}
	for i := 32; i < len(calls); i++ {
		if d := calls[i].at.Sub(calls[i-1].at); d < time.Second {
			t.Errorf("idle call %d came %v after the one before", i, d)
		}
	}
	// Not slower than needed either: 30 calls at 200ms.
	if d := calls[30].at.Sub(calls[0].at); d != 30*200*time.Millisecond {
		t.Errorf("30 calls took %v of fake time", d)
	}
}

// TestReaderKeepsTo2MiBPerSecond: after a call that returned many bytes,
// the next waits until the shard's 2 MiB/s read budget has paid for them.
func TestReaderKeepsTo2MiBPerSecond(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(clock, "shard-0")
	api.put("shard-0", 4, base)
	for i := range api.shard("shard-0").records {
		api.shard("shard-0").records[i].Data = make([]byte, 1<<20) // 1 MiB each
	}
	api.perCall = 2
	r := NewReader(api, Stream{Name: "s"}, "shard-0", TrimHorizon(), fakeOptions(clock))
	if data, _ := readAll(t, r); len(data) != 4 {
		t.Fatalf("read %d records", len(data))
	}
	calls := api.callsOf("GetRecords")
	if len(calls) < 2 {
		t.Fatalf("%d GetRecords calls", len(calls))
	}
	if d := calls[1].at.Sub(calls[0].at); d != time.Second {
		t.Errorf("the call after 2 MiB came %v after it, want 1s", d)
	}
}

// An empty answer that is behind the tip (a stretch of the shard with no
// records) is not "caught up": the Reader goes on at the full rate.
func TestReaderEmptyButBehindIsNotCaughtUp(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(clock, "shard-0")
	api.put("shard-0", 2, base)
	api.gap = 3
	r := NewReader(api, Stream{Name: "s"}, "shard-0", TrimHorizon(), fakeOptions(clock))
	data, last := readAll(t, r)
	if want := recordData("shard-0", 0, 2); !slices.Equal(data, want) || !last.CaughtUp {
		t.Errorf("read %q (%+v), want %q", data, last, want)
	}
	calls := api.callsOf("GetRecords")
	if len(calls) != 5 {
		t.Fatalf("%d calls", len(calls))
	}
	if d := calls[3].at.Sub(calls[0].at); d != 3*200*time.Millisecond {
		t.Errorf("the calls through the gap took %v", d)
	}
}

// ProvisionedThroughputExceededException is retried after waits that grow
// (never a busy loop), and the records come through once.
func TestReaderBacksOffWhenThrottled(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(clock, "shard-0")
	api.put("shard-0", 2, base)
	api.failGetRecords = func(n int) error {
		if n <= 4 {
			return throttled()
		}
		return nil
	}
	r := NewReader(api, Stream{Name: "s"}, "shard-0", TrimHorizon(), fakeOptions(clock))
	b, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Records) != 2 {
		t.Fatalf("got %d records", len(b.Records))
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}
	if got := clock.slept(); !slices.Equal(got, want) {
		t.Errorf("slept %v, want %v", got, want)
	}
	calls := api.callsOf("GetRecords")
	for i := 1; i < len(calls); i++ {
		if !calls[i].at.After(calls[i-1].at) {
			t.Errorf("call %d at the same time as the one before", i)
		}
	}
}

func TestReaderGivesUpAfterRetries(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(clock, "shard-0")
	api.failGetRecords = func(int) error { return throttled() }
	opts := fakeOptions(clock)
	opts.Retries = 5
	opts.Max = 2 * time.Second
	r := NewReader(api, Stream{Name: "s"}, "shard-0", TrimHorizon(), opts)
	_, err := r.Next(context.Background())
	var pte *types.ProvisionedThroughputExceededException
	if !errors.As(err, &pte) {
		t.Fatalf("err = %v, want ProvisionedThroughputExceededException", err)
	}
	if n := len(api.callsOf("GetRecords")); n != 6 {
		t.Errorf("%d calls, want 6 (1 + 5 retries)", n)
	}
	want := []time.Duration{200, 400, 800, 1000, 1000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if got := clock.slept(); !slices.Equal(got, want) {
		t.Errorf("slept %v, want %v (capped at Max/2 with no jitter)", got, want)
	}
}

// With Retries < 0 a throttled Reader waits until its context is done.
func TestReaderRetriesUntilContextDone(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(clock, "shard-0")
	api.failGetRecords = func(int) error { return throttled() }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock.onSleep = func(n int) {
		if n == 40 {
			cancel()
		}
	}
	opts := fakeOptions(clock)
	opts.Retries = -1
	r := NewReader(api, Stream{Name: "s"}, "shard-0", TrimHorizon(), opts)
	_, err := r.Next(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := len(api.callsOf("GetRecords")); n != 40 {
		t.Errorf("%d calls, want 40", n)
	}
	for _, d := range clock.slept() {
		if d < 200*time.Millisecond || d > 5*time.Second {
			t.Errorf("slept %v", d)
		}
	}
}

func TestReaderRetriesServerErrorsOnly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		retry bool
	}{
		{"InternalFailure", &types.InternalFailureException{Message: aws.String("oops")}, true},
		{"HTTP 503", httpError(503), true},
		{"HTTP 500", httpError(500), true},
		{"KMSThrottling", &types.KMSThrottlingException{}, true},
		{"InvalidArgument", invalid("no"), false},
		{"AccessDenied", &types.AccessDeniedException{}, false},
		{"HTTP 400", httpError(400), false},
		{"ResourceNotFound", &types.ResourceNotFoundException{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			api := newFakeAPI(clock, "shard-0")
			api.put("shard-0", 1, base)
			api.failGetRecords = func(n int) error {
				if n == 1 {
					return tc.err
				}
				return nil
			}
			r := NewReader(api, Stream{Name: "s"}, "shard-0", TrimHorizon(), fakeOptions(clock))
			b, err := r.Next(context.Background())
			if tc.retry && (err != nil || len(b.Records) != 1) {
				t.Errorf("Next = %d records, %v; want the record after a retry", len(b.Records), err)
			}
			if !tc.retry && (err == nil || !errors.Is(err, tc.err)) {
				t.Errorf("Next error = %v, want %v at once", err, tc.err)
			}
			if n := len(api.callsOf("GetRecords")); n != map[bool]int{true: 2, false: 1}[tc.retry] {
				t.Errorf("%d calls", n)
			}
		})
	}
}

// An expired iterator is renewed just after the last record returned: no
// record lost, none twice.
func TestReaderRenewsExpiredIteratorAfterLastRecord(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(clock, "shard-0")
	api.put("shard-0", 5, base)
	api.perCall = 3
	api.failGetRecords = func(n int) error {
		if n == 2 {
			return &types.ExpiredIteratorException{Message: aws.String("Iterator expired")}
		}
		return nil
	}
	r := NewReader(api, Stream{Name: "s"}, "shard-0", AtTimestamp(base), fakeOptions(clock))
	data, _ := readAll(t, r)
	if want := recordData("shard-0", 0, 5); !slices.Equal(data, want) {
		t.Errorf("read %q, want %q", data, want)
	}
	its := api.callsOf("GetShardIterator")
	if len(its) != 2 || its[0].itype != types.ShardIteratorTypeAtTimestamp ||
		its[1].itype != types.ShardIteratorTypeAfterSequenceNumber || its[1].pos != "shard-0-000002" {
		t.Errorf("GetShardIterator calls: %+v", its)
	}
}

// Before any record, an expired iterator is renewed at the start position.
func TestReaderRenewsExpiredIteratorAtStart(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(clock, "shard-0")
	api.put("shard-0", 4, base)
	api.failGetRecords = func(n int) error {
		if n == 1 {
			return &types.ExpiredIteratorException{}
		}
		return nil
	}
	r := NewReader(api, Stream{Name: "s"}, "shard-0", AtTimestamp(base.Add(2*time.Second)), fakeOptions(clock))
	data, _ := readAll(t, r)
	if want := recordData("shard-0", 2, 4); !slices.Equal(data, want) {
		t.Errorf("read %q, want %q", data, want)
	}
	its := api.callsOf("GetShardIterator")
	if len(its) != 2 || its[1].itype != types.ShardIteratorTypeAtTimestamp || its[1].pos != its[0].pos {
		t.Errorf("GetShardIterator calls: %+v", its)
	}
}

// An iterator that keeps expiring is an error, not an endless loop.
func TestReaderStopsRenewingForever(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(clock, "shard-0")
	api.failGetRecords = func(int) error { return &types.ExpiredIteratorException{} }
	r := NewReader(api, Stream{Name: "s"}, "shard-0", TrimHorizon(), fakeOptions(clock))
	_, err := r.Next(context.Background())
	var expired *types.ExpiredIteratorException
	if !errors.As(err, &expired) {
		t.Fatalf("err = %v", err)
	}
	if n := len(api.callsOf("GetShardIterator")); n != 1+maxRenewals {
		t.Errorf("%d GetShardIterator calls", n)
	}
}

// A checkpoint (AFTER_SEQUENCE_NUMBER) reads only the later records.
func TestReaderStartsAfterCheckpoint(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(clock, "shard-0")
	api.put("shard-0", 6, base)
	r := NewReader(api, Stream{Name: "s"}, "shard-0", AfterSequence("shard-0-000003"), fakeOptions(clock))
	data, _ := readAll(t, r)
	if want := recordData("shard-0", 4, 6); !slices.Equal(data, want) {
		t.Errorf("read %q, want %q", data, want)
	}
}

func TestReaderShardEnd(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(clock, "shard-0")
	api.put("shard-0", 4, base)
	api.perCall = 3
	sh := api.shard("shard-0")
	sh.closed = true
	sh.children = []types.ChildShard{
		{ShardId: aws.String("shard-1"), ParentShards: []string{"shard-0"}},
		{ShardId: aws.String("shard-2"), ParentShards: []string{"shard-0", "shard-9"}},
	}
	r := NewReader(api, Stream{Name: "s"}, "shard-0", TrimHorizon(), fakeOptions(clock))
	data, last := readAll(t, r)
	if want := recordData("shard-0", 0, 4); !slices.Equal(data, want) {
		t.Errorf("read %q, want %q", data, want)
	}
	wantChildren := []Shard{{ID: "shard-1", ParentID: "shard-0"}, {ID: "shard-2", ParentID: "shard-0", AdjacentParentID: "shard-9"}}
	if !last.End || last.CaughtUp || len(last.Records) != 1 || !slices.Equal(last.Children, wantChildren) {
		t.Errorf("last batch %+v", last)
	}
	if _, err := r.Next(context.Background()); err != io.EOF {
		t.Errorf("Next after the end: %v, want io.EOF", err)
	}
	if n := len(api.callsOf("GetRecords")); n != 2 {
		t.Errorf("%d GetRecords calls", n)
	}
}

// GetShardIterator with no iterator (a closed shard, nothing after the
// checkpoint) is the shard's end.
func TestReaderNoIteratorIsEnd(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(clock, "shard-0")
	api.noIterator = true
	r := NewReader(api, Stream{Name: "s"}, "shard-0", TrimHorizon(), fakeOptions(clock))
	b, err := r.Next(context.Background())
	if err != nil || !b.End || len(b.Records) != 0 {
		t.Fatalf("Next = %+v, %v", b, err)
	}
	if _, err := r.Next(context.Background()); err != io.EOF {
		t.Errorf("then %v", err)
	}
	if n := len(api.callsOf("GetRecords")); n != 0 {
		t.Errorf("%d GetRecords calls", n)
	}
}

func TestReaderSendsARN(t *testing.T) {
	clock := newFakeClock()
	rec := &recordingAPI{API: newFakeAPI(clock, "shard-0")}
	arn := "arn:aws:kinesis:us-east-1:123456789012:stream/s"
	r := NewReader(rec, Stream{ARN: arn}, "shard-0", TrimHorizon(), fakeOptions(clock))
	if _, err := r.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec.iteratorName != nil || aws.ToString(rec.iteratorARN) != arn || aws.ToString(rec.recordsARN) != arn {
		t.Errorf("StreamName %v, StreamARN %v, GetRecords StreamARN %v", rec.iteratorName, rec.iteratorARN, rec.recordsARN)
	}
}

func TestBackoffWait(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	for _, r := range []float64{0, 0.5, 0.999} {
		b.Rand = func() float64 { return r }
		b = b.withDefaults()
		for n, base := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
			base *= time.Millisecond
			got := b.wait(n + 1)
			if got < base/2 || got >= base {
				t.Errorf("rand %v: wait(%d) = %v, want in [%v, %v)", r, n+1, got, base/2, base)
			}
		}
	}
}

// recordingAPI notes the stream fields of the requests.
type recordingAPI struct {
	API
	iteratorName, iteratorARN, recordsARN *string
}

func (r *recordingAPI) GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, opts ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	r.iteratorName, r.iteratorARN = in.StreamName, in.StreamARN
	return r.API.GetShardIterator(ctx, in, opts...)
}

func (r *recordingAPI) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	r.recordsARN = in.StreamARN
	return r.API.GetRecords(ctx, in, opts...)
}
