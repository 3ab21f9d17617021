package lambdas

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type in struct {
	Name string `json:"name"`
}
type out struct {
	Greeting  string `json:"greeting"`
	RequestID string `json:"requestId"`
}

func greet(ctx context.Context, e in) (out, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	if e.Name == "" {
		return out{}, errors.New("no name")
	}
	if e.Name == "panic" {
		panic("boom")
	}
	if e.Name == "sleep" {
		<-ctx.Done()
		return out{}, ctx.Err()
	}
	return out{Greeting: "hello " + e.Name, RequestID: lc.AwsRequestID}, nil
}

func TestInvoke(t *testing.T) {
	r := New(Config{Functions: map[string]Function{
		"greet": {Handler: lambda.NewHandler(greet), Timeout: 200 * time.Millisecond},
	}})
	defer r.Close(context.Background())
	cases := []struct {
		name, payload     string
		wantOut           string
		wantType, wantMsg string
	}{
		{name: "ok", payload: `{"name":"ann"}`, wantOut: "hello ann"},
		{name: "error", payload: `{}`, wantType: "errorString", wantMsg: "no name"},
		{name: "panic", payload: `{"name":"panic"}`, wantType: "string", wantMsg: "boom"},
		{name: "timeout", payload: `{"name":"sleep"}`, wantType: "Sandbox.Timedout", wantMsg: "Task timed out after 0.20 seconds"},
		{name: "bad json", payload: `[1]`, wantType: "UnmarshalTypeError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := r.Invoke(context.Background(), "greet", []byte(tc.payload))
			if tc.wantType == "" {
				if err != nil {
					t.Fatal(err)
				}
				var o out
				if err := json.Unmarshal(b, &o); err != nil {
					t.Fatal(err)
				}
				if o.Greeting != tc.wantOut || o.RequestID == "" {
					t.Errorf("got %+v, want greeting %q and a request id", o, tc.wantOut)
				}
				return
			}
			var fe *FunctionError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a FunctionError", err)
			}
			if fe.Type != tc.wantType || (tc.wantMsg != "" && fe.Message != tc.wantMsg) {
				t.Errorf("got %q %q, want %q %q", fe.Type, fe.Message, tc.wantType, tc.wantMsg)
			}
		})
	}
	if _, err := r.Invoke(context.Background(), "nope", nil); !errors.Is(err, ErrUnknownFunction) {
		t.Errorf("unknown function: got %v", err)
	}
}

// counter is a handler failing its first `fail` calls in a chosen way.
type counter struct {
	calls atomic.Int32
	fail  int32
	how   string
	done  chan struct{}
	once  sync.Once
}

func (c *counter) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	n := c.calls.Add(1)
	if n <= c.fail {
		switch c.how {
		case "panic":
			panic("handler panicked")
		case "timeout":
			<-ctx.Done()
			return nil, ctx.Err()
		default:
			return nil, errors.New("failed")
		}
	}
	c.once.Do(func() { close(c.done) })
	return []byte(`null`), nil
}

func deadLetters(t *testing.T, dir string) []DeadLetter {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var out []DeadLetter
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d DeadLetter
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, d)
	}
	return out
}

func TestInvokeAsyncRetriesThenDeadLetters(t *testing.T) {
	cases := []struct {
		name      string
		fail      int32
		how       string
		wantCalls int32
		wantDLQ   bool
		wantType  string
	}{
		{"succeeds first time", 0, "error", 1, false, ""},
		{"succeeds on last retry", 2, "error", 3, false, ""},
		{"error every time", 100, "error", 3, true, "errorString"},
		{"panic every time", 100, "panic", 3, true, "string"},
		{"timeout every time", 100, "timeout", 3, true, "Sandbox.Timedout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			h := &counter{fail: tc.fail, how: tc.how, done: make(chan struct{})}
			r := New(Config{
				Functions:     map[string]Function{"f": {Handler: h, Timeout: 50 * time.Millisecond}},
				Backoff:       []time.Duration{10 * time.Millisecond, 20 * time.Millisecond},
				DeadLetterDir: dir,
			})
			if err := r.InvokeAsync("f", []byte(`{"k":"v"}`)); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := r.Close(ctx); err != nil {
				t.Fatalf("close: %v", err)
			}
			if got := h.calls.Load(); got != tc.wantCalls {
				t.Errorf("handler called %d times, want %d", got, tc.wantCalls)
			}
			dl := deadLetters(t, dir)
			if !tc.wantDLQ {
				if len(dl) != 0 {
					t.Errorf("got %d dead letters, want none", len(dl))
				}
				return
			}
			if len(dl) != 1 {
				t.Fatalf("got %d dead letters, want 1", len(dl))
			}
			d := dl[0]
			var ev bytes.Buffer
			if err := json.Compact(&ev, d.Event); err != nil {
				t.Fatal(err)
			}
			if d.Function != "f" || d.Attempts != 3 || len(d.Errors) != 3 || d.Error.Type != tc.wantType || ev.String() != `{"k":"v"}` {
				t.Errorf("dead letter %+v (error %+v)", d, d.Error)
			}
		})
	}
}

