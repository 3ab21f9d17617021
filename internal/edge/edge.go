// Package edge is the local stand-in for CloudFront: it serves the media
// bucket's vod/ and live/ objects over HTTP with Range, ETag/304, CORS and
// the objects' own Cache-Control, keeps hot objects in a memory cache bound
// by bytes, and hands /api/* and everything else to the handlers it is given.
// With a live origin (Config.LiveOrigin) a live rendition's Low-Latency HLS
// playlist, parts and initialization sections come from the ingest instead.
//
// Like CloudFront it answers only for its own host names (Config.Hosts;
// others get 421, which stops DNS rebinding), and it never serves a media
// object as something a browser would run: only the types players use
// pass (playlists, segments, images other than SVG, JSON, WebVTT); any
// other stored type, such as text/html written into the bucket by whoever
// holds its keys, is served as application/octet-stream with
// Content-Disposition: attachment. Every media answer carries nosniff and
// a sandboxing Content-Security-Policy.
//
// With Config.Grants (hlsflow up --signed-playback) media needs a playback
// grant, checked as the deployed stack checks it (internal/playsign): a
// CloudFront signed URL or signed cookies, or a path token under /p/.
//
// An Edge is a plain http.Handler (internal/system serves it):
//
//	e, err := edge.New(edge.Config{Store: st, API: api, Web: web})
package edge

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/hlsflow/hlsflow/internal/hostguard"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Defaults for a zero Config.
const (
	DefaultBucket          = "media"
	DefaultCacheBytes      = 256 << 20
	DefaultMaxCachedObject = 16 << 20
)

// Config says what the edge serves and how much it may keep in memory.
type Config struct {
	// Store reaches the media bucket; required.
	Store *store.Store
	// Bucket is the media bucket; default "media".
	Bucket string
	// CacheBytes bounds the memory cache; 0 means DefaultCacheBytes and a
	// negative value turns the cache off (every request goes to S3).
	CacheBytes int64
	// MaxCachedObject is the largest object kept in memory; larger ones
	// are streamed with S3 range reads. 0 means DefaultMaxCachedObject.
	MaxCachedObject int64
	// AllowOrigins lists the origins that may read media from a browser;
	// empty means any ("*").
	AllowOrigins []string
	// API serves /api and /api/*; Web serves every other path outside
	// /vod/ and /live/. A nil handler answers 404 with a JSON error.
	API, Web http.Handler
	// Metrics serves /metrics (Prometheus text); nil answers 404. It
	// decides itself who may read it.
	Metrics http.Handler
	// WHIP serves /whip/* (the live ingest's WHIP endpoint, which checks
	// its own bearer tokens); nil answers 404.
	WHIP http.Handler
	// Logger receives origin failures, which clients never see in
	// detail; default slog.Default().
	Logger *slog.Logger
	// Hosts are the Host headers the edge answers; others get 421.
	// Default: loopback names and addresses only.
	Hosts *hostguard.Guard
	// Grants, when set, makes media need a playback grant, as CloudFront
	// with signed playback: a request without one that Grants accepts
	// gets 403. Paths under /p/ (the path-token form) then reach it too.
	Grants Grants
	// LiveOrigin returns the base URL of the live ingest serving
	// Low-Latency HLS ("" while there is none): live renditions'
	// playlists, parts and initialization sections go there (live.go).
	LiveOrigin func() string
}

// Grants decides whether a media request carries a valid playback grant
// and which media path it opens (*playsign.Verifier fits).
type Grants interface {
	Check(r *http.Request) (path string, err error)
}

// Stats counts what the edge did since it started.
type Stats struct {
	Hits          int64 // media requests answered from memory
	Misses        int64 // media requests that needed S3
	OriginGets    int64 // S3 GetObject calls (whole objects and ranges)
	OriginHeads   int64 // S3 HeadObject calls
	CachedBytes   int64 // bytes the cache holds now, entry overhead included
	CachedObjects int   // entries the cache holds now
}

