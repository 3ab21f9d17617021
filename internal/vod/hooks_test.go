package vod

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/testenv"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// sink records what the pipeline emits.
type sink struct {
	mu  sync.Mutex
	got []string // type subject state
}

func (e *sink) Emit(_ context.Context, typ, subject string, data any) error {
	st := data.(*catalog.Status)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, typ+" "+subject+" "+string(st.State))
	return nil
}

// TestWebhookEvents: an upload that becomes a video emits created then ready; a
// file that is no video emits created then failed, with the status as
// data.
func TestWebhookEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg")
	}
	h, env := newHandler(t)
	ev := &sink{}
	h.events = ev
	ctx := context.Background()

	good := "hooks/" + t.Name() + "/good.mp4"
	uploadFile(t, env.Store, good, cutSource(t, testenv.Media(t, "02_flower_960x540_h264_aac.mp4"), 2))
	bad := "hooks/" + t.Name() + "/bad.mp4"
	upload(t, env.Store, bad, []byte(strings.Repeat("not a video ", 100)))
	for _, k := range []string{good, bad} {
		if err := h.Handle(ctx, putEvent(t, k)); err != nil {
			t.Fatal(err)
		}
	}
	g, b := webhooks.VideoSubject(catalog.VideoID(good)), webhooks.VideoSubject(catalog.VideoID(bad))
	want := []string{
		"video.created " + g + " processing", "video.ready " + g + " ready",
		"video.created " + b + " processing", "video.failed " + b + " failed",
	}
	if strings.Join(ev.got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(ev.got, "\n"), strings.Join(want, "\n"))
	}
	// Done already: no new sink.
	if err := h.Handle(ctx, putEvent(t, good)); err != nil {
		t.Fatal(err)
	}
	if len(ev.got) != len(want) {
		t.Errorf("a repeated event emitted %q", ev.got[len(want):])
	}
}
