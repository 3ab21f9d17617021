package events

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"
	"github.com/hlsflow/hlsflow/internal/localcloud/lambdas"
)

// Notification maps bucket events to a function, like one entry of an S3
// bucket's LambdaFunctionConfigurations.
type Notification struct {
	// ID is the event's s3.configurationId (default "hlsflow-FUNCTION").
	ID     string
	Bucket string
	// Events in AWS notation, e.g. "s3:ObjectCreated:*" (the default) or
	// "s3:ObjectCreated:CompleteMultipartUpload".
	Events []string
	// Prefix and Suffix filter on the key as the event carries it
	// (URL-encoded, spaces as "+"), as S3 filters do.
	Prefix, Suffix string
	Function       string
}

// Matches reports whether rec is for n.
func (n Notification) Matches(rec Record) bool {
	if rec.Bucket != n.Bucket {
		return false
	}
	key := EncodeKey(rec.Key)
	if !strings.HasPrefix(key, n.Prefix) || !strings.HasSuffix(key, n.Suffix) {
		return false
	}
	events := n.Events
	if len(events) == 0 {
		events = []string{"s3:ObjectCreated:*"}
	}
	name := "s3:" + rec.EventName
	for _, e := range events {
		if e == name {
			return true
		}
		if p, ok := strings.CutSuffix(e, "*"); ok && strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// AsyncInvoker queues an invocation (lambdas.Runtime does).
type AsyncInvoker interface {
	InvokeAsync(name string, payload []byte) error
}

// Config configures a Receiver.
type Config struct {
	Region        string
	Notifications []Notification
	Invoker       AsyncInvoker
	// DeadLetterDir receives events that could not even be queued.
	DeadLetterDir string
	Logger        *slog.Logger
	// ObjectSize looks up an object's size. versitygw leaves the size out
	// of CompleteMultipartUpload events; with this set, it is filled in.
	ObjectSize func(ctx context.Context, bucket, key string) (int64, error)
}

// Receiver is the http.Handler for versitygw's event webhook.
type Receiver struct {
	cfg    Config
	log    *slog.Logger
	closed atomic.Bool
}

// maxBody bounds a webhook post; versitygw sends one small record per post.
const maxBody = 1 << 20

// NewReceiver returns a Receiver dispatching per cfg.
func NewReceiver(cfg Config) *Receiver {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return &Receiver{cfg: cfg, log: log}
}

// Close makes later events go to the dead-letter directory instead of
// being invoked (the local cloud is shutting down).
func (r *Receiver) Close() { r.closed.Store(true) }

// ServeHTTP takes one webhook post. It answers at once: versitygw waits
// at most 3 s and never retries, so the work happens asynchronously.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	recs, err := parse(body, r.cfg.Region)
	if err != nil {
		r.log.Warn("bucket event ignored", "error", err)
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	for _, rec := range recs {
		r.fillSize(req.Context(), &rec)
		r.Dispatch(rec)
	}
	w.WriteHeader(http.StatusNoContent)
}

// fillSize adds the size versitygw omits from multipart completions.
func (r *Receiver) fillSize(ctx context.Context, rec *Record) {
	o := &rec.Event.Records[0].S3.Object
	if r.cfg.ObjectSize == nil || o.Size != 0 || rec.EventName != "ObjectCreated:CompleteMultipartUpload" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	size, err := r.cfg.ObjectSize(ctx, rec.Bucket, rec.Key)
	if err != nil {
		r.log.Warn("bucket event: object size unknown", "bucket", rec.Bucket, "key", rec.Key, "error", err)
		return
	}
	o.Size = size
}

// Dispatch invokes every function whose notification matches rec.
func (r *Receiver) Dispatch(rec Record) {
	for _, n := range r.cfg.Notifications {
		if !n.Matches(rec) {
			continue
		}
		ev := rec.Event
		ev.Records = append([]awsevents.S3EventRecord(nil), ev.Records...)
		id := n.ID
		if id == "" {
			id = "hlsflow-" + n.Function
		}
		ev.Records[0].S3.ConfigurationID = id
		payload, err := Marshal(ev)
		if err != nil {
			r.log.Error("bucket event not encoded", "bucket", rec.Bucket, "key", rec.Key, "error", err)
			continue
		}
		if r.closed.Load() {
			err = lambdas.ErrClosed
		} else {
			err = r.cfg.Invoker.InvokeAsync(n.Function, payload)
		}
		if err == nil {
			continue
		}
		typ := "QueueFull"
		if errors.Is(err, lambdas.ErrClosed) {
			typ = "Shutdown"
		} else if errors.Is(err, lambdas.ErrUnknownFunction) {
			typ = "ResourceNotFoundException"
		}
		now := time.Now().UTC()
		fe := &lambdas.FunctionError{Type: typ, Message: err.Error()}
		path, werr := lambdas.WriteDeadLetter(r.cfg.DeadLetterDir, lambdas.DeadLetter{
			Function: n.Function, RequestID: uuid.NewString(), Received: now, Failed: now,
			Error: fe, Errors: []*lambdas.FunctionError{fe}, Event: payload,
		})
		attrs := []any{"function", n.Function, "bucket", rec.Bucket, "key", rec.Key, "error", err.Error(), "file", path}
		if werr != nil {
			attrs = append(attrs, "write_error", werr.Error())
		}
		r.log.Error("bucket event dead-lettered", attrs...)
	}
}
