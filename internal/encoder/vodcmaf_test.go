package encoder

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
)

func TestVODCMAFArgs(t *testing.T) {
	src := &media.Source{Demuxer: "mov", Video: &media.Video{Index: 0, Width: 1280, Height: 720, FPS: 30}, Audio: &media.Audio{Index: 1, Channels: 2}}
	l, err := media.PlanLadder(src, media.LadderOptions{Rungs: []string{"360p"}})
	if err != nil {
		t.Fatal(err)
	}
	job := Job{Input: Input{URL: "i", Source: src}, Ladder: l, Output: Output{Kind: VOD, Dir: "o", Revision: "3fa9c2d1", CMAF: true}}
	for _, want := range [][]string{
		{"-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init_%v.mp4"},
		{"-hls_segment_filename", "o/%v/seg_3fa9c2d1_%05d.m4s"},
	} {
		if a := Args(job); !containsRun(a, want) {
			t.Errorf("args lack %q:\n%q", want, a)
		}
	}
	// One rendition: ffmpeg takes the init name literally.
	audioOnly := job
	audioOnly.Ladder.Video, audioOnly.Input.Source = nil, &media.Source{Audio: src.Audio}
	if a := Args(audioOnly); !containsRun(a, []string{"-hls_fmp4_init_filename", "init.mp4"}) {
		t.Errorf("audio-only args: %q", a)
	}
	// A chunk (a continued timeline) marks its fragments discontinuous,
	// so the offset goes to tfdt rather than the init's edit list.
	frag := []string{"-hls_segment_options", "movflags=+frag_discont"}
	if containsRun(Args(job), frag) {
		t.Errorf("a whole encode's args hold %q", frag)
	}
	chunk := job
	chunk.Output.TimeOffset, chunk.Output.StartNumber = 18, 2
	if a := Args(chunk); !containsRun(a, frag) {
		t.Errorf("a chunk's args lack %q:\n%q", frag, a)
	}
	ts := job
	ts.Output.CMAF = false
	if a := Args(ts); slices.Contains(a, "fmp4") || !containsRun(a, []string{"-hls_segment_type", "mpegts"}) {
		t.Errorf("TS args: %q", a)
	}
}

func TestSegmentIndexCMAF(t *testing.T) {
	for name, want := range map[string]int{"seg_00012.m4s": 12, "seg_ab1_00003.m4s": 3, "seg_00001.ts": 1, "seg_00001.m4s.tmp": -1, "init.mp4": -1, "seg_x.m4s": -1, "seg_/00001.m4s": -1} {
		n, ok := segmentIndex(name)
		if (want < 0) == ok || (ok && n != want) {
			t.Errorf("segmentIndex(%q) = %d, %v; want %d", name, n, ok, want)
		}
	}
}

// InitFile trusts nothing in the playlist: the init segment must be a
// regular file in the rendition's own folder.
func TestInitFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "init_720p.mp4"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	seg := func(mapURI string) hls.Segment {
		s := hls.Segment{URI: "seg_00000.m4s"}
		if mapURI != "-" {
			s.Map = &hls.Map{URI: mapURI}
		}
		return s
	}
	if got, err := InitFile(dir, &hls.MediaPlaylist{Segments: []hls.Segment{seg("init_720p.mp4"), seg("-")}}); err != nil || got != filepath.Join(dir, "init_720p.mp4") {
		t.Errorf("InitFile = %q, %v", got, err)
	}
	for name, segs := range map[string][]hls.Segment{
		"no segments":  nil,
		"no map":       {seg("-")},
		"empty uri":    {seg("")},
		"parent":       {seg("../init_720p.mp4")},
		"absolute":     {seg("/etc/passwd")},
		"backslash":    {seg(`..\x`)},
		"dot dot":      {seg("..")},
		"a folder":     {seg("sub")},
		"missing":      {seg("init_1080p.mp4")},
		"a second map": {seg("init_720p.mp4"), seg("init_720p.mp4")},
	} {
		if got, err := InitFile(dir, &hls.MediaPlaylist{Segments: segs}); err == nil {
			t.Errorf("%s: InitFile = %q, want an error", name, got)
		}
	}
}
