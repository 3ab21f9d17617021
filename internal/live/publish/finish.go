package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Finish publishes what is queued, then ends the event: the live playlists
// get EXT-X-ENDLIST, and the recording gets its VOD playlists, master and
// a ready status.json. If ctx ends first, the queued segments are given up
// and the recording is finalised with what was published. A stream that
// published nothing is recorded as failed. Everything happens within ctx.
func (p *Publisher) Finish(ctx context.Context) error {
	if !p.closed.CompareAndSwap(false, true) {
		return errors.New("publish: already finished")
	}
	for _, r := range p.rungs {
		r.mu.Lock()
		r.finished = true
		r.mu.Unlock()
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	// Draining the queue may use two thirds of the time left; the rest is
	// kept for the playlists and status that make the recording.
	drainCtx, cancelDrain := ctx, context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); ok {
		drainCtx, cancelDrain = context.WithDeadline(ctx, dl.Add(-time.Until(dl)/3))
	}
	defer cancelDrain()
	drained := make(chan struct{})
	go func() { p.wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-drainCtx.Done():
		p.cancel()
		<-drained
	}
	p.cancel()
	fctx := ctx

	var errs []error
	var total time.Duration
	published := 0
	for i, r := range p.rungs {
		r.mu.Lock()
		left := r.pending
		r.pending = nil
		r.mu.Unlock()
		for _, it := range left {
			_ = os.Remove(it.Path)
		}
		if len(r.all) == 0 {
			continue
		}
		published++
		body, err := p.livePlaylist(r, true)
		if err == nil {
			err = p.put(fctx, p.liveKey(i), body, p.liveCache())
		}
		errs = append(errs, err)
		vod := hls.MediaPlaylist{Type: hls.TypeVOD, EndList: true, IndependentSegments: true, Segments: r.all}
		body, err = vod.Encode()
		if err == nil {
			err = p.put(fctx, p.rungDir(i)+playlist, body, store.CacheVODPlaylist)
		}
		errs = append(errs, err)
		total = max(total, vod.Duration())
	}
	if published < len(p.rungs) {
		st := p.status(catalog.StateFailed, 0)
		st.Error = "the live stream ended before every rendition had a segment"
		errs = append(errs, catalog.Write(fctx, p.cfg.Store, p.cfg.Bucket, st))
		return errors.Join(errs...)
	}
	errs = append(errs, p.writeMaster(fctx, catalog.MasterKey(p.cfg.RecordingID), store.CacheVODPlaylist))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("finish %s: %w", p.cfg.Stream, err)
	}
	st := p.status(catalog.StateReady, total.Seconds())
	st.Renditions = catalog.Renditions(p.cfg.Ladder)
	st.Playback = catalog.MasterKey(p.cfg.RecordingID)
	if err := catalog.Write(fctx, p.cfg.Store, p.cfg.Bucket, st); err != nil {
		return fmt.Errorf("finish %s: %w", p.cfg.Stream, err)
	}
	return nil
}

func (p *Publisher) put(ctx context.Context, key string, body []byte, cache string) error {
	return p.retry(ctx, key, func(ctx context.Context) error {
		return p.cfg.Store.PutBytes(ctx, p.cfg.Bucket, key, body,
			store.Object{ContentType: store.ContentType(key), CacheControl: cache})
	})
}

func (p *Publisher) status(state catalog.State, duration float64) *catalog.Status {
	progress := 0.0
	if state == catalog.StateReady {
		progress = 1
	}
	return &catalog.Status{
		ID: p.cfg.RecordingID, State: state, Progress: progress, Duration: duration,
	}
}

// RecordingID is the id of the recording of a stream that started at t:
// NAME-YYYYMMDD-HHMMSS in UTC.
func RecordingID(name string, t time.Time) string {
	return name + "-" + t.UTC().Format("20060102-150405")
}
