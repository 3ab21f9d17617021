package vod

import (
	"context"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/chunk"
)

// craftedChunks is a ChunkEncoder that encodes nothing: it answers every
// request with the segments a good worker would list (every rendition,
// numbered on from the chunk's first segment, one per segment of its
// span), then lets spoil change the answer. Only the fan-out's checks see
// the names, so no ffmpeg is needed.
type craftedChunks struct {
	spoil func(chunk.Request, *chunk.Response)
}

func (c craftedChunks) EncodeChunk(_ context.Context, r chunk.Request) (*chunk.Response, error) {
	l := r.Ladder
	var names []string
	if r.Kind == chunk.KindAudio {
		names = append([]string{l.Audio.Name}, moreAudioNames(l)...)
	} else {
		for _, v := range append(slices.Clone(l.Video), l.Extra...) {
			names = append(names, v.Name)
		}
	}
	span := r.Chunk.Duration
	if span == 0 { // the last chunk runs to the end
		span = r.Source.Duration - r.Chunk.Start
	}
	n := int(math.Ceil(span/l.SegmentSeconds - 1e-6))
	res := &chunk.Response{Renditions: map[string][]chunk.Segment{}}
	for _, name := range names {
		for i := range n {
			res.Renditions[name] = append(res.Renditions[name],
				chunk.Segment{URI: segmentName(r.CMAF, r.Revision, r.Chunk.FirstSegment+i), Duration: l.SegmentSeconds, Size: 1000})
		}
	}
	if c.spoil != nil {
		c.spoil(r, res)
	}
	return res, nil
}

// A chunk whose segments are not numbered on its span, or that returns
// more segments than its span holds (the one more would take the next
// chunk's first name and be overwritten by it), fails the video naming
// the chunk, and leaves nothing but status.json.
func TestChunkSegmentsOffTheSpanAreRefused(t *testing.T) {
	// Chunk 1 of the test source: 8 s (two segments) after a first of 4.
	const bad = 1
	// renumber numbers the segments on from the one first says.
	renumber := func(first func(chunk.Request) int) func(chunk.Request, *chunk.Response) {
		return func(r chunk.Request, res *chunk.Response) {
			for _, segs := range res.Renditions {
				for i := range segs {
					segs[i].URI = segmentName(r.CMAF, r.Revision, first(r)+i)
				}
			}
		}
	}
	outrun := func(r chunk.Request, res *chunk.Response) {
		for name, segs := range res.Renditions {
			next := segmentName(r.CMAF, r.Revision, r.Chunk.FirstSegment+len(segs))
			res.Renditions[name] = append(segs, chunk.Segment{URI: next, Duration: r.Ladder.SegmentSeconds, Size: 1000})
		}
	}
	for _, c := range []struct {
		name, kind string
		spoil      func(chunk.Request, *chunk.Response)
		wantErr    string // after "<kind> chunk 1"
	}{
		// Numbered from the video's start, as if the chunk were the first.
		{"numbered from 0", chunk.KindVideo, renumber(func(chunk.Request) int { return 0 }), `: \S+'s segment 0 is \S+, want \S+`},
		{"numbered one on", chunk.KindVideo, renumber(func(r chunk.Request) int { return r.Chunk.FirstSegment + 1 }), `: \S+'s segment 0 is \S+, want \S+`},
		{"video outruns its span", chunk.KindVideo, outrun, `: 3 \S+ segments for 8 s`},
		{"audio outruns its span", chunk.KindAudio, outrun, `: 3 audio segments for 8 s`},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newTranscoder(t)
			h.chunks = craftedChunks{spoil: func(r chunk.Request, res *chunk.Response) {
				if r.Kind == c.kind && r.Chunk.Index == bad {
					c.spoil(r, res)
				}
			}}
			key := "offspan/" + strings.ReplaceAll(c.name, " ", "-") + ".mp4"
			uploadFile(t, st, key, srcPath)
			err := h.Handle(context.Background(), putEvent(t, key))
			want := regexp.MustCompile(regexp.QuoteMeta(c.kind+" chunk 1") + c.wantErr)
			if err == nil || !want.MatchString(err.Error()) {
				t.Fatalf("handle: %v; want an error matching %q", err, want)
			}
			s := readStatus(t, st, catalog.VideoID(key))
			if s.State != catalog.StateFailed || s.Error == "" || s.Playback != "" || len(s.Renditions) > 0 {
				t.Errorf("status %s %q playback %q renditions %v, want failed with a reason, nothing to play", s.State, s.Error, s.Playback, s.Renditions)
			}
			if keys := listKeys(t, st, s.ID); len(keys) != 1 || keys[0] != catalog.StatusKey(s.ID) {
				t.Errorf("a refused chunk left %v, want only status.json", keys)
			}
		})
	}
}
