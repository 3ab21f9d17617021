package flvts

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"

	"github.com/hlsflow/hlsflow/internal/live/feed"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// remux accepts one RTMP publisher on a loopback listener, started with
// ffmpeg args (input and codecs; the output is added), and remuxes what
// it sends.
func remux(t *testing.T, args ...string) (feed.Info, []byte, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pushed := make(chan error, 1)
	go func() {
		args := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error"}, args...)
		pushed <- exec.Command("ffmpeg", append(args, "-f", "flv", fmt.Sprintf("rtmp://%s/live/k", ln.Addr()))...).Run()
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	sc := &gortmplib.ServerConn{RW: c}
	if err := sc.Initialize(); err != nil {
		t.Fatal(err)
	}
	if err := sc.AcceptConn(); err != nil {
		t.Fatal(err)
	}
	if err := sc.AcceptAction(); err != nil {
		t.Fatal(err)
	}
	r := &gortmplib.Reader{Conn: sc}
	if err := r.Initialize(); err != nil {
		t.Fatal(err)
	}
	var ts bytes.Buffer
	m, info, err := New(r, &ts)
	if err != nil {
		return info, nil, err
	}
	for {
		if err := r.Read(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("read: %v", err)
			}
			break
		}
		if err := m.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := <-pushed; err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	return info, ts.Bytes(), nil
}

func TestRemux(t *testing.T) {
	lavfi := func(src string) []string { return []string{"-f", "lavfi", "-i", src} }
	sine, video := lavfi("sine=frequency=440:duration=3"), lavfi("testsrc2=size=320x180:rate=25:duration=3")
	x264 := []string{"-c:v", "libx264", "-preset", "ultrafast", "-g", "25"}
	cat := func(parts ...[]string) (out []string) {
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name string
		args []string
		want feed.Info
	}{
		// This clip's SPS carries no timing, so the frame rate is unknown (0).
		{"h264 and aac", []string{"-re", "-i", testenv.Media(t, "10_bbb_trailer_h264_aac.flv"), "-t", "3", "-c", "copy"},
			feed.Info{Width: 480, Height: 270, VideoCodec: "h264", Audio: true, AudioCodec: "aac"}},
		{"aac only", cat(sine, []string{"-c:a", "aac"}), feed.Info{Audio: true, AudioCodec: "aac"}},
		{"h264 and mp3", cat(video, sine, x264, []string{"-c:a", "libmp3lame", "-ar", "44100"}),
			feed.Info{Width: 320, Height: 180, FPS: 25, VideoCodec: "h264", Audio: true, AudioCodec: "mp3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, ts, err := remux(t, tt.args...)
			if err != nil || info != tt.want {
				t.Fatalf("info %+v, %v; want %+v", info, err, tt.want)
			}
			if len(ts) == 0 || len(ts)%188 != 0 {
				t.Fatalf("remuxed %d bytes, not whole TS packets", len(ts))
			}
			if got, err := feed.ProbeTS(ts); err != nil || got.VideoCodec != tt.want.VideoCodec || got.AudioCodec != tt.want.AudioCodec {
				t.Errorf("remuxed TS probes as %+v, %v; want the codecs of %+v", got, err, tt.want)
			}
			p := filepath.Join(t.TempDir(), "out.ts")
			if err := os.WriteFile(p, ts, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", p).Output()
			var d float64
			fmt.Sscan(string(bytes.TrimSpace(out)), &d)
			if err != nil || d < 2 || d > 4 {
				t.Errorf("remuxed TS lasts %v s (%v), want about 3", d, err)
			}
		})
	}
	t.Run("neither h264 nor aac/mp3", func(t *testing.T) {
		_, _, err := remux(t, cat(sine, []string{"-c:a", "pcm_alaw", "-ar", "8000"})...)
		if !errors.Is(err, feed.ErrUnsupported) {
			t.Errorf("G.711 audio = %v, want feed.ErrUnsupported", err)
		}
	})
}
