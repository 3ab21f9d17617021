package ingest

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/live/feed"
	"github.com/hlsflow/hlsflow/internal/live/llhls"
	"github.com/hlsflow/hlsflow/internal/live/publish"
	"github.com/hlsflow/hlsflow/internal/live/restream"
	"github.com/hlsflow/hlsflow/internal/live/transcode"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// stream is one public stream name's event, across publisher reconnects.
// name, rec and started are fixed at its creation; the rest belongs to the
// owner goroutine.
type stream struct {
	name    string
	rec     string
	started time.Time

	active     *run        // the publisher's run; nil between runs
	grace      *time.Timer // the reconnect grace, while it runs
	finalizing bool
	runs       int
	dirs       []string    // work folders of ended runs
	*setup                 // by the first run that got to start; then fixed
	past       StreamStats // the ended runs' transcoders, counted
	reported   StreamStats // as the metrics last recorded it
}

// setup is what a stream's first run decided for all of them.
type setup struct {
	ladder media.Ladder
	pub    *publish.Publisher
	info   feed.Info
	origin *llhls.Origin // low latency only
}

// StreamStats is a stream's state for logs and GET /streams.
type StreamStats struct {
	Name              string        `json:"name"`
	State             string        `json:"state"` // "live", "reconnect-grace" or "finalizing"
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
	// Restream is the current run's destinations' states.
	Restream []restream.Status `json:"restream,omitempty"`
}

// run is one publisher connection's part of a stream: one ffmpeg. The
// listener that claimed it calls Start, Write and End from one goroutine;
// its maximum-duration timer may call End too.
type run struct {
	svc    *Service
	remote string
	proc   atomic.Pointer[transcode.Process]  // set by Start, read by Write
	fwd    atomic.Pointer[restream.Forwarder] // the same; nil without destinations

	// st, n and setup are set by the owner at the claim, then fixed; the
	// rest belongs to the owner.
	st      *stream
	n       int
	setup   *setup // the stream's; nil for its first run
	dir     string
	started time.Time
	ended   bool
	limit   *time.Timer // ends the run at the stream's MaxDuration
}

var _ feed.Feed = (*run)(nil)

// Claim implements feed.Hub (see Service.claim).
func (s *Service) Claim(name, remote string) (feed.Feed, error) {
	r, res := &run{svc: s, remote: remote}, make(chan error, 1)
	if !s.send(claimReq{name, r, res}) {
		return nil, feed.ErrClosed
	}
	if err := <-res; err != nil {
		return nil, err
	}
	return r, nil
}

