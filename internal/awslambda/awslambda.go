// Package awslambda turns the events an AWS Lambda receives about new S3
// objects into objects to read: S3 notifications (direct, or through SQS,
// or SNS then SQS) and EventBridge "Object Created" events. The S3 test
// event sent when a notification is configured is recognised and ignored.
//
// Handler answers an SQS batch with the messages that failed, and a
// Kinesis batch with its first record not confirmed (batchItemFailures),
// so that only those come again; every other event fails as a whole.
package awslambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/trackless/trackless/internal/s3src"
)

// Kind is what an event is.
type Kind string

// Kinds of events.
const (
	KindS3          Kind = "s3"
	KindSQS         Kind = "sqs"
	KindEventBridge Kind = "eventbridge"
	KindTest        Kind = "s3-test-event"
	KindKinesis     Kind = "kinesis"
)

// KinesisRecord is one record of a Kinesis event (a CloudFront real-time
// log record: one line).
type KinesisRecord struct {
	StreamARN string // eventSourceARN
	ShardID   string // from eventID, "shardId-000000000006"
	Sequence  string // the record's sequence number (up to 128 digits)
	Arrival   time.Time
	Data      []byte // decoded from base64
	// Err: the record's data is not base64 (it cannot be read).
	Err error
}

// Object is an object an event names.
type Object struct {
	s3src.Object
	// RawKey is the key as the event wrote it, when it may not be URL
	// encoded after all (EventBridge): Resolve tries it first.
	RawKey string
}

// Message is one SQS message and what it names.
type Message struct {
	ID      string
	Objects []Object
	Err     error // the body is not an S3 event
	Test    bool  // an s3:TestEvent
}

// Event is a decoded event.
type Event struct {
	Kind     Kind
	Objects  []Object        // KindS3, KindEventBridge
	Messages []Message       // KindSQS
	Records  []KinesisRecord // KindKinesis, in the order of the event
}

// objectRef is how both S3 notifications (s3) and EventBridge (detail)
// name an object. encoding/json matches names regardless of case, so the
// ETag is read from "eTag" (S3) and "etag" (EventBridge) alike.
type objectRef struct {
	Bucket struct {
		Name string `json:"name"`
	} `json:"bucket"`
	Object struct {
		Key  string `json:"key"`
		Size int64  `json:"size"`
		ETag string `json:"eTag"`
	} `json:"object"`
}

// s3Notification is the body of an S3 event notification (also inside SQS
// and SNS), or the test event.
type s3Notification struct {
	Records []struct {
		EventSource string    `json:"eventSource"`
		EventName   string    `json:"eventName"`
		S3          objectRef `json:"s3"`
		// SQS
		MessageID string `json:"messageId"`
		Body      string `json:"body"`
		// Kinesis
		EventID        string `json:"eventID"`
		EventSourceARN string `json:"eventSourceARN"`
		Kinesis        struct {
			Data           string  `json:"data"`
			SequenceNumber string  `json:"sequenceNumber"`
			Arrival        float64 `json:"approximateArrivalTimestamp"`
		} `json:"kinesis"`
	} `json:"Records"`
	Event string `json:"Event"` // "s3:TestEvent"
	// EventBridge
	Source     string    `json:"source"`
	DetailType string    `json:"detail-type"`
	Detail     objectRef `json:"detail"`
	// SNS envelope, inside an SQS body
	Type    string `json:"Type"`
	Message string `json:"Message"`
}

