package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/live/feed"
	"github.com/hlsflow/hlsflow/internal/live/publish"
	"github.com/hlsflow/hlsflow/internal/live/transcode"
	"github.com/hlsflow/hlsflow/internal/media"
)

// finalizeBudget bounds finishing one recording when the service is not
// shutting down (on shutdown Close's context bounds it).
const finalizeBudget = 2 * time.Minute

// stream is one public stream name's event, across publisher reconnects.
type stream struct {
	svc     *Service
	name    string
	rec     string
	started time.Time

	// Guarded by svc.mu.
	active     *run
	grace      *time.Timer
	finalizing bool
	runs       int
	dirs       []string // work folders of ended runs

	// Set by the first run's Start; then read-only.
	setup  sync.Once
	ladder media.Ladder
	pub    *publish.Publisher
	info   feed.Info

	statsMu   sync.Mutex
	pastBytes int64
	pastFrame int64
	pastDrop  int64
	pastOut   time.Duration
}

// StreamStats is a stream's state for logs and GET /streams.
type StreamStats struct {
	Name              string        `json:"name"`
	State             string        `json:"state"` // "live" or "reconnect-grace"
	Recording         string        `json:"recording"`
	Started           time.Time     `json:"started"`
	Remote            string        `json:"remote,omitempty"`
	Runs              int           `json:"runs"`
	Width             int           `json:"width,omitempty"`
	Height            int           `json:"height,omitempty"`
	BitrateInKbps     float64       `json:"bitrateInKbps"`
	BytesIn           int64         `json:"bytesIn"`
	InputDroppedBytes int64         `json:"inputDroppedBytes"`
	Frames            int64         `json:"frames"`
	Speed             float64       `json:"speed"`
	EncodedSeconds    float64       `json:"encodedSeconds"`
	Publish           publish.Stats `json:"publish"`
}

// Claim implements feed.Hub: the first publisher of a name starts a
// stream; a publisher of a name in its reconnect grace continues it; a
// second concurrent publisher is refused.
func (s *Service) Claim(name, remote string) (feed.Feed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, feed.ErrClosed
	}
	st := s.streams[name]
	if st != nil {
		if st.active != nil || st.finalizing {
			return nil, feed.ErrBusy
		}
		if st.grace != nil && !st.grace.Stop() {
			return nil, feed.ErrBusy // the grace timer fired; finalising
		}
		st.grace = nil
	} else {
		now := time.Now()
		st = &stream{svc: s, name: name, started: now, rec: publish.RecordingID(name, now)}
		s.streams[name] = st
	}
	r := &run{st: st, remote: remote, claimed: time.Now()}
	st.active = r
	st.runs++
	r.n = st.runs
	return r, nil
}

// run is one publisher connection's part of a stream: one ffmpeg.
type run struct {
	st      *stream
	remote  string
	claimed time.Time
	n       int

	mu      sync.Mutex
	proc    *transcode.Process
	dir     string
	ended   bool
	started time.Time
	limit   *time.Timer // ends the run at the stream's MaxDuration
}

var _ feed.Feed = (*run)(nil)