// Start plans the ladder (first run only) and starts ffmpeg.
func (r *run) Start(info feed.Info) (err error) {
	st, s := r.st, r.svc
	if err := feed.Check(info, media.DefaultLimits); err != nil {
		return err // the limits of uploads, before any ffmpeg
	}
	left := s.cfg.MaxDuration - time.Since(st.started)
	if left <= 0 {
		return fmt.Errorf("%w: %w", feed.ErrUnsupported, s.errMaxDuration())
	}
	su, dir := r.setup, ""
	if su == nil {
		if su, err = s.setup(st, info); err != nil {
			return err
		}
	}
	// The owner keeps the setup for the runs to come, and times this one
	// if its ffmpeg started (dir set).
	defer func() { s.send(started{r, su, dir, left}) }()
	if su.ladder.Audio != nil && !info.Audio {
		return fmt.Errorf("%w: the stream had audio and the reconnected feed has none", feed.ErrUnsupported)
	}
	if len(su.ladder.Video) > 0 && info.VideoCodec == "" {
		return fmt.Errorf("%w: the stream had video and the reconnected feed has none", feed.ErrUnsupported)
	}
	if r.n > 1 {
		su.pub.Discontinuity()
		if su.origin != nil {
			su.origin.Discontinuity()
		}
	}
	work, err := os.MkdirTemp(s.cfg.WorkDir, "hlsflow-live-"+st.name+"-")
	if err != nil {
		return fmt.Errorf("live work dir: %w", err)
	}
	// Every rung of this run takes its PROGRAM-DATE-TIME from one anchor:
	// when the run's first frame arrived.
	clock := publish.NewClock(cmp.Or(info.Received, time.Now()))
	names := transcode.Renditions(su.ladder)
	args := transcode.Args(su.ladder, transcode.ArgsOptions{Dir: work, Preset: s.cfg.Preset, Threads: s.cfg.Threads,
		NoAudio: su.ladder.Audio == nil, Feed: info, LowLatency: su.origin != nil, PartSeconds: s.cfg.PartSeconds})
	pub, origin := su.pub, su.origin
	inits := make([][]byte, len(names)) // per rung, for its next segment; each packager uses its own
	opts := transcode.Options{
		FFmpeg: s.cfg.FFmpeg, Args: args, Dir: work, Rungs: names, Log: s.deps.Log,
		Budget: transcode.Budget(su.ladder, info, left, s.cfg.Preset),
		OnSegment: func(seg transcode.Segment) {
			ps := publish.Segment{Rung: seg.Rung, Path: seg.Path, Duration: seg.Duration, Ready: seg.Ready}
			if seg.HasPTS {
				ps.PDT = clock.PDT(seg.PTS)
			}
			if origin != nil {
				ps.Init, inits[seg.Rung] = inits[seg.Rung], nil
			}
			uri := pub.Add(ps)
			if origin != nil {
				origin.AddSegment(seg.Rung, llhls.Segment{URI: uri, Duration: seg.Duration, PDT: ps.PDT})
			}
		},
	}
	if origin != nil {
		opts.LowLatency = &transcode.LowLatency{
			OnInit: func(rung int, b []byte) { inits[rung] = b; origin.Init(rung, b) },
			OnPart: func(p transcode.Part) {
				origin.AddPart(p.Rung, llhls.Part{Duration: p.Duration, Independent: p.Independent, Data: p.Data})
			},
		}
	}
	proc, err := transcode.Start(opts)
	if err != nil {
		os.RemoveAll(work)
		return err
	}
	r.proc.Store(proc)
	dir = work
	r.restream(st.name, info)
	if r.n == 1 {
		s.notify(webhooks.StreamStarted, st)
	}
	s.deps.Log.Info("live: transcoding", "stream", st.name, "run", r.n, "recording", st.rec, "pid", proc.Pid(),
		"rungs", names)
	return nil
}

func (s *Service) errMaxDuration() error {
	return fmt.Errorf("the stream reached its maximum duration of %s", s.cfg.MaxDuration)
}

// setup plans the ladder from the stream's first feed and starts the
// publisher.
func (s *Service) setup(st *stream, info feed.Info) (*setup, error) {
	src := feed.Source(info)
	if v := src.Video; v != nil && (v.FPS <= 0 || v.FPS > 120) {
		v.FPS = 30 // the SPS does not say; ffmpeg's fps filter makes it so
	}
	l, err := media.PlanLadder(src, media.LadderOptions{SegmentSeconds: s.cfg.SegmentSeconds, MaxRungs: s.cfg.MaxRungs, Rungs: s.cfg.Rungs})
	if err != nil {
		return nil, fmt.Errorf("plan live ladder: %w", err)
	}
	if len(l.Video) == 0 && l.Audio == nil {
		return nil, fmt.Errorf("%w: nothing to encode", feed.ErrUnsupported)
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
		Store: s.deps.Store, Bucket: s.cfg.Bucket, Stream: st.name, RecordingID: st.rec, Ladder: hl,
		SegmentSeconds: l.SegmentSeconds, DVRWindow: s.cfg.DVRWindow, MaxPending: s.cfg.MaxPending,
		Log: s.deps.Log, Started: st.started,
	})
	if err != nil {
		return nil, err
	}
	if err := pub.Start(s.ctx); err != nil {
		return nil, err
	}
	su := &setup{ladder: l, pub: pub, info: info}
	if s.cfg.LowLatency {
		names := transcode.Renditions(l)
		if su.origin, err = llhls.New(llhls.Config{Renditions: names, Target: time.Duration(l.SegmentSeconds * float64(time.Second)),
			PartTarget: time.Duration(s.cfg.PartSeconds * float64(time.Second)), Window: s.cfg.DVRWindow}); err != nil {
			return nil, err
		}
		s.origins.Store(st.name, su.origin)
		s.announce(s.ctx, st.name)
	}
	return su, nil
}

