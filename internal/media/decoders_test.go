package media

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDecodersOfThisFFmpeg: the full FFmpeg the tests run (Debian's)
// decodes every codec the probe accepts, AV1 with dav1d.
func TestDecodersOfThisFFmpeg(t *testing.T) {
	out, err := exec.Command(FFprobePath(), "-hide_banner", "-decoders").Output()
	if err != nil {
		t.Fatal(err)
	}
	set := ParseDecoders(out)
	if missing := Undecodable(set); len(missing) != 0 {
		t.Errorf("accepted codecs this FFmpeg cannot decode: %v", missing)
	}
	if !set["av1"] {
		t.Error("av1 not decodable; Debian's FFmpeg has libdav1d")
	}
}

func TestParseDecoders(t *testing.T) {
	listing := `Decoders:
 V..... = Video
 ------
 V....D h264                 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10
 V..... h264_cuvid           Nvidia CUVID H264 decoder (codec h264)
 V....D av1                  Alliance for Open Media AV1
 V..... av1_cuvid            Nvidia CUVID AV1 decoder (codec av1)
 V...BD flv                  FLV / Sorenson Spark / Sorenson H.263 (Flash Video) (codec flv1)
 A....D mp3float             MP3 (MPEG audio layer 3) (codec mp3)
 V..... hevc_v4l2m2m         V4L2 mem2mem HEVC decoder wrapper (codec hevc)
`
	set := ParseDecoders([]byte(listing))
	var got []string
	for c := range set {
		got = append(got, c)
	}
	slices.Sort(got)
	// Hardware-only decoders do not count: AV1 and HEVC are not decodable.
	if want := []string{"flv1", "h264", "mp3"}; !slices.Equal(got, want) {
		t.Errorf("decodable %v, want %v", got, want)
	}
}

// TestProbeRefusesUndecodable: a build without a decoder for the upload's
// codec (the Lambda layer has none for AV1) refuses it at probe, in words.
func TestProbeRefusesUndecodable(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "av1.mp4")
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc=size=64x64:rate=10:duration=1",
		"-c:v", "libaom-av1", "-cpu-used", "8", "-b:v", "50k", clip)
	if src := probe(t, clip); src.Video.Codec != "av1" {
		t.Fatalf("generated clip has codec %q", src.Video.Codec)
	}

	ffprobe := FFprobePath()
	full, err := decodableCodecs(context.Background(), ffprobe)
	if err != nil {
		t.Fatal(err)
	}
	without := map[string]bool{}
	for c := range full {
		if c != "av1" {
			without[c] = true
		}
	}
	// The same ffprobe, seen as a build without AV1 decoding.
	decoderSets.Lock()
	decoderSets.m[ffprobe] = without
	decoderSets.Unlock()
	t.Cleanup(func() {
		decoderSets.Lock()
		decoderSets.m[ffprobe] = full
		decoderSets.Unlock()
	})
	_, err = Probe(context.Background(), ffprobe, clip, DefaultLimits)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "video codec (av1) cannot be decoded") {
		t.Errorf("AV1 upload on a build without an AV1 decoder: %v", err)
	}
	// Other uploads still pass.
	probe(t, testMedia(t, "11_bottles_640x360_noaudio.mp4"))
}
