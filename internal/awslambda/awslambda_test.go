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
		{"kinesis", `{"Records":[{"eventSource":"aws:kinesis"}]}`, "", nil, "not aws:s3"},
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
	})
}