func TestKeepsServingAfterPanic(t *testing.T) {
	dir := t.TempDir()
	bad := &counter{fail: 100, how: "panic", done: make(chan struct{})}
	good := &counter{done: make(chan struct{})}
	r := New(Config{
		Functions:   map[string]Function{"bad": {Handler: bad}, "good": {Handler: good}},
		Concurrency: 1, Retries: -1, DeadLetterDir: dir,
	})
	defer r.Close(context.Background())
	for range 3 {
		if err := r.InvokeAsync("bad", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.InvokeAsync("good", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-good.done:
	case <-time.After(10 * time.Second):
		t.Fatal("a good invocation did not run after panicking ones")
	}
	if got := bad.calls.Load(); got != 3 {
		t.Errorf("with retries off, bad ran %d times, want 3", got)
	}
}

func TestQueueFullAndClosed(t *testing.T) {
	block := make(chan struct{})
	h := lambda.NewHandler(func(ctx context.Context) error {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil
	})
	r := New(Config{Functions: map[string]Function{"f": {Handler: h}}, Concurrency: 1, QueueSize: 1})
	var err error
	// One runs, one waits in the queue; then the queue is full.
	for range 10 {
		if err = r.InvokeAsync("f", []byte(`{}`)); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrQueueFull) {
		t.Errorf("got %v, want ErrQueueFull", err)
	}
	close(block)
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.InvokeAsync("f", []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: got %v, want ErrClosed", err)
	}
	if err := r.InvokeAsync("nope", []byte(`{}`)); !errors.Is(err, ErrUnknownFunction) {
		t.Errorf("unknown: got %v, want ErrUnknownFunction", err)
	}
}

func TestCloseDeadlineMarksPending(t *testing.T) {
	dir := t.TempDir()
	h := lambda.NewHandler(func(ctx context.Context) error {
		<-ctx.Done() // runs until cancelled
		return ctx.Err()
	})
	r := New(Config{Functions: map[string]Function{"f": {Handler: h}}, Concurrency: 1, DeadLetterDir: dir})
	for range 3 {
		if err := r.InvokeAsync("f", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("close: got %v, want deadline exceeded", err)
	}
	if got := len(deadLetters(t, dir)); got != 3 {
		t.Errorf("got %d dead letters after a cut-short close, want 3 (1 running, 2 queued)", got)
	}
}

// TestCrashedInvocationRunsAgain: an async invocation that was running
// when the process died (its queue record left on disk) runs again in the
// next runtime, after ResumeDelay, with its request id and payload; one
// that has already used its attempts is dead-lettered instead.
func TestCrashedInvocationRunsAgain(t *testing.T) {
	dir := t.TempDir()
	queue := filepath.Join(dir, "queue")
	started := make(chan struct{}, 1)
	first := New(Config{QueueDir: queue, DeadLetterDir: filepath.Join(dir, "dlq-first"), Functions: map[string]Function{
		"work": {Handler: lambda.NewHandler(func(ctx context.Context, e in) error {
			started <- struct{}{}
			<-ctx.Done() // the process "dies" during this attempt
			return ctx.Err()
		})},
	}})
	if err := first.InvokeAsync("work", []byte(`{"name":"job 1"}`)); err != nil {
		t.Fatal(err)
	}
	<-started
	files, _ := filepath.Glob(filepath.Join(queue, "*.json"))
	if len(files) != 1 {
		t.Fatalf("%d queue records while the invocation runs, want 1", len(files))
	}
	// What a crash leaves: the record as it is now. (Closing the first
	// runtime would mark the job and remove the record, as a clean stop.)
	record, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	first.Close(ctx)
	cancel()
	if err := os.WriteFile(files[0], record, 0o644); err != nil {
		t.Fatal(err)
	}
	var rec journaled
	if err := json.Unmarshal(record, &rec); err != nil || rec.Attempts != 1 {
		t.Fatalf("record %s: attempts %d, %v", record, rec.Attempts, err)
	}

	type call struct{ name, requestID string }
	calls := make(chan call, 2)
	second := New(Config{QueueDir: queue, DeadLetterDir: filepath.Join(dir, "dlq-second"), ResumeDelay: 100 * time.Millisecond,
		Functions: map[string]Function{
			"work": {Handler: lambda.NewHandler(func(ctx context.Context, e in) error {
				lc, _ := lambdacontext.FromContext(ctx)
				calls <- call{e.Name, lc.AwsRequestID}
				return nil
			})},
		}})
	defer second.Close(context.Background())
	select {
	case c := <-calls:
		if c.name != "job 1" || c.requestID != rec.RequestID {
			t.Errorf("ran %+v, want job 1 with request id %s", c, rec.RequestID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the crashed invocation did not run again")
	}
	waitFor(t, func() bool {
		left, _ := filepath.Glob(filepath.Join(queue, "*.json"))
		return len(left) == 0
	}, "queue record removed after success")
	if dl, _ := filepath.Glob(filepath.Join(dir, "dlq-second", "*.json")); len(dl) != 0 {
		t.Errorf("%d dead letters after a successful run", len(dl))
	}

	// A record that has used every attempt: dead-lettered, not run.
	rec.RequestID, rec.Attempts = "crash-loop", 3
	b, _ := json.Marshal(rec)
	if err := os.WriteFile(filepath.Join(queue, "crash-loop.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	third := New(Config{QueueDir: queue, DeadLetterDir: filepath.Join(dir, "dlq-third"), ResumeDelay: 10 * time.Millisecond,
		Functions: map[string]Function{
			"work": {Handler: lambda.NewHandler(func(ctx context.Context, e in) error {
				t.Error("an invocation past its attempts ran again")
				return nil
			})},
		}})
	defer third.Close(context.Background())
	dl, _ := filepath.Glob(filepath.Join(dir, "dlq-third", "*.json"))
	if len(dl) != 1 {
		t.Fatalf("%d dead letters for an invocation past its attempts, want 1", len(dl))
	}
	var d DeadLetter
	if b, err := os.ReadFile(dl[0]); err != nil || json.Unmarshal(b, &d) != nil || d.Error == nil || d.Error.Type != "Runtime.ExitError" {
		t.Errorf("dead letter %+v (%v)", d, err)
	}
	if left, _ := filepath.Glob(filepath.Join(queue, "*.json")); len(left) != 0 {
		t.Errorf("queue records left: %v", left)
	}
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	for range 200 {
		if ok() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting: %s", what)
}

// TestCloseKeepsJobsForTheNextStart: with a QueueDir, the jobs a Close
// cuts short (one running, two queued) are not dead-lettered but run in
// the next runtime.
func TestCloseKeepsJobsForTheNextStart(t *testing.T) {
	dir := t.TempDir()
	queue, dlq := filepath.Join(dir, "queue"), filepath.Join(dir, "dlq")
	first := New(Config{QueueDir: queue, DeadLetterDir: dlq, Concurrency: 1, Functions: map[string]Function{
		"work": {Handler: lambda.NewHandler(func(ctx context.Context, e in) error {
			<-ctx.Done()
			return ctx.Err()
		})},
	}})
	for _, name := range []string{"a", "b", "c"} {
		if err := first.InvokeAsync("work", []byte(`{"name":"`+name+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	if err := first.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("close: %v, want deadline exceeded", err)
	}
	cancel()
	if dl, _ := filepath.Glob(filepath.Join(dlq, "*.json")); len(dl) != 0 {
		t.Errorf("%d dead letters, want none: the jobs are kept", len(dl))
	}
	if kept, _ := filepath.Glob(filepath.Join(queue, "*.json")); len(kept) != 3 {
		t.Fatalf("%d jobs kept, want 3", len(kept))
	}

	var mu sync.Mutex
	ran := map[string]bool{}
	second := New(Config{QueueDir: queue, DeadLetterDir: dlq, ResumeDelay: 10 * time.Millisecond, Functions: map[string]Function{
		"work": {Handler: lambda.NewHandler(func(ctx context.Context, e in) error {
			mu.Lock()
			ran[e.Name] = true
			mu.Unlock()
			return nil
		})},
	}})
	defer second.Close(context.Background())
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		left, _ := filepath.Glob(filepath.Join(queue, "*.json"))
		return len(ran) == 3 && len(left) == 0
	}, "the three kept jobs run and leave the queue")
}
