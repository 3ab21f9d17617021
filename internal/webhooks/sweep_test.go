package webhooks_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// TestSweep: on AWS a delivery whose message could not be sent after it
// was stored is queued again by the sweep, once, with its own group and
// deduplication id; a delivery whose message is in flight (backing off,
// or waiting in its group behind one that is) is left alone; a message
// the sweep sends for a delivery already made posts nothing.
func TestSweep(t *testing.T) {
	const after = 2 * time.Second
	cfg := config(t)
	cfg.Backoff, cfg.MaxBackoff, cfg.SweepAfter = time.Hour, time.Hour, after
	q := &fakeSQS{visibility: map[string]int32{}}
	const url = "https://sqs.example/q.fifo"
	cfg.Queue = webhooks.SQSQueue{Client: q, URL: url}
	h, err := webhooks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := newReceiver(t, func(n int) int {
		if n == 1 {
			return 500 // the first attempt of b1
		}
		return 200
	})
	register(t, h, r.srv.URL)
	handler := webhooks.SQSHandler{Hooks: h, Client: q, URL: url}
	ctx := context.Background()
	emit := func(video string) {
		t.Helper()
		if err := h.Emit(ctx, webhooks.VideoReady, webhooks.VideoSubject(video), video); (err != nil) != q.down {
			t.Fatalf("emit %s with SQS down=%v: %v", video, q.down, err)
		}
	}
	q.down = true
	emit("a") // stored, never queued
	q.down = false
	emit("b") // b1: queued, fails, backs off an hour
	emit("b") // b2: queued behind b1 in its group
	if len(q.sent) != 2 {
		t.Fatalf("%d messages, want 2", len(q.sent))
	}
	deliver := func(m int) events.SQSEventResponse {
		t.Helper()
		ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", ReceiptHandle: "r", Body: aws.ToString(q.sent[m].MessageBody)}}}
		resp, err := handler.Handle(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := deliver(0); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("b1's first attempt: %+v", resp)
	}
	sweep := func() int {
		t.Helper()
		out, err := handler.Invoke(ctx, json.RawMessage(`{"webhooks":"sweep"}`))
		if err != nil {
			t.Fatal(err)
		}
		return out.(map[string]int)["queued"]
	}
	if n := sweep(); n != 0 {
		t.Errorf("swept %d deliveries at once; none is stale yet", n)
	}
	time.Sleep(after + time.Second)
	if n := sweep(); n != 1 || len(q.sent) != 3 {
		t.Fatalf("swept %d, %d messages; want a's delivery alone queued again", n, len(q.sent))
	}
	m := q.sent[2]
	dlvA := map[string]string{}
	if err := json.Unmarshal([]byte(aws.ToString(m.MessageBody)), &dlvA); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(m.MessageDeduplicationId) != dlvA["id"] || aws.ToString(m.MessageGroupId) == aws.ToString(q.sent[0].MessageGroupId) {
		t.Errorf("requeued message %+v", m)
	}
	// Swept just now: not again, though its delivery is still pending.
	if n := sweep(); n != 0 || len(q.sent) != 3 {
		t.Errorf("swept again: %d", n)
	}
	if resp := deliver(2); len(resp.BatchItemFailures) != 0 || len(r.all()) != 2 {
		t.Fatalf("a's requeued message: %+v, %d posts", resp, len(r.all()))
	}
	if got := r.all()[1].ev.Data; string(got) != `"a"` {
		t.Errorf("posted %s, want a's event", got)
	}

	// b1 made at last: b2 (queued, but not handed over in this test) is
	// now a stale head of its lane and is queued again; the older message
	// posts it, the sweep's posts nothing more.
	if resp := deliver(0); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("b1: %+v", resp)
	}
	time.Sleep(after + time.Second)
	if n := sweep(); n != 1 {
		t.Fatalf("swept %d after b1, want b2", n)
	}
	deliver(1)
	deliver(len(q.sent) - 1)
	if got := r.all(); len(got) != 4 || string(got[3].ev.Data) != `"b"` {
		t.Errorf("%d posts; want b1 twice (500, 200), a and b2 once each", len(got))
	}
	if n := sweep(); n != 0 {
		t.Errorf("swept %d with nothing pending", n)
	}
}

// TestSweepHostile: the Lambda refuses what is neither an SQS event nor
// the sweep, and a sweep needs a queue; stray keys under the pending
// index are ignored.
func TestSweepHostile(t *testing.T) {
	cfg := config(t)
	h, err := webhooks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Sweep(context.Background()); err == nil {
		t.Error("swept without a queue")
	}
	q := &fakeSQS{visibility: map[string]int32{}}
	cfg.Queue = webhooks.SQSQueue{Client: q, URL: "u"}
	cfg.SweepAfter = time.Nanosecond
	h, err = webhooks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"pending/x", "pending/wh_zz/dlv_00", "pending/wh_00/../dlv_00", "pending/wh_00/dlv_00/more"} {
		if err := cfg.Store.PutBytes(context.Background(), cfg.Bucket, webhooks.Prefix+k, nil, store.Object{}); err != nil {
			t.Fatal(err)
		}
	}
	handler := webhooks.SQSHandler{Hooks: h, Client: q, URL: "u"}
	for _, in := range []string{`nonsense`, `{}`, `{"webhooks":"other"}`, `[]`, `{"Records":"x"}`} {
		if _, err := handler.Invoke(context.Background(), json.RawMessage(in)); err == nil {
			t.Errorf("%s: accepted", in)
		}
	}
	out, err := handler.Invoke(context.Background(), json.RawMessage(`{"webhooks":"sweep"}`))
	if err != nil || out.(map[string]int)["queued"] != 0 || len(q.sent) != 0 {
		t.Errorf("sweep of stray keys: %v %v, %d sent", out, err, len(q.sent))
	}
}
