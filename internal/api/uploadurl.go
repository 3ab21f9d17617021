package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/safefetch"
)

// URLFetches starts fetching a source URL into the uploads bucket at key,
// the upload of video id; the status of the fetch is the video's
// (fetch.Starter, which invokes the fetch function, fits).
type URLFetches interface {
	Start(ctx context.Context, id, key, url string) error
}

// FetchStarted is the answer to POST /api/uploads {"url": …}: the video's
// id, and where to follow it. The fetch runs after the answer; a source
// refused for where it leads, or that fails, turns the video failed with
// the reason in its status.
type FetchStarted struct {
	ID        string `json:"id"`
	Key       string `json:"key"`
	State     string `json:"state"`
	StatusURL string `json:"statusUrl"`
}

// createFromURL is POST /api/uploads with a url: the same token and the
// same kind of key as an upload of bytes. What the URL says is checked
// here (http or https, no user info, an IP address only in its standard
// form); where it leads is checked by the fetch, after every resolution
// and redirect, since only then is it known.
func (h *Handler) createFromURL(r *request, in UploadRequest, opts catalog.Options) (*response, error) {
	if h.cfg.Fetches == nil {
		return nil, &apiError{Status: http.StatusNotImplemented, Field: "url", Message: "uploads from a URL are not enabled here"}
	}
	if in.Size != 0 || in.ContentType != "" {
		return nil, badField("url", "with url, send no size or contentType: they are the source's")
	}
	u, err := safefetch.Check(in.URL)
	if err != nil {
		return nil, badField("url", "%s", err.Error())
	}
	name := in.Filename
	if strings.TrimSpace(name) == "" {
		name = path.Base(u.Path)
		if un, err := url.PathUnescape(name); err == nil {
			name = un
		}
	}
	if len(name) > 255 {
		return nil, badField("filename", "filename is longer than 255 bytes")
	}
	now := h.cfg.Now().UTC()
	key, err := uploadKey(now, name)
	if err != nil {
		return nil, err
	}
	id := catalog.VideoID(key)
	// The record (private) keeps the URL, which may hold a secret; the
	// status (public) never does.
	rec := uploadRecord{ID: id, Key: key, Filename: name, Created: now, Expires: now.Add(h.cfg.URLTTL), SourceURL: in.URL, Options: opts}
	if err := h.putRecord(r, &rec); err != nil {
		return nil, err
	}
	if err := h.cfg.Fetches.Start(r.Context(), id, key, in.URL); err != nil {
		slog.Default().ErrorContext(r.Context(), "start fetch", "id", id, "err", err)
		return nil, &apiError{Status: http.StatusServiceUnavailable, Message: "the fetch could not be started; try again"}
	}
	return reply(http.StatusAccepted, FetchStarted{ID: id, Key: key, State: string(catalog.StateProcessing), StatusURL: "/api/videos/" + id})
}
