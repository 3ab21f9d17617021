package rtmp

import (
	"bytes"
	"fmt"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/testenv"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// hub is a test feed.Hub made of function fields.
type hub struct {
	claim func(name, remote string) (feed.Feed, error)
}

func (h hub) Claim(name, remote string) (feed.Feed, error) { return h.claim(name, remote) }

// recorder is a feed.Feed that keeps what it is given.
type recorder struct {
	mu      sync.Mutex
	info    *feed.Info
	started time.Time // when Start was called
	buf     bytes.Buffer
	ended   chan error
}

func (r *recorder) Start(info feed.Info) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.info, r.started = &info, time.Now()
	return nil
}

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(b)
}

func (r *recorder) End(err error) { r.ended <- err }

func clip(t *testing.T) string {
	return testenv.Media(t, "10_bbb_trailer_h264_aac.flv")
}

func TestPublishRemuxesToTS(t *testing.T) {
	rec := &recorder{ended: make(chan error, 1)}
	var claimed []string
	var mu sync.Mutex
	s := &Server{
		Addr: "127.0.0.1:0",
		Verify: func(key string) (string, bool) {
			if key == "good-key" {
				return "cam", true
			}
			return "", false
		},
		Hub: hub{claim: func(name, _ string) (feed.Feed, error) {
			mu.Lock()
			defer mu.Unlock()
			claimed = append(claimed, name)
			if len(claimed) > 1 {
				return nil, feed.ErrBusy
			}
			return rec, nil
		}},
		HandshakeTimeout: 3 * time.Second,
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	push := func(key string) error {
		return exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-i", clip(t),
			"-t", "3", "-c", "copy", "-f", "flv", fmt.Sprintf("rtmp://%s/live/%s", s.ListenAddr(), key)).Run()
	}
	if err := push("bad-key"); err == nil {
		t.Error("bad key accepted")
	}
	mu.Lock()
	if len(claimed) != 0 {
		t.Errorf("a bad key reached the hub: %v", claimed)
	}
	mu.Unlock()
	before := time.Now()
	if err := push("good-key"); err != nil {
		t.Fatalf("publish: %v", err)
	}
	select {
	case err := <-rec.ended:
		if err != nil {
			t.Errorf("clean stop ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("feed not ended")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	// This clip's SPS carries no timing, so the frame rate is unknown (0).
	want := feed.Info{Width: 480, Height: 270, VideoCodec: "h264", Audio: true, AudioCodec: "aac"}
	if rec.info == nil {
		t.Fatal("no info")
	}
	// Received is when publishing began: before the tracks were found and
	// Start was called (the publisher sent its first frames then).
	got := *rec.info
	if got.Received.Before(before) || got.Received.After(rec.started) {
		t.Errorf("received at %v; want between %v and Start at %v", got.Received, before, rec.started)
	}
	got.Received = time.Time{}
	if got != want {
		t.Fatalf("info %+v, want %+v", got, want)
	}
	ts := rec.buf.Bytes()
	if len(ts) == 0 || len(ts)%188 != 0 {
		t.Fatalf("remuxed %d bytes, not whole TS packets", len(ts))
	}
	// What the TS holds is internal/live/flvts's to test; here, that the
	// publisher's stream reached the feed.
	got, err := feed.ProbeTS(ts)
	if err != nil || got != want {
		t.Errorf("remuxed TS probes as %+v, %v", got, err)
	}
	if err := push("good-key"); err == nil {
		t.Error("second claim refused by the hub, but the publisher was accepted")
	}
}
