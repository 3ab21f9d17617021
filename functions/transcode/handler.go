// Package transcode is the on-demand Lambda: an S3 ObjectCreated event for
// an upload becomes an adaptive HLS ladder under vod/{id}/ in the media
// bucket, with status.json telling players and the API where it stands.
//
// The order of writes is the contract: segments as ffmpeg finishes them,
// then the media playlists, then master.m3u8, then status.json "ready", so
// whoever sees a master or a ready status finds every file it names.
package transcode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Handler turns uploads into HLS. Build it with New; the zero values of the
// optional fields mean their defaults.
type Handler struct {
	Store         *store.Store
	MediaBucket   string // where vod/{id}/ is written
	UploadsBucket string // events from other buckets are ignored; "" accepts all but MediaBucket

	FFmpeg, FFprobe string
	TmpDir          string // parent of each job's working directory; "" = os.TempDir()
	Limits          media.Limits
	Ladder          media.LadderOptions
	Preset          string // x264 preset; "" = encoder.DefaultPreset
	Threads         int    // ffmpeg -threads; 0 = ffmpeg's choice

	// SourceMinutesPerDay is the daily quota of source minutes (see
	// quota.go): 0 = no quota.
	SourceMinutesPerDay float64
	now                 func() time.Time // the quota's clock; nil = time.Now

	// Margin is how long before the invocation's deadline ffmpeg is stopped,
	// so that the failure can still be recorded. 0 = a tenth of the time
	// left, between 1 s and 30 s.
	Margin time.Duration
	// ProgressEvery throttles status.json progress updates; 0 = 5 s.
	ProgressEvery time.Duration
	// Poll is how often the working directory is scanned for finished
	// segments; 0 = 200 ms.
	Poll time.Duration

	Log *slog.Logger

	// Chunked encoding (see chunked.go): with Invoker and EncodeFunction
	// set, a source of at least MinChunks chunks is split into chunks of
	// ChunkSeconds, encoded by EncodeFunction with at most Parallelism
	// invocations at once, each tried ChunkAttempts times, RetryWait more
	// between each. Shorter sources, or no Invoker, use one ffmpeg here.
	Invoker        Invoker
	EncodeFunction string
	ChunkSeconds   float64 // 0 = DefaultChunkSeconds
	// FirstChunkSeconds is the length of the first chunk, short so that
	// playback can start early; 0 = one segment.
	FirstChunkSeconds float64
	MinChunks         int           // 0 = DefaultMinChunks
	Parallelism       int           // 0 = 10
	ChunkAttempts     int           // 0 = DefaultChunkAttempts
	RetryWait         time.Duration // 0 = 1 s
	// EncodeSpeed (source seconds per second for the whole ladder, as
	// measured) and EncodeTimeout (the encode function's timeout) shorten
	// chunks so each ends well inside the timeout; 0 = not applied.
	EncodeSpeed   float64
	EncodeTimeout time.Duration
	// NoProgressive writes playlists only when every chunk is in, instead
	// of EVENT playlists as the leading chunks arrive.
	NoProgressive bool

	// RetireAfter is how long a replaced video's files are kept after the
	// new version is ready (see replace.go); 0 = DefaultRetireAfter,
	// negative = at once.
	RetireAfter time.Duration
}

// New returns a Handler with the default tools, limits and ladder.
func New(st *store.Store, mediaBucket, uploadsBucket string) *Handler {
	return &Handler{
		Store:         st,
		MediaBucket:   mediaBucket,
		UploadsBucket: uploadsBucket,
		FFmpeg:        media.FFmpegPath(),
		FFprobe:       media.FFprobePath(),
		Limits:        media.DefaultLimits,
		Log:           slog.Default(),
	}
}

