package secret

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeStore is a Secrets Manager stand-in: a current value that a test can
// rotate or break, and a count of reads.
type fakeStore struct {
	mu    sync.Mutex
	value string
	err   error
	reads atomic.Int32
	ids   []string
}

func (f *fakeStore) fetch(_ context.Context, id string) (string, error) {
	f.reads.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = append(f.ids, id)
	return f.value, f.err
}

func (f *fakeStore) set(v string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.value, f.err = v, err
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTest(f *fakeStore, ttl time.Duration) (*Cached, *clock) {
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	c := NewCached("arn:aws:secretsmanager:us-east-1:123456789012:secret:ApiToken-abc", f.fetch, ttl)
	c.now = clk.now
	return c, clk
}

func mustGet(t *testing.T, c *Cached, want string) {
	t.Helper()
	got, err := c.Get(context.Background())
	if err != nil || got != want {
		t.Fatalf("Get = %q, %v; want %q", got, err, want)
	}
}

// A rotated value is used once the cached one is older than the TTL, and
// not before; within the TTL Secrets Manager is not asked again.
func TestRotationTakesEffectAfterTTL(t *testing.T) {
	f := &fakeStore{value: " old-token\n"}
	c, clk := newTest(f, 5*time.Minute)
	mustGet(t, c, "old-token")
	f.set("new-token", nil)
	clk.t = clk.t.Add(4*time.Minute + 59*time.Second)
	mustGet(t, c, "old-token")
	if n := f.reads.Load(); n != 1 {
		t.Errorf("%d reads within the TTL, want 1", n)
	}
	clk.t = clk.t.Add(time.Second)
	mustGet(t, c, "new-token")
	if n := f.reads.Load(); n != 2 {
		t.Errorf("%d reads, want 2", n)
	}
	if f.ids[0] != "arn:aws:secretsmanager:us-east-1:123456789012:secret:ApiToken-abc" {
		t.Errorf("fetched %q, not the configured ARN", f.ids[0])
	}
}

// A failed read is an error, is not cached (the next call asks again), and
// never extends the life of the old value.
func TestFailureIsNotCachedAndOldValueExpires(t *testing.T) {
	f := &fakeStore{value: "token-1"}
	c, clk := newTest(f, time.Minute)
	mustGet(t, c, "token-1")
	boom := errors.New("throttled")
	f.set("", boom)
	clk.t = clk.t.Add(time.Minute)
	if v, err := c.Get(context.Background()); !errors.Is(err, boom) || v != "" {
		t.Fatalf("Get after expiry with a failing store = %q, %v; want the store's error and no value", v, err)
	}
	f.set("token-2", nil)
	mustGet(t, c, "token-2")
	if n := f.reads.Load(); n != 3 {
		t.Errorf("%d reads, want 3 (the failure must not be cached)", n)
	}
}

// A blank secret is refused rather than treated as a token.
func TestBlankSecretIsAnError(t *testing.T) {
	for _, v := range []string{"", "  \n"} {
		f := &fakeStore{value: v}
		c, _ := newTest(f, time.Minute)
		if got, err := c.Get(context.Background()); !errors.Is(err, ErrEmpty) || got != "" {
			t.Errorf("blank %q: Get = %q, %v; want ErrEmpty", v, got, err)
		}
	}
}

// Concurrent callers on a cold cache share one read.
func TestConcurrentCallersShareOneRead(t *testing.T) {
	f := &fakeStore{value: "tok"}
	c, _ := newTest(f, time.Minute)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := c.Get(context.Background()); v != "tok" || err != nil {
				t.Errorf("Get = %q, %v", v, err)
			}
		}()
	}
	wg.Wait()
	if n := f.reads.Load(); n != 1 {
		t.Errorf("%d reads for 16 concurrent callers, want 1", n)
	}
}

// A zero TTL means the default, not "fetch on every call".
func TestDefaultTTL(t *testing.T) {
	f := &fakeStore{value: "tok"}
	c, clk := newTest(f, 0)
	mustGet(t, c, "tok")
	clk.t = clk.t.Add(DefaultTTL - time.Second)
	mustGet(t, c, "tok")
	if n := f.reads.Load(); n != 1 {
		t.Errorf("%d reads within DefaultTTL, want 1", n)
	}
}
