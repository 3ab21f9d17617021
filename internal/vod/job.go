package vod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/cost"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/metrics"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// job is one upload being made into a video. The goroutine running it owns
// its status, except while the encode runs, when a tracker does
// (status.go).
type job struct {
	*Pipeline
	id        string
	src       catalog.Source
	st        *catalog.Status
	replacing bool // st is the ready video this upload replaces
	log       *slog.Logger
	url       string        // presigned GET of the source, kept out of errors (hide)
	use       usage         // what the job used, for its cost and the metrics
	board     *board        // the storyboard's sheets, when the encode made them
	plan      *catalog.Plan // the per-title plan, when there is one
	// timeline is the media time (seconds) the encode's timestamps start
	// at: chunk.TimeBase for a fan-out, 0 for one ffmpeg here.
	timeline float64
}

// encodeFunc encodes a planned source and returns its renditions, every
// segment in the bucket, and the codecs of the video rungs as encoded
// (by name; best effort). It reports progress to t.
type encodeFunc func(ctx context.Context, ms *media.Source, l media.Ladder, t *tracker) ([]rendition, map[string]string, error)

// save writes the job's status.json.
func (j *job) save(ctx context.Context) error {
	j.use.wrote(1, 0)
	return catalog.Write(ctx, j.store, j.cfg.MediaBucket, j.st)
}

// run makes the video and switches players to it, or records why not.
func (j *job) run(ctx context.Context) error {
	start := time.Now()
	res, err := j.transcode(ctx)
	poster, download, storyboard := "", "", "" // a replaced video's go with it
	if err == nil {
		// A poster is a nicety: a video without one is still ready.
		if key, err := j.poster(ctx, res); err != nil {
			j.log.Warn("poster", "err", err)
		} else if key != "" {
			res.keys[key], poster = true, key
		}
		// So is a download.
		if key, err := j.download(ctx, res); err != nil {
			j.log.Warn("download", "err", err)
		} else if key != "" {
			res.keys[key], download = true, key
		}
		// And a storyboard.
		if key, err := j.storyboard(ctx, res); err != nil {
			j.log.Warn("storyboard", "err", err)
		} else if key != "" {
			res.keys[key], storyboard = true, key
		}
		// Players switch to this version here; status.json follows.
		err = j.publishMaster(ctx, res)
	}
	if errors.Is(err, errSuperseded) {
		return j.abandon(ctx)
	}
	if err != nil {
		return j.fail(ctx, err)
	}
	// Remove anything an overlapping attempt may have left that is not
	// part of this output (the master is already written, so only strays).
	// A replaced version's files go later, once no player needs them.
	if !j.replacing {
		if err := j.clean(ctx, j.id, res.keys); err != nil {
			j.log.Warn("remove stray outputs", "err", err)
		}
	}
	j.st.State, j.st.Progress, j.st.Error = catalog.StateReady, 1, ""
	j.st.Source, j.st.Replacement, j.st.Poster, j.st.Download = j.src.Upload, nil, poster, download
	j.st.Storyboard = storyboard
	j.st.Duration, j.st.Renditions, j.st.Playback = res.duration, res.renditions, catalog.MasterKey(j.id)
	j.st.AudioTracks, j.st.Captions = res.tracks, res.captions
	j.st.Ladder = j.plan
	j.st.Segments, j.st.DASH = string(res.segments), ""
	if res.mpd != nil {
		j.st.DASH = catalog.DASHKey(j.id)
	}
	// Charged at the rate of the architecture the function runs on.
	c, encodeSeconds := j.use.bill(j.cfg.MemoryMB, j.cfg.EncodeMemoryMB, cost.USEast1For(runtime.GOARCH))
	j.st.Cost = c
	if err := j.save(ctx); err != nil {
		return fmt.Errorf("transcode %s: %w", j.id, err)
	}
	j.recaption(ctx, res)
	j.emit(ctx, webhooks.VideoReady)
	j.m.Record(nil, mJobsReady.Value(1), mSourceSeconds.Value(res.duration), mEncodeSeconds.Value(encodeSeconds),
		mGBSeconds.Value(c.GBSeconds()), mCostUSD.Value(c.USD), mFirstPlayable.Value(j.use.firstPlayableSeconds()))
	j.log.Info("ready", "renditions", len(res.renditions), "duration", res.duration, "took", time.Since(start).Round(time.Millisecond),
		"gbSeconds", c.GBSeconds(), "usd", c.USD)
	if j.replacing {
		j.retire(ctx, res.keys)
	}
	return nil
}

