// Package lambdas runs Go Lambda handlers in-process with Lambda's
// semantics: synchronous invokes with a timeout, and asynchronous invokes
// through a bounded queue with bounded concurrency, retries with backoff,
// and a dead-letter record when every attempt has failed.
package lambdas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/uuid"
)

// Handler is what aws-lambda-go's lambda.NewHandler returns: JSON in and
// out go through the same serialisation as on AWS.
type Handler = lambda.Handler

// Function is a registered function.
type Function struct {
	Handler Handler
	// Timeout bounds one invocation (the handler's ctx deadline). Zero
	// means DefaultTimeout.
	Timeout time.Duration
}

// DefaultTimeout is Lambda's maximum; a function that needs less sets it.
const DefaultTimeout = 15 * time.Minute

// Errors returned by Invoke and InvokeAsync.
var (
	ErrUnknownFunction = errors.New("function not found")
	ErrQueueFull       = errors.New("async invoke queue full")
	ErrClosed          = errors.New("lambda runtime closed")
)

// FunctionError is a handler's failure as Lambda reports it: the JSON
// body {"errorMessage","errorType"} with X-Amz-Function-Error set.
type FunctionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// Config configures a Runtime. Zero values pick the defaults.
type Config struct {
	Functions map[string]Function
	// Region and Account build function ARNs for the handler's context.
	Region, Account string
	// Concurrency bounds async invocations running at once (default: cores).
	Concurrency int
	// QueueSize bounds async invocations waiting (default 1000).
	QueueSize int
	// Retries after a failed async attempt: 0 means Lambda's 2, negative none.
	Retries int
	// Backoff before each retry; the last entry repeats (default 1s, 2s; on
	// AWS about 1 and 2 minutes).
	Backoff []time.Duration
	// DeadLetterDir receives a JSON record per event that failed every
	// attempt. Empty means log only.
	DeadLetterDir string
	// QueueDir keeps each async invocation on disk until it succeeds or is
	// dead-lettered, so that one a crash or kill cut short runs again in
	// the next Runtime, after ResumeDelay (default DefaultResumeDelay).
	// Empty keeps the queue in memory only.
	QueueDir    string
	ResumeDelay time.Duration
	Logger      *slog.Logger
}

// Runtime holds the functions and the async machinery.
type Runtime struct {
	cfg    Config
	log    *slog.Logger
	queue  chan *job
	base   context.Context
	cancel context.CancelFunc
	abort  chan struct{} // closed when Close gives up waiting
	stop   chan struct{} // closed to end the workers

	mu      sync.Mutex
	closed  bool
	timers  map[*job]*time.Timer
	pending sync.WaitGroup // async jobs not finished (queued, running, waiting to retry)
	workers sync.WaitGroup
	closeMu sync.Once
}

type job struct {
	function  string
	payload   []byte
	requestID string
	attempts  int
	errs      []*FunctionError
	received  time.Time
}

