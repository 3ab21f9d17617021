// Package api is hlsflow's HTTP API: it hands out presigned upload URLs
// (single PUT or multipart, with size and type signed so S3 itself refuses
// anything else), lists videos and tells their status, and creates live
// stream keys. It is an http.Handler; functions/api/bootstrap serves it to
// Lambda (HTTP API or function URL, payload format 2.0) through
// internal/apigw, and hlsflow up through the same adapter.
package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/store"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxUploadSize      = 10 << 30 // 10 GiB
	DefaultMultipartThreshold = 64 << 20 // single PUT below, multipart above
	DefaultPartSize           = 16 << 20
	DefaultURLTTL             = 2 * time.Hour
	// maxParts is S3's limit on the parts of one multipart upload.
	maxParts = 10000
)

// Config says where the API reads and writes and what it allows.
type Config struct {
	Store         *store.Store
	UploadsBucket string // raw uploads; every object created here is transcoded
	MediaBucket   string // vod/, live/ and the API's own records
	// PublicURL prefixes playback and poster URLs (the CDN's address); empty
	// gives paths such as /vod/{id}/master.m3u8 for a page on the same origin.
	PublicURL string
	// RTMPURL is the publish base, e.g. rtmp://127.0.0.1:1935/live; the
	// stream key is appended.
	RTMPURL string
	// SRTURL is the SRT publish address, e.g. srt://127.0.0.1:8890; the
	// stream key is added as ?streamid=. SRTPassphrase, when the ingest
	// requires one, is added as &passphrase= (locally only: on AWS no
	// environment holds a secret, and publishers get it from the operator).
	SRTURL, SRTPassphrase string
	// WHIPURL is the WHIP endpoint's base, e.g.
	// http://127.0.0.1:8000/whip; the stream name is appended, and the
	// stream key is the bearer token. "" when there is no WHIP.
	WHIPURL string
	// Token is the API token, the operator's bearer credential: it may do
	// everything. With neither Token nor TokenSource the API accepts no
	// changes at all (and, unless PublicLibrary, shows nothing).
	Token string
	// TokenSource, when set, is asked for the token instead of Token (on
	// AWS, a cached read of a Secrets Manager secret, so a rotated token
	// takes effect without a redeploy). It is called only for requests that
	// carry a bearer credential. An error refuses the request with 503;
	// "" counts as no token.
	TokenSource func(ctx context.Context) (string, error)
	// TrustAuthorizer makes an API Gateway authorizer's verdict in the event
	// (IAM, JWT or Lambda authorizer on the route) count as the operator's.
	// Leave it off behind CloudFront with origin access control, where
	// every request is IAM-signed by CloudFront itself and would pass, and
	// under hlsflow up, where the Lambda Invoke API can be sent any event.
	TrustAuthorizer bool
	// PublicLibrary lets anyone read the library (GET /api/videos,
	// /api/videos/{id}, /api/streams) without the token. Strangers then see
	// ready videos only, with no file names, storage locations or uploads
	// in progress. Off (the default), the library needs the token.
	PublicLibrary bool
	// SignedPlayback says the CDN serves media only with signed URLs or
	// cookies, made elsewhere with the operator's key: the API then hands
	// out no playback, poster or live URL, which would not play unsigned.
	// The playback and poster keys in a video's status remain, for the
	// signer.
	SignedPlayback bool
	// Grants mints playback grants for POST /api/videos/{id}/playback and
	// /api/streams/{name}/playback (playback.go); nil answers 501.
	Grants PlaybackSigner
	// RestreamAllow lets restream destinations be at these non-public
	// addresses (tests' 127.0.0.1, a LAN relay); others are refused.
	RestreamAllow []netip.Prefix
	// Fetches starts uploads from a URL; nil refuses them.
	Fetches URLFetches
	// Keys makes stream keys; nil disables POST /api/streams.
	Keys StreamKeys
	// Webhooks keeps the webhook endpoints (webhooks.go); nil: none.
	Webhooks Webhooks
	// Streams tells live streams' state; nil uses the media bucket's live/.
	Streams LiveStreams
	// ByHost, when set, gives the addresses to hand out to a client that
	// reached the API under host (its Host header, already checked to be a
	// host name or IP with an optional port), in place of PublicURL, RTMPURL
	// and the store's endpoint in presigned upload URLs. hlsflow up sets it
	// when it listens on every interface, so that a phone on the same
	// network gets URLs it can reach; on AWS the addresses are fixed.
	ByHost func(host string) Addresses

	MaxUploadSize      int64
	MultipartThreshold int64
	PartSize           int64
	URLTTL             time.Duration // presigned URLs' lifetime
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Addresses are where clients find the CDN, S3 and the RTMP ingest.
type Addresses struct {
	PublicURL string // as Config.PublicURL
	S3        string // endpoint for presigned upload URLs, e.g. http://192.168.1.20:4566; "" = the store's
	RTMPURL   string // as Config.RTMPURL
	SRTURL    string // as Config.SRTURL
	WHIPURL   string // as Config.WHIPURL
}

// StreamKeys makes the secret publish key of a stream name
// (*keys.Signer from internal/live/keys fits).
type StreamKeys interface {
	Key(name string) (string, error)
}

// LiveStreams lists the live streams the ingest knows.
type LiveStreams interface {
	List(ctx context.Context) ([]LiveStream, error)
}

// Handler serves the API. Build it with New.
type Handler struct {
	cfg Config
	mux *http.ServeMux
}

var _ http.Handler = (*Handler)(nil)

// route is one operation of the API.
type route struct {
	method, path string
	op           func(*request) (*response, error)
}

func (h *Handler) routes() []route {
	return []route{
		{"POST", "/api/uploads", h.createUpload},
		{"POST", "/api/uploads/{id}/complete", h.completeUpload},
		{"DELETE", "/api/uploads/{id}", h.abortUpload},
		{"GET", "/api/videos", h.listVideos},
		{"GET", "/api/videos/{id}", h.getVideo},
		{"POST", "/api/videos/{id}/playback", h.videoPlayback},
		{"POST", "/api/videos/{id}/captions", h.addCaption},
		{"GET", "/api/streams", h.listStreams},
		{"POST", "/api/streams", h.createStream},
		{"POST", "/api/streams/{name}/playback", h.streamPlayback},
		{"GET", "/api/streams/{name}/destinations", h.getDestinations},
		{"PUT", "/api/streams/{name}/destinations", h.putDestinations},
		{"POST", "/api/webhooks", h.createWebhook},
		{"GET", "/api/webhooks", h.listWebhooks},
		{"DELETE", "/api/webhooks/{id}", h.deleteWebhook},
		{"GET", "/api/webhooks/{id}/deliveries", h.listDeliveries},
		{"POST", "/api/webhooks/{id}/deliveries/{delivery}/redeliver", h.redeliver},
		{"POST", "/api/videos/{id}/clips", h.createVideoClip},
		{"POST", "/api/streams/{name}/clips", h.createStreamClip},
	}
}

// New checks cfg, fills in defaults and returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("api: no store")
	}
	if cfg.UploadsBucket == "" || cfg.MediaBucket == "" {
		return nil, errors.New("api: uploads and media buckets are required")
	}
	if cfg.MaxUploadSize <= 0 {
		cfg.MaxUploadSize = DefaultMaxUploadSize
	}
	if cfg.MultipartThreshold <= 0 {
		cfg.MultipartThreshold = DefaultMultipartThreshold
	}
	if cfg.PartSize <= 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.PartSize < 5<<20 {
		return nil, errors.New("api: part size below S3's 5 MiB minimum")
	}
	if cfg.URLTTL <= 0 {
		cfg.URLTTL = DefaultURLTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	cfg.RTMPURL = strings.TrimSuffix(cfg.RTMPURL, "/")
	if cfg.Streams == nil {
		cfg.Streams = &bucketStreams{store: cfg.Store, bucket: cfg.MediaBucket, now: cfg.Now}
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	allow := map[string][]string{}
	for _, rt := range h.routes() {
		h.mux.Handle(rt.method+" "+rt.path, serve(rt.op))
		allow[rt.path] = append(allow[rt.path], rt.method)
	}
	// ServeMux's own 404 and 405 are plain text; these answer in JSON. A
	// pattern with a method wins over the same path without one, so the
	// method-less patterns catch only the other methods.
	for path, methods := range allow {
		err := methodNotAllowed(strings.Join(methods, ", "))
		h.mux.Handle(path, serve(func(*request) (*response, error) { return nil, err }))
	}
	h.mux.Handle("/", serve(noRoute))
	return h, nil
}

// ServeHTTP routes r by its path as sent, so an escaped "/" inside an id
// stays inside that id. One trailing slash is ignored; a path that is not
// clean has no route (rather than ServeMux's redirect, which is no JSON).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if t := strings.TrimSuffix(p, "/"); t != p && t != "" {
		u := *r.URL
		u.Path, u.RawPath = strings.TrimSuffix(u.Path, "/"), strings.TrimSuffix(u.RawPath, "/")
		r = r.WithContext(r.Context())
		r.URL, p = &u, t
	}
	if path.Clean(p) != p {
		serve(noRoute).ServeHTTP(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// serve runs one operation and writes its answer or its error.
func serve(op func(*request) (*response, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		resp, err := op(&request{hr})
		if err != nil {
			resp = errorResponse(hr.Context(), err)
		}
		resp.write(w)
	})
}

func noRoute(r *request) (*response, error) {
	return nil, &apiError{Status: http.StatusNotFound, Message: "no such API route: " + r.Method + " " + r.URL.Path}
}

// addrs are the addresses for r's client (see Config.ByHost).
func (h *Handler) addrs(r *request) Addresses {
	if h.cfg.ByHost != nil {
		if host := r.Host; validHost(host) {
			a := h.cfg.ByHost(host)
			a.PublicURL = strings.TrimSuffix(a.PublicURL, "/")
			a.RTMPURL = strings.TrimSuffix(a.RTMPURL, "/")
			a.SRTURL = strings.TrimSuffix(a.SRTURL, "/")
			a.WHIPURL = strings.TrimSuffix(a.WHIPURL, "/")
			return a
		}
	}
	return Addresses{PublicURL: h.cfg.PublicURL, RTMPURL: h.cfg.RTMPURL, SRTURL: strings.TrimSuffix(h.cfg.SRTURL, "/"),
		WHIPURL: strings.TrimSuffix(h.cfg.WHIPURL, "/")}
}

// validHost accepts a Host header that is a DNS name or an IP address,
// with an optional port: nothing that could change the meaning of a URL
// built from it.
func validHost(host string) bool {
	name := host
	if h, port, err := net.SplitHostPort(host); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false
		}
		name = h
	}
	if name == "" || len(name) > 253 {
		return false
	}
	if net.ParseIP(name) != nil {
		return true
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// url makes a client-facing URL for a media-bucket path; none when
// playback is signed (see Config.SignedPlayback).
func (h *Handler) url(r *request, p string) string {
	if h.cfg.SignedPlayback {
		return ""
	}
	if p == "" || strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		return p
	}
	return h.addrs(r).PublicURL + "/" + strings.TrimPrefix(p, "/")
}

// presign makes presigned upload URLs last Config.URLTTL and point at the
// S3 endpoint r's client can reach.
func (h *Handler) presign(r *request) store.Presign {
	return store.Presign{TTL: h.cfg.URLTTL, Endpoint: h.addrs(r).S3}
}
