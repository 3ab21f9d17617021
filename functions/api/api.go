// Package api is hlsflow's HTTP API: it hands out presigned upload URLs
// (single PUT or multipart, with size and type signed so S3 itself refuses
// anything else), lists videos and tells their status, and creates live
// stream keys. It is a Lambda handler for an HTTP API or function URL
// (payload format 2.0); locally internal/apigw serves it over HTTP.
package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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
	// Keys makes stream keys; nil disables POST /api/streams.
	Keys StreamKeys
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
	return &Handler{cfg: cfg}, nil
}

// Handle is the Lambda entry point. It never returns an error: failures
// become JSON error responses, so API Gateway never answers with its own
// opaque 500.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	method := req.RequestContext.HTTP.Method
	// Route on the raw path, unescaping each segment after splitting, so an
	// escaped "/" inside an id stays inside that id.
	path := req.RawPath
	if path == "" {
		path = req.RequestContext.HTTP.Path
	}
	path = strings.TrimSuffix(path, "/")
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, s := range segs {
		if u, err := url.PathUnescape(s); err == nil {
			segs[i] = u
		}
	}
	path = "/" + strings.Join(segs, "/")
	r := &request{ctx: ctx, ev: &req}
	var resp events.APIGatewayV2HTTPResponse
	var err error
	switch {
	case path == "/api/uploads":
		resp, err = h.only(method, "POST", func() (events.APIGatewayV2HTTPResponse, error) { return h.createUpload(r) })
	case len(segs) == 4 && segs[0] == "api" && segs[1] == "uploads" && segs[3] == "complete":
		resp, err = h.only(method, "POST", func() (events.APIGatewayV2HTTPResponse, error) { return h.completeUpload(r, segs[2]) })
	case len(segs) == 3 && segs[0] == "api" && segs[1] == "uploads":
		resp, err = h.only(method, "DELETE", func() (events.APIGatewayV2HTTPResponse, error) { return h.abortUpload(r, segs[2]) })
	case path == "/api/videos":
		resp, err = h.only(method, "GET", func() (events.APIGatewayV2HTTPResponse, error) { return h.listVideos(r) })
	case len(segs) == 3 && segs[0] == "api" && segs[1] == "videos":
		resp, err = h.only(method, "GET", func() (events.APIGatewayV2HTTPResponse, error) { return h.getVideo(r, segs[2]) })
	case path == "/api/streams":
		switch method {
		case "GET":
			resp, err = h.listStreams(r)
		case "POST":
			resp, err = h.createStream(r)
		default:
			err = methodNotAllowed("GET, POST")
		}
	default:
		err = &apiError{Status: http.StatusNotFound, Message: "no such API route: " + method + " " + path}
	}
	if err != nil {
		return errorResponse(ctx, err), nil
	}
	return resp, nil
}

func (h *Handler) only(method, want string, f func() (events.APIGatewayV2HTTPResponse, error)) (events.APIGatewayV2HTTPResponse, error) {
	if method != want {
		return events.APIGatewayV2HTTPResponse{}, methodNotAllowed(want)
	}
	return f()
}

// addrs are the addresses for r's client (see Config.ByHost).
func (h *Handler) addrs(r *request) Addresses {
	if h.cfg.ByHost != nil {
		if host := r.header("Host"); validHost(host) {
			a := h.cfg.ByHost(host)
			a.PublicURL = strings.TrimSuffix(a.PublicURL, "/")
			a.RTMPURL = strings.TrimSuffix(a.RTMPURL, "/")
			return a
		}
	}
	return Addresses{PublicURL: h.cfg.PublicURL, RTMPURL: h.cfg.RTMPURL}
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

// presignAt points a presigned upload URL at the S3 endpoint r's client
// can reach.
func (h *Handler) presignAt(r *request) func(*s3.PresignOptions) {
	endpoint := h.addrs(r).S3
	return func(o *s3.PresignOptions) {
		if endpoint != "" {
			o.ClientOptions = append(o.ClientOptions, func(o *s3.Options) { o.BaseEndpoint = &endpoint })
		}
	}
}
