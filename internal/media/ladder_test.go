package media

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestPlanLadder(t *testing.T) {
	video := func(w, h int, fps float64) *Video {
		return &Video{Codec: "h264", CodedWidth: w, CodedHeight: h, Width: w, Height: h, FPS: fps}
	}
	stereo := &Audio{Index: 1, Codec: "aac", Channels: 2, SampleRate: 44100}
	type rung struct {
		name string
		w, h int
		fps  float64
		kbps int
	}
	tests := []struct {
		name  string
		src   Source
		opt   LadderOptions
		want  []rung
		audio bool
	}{
		{"720p landscape", Source{Video: video(1280, 720, 25), Audio: stereo}, LadderOptions{},
			[]rung{{"720p", 1280, 720, 25, 3000}, {"480p", 854, 480, 25, 1400}, {"360p", 640, 360, 25, 800}}, true},
		{"1080p portrait (rotated phone)", Source{Video: &Video{CodedWidth: 1920, CodedHeight: 1080, Rotation: 90, Width: 1080, Height: 1920, FPS: 30}, Audio: stereo}, LadderOptions{},
			[]rung{{"1080p", 1080, 1920, 30, 5000}, {"720p", 720, 1280, 30, 3000}, {"480p", 480, 854, 30, 1400}, {"360p", 360, 640, 30, 800}}, true},
		{"4K capped at 1080p", Source{Video: video(3840, 2160, 30)}, LadderOptions{},
			[]rung{{"1080p", 1920, 1080, 30, 5000}, {"720p", 1280, 720, 30, 3000}, {"480p", 854, 480, 30, 1400}, {"360p", 640, 360, 30, 800}}, false},
		{"960x540 keeps its own size on top, no upscale", Source{Video: video(960, 540, 29.97), Audio: stereo}, LadderOptions{},
			[]rung{{"540p", 960, 540, 29.97, 1690}, {"480p", 854, 480, 29.97, 1400}, {"360p", 640, 360, 29.97, 800}}, true},
		{"1280x714 just under 720p", Source{Video: video(1280, 714, 25)}, LadderOptions{},
			[]rung{{"714p", 1280, 714, 25, 2980}, {"480p", 860, 480, 25, 1410}, {"360p", 646, 360, 25, 810}}, false},
		{"500x270 more than 10% over 240p gets its own rung", Source{Video: video(500, 270, 25)}, LadderOptions{},
			[]rung{{"270p", 500, 270, 25, 470}, {"240p", 444, 240, 25, 420}}, false},
		{"800x332 odd height, wide", Source{Video: video(800, 332, 24)}, LadderOptions{},
			[]rung{{"332p", 800, 332, 24, 920}, {"240p", 578, 240, 24, 540}}, false},
		{"568x320 rotated", Source{Video: &Video{CodedWidth: 568, CodedHeight: 320, Rotation: 90, Width: 320, Height: 568, FPS: 29.98}}, LadderOptions{},
			[]rung{{"320p", 320, 568, 29.98, 630}, {"240p", 240, 426, 29.98, 400}}, false},
		{"320x180 tiny", Source{Video: video(320, 180, 24)}, LadderOptions{},
			[]rung{{"180p", 320, 180, 24, 230}}, false},
		{"175x99 odd tiny", Source{Video: video(175, 99, 15)}, LadderOptions{},
			[]rung{{"98p", 174, 98, 15, 200}}, false},
		{"PAL 4:3 with sample aspect ratio", Source{Video: &Video{CodedWidth: 720, CodedHeight: 576, Width: 768, Height: 576, FPS: 25}}, LadderOptions{},
			[]rung{{"576p", 768, 576, 25, 1500}, {"480p", 640, 480, 25, 1050}, {"360p", 480, 360, 25, 600}}, false},
		{"490x260 within 10% of 240p gets no extra rung", Source{Video: video(490, 260, 25)}, LadderOptions{},
			[]rung{{"240p", 452, 240, 25, 420}}, false},
		{"720p60", Source{Video: video(1280, 720, 60), Audio: stereo}, LadderOptions{},
			[]rung{{"720p", 1280, 720, 60, 4500}, {"480p", 854, 480, 30, 1400}, {"360p", 640, 360, 30, 800}}, true},
		{"1080p50", Source{Video: video(1920, 1080, 50)}, LadderOptions{},
			[]rung{{"1080p", 1920, 1080, 50, 7500}, {"720p", 1280, 720, 50, 4500}, {"480p", 854, 480, 25, 1400}, {"360p", 640, 360, 25, 800}}, false},
		{"240 fps halved", Source{Video: video(1280, 720, 240)}, LadderOptions{},
			[]rung{{"720p", 1280, 720, 60, 4500}, {"480p", 854, 480, 30, 1400}, {"360p", 640, 360, 30, 800}}, false},
		{"no audio", Source{Video: video(640, 360, 30)}, LadderOptions{},
			[]rung{{"360p", 640, 360, 30, 800}}, false},
		{"audio only", Source{Audio: stereo}, LadderOptions{}, nil, true},
		{"subset by name", Source{Video: video(1920, 1080, 30), Audio: stereo}, LadderOptions{Rungs: []string{"720p", "360p"}},
			[]rung{{"720p", 1280, 720, 30, 3000}, {"360p", 640, 360, 30, 800}}, true},
		{"subset fitting nothing keeps the smallest", Source{Video: video(640, 360, 30)}, LadderOptions{Rungs: []string{"1080p"}},
			[]rung{{"360p", 640, 360, 30, 800}}, false},
		{"max rungs keeps the highest", Source{Video: video(1920, 1080, 30)}, LadderOptions{MaxRungs: 2},
			[]rung{{"1080p", 1920, 1080, 30, 5000}, {"720p", 1280, 720, 30, 3000}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := PlanLadder(&tc.src, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			var got []rung
			for _, r := range l.Video {
				got = append(got, rung{r.Name, r.Width, r.Height, math.Round(r.FPS*100) / 100, r.Bitrate / 1000})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rungs\n got %v\nwant %v", got, tc.want)
			}
			if (l.Audio != nil) != tc.audio {
				t.Errorf("audio rung %v, want %v", l.Audio, tc.audio)
			}
			if l.Audio != nil && (l.Audio.Bitrate != 128000 || l.Audio.Channels != 2 || l.Audio.SampleRate != 48000 || l.Audio.Name != "audio") {
				t.Errorf("audio rung %+v, want AAC stereo 128 kb/s 48 kHz", *l.Audio)
			}
			if l.SegmentSeconds != 4 {
				t.Errorf("segment %g s, want the default 4", l.SegmentSeconds)
			}
			checkRungs(t, tc.src.Video, l.Video)
		})
	}
}

// checkRungs asserts the rules every planned rung obeys.
func checkRungs(t *testing.T, v *Video, rungs []Rung) {
	t.Helper()
	for i, r := range rungs {
		if r.Width%2 != 0 || r.Height%2 != 0 {
			t.Errorf("%s: %dx%d is not even", r.Name, r.Width, r.Height)
		}
		if r.Width > v.Width || r.Height > v.Height {
			t.Errorf("%s: %dx%d upscales the %dx%d source", r.Name, r.Width, r.Height, v.Width, v.Height)
		}
		// Proportions within the rounding to even (one pixel each way).
		want := float64(v.Width) / float64(v.Height)
		if lo, hi := float64(r.Width-2)/float64(r.Height+2), float64(r.Width+2)/float64(r.Height-2); want < lo || want > hi {
			t.Errorf("%s: %dx%d does not keep the %dx%d aspect ratio", r.Name, r.Width, r.Height, v.Width, v.Height)
		}
		if r.Name != fmt.Sprintf("%dp", min(r.Width, r.Height)) {
			t.Errorf("rung %q is %dx%d: not named by its short side", r.Name, r.Width, r.Height)
		}
		if r.FPS > v.FPS+1e-9 {
			t.Errorf("%s: %g fps above the source's %g", r.Name, r.FPS, v.FPS)
		}
		if r.MaxRate != r.Bitrate*11/10 || r.BufSize != 2*r.Bitrate {
			t.Errorf("%s: maxrate %d bufsize %d for bitrate %d, want 1.1x and 2x", r.Name, r.MaxRate, r.BufSize, r.Bitrate)
		}
		if i > 0 && (r.Bitrate >= rungs[i-1].Bitrate || min(r.Width, r.Height) >= min(rungs[i-1].Width, rungs[i-1].Height)) {
			t.Errorf("%s is not below %s", r.Name, rungs[i-1].Name)
		}
		if r.Profile == "" || r.Level == "" || !strings.HasPrefix(r.Codecs(), "avc1.") || len(r.Codecs()) != len("avc1.64001f") {
			t.Errorf("%s: profile %q level %q codecs %q", r.Name, r.Profile, r.Level, r.Codecs())
		}
	}
}

func TestPlanLadderErrors(t *testing.T) {
	tests := []struct {
		name string
		src  *Source
		opt  LadderOptions
	}{
		{"nil source", nil, LadderOptions{}},
		{"nothing to encode", &Source{}, LadderOptions{}},
		{"segment too long", &Source{Audio: &Audio{}}, LadderOptions{SegmentSeconds: 90}},
		{"negative segment", &Source{Audio: &Audio{}}, LadderOptions{SegmentSeconds: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if l, err := PlanLadder(tc.src, tc.opt); err == nil {
				t.Errorf("planned %+v, want an error", l)
			}
		})
	}
}

func TestCodecs(t *testing.T) {
	tests := []struct {
		r    Rung
		want string
	}{
		{Rung{Profile: "high", Level: "4.0"}, "avc1.640028"},
		{Rung{Profile: "high", Level: "3.1"}, "avc1.64001f"},
		{Rung{Profile: "main", Level: "3.0"}, "avc1.4d401e"},
		{Rung{Profile: "baseline", Level: "3.0"}, "avc1.42c01e"},
		{Rung{Profile: "high", Level: "4.2"}, "avc1.64002a"},
	}
	for _, tc := range tests {
		if got := tc.r.Codecs(); got != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.r.Profile, tc.r.Level, got, tc.want)
		}
	}
	if got := (AudioRung{}).Codecs(); got != "mp4a.40.2" {
		t.Errorf("audio codecs %s", got)
	}
}

