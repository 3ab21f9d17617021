package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/clip"
)

// ClipRequest is the body of POST /api/videos/{id}/clips and
// /api/streams/{name}/clips: the span to clip, in seconds from the start
// of the video, or of the stream's DVR window as it is now. Both are
// required.
type ClipRequest struct {
	Start *float64 `json:"start"`
	End   *float64 `json:"end"`
}

// ClipResponse answers a clip request: the clip's video id, and where it
// plays (none under signed playback).
type ClipResponse struct {
	ID          string `json:"id"`
	PlaybackURL string `json:"playbackUrl,omitempty"`
}

func (h *Handler) createVideoClip(r *request) (*response, error) {
	return h.createClip(r, "id", "no ready video with id %q", (*clip.Maker).FromVideo)
}

func (h *Handler) createStreamClip(r *request) (*response, error) {
	return h.createClip(r, "name", "no live stream %q", (*clip.Maker).FromLive)
}

// createClip makes a clip of the video or stream named by the path value
// param, with cut.
func (h *Handler) createClip(r *request, param, unknown string,
	cut func(*clip.Maker, context.Context, string, float64, float64) (*catalog.Status, error)) (*response, error) {
	if err := h.requireOperator(r, "making clips"); err != nil {
		return nil, err
	}
	var in ClipRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	switch {
	case in.Start == nil:
		return nil, badField("start", "start is required: seconds from the start")
	case in.End == nil:
		return nil, badField("end", "end is required: seconds from the start")
	}
	from := r.PathValue(param)
	m := &clip.Maker{Store: h.cfg.Store, Bucket: h.cfg.MediaBucket}
	st, err := cut(m, r.Context(), from, *in.Start, *in.End)
	var re *clip.RangeError
	switch {
	case errors.As(err, &re):
		return nil, badField(re.Field, "%s", re.Reason)
	case errors.Is(err, clip.ErrNotFound):
		return nil, notFound(unknown, from)
	case errors.Is(err, clip.ErrTooMany), errors.Is(err, clip.ErrChanged):
		return nil, &apiError{Status: http.StatusConflict, Message: err.Error()}
	case err != nil:
		return nil, err
	}
	return reply(http.StatusCreated, ClipResponse{ID: st.ID, PlaybackURL: h.url(r, st.Playback)})
}
