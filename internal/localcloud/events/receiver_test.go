package events

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/hlsflow/hlsflow/internal/localcloud/lambdas"
)

// invoker is a test AsyncInvoker made of a function field.
type invoker struct {
	invoke func(name string, payload []byte) error
}

func (i invoker) InvokeAsync(name string, payload []byte) error { return i.invoke(name, payload) }

func TestReceiver(t *testing.T) {
	cases := []struct {
		name      string
		created   Created
		invokeErr error
		closed    bool
		wantCalls int
		wantDLQ   string // error type of the dead letter, "" for none
	}{
		{name: "put is invoked", created: created("s3:ObjectCreated:Put", "uploads", "a b.mp4"), wantCalls: 1},
		{name: "other bucket is not", created: created("s3:ObjectCreated:Put", "media", "a.mp4")},
		{name: "delete is not", created: created("s3:ObjectRemoved:Delete", "uploads", "a.mp4")},
		{name: "queue full is dead-lettered", created: created("s3:ObjectCreated:Put", "uploads", "q.mp4"),
			invokeErr: fmt.Errorf("invoke: %w", lambdas.ErrQueueFull), wantCalls: 1, wantDLQ: "QueueFull"},
		{name: "closing is dead-lettered", created: created("s3:ObjectCreated:Put", "uploads", "c.mp4"),
			closed: true, wantDLQ: "Shutdown"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var calls int
			var got awsevents.S3Event
			r := NewReceiver(Config{
				Notifications: []Notification{{Bucket: "uploads", Function: "transcode"}},
				Invoker: invoker{func(name string, payload []byte) error {
					calls++
					if name != "transcode" {
						t.Errorf("invoked %q", name)
					}
					if err := json.Unmarshal(payload, &got); err != nil {
						t.Error(err)
					}
					return tc.invokeErr
				}},
				DeadLetterDir: dir,
				Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if tc.closed {
				r.Close()
			}
			r.Observe(tc.created)
			r.Wait()
			if calls != tc.wantCalls {
				t.Errorf("%d invocations, want %d", calls, tc.wantCalls)
			}
			if calls > 0 && got.Records[0].S3.ConfigurationID != "hlsflow-transcode" {
				t.Errorf("configurationId %q", got.Records[0].S3.ConfigurationID)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
			if tc.wantDLQ == "" {
				if len(files) != 0 {
					t.Errorf("%d dead letters, want none", len(files))
				}
				return
			}
			if len(files) != 1 {
				t.Fatalf("%d dead letters, want 1", len(files))
			}
			b, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			var d lambdas.DeadLetter
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatal(err)
			}
			if d.Function != "transcode" || d.Error == nil || d.Error.Type != tc.wantDLQ || len(d.Event) == 0 {
				t.Errorf("dead letter %+v", d)
			}
		})
	}
}
