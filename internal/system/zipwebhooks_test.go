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
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// With the functions from their zips, the zipped transcoder stores its
// webhook deliveries and queues their messages on the local cloud's
// queue, as on AWS on SQS; the system's sender makes them at once (its
// poll is an hour away here), signed; the zipped API serves the
// endpoints.
func TestZipWebhooks(t *testing.T) {
	cfg, logs := zipConfig(t)
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	cfg.Webhooks = webhooks.Config{Allow: loopback, Poll: time.Hour}
	var mu sync.Mutex
	var got []webhooks.Event
	var sigs, bodies []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev webhooks.Event
		_ = json.Unmarshal(b, &ev)
		mu.Lock()
		got, sigs, bodies = append(got, ev), append(sigs, r.Header.Get(webhooks.SignatureHeader)), append(bodies, string(b))
		mu.Unlock()
	}))
	t.Cleanup(recv.Close)
	sys := start(t, cfg)
	defer sys.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The zipped API has no allow list (the stack sets none), so a
	// loopback endpoint is registered beside it, in the same records.
	reg, err := webhooks.New(webhooks.Config{Store: sys.Store(), Bucket: cfg.MediaBucket, Allow: loopback})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := reg.Register(ctx, recv.URL+"/hook")
	if err != nil {
		t.Fatal(err)
	}
	edge := "http://" + cfg.EdgeAddr
	if code, body := get(t, edge+"/api/webhooks", "Authorization", "Bearer "+token); code != 200 || !strings.Contains(body, ep.ID) || strings.Contains(body, ep.Secret) {
		t.Errorf("the zipped API's endpoints: %d %s", code, body)
	}

	key := "system/zip-hooked.mp4"
	if err := sys.Store().PutFile(ctx, cfg.UploadsBucket, key, testenv.Media(t, "02_flower_960x540_h264_aac.mp4"), store.Object{ContentType: "video/mp4"}); err != nil {
		t.Fatal(err)
	}
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d events delivered; log:\n%s", n, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0].Type != webhooks.VideoCreated || got[1].Type != webhooks.VideoReady || !strings.Contains(string(got[1].Data), catalog.VideoID(key)) {
		t.Fatalf("events %+v", got)
	}
	for i := range got {
		if err := webhooks.Verify(sigs[i], ep.Secret, []byte(bodies[i]), time.Now(), 5*time.Minute); err != nil {
			t.Errorf("%s: %v", got[i].Type, err)
		}
	}
}
