package awslambda

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

const s3Event = `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"eu-west-1","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"logs"},"object":{"key":"cf/my+logs/E2Q.2025-03-14-08.a%2Bb%3D.gz","size":18342,"eTag":"0f1e2d","sequencer":"0067"}}}]}`

func sqs(bodies ...string) string {
	var recs []string
	for i, b := range bodies {
		q, _ := json.Marshal(b)
		recs = append(recs, `{"messageId":"m`+string(rune('0'+i))+`","receiptHandle":"r","body":`+string(q)+`,"eventSource":"aws:sqs","awsRegion":"eu-west-1"}`)
	}
	return `{"Records":[` + strings.Join(recs, ",") + `]}`
}

func TestDecode(t *testing.T) {
	eb := `{"version":"0","id":"2b8f","detail-type":"Object Created","source":"aws.s3","account":"1","time":"2025-03-14T09:02:11Z","region":"eu-west-1","resources":[],"detail":{"version":"0","bucket":{"name":"logs"},"object":{"key":"cf/E2Q.2025-03-14-08.x.gz","size":7,"etag":"abc","sequencer":"1"},"reason":"PutObject"}}`
	test := `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2025-03-14T09:02:11.520Z","Bucket":"logs","RequestId":"x","HostId":"y"}`
	sns, _ := json.Marshal(map[string]string{"Type": "Notification", "Message": s3Event})
	for _, c := range []struct {
		name, event string
		kind        Kind
		keys        []string
		err         string
	}{
		{"s3", s3Event, KindS3, []string{"cf/my logs/E2Q.2025-03-14-08.a+b=.gz"}, ""},
		{"eventbridge", eb, KindEventBridge, []string{"cf/E2Q.2025-03-14-08.x.gz"}, ""},
		{"test event", test, KindTest, nil, ""},
		{"deletion", strings.Replace(s3Event, "ObjectCreated:Put", "ObjectRemoved:Delete", 1), KindS3, nil, ""},
		{"kinesis without a sequence number", `{"Records":[{"eventSource":"aws:kinesis"}]}`, "", nil, "no sequence number"},
		{"other", `{"hello":1}`, "", nil, "not an S3"},
		{"not json", `{`, "", nil, "not JSON"},
		{"sqs", sqs(s3Event, "garbage", test, string(sns)), KindSQS, nil, ""},
	} {
		ev, err := Decode([]byte(c.event))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || ev.Kind != c.kind {
			t.Errorf("%s: %+v, %v", c.name, ev, err)
			continue
		}
		var keys []string
		for _, o := range ev.Objects {
			keys = append(keys, o.Key)
		}
		if strings.Join(keys, "|") != strings.Join(c.keys, "|") {
			t.Errorf("%s: keys %q, want %q", c.name, keys, c.keys)
		}
	}
	if ev, _ := Decode([]byte(eb)); ev.Objects[0].ETag != "abc" || ev.Objects[0].Size != 7 {
		t.Errorf("EventBridge object %+v", ev.Objects[0])
	}
	ev, _ := Decode([]byte(sqs(s3Event, "garbage", test, string(sns))))
	m := ev.Messages
	if len(m) != 4 || len(m[0].Objects) != 1 || m[0].Objects[0].ETag != "0f1e2d" || m[1].Err == nil || !m[2].Test || len(m[3].Objects) != 1 {
		t.Errorf("sqs messages %+v", m)
	}
}

// An SQS batch answers with exactly the messages that failed; other
// events fail as a whole.
func TestHandlerSQS(t *testing.T) {
	bad := strings.Replace(s3Event, "my+logs", "bad", 1)
	h := &Handler{Log: slog.New(slog.DiscardHandler), Process: func(ctx context.Context, objs []Object) error {
		if strings.HasPrefix(objs[0].Key, "cf/bad") {
			return errors.New("cannot")
		}
		return nil
	}}
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), []byte(sqs(s3Event, bad, "{", s3Event)))
	if err != nil {
		t.Fatal(err)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	if strings.Join(ids, ",") != "m1,m2" {
		t.Errorf("failures %q, want m1,m2 (%s)", ids, out)
	}
	if _, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), []byte(bad)); err == nil {
		t.Error("a direct S3 event that fails must fail the invocation")
	}
	if out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), []byte(s3Event)); err != nil || string(out) != "null" {
		t.Errorf("success: %s %v", out, err)
	}
}

