// Package vod turns an upload into an adaptive HLS ladder under vod/{id}/
// in the media bucket, with status.json telling players and the API where
// it stands: probe, plan, encode (one ffmpeg here, or chunks fanned out to
// a ChunkEncoder), publish. The transcode and encode Lambdas
// (functions/*/bootstrap) and hlsflow up only wire it.
//
// The order of writes is the contract: segments as ffmpeg finishes them,
// then the media playlists, then master.m3u8, then status.json "ready", so
// whoever sees a master or a ready status finds every file it names.
package vod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/metrics"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// Pipeline turns uploads into HLS. Build it with New.
type Pipeline struct {
	cfg    Config
	store  *store.Store
	chunks ChunkEncoder
	log    *slog.Logger
	m      *metrics.Recorder
	events Events
	now    func() time.Time // the quota's clock
}

// New returns a Pipeline with cfg's defaults applied.
func New(cfg Config, deps Deps) (*Pipeline, error) {
	if cfg.MediaBucket == "" || deps.Store == nil {
		return nil, errors.New("vod: a media bucket (MEDIA_BUCKET) and a store are required")
	}
	return &Pipeline{cfg: cfg.withDefaults(), store: deps.Store, chunks: deps.Chunks, log: deps.logger(), m: deps.Metrics, events: deps.Events, now: time.Now}, nil
}

// Handle processes every new upload named in ev, an S3 event as AWS and
// the local cloud send it. It returns nil when the outcome is final
// (ready, or failed because of the file: retrying would fail again) and an
// error only for transient faults, such as S3 being unreachable, so that
// Lambda retries the event.
func (p *Pipeline) Handle(ctx context.Context, ev events.S3Event) error {
	var errs []error
	for _, r := range ev.Records {
		if bucket, key, ok := p.accept(r); ok {
			errs = append(errs, p.process(ctx, bucket, key))
		}
	}
	return errors.Join(errs...)
}

// accept says whether a record is a new object in the uploads bucket, and
// returns its bucket and decoded key.
func (p *Pipeline) accept(r events.S3EventRecord) (bucket, key string, ok bool) {
	name := strings.TrimPrefix(r.EventName, "s3:")
	bucket = r.S3.Bucket.Name
	key = r.S3.Object.URLDecodedKey
	if key == "" {
		// Events built in Go rather than decoded from JSON carry only the
		// encoded key.
		var err error
		if key, err = url.QueryUnescape(r.S3.Object.Key); err != nil {
			p.log.Warn("ignoring event with a badly encoded key", "key", r.S3.Object.Key, "err", err)
			return "", "", false
		}
	}
	switch {
	case !strings.HasPrefix(name, "ObjectCreated:"):
		p.log.Info("ignoring event", "event", r.EventName, "bucket", bucket, "key", key)
		return "", "", false
	case p.cfg.UploadsBucket != "" && bucket != p.cfg.UploadsBucket,
		p.cfg.UploadsBucket == "" && bucket == p.cfg.MediaBucket:
		p.log.Info("ignoring event from another bucket", "bucket", bucket, "key", key)
		return "", "", false
	case key == "" || strings.HasSuffix(key, "/"):
		return "", "", false // a folder marker, not a file
	}
	return bucket, key, true
}

// process transcodes one upload, or recognises that it is already done or
// under way.
func (p *Pipeline) process(ctx context.Context, bucket, key string) error {
	start := time.Now() // of this invocation's work, which its cost counts
	id := catalog.VideoID(key)
	log := p.log.With("id", id, "bucket", bucket, "key", key)
	info, err := p.store.Head(ctx, bucket, key)
	if errors.Is(err, store.ErrNotFound) {
		// Deleted since the event: nothing to make, and nothing to retry.
		log.Info("upload no longer exists")
		return nil
	}
	if err != nil {
		return fmt.Errorf("transcode %s: %w", id, err)
	}
	src := catalog.Source{Bucket: bucket, Key: key, Upload: uploadOf(info)}

	prev, err := catalog.Read(ctx, p.store, p.cfg.MediaBucket, id)
	switch {
	case err == nil && prev.State == catalog.StateReady && prev.Source == src.Upload:
		log.Info("already transcoded", "etag", src.ETag)
		return nil
	case err == nil && p.chunks != nil && inProgress(prev, src.Upload) && time.Since(prev.Updated) < staleAfter:
		// A re-delivered event while another invocation fans out the same
		// upload (its tracker refreshes status.json every heartbeatEvery):
		// starting again would encode every chunk twice.
		log.Info("already being transcoded", "etag", src.ETag, "updated", prev.Updated)
		return nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("transcode %s: %w", id, err)
	}

	j := &job{Pipeline: p, id: id, src: src, log: log,
		st: &catalog.Status{ID: id, State: catalog.StateProcessing, Source: src.Upload}}
	j.use.started = start
	j.use.gets.Store(2) // the HEAD and the status.json read above
	p.m.Record(nil, mJobsStarted.Value(1))
	// A ready video made from another upload plays on, as status.json
	// says, until this one is ready; st.Replacement tells of this one.
	if old := replaced(prev, src.Upload); old != nil {
		j.st, j.replacing = old, true
		j.st.Replacement = catalog.NewReplacement(src.Upload)
		log.Info("replacing", "playing", old.Source.ETag, "etag", src.ETag)
	}
	if err := j.save(ctx); err != nil {
		return fmt.Errorf("transcode %s: %w", id, err)
	}
	j.emit(ctx, webhooks.VideoCreated)
	// A retry after a crash starts from a clean folder, so the output is
	// never a mix of two attempts; a replacement keeps what plays.
	if j.replacing {
		err = p.sweepAttempts(ctx, id, j.st)
	} else {
		err = p.clean(ctx, id, nil)
	}
	if err != nil {
		return fmt.Errorf("transcode %s: %w", id, err)
	}
	return j.run(ctx)
}

// clean deletes the video's outputs except status.json and the keys in keep.
func (p *Pipeline) clean(ctx context.Context, id string, keep map[string]bool) error {
	return p.sweep(ctx, id, func(k, _ string) bool { return !keep[k] })
}
