package encoder

import (
	"slices"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/media"
)

// Every further audio track is mapped from its own source stream into a
// rendition of its own; a track the probe did not vet, a live job and a
// video-only chunk map none.
func TestMoreAudioTracks(t *testing.T) {
	src := &media.Source{Demuxer: "mov", Duration: 10,
		Video:     &media.Video{Index: 0, Width: 320, Height: 240, CodedWidth: 320, CodedHeight: 240, FPS: 25},
		Audio:     &media.Audio{Index: 1},
		MoreAudio: []media.Audio{{Index: 2}, {Index: 4}}}
	l, err := media.PlanLadder(src, media.LadderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l.MoreAudio = append(l.MoreAudio, media.AudioRung{Name: "audio4", Stream: 9}) // not in the source
	j := Job{Input: Input{URL: "/in.mp4", Source: src}, Ladder: l, Output: Output{Kind: VOD, Dir: "/o"}}
	a := strings.Join(Args(j), " ")
	for _, w := range []string{"-map 0:1 -map 0:2 -map 0:4 ", "a:0,name:audio a:1,name:audio2 a:2,name:audio3 "} {
		if !strings.Contains(a, w) {
			t.Errorf("args lack %q: %s", w, a)
		}
	}
	if strings.Contains(a, "0:9") || strings.Contains(a, "audio4") {
		t.Errorf("args map a stream the probe did not vet: %s", a)
	}
	if got := j.Renditions(); !slices.Equal(got[len(got)-3:], []string{"audio", "audio2", "audio3"}) {
		t.Errorf("renditions %v", got)
	}
	video := j
	video.Ladder.Audio = nil
	if a := strings.Join(Args(video), " "); strings.Contains(a, "audio2") {
		t.Errorf("a job without the first audio track maps further ones: %s", a)
	}
	live := j
	live.Output.Kind, live.Input.URL = Live, ""
	if a := strings.Join(Args(live), " "); strings.Contains(a, "audio2") {
		t.Errorf("a live job maps further audio tracks: %s", a)
	}
}

// Only a text subtitle stream the probe listed is extracted, the input
// locked down as for the ladder.
func TestSubtitleArgs(t *testing.T) {
	src := &media.Source{Demuxer: "mov", Duration: 10, Subtitles: []media.Subtitle{{Index: 3, Codec: "mov_text"}}}
	a := strings.Join(SubtitleArgs(src, "https://s3/x?sig", src.Subtitles[0], "/o/s.vtt"), " ")
	for _, w := range []string{"-protocol_whitelist http,https,tcp,tls", "-format_whitelist mov", "-map 0:3 -c:s webvtt -f webvtt -y /o/s.vtt"} {
		if !strings.Contains(a, w) {
			t.Errorf("args lack %q: %s", w, a)
		}
	}
	for name, sub := range map[string]media.Subtitle{
		"not listed": {Index: 4, Codec: "mov_text"},
		"a picture":  {Index: 3, Codec: "hdmv_pgs_subtitle"},
		"no codec":   {Index: 3},
	} {
		if a := SubtitleArgs(src, "/in", sub, "/o.vtt"); a != nil {
			t.Errorf("%s: args %q, want none", name, a)
		}
	}
}