// New starts a Runtime's workers.
func New(cfg Config) *Runtime {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = runtime.NumCPU()
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1000
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = 2
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if len(cfg.Backoff) == 0 {
		cfg.Backoff = []time.Duration{time.Second, 2 * time.Second}
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Account == "" {
		cfg.Account = "000000000000"
	}
	if cfg.ResumeDelay <= 0 {
		cfg.ResumeDelay = DefaultResumeDelay
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	base, cancel := context.WithCancel(context.Background())
	r := &Runtime{
		cfg: cfg, log: log, queue: make(chan *job, cfg.QueueSize),
		base: base, cancel: cancel,
		abort: make(chan struct{}), stop: make(chan struct{}),
		timers: map[*job]*time.Timer{},
	}
	for range cfg.Concurrency {
		r.workers.Add(1)
		go r.work()
	}
	r.resume()
	return r
}

// ARN returns the function's ARN in this runtime's region and account.
func (r *Runtime) ARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", r.cfg.Region, r.cfg.Account, name)
}

// Has reports whether a function is registered under name.
func (r *Runtime) Has(name string) bool {
	_, ok := r.cfg.Functions[name]
	return ok
}

// Invoke runs the function synchronously and returns its JSON result. A
// handler's error, panic or timeout comes back as a *FunctionError.
func (r *Runtime) Invoke(ctx context.Context, name string, payload []byte) ([]byte, error) {
	fn, ok := r.cfg.Functions[name]
	if !ok {
		return nil, fmt.Errorf("invoke %s: %w", name, ErrUnknownFunction)
	}
	return r.run(ctx, name, fn, uuid.NewString(), payload)
}

// InvokeAsync queues an invocation like Lambda's Event invocation type and
// returns at once. It fails only if the function is unknown, the queue is
// full or the runtime is closing.
func (r *Runtime) InvokeAsync(name string, payload []byte) error {
	if _, ok := r.cfg.Functions[name]; !ok {
		return fmt.Errorf("invoke %s: %w", name, ErrUnknownFunction)
	}
	j := &job{function: name, payload: payload, requestID: uuid.NewString(), received: time.Now().UTC()}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("invoke %s: %w", name, ErrClosed)
	}
	r.pending.Add(1)
	// On disk before a worker can take it: from then on only the worker
	// touches j.
	r.journal(j)
	select {
	case r.queue <- j:
		return nil
	default:
		r.unjournal(j)
		r.pending.Done()
		return fmt.Errorf("invoke %s: %w", name, ErrQueueFull)
	}
}

func (r *Runtime) work() {
	defer r.workers.Done()
	for {
		select {
		case j := <-r.queue:
			r.attempt(j)
		case <-r.stop:
			return
		}
	}
}

// attempt runs one try of an async job and decides what comes next.
func (r *Runtime) attempt(j *job) {
	select {
	case <-r.abort:
		r.stopped(j, "invocation")
		return
	default:
	}
	j.attempts++
	r.journal(j)
	_, err := r.run(r.base, j.function, r.cfg.Functions[j.function], j.requestID, j.payload)
	if err == nil {
		r.unjournal(j)
		r.pending.Done()
		return
	}
	fe := asFunctionError(err)
	j.errs = append(j.errs, fe)
	if j.attempts > r.cfg.Retries {
		r.finish(j, nil)
		return
	}
	wait := r.cfg.Backoff[min(j.attempts-1, len(r.cfg.Backoff)-1)]
	r.log.Warn("lambda async invoke failed, will retry", "function", j.function,
		"request_id", j.requestID, "attempt", j.attempts, "retry_in", wait, "error", fe.Error())
	r.retryAfter(j, wait)
}

// retryAfter queues j again after wait (j is pending).
func (r *Runtime) retryAfter(j *job, wait time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.isAborted() {
		r.stopped(j, "retry")
		return
	}
	r.timers[j] = time.AfterFunc(wait, func() {
		r.mu.Lock()
		delete(r.timers, j)
		r.mu.Unlock()
		// The queue may be full of new work; a retry waits for room
		// rather than being lost. Once Close gives up, it is marked.
		if !r.isAborted() {
			select {
			case r.queue <- j:
				return
			case <-r.abort:
			}
		}
		r.stopped(j, "retry")
	})
}

func (r *Runtime) isAborted() bool {
	select {
	case <-r.abort:
		return true
	default:
		return false
	}
}

// stopped ends j, which Close stopped before its invocation or retry
// ran: with a QueueDir it stays on disk and the next Runtime runs it
// again; without one it is dead-lettered.
func (r *Runtime) stopped(j *job, what string) {
	if r.cfg.QueueDir != "" {
		r.log.Info("lambda async invoke kept for the next start", "function", j.function,
			"request_id", j.requestID, "attempts", j.attempts)
		r.pending.Done()
		return
	}
	r.finish(j, &FunctionError{Type: "Shutdown", Message: "local cloud closed before the " + what + " ran"})
}

