package webhooks_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// fakeSQS keeps what was sent and the visibility changes; while down is
// set, sending fails.
type fakeSQS struct {
	mu         sync.Mutex
	sent       []*sqs.SendMessageInput
	visibility map[string]int32
	down       bool
}

func (f *fakeSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errors.New("sqs is down")
	}
	f.sent = append(f.sent, in)
	return &sqs.SendMessageOutput{}, nil
}

func (f *fakeSQS) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.visibility[aws.ToString(in.ReceiptHandle)] = in.VisibilityTimeout
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

// TestSQS: on AWS each delivery is one FIFO message grouped by endpoint
// and subject; the Lambda's handler attempts it, and a failure is kept in
// the queue (batch item failure) and made visible after its backoff, as
// is everything after it in the batch.
func TestSQS(t *testing.T) {
	cfg := config(t)
	cfg.Backoff, cfg.MaxBackoff = 20*time.Second, time.Minute
	q := &fakeSQS{visibility: map[string]int32{}}
	cfg.Queue = webhooks.SQSQueue{Client: q, URL: "https://sqs.example/q.fifo"}
	h, err := webhooks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var fail atomic.Bool
	fail.Store(true)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if fail.Load() {
			w.WriteHeader(500)
		}
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	register(t, h, srv.URL)
	for _, v := range []string{"a", "a", "b"} {
		if err := h.Emit(ctx, webhooks.VideoReady, webhooks.VideoSubject(v), v); err != nil {
			t.Fatal(err)
		}
	}
	if len(q.sent) != 3 {
		t.Fatalf("%d messages sent, want 3", len(q.sent))
	}
	g := func(i int) string { return aws.ToString(q.sent[i].MessageGroupId) }
	if g(0) != g(1) || g(0) == g(2) || len(g(0)) > 128 || aws.ToString(q.sent[0].MessageDeduplicationId) == aws.ToString(q.sent[1].MessageDeduplicationId) {
		t.Errorf("groups %s %s %s", g(0), g(1), g(2))
	}
	ev := events.SQSEvent{}
	for i, m := range q.sent {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: string(rune('0' + i)), ReceiptHandle: "r" + string(rune('0'+i)), Body: aws.ToString(m.MessageBody)})
	}
	handler := webhooks.SQSHandler{Hooks: h, Client: q, URL: "https://sqs.example/q.fifo"}
	resp, err := handler.Handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 3 || hits.Load() != 1 {
		t.Fatalf("failures %+v after %d attempts; want all three kept after one", resp.BatchItemFailures, hits.Load())
	}
	if v := q.visibility["r0"]; v < 10 || v > 20 {
		t.Errorf("retry visible after %d s, want the first backoff (10-20 s)", v)
	}
	fail.Store(false)
	resp, err = handler.Handle(ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 0 || hits.Load() != 4 {
		t.Errorf("second pass: %+v %v, %d attempts", resp, err, hits.Load())
	}
	// A redelivered message of a delivered delivery is not sent again.
	if resp, _ := handler.Handle(ctx, ev); len(resp.BatchItemFailures) != 0 || hits.Load() != 4 {
		t.Errorf("duplicate message sent again: %d attempts", hits.Load())
	}
}
