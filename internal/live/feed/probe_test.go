package feed

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/media"
)

func encode(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error"}, args...)...).Output()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v", args, err)
	}
	return out
}

func TestProbeTS(t *testing.T) {
	h264aac := encode(t, "-f", "lavfi", "-i", "testsrc2=size=352x288:rate=25:duration=1",
		"-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-f", "mpegts", "-")
	h264only := encode(t, "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30:duration=1",
		"-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", "-")
	aacOnly := encode(t, "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", "-f", "mpegts", "-")
	mpeg2 := encode(t, "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=1",
		"-c:v", "mpeg2video", "-f", "mpegts", "-")
	tests := []struct {
		name    string
		data    []byte
		want    Info
		wantErr error
	}{
		{"h264 and aac", h264aac, Info{Width: 352, Height: 288, FPS: 25, VideoCodec: "h264", Audio: true, AudioCodec: "aac"}, nil},
		{"h264 only", h264only, Info{Width: 160, Height: 90, FPS: 30, VideoCodec: "h264"}, nil},
		{"aac only (radio)", aacOnly, Info{Audio: true, AudioCodec: "aac"}, nil},
		{"mpeg2 video", mpeg2, Info{}, ErrUnsupported},
		{"only the tables", h264aac[:188*3], Info{}, ErrNeedMore},
		{"garbage", []byte("not a transport stream at all"), Info{}, ErrNeedMore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ProbeTS(tt.data)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("ProbeTS err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ProbeTS = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestCheckAppliesTheVODLimits: feeds get the picture and frame-rate
// limits of uploads (media.DefaultLimits), checked on what ProbeTS reads.
func TestCheckAppliesTheVODLimits(t *testing.T) {
	wide := encode(t, "-f", "lavfi", "-i", "color=c=black:s=8192x16:r=25:d=0.2",
		"-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", "-")
	fast := encode(t, "-f", "lavfi", "-i", "color=c=black:s=64x48:r=300:d=0.2",
		"-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", "-")
	ok := encode(t, "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30:duration=1",
		"-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", "-")
	radio := encode(t, "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", "-f", "mpegts", "-")
	tests := []struct {
		name string
		data []byte
		want string // "" = accepted
	}{
		{"8192 wide", wide, "larger than the 7680x4320"},
		{"300 fps", fast, "frame rate (300 fps) is higher than the 240 fps"},
		{"160x90 at 30 fps", ok, ""},
		{"audio only", radio, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := ProbeTS(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			err = Check(info, media.DefaultLimits)
			if tt.want == "" {
				if err != nil {
					t.Errorf("%+v refused: %v", info, err)
				}
				return
			}
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%+v: %v, want ErrUnsupported saying %q", info, err, tt.want)
			}
		})
	}
}