// Decode reads an event.
func Decode(raw []byte) (*Event, error) {
	var n s3Notification
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, fmt.Errorf("the event is not JSON: %w", err)
	}
	switch {
	case n.Event == "s3:TestEvent":
		return &Event{Kind: KindTest}, nil
	case n.Source == "aws.s3":
		if n.DetailType != "Object Created" {
			return nil, fmt.Errorf("EventBridge event %q from S3: only \"Object Created\" events name logs to read", n.DetailType)
		}
		d := n.Detail
		o := Object{Object: s3src.Object{Bucket: d.Bucket.Name, Key: d.Object.Key, ETag: strings.Trim(d.Object.ETag, `"`), Size: d.Object.Size}}
		if dec, err := url.QueryUnescape(o.Key); err == nil && dec != o.Key {
			o.RawKey, o.Key = o.Key, dec
		}
		if o.Bucket == "" || o.Key == "" {
			return nil, errors.New("EventBridge event without bucket or key")
		}
		return &Event{Kind: KindEventBridge, Objects: []Object{o}}, nil
	case len(n.Records) > 0 && n.Records[0].EventSource == "aws:kinesis":
		return kinesisRecords(&n)
	case len(n.Records) > 0 && n.Records[0].EventSource == "aws:sqs":
		ev := &Event{Kind: KindSQS}
		for _, r := range n.Records {
			m := Message{ID: r.MessageID}
			inner, err := decodeBody(r.Body)
			switch {
			case err != nil:
				m.Err = err
			case inner.Kind == KindTest:
				m.Test = true
			default:
				m.Objects = inner.Objects
			}
			ev.Messages = append(ev.Messages, m)
		}
		return ev, nil
	case len(n.Records) > 0:
		objs, err := s3Objects(&n)
		if err != nil {
			return nil, err
		}
		return &Event{Kind: KindS3, Objects: objs}, nil
	}
	return nil, errors.New("not an S3, SQS, EventBridge or Kinesis event")
}

// kinesisRecords reads the records of a Kinesis event: base64 data, the
// shard from the event id ("shardId-…:sequence"). A record whose data is
// not base64 keeps its place with Err set.
func kinesisRecords(n *s3Notification) (*Event, error) {
	ev := &Event{Kind: KindKinesis}
	for i, r := range n.Records {
		if r.EventSource != "aws:kinesis" {
			return nil, fmt.Errorf("record %d of a Kinesis event comes from %q", i+1, r.EventSource)
		}
		k := r.Kinesis
		if k.SequenceNumber == "" {
			return nil, fmt.Errorf("record %d of a Kinesis event has no sequence number", i+1)
		}
		shard, _, _ := strings.Cut(r.EventID, ":")
		rec := KinesisRecord{StreamARN: r.EventSourceARN, ShardID: shard, Sequence: k.SequenceNumber}
		if k.Arrival > 0 && k.Arrival < 1e11 {
			sec := int64(k.Arrival)
			rec.Arrival = time.Unix(sec, int64((k.Arrival-float64(sec))*1e9)).UTC()
		}
		rec.Data, rec.Err = base64.StdEncoding.DecodeString(k.Data)
		if rec.Err != nil {
			rec.Data, rec.Err = nil, fmt.Errorf("record %s of shard %s: its data is not base64: %w", rec.Sequence, rec.ShardID, rec.Err)
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev, nil
}

// decodeBody reads the body of an SQS message: an S3 notification, the
// test event, an EventBridge event, or an SNS envelope around one.
func decodeBody(body string) (*Event, error) {
	var env s3Notification
	if json.Unmarshal([]byte(body), &env) == nil && env.Type == "Notification" && env.Message != "" {
		body = env.Message
	}
	ev, err := Decode([]byte(body))
	if err != nil {
		return nil, err
	}
	if ev.Kind == KindSQS {
		return nil, errors.New("an SQS event inside an SQS message")
	}
	return ev, nil
}

// s3Objects reads the records of an S3 notification: keys are URL encoded
// as a query is ('+' is a space).
func s3Objects(n *s3Notification) ([]Object, error) {
	var out []Object
	for i, r := range n.Records {
		if r.EventSource != "aws:s3" {
			return nil, fmt.Errorf("record %d comes from %q, not aws:s3", i, r.EventSource)
		}
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			continue // deletions, restores...: nothing to read
		}
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			return nil, fmt.Errorf("record %d: key %q is not URL encoded: %w", i, r.S3.Object.Key, err)
		}
		out = append(out, Object{Object: s3src.Object{
			Bucket: r.S3.Bucket.Name, Key: key, ETag: strings.Trim(r.S3.Object.ETag, `"`), Size: r.S3.Object.Size,
		}})
	}
	return out, nil
}

