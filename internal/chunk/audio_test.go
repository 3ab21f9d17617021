package chunk

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/media"
)

// Every AAC frame of the track is kept by exactly one chunk, whatever the
// chunk and segment lengths and sample rate: what chunk i keeps ends where
// chunk i+1's starts, on the frame grid counted from the source's start,
// the first chunk keeps the priming, and each chunk's input starts and
// ends AudioPreroll frames beyond what it keeps.
func TestAudioChunksCoverEveryFrameOnce(t *testing.T) {
	src := &media.Source{Demuxer: "mov", Duration: 100, Audio: &media.Audio{Index: 1}}
	for _, rate := range []int{48000, 44100, 22050} {
		for _, c := range []struct{ seg, size, first float64 }{{4, 8, 4}, {4, 32, 4}, {6, 30, 0}, {2, 10, 2}} {
			t.Run(fmt.Sprintf("%d Hz, %g s segments, %g s chunks", rate, c.seg, c.size), func(t *testing.T) {
				l := media.Ladder{SegmentSeconds: c.seg, Audio: &media.AudioRung{Name: "audio", Bitrate: 128000, Channels: 2, SampleRate: rate}}
				frame := float64(encoder.AACFrame) / float64(rate)
				chunks := Plan(src.Duration, c.seg, c.size, c.first)
				next := -1 // the grid frame the next chunk must keep first: the priming, then 0...
				for i, ch := range chunks {
					last := i == len(chunks)-1
					j := AudioJob(src, l, ch, last, Options{Input: "/src.mp4", OutDir: "/w"})
					tr := j.Output.AudioTrim
					if tr == nil || len(j.Ladder.Video) != 0 {
						t.Fatalf("chunk %d: trim %v, video %v", i, tr, j.Ladder.Video)
					}
					from := j.Input.Start / frame // the grid frame the input starts at
					if math.Abs(from-math.Round(from)) > 1e-6 {
						t.Fatalf("chunk %d starts at %g s, off the frame grid", i, j.Input.Start)
					}
					// Packet n of the encode is grid frame from+n-1.
					keptFirst := int(math.Round(from)) + tr.From - 1
					if keptFirst != next {
						t.Errorf("chunk %d keeps from frame %d, want %d", i, keptFirst, next)
					}
					if i > 0 && tr.From-1 != AudioPreroll {
						t.Errorf("chunk %d: %d frames of pre-roll, want %d", i, tr.From-1, AudioPreroll)
					}
					if got, want := j.Output.TimeOffset, TimeBase+j.Input.Start; math.Abs(got-want) > 1e-9 {
						t.Errorf("chunk %d: time offset %g, want %g", i, got, want)
					}
					if j.Output.StartNumber != ch.FirstSegment {
						t.Errorf("chunk %d: start number %d, want %d", i, j.Output.StartNumber, ch.FirstSegment)
					}
					if last {
						if tr.To != 0 || j.Input.Duration != 0 {
							t.Errorf("last chunk stops at packet %d, input %g s: want to the end", tr.To, j.Input.Duration)
						}
						continue
					}
					next = int(math.Round(from)) + tr.To - 1
					// The first frame of the next chunk ends at or after its
					// start, the one before it earlier.
					end := ch.Start + ch.Duration
					if e := float64(next+1) * frame; e < end-1e-9 || e-frame >= end-1e-9 {
						t.Errorf("chunk %d ends before frame %d (%g-%g s), its span ends at %g s", i, next, e-frame, e, end)
					}
					if got, want := j.Input.Duration, float64(tr.To-1+AudioPreroll)*frame; math.Abs(got-want) > 1e-9 || tr.Pad != got {
						t.Errorf("chunk %d reads %g s padded to %g, want %g (post-roll included)", i, got, tr.Pad, want)
					}
				}
			})
		}
	}
}

func TestAudioJobArgs(t *testing.T) {
	src := &media.Source{Demuxer: "mov", Duration: 24, Video: &media.Video{Index: 0, FPS: 25, Width: 854, Height: 480}, Audio: &media.Audio{Index: 1}}
	l := media.Ladder{SegmentSeconds: 4, Video: []media.Rung{{Name: "480p", Width: 854, Height: 480, FPS: 25}},
		Audio: &media.AudioRung{Name: "audio", Bitrate: 128000, Channels: 2, SampleRate: 48000}}
	cases := []struct {
		name string
		c    Chunk
		want []string
		not  []string
	}{
		// 4 s is 187.5 frames: frame 187 (3.989-4.011 s) is chunk 1's; the input
		// reads 4 frames past frame 186, the last kept.
		{"first chunk keeps the priming", Chunk{0, 0, 4, 0}, []string{"-t 4.074666666666666", "-output_ts_offset 10", "-start_number 0",
			`-bsf:a noise=drop=lt(n\,0)+gte(n\,188)`}, []string{"-ss", "-c:v"}},
		{"middle chunk", Chunk{1, 4, 8, 1}, []string{"-ss 3.904", "-output_ts_offset 13.904", "-start_number 1",
			`-bsf:a noise=drop=lt(n\,5)+gte(n\,380)`, "-map 0:1"}, []string{"-c:v"}},
		{"last chunk runs to the end", Chunk{3, 20, 0, 5}, []string{"-ss 19.904", "-start_number 5", `-bsf:a noise=drop=lt(n\,5)`}, []string{"gte(n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := " " + strings.Join(encoder.Args(AudioJob(src, l, c.c, c.c.Duration == 0, Options{Input: "/src.mp4", OutDir: "/w"})), " ") + " "
			for _, w := range c.want {
				if !strings.Contains(a, " "+w+" ") {
					t.Errorf("args lack %q: %s", w, a)
				}
			}
			for _, n := range c.not {
				if strings.Contains(a, n) {
					t.Errorf("args hold %q: %s", n, a)
				}
			}
		})
	}
	if encoder.Args(AudioJob(&media.Source{}, l, Chunk{}, true, Options{})) != nil {
		t.Error("the arguments of an audio chunk of a source without audio are not nil")
	}
	noAudio := l
	noAudio.Audio = nil
	if encoder.Args(AudioJob(src, noAudio, Chunk{}, true, Options{})) != nil {
		t.Error("the arguments of an audio chunk of a ladder without audio are not nil")
	}
}