// fail records a failed job. A refusal of the input (including ffmpeg
// failing on it, or running out of time) is final and returns nil; any other
// error is returned so that the event is retried.
func (j *job) fail(ctx context.Context, cause error) error {
	// The invocation's context may be over (timeout): bookkeeping gets a
	// few seconds of its own.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTime)
	defer cancel()
	msg := userMessage(cause)
	final := msg != "" // a temporary failure is retried: no event yet
	j.log.Warn("transcode failed", "final", final, "err", cause)
	j.m.Record([]metrics.Dim{{Name: "Reason", Value: failReason(cause)}}, mJobsFailed.Value(1))
	var errs []error
	if msg == "" {
		msg = "processing failed for a temporary reason and will be retried"
		errs = append(errs, fmt.Errorf("transcode %s: %w", j.id, cause))
	}
	var err error
	if r := j.st.Replacement; r != nil {
		// The replaced version plays on: only the new upload's files go,
		// and status.json says why it was not replaced.
		err = j.sweepAttempts(bctx, j.id, j.st)
		r.State, r.Error = catalog.StateFailed, msg
	} else {
		err = j.clean(bctx, j.id, nil)
		j.st.State, j.st.Error = catalog.StateFailed, msg
		j.st.Renditions, j.st.Playback, j.st.Duration = nil, "", 0
		j.st.AudioTracks, j.st.Captions = nil, nil
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("transcode %s: clean up: %w", j.id, err))
	}
	if err := j.save(bctx); err != nil {
		errs = append(errs, fmt.Errorf("transcode %s: %w", j.id, err))
	} else if final {
		j.emit(bctx, webhooks.VideoFailed)
	}
	return errors.Join(errs...)
}

// transcode probes, plans and encodes the upload and writes its media
// playlists; the master is built for publishMaster. Errors that are the
// upload's fault are refusals or wrap media.ErrUnsupported (errors.go).
func (j *job) transcode(ctx context.Context) (*result, error) {
	if j.src.Size == 0 {
		// Known from HEAD; S3 answers a range read of nothing with an
		// error ffprobe does not explain.
		return nil, refuse("this file cannot be made into a video stream: the file is empty", nil)
	}
	start := time.Now()
	encCtx, cancel := j.encodeContext(ctx)
	defer cancel()
	var err error
	if j.url, err = j.store.PresignGet(ctx, j.src.Bucket, j.src.Key, presignTTL(ctx)); err != nil {
		return nil, err
	}
	stopped := func(err error) error { return j.hide(interrupted(ctx, encCtx, start, err)) }

	ms, err := media.Probe(encCtx, j.cfg.FFprobe, j.url, j.cfg.Limits)
	if err != nil {
		return nil, stopped(err)
	}
	l, err := media.PlanLadder(ms, j.cfg.Ladder)
	if err != nil {
		if errors.Is(err, media.ErrUnsupported) {
			return nil, err
		}
		return nil, refuse("the video could not be planned", err)
	}
	if err := j.chargeQuota(ctx, j.id, j.src, ms); err != nil {
		return nil, err // before anything is encoded
	}
	if l, err = j.perTitle(encCtx, ms, l); err != nil {
		return nil, stopped(err)
	}
	if l, err = j.withCodecs(ctx, l); err != nil {
		return nil, err
	}
	// Chunks finish a few dozen times per video, each worth telling;
	// ffmpeg's progress comes several times a second.
	encode, every, here := encodeFunc(j.encodeHere), j.cfg.ProgressEvery, true
	if j.chunked(ms, l) {
		encode, every, here = j.fanOut, 0, false
	}
	t := j.track(encCtx, every)
	encodeStart := time.Now()
	rends, codecs, err := encode(encCtx, ms, l, t)
	t.stop()
	if here { // the fan-out counts its invocations itself
		j.use.encodeHere = time.Since(encodeStart).Seconds()
	}
	if err != nil {
		return nil, stopped(err)
	}
	return j.publish(ctx, ms, l, rends, codecs)
}

// encodeContext ends a margin before the invocation's deadline, so that a
// job running out of time can still clean up and say so in status.json.
func (j *job) encodeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := j.cfg.Margin
	if margin <= 0 {
		// Stopping ffmpeg may take encoder.KillGrace; recording the failure
		// a few seconds more.
		margin = min(max(time.Until(d)/10, encoder.KillGrace+3*time.Second), 30*time.Second)
	}
	return context.WithDeadline(ctx, d.Add(-margin))
}

// presignTTL covers the whole invocation: ffmpeg reads the source until
// the end.
func presignTTL(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d)+5*time.Minute, 15*time.Minute)
	}
	return 12 * time.Hour
}

// hide keeps the presigned URL, which carries a signature, out of err.
func (j *job) hide(err error) error {
	return redact(err, j.url, "s3://"+j.src.Bucket+"/"+j.src.Key)
}
