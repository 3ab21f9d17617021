package dash

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/hls"
)

// playlist is a CMAF media playlist of segments seg_r1_NNNNN.m4s from
// first, of the durations given (seconds).
func playlist(first int, durs ...float64) *hls.MediaPlaylist {
	p := &hls.MediaPlaylist{}
	for i, d := range durs {
		s := hls.Segment{URI: fmt.Sprintf("seg_r1_%05d.m4s", first+i), Duration: time.Duration(d * float64(time.Second))}
		if i == 0 {
			s.Map = &hls.Map{URI: "init_r1.mp4"}
		}
		p.Segments = append(p.Segments, s)
	}
	return p
}

func ladder() hls.Ladder {
	return hls.Ladder{
		Video: []hls.Rendition{
			{Name: "720p", Width: 1280, Height: 720, FrameRate: 30000.0 / 1001, Codecs: "avc1.64001f", Bandwidth: 3_300_000},
			{Name: "360p", Width: 640, Height: 360, FrameRate: 179.0 / 6, Codecs: "avc1.4d401e", Bandwidth: 900_000},
		},
		Audio:     &hls.Rendition{Name: "audio", Codecs: "mp4a.40.2", Channels: 2, Bandwidth: 130_000},
		MoreAudio: []hls.Rendition{{Name: "audio2", Codecs: "mp4a.40.2", Channels: 6, Bandwidth: 200_000}},
		Tracks:    map[string]hls.TrackInfo{"audio": {Language: "en"}, "audio2": {Language: "fr"}},
	}
}

func lists() map[string]*hls.MediaPlaylist {
	return map[string]*hls.MediaPlaylist{
		"720p": playlist(0, 4.004, 4.004, 4.004, 1.5), "360p": playlist(0, 4.004, 4.004, 4.004, 1.5),
		"audio": playlist(0, 4, 4, 4, 1.52), "audio2": playlist(0, 4, 4, 4, 1.52),
	}
}

// parsed is an MPD read back with the same types.
func parse(t *testing.T, b []byte) mpd {
	t.Helper()
	var m mpd
	if err := xml.Unmarshal(b, &m); err != nil {
		t.Fatalf("MPD does not parse: %v\n%s", err, b)
	}
	return m
}

// expand lists the segments of a template: their numbers' file names and
// start times.
func expand(st *segmentTemplate) (names []string, starts []int64) {
	var t int64
	n := st.StartNumber
	for _, s := range st.Timeline.S {
		if s.T != nil {
			t = *s.T
		}
		for range s.R + 1 {
			name := strings.Replace(st.Media, "$Number%05d$", fmt.Sprintf("%05d", n), 1)
			names, starts = append(names, name), append(starts, t)
			t += s.D
			n++
		}
	}
	return names, starts
}

func TestBuild(t *testing.T) {
	b, err := Build(ladder(), lists(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), xml.Header) {
		t.Errorf("no XML declaration:\n%s", b)
	}
	m := parse(t, b)
	if m.XMLNS != "urn:mpeg:dash:schema:mpd:2011" || m.Type != "static" || m.Duration != "PT13.52S" {
		t.Errorf("MPD %s %s %s", m.XMLNS, m.Type, m.Duration)
	}
	as := m.Period.AdaptationSets
	if len(as) != 3 || as[0].ContentType != "video" || len(as[0].Representations) != 2 || as[1].Lang != "en" || as[2].Lang != "fr" ||
		as[1].Role == nil || as[1].Role.Value != "main" || as[2].Role.Value != "alternate" {
		t.Fatalf("adaptation sets %+v", as)
	}
	v := as[0].Representations
	if v[0].ID != "720p" || v[0].Width != 1280 || v[0].Height != 720 || v[0].FrameRate != "30000/1001" || v[0].Codecs != "avc1.64001f" || v[0].Bandwidth != 3_300_000 {
		t.Errorf("720p %+v", v[0])
	}
	if v[1].FrameRate != "179/6" || as[0].MaxWidth != 1280 || as[0].MaxHeight != 720 {
		t.Errorf("360p %+v, max %dx%d", v[1], as[0].MaxWidth, as[0].MaxHeight)
	}
	if a := as[2].Representations[0]; a.Channels == nil || a.Channels.Value != "6" || a.Codecs != "mp4a.40.2" {
		t.Errorf("audio2 %+v", a)
	}
	for name, p := range lists() {
		var st *segmentTemplate
		for _, a := range as {
			for _, r := range a.Representations {
				if r.ID == name {
					st = r.SegmentTemplate
				}
			}
		}
		if st == nil {
			t.Fatalf("no representation %s", name)
		}
		if st.Initialization != name+"/init_r1.mp4" || st.PresentationTimeOffset != 10000 || st.Timescale != Timescale {
			t.Errorf("%s: template %+v", name, st)
		}
		names, starts := expand(st)
		if len(names) != len(p.Segments) {
			t.Fatalf("%s: %d segments in the MPD, %d in the playlist", name, len(names), len(p.Segments))
		}
		var at time.Duration
		for i, s := range p.Segments {
			if names[i] != name+"/"+s.URI {
				t.Errorf("%s: MPD segment %d is %s, playlist's %s", name, i, names[i], s.URI)
			}
			if want := 10000 + at.Round(time.Millisecond).Milliseconds(); starts[i] != want {
				t.Errorf("%s: segment %d starts at %d, want %d", name, i, starts[i], want)
			}
			at += s.Duration
		}
	}
}

