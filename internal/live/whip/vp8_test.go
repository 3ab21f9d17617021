package whip

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/hlsflow/hlsflow/internal/live/feed"
	"github.com/hlsflow/hlsflow/internal/live/whip/whiptest"
)

// TestPublishVP8: a publisher without H.264 (VP8 and Opus) gets a WebM
// feed, described from the first keyframe, that ffmpeg decodes whole.
func TestPublishVP8(t *testing.T) {
	f := start(t, nil)
	p, err := whiptest.Publish(context.Background(), f.endpoint("cam"), "cam.good", testClip(t),
		whiptest.Options{SendFor: 3 * time.Second, VP8: true})
	if err != nil {
		t.Fatal(err)
	}
	r := f.hub.claimed()[0]
	wait(t, r.started, 10*time.Second, "the feed to start")
	if got := *r.info; got.Width != 320 || got.Height != 240 || got.VideoCodec != "vp8" || got.AudioCodec != "opus" ||
		got.Format != feed.FormatMatroska || got.Received.IsZero() {
		t.Errorf("feed info %+v, want 320x240 vp8 with opus in matroska", got)
	}
	wait(t, p.Sent(), 10*time.Second, "the clip to be sent")
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(true); err != nil {
		t.Fatal(err)
	}
	wait(t, r.ended, 5*time.Second, "the feed to end")
	if r.endErr != nil {
		t.Errorf("the feed ended with %v after DELETE, want a clean end", r.endErr)
	}
	if streams, _ := probe(t, r.bytes()); streams != "vp8,opus" {
		t.Errorf("the WebM holds %q, want vp8,opus", streams)
	}
	// Every frame decodes (the first is a keyframe and none is broken),
	// and they span the 3 s sent (a live WebM states no duration).
	path := filepath.Join(t.TempDir(), "feed.webm")
	if err := os.WriteFile(path, r.bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("decoding the feed: %v\n%s", err, out)
	}
	out, err = exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	pts := strings.Fields(string(out))
	first, _ := strconv.ParseFloat(pts[0], 64)
	last, _ := strconv.ParseFloat(pts[len(pts)-1], 64)
	// The client sends from its first frame on, before the connection is
	// up, and does not answer keyframe requests: the feed starts at the
	// clip's second keyframe, 1 s in, or its first.
	if n, d := len(pts), last-first; n < 40 || n > 80 || d < 1.5 || d > 3.2 {
		t.Errorf("%d video frames over %.2f s, want 50 to 75 over 2 to 3 s", n, d)
	}
}

// TestCodecChoice: the answer names one video codec: H.264 whenever the
// offer has it (even listed after VP8, as browsers list them), VP8 when
// the offer has no H.264.
func TestCodecChoice(t *testing.T) {
	f := start(t, nil)
	for _, tc := range []struct {
		stream string
		offer  []byte
		want   string
	}{
		{"both", realOffer(t), "H264"},
		{"vp8", offerOf(t, webrtc.MimeTypeVP8), "VP8"},
	} {
		answer, _, err := whiptest.Post(context.Background(), f.endpoint(tc.stream), tc.stream+".good", "application/sdp", tc.offer)
		if err != nil {
			t.Fatalf("%s: %v", tc.stream, err)
		}
		var d sdp.SessionDescription
		if err := d.UnmarshalString(string(answer)); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range d.MediaDescriptions {
			if m.MediaName.Media != "video" {
				continue
			}
			for _, a := range m.Attributes {
				if a.Key == "rtpmap" {
					name, _, _ := strings.Cut(strings.Fields(a.Value + " x")[1], "/")
					names = append(names, name)
				}
			}
		}
		if len(names) == 0 {
			t.Errorf("%s: no video codec in the answer", tc.stream)
		}
		for _, n := range names {
			if n != tc.want {
				t.Errorf("%s: the answer's video names %v, want %s alone", tc.stream, names, tc.want)
				break
			}
		}
	}
}

