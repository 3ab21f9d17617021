package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/clip"
	"github.com/hlsflow/hlsflow/internal/store"
)

// ClipRequest is the body of POST /api/videos/{id}/clips and
// /api/streams/{name}/clips: the span to clip, in seconds from the start
// of the video, or of the stream's DVR window as it is now. Both are
// required.
type ClipRequest struct {
	Start *float64 `json:"start"`
	End   *float64 `json:"end"`
}

// clipMarkPrefix holds an empty object per clip the API made, in the media
// bucket beside the upload records (and, like them, not served by the
// edge): a clip has no upload, and this is what lists it at the cost of
// one LIST request per 1000 clips, rather than a LIST of every segment
// under vod/ to find status.json files with clipOf.
const clipMarkPrefix = "clips-meta/"

func clipMarkKey(id string) string { return clipMarkPrefix + id + ".json" }

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
	// Listed from now on (GET /api/videos lists uploads and these marks):
	// the clip is made either way, so a failed mark is logged, not refused.
	if err := h.cfg.Store.PutBytes(r.Context(), h.cfg.MediaBucket, clipMarkKey(st.ID), []byte("{}"), store.Object{ContentType: "application/json"}); err != nil {
		slog.Default().WarnContext(r.Context(), "list clip", "id", st.ID, "err", err)
	}
	return reply(http.StatusCreated, ClipResponse{ID: st.ID, PlaybackURL: h.url(r, st.Playback)})
}