func TestBuildStartNumber(t *testing.T) {
	l := hls.Ladder{Audio: &hls.Rendition{Name: "audio", Codecs: "mp4a.40.2"}}
	b, err := Build(l, map[string]*hls.MediaPlaylist{"audio": playlist(7, 2, 2)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := parse(t, b)
	st := m.Period.AdaptationSets[0].Representations[0].SegmentTemplate
	if st.StartNumber != 7 || st.PresentationTimeOffset != 0 || len(st.Timeline.S) != 1 || st.Timeline.S[0].R != 1 {
		t.Errorf("template %+v", st)
	}
}

// What is not a CMAF ladder of consecutively numbered segments in the
// rendition's folder gets no MPD rather than a wrong one.
func TestBuildRefuses(t *testing.T) {
	cases := map[string]func(l *hls.Ladder, ls map[string]*hls.MediaPlaylist){
		"muxed audio":      func(l *hls.Ladder, _ map[string]*hls.MediaPlaylist) { l.MuxedAudio = true },
		"empty ladder":     func(l *hls.Ladder, _ map[string]*hls.MediaPlaylist) { *l = hls.Ladder{} },
		"missing playlist": func(_ *hls.Ladder, ls map[string]*hls.MediaPlaylist) { delete(ls, "360p") },
		"no segments":      func(_ *hls.Ladder, ls map[string]*hls.MediaPlaylist) { ls["360p"] = &hls.MediaPlaylist{} },
		"MPEG-TS":          func(_ *hls.Ladder, ls map[string]*hls.MediaPlaylist) { ls["720p"].Segments[0].Map = nil },
		"second init": func(_ *hls.Ladder, ls map[string]*hls.MediaPlaylist) {
			ls["720p"].Segments[2].Map = &hls.Map{URI: "x.mp4"}
		},
		"init elsewhere": func(_ *hls.Ladder, ls map[string]*hls.MediaPlaylist) {
			ls["720p"].Segments[0].Map.URI = "../other/init.mp4"
		},
		"gap in the numbers": func(_ *hls.Ladder, ls map[string]*hls.MediaPlaylist) {
			ls["audio"].Segments[2].URI = "seg_r1_00009.m4s"
		},
		"segment elsewhere": func(_ *hls.Ladder, ls map[string]*hls.MediaPlaylist) {
			ls["audio"].Segments[0].URI = "../x/seg_r1_00000.m4s"
		},
		"segment URL": func(_ *hls.Ladder, ls map[string]*hls.MediaPlaylist) {
			ls["audio"].Segments[1].URI = "https://evil/seg_r1_00001.m4s"
		},
		"template characters": func(_ *hls.Ladder, ls map[string]*hls.MediaPlaylist) {
			ls["audio"].Segments[0].URI = "seg_$Time$_00000.m4s"
		},
		"no number":     func(_ *hls.Ladder, ls map[string]*hls.MediaPlaylist) { ls["audio"].Segments[0].URI = "seg.m4s" },
		"discontinuity": func(_ *hls.Ladder, ls map[string]*hls.MediaPlaylist) { ls["audio"].Segments[1].Discontinuity = true },
		"no duration":   func(_ *hls.Ladder, ls map[string]*hls.MediaPlaylist) { ls["audio"].Segments[1].Duration = 0 },
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			l, ls := ladder(), lists()
			spoil(&l, ls)
			if b, err := Build(l, ls, 0); err == nil {
				t.Errorf("built\n%s", b)
			}
		})
	}
}

func TestFrameRate(t *testing.T) {
	for f, want := range map[float64]string{25: "25", 30000.0 / 1001: "30000/1001", 24000.0 / 1001: "24000/1001",
		179.0 / 6: "179/6", 12.5: "25/2", 0: "", 59.94: "60000/1001"} {
		if got := frameRate(f); got != want {
			t.Errorf("frameRate(%g) = %q, want %q", f, got, want)
		}
	}
}
