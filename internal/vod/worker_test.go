package vod

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/media"
)

// TestBadRequestsAreRefused: a request that can never work, or whose names
// would become keys or paths outside the video's folder, is refused with
// ErrBadRequest and a reason, before anything is read or written.
func TestBadRequestsAreRefused(t *testing.T) {
	good := chunk.Request{
		Kind: chunk.KindVideo, ID: "v", Bucket: "uploads", Key: "a.mp4", MediaBucket: "media", Prefix: "vod/v/",
		Revision: "3fa9c2d1",
		Source: media.Source{Duration: 10, Video: &media.Video{Codec: "h264", Width: 640, Height: 360, CodedWidth: 640, CodedHeight: 360, FPS: 25},
			Audio: &media.Audio{Codec: "aac"}},
		Ladder: media.Ladder{Video: []media.Rung{{Name: "360p", Width: 640, Height: 360}}, Audio: &media.AudioRung{Name: "audio", Bitrate: 128000, Channels: 2, SampleRate: 48000}},
	}
	long := strings.Repeat("a", 4096)
	hostile := []struct{ what, value string }{
		{"climbing out", "../x"}, {"empty", ""}, {"very long", long}, {"encoded dots", "%2e%2e"},
		{"absolute", "/etc"}, {"backslash", `..\x`}, {"ffmpeg pattern", "%d"}, {"space", "a b"},
		{"newline", "a\nb"}, {"nul", "a\x00b"}, {"another name", "video"},
	}
	type tcase struct {
		name   string
		change func(*chunk.Request)
		reason string
	}
	tests := []tcase{
		{"revision with a slash", func(r *chunk.Request) { r.Revision = "../x" }, "revision"},
		{"revision with an ffmpeg pattern", func(r *chunk.Request) { r.Revision = "%d" }, "revision"},
		{"prefix outside vod/", func(r *chunk.Request) { r.Prefix = "live/v/" }, "prefix"},
		{"prefix climbing out", func(r *chunk.Request) { r.Prefix = "vod/../x/" }, "prefix"},
		{"prefix of another video", func(r *chunk.Request) { r.Prefix = "vod/w/" }, "prefix"},
		{"no bucket", func(r *chunk.Request) { r.Bucket = "" }, "bucket"},
		{"rung name with a dot", func(r *chunk.Request) { r.Ladder.Video[0].Name = ".." }, "rung name"},
		{"rung named like the audio", func(r *chunk.Request) { r.Ladder.Video[0].Name = "audio" }, "rung name"},
		{"two rungs of one name", func(r *chunk.Request) { r.Ladder.Video = append(r.Ladder.Video, r.Ladder.Video[0]) }, "rung name"},
		{"an hevc rung in MPEG-TS", func(r *chunk.Request) {
			r.Ladder, r.CMAF = media.PlanCodecs(r.Ladder, []media.Codec{media.HEVC}), false
		}, "need CMAF"},
		{"an hevc rung named like an H.264 one", func(r *chunk.Request) {
			r.Ladder, r.CMAF = media.PlanCodecs(r.Ladder, []media.Codec{media.HEVC}), true
			r.Ladder.Extra[0].Name = r.Ladder.Video[0].Name
		}, "rung name"},
		{"unknown kind", func(r *chunk.Request) { r.Kind = "subtitles" }, "unknown kind"},
		{"preset that is not one", func(r *chunk.Request) { r.Preset = "-f" }, "preset"},
		{"absurd threads", func(r *chunk.Request) { r.Threads = 100000 }, "threads"},
		{"source without duration", func(r *chunk.Request) { r.Source.Duration = 0 }, "duration"},
		{"further audio named like the first", func(r *chunk.Request) { r.Ladder.MoreAudio = []media.AudioRung{{Name: "audio"}} }, "audio track name"},
		{"further audio named twice", func(r *chunk.Request) {
			r.Ladder.MoreAudio = []media.AudioRung{{Name: "audio2"}, {Name: "audio2"}}
		}, "audio track name"},
		{"further audio beyond the bound", func(r *chunk.Request) {
			r.Ladder.MoreAudio = nil
			for i := range media.MaxAudioTracks {
				r.Ladder.MoreAudio = append(r.Ladder.MoreAudio, media.AudioRung{Name: media.AudioTrackName(i + 2)})
			}
		}, "further audio tracks"},
		{"further audio without a first", func(r *chunk.Request) {
			r.Kind, r.Ladder.Audio, r.Ladder.MoreAudio = chunk.KindVideo, nil, []media.AudioRung{{Name: "audio2"}}
		}, "further audio tracks"},
		{"storyboard interval of zero", func(r *chunk.Request) { r.Storyboard = &encoder.Storyboard{Width: 160, Height: 90, Cols: 5, Rows: 5} }, "interval"},
		{"storyboard interval not a number", func(r *chunk.Request) {
			r.Storyboard = &encoder.Storyboard{Interval: math.NaN(), Width: 160, Height: 90, Cols: 5, Rows: 5}
		}, "interval"},
		{"storyboard interval of a fraction", func(r *chunk.Request) {
			r.Storyboard = &encoder.Storyboard{Interval: 0.01, Width: 160, Height: 90, Cols: 5, Rows: 5}
		}, "interval"},
		{"storyboard thumbnails huge", func(r *chunk.Request) {
			r.Storyboard = &encoder.Storyboard{Interval: 2, Width: 1 << 20, Height: 90, Cols: 5, Rows: 5}
		}, "thumbnails of"},
		{"storyboard sheets huge", func(r *chunk.Request) {
			r.Storyboard = &encoder.Storyboard{Interval: 2, Width: 160, Height: 90, Cols: 5, Rows: -1}
		}, "sheets of"},
		{"storyboard for the audio", func(r *chunk.Request) {
			r.Kind, r.Storyboard = chunk.KindAudio, &encoder.Storyboard{Interval: 2, Width: 160, Height: 90, Cols: 5, Rows: 5}
		}, "only a video chunk"},
		{"audio without a sample rate", func(r *chunk.Request) { r.Kind, r.Ladder.Audio.SampleRate = chunk.KindAudio, 0 }, "sample rate"},
		{"audio at an absurd sample rate", func(r *chunk.Request) { r.Kind, r.Ladder.Audio.SampleRate = chunk.KindAudio, 1<<30 }, "sample rate"},
		{"audio chunk starting before the source", func(r *chunk.Request) { r.Kind, r.Chunk.Start = chunk.KindAudio, -4 }, "chunk bounds"},
		{"audio chunk of negative length", func(r *chunk.Request) { r.Kind, r.Chunk.Duration = chunk.KindAudio, -1 }, "chunk bounds"},
		{"audio chunk numbered below zero", func(r *chunk.Request) { r.Kind, r.Chunk.FirstSegment = chunk.KindAudio, -1 }, "chunk bounds"},
		{"chunk start not a number", func(r *chunk.Request) { r.Chunk.Start = math.NaN() }, "chunk bounds"},
		{"source over the limits", func(r *chunk.Request) {
			v := *r.Source.Video
			v.Width, v.Height, v.CodedWidth, v.CodedHeight = 100000, 100000, 100000, 100000
			r.Source.Video = &v
		}, "larger than"},
	}
	for _, h := range hostile {
		tests = append(tests,
			tcase{"audio name " + h.what, func(r *chunk.Request) { r.Kind = chunk.KindAudio; r.Ladder.Audio.Name = h.value }, "audio rendition name"},
			tcase{"rung name " + h.what, func(r *chunk.Request) { r.Ladder.Video[0].Name = h.value }, "rung name"},
			tcase{"id " + h.what, func(r *chunk.Request) { r.ID = h.value }, "id"},
			tcase{"further audio name " + h.what, func(r *chunk.Request) {
				r.Kind, r.Ladder.MoreAudio = chunk.KindAudio, []media.AudioRung{{Name: h.value}}
			}, "audio track name"},
			tcase{"prefix " + h.what, func(r *chunk.Request) { r.Prefix = "vod/" + h.value + "/" }, "prefix"},
		)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := good
			req.Ladder.Video = append([]media.Rung(nil), good.Ladder.Video...)
			a := *good.Ladder.Audio
			req.Ladder.Audio = &a
			tc.change(&req)
			// No store and no ffmpeg: a request that got past the checks
			// would panic rather than pass.
			_, err := (&Worker{}).EncodeChunk(context.Background(), req)
			if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %v, want ErrBadRequest about %q", err, tc.reason)
			}
			if len(err.Error()) > 2000 {
				t.Errorf("error is %d bytes long: hostile values are not shortened", len(err.Error()))
			}
		})
	}
	good.Ladder.MoreAudio = []media.AudioRung{{Name: "audio2", Stream: 2}, {Name: "audio8", Stream: 3}}
	for _, kind := range []string{chunk.KindVideo, chunk.KindAudio} {
		req := good
		req.Kind = kind
		if err := check(req); err != nil {
			t.Errorf("the valid %s request is refused: %v", kind, err)
		}
	}
	good.Storyboard = encoder.PlanStoryboard(good.Source.Duration, good.Ladder)
	if err := check(good); err != nil {
		t.Errorf("the valid request with a storyboard is refused: %v", err)
	}
}
