package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/testenv"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// config is Hooks on a bucket of the test's own, with short waits.
func config(t *testing.T) webhooks.Config {
	t.Helper()
	env := testenv.S3(t)
	bucket := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(bucket) > 40 {
		bucket = bucket[:40]
	}
	// A fresh bucket per run (-count), so no run sees another's records.
	bucket = fmt.Sprintf("wh-%x-%s", time.Now().UnixNano()&0xffffffff, strings.Trim(bucket, "-"))
	if err := env.Store.EnsureBucket(context.Background(), bucket); err != nil {
		t.Fatal(err)
	}
	return webhooks.Config{Store: env.Store, Bucket: bucket, Allow: loopback,
		Backoff: 20 * time.Millisecond, MaxBackoff: 80 * time.Millisecond, Timeout: 2 * time.Second, Poll: 100 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func start(t *testing.T, cfg webhooks.Config) *webhooks.Hooks {
	t.Helper()
	h, err := webhooks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

// receiver records what an endpoint is sent, answering with answer(n)
// for the n-th request (from 1).
type receiver struct {
	mu     sync.Mutex
	got    []received
	answer func(n int) int
	srv    *httptest.Server
}

type received struct {
	ev     webhooks.Event
	body   []byte
	sig    string
	status int
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	r := &receiver{answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var ev webhooks.Event
		_ = json.Unmarshal(body, &ev)
		r.mu.Lock()
		status := 200
		if r.answer != nil {
			status = r.answer(len(r.got) + 1)
		}
		r.got = append(r.got, received{ev, body, req.Header.Get(webhooks.SignatureHeader), status})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// wait polls until cond holds or fails the test after d.
func wait(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func register(t *testing.T, h *webhooks.Hooks, url string) webhooks.Endpoint {
	t.Helper()
	e, err := h.Register(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.ID, "wh_") || len(e.Secret) < 32 {
		t.Fatalf("endpoint %+v", e)
	}
	return e
}

func TestDeliverSigned(t *testing.T) {
	h := start(t, config(t))
	r := newReceiver(t, nil)
	e := register(t, h, r.srv.URL+"/hook")
	if err := h.Emit(context.Background(), webhooks.VideoReady, webhooks.VideoSubject("v1"), map[string]any{"id": "v1", "state": "ready"}); err != nil {
		t.Fatal(err)
	}
	wait(t, 5*time.Second, "the event", func() bool { return len(r.all()) == 1 })
	got := r.all()[0]
	if got.ev.Type != webhooks.VideoReady || !strings.HasPrefix(got.ev.ID, "evt_") || got.ev.Created.IsZero() || !strings.Contains(string(got.ev.Data), `"v1"`) {
		t.Errorf("event %+v", got.ev)
	}
	if err := webhooks.Verify(got.sig, e.Secret, got.body, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("signature %q: %v", got.sig, err)
	}
	if err := webhooks.Verify(got.sig, "other-secret", got.body, time.Now(), 5*time.Minute); err == nil {
		t.Error("verifies with another secret")
	}
	// The secret is shown once only.
	eps, err := h.Endpoints(context.Background())
	if err != nil || len(eps) != 1 || eps[0].Secret != "" || eps[0].URL != r.srv.URL+"/hook" {
		t.Errorf("endpoints %+v %v", eps, err)
	}
	wait(t, 5*time.Second, "the log", func() bool {
		ds, err := h.Deliveries(context.Background(), e.ID)
		return err == nil && len(ds) == 1 && ds[0].State == webhooks.Delivered && len(ds[0].Attempts) == 1 && ds[0].Attempts[0].Status == 200
	})
}

func TestSignVerify(t *testing.T) {
	now := time.Unix(1700000000, 0)
	body := []byte(`{"id":"evt_1"}`)
	h := webhooks.Sign("sekrit", now, body)
	if !strings.HasPrefix(h, "t=1700000000,v1=") || len(h) != len("t=1700000000,v1=")+64 {
		t.Fatalf("header %q", h)
	}
	cases := []struct {
		name, header, secret string
		body                 []byte
		at                   time.Time
		ok                   bool
	}{
		{"valid", h, "sekrit", body, now, true},
		{"rotated secret listed second", "t=1700000000,v1=00," + h[len("t=1700000000,"):], "sekrit", body, now, true},
		{"tampered body", h, "sekrit", []byte(`{"id":"evt_2"}`), now, false},
		{"other secret", h, "other", body, now, false},
		{"too old", h, "sekrit", body, now.Add(10 * time.Minute), false},
		{"timestamp changed", strings.Replace(h, "t=1700000000", "t=1700000001", 1), "sekrit", body, now, false},
		{"no signature", "t=1700000000", "sekrit", body, now, false},
		{"garbage", "hello", "sekrit", body, now, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := webhooks.Verify(c.header, c.secret, c.body, c.at, 5*time.Minute)
			if (err == nil) != c.ok {
				t.Errorf("Verify: %v, want ok=%v", err, c.ok)
			}
		})
	}
}

// TestRetries: an endpoint that answers 500 three times then 200 gets the
// event exactly four times, and the log says so.
func TestRetries(t *testing.T) {
	h := start(t, config(t))
	r := newReceiver(t, func(n int) int {
		if n <= 3 {
			return 500
		}
		return 200
	})
	e := register(t, h, r.srv.URL)
	if err := h.Emit(context.Background(), webhooks.VideoReady, webhooks.VideoSubject("v1"), map[string]string{"id": "v1"}); err != nil {
		t.Fatal(err)
	}
	wait(t, 10*time.Second, "four attempts", func() bool { return len(r.all()) >= 4 })
	time.Sleep(500 * time.Millisecond) // nothing more comes
	got := r.all()
	if len(got) != 4 {
		t.Fatalf("%d requests, want 4", len(got))
	}
	for _, g := range got {
		if g.ev.ID != got[0].ev.ID {
			t.Errorf("event ids differ: %s, %s", g.ev.ID, got[0].ev.ID)
		}
	}
	ds, err := h.Deliveries(context.Background(), e.ID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries %v %v", ds, err)
	}
	var statuses []int
	for _, a := range ds[0].Attempts {
		statuses = append(statuses, a.Status)
	}
	if ds[0].State != webhooks.Delivered || fmt.Sprint(statuses) != "[500 500 500 200]" {
		t.Errorf("log: %s %v", ds[0].State, statuses)
	}
	// Redeliver sends the same event once more, as a new delivery.
	d, err := h.Redeliver(context.Background(), e.ID, ds[0].ID)
	if err != nil || d.ID == ds[0].ID || d.EventID != ds[0].EventID {
		t.Fatalf("redeliver: %+v %v", d, err)
	}
	wait(t, 5*time.Second, "the redelivery", func() bool { return len(r.all()) == 5 })
	if r.all()[4].ev.ID != got[0].ev.ID {
		t.Error("redelivered another event")
	}
	if _, err := h.Redeliver(context.Background(), e.ID, "dlv_0123"); err == nil {
		t.Error("redelivered an unknown delivery")
	}
}

// TestGiveUp: past RetryFor a delivery is given up, and the next event of
// the same video goes.
func TestGiveUp(t *testing.T) {
	cfg := config(t)
	cfg.RetryFor = 200 * time.Millisecond
	h := start(t, cfg)
	var fail atomic.Bool
	fail.Store(true)
	r := newReceiver(t, func(int) int {
		if fail.Load() {
			return 503
		}
		return 204
	})
	e := register(t, h, r.srv.URL)
	ctx := context.Background()
	_ = h.Emit(ctx, webhooks.VideoCreated, webhooks.VideoSubject("v"), nil)
	wait(t, 5*time.Second, "given up", func() bool {
		ds, _ := h.Deliveries(ctx, e.ID)
		return len(ds) == 1 && ds[0].State == webhooks.GivenUp
	})
	fail.Store(false)
	_ = h.Emit(ctx, webhooks.VideoReady, webhooks.VideoSubject("v"), nil)
	wait(t, 5*time.Second, "the next event", func() bool {
		g := r.all()
		return len(g) > 0 && g[len(g)-1].ev.Type == webhooks.VideoReady && g[len(g)-1].status == 204
	})
}

// TestOrder: a later event about a video waits for the earlier one, even
// when the earlier one needs retries; another video is not held up.
func TestOrder(t *testing.T) {
	h := start(t, config(t))
	var mu sync.Mutex
	fails := map[string]int{}
	var order []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var ev webhooks.Event
		b, _ := io.ReadAll(req.Body)
		_ = json.Unmarshal(b, &ev)
		mu.Lock()
		defer mu.Unlock()
		subject := string(ev.Data)
		if ev.Type == webhooks.VideoCreated && subject == `"a"` && fails[ev.ID] < 3 {
			fails[ev.ID]++
			w.WriteHeader(500)
			return
		}
		order = append(order, subject+" "+ev.Type)
	}))
	t.Cleanup(srv.Close)
	register(t, h, srv.URL)
	ctx := context.Background()
	for _, typ := range []string{webhooks.VideoCreated, webhooks.VideoReady} {
		for _, v := range []string{"a", "b"} {
			if err := h.Emit(ctx, typ, webhooks.VideoSubject(v), v); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), order...) }
	wait(t, 10*time.Second, "four events", func() bool { return len(got()) == 4 })
	pos := map[string]int{}
	for i, o := range got() {
		pos[o] = i
	}
	if pos[`"a" video.created`] > pos[`"a" video.ready`] || pos[`"b" video.created`] > pos[`"b" video.ready`] {
		t.Errorf("out of order: %q", got())
	}
	if pos[`"b" video.ready`] > pos[`"a" video.created`] {
		t.Errorf("video b waited for video a: %q", got())
	}
}

// TestRestart: events emitted before a stop — pending, retrying, or not
// yet tried because the process died before sending — are delivered after
// the next Start, none lost.
func TestRestart(t *testing.T) {
	cfg := config(t)
	var up atomic.Bool
	r := newReceiver(t, func(int) int {
		if up.Load() {
			return 200
		}
		return 500
	})
	h1, err := webhooks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h1.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	register(t, h1, r.srv.URL)
	ctx := context.Background()
	for i := range 3 {
		if err := h1.Emit(ctx, webhooks.VideoReady, webhooks.VideoSubject(fmt.Sprint("v", i)), i); err != nil {
			t.Fatal(err)
		}
	}
	wait(t, 5*time.Second, "failing attempts", func() bool { return len(r.all()) >= 3 })
	if err := h1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// A process that stored an event and died before sending it.
	crashed, _ := webhooks.New(cfg)
	if err := crashed.Emit(ctx, webhooks.StreamEnded, webhooks.StreamSubject("s"), "s"); err != nil {
		t.Fatal(err)
	}
	before := len(r.all())
	time.Sleep(200 * time.Millisecond)
	if len(r.all()) != before {
		t.Fatal("a closed sender still sends")
	}
	up.Store(true)
	start(t, cfg)
	wait(t, 10*time.Second, "every event", func() bool {
		ok := map[string]bool{}
		for _, g := range r.all() {
			if g.status == 200 {
				ok[string(g.ev.Data)] = true
			}
		}
		return len(ok) == 4
	})
}

func TestRefusedURLs(t *testing.T) {
	cfg := config(t)
	cfg.Allow = nil
	h, err := webhooks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"file:///etc/passwd", "gopher://example.com/", "ftp://example.com/", "http://127.0.0.1/", "http://[::1]:8080/",
		"http://10.0.0.1/", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:127.0.0.1]/",
		"http://[fe80::1]/", "http://0.0.0.0/", "http://100.64.0.1/", "http://localhost/", "http://user:pw@example.com/",
		"http:///nohost", "not a url", "http://" + strings.Repeat("a", 3000) + ".com/",
	} {
		if _, err := h.Register(context.Background(), u); err == nil {
			t.Errorf("%s registered", u)
		}
	}
	eps, _ := h.Endpoints(context.Background())
	if len(eps) != 0 {
		t.Errorf("%d endpoints registered", len(eps))
	}
	p := webhooks.Targets{Lookup: func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("127.0.0.1")}, nil
	}}
	if err := p.CheckURL(context.Background(), "https://rebind.example/"); err == nil {
		t.Error("a name with a loopback address passed")
	}
	p.Lookup = func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
	}
	if err := p.CheckURL(context.Background(), "https://public.example/hook?x=1"); err != nil {
		t.Errorf("public name refused: %v", err)
	}
}