// FuzzDecode: any event is decoded or refused with an error, never a
// panic, and what is decoded names a bucket and a key.
func FuzzDecode(f *testing.F) {
	f.Add(s3Event)
	f.Add(sqs(s3Event, "x", `{"Service":"Amazon S3","Event":"s3:TestEvent"}`))
	f.Add(`{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"b"},"object":{"key":"k%2"}}}`)
	f.Add(kinesisEvent)
	f.Add(`{"Records":[{"eventSource":"aws:kinesis","eventID":":","kinesis":{"sequenceNumber":"1","data":"=","approximateArrivalTimestamp":1e300}}]}`)
	f.Fuzz(func(t *testing.T, raw string) {
		ev, err := Decode([]byte(raw))
		if err != nil {
			return
		}
		objs := ev.Objects
		for _, m := range ev.Messages {
			objs = append(objs, m.Objects...)
		}
		for _, o := range objs {
			if o.Key == "" && o.Bucket == "" && ev.Kind == KindEventBridge {
				t.Errorf("EventBridge object without bucket and key: %q", raw)
			}
		}
		for _, r := range ev.Records {
			if r.Sequence == "" || (r.Err != nil && r.Data != nil) {
				t.Errorf("Kinesis record without a sequence number, or with data and an error: %+v", r)
			}
		}
	})
}

// kinesisEvent is a Lambda event of a Kinesis event source mapping, as
// AWS documents it: two CloudFront real-time records of one shard.
const kinesisEvent = `{"Records":[
 {"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"1","sequenceNumber":"49590338271490256608559692538361571095921575989136588898","data":"MTU5MTM3MTI0NS4xMjMJMTk4LjUxLjEwMC4xCUdFVAkvcGl4ZWwK","approximateArrivalTimestamp":1591371245.123},
  "eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"shardId-000000000006:49590338271490256608559692538361571095921575989136588898","eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::123456789012:role/lambda-role","awsRegion":"us-east-2","eventSourceARN":"arn:aws:kinesis:us-east-2:123456789012:stream/cf-realtime"},
 {"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"1","sequenceNumber":"49590338271490256608559692540925702759324208523137515618","data":"bm90IGJhc2U2NCE=","approximateArrivalTimestamp":1591371246.5},
  "eventSource":"aws:kinesis","eventID":"shardId-000000000006:49590338271490256608559692540925702759324208523137515618","eventSourceARN":"arn:aws:kinesis:us-east-2:123456789012:stream/cf-realtime"}]}`

// TestDecodeKinesis: a Kinesis event's records are decoded in order, with
// their shard, sequence number, arrival time and data; a record whose data
// is not base64 keeps its place with an error. The handler fails such an
// event as a whole (Kinesis records are not read in the Lambda yet): none
// is taken for done.
func TestDecodeKinesis(t *testing.T) {
	ev, err := Decode([]byte(kinesisEvent))
	if err != nil || ev.Kind != KindKinesis || len(ev.Records) != 2 {
		t.Fatalf("%+v %v", ev, err)
	}
	r := ev.Records[0]
	if r.ShardID != "shardId-000000000006" || r.Sequence != "49590338271490256608559692538361571095921575989136588898" ||
		r.StreamARN != "arn:aws:kinesis:us-east-2:123456789012:stream/cf-realtime" || string(r.Data) != "1591371245.123\t198.51.100.1\tGET\t/pixel\n" ||
		r.Arrival.Unix() != 1591371245 || r.Err != nil {
		t.Errorf("first record: %+v", r)
	}
	if string(ev.Records[1].Data) != "not base64!" || ev.Records[1].Err != nil {
		t.Errorf("second record: %+v", ev.Records[1])
	}
	bad := strings.Replace(kinesisEvent, "bm90IGJhc2U2NCE=", "%%%", 1)
	if ev, err := Decode([]byte(bad)); err != nil || ev.Records[1].Err == nil || ev.Records[0].Err != nil {
		t.Errorf("data not base64: %+v %v", ev, err)
	}
	h := &Handler{Log: slog.New(slog.DiscardHandler), Process: func(context.Context, []Object) error { return nil }}
	if _, err := h.Handle(context.Background(), []byte(kinesisEvent)); err == nil {
		t.Error("a Kinesis event was taken for done")
	}
}
