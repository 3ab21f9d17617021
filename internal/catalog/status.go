package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

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

// Source names the uploaded object a video was made from.
type Source struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Size   int64  `json:"size"`
	// ETag identifies the exact upload, so a re-delivered event for the same
	// object is recognised and a new upload under the same key is not.
	ETag string `json:"etag,omitempty"`
}

// Revision names this exact upload in output file names: 8 hex digits
// from its ETag and size. A new upload under the same key gets new segment
// and poster names, so caches that keep them for a year never serve the
// old video's files as the new one's; the same upload, processed again
// after a crash, gets the same names.
func (s Source) Revision() string {
	sum := sha256.Sum256([]byte(s.ETag + "\x00" + strconv.FormatInt(s.Size, 10)))
	return hex.EncodeToString(sum[:4])
}

// Rendition is one rung of the ladder as it was encoded.
type Rendition struct {
	Name      string  `json:"name"`
	Width     int     `json:"width,omitempty"`
	Height    int     `json:"height,omitempty"`
	Bandwidth int     `json:"bandwidth"`
	Codecs    string  `json:"codecs"`
	FrameRate float64 `json:"frameRate,omitempty"`
}

// Status is the status.json document at vod/{id}/status.json.
type Status struct {
	ID         string      `json:"id"`
	State      State       `json:"state"`
	Progress   float64     `json:"progress"`
	Error      string      `json:"error,omitempty"`
	Source     Source      `json:"source"`
	Duration   float64     `json:"duration,omitempty"`
	Renditions []Rendition `json:"renditions,omitempty"`
	Playback   string      `json:"playback,omitempty"`
	Poster     string      `json:"poster,omitempty"`
	Updated    time.Time   `json:"updated"`
	// Replacement is set while a newer upload under the same key is
	// processed, or after it failed; see Replacement.
	Replacement *Replacement `json:"replacement,omitempty"`
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