// TestLimits: endpoints and the queue are bounded.
func TestLimits(t *testing.T) {
	cfg := config(t)
	cfg.MaxEndpoints, cfg.MaxPending = 2, 3
	h := start(t, cfg)
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	t.Cleanup(func() { close(block); srv.Close() })
	register(t, h, srv.URL)
	register(t, h, srv.URL+"/2")
	if _, err := h.Register(context.Background(), srv.URL+"/3"); err == nil {
		t.Error("a third endpoint registered")
	}
	var errs int
	for i := range 4 {
		if h.Emit(context.Background(), webhooks.VideoReady, webhooks.VideoSubject(fmt.Sprint(i)), i) != nil {
			errs++
		}
	}
	if errs == 0 {
		t.Error("the queue took 8 deliveries, bound 3")
	}
}

// TestHostileEndpoints: an endpoint that hangs, one that answers an
// endless body and one that redirects hold up nobody else; the endless
// body is not read past a bound, and the redirect is not followed.
func TestHostileEndpoints(t *testing.T) {
	cfg := config(t)
	cfg.Timeout = 3 * time.Second
	h := start(t, cfg)
	hang := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang); hanging.Close() })
	var written, requests atomic.Int64
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		buf := make([]byte, 32<<10)
		for written.Load() < 1<<30 {
			n, err := w.Write(buf)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(huge.Close)
	var followed atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Add(1) }))
	t.Cleanup(target.Close)
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	good := newReceiver(t, nil)

	for _, u := range []string{hanging.URL, huge.URL, redirect.URL} {
		register(t, h, u)
	}
	g := register(t, h, good.srv.URL)
	red := register(t, h, redirect.URL+"/x")
	for i := range 8 {
		if err := h.Emit(context.Background(), webhooks.VideoReady, webhooks.VideoSubject(fmt.Sprint(i)), i); err != nil {
			t.Fatal(err)
		}
	}
	// Once stored, the good endpoint's deliveries go while the hanging
	// endpoint's first attempts still hang.
	wait(t, cfg.Timeout, "the good endpoint's events", func() bool { return len(good.all()) == 8 })
	wait(t, 10*time.Second, "the redirect's attempt", func() bool {
		ds, _ := h.Deliveries(context.Background(), red.ID)
		return len(ds) > 0 && len(ds[len(ds)-1].Attempts) > 0
	})
	ds, _ := h.Deliveries(context.Background(), red.ID)
	if a := ds[len(ds)-1].Attempts[0]; a.Status != http.StatusTemporaryRedirect || !strings.Contains(a.Error, "redirect") {
		t.Errorf("redirect attempt: %+v", a)
	}
	if ds[len(ds)-1].State == webhooks.Delivered {
		t.Error("a redirect counted as delivered")
	}
	time.Sleep(300 * time.Millisecond)
	// What the kernel's socket buffers take on loopback, a few MiB, and
	// 64 KiB read.
	if n := written.Load() / max(1, requests.Load()); n > 8<<20 {
		t.Errorf("%d bytes of an endless answer were taken per request", n)
	}
	if followed.Load() != 0 {
		t.Error("a redirect was followed")
	}
	if _, err := h.Deliveries(context.Background(), g.ID); err != nil {
		t.Error(err)
	}
}

