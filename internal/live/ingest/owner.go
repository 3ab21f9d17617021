package ingest

import (
	"context"
	"os"
	"sort"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/live/feed"
	"github.com/hlsflow/hlsflow/internal/live/publish"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// finalizeBudget bounds finishing one recording when the service is not
// shutting down (on shutdown Close's context bounds it).
const finalizeBudget = 2 * time.Minute

// Requests to the owner. It answers those with a reply channel (buffered:
// it never waits) at once; the others report a change.
type (
	claimReq struct { // a publisher wants a stream name for run r
		name  string
		r     *run
		reply chan error
	}
	started struct { // a run got as far as it could in Start
		r     *run
		setup *setup
		dir   string // "" if its ffmpeg did not start
		left  time.Duration
	}
	endReq struct { // a run's publisher is gone
		r     *run
		reply chan bool // false: it had ended already
	}
	ended     struct{ r *run } // a run's ffmpeg has drained
	graceOver struct {         // a reconnect grace is over, if no run came since (runs)
		st   *stream
		runs int
	}
	finalized struct{ st *stream } // a recording is finished (or failed)
	statsReq  struct{ reply chan []StreamStats }
	closeReq  struct {
		ctx   context.Context
		reply chan error
	}
)

// own is the owner: it alone reads and writes the streams, their runs'
// states and the closing flag, so a stream's life (claim, start, end, grace,
// maximum duration, finalising) has one order of events. It never waits on
// ffmpeg or S3: requesters and finalisers do, and report back.
func (s *Service) own() {
	defer close(s.done)
	tick := time.NewTicker(s.cfg.StatsLog)
	defer tick.Stop()
	for !s.closing || len(s.streams) > 0 {
		select {
		case req := <-s.reqs:
			s.handle(req)
		case <-tick.C:
			s.logStats()
			s.recordStats()
		}
	}
}

// send hands req to the owner; false once the owner has returned.
func (s *Service) send(req any) bool {
	select {
	case s.reqs <- req:
		return true
	case <-s.done:
		return false
	}
}

func (s *Service) handle(req any) {
	switch req := req.(type) {
	case claimReq:
		req.reply <- s.claim(req.name, req.r)
	case started:
		r := req.r
		r.st.setup = req.setup
		if req.dir != "" {
			r.dir, r.started = req.dir, time.Now()
			r.limit = time.AfterFunc(req.left, func() { r.End(s.errMaxDuration()) })
		}
	case endReq:
		r := req.r
		if !r.ended && r.limit != nil {
			r.limit.Stop()
		}
		req.reply <- !r.ended
		r.ended = true
	case ended:
		s.ended(req.r)
	case graceOver:
		if st := req.st; st.active == nil && !st.finalizing && st.runs == req.runs {
			s.finalize(st)
		}
	case finalized:
		delete(s.streams, req.st.name) // till now, the name was busy
		s.origins.CompareAndDelete(req.st.name, req.st.origin)
	case statsReq:
		req.reply <- s.stats()
	case closeReq:
		if s.closing {
			req.reply <- errAlreadyClosed
			return
		}
		s.closing, s.closeCtx = true, req.ctx
		close(s.closed)
		for _, st := range s.streams {
			if st.active == nil && !st.finalizing { // in its reconnect grace: no one is coming back
				st.grace.Stop()
				s.finalize(st)
			}
		}
		req.reply <- nil
	}
}

// claim: the first publisher of a name starts a stream; a publisher of a
// name in its reconnect grace continues it; a second concurrent publisher
// is refused.
func (s *Service) claim(name string, r *run) error {
	if s.closing {
		return feed.ErrClosed
	}
	st := s.streams[name]
	switch {
	case st == nil:
		now := time.Now()
		st = &stream{name: name, started: now, rec: publish.RecordingID(name, now)}
		s.streams[name] = st
	case st.active != nil || st.finalizing:
		return feed.ErrBusy
	case st.grace != nil:
		st.grace.Stop() // a grace timer that fired already is ignored: runs changes
		st.grace = nil
	}
	st.runs++
	r.st, r.n, r.setup, st.active = st, st.runs, st.setup, r
	return nil
}

// ended: r's ffmpeg has finished, so the stream waits for its publisher
// to come back (the reconnect grace) or, when shutting down or over its
// time, is finalised.
func (s *Service) ended(r *run) {
	st := r.st
	st.active = nil
	if p := r.proc.Load(); p != nil {
		count(&st.past, p)
	}
	if r.dir != "" { // its last segments may wait for S3: removed when the stream is finalised
		st.dirs = append(st.dirs, r.dir)
	}
	switch {
	case st.setup == nil:
		delete(s.streams, st.name) // refused before transcoding (bad codec, nothing sent): no event
	case s.closing || time.Since(st.started) >= s.cfg.MaxDuration:
		s.finalize(st)
	default:
		runs := st.runs
		st.grace = time.AfterFunc(s.cfg.Grace, func() { s.send(graceOver{st, runs}) })
	}
}

// finalize ends st's event in the background; the finaliser reports back.
func (s *Service) finalize(st *stream) {
	st.finalizing = true
	s.notify(webhooks.StreamEnded, st)
	parent, pub, dirs, log := s.ctx, st.pub, st.dirs, s.deps.Log
	if st.origin != nil {
		// Held requests get the last playlist; once the recording is
		// finished the edge serves the stream's playlists from S3 again.
		st.origin.End()
	}
	if s.closing {
		// Finish keeps a part of the stop timeout for the playlists.
		parent = s.closeCtx
	}
	s.wg.Go(func() {
		ctx, cancel := context.WithTimeout(parent, finalizeBudget)
		err := pub.Finish(ctx)
		if st.origin != nil {
			s.retire(ctx, st.name)
		}
		cancel()
		for _, d := range dirs {
			os.RemoveAll(d)
		}
		if err != nil {
			log.Error("live: finalising recording failed", "stream", st.name, "recording", st.rec, "err", err)
		} else {
			log.Info("live: stream ended; recording ready", "stream", st.name, "playback", catalog.MasterKey(st.rec))
			s.notify(webhooks.RecordingReady, st)
		}
		s.send(finalized{st})
	})
}

func (s *Service) stats() []StreamStats {
	out := make([]StreamStats, 0, len(s.streams))
	for _, st := range s.streams {
		out = append(out, st.stats())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (s *Service) logStats() {
	for _, st := range s.stats() {
		s.deps.Log.Info("live stream", "stream", st.Name, "state", st.State, "kbps_in", st.BitrateInKbps,
			"frames", st.Frames, "segments", st.Publish.SegmentsPublished,
			"upload_lag_ms", st.Publish.LastLagMs, "dropped", st.Publish.SegmentsDropped,
			"input_dropped_bytes", st.InputDroppedBytes)
	}
}
