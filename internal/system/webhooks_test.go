package system_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// TestWebhooksAcrossRestart: an endpoint on 127.0.0.1, registered through
// the API, is told of an upload's video.created and video.ready, signed
// with its secret. The endpoint is down while the video is made and the
// system is restarted before it comes back: nothing is lost, and the
// events arrive in order.
func TestWebhooksAcrossRestart(t *testing.T) {
	cfg := config(t)
	cfg.Webhooks = webhooks.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Backoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	var up atomic.Bool
	var mu sync.Mutex
	type got struct {
		ev     webhooks.Event
		body   []byte
		sig    string
		status int
	}
	var all []got
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev webhooks.Event
		_ = json.Unmarshal(b, &ev)
		status := http.StatusServiceUnavailable
		if up.Load() {
			status = http.StatusOK
		}
		mu.Lock()
		all = append(all, got{ev, b, r.Header.Get(webhooks.SignatureHeader), status})
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(recv.Close)
	received := func() []got { mu.Lock(); defer mu.Unlock(); return append([]got(nil), all...) }

	sys := start(t, cfg)
	edge := "http://" + cfg.EdgeAddr
	req, _ := http.NewRequest("POST", edge+"/api/webhooks", strings.NewReader(`{"url":"`+recv.URL+`/hook"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ep webhooks.Endpoint
	err = json.NewDecoder(resp.Body).Decode(&ep)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated || ep.Secret == "" {
		t.Fatalf("register: %d %+v %v", resp.StatusCode, ep, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	key := "system/hooked.mp4"
	if err := sys.Store().PutFile(ctx, cfg.UploadsBucket, key, testenv.Media(t, "02_flower_960x540_h264_aac.mp4"), store.Object{ContentType: "video/mp4"}); err != nil {
		t.Fatal(err)
	}
	id := catalog.VideoID(key)
	for {
		st, err := catalog.Read(ctx, sys.Store(), cfg.MediaBucket, id)
		if err == nil && st.State == catalog.StateReady {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no ready status.json: %v %+v", err, st)
		}
		time.Sleep(300 * time.Millisecond)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Both events are stored once status.json says ready; video.ready
	// waits behind video.created, which the endpoint keeps refusing.
	waitFor("failed attempts", func() bool { return len(received()) >= 2 })
	if err := sys.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	up.Store(true)
	sys = start(t, cfg)
	t.Cleanup(func() { _ = sys.Close(context.Background()) })

	var ok []got
	waitFor("both events delivered", func() bool {
		ok = ok[:0]
		for _, g := range received() {
			if g.status == http.StatusOK {
				ok = append(ok, g)
			}
		}
		return len(ok) >= 2
	})
	if len(ok) != 2 || ok[0].ev.Type != webhooks.VideoCreated || ok[1].ev.Type != webhooks.VideoReady {
		t.Fatalf("delivered %d events, want video.created then video.ready: %+v", len(ok), ok)
	}
	for _, g := range ok {
		if err := webhooks.Verify(g.sig, ep.Secret, g.body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("%s: signature %q: %v", g.ev.Type, g.sig, err)
		}
	}
	var st catalog.Status
	if err := json.Unmarshal(ok[1].ev.Data, &st); err != nil || st.ID != id || st.State != catalog.StateReady || st.Playback == "" {
		t.Errorf("video.ready data %s: %v", ok[1].ev.Data, err)
	}
	code, body := get(t, edge+"/api/webhooks/"+ep.ID+"/deliveries", "Authorization", "Bearer "+token)
	if code != 200 || !strings.Contains(body, `"status":503`) || !strings.Contains(body, `"status":200`) || !strings.Contains(body, `"state":"delivered"`) {
		t.Errorf("delivery log: %d %s", code, body)
	}
}
