package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hlsflow/hlsflow/internal/store"
)

// Queue hands stored deliveries to a sender elsewhere.
type Queue interface {
	Send(ctx context.Context, d *Delivery) error
}

// SQSClient is what the queue and the Lambda need of SQS (*sqs.Client fits).
type SQSClient interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// SQSQueue is a FIFO queue of deliveries, one message each. Its message
// group is the endpoint and subject, so SQS hands out a video's next
// delivery only once the one before has left the queue: the order the
// local sender keeps with its lanes.
type SQSQueue struct {
	Client SQSClient
	URL    string
}

var _ Queue = SQSQueue{}

// message is what a queue message carries: where the delivery is stored.
type message struct {
	Endpoint string `json:"endpoint"`
	ID       string `json:"id"`
}

// Send queues d.
func (q SQSQueue) Send(ctx context.Context, d *Delivery) error {
	body, err := json.Marshal(message{d.Endpoint, d.ID})
	if err != nil {
		return err
	}
	_, err = q.Client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(q.URL), MessageBody: aws.String(string(body)),
		MessageGroupId: aws.String(group(d.Endpoint, d.Subject)), MessageDeduplicationId: aws.String(d.ID),
	})
	return err
}

// group is a message group id for an endpoint and subject: a hash, as
// subjects may hold characters SQS does not allow there.
func group(endpoint, subject string) string {
	h := sha256.Sum256([]byte(endpoint + " " + subject))
	return hex.EncodeToString(h[:])
}

// maxVisibility is SQS's longest visibility timeout.
const maxVisibility = 12 * time.Hour

// SQSHandler makes the deliveries an SQS FIFO queue hands the webhooks
// Lambda: each message is one attempt. A failed attempt is made visible
// again after its backoff (the message's visibility timeout), and
// reported as failed so that SQS keeps it, and its group waits.
type SQSHandler struct {
	Hooks  *Hooks
	Client SQSClient
	URL    string
}

// Handle implements the Lambda (SQS event source with batch item failures).
func (s SQSHandler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	failed := false
	for _, m := range ev.Records {
		if failed {
			// FIFO: what follows a failure in the batch is retried after it.
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		var msg message
		if err := json.Unmarshal([]byte(m.Body), &msg); err != nil {
			s.Hooks.cfg.Log.Error("webhooks: not a delivery message; dropped", "message", m.MessageId)
			continue
		}
		done, next := s.Hooks.attempt(ctx, msg.Endpoint, msg.ID)
		if done {
			continue
		}
		wait := min(max(time.Until(next), 0), maxVisibility)
		if _, err := s.Client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(s.URL), ReceiptHandle: aws.String(m.ReceiptHandle), VisibilityTimeout: int32(wait.Seconds()),
		}); err != nil {
			s.Hooks.cfg.Log.Warn("webhooks: set the retry's wait", "message", m.MessageId, "err", err)
		}
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		failed = true
	}
	return resp, nil
}

// SweepInput is the event the stack's schedule invokes the webhooks
// Lambda with, to run Sweep.
var SweepInput = map[string]string{"webhooks": "sweep"}

// Invoke implements the Lambda: an SQS event (Handle), or SweepInput,
// which queues again the deliveries with no message (Sweep; s.Hooks needs
// its Queue). A failed sweep fails the invocation, so that the
// function's errors show it.
func (s SQSHandler) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Webhooks string `json:"webhooks"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("webhooks: not an event: %w", err)
	}
	if probe.Webhooks == SweepInput["webhooks"] {
		n, err := s.Hooks.Sweep(ctx)
		return map[string]int{"queued": n}, err
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) == 0 {
		return nil, errors.New("webhooks: neither an SQS event nor a sweep")
	}
	return s.Handle(ctx, ev)
}

// OnSQS is Hooks for a process on AWS: deliveries stored in the media
// bucket and queued on the SQS FIFO queue at url (the stack's
// WEBHOOK_QUEUE_URL), for the webhooks Lambda to make. It is nil, and
// webhooks are off, when url is "".
func OnSQS(st *store.Store, bucket, url string, client SQSClient, log *slog.Logger) (*Hooks, error) {
	if url == "" {
		return nil, nil
	}
	return New(Config{Store: st, Bucket: bucket, Queue: SQSQueue{Client: client, URL: url}, Log: log})
}
