// Package fetch is the upload from a URL: the fetch function streams a
// source URL into the uploads bucket through internal/safefetch (which
// refuses what only the server could reach), where the object's creation
// has it transcoded like any upload. It also starts fetches for the API:
// the video's first status, then the function invoked asynchronously, as
// the API's own Lambda must answer within seconds.
//
// status.json has one owner at a time: the fetch, from the API's request
// until the upload exists (it writes "processing" at the start and
// "failed" when the fetch fails, and only while no upload exists), then
// the transcode job, which takes a processing status about no upload for
// a new one.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/url"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/safefetch"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Request is the fetch function's event: fetch URL into the uploads
// bucket at Key, the upload of video ID.
type Request struct {
	ID  string `json:"id"`
	Key string `json:"key"`
	URL string `json:"url"`
}

// ErrBadRequest wraps a request that can never work.
var ErrBadRequest = errors.New("bad fetch request")

// Defaults for the zero values of Config.
const (
	// DefaultMaxBytes is the API's default largest upload.
	DefaultMaxBytes = 10 << 30
	DefaultPartSize = 16 << 20
	// DefaultTimeout leaves the fetch function (15 min) time to record a
	// failure.
	DefaultTimeout = 13 * time.Minute
)

// Config is where fetched sources go and what a fetch may do.
type Config struct {
	UploadsBucket, MediaBucket string
	// PartSize is the multipart part size, held in memory.
	PartSize int64
	// Fetch bounds each fetch: its allow list, size and time limits.
	Fetch safefetch.Config
}

// Handler is the fetch function. Build it with New.
type Handler struct {
	cfg     Config
	store   *store.Store
	fetcher *safefetch.Fetcher
	log     *slog.Logger
}

// New checks cfg, applies its defaults and returns a Handler.
func New(cfg Config, st *store.Store, log *slog.Logger) (*Handler, error) {
	if st == nil || cfg.UploadsBucket == "" || cfg.MediaBucket == "" {
		return nil, errors.New("fetch: store, uploads and media buckets are required")
	}
	if cfg.PartSize <= 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.Fetch.MaxBytes <= 0 {
		cfg.Fetch.MaxBytes = DefaultMaxBytes
	}
	if cfg.Fetch.Timeout <= 0 {
		cfg.Fetch.Timeout = DefaultTimeout
	}
	f, err := safefetch.New(cfg.Fetch)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Handler{cfg: cfg, store: st, fetcher: f, log: log}, nil
}

// Check refuses a request that can never work: an id that is not the
// key's, a key or URL out of bounds.
func Check(req Request) error {
	switch {
	case !catalog.ValidID(req.ID) || req.Key == "" || len(req.Key) > 1024 || catalog.VideoID(req.Key) != req.ID:
		return fmt.Errorf("%w: key %q is not the upload of video %q", ErrBadRequest, clip(req.Key), clip(req.ID))
	case req.URL == "":
		return fmt.Errorf("%w: no url", ErrBadRequest)
	}
	return nil
}

// Handle fetches req.URL into the uploads bucket. A fetch that fails is
// recorded in the video's status and is not an error of the invocation
// (another attempt would be refused the same way, or fetch a source that
// changed); an error means the status could not be recorded.
func (h *Handler) Handle(ctx context.Context, req Request) error {
	if err := Check(req); err != nil {
		return err
	}
	log := h.log.With("id", req.ID, "host", host(req.URL))
	switch _, err := h.store.Head(ctx, h.cfg.UploadsBucket, req.Key); {
	case err == nil:
		log.Info("already fetched")
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("fetch %s: %w", req.ID, err)
	}
	// Only a fetch the API started, and not yet finished, is done: a
	// redelivered event after a failure changes nothing.
	if st, err := catalog.Read(ctx, h.store, h.cfg.MediaBucket, req.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("fetch %s: %w", req.ID, err)
	} else if err == nil && st.State != catalog.StateProcessing {
		log.Info("not fetching again", "state", st.State)
		return nil
	}

	start := time.Now()
	resp, err := h.fetcher.Open(ctx, req.URL)
	if err != nil {
		return h.fail(ctx, log, req, err, err.Error())
	}
	body := &watched{r: resp.Body}
	n, err := h.store.PutStream(ctx, h.cfg.UploadsBucket, req.Key, body, contentType(resp.ContentType), h.cfg.PartSize)
	resp.Body.Close()
	if err != nil {
		if body.err != nil {
			return h.fail(ctx, log, req, err, body.err.Error())
		}
		return h.fail(ctx, log, req, err, "the fetched source could not be stored; try again")
	}
	log.Info("fetched", "bytes", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// fail records why the fetch failed, for people, unless the upload exists
// after all (then the transcode job owns the status).
func (h *Handler) fail(ctx context.Context, log *slog.Logger, req Request, err error, why string) error {
	log.Warn("fetch failed", "err", err)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return MarkFailed(ctx, h.store, h.cfg.UploadsBucket, h.cfg.MediaBucket, req, why)
}

// MarkFailed writes the failed status of req's video with why, unless
// its upload exists.
func MarkFailed(ctx context.Context, st *store.Store, uploads, media string, req Request, why string) error {
	if _, err := st.Head(ctx, uploads, req.Key); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("fetch %s: %w", req.ID, err)
	}
	return catalog.Write(ctx, st, media, &catalog.Status{ID: req.ID, State: catalog.StateFailed, Error: why})
}

// watched keeps the body's own error (a refusal, a limit), which the
// upload would otherwise bury under its own.
type watched struct {
	r   io.Reader
	err error
}

func (w *watched) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if err != nil && err != io.EOF {
		w.err = err
	}
	return n, err
}

// contentType keeps a video type the source declared, else none in
// particular: the transcoder probes the bytes, not the type.
func contentType(declared string) string {
	if t, _, err := mime.ParseMediaType(declared); err == nil && strings.HasPrefix(t, "video/") && len(t) < 100 {
		return t
	}
	return "application/octet-stream"
}

// host is the URL's host for the operator's log (never the whole URL,
// which may carry a secret in its query).
func host(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return ""
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
