package transcode

import (
	"slices"
	"testing"

	"github.com/hlsflow/hlsflow/internal/live/feed"
	"github.com/hlsflow/hlsflow/internal/media"
)

// TestArgsFeedFormat: ffmpeg opens the feed with the demuxer of the
// container the listener said, MPEG-TS unless it said Matroska; never one
// ffmpeg guesses, nor one a feed could name.
func TestArgsFeedFormat(t *testing.T) {
	l, err := media.PlanLadder(&media.Source{Video: &media.Video{Codec: "vp8", Width: 640, Height: 360, FPS: 30}}, media.LadderOptions{MaxRungs: 1})
	if err != nil {
		t.Fatal(err)
	}
	for format, want := range map[string]string{"": "mpegts", feed.FormatMatroska: "matroska", "lavfi": "mpegts", "concat": "mpegts"} {
		args := Args(l, ArgsOptions{Dir: t.TempDir(), Feed: feed.Info{VideoCodec: "vp8", Width: 640, Height: 360, Format: format}})
		in := slices.Index(args, "-i")
		f := slices.Index(args, "-f")
		if in < 0 || f < 0 || f > in || args[f+1] != want {
			t.Errorf("feed format %q: -f %q before -i, want %q", format, args[f+1], want)
		}
	}
}
