package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// TestWebhooks: the operator registers an endpoint (the secret shown
// once), lists it, reads its delivery log, redelivers and deletes it;
// nobody else can, and refused URLs say why.
func TestWebhooks(t *testing.T) {
	var hooks *webhooks.Hooks
	e := newEnv(t, func(c *Config) {
		var err error
		hooks, err = webhooks.New(webhooks.Config{Store: c.Store, Bucket: c.MediaBucket,
			Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Backoff: 10 * time.Millisecond,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		c.Webhooks = hooks
	})
	if err := hooks.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hooks.Close(context.Background()) })
	var got atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got.Add(1) }))
	t.Cleanup(recv.Close)

	// Strangers and refused URLs.
	for _, c := range []struct {
		method, path, body string
		header             []string
		want               int
	}{
		{"POST", "/api/webhooks", `{"url":"` + recv.URL + `"}`, []string{"Authorization", ""}, 401},
		{"GET", "/api/webhooks", "", []string{"Authorization", "Bearer wrong"}, 401},
		{"POST", "/api/webhooks", `{"url":"http://169.254.169.254/"}`, nil, 400},
		{"POST", "/api/webhooks", `{"url":"file:///etc/passwd"}`, nil, 400},
		{"POST", "/api/webhooks", `{}`, nil, 400},
		{"POST", "/api/webhooks", `{"url":"` + recv.URL + `","secret":"mine"}`, nil, 400},
		{"DELETE", "/api/webhooks/wh_00", "", nil, 404},
		{"GET", "/api/webhooks/../../x/deliveries", "", nil, 404},
	} {
		if code, body := e.call(c.method, c.path, c.body, c.header...); code != c.want {
			t.Errorf("%s %s %s: %d %s, want %d", c.method, c.path, c.body, code, body, c.want)
		}
	}

	var ep webhooks.Endpoint
	e.callJSON("POST", "/api/webhooks", `{"url":"`+recv.URL+`/in"}`, http.StatusCreated, &ep)
	if !strings.HasPrefix(ep.ID, "wh_") || ep.Secret == "" || ep.URL != recv.URL+"/in" {
		t.Fatalf("registered %+v", ep)
	}
	code, list := e.call("GET", "/api/webhooks", "")
	if code != 200 || !strings.Contains(string(list), ep.ID) || strings.Contains(string(list), ep.Secret) || strings.Contains(string(list), "secret") {
		t.Errorf("list: %d %s", code, list)
	}
	if err := hooks.Emit(context.Background(), webhooks.VideoReady, webhooks.VideoSubject("v"), map[string]string{"id": "v"}); err != nil {
		t.Fatal(err)
	}
	var log struct{ Deliveries []webhooks.Delivery }
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		e.callJSON("GET", "/api/webhooks/"+ep.ID+"/deliveries", "", 200, &log)
		if len(log.Deliveries) == 1 && log.Deliveries[0].State == webhooks.Delivered {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("deliveries: %+v", log)
		}
	}
	if a := log.Deliveries[0].Attempts; len(a) != 1 || a[0].Status != 200 {
		t.Errorf("attempts %+v", a)
	}
	var again webhooks.Delivery
	e.callJSON("POST", "/api/webhooks/"+ep.ID+"/deliveries/"+log.Deliveries[0].ID+"/redeliver", "", http.StatusAccepted, &again)
	if again.EventID != log.Deliveries[0].EventID || again.State != webhooks.Pending {
		t.Errorf("redelivery %+v", again)
	}
	for end := time.Now().Add(5 * time.Second); got.Load() < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("not redelivered")
		}
	}
	if code, _ := e.call("POST", "/api/webhooks/"+ep.ID+"/deliveries/dlv_0/redeliver", ""); code != 404 {
		t.Errorf("redeliver unknown: %d", code)
	}
	if code, _ := e.call("DELETE", "/api/webhooks/"+ep.ID, ""); code != 200 {
		t.Errorf("delete: %d", code)
	}
	var after struct{ Webhooks []json.RawMessage }
	e.callJSON("GET", "/api/webhooks", "", 200, &after)
	if len(after.Webhooks) != 0 {
		t.Errorf("after delete: %s", after.Webhooks)
	}
}

// TestWebhooksOff: without webhooks configured the routes say so, to the
// operator only.
func TestWebhooksOff(t *testing.T) {
	e := newEnv(t, nil)
	if code, body := e.call("GET", "/api/webhooks", ""); code != 404 || !strings.Contains(string(body), "not enabled") {
		t.Errorf("%d %s", code, body)
	}
	if code, _ := e.call("GET", "/api/webhooks", "", "Authorization", ""); code != 401 {
		t.Errorf("stranger: %d", code)
	}
}