// Process reads the objects of one event or message; an error fails it.
type Process func(ctx context.Context, objs []Object) error

// ProcessRecords reads the records of a Kinesis event and returns the
// sequence number of the first record not confirmed ("" when all were):
// Lambda gives that record and those after it again. An error with
// failed "" fails the invocation as a whole.
type ProcessRecords func(ctx context.Context, recs []KinesisRecord) (failed string, err error)

// Handler handles Lambda invocations.
type Handler struct {
	Process Process
	// Records reads Kinesis events; nil refuses them (the invocation
	// fails, and Lambda keeps the records).
	Records ProcessRecords
	Log     *slog.Logger
	// StopBefore is how long before the invocation's deadline reading
	// stops, so that what is in flight is confirmed and the ledger written
	// before Lambda ends the process.
	StopBefore time.Duration
}

// ErrDeadline says that an invocation stopped before its deadline with
// work left; the retry resumes where it stopped.
var ErrDeadline = errors.New("stopped before the Lambda deadline at a confirmed point; the retry resumes there")

// Handle is the Lambda handler: it returns the SQS batch response for SQS
// events, nothing for the others, and an error when something was not
// delivered (Lambda then retries the event or sends it to its dead-letter
// queue; the ledger keeps the retry from sending anything twice).
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	ev, err := Decode(raw)
	if err != nil {
		h.Log.Error("event not understood", "error", err)
		return nil, err
	}
	switch ev.Kind {
	case KindTest:
		h.Log.Info("s3:TestEvent ignored")
		return nil, nil
	case KindKinesis:
		return h.kinesis(ctx, ev.Records)
	case KindSQS:
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for _, m := range ev.Messages {
			var err error
			switch {
			case m.Err != nil:
				err = m.Err
			case m.Test:
				h.Log.Info("s3:TestEvent ignored", "message", m.ID)
			case h.late(ctx):
				err = ErrDeadline
			default:
				err = h.Process(ctx, m.Objects)
			}
			if err != nil {
				h.Log.Error("message not done: it comes again", "message", m.ID, "error", err)
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.ID})
			}
		}
		return resp, nil
	}
	if err := h.Process(ctx, ev.Objects); err != nil {
		return nil, err
	}
	return nil, nil
}

// kinesis answers a Kinesis event with the first record not confirmed
// (batchItemFailures, for an event source mapping with
// ReportBatchItemFailures): an empty list when every record was.
func (h *Handler) kinesis(ctx context.Context, recs []KinesisRecord) (any, error) {
	resp := events.KinesisEventResponse{BatchItemFailures: []events.KinesisBatchItemFailure{}}
	if len(recs) == 0 {
		return resp, nil
	}
	if h.Records == nil {
		err := fmt.Errorf("a Kinesis event of %d records, and no reader of Kinesis records: the records are left to the event source mapping's retries", len(recs))
		h.Log.Error("event not read", "error", err)
		return nil, err
	}
	if h.late(ctx) {
		h.Log.Error("event not read", "error", ErrDeadline)
		return nil, ErrDeadline
	}
	// A record whose data is not base64 cannot be read: the records
	// before it are, and it fails (Lambda retries it, then gives it to the
	// mapping's on-failure destination).
	read := recs
	for i, r := range recs {
		if r.Err != nil {
			h.Log.Error("record not readable", "shard", r.ShardID, "sequence_number", r.Sequence, "error", r.Err)
			read = recs[:i]
			break
		}
	}
	failed := ""
	if len(read) < len(recs) {
		failed = recs[len(read)].Sequence
	}
	if len(read) > 0 {
		f, err := h.Records(ctx, read)
		switch {
		case err != nil && f == "":
			h.Log.Error("event not done: it comes again", "records", len(recs), "error", err)
			return nil, err
		case err != nil:
			h.Log.Error("records not all done: those from the first not confirmed come again", "sequence_number", f, "error", err)
		}
		if f != "" {
			failed = f
		}
	}
	if failed != "" {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: failed})
	}
	return resp, nil
}

// late reports whether the deadline is too close to start reading.
func (h *Handler) late(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < h.StopBefore
}