// Edge is an http.Handler that serves the media bucket like a CDN.
type Edge struct {
	store     *store.Store
	bucket    string
	maxCached int64
	cache     *lru // nil when caching is off
	flights   singleflight.Group
	allowAny  bool
	origins   map[string]bool
	api, web  http.Handler
	metrics   http.Handler
	whip      http.Handler
	hosts     *hostguard.Guard
	grants    Grants
	log       *slog.Logger
	now       func() time.Time // replaced in tests to step through max-age

	liveOrigin func() string
	liveClient *http.Client

	hits, misses, gets, heads atomic.Int64
}

var _ http.Handler = (*Edge)(nil)

// New checks cfg, fills in its defaults and returns a ready Edge.
func New(cfg Config) (*Edge, error) {
	if cfg.Store == nil {
		return nil, errors.New("edge: config has no store")
	}
	e := &Edge{
		store:     cfg.Store,
		bucket:    cmp.Or(cfg.Bucket, DefaultBucket),
		maxCached: cmp.Or(cfg.MaxCachedObject, DefaultMaxCachedObject),
		api:       cfg.API,
		web:       cfg.Web,
		metrics:   cfg.Metrics,
		whip:      cfg.WHIP,
		hosts:     cfg.Hosts,
		grants:    cfg.Grants,
		log:       cmp.Or(cfg.Logger, slog.Default()),
		now:       time.Now,
		origins:   map[string]bool{},

		liveOrigin: cfg.LiveOrigin,
		liveClient: &http.Client{Timeout: liveTimeout},
	}
	if e.liveOrigin == nil {
		e.liveOrigin = func() string { return "" }
	}
	if e.hosts == nil {
		e.hosts = hostguard.New(hostguard.Config{})
	}
	if e.maxCached < 0 {
		return nil, fmt.Errorf("edge: max cached object %d is negative", e.maxCached)
	}
	switch size := cmp.Or(cfg.CacheBytes, DefaultCacheBytes); {
	case size > 0:
		e.cache = newLRU(size)
		// An object bigger than the whole cache could never stay in it.
		e.maxCached = min(e.maxCached, size)
	default:
		e.maxCached = 0
	}
	for _, o := range cfg.AllowOrigins {
		if o == "*" {
			e.allowAny = true
		}
		e.origins[o] = true
	}
	if len(cfg.AllowOrigins) == 0 {
		e.allowAny = true
	}
	return e, nil
}

// Stats returns the edge's counters.
func (e *Edge) Stats() Stats {
	s := Stats{
		Hits: e.hits.Load(), Misses: e.misses.Load(),
		OriginGets: e.gets.Load(), OriginHeads: e.heads.Load(),
	}
	if e.cache != nil {
		s.CachedBytes, s.CachedObjects = e.cache.size()
	}
	return s
}

// ServeHTTP refuses other hosts' requests, then routes /vod/* and /live/*
// to the media bucket, /api and /api/* to the API handler, /metrics to
// the metrics handler and everything else to the web handler.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !e.hosts.Allows(r.Host) {
		hostguard.Refuse(w)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/api" || strings.HasPrefix(p, "/api/"):
		serveOr404(e.api, w, r)
	case p == "/vod" || p == "/live" || strings.HasPrefix(p, "/vod/") || strings.HasPrefix(p, "/live/"),
		e.grants != nil && strings.HasPrefix(p, "/p/"):
		e.serveMedia(w, r)
	case p == "/metrics":
		serveOr404(e.metrics, w, r)
	case strings.HasPrefix(p, "/whip/"):
		serveOr404(e.whip, w, r)
	default:
		serveOr404(e.web, w, r)
	}
}

func serveOr404(h http.Handler, w http.ResponseWriter, r *http.Request) {
	if h == nil {
		jsonError(w, http.StatusNotFound, "not found")
		return
	}
	h.ServeHTTP(w, r)
}

// jsonError answers with a short message meant for people; callers never
// pass origin errors here, so nothing internal leaks.
func jsonError(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	for _, k := range []string{"Cache-Control", "Etag", "Last-Modified", "Content-Range", "Accept-Ranges"} {
		h.Del(k)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"error\":%q}\n", msg)
}
