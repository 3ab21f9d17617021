package encoder

import (
	"github.com/hlsflow/hlsflow/internal/media"

	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestPosterAt(t *testing.T) {
	for _, tt := range []struct{ d, want float64 }{{0, 0}, {2.1, 0.21}, {70, 7}, {3600, 10}} {
		if got := PosterAt(tt.d); got < tt.want-1e-9 || got > tt.want+1e-9 {
			t.Errorf("PosterAt(%g) = %g, want %g", tt.d, got, tt.want)
		}
	}
}

// TestPosterFrame grabs real posters and checks their size and orientation
// with ffprobe: the rotated portrait phone video must give a portrait JPEG.
func TestPosterFrame(t *testing.T) {
	tests := []struct {
		media         string
		width, height int
	}{
		{"01_bbb_720p_h264_aac51.mp4", 1280, 720},
		{"03_bbb_1080p_h264_aac51_rot90.mp4", 720, 1280}, // capped at 720p, portrait
		{"04_iphone4s_portrait_rot90.mov", 320, 568},
	}
	for _, tt := range tests {
		t.Run(tt.media, func(t *testing.T) {
			in := testMedia(t, tt.media)
			src, err := media.Probe(context.Background(), media.FFprobePath(), in, media.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			l, err := media.PlanLadder(src, media.LadderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "poster.jpg")
			if err := runBin(context.Background(), media.FFmpegPath(), PosterArgs(src, l, in, out, PosterAt(src.Duration)), nil); err != nil {
				t.Fatal(err)
			}
			if st, err := os.Stat(out); err != nil || st.Size() < 1000 {
				t.Fatalf("no poster written: %v", err)
			}
			b, err := exec.Command(media.FFprobePath(), "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height,codec_name", "-of", "csv=p=0", out).Output()
			if err != nil {
				t.Fatal(err)
			}
			want := "mjpeg," + strconv.Itoa(tt.width) + "," + strconv.Itoa(tt.height)
			if got := strings.TrimSpace(string(b)); got != want {
				t.Errorf("poster is %s, want %s", got, want)
			}
		})
	}
}

func TestPosterArgsAudioOnly(t *testing.T) {
	if a := PosterArgs(&media.Source{Audio: &media.Audio{}}, media.Ladder{}, "x", "y", 0); a != nil {
		t.Errorf("audio-only source got poster args %q", a)
	}
}
