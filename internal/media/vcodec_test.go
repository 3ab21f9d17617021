package media

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestParseCodecs(t *testing.T) {
	for in, want := range map[string][]Codec{
		"":                  nil,
		"h264":              nil,
		"h264,hevc,av1":     {HEVC, AV1},
		"av1,hevc":          {HEVC, AV1}, // one order, whatever was asked
		" AV1 , av1,H264 ":  {AV1},
		"hevc":              {HEVC},
		"h264,h264,h264":    nil,
		"hevc,hevc,av1,av1": {HEVC, AV1},
	} {
		got, err := ParseCodecList(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseCodecList(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"vp9", "h265", "hevc,", "av1;rm -rf /", "hevc,x", strings.Repeat("av1,", 9) + "av1", "-c:v copy", "x264"} {
		if got, err := ParseCodecList(in); err == nil {
			t.Errorf("ParseCodecList(%q) = %v, want an error", in, got)
		} else if len(err.Error()) > 120 {
			t.Errorf("ParseCodecList(%q): error too long: %v", in, err)
		}
	}
	if _, err := ParseCodecs([]string{strings.Repeat("x", 10000)}); err == nil || len(err.Error()) > 100 {
		t.Errorf("a huge name: %v", err)
	}
}

func TestPlanCodecs(t *testing.T) {
	src := &Source{Video: &Video{Width: 1920, Height: 1080, FPS: 30}}
	l, err := PlanLadder(src, LadderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := PlanCodecs(l, nil); !reflect.DeepEqual(got, l) {
		t.Fatalf("no extra codecs changed the ladder: %+v", got.Extra)
	}
	l.Video[1].CRF = 22 // a per-title 720p rung
	got := PlanCodecs(l, []Codec{HEVC, AV1})
	if !reflect.DeepEqual(got.Video, l.Video) {
		t.Fatal("the H.264 rungs changed")
	}
	var names []string
	for _, r := range got.Extra {
		names = append(names, r.Name)
		base := l.Video[0]
		if strings.HasPrefix(r.Name, "720p") {
			base = l.Video[1]
		}
		if r.Width != base.Width || r.Height != base.Height || r.FPS != base.FPS {
			t.Errorf("%s: %dx%d@%g, want the size of %s", r.Name, r.Width, r.Height, r.FPS, base.Name)
		}
		if r.MaxRate >= base.MaxRate || r.BufSize >= base.BufSize || r.MaxRate <= 0 || r.CRF <= 0 {
			t.Errorf("%s: maxrate %d buffer %d crf %g, want capped under %s's %d", r.Name, r.MaxRate, r.BufSize, r.CRF, base.Name, base.MaxRate)
		}
		if !ValidRungName(r.Name) {
			t.Errorf("%s is not a valid rung name", r.Name)
		}
		if c := r.Codecs(); !strings.HasPrefix(c, map[Codec]string{HEVC: "hvc1.", AV1: "av01."}[r.Codec]) {
			t.Errorf("%s: Codecs() = %q", r.Name, c)
		}
	}
	if want := []string{"1080p-hevc", "720p-hevc", "1080p-av1", "720p-av1"}; !reflect.DeepEqual(names, want) {
		t.Errorf("extra rungs %v, want %v", names, want)
	}
	// A per-title CRF is carried over; SVT-AV1's is whole.
	for _, r := range got.Extra {
		if r.Codec == AV1 && r.CRF != float64(int(r.CRF)) {
			t.Errorf("%s: CRF %g is not whole", r.Name, r.CRF)
		}
	}
	if got.Extra[1].CRF == got.Extra[0].CRF {
		t.Errorf("720p-hevc's CRF ignores the per-title CRF: %g", got.Extra[1].CRF)
	}
	// The ladder travels as JSON (the chunk work order).
	b, _ := json.Marshal(got)
	var back Ladder
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, got) {
		t.Errorf("ladder JSON round trip: %v\n%s", err, b)
	}

	// A small source keeps one rung per codec.
	small, _ := PlanLadder(&Source{Video: &Video{Width: 640, Height: 360, FPS: 25}}, LadderOptions{})
	if got := PlanCodecs(small, []Codec{HEVC, AV1}); len(got.Extra) != 2 || got.SegmentSeconds != 4 {
		t.Errorf("360p: %d extra rungs, segment %g s; want 2, 4 s", len(got.Extra), got.SegmentSeconds)
	}
	tiny, _ := PlanLadder(&Source{Video: &Video{Width: 320, Height: 240, FPS: 25}}, LadderOptions{})
	if got := PlanCodecs(tiny, []Codec{HEVC, AV1}); len(got.Extra) != 0 {
		t.Errorf("240p: extra rungs %v", got.Extra)
	}
}

// TestPlanCodecsWholeFrames: a source whose 4 s segment is not a whole
// number of frames (the NTSC rates) gets its AV1 rungs, with a segment of
// a whole number of frames at every rung's rate; a ladder without AV1, or
// at a rate 4 s fits, keeps its segment.
func TestPlanCodecsWholeFrames(t *testing.T) {
	for _, c := range []struct {
		w, h    int
		fps     float64
		codecs  []Codec
		seg     float64
		av1     int
		options LadderOptions
	}{
		{1280, 720, 30000.0 / 1001, []Codec{HEVC, AV1}, 4.004, 2, LadderOptions{}},
		{1280, 720, 24000.0 / 1001, []Codec{AV1}, 4.004, 2, LadderOptions{}},
		{1920, 1080, 60000.0 / 1001, []Codec{AV1}, 4.004, 2, LadderOptions{}}, // 59.94 top rungs, 29.97 below
		{640, 360, 30000.0 / 1001, []Codec{AV1}, 6.006, 1, LadderOptions{SegmentSeconds: 6}},
		{1280, 720, 30000.0 / 1001, []Codec{HEVC}, 4, 0, LadderOptions{}},
		{1280, 720, 30000.0 / 1001, nil, 4, 0, LadderOptions{}},
		{1920, 1080, 30, []Codec{HEVC, AV1}, 4, 2, LadderOptions{}},
		{1920, 1080, 25, []Codec{AV1}, 4, 2, LadderOptions{}},
		{1920, 1080, 50, []Codec{AV1}, 4, 2, LadderOptions{}},
		{1280, 720, 24, []Codec{AV1}, 4, 2, LadderOptions{}},
		{1280, 720, 30, []Codec{AV1}, 2.5, 2, LadderOptions{SegmentSeconds: 2.5}},
		{1280, 720, 30000.0 / 1001, []Codec{AV1}, 2.5025, 2, LadderOptions{SegmentSeconds: 2.5}}, // 75 frames
		{1280, 720, 23.976, []Codec{AV1}, 96 / 23.976, 2, LadderOptions{}},                       // not N/1001: not rounded to the µs
	} {
		name := fmt.Sprintf("%dx%d@%.3f %v seg %g", c.w, c.h, c.fps, c.codecs, c.options.SegmentSeconds)
		l, err := PlanLadder(&Source{Video: &Video{Width: c.w, Height: c.h, FPS: c.fps}}, c.options)
		if err != nil {
			t.Fatal(name, err)
		}
		got := PlanCodecs(l, c.codecs)
		if got.SegmentSeconds != c.seg {
			t.Errorf("%s: segment %v s, want %v", name, got.SegmentSeconds, c.seg)
		}
		av1 := 0
		for _, r := range got.Extra {
			if r.Codec == AV1 {
				av1++
			}
		}
		if av1 != c.av1 {
			t.Errorf("%s: %d AV1 rungs, want %d", name, av1, c.av1)
		}
		for _, r := range got.Video {
			if n := got.SegmentSeconds * r.FPS; av1 > 0 && math.Abs(n-math.Round(n)) > 1e-6 {
				t.Errorf("%s: %s: a segment is %v frames", name, r.Name, n)
			}
		}
		if !reflect.DeepEqual(got.Video, l.Video) {
			t.Errorf("%s: the H.264 rungs changed", name)
		}
	}
}

func TestValidRungNameCodecs(t *testing.T) {
	for _, n := range []string{"720p-hevc", "1080p-av1", "360p-hevc"} {
		if !ValidRungName(n) {
			t.Errorf("%q refused", n)
		}
	}
	for _, n := range []string{"720p-h264", "720p-", "-hevc", "720-hevc", "720p-hevc-av1", "720p-HEVC", "../720p-hevc", "720p-av1/x", "9999p-av1"} {
		if ValidRungName(n) {
			t.Errorf("%q accepted", n)
		}
	}
}
