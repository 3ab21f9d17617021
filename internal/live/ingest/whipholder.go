package ingest

import (
	"context"
	"net/http"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// With several ingest tasks, a WHIP offer reaches any of them, and the
// task that answers holds the whole session (its candidates carry its own
// address). A second publisher of a stream another task holds must be
// refused (409), as one on the same task is, or the two would write the
// same live playlists. The holder record of low-latency streams
// (holder.go) says which task that is; the record is checked with its
// task, so a record left by a task that died does not refuse the stream
// for ever.

// heldTimeout bounds asking the holder whether it holds the stream.
const heldTimeout = 2 * time.Second

// whipHub is the Hub WHIP claims streams from: the service's, after the
// check that no other task holds the stream.
type whipHub struct{ s *Service }

var _ feed.Hub = whipHub{}

func (h whipHub) Claim(name, remote string) (feed.Feed, error) {
	s := h.s
	if s.cfg.OriginURL != "" {
		ctx, cancel := context.WithTimeout(s.ctx, 2*heldTimeout)
		held := s.heldElsewhere(ctx, name)
		cancel()
		if held {
			s.deps.Log.Info("whip: the stream is held by another task", "stream", name, "remote", remote)
			return nil, feed.ErrBusy
		}
	}
	return s.Claim(name, remote)
}

// heldElsewhere reports whether another task holds stream name: its
// record names that task, and the task says so (serveHeld). A task that
// does not answer holds nothing.
func (s *Service) heldElsewhere(ctx context.Context, name string) bool {
	u := s.holder(ctx, name)
	if u == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, heldTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.JoinPath("live", name, "/").String(), nil)
	if err != nil {
		return false
	}
	resp, err := heldClient.Do(req)
	if err != nil {
		s.deps.Log.Warn("whip: the stream's recorded task does not answer; taking the stream", "stream", name, "task", u.Host, "err", err)
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusNoContent
}

// heldClient follows no redirects: the answer is the status.
var heldClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// serveHeld answers HEAD /live/{name}/: 204 when this task holds the
// low-latency stream (live, or in its reconnect grace), 404 when not.
// Never forwarded. (GET there stays the origin's 404.)
func (s *Service) serveHeld(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if _, ok := s.origins.Load(r.PathValue("name")); ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.NotFound(w, r)
}
