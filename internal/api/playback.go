package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/playsign"
	"github.com/hlsflow/hlsflow/internal/store"
)

// PlaybackSigner mints playback grants (*playsign.Signer fits).
type PlaybackSigner interface {
	Grant(base string, scope playsign.Scope, file string, expires time.Time) (*playsign.Grant, error)
}

// ViewerHostHeader carries the Host the viewer used, which the API cannot
// see behind CloudFront (the function URL gets its own host);
// infra/apirequest.js sets it and removes any a viewer sent.
const ViewerHostHeader = "X-Hlsflow-Viewer-Host"

// Bounds of a grant's lifetime, in seconds.
const (
	DefaultGrantSeconds = 3600
	maxGrantSeconds     = int64(playsign.MaxTTL / time.Second)
)

// PlaybackRequest is the body of POST …/playback; it may be empty.
type PlaybackRequest struct {
	ExpiresIn int64 `json:"expiresIn"`
}

// PlaybackGrant is the answer: URL plays as is in hls.js, Safari and
// ffmpeg for its lifetime (the grant is in its path, so relative segment
// URIs keep it); SignedURL and Cookies are CloudFront's signed URL and
// signed cookies for the same media (on-demand only: a live stream's
// segments are in its recording's folder, which only the URL's grant
// also opens).
type PlaybackGrant struct {
	URL       string        `json:"url"`
	Expires   time.Time     `json:"expires"`
	SignedURL string        `json:"signedUrl,omitempty"`
	Cookies   []GrantCookie `json:"cookies"`
}

// GrantCookie is one of CloudFront's three signed cookies.
type GrantCookie struct {
	Name    string    `json:"name"`
	Value   string    `json:"value"`
	Path    string    `json:"path"`
	Expires time.Time `json:"expires"`
	Secure  bool      `json:"secure"`
}

func (h *Handler) videoPlayback(r *request) (*response, error) {
	id := r.PathValue("id")
	ttl, err := h.grantRequest(r)
	if err != nil {
		return nil, err
	}
	if !catalog.ValidID(id) {
		return nil, notFound("no video with id %q", id)
	}
	st, err := catalog.Read(r.Context(), h.cfg.Store, h.cfg.MediaBucket, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFound("no video with id %q", id)
	case err != nil:
		return nil, err
	case st.State != catalog.StateReady:
		return nil, &apiError{Status: http.StatusConflict, Message: "video " + id + " is " + string(st.State) + ", not ready to play"}
	}
	file := strings.TrimPrefix(catalog.MasterKey(id), catalog.Prefix(id))
	if p, ok := strings.CutPrefix(st.Playback, catalog.Prefix(id)); ok && p != "" {
		file = p
	}
	return h.grant(r, playsign.Scope{Kind: "vod", Name: id}, file, ttl)
}

func (h *Handler) streamPlayback(r *request) (*response, error) {
	name := r.PathValue("name")
	ttl, err := h.grantRequest(r)
	if err != nil {
		return nil, err
	}
	// A stream need not be live yet: the grant is for its name.
	if !catalog.ValidID(name) {
		return nil, notFound("no stream named %q", name)
	}
	file := strings.TrimPrefix(catalog.LiveMasterKey(name), catalog.LivePrefix(name))
	return h.grant(r, playsign.Scope{Kind: "live", Name: name}, file, ttl)
}

// grantRequest authorises r (the token: a grant is a key to the media)
// and reads the lifetime asked for.
func (h *Handler) grantRequest(r *request) (time.Duration, error) {
	if err := h.requireOperator(r, "a playback grant"); err != nil {
		return 0, err
	}
	if h.cfg.Grants == nil {
		return 0, &apiError{Status: http.StatusNotImplemented, Message: "signed playback is not configured on this server"}
	}
	in := PlaybackRequest{ExpiresIn: DefaultGrantSeconds}
	if r.ContentLength != 0 {
		if err := r.decode(&in); err != nil {
			return 0, err
		}
	}
	if in.ExpiresIn < 1 || in.ExpiresIn > maxGrantSeconds {
		return 0, badField("expiresIn", "expiresIn must be a whole number of seconds from 1 to %d", maxGrantSeconds)
	}
	return time.Duration(in.ExpiresIn) * time.Second, nil
}

func (h *Handler) grant(r *request, scope playsign.Scope, file string, ttl time.Duration) (*response, error) {
	base := h.addrs(r).PublicURL
	if base == "" {
		// Behind CloudFront: the viewer's host, always over HTTPS there.
		if host := r.Header.Get(ViewerHostHeader); validHost(host) {
			base = "https://" + host
		}
	}
	if base == "" {
		return nil, &apiError{Status: http.StatusNotImplemented, Message: "this server does not know its public address to sign playback for"}
	}
	g, err := h.cfg.Grants.Grant(base, scope, file, h.cfg.Now().Add(ttl))
	if err != nil {
		return nil, err
	}
	out := PlaybackGrant{URL: g.URL, Expires: g.Expires.UTC(), SignedURL: g.SignedURL, Cookies: []GrantCookie{}}
	for _, c := range g.Cookies {
		out.Cookies = append(out.Cookies, GrantCookie{Name: c.Name, Value: c.Value, Path: c.Path, Expires: c.Expires.UTC(), Secure: c.Secure})
	}
	return reply(http.StatusOK, out)
}
