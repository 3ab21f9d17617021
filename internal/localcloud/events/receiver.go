package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
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
	// ObjectSize looks up an object's size, for creations whose size the
	// front door cannot know (multipart completions, copies, chunked PUTs).
	ObjectSize func(ctx context.Context, bucket, key string) (int64, error)
}

// Receiver turns observed object creations into Lambda events.
type Receiver struct {
	cfg      Config
	log      *slog.Logger
	closed   atomic.Bool
	inFlight sync.WaitGroup
	seq      atomic.Uint64 // sequencer of the next event
}

// NewReceiver returns a Receiver dispatching per cfg.
func NewReceiver(cfg Config) *Receiver {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	r := &Receiver{cfg: cfg, log: log}
	// S3's sequencer is opaque hex that grows for later events on a key.
	r.seq.Store(uint64(time.Now().UnixNano()))
	return r
}

// Close makes later events go to the dead-letter directory instead of
// being invoked (the local cloud is shutting down).
func (r *Receiver) Close() { r.closed.Store(true) }

// Wait returns once every observation handed to Observe is dispatched.
func (r *Receiver) Wait() { r.inFlight.Wait() }

// Created is an object creation the front door saw succeed.
type Created struct {
	// EventName as S3 notifications name it: "s3:ObjectCreated:Put",
	// "s3:ObjectCreated:Copy" or "s3:ObjectCreated:CompleteMultipartUpload".
	EventName   string
	Bucket, Key string // the key as stored, not encoded
	ETag        string
	// Size in bytes; 0 means unknown, and it is looked up.
	Size int64
	// Principal is the access key the request was signed with.
	Principal         string
	SourceIP          string
	RequestID, HostID string // the response's x-amz-request-id and x-amz-id-2
	Time              time.Time
}

// Observe dispatches the event for c without holding up the caller (the
// response to the upload), as S3 notifies asynchronously.
func (r *Receiver) Observe(c Created) {
	r.inFlight.Add(1)
	go func() {
		defer r.inFlight.Done()
		r.fillSize(&c)
		r.Dispatch(r.record(c))
	}()
}

// record builds the event AWS would deliver for c: event version 2.1,
// eventName without the "s3:" prefix, the key URL-encoded, the bucket ARN
// and the ETag without quotes.
func (r *Receiver) record(c Created) Record {
	name := strings.TrimPrefix(c.EventName, "s3:")
	rec := awsevents.S3EventRecord{
		EventVersion:      "2.1",
		EventSource:       "aws:s3",
		AWSRegion:         r.cfg.Region,
		EventTime:         c.Time.UTC().Truncate(time.Millisecond),
		EventName:         name,
		PrincipalID:       awsevents.S3UserIdentity{PrincipalID: "AWS:" + c.Principal},
		RequestParameters: awsevents.S3RequestParameters{SourceIPAddress: c.SourceIP},
		ResponseElements: map[string]string{
			"x-amz-request-id": c.RequestID,
			"x-amz-id-2":       c.HostID,
		},
		S3: awsevents.S3Entity{
			SchemaVersion: "1.0",
			Bucket: awsevents.S3Bucket{
				Name:          c.Bucket,
				OwnerIdentity: awsevents.S3UserIdentity{PrincipalID: c.Principal},
				Arn:           "arn:aws:s3:::" + c.Bucket,
			},
			Object: awsevents.S3Object{
				Key:       EncodeKey(c.Key),
				Size:      c.Size,
				ETag:      strings.Trim(c.ETag, `"`),
				Sequencer: fmt.Sprintf("00%016X", r.seq.Add(1)),
			},
		},
	}
	return Record{
		Bucket: c.Bucket, Key: c.Key, EventName: name,
		Event: awsevents.S3Event{Records: []awsevents.S3EventRecord{rec}},
	}
}

// fillSize looks up a size the front door could not know.
func (r *Receiver) fillSize(c *Created) {
	if r.cfg.ObjectSize == nil || c.Size != 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	size, err := r.cfg.ObjectSize(ctx, c.Bucket, c.Key)
	if err != nil {
		r.log.Warn("bucket event: object size unknown", "bucket", c.Bucket, "key", c.Key, "error", err)
		return
	}
	c.Size = size
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
