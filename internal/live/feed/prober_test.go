package feed

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestProber: a feed is described once its tables and SPS are in, whatever
// the pieces it arrives in; one that never describes itself is refused at
// the byte or the time budget, and then keeps nothing.
func TestProber(t *testing.T) {
	clip := encode(t, "-f", "lavfi", "-i", "testsrc2=size=352x288:rate=25:duration=1",
		"-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-f", "mpegts", "-")
	// Null packets: MPEG-TS that never describes a feed.
	null := bytes.Repeat(append([]byte{0x47, 0x1f, 0xff, 0x10}, make([]byte, 184)...), 7)
	t0 := time.Unix(1000, 0)

	t.Run("described", func(t *testing.T) {
		p := Prober{Max: 4 << 20, Timeout: 10 * time.Second}
		var info Info
		var err error
		now := t0
		for i := 0; i < len(clip); i += 1316 {
			info, err = p.Add(clip[i:min(i+1316, len(clip))], now)
			now = now.Add(10 * time.Millisecond)
			if !errors.Is(err, ErrNeedMore) {
				break
			}
		}
		if err != nil || info.Width != 352 || info.AudioCodec != "aac" {
			t.Fatalf("Add = %+v, %v", info, err)
		}
		if got := p.Bytes(); !bytes.Equal(got, clip[:len(got)]) || len(got) == 0 {
			t.Errorf("Bytes is not the start of the feed (%d bytes)", len(got))
		}
	})
	t.Run("byte budget", func(t *testing.T) {
		p := Prober{Max: 64 << 10, Timeout: time.Hour}
		var err error
		for n := 0; n < 1<<20 && (n == 0 || errors.Is(err, ErrNeedMore)); n += len(null) {
			_, err = p.Add(null, t0)
		}
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "no feed description") {
			t.Fatalf("err %v, want a refusal", err)
		}
		if len(p.Bytes()) != 0 {
			t.Errorf("a refused feed keeps %d bytes", len(p.Bytes()))
		}
	})
	t.Run("time budget, nothing arriving", func(t *testing.T) {
		p := Prober{Max: 4 << 20, Timeout: 2 * time.Second}
		if _, err := p.Add(null, t0); !errors.Is(err, ErrNeedMore) {
			t.Fatalf("first packets: %v", err)
		}
		if _, err := p.Add(nil, t0.Add(time.Second)); !errors.Is(err, ErrNeedMore) {
			t.Fatalf("within the time: %v", err)
		}
		if _, err := p.Add(nil, t0.Add(2*time.Second)); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("at the timeout: %v, want a refusal", err)
		}
	})
}
