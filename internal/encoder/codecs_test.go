package encoder

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// extraLadder is a two-rung ladder of src with HEVC and AV1 rungs.
func extraLadder(t *testing.T, src *media.Source, seg float64) media.Ladder {
	t.Helper()
	l, err := media.PlanLadder(src, media.LadderOptions{SegmentSeconds: seg})
	if err != nil {
		t.Fatal(err)
	}
	return media.PlanCodecs(l, []media.Codec{media.HEVC, media.AV1})
}

func TestExtraArgs(t *testing.T) {
	src := &media.Source{Demuxer: "mov", Video: &media.Video{Index: 0, Width: 1280, Height: 720, FPS: 25}, Audio: &media.Audio{Index: 1, Channels: 2}}
	l := extraLadder(t, src, 4)
	if len(l.Extra) != 4 {
		t.Fatalf("extra rungs: %+v", l.Extra)
	}
	job := Job{Input: Input{URL: "i", Source: src}, Ladder: l, Output: Output{Kind: VOD, Dir: "o", Revision: "3fa9c2d1", CMAF: true}, Storyboard: &Storyboard{Interval: 2, Width: 160, Height: 90}}
	a := Args(job)
	if a == nil {
		t.Fatal("no arguments")
	}
	n := len(l.Video)
	graph := a[slices.Index(a, "-filter_complex")+1]
	for _, want := range [][]string{
		{"-c:v:3", "libx265", "-preset:v:3", hevcPreset, "-tag:v:3", "hvc1"},
		{"-c:v:5", "libsvtav1", "-preset:v:5", av1Preset},
		{"-g:v:5", "100"}, // a 4 s segment at 25 fps
		{"-svtav1-params:v:5", "mbr=1980:scd=0"},
		{"-map", "[out3]", "-map", "[out4]", "-map", "[out5]", "-map", "[out6]", "-map", "0:1"},
	} {
		if !containsRun(a, want) {
			t.Errorf("args lack %q:\n%q", want, a)
		}
	}
	if l.Extra[2].MaxRate != 1980000 {
		t.Errorf("720p-av1 maxrate %d: update the expected mbr", l.Extra[2].MaxRate)
	}
	// The extra rungs are split from their H.264 rung, after the storyboard's branch.
	for _, want := range []string{"[xs0]split=3[out0][out3][out5]", "[xs1]split=3[out1][out4][out6]", "[sb]"} {
		if !strings.Contains(graph, want) {
			t.Errorf("graph lacks %s: %s", want, graph)
		}
	}
	vsm := a[slices.Index(a, "-var_stream_map")+1]
	if !strings.Contains(vsm, "v:3,name:720p-hevc") || !strings.Contains(vsm, "v:6,name:540p-av1") && !strings.Contains(vsm, "v:6,name:480p-av1") {
		t.Errorf("var_stream_map %q", vsm)
	}
	if got, want := len(job.Renditions()), n+4+1; got != want {
		t.Errorf("%d renditions, want %d", got, want)
	}
	// Extra codecs need CMAF on demand: anything else is refused, not
	// written as a TS HEVC nobody can play.
	for name, j := range map[string]Job{
		"ts":   {Input: job.Input, Ladder: l, Output: Output{Kind: VOD, Dir: "o", Revision: "3fa9c2d1"}},
		"live": {Input: job.Input, Ladder: l, Output: Output{Kind: Live, Dir: "o", CMAF: true}},
	} {
		if a := Args(j); a != nil {
			t.Errorf("%s: Args with extra rungs = %q, want nil", name, a)
		}
	}
	bad := job
	bad.Ladder.Extra = slices.Clone(l.Extra)
	bad.Ladder.Extra[0].Width = 1000
	if Args(bad) != nil {
		t.Error("an extra rung of no H.264 rung's size was accepted")
	}
	bad.Ladder.Extra = []media.Rung{{Name: "720p-vp9", Codec: "vp9", Width: 1280, Height: 720, FPS: 25}}
	if Args(bad) != nil {
		t.Error("an unknown codec was accepted")
	}
	// The same job without extra rungs is today's arguments.
	plain := job
	plain.Ladder.Extra = nil
	if a := strings.Join(Args(plain), " "); strings.Contains(a, "x265") || strings.Contains(a, "svtav1") || strings.Contains(a, "[xs") {
		t.Errorf("no extra codecs, yet: %s", a)
	}
	if b := EncodeBudget(src, l, 10, ""); b.CPU <= EncodeBudget(src, plain.Ladder, 10, "").CPU || b.Memory <= EncodeBudget(src, plain.Ladder, 10, "").Memory {
		t.Errorf("the budget does not grow with extra rungs: %+v", b)
	}
}

// TestExtraEncode encodes a tiny clip into H.264, HEVC and AV1 rungs with
// one ffmpeg and checks what players depend on: every rendition decodes,
// HEVC is tagged hvc1, every rendition's segments have the same lengths
// and every keyframe is a segment's first frame (keyframes aligned), and
// the codec strings read from the init segments match ffprobe's profile
// and level. A 29.97 fps source gets AV1 rungs too, with a segment of a
// whole number of frames (120 at 4.004 s) that the forced H.264
// keyframes and SVT-AV1's frame-counted GOP both follow.
func TestExtraEncode(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes HEVC and AV1")
	}
	for _, c := range []struct {
		name, size, rate string
		dur, seg         float64
		codecs           []media.Codec
		extra            int
		wantSeg          float64
	}{
		{"25fps", "640x360", "25", 5, 2, []media.Codec{media.HEVC, media.AV1}, 2, 2},
		{"29.97fps", "640x360", "30000/1001", 9, 4, []media.Codec{media.AV1}, 1, 4.004},
		// 119 frames, 3.98883 s, which no double holds exactly: the
		// forced keyframes need their tolerance (keyframeExpr).
		{"29.83fps", "640x360", "179/6", 9, 4, []media.Codec{media.AV1}, 1, 119 / (179.0 / 6)},
		// 540p at 59.94 fps (240 frames a segment), 480p at 29.97 (120).
		{"59.94fps", "960x540", "60000/1001", 9, 4, []media.Codec{media.AV1}, 2, 4.004},
	} {
		t.Run(c.name, func(t *testing.T) { extraEncode(t, c.size, c.rate, c.dur, c.seg, c.codecs, c.extra, c.wantSeg) })
	}
}

