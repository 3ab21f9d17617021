package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/live/restream"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Live stream states.
const (
	StreamIdle    = "idle"    // created, nothing published yet
	StreamLive    = "live"    // playlists are being updated
	StreamStalled = "stalled" // playlists exist but stopped changing without an end
	StreamEnded   = "ended"   // the publisher finished (ENDLIST written)
)

// LiveStream is a stream as GET /api/streams shows it. It never holds the
// publish key.
type LiveStream struct {
	Name        string    `json:"name"`
	State       string    `json:"state"`
	PlaybackURL string    `json:"playbackUrl,omitempty"`
	Updated     time.Time `json:"updated,omitzero"`
	// Destinations are the restream destinations' states the ingest last
	// reported (keys masked); the operator's only.
	Destinations []restream.Status `json:"destinations,omitempty"`
}

// StreamRequest is the body of POST /api/streams.
type StreamRequest struct {
	Name string `json:"name"`
}

// CreatedStream is the answer to POST /api/streams; Key, PublishURL and
// SRTURL are secrets for the publisher. WHIPURL is the stream's WHIP
// endpoint, to be used with Key as the bearer token.
type CreatedStream struct {
	Name        string `json:"name"`
	Key         string `json:"key"`
	PublishURL  string `json:"publishUrl,omitempty"` // RTMP
	SRTURL      string `json:"srtUrl,omitempty"`
	WHIPURL     string `json:"whipUrl,omitempty"`
	PlaybackURL string `json:"playbackUrl,omitempty"`
}

// streamRecordPrefix lists created streams (names only, never keys), so
// GET /api/streams shows a stream before anything is published to it.
const streamRecordPrefix = catalog.StreamMetaPrefix

func (h *Handler) createStream(r *request) (*response, error) {
	if err := h.requireOperator(r, "creating a stream"); err != nil {
		return nil, err
	}
	if h.cfg.Keys == nil {
		return nil, &apiError{Status: http.StatusNotImplemented,
			Message: "live streaming is not configured on this server"}
	}
	var in StreamRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, badField("name", "name is required")
	}
	if !catalog.ValidID(in.Name) {
		return nil, badField("name",
			"name may hold only lowercase letters, digits and single dashes, starting with a letter or digit (at most 128)")
	}
	key, err := h.cfg.Keys.Key(in.Name)
	if err != nil {
		return nil, badField("name", "%s", err.Error())
	}
	rec, err := json.Marshal(map[string]any{"name": in.Name, "created": h.cfg.Now().UTC()})
	if err != nil {
		return nil, err
	}
	if err := h.cfg.Store.PutBytes(r.Context(), h.cfg.MediaBucket, streamRecordPrefix+in.Name+".json", rec,
		store.Object{ContentType: "application/json", CacheControl: store.CacheNoCache}); err != nil {
		return nil, err
	}
	out := CreatedStream{Name: in.Name, Key: key, PlaybackURL: h.url(r, catalog.LiveMasterKey(in.Name))}
	a := h.addrs(r)
	if a.RTMPURL != "" {
		out.PublishURL = a.RTMPURL + "/" + key
	}
	if a.SRTURL != "" {
		out.SRTURL = a.SRTURL + "?streamid=" + url.QueryEscape(key)
		if h.cfg.SRTPassphrase != "" {
			out.SRTURL += "&passphrase=" + url.QueryEscape(h.cfg.SRTPassphrase)
		}
	}
	if base := viewerURL(r, a.WHIPURL); base != "" {
		out.WHIPURL = base + "/" + in.Name
	}
	return reply(http.StatusCreated, out)
}