// finish dead-letters j (adding extra as the last error, if any) and
// marks it done.
func (r *Runtime) finish(j *job, extra *FunctionError) {
	if extra != nil {
		j.errs = append(j.errs, extra)
	}
	r.deadLetter(j)
	r.unjournal(j)
	r.pending.Done()
}

// run invokes fn once with its timeout, turning panics and timeouts into
// FunctionErrors as Lambda reports them.
func (r *Runtime) run(ctx context.Context, name string, fn Function, requestID string, payload []byte) ([]byte, error) {
	timeout := fn.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID: requestID, InvokedFunctionArn: r.ARN(name),
	})
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	// The handler runs in its own goroutine so that a timeout returns at
	// once, as Lambda does; a handler that ignores its ctx finishes in the
	// background and its result is dropped.
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: panicError(p)}
			}
		}()
		out, err := fn.Handler.Invoke(ctx, payload)
		done <- result{out, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			return nil, asFunctionError(res.err)
		}
		return res.out, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, &FunctionError{Type: "Sandbox.Timedout",
				Message: fmt.Sprintf("Task timed out after %.2f seconds", timeout.Seconds())}
		}
		return nil, &FunctionError{Type: "Runtime.Cancelled", Message: "invocation cancelled: " + ctx.Err().Error()}
	}
}

// asFunctionError names an error the way aws-lambda-go's runtime does: the
// error's type name, unless the handler returned Lambda's own error type.
func asFunctionError(err error) *FunctionError {
	var fe *FunctionError
	if errors.As(err, &fe) {
		return fe
	}
	var ive messages.InvokeResponse_Error
	if errors.As(err, &ive) {
		return &FunctionError{Message: ive.Message, Type: ive.Type}
	}
	return &FunctionError{Message: err.Error(), Type: typeName(err)}
}

func panicError(p any) *FunctionError {
	msg := fmt.Sprint(p)
	if e, ok := p.(error); ok {
		msg = e.Error()
	}
	return &FunctionError{Message: msg, Type: typeName(p)}
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "error"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// Close stops taking async invocations and waits, until ctx ends, for the
// queued, running and retrying ones. Those still pending when ctx ends are
// cancelled and, with a QueueDir, kept for the next Runtime (without one,
// dead-lettered); Close then returns ctx's error.
func (r *Runtime) Close(ctx context.Context) error {
	var err error
	r.closeMu.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		drained := make(chan struct{})
		go func() { r.pending.Wait(); close(drained) }()
		select {
		case <-drained:
		case <-ctx.Done():
			err = fmt.Errorf("close lambda runtime: %w", ctx.Err())
			close(r.abort)
			r.cancel()
			r.mu.Lock()
			for j, t := range r.timers {
				if t.Stop() {
					delete(r.timers, j)
					r.stopped(j, "retry")
				}
			}
			r.mu.Unlock()
			// Queued jobs are dead-lettered by the workers (abort is
			// closed); running ones see their ctx cancelled. Give them a
			// moment, but a handler that ignores ctx is not waited for.
			select {
			case <-drained:
			case <-time.After(2 * time.Second):
			}
		}
		r.cancel()
		close(r.stop)
		r.workers.Wait()
		// Anything still queued after the workers stopped is marked too.
		for {
			select {
			case j := <-r.queue:
				r.stopped(j, "invocation")
				continue
			default:
			}
			break
		}
	})
	return err
}

// DeadLetter is the record written for an async invocation that failed.
type DeadLetter struct {
	Function  string           `json:"function"`
	RequestID string           `json:"requestId"`
	Received  time.Time        `json:"received"`
	Failed    time.Time        `json:"failed"`
	Attempts  int              `json:"attempts"`
	Error     *FunctionError   `json:"error"`
	Errors    []*FunctionError `json:"errors"`
	Event     json.RawMessage  `json:"event"`
}