// restream starts forwarding this run's feed to the stream's
// destinations, if it has any. Trouble there is logged: it never stops
// the stream.
func (r *run) restream(name string, info feed.Info) {
	s := r.svc
	ds, err := restream.Load(s.ctx, s.deps.Store, s.cfg.Bucket, name)
	if err != nil {
		s.deps.Log.Warn("live: restream destinations", "stream", name, "err", err)
		return
	}
	if len(ds) == 0 {
		return
	}
	if info.Format != "" {
		// A restream copies the feed's MPEG-TS into FLV; WHIP's VP8 (in
		// Matroska) has no FLV form without re-encoding.
		s.deps.Log.Warn("live: not restreaming a "+info.VideoCodec+" feed (it would need re-encoding)", "stream", name, "run", r.n)
		return
	}
	r.fwd.Store(restream.Start(s.ctx, restream.Config{FFmpeg: cmp.Or(s.cfg.FFmpeg, media.FFmpegPath()),
		Policy: restream.Policy{Allow: s.cfg.RestreamAllow}, Store: s.deps.Store, Bucket: s.cfg.Bucket,
		Stream: name, Log: s.deps.Log}, ds))
	s.deps.Log.Info("live: restreaming", "stream", name, "run", r.n, "destinations", len(ds))
}

// Write passes TS to the transcoder and the restream destinations; before
// Start (or after a failed one) the bytes are dropped.
func (r *run) Write(b []byte) (int, error) {
	r.fwd.Load().Write(b) // never blocks
	if p := r.proc.Load(); p != nil {
		return p.Write(b)
	}
	return len(b), nil
}

// End stops this run's ffmpeg (letting it finish the last segment), then
// tells the owner, which starts the reconnect grace or finalises the
// stream.
func (r *run) End(err error) {
	st, s := r.st, r.svc
	c := make(chan bool, 1)
	if !s.send(endReq{r, c}) || !<-c {
		return // ended already
	}
	if err != nil {
		s.deps.Log.Info("live: publisher gone", "stream", st.name, "run", r.n, "remote", r.remote, "err", err)
	} else {
		s.deps.Log.Info("live: publisher stopped", "stream", st.name, "run", r.n, "remote", r.remote)
	}
	r.fwd.Load().Close()
	if proc := r.proc.Load(); proc != nil {
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.DrainTimeout)
		if perr := proc.Stop(ctx); perr != nil {
			s.deps.Log.Warn("live: transcoder", "stream", st.name, "run", r.n, "err", perr)
		}
		cancel()
	}
	s.send(ended{r})
}

// stats is st's state; called by the owner.
func (st *stream) stats() StreamStats {
	out := st.past
	out.Name, out.State, out.Recording, out.Started, out.Runs = st.name, "reconnect-grace", st.rec, st.started, st.runs
	if st.finalizing {
		out.State = "finalizing"
	}
	if r := st.active; r != nil {
		out.State, out.Remote = "live", r.remote
		out.Restream = r.fwd.Load().Status()
		if proc := r.proc.Load(); proc != nil {
			ps := count(&out, proc)
			out.Speed = ps.Speed
			if el := time.Since(r.started).Seconds(); el > 0 {
				out.BitrateInKbps = float64(ps.BytesIn) * 8 / 1000 / el
			}
		}
	}
	if st.setup != nil {
		out.Width, out.Height = st.info.Width, st.info.Height
		out.Publish = st.pub.Stats()
	}
	return out
}

// count adds proc's counters to out.
func count(out *StreamStats, proc *transcode.Process) transcode.Stats {
	ps := proc.Stats()
	out.BytesIn += ps.BytesIn
	out.Frames += ps.Frames
	out.InputDroppedBytes += ps.BytesDropped
	out.EncodedSeconds += ps.OutTime.Seconds()
	return ps
}