// Start plans the ladder (first run only) and starts ffmpeg.
func (r *run) Start(info feed.Info) error {
	st, s := r.st, r.st.svc
	if err := feed.Check(info, media.DefaultLimits); err != nil {
		return err // the limits of uploads, before any ffmpeg
	}
	left := s.cfg.MaxDuration - time.Since(st.started)
	if left <= 0 {
		return fmt.Errorf("%w: the stream reached its maximum duration of %s", feed.ErrUnsupported, s.cfg.MaxDuration)
	}
	var setupErr error
	st.setup.Do(func() { setupErr = st.init(info) })
	if setupErr != nil {
		return setupErr
	}
	if st.pub == nil {
		return errors.New("stream setup failed earlier")
	}
	noAudio := false
	if st.ladder.Audio != nil && !info.Audio {
		return fmt.Errorf("%w: the stream had audio and the reconnected feed has none", feed.ErrUnsupported)
	}
	if st.ladder.Audio == nil {
		noAudio = true
	}
	if len(st.ladder.Video) > 0 && info.VideoCodec == "" {
		return fmt.Errorf("%w: the stream had video and the reconnected feed has none", feed.ErrUnsupported)
	}
	if r.n > 1 {
		st.pub.Discontinuity()
	}
	dir, err := os.MkdirTemp(s.cfg.WorkDir, "hlsflow-live-"+st.name+"-")
	if err != nil {
		return fmt.Errorf("live work dir: %w", err)
	}
	names := make([]string, len(st.ladder.Video))
	for i, rg := range st.ladder.Video {
		names[i] = rg.Name
	}
	if len(names) == 0 {
		names = []string{st.ladder.Audio.Name} // audio only
	}
	args := transcode.Args(st.ladder, transcode.ArgsOptions{Dir: dir, Preset: s.cfg.Preset, Threads: s.cfg.Threads, NoAudio: noAudio, Feed: info})
	pub := st.pub
	proc, err := transcode.Start(transcode.Options{
		FFmpeg: s.cfg.FFmpeg, Args: args, Dir: dir, Rungs: names, Log: s.cfg.Log,
		Budget: transcode.Budget(st.ladder, info, left, s.cfg.Preset),
		OnSegment: func(seg transcode.Segment) {
			pub.Add(publish.Segment{Rung: seg.Rung, Path: seg.Path, Duration: seg.Duration, Ready: seg.Ready})
		},
	})
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		proc.Kill()
		_ = proc.Wait(context.Background())
		os.RemoveAll(dir)
		return errors.New("publisher gone")
	}
	r.proc, r.dir, r.started = proc, dir, time.Now()
	r.limit = time.AfterFunc(left, func() {
		r.End(fmt.Errorf("the stream reached its maximum duration of %s", s.cfg.MaxDuration))
	})
	s.cfg.Log.Info("live: transcoding", "stream", st.name, "run", r.n, "recording", st.rec, "pid", proc.Pid(),
		"rungs", names)
	return nil
}

// init plans the ladder from the first feed and starts the publisher.
func (st *stream) init(info feed.Info) error {
	s := st.svc
	fps := info.FPS
	if fps <= 0 || fps > 120 {
		fps = 30 // the SPS does not say; ffmpeg's fps filter makes it so
	}
	src := &media.Source{}
	if info.VideoCodec != "" {
		src.Video = &media.Video{Codec: info.VideoCodec, Width: info.Width, Height: info.Height, FPS: fps}
	}
	if info.Audio {
		src.Audio = &media.Audio{Codec: info.AudioCodec}
	}
	l, err := media.PlanLadder(src, media.LadderOptions{SegmentSeconds: s.cfg.SegmentSeconds, MaxRungs: s.cfg.MaxRungs, Rungs: s.cfg.Rungs})
	if err != nil {
		return fmt.Errorf("plan live ladder: %w", err)
	}
	if len(l.Video) == 0 && l.Audio == nil {
		return fmt.Errorf("%w: nothing to encode", feed.ErrUnsupported)
	}
	// The encoder muxes the audio into every video rung; a radio stream
	// has the audio rendition alone. Bandwidths are the nominal peaks.
	hl := hls.Ladder{MuxedAudio: true}
	if a := l.Audio; a != nil {
		hl.Audio = &hls.Rendition{Name: a.Name, Codecs: a.Codecs(), Channels: a.Channels, Bandwidth: int64(a.Bitrate)}
	}
	for _, rg := range l.Video {
		hl.Video = append(hl.Video, hls.Rendition{Name: rg.Name, Width: rg.Width, Height: rg.Height,
			FrameRate: rg.FPS, Codecs: rg.Codecs(), Bandwidth: int64(rg.MaxRate)})
	}
	pub, err := publish.New(publish.Config{
		Store: s.cfg.Store, Bucket: s.cfg.Bucket, Stream: st.name, RecordingID: st.rec, Ladder: hl,
		SegmentSeconds: l.SegmentSeconds, DVRWindow: s.cfg.DVRWindow, MaxPending: s.cfg.MaxPending,
		Log: s.cfg.Log, Started: st.started,
	})
	if err != nil {
		return err
	}
	if err := pub.Start(s.ctx); err != nil {
		return err
	}
	s.mu.Lock()
	st.ladder, st.pub, st.info = l, pub, info
	s.mu.Unlock()
	return nil
}

// Write passes TS to the transcoder; before Start (or after a failed one)
// the bytes are dropped.
func (r *run) Write(b []byte) (int, error) {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p == nil {
		return len(b), nil
	}
	return p.Write(b)
}