func TestPickLevel(t *testing.T) {
	tests := []struct {
		name    string
		w, h    int
		fps     float64
		maxRate int
		high    bool
		want    string
	}{
		{"1080p30", 1920, 1080, 30, 5_500_000, true, "4.0"},
		{"1080p60", 1920, 1080, 60, 8_250_000, true, "4.2"},
		{"720p30", 1280, 720, 30, 3_300_000, true, "3.1"},
		{"720p60", 1280, 720, 60, 4_950_000, true, "3.2"},
		{"480p30", 854, 480, 30, 1_540_000, true, "3.1"},
		{"480p24", 854, 480, 24, 1_540_000, true, "3.0"},
		{"360p30", 640, 360, 30, 880_000, false, "3.0"},
		{"portrait 1080p30", 1080, 1920, 30, 5_500_000, true, "4.0"},
	}
	for _, tc := range tests {
		if got := pickLevel(tc.w, tc.h, tc.fps, tc.maxRate, 2*tc.maxRate*10/11, tc.high); got != tc.want {
			t.Errorf("%s: level %s, want %s", tc.name, got, tc.want)
		}
	}
}

// goldenSources are the shared media whose ladders and ffmpeg arguments
// are kept as golden files.
var goldenSources = []string{
	"01_bbb_720p_h264_aac51.mp4",
	"02_flower_960x540_h264_aac.mp4",
	"03_bbb_1080p_h264_aac51_rot90.mp4",
	"04_iphone4s_portrait_rot90.mov",
	"07_bbb_vp9_opus.webm",
	"08_tears_of_steel_vp8_vorbis.webm",
	"09_bbb_720p60_h264_aac.ts",
	"11_bottles_640x360_noaudio.mp4",
	"13_galway_alac_audio_only.m4a",
}

// TestLadderGolden plans the ladder of real sources and compares it, with
// the codecs strings the master playlist will carry, to testdata.
func TestLadderGolden(t *testing.T) {
	for _, name := range goldenSources {
		t.Run(name, func(t *testing.T) {
			src := probe(t, testMedia(t, name))
			l, err := PlanLadder(src, LadderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if src.Video != nil {
				checkRungs(t, src.Video, l.Video)
			}
			type rungOut struct {
				Rung
				Codecs string
			}
			out := struct {
				Video          []rungOut
				Audio          *AudioRung
				AudioCodecs    string `json:",omitempty"`
				SegmentSeconds float64
			}{SegmentSeconds: l.SegmentSeconds, Audio: l.Audio}
			for _, r := range l.Video {
				out.Video = append(out.Video, rungOut{r, r.Codecs()})
			}
			if l.Audio != nil {
				out.AudioCodecs = l.Audio.Codecs()
			}
			b, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "ladder_"+goldenName(name)+".json", append(b, '\n'))
		})
	}
}

// goldenName is the media file's name without its extension.
func goldenName(file string) string {
	return strings.TrimSuffix(file, filepath.Ext(file))
}