func (h *Handler) listStreams(r *request) (*response, error) {
	private, err := h.mayRead(r)
	if err != nil {
		return nil, err
	}
	live, err := h.cfg.Streams.List(r.Context())
	if err != nil {
		return nil, err
	}
	byName := map[string]LiveStream{}
	for _, s := range live {
		byName[s.Name] = s
	}
	keys, err := h.cfg.Store.List(r.Context(), h.cfg.MediaBucket, streamRecordPrefix)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		name := strings.TrimSuffix(strings.TrimPrefix(k, streamRecordPrefix), ".json")
		if _, ok := byName[name]; !ok && catalog.ValidID(name) {
			byName[name] = LiveStream{Name: name, State: StreamIdle}
		}
	}
	out := make([]LiveStream, 0, len(byName))
	for _, s := range byName {
		if !private && s.State == StreamIdle {
			continue // created, never published: the operator's business
		}
		if s.PlaybackURL == "" && s.State != StreamIdle {
			s.PlaybackURL = h.url(r, catalog.LiveMasterKey(s.Name))
		}
		if private && s.State != StreamIdle {
			if s.Destinations, err = restream.LoadStates(r.Context(), h.cfg.Store, h.cfg.MediaBucket, s.Name); err != nil {
				return nil, err
			}
		}
		out = append(out, s)
	}
	// Live first, then by name.
	sort.Slice(out, func(i, j int) bool {
		if (out[i].State == StreamLive) != (out[j].State == StreamLive) {
			return out[i].State == StreamLive
		}
		return out[i].Name < out[j].Name
	})
	return reply(http.StatusOK, map[string]any{"streams": out})
}

// staleAfter is how long a live playlist may go unchanged before the
// stream counts as stalled: several segment durations.
const staleAfter = 30 * time.Second

// bucketStreams tells live streams' state from the media bucket alone, so
// it works the same on AWS (where the API cannot ask the ingest task) and
// locally: a stream is live while its first rendition's playlist keeps
// changing and has no ENDLIST.
type bucketStreams struct {
	store  *store.Store
	bucket string
	now    func() time.Time
}

func (b *bucketStreams) List(ctx context.Context) ([]LiveStream, error) {
	dirs, err := b.store.Dirs(ctx, b.bucket, catalog.LiveRoot)
	if err != nil {
		return nil, fmt.Errorf("list live streams: %w", err)
	}
	names := slices.DeleteFunc(dirs, func(name string) bool { return !catalog.ValidID(name) })
	out := make([]LiveStream, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, fetchConcurrency)
	for i, name := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i], errs[i] = b.stream(ctx, name)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	kept := out[:0]
	for _, s := range out {
		if s.Name != "" {
			kept = append(kept, s)
		}
	}
	return kept, nil
}

// stream reads one stream's master and first media playlist; a stream
// without a master yet is skipped (zero LiveStream).
func (b *bucketStreams) stream(ctx context.Context, name string) (LiveStream, error) {
	master, _, err := b.store.Get(ctx, b.bucket, catalog.LiveMasterKey(name), maxPlaylist)
	if errors.Is(err, store.ErrNotFound) {
		return LiveStream{}, nil
	}
	if err != nil {
		return LiveStream{}, err
	}
	uri := firstURI(master)
	if uri == "" {
		return LiveStream{Name: name, State: StreamStalled}, nil
	}
	media, mod, err := b.store.Get(ctx, b.bucket, path.Join(catalog.LivePrefix(name), uri), maxPlaylist)
	if errors.Is(err, store.ErrNotFound) {
		return LiveStream{Name: name, State: StreamStalled}, nil
	}
	if err != nil {
		return LiveStream{}, err
	}
	s := LiveStream{Name: name, Updated: mod, State: StreamLive}
	switch {
	case bytes.Contains(media, []byte("#EXT-X-ENDLIST")):
		s.State = StreamEnded
	case b.now().Sub(mod) > staleAfter:
		s.State = StreamStalled
	}
	return s, nil
}

// maxPlaylist bounds the playlist reads; live windows are a few KiB.
const maxPlaylist = 1 << 20

// firstURI returns the first variant URI of a master playlist, relative,
// or "" when there is none or it points elsewhere.
func firstURI(master []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(master))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.Contains(line, "://") || strings.HasPrefix(line, "/") || strings.Contains(line, "..") {
			return ""
		}
		return line
	}
	return ""
}