// End stops this run's ffmpeg (letting it finish the last segment), then
// starts the reconnect grace or, when shutting down or never started,
// finalises the stream.
func (r *run) End(err error) {
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return
	}
	r.ended = true
	proc, dir := r.proc, r.dir
	if r.limit != nil {
		r.limit.Stop()
	}
	r.mu.Unlock()
	st, s := r.st, r.st.svc
	if err != nil {
		s.cfg.Log.Info("live: publisher gone", "stream", st.name, "run", r.n, "remote", r.remote, "err", err)
	} else {
		s.cfg.Log.Info("live: publisher stopped", "stream", st.name, "run", r.n, "remote", r.remote)
	}
	if proc != nil {
		s.mu.Lock()
		parent := s.ctx
		if s.closeCtx != nil {
			parent = s.closeCtx
		}
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(parent, s.cfg.DrainTimeout)
		if perr := proc.Stop(ctx); perr != nil {
			s.cfg.Log.Warn("live: transcoder", "stream", st.name, "run", r.n, "err", perr)
		}
		cancel()
		ps := proc.Stats()
		st.statsMu.Lock()
		st.pastBytes += ps.BytesIn
		st.pastFrame += ps.Frames
		st.pastDrop += ps.BytesDropped
		st.pastOut += ps.OutTime
		st.statsMu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.active = nil
	if dir != "" {
		// Its last segments may still be queued for upload; the folder goes
		// when the stream is finalised.
		st.dirs = append(st.dirs, dir)
	}
	if st.pub == nil {
		// Refused before transcoding (bad codec, nothing sent): no event.
		delete(s.streams, st.name)
		return
	}
	if s.closing || time.Since(st.started) >= s.cfg.MaxDuration {
		s.finalize(st) // no grace: shutting down, or the stream is over its time
		return
	}
	st.grace = time.AfterFunc(s.cfg.Grace, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if st.active == nil && !st.finalizing {
			s.finalize(st)
		}
	})
}

// finalize ends the event in the background. Called with s.mu held.
func (s *Service) finalize(st *stream) {
	st.finalizing = true
	parent := s.ctx
	if s.closeCtx != nil {
		// Shutting down: the stop timeout bounds everything.
		parent = s.closeCtx
	}
	s.finWG.Go(func() {
		ctx, cancel := context.WithTimeout(parent, finalizeBudget)
		defer cancel()
		err := st.pub.Finish(ctx)
		s.mu.Lock()
		if s.streams[st.name] == st {
			delete(s.streams, st.name)
		}
		dirs := st.dirs
		s.mu.Unlock()
		for _, d := range dirs {
			os.RemoveAll(d)
		}
		if err != nil {
			s.cfg.Log.Error("live: finalising recording failed", "stream", st.name, "recording", st.rec, "err", err)
			return
		}
		s.cfg.Log.Info("live: stream ended; recording ready", "stream", st.name,
			"playback", "vod/"+st.rec+"/master.m3u8")
	})
}

func (st *stream) stats() StreamStats {
	s := st.svc
	s.mu.Lock()
	r := st.active
	state := "reconnect-grace"
	if r != nil {
		state = "live"
	} else if st.finalizing {
		state = "finalizing"
	}
	out := StreamStats{Name: st.name, State: state, Recording: st.rec, Started: st.started, Runs: st.runs}
	pub, info := st.pub, st.info
	s.mu.Unlock()
	st.statsMu.Lock()
	out.BytesIn, out.Frames, out.InputDroppedBytes = st.pastBytes, st.pastFrame, st.pastDrop
	out.EncodedSeconds = st.pastOut.Seconds()
	st.statsMu.Unlock()
	if r != nil {
		out.Remote = r.remote
		r.mu.Lock()
		proc, started := r.proc, r.started
		r.mu.Unlock()
		if proc != nil {
			ps := proc.Stats()
			out.BytesIn += ps.BytesIn
			out.Frames += ps.Frames
			out.InputDroppedBytes += ps.BytesDropped
			out.Speed = ps.Speed
			out.EncodedSeconds += ps.OutTime.Seconds()
			if el := time.Since(started).Seconds(); el > 0 {
				out.BitrateInKbps = float64(ps.BytesIn) * 8 / 1000 / el
			}
		}
	}
	if pub != nil {
		out.Width, out.Height = info.Width, info.Height
		out.Publish = pub.Stats()
	}
	return out
}
