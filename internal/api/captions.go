package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/hlsflow/hlsflow/internal/captions"
	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/subtitles"
)

// Caption is the answer to POST /api/videos/{id}/captions.
type Caption struct {
	Language string `json:"language"`
	Name     string `json:"name"`
	// URI is the caption's WebVTT file (a key in the media bucket), and
	// URL where players get it; both empty while the video is processed:
	// the caption is then published with it.
	URI     string `json:"uri,omitempty"`
	URL     string `json:"url,omitempty"`
	Pending bool   `json:"pending,omitempty"`
}

// addCaption keeps the WebVTT or SubRip file in the body as the video's
// caption in ?language= (BCP 47) and ?name= (optional), replacing one with
// the same language and name, and publishes it at once when the video is
// ready: its master gains the subtitles rendition, status.json names it.
// The file is read into memory (at most captions.MaxBytes), checked and
// written again by internal/captions; nothing of it reaches ffmpeg.
func (h *Handler) addCaption(r *request) (*response, error) {
	if err := h.requireOperator(r, "add captions"); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	if !catalog.ValidID(id) {
		return nil, notFound("no video with id %q", id)
	}
	q := r.URL.Query()
	lang, name, err := subtitles.Label(q.Get("language"), q.Get("name"))
	if err != nil {
		return nil, badField("language", "%s", reason(err))
	}
	switch _, err := catalog.Read(r.Context(), h.cfg.Store, h.cfg.MediaBucket, id); {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFound("no video with id %q", id)
	case err != nil:
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, captions.MaxBytes+1))
	if err != nil {
		return nil, &apiError{Status: http.StatusBadRequest, Message: "request body could not be read"}
	}
	if len(body) > captions.MaxBytes {
		return nil, &apiError{Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("the captions file is larger than %d bytes (1 MiB)", captions.MaxBytes)}
	}
	t, err := captions.Parse(body)
	if err != nil {
		return nil, &apiError{Status: http.StatusBadRequest, Field: "file", Message: reason(err)}
	}
	subs := subtitles.Store{S: h.cfg.Store, Bucket: h.cfg.MediaBucket}
	switch _, _, err := subs.Add(r.Context(), id, lang, name, subtitles.Upload, t); {
	case errors.Is(err, subtitles.ErrTooMany):
		return nil, &apiError{Status: http.StatusConflict, Message: err.Error()}
	case err != nil:
		return nil, err
	}
	c := Caption{Language: lang, Name: name, Pending: true}
	// While a job runs it owns status.json and the master, and publishes
	// every caption kept by then with the version it makes, or once its
	// status.json says ready (read here after the caption is kept, so one
	// side or the other publishes it).
	st, err := catalog.Read(r.Context(), h.cfg.Store, h.cfg.MediaBucket, id)
	if err != nil {
		return nil, err
	}
	if st.State != catalog.StateReady || (st.Replacement != nil && st.Replacement.State == catalog.StateProcessing) {
		return reply(http.StatusAccepted, c)
	}
	caps, err := h.publishCaptions(r, subs, st)
	if err != nil {
		return nil, err
	}
	for _, x := range caps {
		if x.Language == c.Language && (x.Name == c.Name || x.Name == c.Name+" ("+c.Language+")") {
			c.URI, c.URL, c.Pending, c.Name = x.URI, h.url(r, x.URI), false, x.Name
		}
	}
	return reply(http.StatusCreated, c)
}

// publishCaptions writes the captions of ready video st for the version
// that plays, its master with them, then its status.json.
func (h *Handler) publishCaptions(r *request, subs subtitles.Store, st *catalog.Status) ([]catalog.Caption, error) {
	ctx, key := r.Context(), catalog.MasterKey(st.ID)
	b, err := h.cfg.Store.GetBytes(ctx, h.cfg.MediaBucket, key)
	if err != nil {
		return nil, err
	}
	m, err := hls.ParseMaster(b)
	if err != nil {
		return nil, fmt.Errorf("master of %s: %w", st.ID, err)
	}
	_, caps, err := subs.Publish(ctx, st.ID, m)
	if err != nil {
		return nil, err
	}
	out, err := m.Encode()
	if err != nil {
		return nil, err
	}
	if err := h.cfg.Store.PutBytes(ctx, h.cfg.MediaBucket, key, out, store.For(key)); err != nil {
		return nil, err
	}
	st.Captions = caps
	return caps, catalog.Write(ctx, h.cfg.Store, h.cfg.MediaBucket, st)
}

// reason is the sentence of a captions refusal.
func reason(err error) string {
	msg := err.Error()
	if p := captions.ErrInvalid.Error() + ": "; len(msg) > len(p) && msg[:len(p)] == p {
		return msg[len(p):]
	}
	return msg
}