// TestGarbageVP8: random VP8 payloads (keyframe tags, no picture) never
// start the feed; the session ends once the probe's time is spent, and
// nothing is left (the fixture checks).
func TestGarbageVP8(t *testing.T) {
	f := start(t, func(s *Server) { s.ProbeTimeout = 2 * time.Second })
	p, err := whiptest.Publish(context.Background(), f.endpoint("cam"), "cam.good", testClip(t),
		whiptest.Options{SendFor: time.Minute, Garbage: true, VP8: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(false)
	r := f.hub.claimed()[0]
	wait(t, r.ended, 15*time.Second, "the garbage feed to end")
	if r.wasStarted() || !errors.Is(r.endErr, feed.ErrUnsupported) {
		t.Errorf("garbage feed: started %v, ended with %v; want never started, %v", r.wasStarted(), r.endErr, feed.ErrUnsupported)
	}
	if n := noSessions(f.s); n != 0 {
		t.Errorf("%d sessions after the garbage publisher", n)
	}
}

// vp8Frame is a frame of n bytes: a keyframe (tag and start code, w x h)
// or an interframe.
func vp8Frame(key bool, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	if key {
		b[0] = 0x10 // show_frame, keyframe
		b[3], b[4], b[5] = 0x9d, 0x01, 0x2a
		b[6], b[7], b[8], b[9] = 64, 1, 240, 0 // 320 x 240
	} else {
		b[0] = 0x11
	}
	return b
}

func TestVP8Keyframe(t *testing.T) {
	if w, h, ok := vp8Keyframe(vp8Frame(true, 100)); !ok || w != 320 || h != 240 {
		t.Errorf("keyframe: %d x %d, %v", w, h, ok)
	}
	for name, b := range map[string][]byte{"interframe": vp8Frame(false, 100), "short": vp8Frame(true, 100)[:9],
		"no start code": append([]byte{0x10, 0, 0, 0, 0, 0}, make([]byte, 10)...), "zero size": vp8Frame(true, 100)[:6:6]} {
		if name == "zero size" {
			b = append(b, 0, 0, 0, 0)
		}
		if _, _, ok := vp8Keyframe(b); ok {
			t.Errorf("%s taken for a keyframe", name)
		}
	}
}

// TestVP8Assembler: frames come out whole; after a lost packet nothing
// is passed on until a keyframe, and a keyframe is asked for.
func TestVP8Assembler(t *testing.T) {
	pk := rtp.NewPacketizer(400, 96, 1, &codecs.VP8Payloader{}, rtp.NewFixedSequencer(1000), 90000)
	type step struct {
		key, lose bool
		samples   uint32 // to the next frame
	}
	// The builder waits a second's worth of timestamps for a lost packet
	// (a retransmission may come); frame 3 takes the clock past that.
	steps := []step{{key: true, samples: 3000}, {samples: 3000}, {lose: true, samples: 3000}, {samples: 100000},
		{samples: 3000}, {samples: 3000}, {key: true, samples: 3000}, {samples: 3000}}
	a := newVP8Assembler()
	var out []bool // keyframe of each frame passed on
	var asked []int
	for i, st := range steps {
		pkts := pk.Packetize(vp8Frame(st.key, 1000), st.samples)
		if st.lose {
			pkts = append(pkts[:1], pkts[2:]...)
		}
		for _, p := range pkts {
			frames, needKey := a.add(p)
			if needKey {
				asked = append(asked, i)
			}
			for _, f := range frames {
				_, _, key := vp8Keyframe(f.Data)
				if len(f.Data) != 1000 {
					t.Errorf("a frame of %d bytes, want 1000", len(f.Data))
				}
				out = append(out, key)
			}
		}
	}
	// The builder hands a frame on once the next one begins (the last is
	// still held), and gives up on the lost one (and frame 3, as old)
	// once frame 4 is past its wait. Frames 0 and 1, then nothing until
	// the keyframe (6).
	want := []bool{true, false, true}
	if len(out) != len(want) {
		t.Fatalf("frames passed on (keyframe?) %v, want %v", out, want)
	}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("frames passed on (keyframe?) %v, want %v", out, want)
		}
	}
	afterLoss := false
	for _, i := range asked {
		afterLoss = afterLoss || (i >= 3 && i <= 6)
		if i == 7 {
			t.Errorf("keyframe asked for at steps %v: still after the keyframe came", asked)
		}
	}
	if !afterLoss || asked[0] != 0 {
		t.Errorf("keyframe asked for at steps %v, want at the start and after the loss", asked)
	}
}
