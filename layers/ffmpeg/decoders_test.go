//go:build linux

package ffmpeg

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/media"
)

// TestLayerDecoders keeps the layer's decoders and the probe's accepted
// codecs in step: every codec the probe accepts decodes with the layer.
func TestLayerDecoders(t *testing.T) {
	r := newRoot(t)
	out, errOut, err := r.run(t, "ffprobe", "-hide_banner", "-decoders")
	if err != nil {
		t.Fatalf("ffprobe -decoders: %v\n%s", err, errOut)
	}
	if got := media.Undecodable(media.ParseDecoders([]byte(out))); len(got) > 0 {
		t.Errorf("accepted codecs the layer cannot decode: %v", got)
	}
}

// TestLayerDecodesAV1: AV1 uploads (8-bit, and the 10-bit that phones and
// screen recorders write) are accepted by the layer's probe and decode
// with its dav1d, then scale and encode to the H.264 of the ladder.
func TestLayerDecodesAV1(t *testing.T) {
	r := newRoot(t)
	for _, tc := range []struct{ name, pixFmt string }{{"8-bit", "yuv420p"}, {"10-bit", "yuv420p10le"}} {
		t.Run(tc.name, func(t *testing.T) {
			clip := r.path("tmp/av1-" + tc.pixFmt + ".mp4")
			gen := exec.Command(hostTool(t, "ffmpeg"), "-hide_banner", "-nostdin", "-v", "error", "-y",
				"-f", "lavfi", "-i", "testsrc=size=128x72:rate=10:duration=1", "-pix_fmt", tc.pixFmt,
				"-c:v", "libaom-av1", "-cpu-used", "8", "-b:v", "50k", clip)
			if out, err := gen.CombinedOutput(); err != nil {
				t.Fatalf("make an AV1 clip: %v\n%s", err, out)
			}
			if r.qemu == "" {
				// The binaries are static: they run outside the root as
				// well, as media.Probe runs them on Lambda.
				src, err := media.Probe(context.Background(), r.path("opt/bin/ffprobe"), clip, media.DefaultLimits)
				if err != nil {
					t.Fatalf("AV1 upload probed with the layer: %v", err)
				}
				if src.Video == nil || src.Video.Codec != "av1" {
					t.Fatalf("probe: %+v, want an av1 video stream", src.Video)
				}
			}
			in := "/tmp/" + filepath.Base(clip)
			out := "/tmp/av1-" + tc.pixFmt + ".ts"
			if _, errOut, err := r.run(t, "ffmpeg", "-v", "error", "-i", in, "-vf", "scale=-2:36,format=yuv420p",
				"-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", out); err != nil {
				t.Fatalf("decode AV1 and encode H.264 with the layer: %v\n%s", err, errOut)
			}
			got, err := exec.Command(hostTool(t, "ffprobe"), "-v", "error", "-count_frames", "-select_streams", "v:0",
				"-show_entries", "stream=codec_name,height,nb_read_frames", "-of", "csv=p=0", r.path(out)).Output()
			if err != nil {
				t.Fatalf("probe the output: %v", err)
			}
			// MPEG-TS lists the stream under its program too: the first
			// line is enough.
			line, _, _ := strings.Cut(strings.TrimSpace(string(got)), "\n")
			if want := "h264,36,10"; line != want {
				t.Errorf("output stream %q, want %q (codec, height, frames)", line, want)
			}
		})
	}
}
