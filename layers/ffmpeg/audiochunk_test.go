//go:build linux

package ffmpeg

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestLayerAudioChunk runs the pipeline's own arguments for a middle
// audio chunk (chunk.AudioJob: apad, and the noise bitstream filter
// dropping the pre- and post-roll packets) with the layer: the chunk
// keeps exactly its frames.
func TestLayerAudioChunk(t *testing.T) {
	r := newRoot(t)
	hostProbe := hostTool(t, "ffprobe")
	copyFile(t, testenv.Media(t, "01_bbb_720p_h264_aac51.mp4"), r.path("tmp/in.mp4"), 0o644)
	if err := os.MkdirAll(r.path("tmp/out/audio"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := &media.Source{Demuxer: "mov", Duration: 5, Audio: &media.Audio{Index: 1},
		Video: &media.Video{Index: 0, Width: 1280, Height: 720, CodedWidth: 1280, CodedHeight: 720, FPS: 24}}
	l := media.Ladder{SegmentSeconds: 1, Audio: &media.AudioRung{Name: media.AudioName, Bitrate: 128000, Channels: 2, SampleRate: 48000}}
	c := chunk.Chunk{Index: 1, Start: 1, Duration: 2, FirstSegment: 1}
	j := chunk.AudioJob(src, l, c, false, chunk.Options{Input: "/tmp/in.mp4", OutDir: "/tmp/out"})
	if _, errOut, err := r.run(t, "ffmpeg", encoder.Args(j)...); err != nil {
		t.Fatalf("audio chunk: %v\n%s", err, errOut)
	}
	out, err := exec.Command(hostProbe, "-v", "error", "-select_streams", "a", "-show_entries", "packet=pts_time", "-of", "csv=p=0",
		"concat:"+r.path("tmp/out/audio/seg_00001.ts")+"|"+r.path("tmp/out/audio/seg_00002.ts")).Output()
	if err != nil {
		t.Fatalf("probe the chunk: %v", err)
	}
	// Frames ending in [1 s, 3 s): 46 (0.958-0.979 s) to 139, 94 frames.
	if got, want := len(strings.Fields(string(out))), j.Output.AudioTrim.To-j.Output.AudioTrim.From; got != want || want != 94 {
		t.Errorf("the chunk holds %d packets, want %d (94)", got, want)
	}
}