// Handle processes every new upload named in ev. It returns nil when the
// outcome is final (ready, or failed because of the file: retrying would
// fail again) and an error only for transient faults, such as S3 being
// unreachable, so that Lambda retries the event.
func (h *Handler) Handle(ctx context.Context, ev events.S3Event) error {
	var errs []error
	for _, r := range ev.Records {
		bucket, key, ok := h.accept(r)
		if !ok {
			continue
		}
		if err := h.process(ctx, bucket, key); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// accept says whether a record is a new object in the uploads bucket, and
// returns its bucket and decoded key.
func (h *Handler) accept(r events.S3EventRecord) (bucket, key string, ok bool) {
	name := strings.TrimPrefix(r.EventName, "s3:")
	bucket = r.S3.Bucket.Name
	key = r.S3.Object.URLDecodedKey
	if key == "" {
		// Events built in Go rather than decoded from JSON carry only the
		// encoded key.
		var err error
		if key, err = url.QueryUnescape(r.S3.Object.Key); err != nil {
			h.logger().Warn("ignoring event with a badly encoded key", "key", r.S3.Object.Key, "err", err)
			return "", "", false
		}
	}
	switch {
	case !strings.HasPrefix(name, "ObjectCreated:"):
		h.logger().Info("ignoring event", "event", r.EventName, "bucket", bucket, "key", key)
		return "", "", false
	case h.UploadsBucket != "" && bucket != h.UploadsBucket,
		h.UploadsBucket == "" && bucket == h.MediaBucket:
		h.logger().Info("ignoring event from another bucket", "bucket", bucket, "key", key)
		return "", "", false
	case key == "" || strings.HasSuffix(key, "/"):
		return "", "", false // a folder marker, not a file
	}
	return bucket, key, true
}

func (h *Handler) logger() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// process transcodes one upload, or recognises that it is already done.
func (h *Handler) process(ctx context.Context, bucket, key string) error {
	id := catalog.VideoID(key)
	log := h.logger().With("id", id, "bucket", bucket, "key", key)

	info, err := h.Store.Head(ctx, bucket, key)
	if errors.Is(err, store.ErrNotFound) {
		// Deleted since the event: nothing to make, and nothing to retry.
		log.Info("upload no longer exists")
		return nil
	}
	if err != nil {
		return fmt.Errorf("transcode %s: %w", id, err)
	}
	src := catalog.Source{Bucket: bucket, Key: key, Upload: catalog.Upload{Size: info.Size, ETag: strings.Trim(info.ETag, `"`)}}

	prev, err := catalog.Read(ctx, h.Store, h.MediaBucket, id)
	switch {
	case err == nil && prev.State == catalog.StateReady && prev.Source == src.Upload:
		log.Info("already transcoded", "etag", src.ETag)
		return nil
	case err == nil && h.Invoker != nil && inProgress(prev, src.Upload) && time.Since(prev.Updated) < staleAfter:
		// A re-delivered event while another invocation fans out the same
		// upload (it refreshes status.json every heartbeatEvery): starting
		// again would encode every chunk twice.
		log.Info("already being transcoded", "etag", src.ETag, "updated", prev.Updated)
		return nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("transcode %s: %w", id, err)
	}

	st := &catalog.Status{ID: id, State: catalog.StateProcessing, Source: src.Upload}
	// A ready video made from another upload plays on, as status.json
	// says, until this one is ready; st.Replacement tells of this one.
	old := replaced(prev, src.Upload)
	if old != nil {
		st = old
		st.Replacement = catalog.NewReplacement(src.Upload)
		log.Info("replacing", "playing", old.Source.ETag, "etag", src.ETag)
	}
	if err := catalog.Write(ctx, h.Store, h.MediaBucket, st); err != nil {
		return fmt.Errorf("transcode %s: %w", id, err)
	}
	// A retry after a crash starts from a clean folder, so the output is
	// never a mix of two attempts; a replacement keeps what plays.
	if old != nil {
		err = h.sweepAttempts(ctx, id, old)
	} else {
		err = h.clean(ctx, id, nil)
	}
	if err != nil {
		return fmt.Errorf("transcode %s: %w", id, err)
	}

	start := time.Now()
	res, err := h.transcode(ctx, id, src, st)
	poster := "" // a replaced video's poster goes with it
	if err == nil {
		// A poster is a nicety: a video without one is still ready.
		if key, err := h.poster(ctx, id, src, res); err != nil {
			log.Warn("poster", "err", err)
		} else if key != "" {
			res.keys[key] = true
			poster = key
		}
		// Players switch to this version here; status.json follows.
		err = h.publishMaster(ctx, id, src, res)
	}
	if errors.Is(err, errSuperseded) {
		return h.abandon(ctx, log, id, src)
	}
	if err != nil {
		return h.fail(ctx, log, st, err)
	}
	// Remove anything an overlapping attempt may have left that is not
	// part of this output (the master is already written, so only strays).
	// A replaced version's files go later, once no player needs them.
	if old == nil {
		if err := h.clean(ctx, id, res.keys); err != nil {
			log.Warn("remove stray outputs", "err", err)
		}
	}
	st.State, st.Progress, st.Error = catalog.StateReady, 1, ""
	st.Source, st.Replacement, st.Poster = src.Upload, nil, poster
	st.Duration = res.duration
	st.Renditions = res.renditions
	st.Playback = catalog.MasterKey(id)
	if err := catalog.Write(ctx, h.Store, h.MediaBucket, st); err != nil {
		return fmt.Errorf("transcode %s: %w", id, err)
	}
	log.Info("ready", "renditions", len(res.renditions), "duration", res.duration, "took", time.Since(start).Round(time.Millisecond))
	if old != nil {
		h.retire(ctx, log, id, src, res.keys)
	}
	return nil
}

// fail records a failed job. A refusal of the input (including ffmpeg
// failing on it, or running out of time) is final and returns nil; any other
// error is returned so that the event is retried.
func (h *Handler) fail(ctx context.Context, log *slog.Logger, st *catalog.Status, cause error) error {
	// The invocation's context may be over (timeout): bookkeeping gets a
	// few seconds of its own.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	final := true
	msg := userMessage(cause)
	if msg == "" {
		final = false
		msg = "processing failed for a temporary reason and will be retried"
	}
	log.Warn("transcode failed", "final", final, "err", cause)
	var errs []error
	if !final {
		errs = append(errs, fmt.Errorf("transcode %s: %w", st.ID, cause))
	}
	if r := st.Replacement; r != nil {
		// The replaced version plays on: only the new upload's files go,
		// and status.json says why it was not replaced.
		if err := h.sweepAttempts(bctx, st.ID, st); err != nil {
			errs = append(errs, fmt.Errorf("transcode %s: clean up: %w", st.ID, err))
		}
		r.State, r.Error = catalog.StateFailed, msg
	} else {
		if err := h.clean(bctx, st.ID, nil); err != nil {
			errs = append(errs, fmt.Errorf("transcode %s: clean up: %w", st.ID, err))
		}
		st.State, st.Error = catalog.StateFailed, msg
		st.Renditions, st.Playback, st.Duration = nil, "", 0
	}
	if err := catalog.Write(bctx, h.Store, h.MediaBucket, st); err != nil {
		errs = append(errs, fmt.Errorf("transcode %s: %w", st.ID, err))
	}
	return errors.Join(errs...)
}

// clean deletes the video's outputs except status.json and the keys in keep.
func (h *Handler) clean(ctx context.Context, id string, keep map[string]bool) error {
	keys, err := h.Store.List(ctx, h.MediaBucket, catalog.Prefix(id))
	if err != nil {
		return err
	}
	var del []string
	for _, k := range keys {
		if k != catalog.StatusKey(id) && !keep[k] {
			del = append(del, k)
		}
	}
	if len(del) == 0 {
		return nil
	}
	return h.Store.DeleteKeys(ctx, h.MediaBucket, del)
}

func (h *Handler) tmpDir() string {
	if h.TmpDir != "" {
		return h.TmpDir
	}
	return os.TempDir()
}