func extraEncode(t *testing.T, size, rate string, dur, seg float64, codecs []media.Codec, extra int, wantSeg float64) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.mp4")
	d := strconv.FormatFloat(dur, 'f', -1, 64)
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc2=s="+size+":r="+rate+":d="+d, "-f", "lavfi", "-i", "sine=d="+d,
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "7", "-c:a", "aac", "-shortest", in)
	src := probe(t, in)
	l, err := media.PlanLadder(src, media.LadderOptions{SegmentSeconds: seg})
	if err != nil {
		t.Fatal(err)
	}
	l = media.PlanCodecs(l, codecs)
	if len(l.Extra) != extra || math.Abs(l.SegmentSeconds-wantSeg) > 1e-9 {
		t.Fatalf("extra rungs %+v, segment %v s; want %d rungs, %v s", l.Extra, l.SegmentSeconds, extra, wantSeg)
	}
	out := filepath.Join(dir, "out")
	job := Job{Input: Input{URL: in, Source: src}, Ladder: l, Output: Output{Kind: VOD, Dir: out, CMAF: true}, Preset: "ultrafast"}
	for _, r := range job.Renditions() {
		if err := os.MkdirAll(filepath.Join(out, r), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := runBin(context.Background(), media.FFmpegPath(), Args(job), nil); err != nil {
		t.Fatal(err)
	}
	var starts [][]string
	for _, r := range append(slices.Clone(l.Video), l.Extra...) {
		rdir := filepath.Join(out, r.Name)
		data, err := os.ReadFile(filepath.Join(rdir, "index.m3u8"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := hls.ParseMedia(data)
		if err != nil {
			t.Fatal(err)
		}
		var durs []string
		var at []float64 // each segment's start, from the first
		var sum float64
		for _, s := range p.Segments {
			durs = append(durs, s.Duration.String())
			at = append(at, sum)
			sum += s.Duration.Seconds()
		}
		starts = append(starts, durs)
		if n := len(p.Segments); n < 2 || math.Abs(p.Segments[0].Duration.Seconds()-l.SegmentSeconds) > 1e-3 {
			t.Errorf("%s: segments %v, want %v s ones", r.Name, durs, l.SegmentSeconds)
		}
		init, err := InitFile(rdir, p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(init)
		if err != nil {
			t.Fatal(err)
		}
		codecs, err := media.InitCodecs(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		probed := ffprobe(t, "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,codec_tag_string,profile,level",
			"-of", "csv=p=0", filepath.Join(rdir, "index.m3u8"))
		t.Logf("%s: %s, ffprobe %s, segments %v", r.Name, codecs, probed, durs)
		f2 := strings.Split(probed, ",")
		switch r.VideoCodec() {
		case media.HEVC:
			if f2[0] != "hevc" || f2[1] != "Main" || f2[2] != "hvc1" || !strings.HasPrefix(codecs, "hvc1.1.6.L"+f2[3]+".") {
				t.Errorf("%s: CODECS %s, ffprobe %s", r.Name, codecs, probed)
			}
		case media.AV1:
			if f2[0] != "av1" || f2[1] != "Main" || f2[2] != "av01" || codecs != "av01.0."+twoDigits(f2[3])+"M.08" {
				t.Errorf("%s: CODECS %s, ffprobe %s", r.Name, codecs, probed)
			}
		default:
			if f2[0] != "h264" || !strings.HasPrefix(codecs, "avc1.") {
				t.Errorf("%s: CODECS %s, ffprobe %s", r.Name, codecs, probed)
			}
		}
		if keys := testenv.KeyframeTimes(t, filepath.Join(rdir, "index.m3u8")); !sameTimes(keys, at, 0.5/r.FPS) {
			t.Errorf("%s: keyframes at %v, segments start at %v", r.Name, keys, at)
		}
		// Decodes to the end without an error.
		cmd := exec.Command(media.FFmpegPath(), "-v", "error", "-xerror", "-i", filepath.Join(rdir, "index.m3u8"), "-f", "null", "-")
		if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
			t.Errorf("%s does not decode cleanly: %v %s", r.Name, err, b)
		}
	}
	for i, s := range starts[1:] {
		if !slices.Equal(s, starts[0]) {
			t.Errorf("rendition %d's segments %v differ from the first's %v: keyframes not aligned", i+1, s, starts[0])
		}
	}
}

// sameTimes reports whether a and b are as many times, each within tol.
func sameTimes(a, b []float64, tol float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Abs(x-y) <= tol })
}

func twoDigits(s string) string {
	if len(s) == 1 {
		return "0" + s
	}
	return s
}

func ffprobe(t *testing.T, args ...string) string {
	t.Helper()
	b, err := exec.Command(media.FFprobePath(), args...).Output()
	if err != nil {
		t.Fatalf("ffprobe %v: %v", args, err)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}
