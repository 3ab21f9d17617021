package localcloud_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hlsflow/hlsflow/internal/localcloud"
)

// queued records the messages the shared cloud's queue "jobs" gets.
var queued messages

type messages struct {
	mu  sync.Mutex
	got []string
}

func (m *messages) add(body string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, body)
}

func (m *messages) all() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.got)
}

// Functions queue with the SDK's SQS client (FIFO fields included; the
// SDK checks the body's MD5 in the answer); an unknown queue, a wrong
// key, a message over SQS's size and any other operation are refused,
// and none of them reaches the queue.
func TestSQSSendMessage(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	client := sqs.NewFromConfig(awsConfig(c, c.SecretKey()))
	url := localcloud.QueueURL(c.Region(), "jobs")
	before := len(queued.all())
	out, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(`{"id":"é1"}`),
		MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d1")})
	if err != nil || aws.ToString(out.MessageId) == "" {
		t.Fatalf("SendMessage: %+v, %v", out, err)
	}
	if got := queued.all()[before:]; len(got) != 1 || got[0] != `{"id":"é1"}` {
		t.Fatalf("queue got %q", got)
	}
	refused := []struct {
		name   string
		client *sqs.Client
		in     *sqs.SendMessageInput
		want   string
	}{
		{"unknown queue", client, &sqs.SendMessageInput{QueueUrl: aws.String(localcloud.QueueURL(c.Region(), "other")), MessageBody: aws.String("x")}, "QueueDoesNotExist"},
		{"wrong key", sqs.NewFromConfig(awsConfig(c, "wrong")), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x")}, "InvalidSecurity"},
		{"too long", client, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(strings.Repeat("x", 256<<10+1))}, "InvalidParameterValue"},
	}
	for _, r := range refused {
		if _, err := r.client.SendMessage(ctx, r.in); err == nil || !strings.Contains(err.Error(), r.want) {
			t.Errorf("%s: %v, want %s", r.name, err, r.want)
		}
	}
	if _, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)}); err == nil || !strings.Contains(err.Error(), "UnsupportedOperation") {
		t.Errorf("ReceiveMessage: %v", err)
	}
	if got := queued.all()[before:]; len(got) != 1 {
		t.Errorf("refused requests reached the queue: %q", got)
	}
}
