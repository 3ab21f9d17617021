package encoder

import (
	"github.com/hlsflow/hlsflow/internal/media"

	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLadderArgsGolden keeps the full ffmpeg argv of real sources, one
// argument a line, and checks the parts the pipeline's safety and
// segment alignment rest on.
func TestLadderArgsGolden(t *testing.T) {
	defer func(f func() int) { numCPU = f }(numCPU)
	numCPU = func() int { return 6 } // a 10 GB Lambda
	// As on Lambda (provided.al2023), whatever this machine keeps.
	t.Setenv(media.CAFileEnv, "/etc/pki/tls/certs/ca-bundle.crt")
	// The shared media whose ladders internal/media keeps as golden files.
	for _, name := range []string{
		"01_bbb_720p_h264_aac51.mp4", "02_flower_960x540_h264_aac.mp4", "03_bbb_1080p_h264_aac51_rot90.mp4",
		"04_iphone4s_portrait_rot90.mov", "07_bbb_vp9_opus.webm", "08_tears_of_steel_vp8_vorbis.webm",
		"09_bbb_720p60_h264_aac.ts", "11_bottles_640x360_noaudio.mp4", "13_galway_alac_audio_only.m4a",
	} {
		t.Run(name, func(t *testing.T) {
			src := probe(t, testMedia(t, name))
			l, err := media.PlanLadder(src, media.LadderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			args := ladderArgs(src, l, encodeOptions{Input: "https://uploads.example/key?X-Amz-Signature=s", OutDir: "/tmp/out", Progress: true})
			checkArgs(t, src, l, args)
			golden(t, "args_"+strings.TrimSuffix(name, filepath.Ext(name))+".txt", []byte(strings.Join(args, "\n")+"\n"))
		})
	}
}

func checkArgs(t *testing.T, src *media.Source, l media.Ladder, args []string) {
	t.Helper()
	in := slices.Index(args, "-i")
	if in < 0 {
		t.Fatalf("no -i in %q", args)
	}
	before := func(opt, val string) {
		t.Helper()
		i := slices.Index(args, opt)
		if i < 0 || i > in || args[i+1] != val {
			t.Errorf("want %s %s before -i", opt, val)
		}
	}
	before("-f", src.Demuxer)
	before("-format_whitelist", src.Demuxer)                                           // only the probed demuxer may open
	before("-max_pixels", strconv.FormatInt(media.MaxPixels(src.Video), 10))           // no picture larger than probed
	before("-t", fmtFloat(math.Ceil(src.Duration+media.DurationMargin(src.Duration)))) // no longer than probed
	if strings.HasPrefix(args[in+1], "http") {
		before("-protocol_whitelist", "http,https,tcp,tls")
	} else {
		before("-protocol_whitelist", "file")
	}
	var names []string
	for _, r := range l.Video {
		names = append(names, "name:"+r.Name)
	}
	if l.Audio != nil {
		names = append(names, "name:audio")
	}
	vsm := args[slices.Index(args, "-var_stream_map")+1]
	for _, n := range names {
		if !strings.Contains(vsm, n) {
			t.Errorf("-var_stream_map %q lacks %s", vsm, n)
		}
	}
	if len(l.Video) > 0 && !slices.Contains(args, "expr:gte(t,n_forced*4)") {
		t.Errorf("keyframes are not forced at segment boundaries")
	}
	if !strings.Contains(args[slices.Index(args, "-hls_flags")+1], "temp_file") {
		t.Errorf("segments are not written under a temporary name")
	}
}

func TestLadderArgsOptions(t *testing.T) {
	src := &media.Source{Demuxer: "mov", Video: &media.Video{Index: 0, Width: 1280, Height: 720, FPS: 30}, Audio: &media.Audio{Index: 1, Channels: 2}}
	l, err := media.PlanLadder(src, media.LadderOptions{Rungs: []string{"360p"}, SegmentSeconds: 6})
	if err != nil {
		t.Fatal(err)
	}
	ntsc := l // a whole-frame segment, as media.PlanCodecs gives 29.97 fps with AV1
	ntsc.SegmentSeconds = 4.004
	tests := []struct {
		name string
		src  *media.Source
		l    media.Ladder
		opt  encodeOptions
		want []string // consecutive arguments that must appear
		nil_ bool
	}{
		{"local file", src, l, encodeOptions{Input: "in.mp4", OutDir: "o"}, []string{"-protocol_whitelist", "file", "-format_whitelist", "mov", "-max_pixels", "1193984", "-f", "mov", "-i", "file:in.mp4"}, false},
		{"url", src, l, encodeOptions{Input: "http://h/k", OutDir: "o"}, []string{"-protocol_whitelist", "http,https,tcp,tls"}, false},
		{"default preset", src, l, encodeOptions{Input: "i", OutDir: "o"}, []string{"-preset", "veryfast"}, false},
		{"preset", src, l, encodeOptions{Input: "i", OutDir: "o", Preset: "slow"}, []string{"-preset", "slow"}, false},
		{"threads", src, l, encodeOptions{Input: "i", OutDir: "o", Threads: 2}, []string{"-threads", "2"}, false},
		{"duration before -i", src, l, encodeOptions{Input: "i", OutDir: "o", Duration: 2500 * time.Millisecond}, []string{"-t", "2.5", "-i"}, false},
		{"progress", src, l, encodeOptions{Input: "i", OutDir: "o", Progress: true}, []string{"-progress", "pipe:1"}, false},
		{"segment length", src, l, encodeOptions{Input: "i", OutDir: "o"}, []string{"-hls_time", "6"}, false},
		{"keyframes follow segment length", src, l, encodeOptions{Input: "i", OutDir: "o"}, []string{"-force_key_frames", "expr:gte(t,n_forced*6)"}, false},
		{"whole-frame segment keyframes", src, ntsc, encodeOptions{Input: "i", OutDir: "o"}, []string{"-force_key_frames", "expr:gte(t,n_forced*4.004-0.00001)", "-forced-idr"}, false},
		{"layout", src, l, encodeOptions{Input: "i", OutDir: "o"}, []string{"-hls_segment_filename", "o/%v/seg_%05d.ts", "-var_stream_map", "v:0,name:360p a:0,name:audio", "o/%v/index.m3u8"}, false},
		{"revision in segment names", src, l, encodeOptions{Input: "i", OutDir: "o", Revision: "3fa9c2d1"}, []string{"-hls_segment_filename", "o/%v/seg_3fa9c2d1_%05d.ts"}, false},
		{"revision that is not a name", src, l, encodeOptions{Input: "i", OutDir: "o", Revision: "../%d"}, nil, true},
		{"downmix", src, l, encodeOptions{Input: "i", OutDir: "o"}, []string{"-c:a", "aac", "-b:a", "128000", "-ac", "2", "-ar", "48000"}, false},
		{"empty ladder", src, media.Ladder{}, encodeOptions{Input: "i", OutDir: "o"}, nil, true},
		{"video rungs without video", &media.Source{Audio: src.Audio}, l, encodeOptions{Input: "i", OutDir: "o"}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := ladderArgs(tc.src, tc.l, tc.opt)
			if tc.nil_ {
				if args != nil {
					t.Errorf("args %q, want nil", args)
				}
				return
			}
			if !containsRun(args, tc.want) {
				t.Errorf("args lack %q:\n%q", tc.want, args)
			}
		})
	}
}

func TestRungThreads(t *testing.T) {
	r := func(w, h int, fps float64) media.Rung { return media.Rung{Width: w, Height: h, FPS: fps} }
	ladder1080 := []media.Rung{r(1920, 1080, 30), r(1280, 720, 30), r(854, 480, 30), r(640, 360, 30)}
	tests := []struct {
		name  string
		rungs []media.Rung
		cpus  int
		want  []int
	}{
		{"one rung takes x264's default", []media.Rung{r(1280, 720, 30)}, 2, []int{3}},
		{"1080p ladder on 2 CPUs", ladder1080, 2, []int{2, 1, 1, 1}},
		{"1080p ladder on 6 CPUs", ladder1080, 6, []int{5, 2, 1, 1}},
		{"frame rate counts", []media.Rung{r(1280, 720, 60), r(640, 360, 30)}, 4, []int{5, 1}},
		{"one CPU", ladder1080, 1, []int{1, 1, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := rungThreads(tc.rungs, tc.cpus); !slices.Equal(got, tc.want) {
				t.Errorf("threads %v, want %v", got, tc.want)
			}
		})
	}
	src := &media.Source{Demuxer: "mov", Video: &media.Video{Width: 1920, Height: 1080, FPS: 30}}
	l := media.Ladder{Video: ladder1080[:2], SegmentSeconds: 4}
	if args := ladderArgs(src, l, encodeOptions{Input: "i", OutDir: "o", Threads: 4}); slices.Contains(args, "-threads:v:0") || !containsRun(args, []string{"-threads", "4"}) {
		t.Errorf("explicit Threads: %q", args)
	}
	if args := ladderArgs(src, l, encodeOptions{Input: "i", OutDir: "o"}); !slices.Contains(args, "-threads:v:1") || slices.Contains(args, "-threads") {
		t.Errorf("automatic threads: %q", args)
	}
}

func containsRun(args, want []string) bool {
	for i := range args {
		if i+len(want) <= len(args) && slices.Equal(args[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

// TestRelayArgs keeps a restream's argv: the feed is copied, never
// re-encoded, from stdin to the FLV target, with progress for the bytes
// sent and the stall bound as -rw_timeout.
func TestRelayArgs(t *testing.T) {
	args := RelayArgs("rtmp://127.0.0.1:1935/live/key-123", 3*time.Second)
	golden(t, "args_relay.txt", []byte(strings.Join(args, "\n")+"\n"))
	for _, tc := range []struct{ opt, val string }{
		{"-i", "pipe:0"}, {"-c", "copy"}, {"-progress", "pipe:1"}, {"-rw_timeout", "3000000"},
	} {
		if i := slices.Index(args, tc.opt); i < 0 || args[i+1] != tc.val {
			t.Errorf("want %s %s in %q", tc.opt, tc.val, args)
		}
	}
	if slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-c:") || a == "-vf" || a == "-filter_complex" }) {
		t.Errorf("a relay re-encodes: %q", args)
	}
	if got := RelayArgs("rtmps://a.example/app/k", 15*time.Second); got[len(got)-1] != "rtmps://a.example/app/k" || got[len(got)-2] != "flv" ||
		got[slices.Index(got, "-rw_timeout")+1] != "15000000" {
		t.Errorf("target or stall not used: %q", got)
	}
	// Protocol options go before the output they apply to.
	got := RelayArgs("rtmps://a.example/app/k", time.Second, "-rtmp_tcurl", "rtmps://b.example/app")
	if i := slices.Index(got, "-rtmp_tcurl"); i < 0 || got[i+1] != "rtmps://b.example/app" || i+2 != len(got)-3 ||
		got[len(got)-1] != "rtmps://a.example/app/k" {
		t.Errorf("protocol options: %q", got)
	}
}