// TestPrune: finished deliveries older than KeepLog leave the log;
// pending ones stay, however old.
func TestPrune(t *testing.T) {
	cfg := config(t)
	clock := time.Now()
	var mu sync.Mutex
	cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	cfg.KeepLog = time.Hour
	h := start(t, cfg)
	ok := newReceiver(t, nil)
	down := newReceiver(t, func(int) int { return 500 })
	a, b := register(t, h, ok.srv.URL), register(t, h, down.srv.URL)
	ctx := context.Background()
	if err := h.Emit(ctx, webhooks.VideoReady, webhooks.VideoSubject("v"), "v"); err != nil {
		t.Fatal(err)
	}
	count := func(id string) int { ds, _ := h.Deliveries(ctx, id); return len(ds) }
	wait(t, 5*time.Second, "delivered and tried", func() bool { return len(ok.all()) == 1 && len(down.all()) >= 1 })
	if err := h.Prune(ctx); err != nil || count(a.ID) != 1 || count(b.ID) != 1 {
		t.Fatalf("recent records pruned: %v %d %d", err, count(a.ID), count(b.ID))
	}
	mu.Lock()
	clock = clock.Add(2 * time.Hour)
	mu.Unlock()
	if err := h.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if count(a.ID) != 0 || count(b.ID) != 1 {
		t.Errorf("after pruning: %d delivered (want 0), %d pending (want 1)", count(a.ID), count(b.ID))
	}
}
