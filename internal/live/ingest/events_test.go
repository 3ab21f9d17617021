package ingest

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// events records what the service emits.
type events struct {
	mu  sync.Mutex
	got []string // type subject data
}

func (e *events) Emit(_ context.Context, typ, subject string, data any) error {
	b, err := json.Marshal(data)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, typ+" "+subject+" "+string(b))
	return err
}

func (e *events) all() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.got...)
}

// TestStreamEvents: a stream's start, its end and its recording are
// emitted, in that order, with the stream's public fields.
func TestStreamEvents(t *testing.T) {
	ev := &events{}
	e := newEnvDeps(t, func(c *Config) { c.MaxRungs = 1 }, func(d *Deps) { d.Events = ev })
	pub := e.publishRTMP(e.key("hooked"), 4)
	rec := e.waitRecording("hooked")
	_ = pub.Wait()
	e.waitFor("three events", 10*time.Second, func() bool { return len(ev.all()) >= 3 })
	got := ev.all()
	if len(got) != 3 {
		t.Fatalf("events: %q", got)
	}
	want := []struct{ typ, in string }{
		{webhooks.StreamStarted, `"playback":"live/hooked/master.m3u8"`},
		{webhooks.StreamEnded, `"ended":`},
		{webhooks.RecordingReady, `"playback":"vod/` + rec + `/master.m3u8"`},
	}
	for i, w := range want {
		var data StreamEvent
		prefix := w.typ + " " + webhooks.StreamSubject("hooked") + " "
		if len(got[i]) < len(prefix) || got[i][:len(prefix)] != prefix || json.Unmarshal([]byte(got[i][len(prefix):]), &data) != nil {
			t.Errorf("event %d = %q, want %s", i, got[i], prefix)
			continue
		}
		if data.Name != "hooked" || data.Recording != rec || data.Started.IsZero() || !strings.Contains(got[i], w.in) {
			t.Errorf("event %d = %q, want %s", i, got[i], w.in)
		}
	}
}
