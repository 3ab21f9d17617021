package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// RecordKey is where the API keeps its private record of upload id, in
// the media bucket beside vod/ (never served: the edge and CloudFront
// serve only vod/ and live/). The API writes it before the upload's bytes
// exist, so the transcode finds it when the upload arrives.
func RecordKey(id string) string { return "uploads-meta/" + id + ".json" }

// Options are what an upload asked of its encode beyond the stack's
// settings, kept in the API's record under "options".
type Options struct {
	// Codecs are the extra video codecs ("hevc", "av1") of this upload,
	// instead of the stack's VIDEO_CODECS; empty is the stack's.
	Codecs []string `json:"codecs,omitempty"`
}

// NewOptions checks what an upload request asks for and returns it in
// its canonical form; the error says what is wrong, for the requester.
func NewOptions(codecs []string) (Options, error) {
	cs, err := media.ParseCodecs(codecs)
	if err != nil {
		return Options{}, err
	}
	var o Options
	for _, c := range cs {
		o.Codecs = append(o.Codecs, string(c))
	}
	if len(codecs) > 0 && len(o.Codecs) == 0 {
		o.Codecs = []string{string(media.H264)} // asked for H.264 only: not the stack's default
	}
	return o, nil
}

// VideoCodecs are the extra codecs o asks for, and whether it asks at
// all (an upload may ask for H.264 only). A record that does not parse
// asks nothing.
func (o Options) VideoCodecs() ([]media.Codec, bool) {
	if len(o.Codecs) == 0 {
		return nil, false
	}
	cs, err := media.ParseCodecs(o.Codecs)
	return cs, err == nil
}

// ErrBadRecord is wrapped by ReadOptions' error when the record is not
// one the API wrote: reading it again will not help.
var ErrBadRecord = errors.New("upload record does not decode")

// ReadOptions reads the options of upload id from the API's record in
// bucket. An upload without a record (put in the uploads bucket some other
// way) has none.
func ReadOptions(ctx context.Context, s *store.Store, bucket, id string) (Options, error) {
	b, err := s.GetBytes(ctx, bucket, RecordKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return Options{}, nil
	}
	if err != nil {
		return Options{}, fmt.Errorf("read options of %s: %w", id, err)
	}
	var rec struct {
		Options Options `json:"options"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return Options{}, fmt.Errorf("%w: %s: %v", ErrBadRecord, id, err)
	}
	return rec.Options, nil
}
