package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/hlsflow/hlsflow/internal/cost"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/store"
)

// State is where a video is in its life.
type State string

// The states of the status.json contract.
const (
	StateProcessing State = "processing"
	StateReady      State = "ready"
	StateFailed     State = "failed"
)

// Upload is what the public status.json tells of the upload a video was
// made from: its size and ETag, which identify the exact upload (a
// re-delivered event for the same object is recognised, a new upload under
// the same key is not) and give its Revision. It never says where the
// upload is kept or what the file was called: status.json is served to
// anyone who knows the id.
type Upload struct {
	Size int64  `json:"size"`
	ETag string `json:"etag,omitempty"`
}

// Revision names this exact upload in output file names: 8 hex digits
// from its ETag and size. A new upload under the same key gets new segment
// and poster names, so caches that keep them for a year never serve the
// old video's files as the new one's; the same upload, processed again
// after a crash, gets the same names.
func (u Upload) Revision() string {
	sum := sha256.Sum256([]byte(u.ETag + "\x00" + strconv.FormatInt(u.Size, 10)))
	return hex.EncodeToString(sum[:4])
}

// Source names the uploaded object a video was made from. Its bucket and
// key (which holds the file's name) are private: they are never written to
// status.json, only the Upload is.
type Source struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Upload
}

// Rendition is one rung of the ladder as it was encoded.
type Rendition struct {
	Name      string  `json:"name"`
	Width     int     `json:"width,omitempty"`
	Height    int     `json:"height,omitempty"`
	Bandwidth int     `json:"bandwidth"`
	Codecs    string  `json:"codecs"`
	FrameRate float64 `json:"frameRate,omitempty"`
	// Codec is a video rendition's codec: "h264", "hevc" or "av1".
	Codec string `json:"codec,omitempty"`
}

// Renditions lists the renditions of ladder l as status.json tells them:
// those with a playlist of their own, video first, frame rates to three
// decimals as in the master.
func Renditions(l hls.Ladder) []Rendition {
	var rs []Rendition
	for _, r := range l.Renditions() {
		rs = append(rs, Rendition{Name: r.Name, Width: r.Width, Height: r.Height, Bandwidth: int(r.Bandwidth),
			Codecs: r.Codecs, FrameRate: math.Round(r.FrameRate*1000) / 1000})
	}
	return rs
}

// Status is the status.json document at vod/{id}/status.json. The media
// bucket's vod/ is public (the CDN serves it), so Status holds nothing
// private: no bucket, no object key, no file name.
type Status struct {
	ID       string  `json:"id"`
	State    State   `json:"state"`
	Progress float64 `json:"progress"`
	Error    string  `json:"error,omitempty"`
	// Source is the upload the status is about (size and ETag only).
	Source     Upload      `json:"source"`
	Duration   float64     `json:"duration,omitempty"`
	Renditions []Rendition `json:"renditions,omitempty"`
	Playback   string      `json:"playback,omitempty"`
	Poster     string      `json:"poster,omitempty"`
	// AudioTracks are the audio renditions a track picker offers (since
	// multiple audio tracks; absent before, and for audio-only videos).
	AudioTracks []AudioTrack `json:"audioTracks,omitempty"`
	// Captions are the subtitles renditions (uploaded, or extracted from
	// the source).
	Captions []Caption `json:"captions,omitempty"`
	Updated  time.Time `json:"updated"`
	// Cost is what making the video that plays used and cost (set when
	// it is ready), so the owner sees what each video cost.
	Cost *cost.Usage `json:"cost,omitempty"`
	// Replacement is set while a newer upload under the same key is
	// processed, or after it failed; see Replacement.
	Replacement *Replacement `json:"replacement,omitempty"`
	// Download is the key of the video's MP4 download (DownloadKey), when
	// one was made; added in contract version 2, as are Storyboard and ClipOf.
	Download string `json:"download,omitempty"`
	// Storyboard is the key of the video's WebVTT storyboard
	// (StoryboardKey), when one was made.
	Storyboard string `json:"storyboard,omitempty"`
	// ClipOf is set on a clip: the video or live stream it was cut from,
	// and the span (seconds) it covers there.
	ClipOf *ClipOf `json:"clipOf,omitempty"`
	// Ladder is the per-title plan of the ladder that plays (plan.go);
	// absent for a fixed ladder.
	Ladder *Plan `json:"ladder,omitempty"`
	// Segments is the container of the segments that play: "ts" or
	// "cmaf" (media.SegmentFormat); absent before it was recorded.
	Segments string `json:"segments,omitempty"`
	// DASH is the key of the MPEG-DASH manifest (DASHKey) of a CMAF
	// video, when one was written.
	DASH string `json:"dash,omitempty"`
}

// Write stores st as the video's status.json, stamping Updated.
func Write(ctx context.Context, s *store.Store, bucket string, st *Status) error {
	st.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode status of %s: %w", st.ID, err)
	}
	key := StatusKey(st.ID)
	if err := s.PutBytes(ctx, bucket, key, b, store.For(key)); err != nil {
		return fmt.Errorf("write status of %s: %w", st.ID, err)
	}
	return nil
}

// Read loads a video's status.json; the error wraps store.ErrNotFound when
// there is none.
func Read(ctx context.Context, s *store.Store, bucket, id string) (*Status, error) {
	b, err := s.GetBytes(ctx, bucket, StatusKey(id))
	if err != nil {
		return nil, fmt.Errorf("read status of %s: %w", id, err)
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("decode status of %s: %w", id, err)
	}
	return &st, nil
}
