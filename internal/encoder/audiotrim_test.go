package encoder

import (
	"slices"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/media"
)

func TestAudioTrimArgs(t *testing.T) {
	const pts = "asetpts=STARTPTS+N/SR/TB"
	cases := []struct {
		name string
		trim *AudioTrim
		want []string
	}{
		{"none", nil, nil},
		{"keeps everything", &AudioTrim{}, []string{"-af", pts}},
		{"pads only", &AudioTrim{Pad: 4.5}, []string{"-af", "apad=whole_dur=4.5," + pts}},
		{"drops the head", &AudioTrim{From: 5}, []string{"-af", pts, "-bsf:a", `noise=drop=lt(n\,5)`}},
		{"keeps a span", &AudioTrim{From: 5, To: 380, Pad: 8.1}, []string{"-af", "apad=whole_dur=8.1," + pts, "-bsf:a", `noise=drop=lt(n\,5)+gte(n\,380)`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := audioTrimArgs(c.trim); !slices.Equal(got, c.want) {
				t.Errorf("audioTrimArgs(%+v) = %q, want %q", c.trim, got, c.want)
			}
		})
	}
}

// The trim applies to a VOD encode's audio only: a live encode, whose
// audio is continuous, never drops packets.
func TestAudioTrimOnlyForVOD(t *testing.T) {
	src := &media.Source{Demuxer: "mov", Audio: &media.Audio{Index: 1, Channels: 2}}
	j := Job{Input: Input{URL: "in.mp4", Source: src}, Output: Output{Kind: VOD, Dir: "o", AudioTrim: &AudioTrim{From: 5, To: 10}},
		Ladder: media.Ladder{SegmentSeconds: 4, Audio: &media.AudioRung{Name: "audio", Bitrate: 128000, Channels: 2, SampleRate: 48000}}}
	if a := strings.Join(Args(j), " "); !strings.Contains(a, "noise=drop") {
		t.Errorf("VOD args lack the trim: %s", a)
	}
	j.Output.Kind = Live
	if a := strings.Join(Args(j), " "); a == "" || strings.Contains(a, "noise=drop") {
		t.Errorf("live args trim the audio, or are none: %q", a)
	}
}
