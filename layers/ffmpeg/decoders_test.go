//go:build linux

package ffmpeg

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/media"
)

// layerUndecodable are the codecs the probe accepts that the layer is built
// without, on purpose: AV1 needs dav1d, which the layer leaves out, so an
// AV1 upload is refused at probe with a reason (see the README).
var layerUndecodable = []string{"av1"}

// TestLayerDecoders keeps the layer's decoders and the probe's accepted
// codecs in step: every accepted codec but the listed ones decodes.
func TestLayerDecoders(t *testing.T) {
	r := newRoot(t)
	out, errOut, err := r.run(t, "ffprobe", "-hide_banner", "-decoders")
	if err != nil {
		t.Fatalf("ffprobe -decoders: %v\n%s", err, errOut)
	}
	if got := media.Undecodable(media.ParseDecoders([]byte(out))); !slices.Equal(got, layerUndecodable) {
		t.Errorf("accepted codecs the layer cannot decode: %v, want %v", got, layerUndecodable)
	}
}

// TestLayerRefusesAV1 probes an AV1 file with the layer's own ffprobe, as
// the transcode function does on Lambda, and wants it refused in words.
func TestLayerRefusesAV1(t *testing.T) {
	r := newRoot(t)
	if r.qemu != "" {
		t.Skip("the layer is for another architecture")
	}
	clip := filepath.Join(t.TempDir(), "av1.mp4")
	gen := exec.Command(hostTool(t, "ffmpeg"), "-hide_banner", "-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc=size=64x64:rate=10:duration=1",
		"-c:v", "libaom-av1", "-cpu-used", "8", "-b:v", "50k", clip)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("make an AV1 clip: %v\n%s", err, out)
	}
	// The binaries are static: they run outside the root as well.
	_, err := media.Probe(context.Background(), r.path("opt/bin/ffprobe"), clip, media.DefaultLimits)
	if !errors.Is(err, media.ErrUnsupported) || !strings.Contains(err.Error(), "(av1) cannot be decoded") {
		t.Errorf("AV1 upload probed with the layer: %v", err)
	}
}
