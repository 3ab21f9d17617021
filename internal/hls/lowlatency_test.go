package hls

import (
	"strings"
	"testing"
	"time"
)

// TestLowLatencyGolden writes an LL-HLS playlist (RFC 8216bis §9.11's
// shape): server control and part info in the header, each recent
// segment's parts before its URI, the parts of the segment being made,
// the preload hint and a rendition report at the end. Players that do not
// know the tags read it as the plain live playlist it also is.
func TestLowLatencyGolden(t *testing.T) {
	part := func(uri string, ind bool) Part { return Part{URI: uri, Duration: sec(0.5), Independent: ind} }
	p := MediaPlaylist{
		Version: 6, TargetDuration: 2, MediaSequence: 10, IndependentSegments: true,
		Segments: []Segment{
			{URI: "seg_00010.m4s", Duration: sec(2), ProgramDateTime: pdt0, Map: &Map{URI: "init.mp4"}},
			{URI: "seg_00011.m4s", Duration: sec(2), Parts: []Part{
				part("part_11_0.m4s", true), part("part_11_1.m4s", false), part("part_11_2.m4s", false), part("part_11_3.m4s", false)}},
		},
		LowLatency: &LowLatency{
			PartTarget:    500 * time.Millisecond,
			ServerControl: ServerControl{CanBlockReload: true, PartHoldBack: 1500 * time.Millisecond},
			Partial:       []Part{part("part_12_0.m4s", true), part("part_12_1.m4s", false)},
			PreloadHint:   "part_12_2.m4s",
			Reports:       []RenditionReport{{URI: "../360p/index.m3u8", LastMSN: 12, LastPart: 1}},
		},
	}
	got, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := golden(t, "media_low_latency", got)
	back, err := ParseMedia(want)
	if err != nil {
		t.Fatalf("a player without LL-HLS cannot read it: %v", err)
	}
	if len(back.Segments) != 2 || back.Segments[1].URI != "seg_00011.m4s" || back.Duration() != 4*time.Second {
		t.Errorf("read as a plain playlist: %+v", back.Segments)
	}
}

func TestLowLatencyRefusals(t *testing.T) {
	ll := func(mod func(*LowLatency)) *LowLatency {
		l := &LowLatency{PartTarget: 500 * time.Millisecond, ServerControl: ServerControl{CanBlockReload: true, PartHoldBack: 1500 * time.Millisecond}}
		mod(l)
		return l
	}
	for name, l := range map[string]*LowLatency{
		"hold back under twice the target": ll(func(l *LowLatency) { l.ServerControl.PartHoldBack = 900 * time.Millisecond }),
		"no part target":                   ll(func(l *LowLatency) { l.PartTarget = 0 }),
		"line break in a part URI":         ll(func(l *LowLatency) { l.Partial = []Part{{URI: "a\n#EXT-X-ENDLIST", Duration: sec(0.5)}} }),
		"quote in the preload hint":        ll(func(l *LowLatency) { l.PreloadHint = `a".m4s` }),
		"negative part":                    ll(func(l *LowLatency) { l.Partial = []Part{{URI: "a.m4s", Duration: -1}} }),
	} {
		t.Run(name, func(t *testing.T) {
			p := MediaPlaylist{TargetDuration: 2, LowLatency: l}
			if b, err := p.Encode(); err == nil {
				t.Errorf("encoded:\n%s", b)
			} else if strings.Contains(err.Error(), "\n#EXT") {
				t.Errorf("error repeats the hostile value raw: %v", err)
			}
		})
	}
}
