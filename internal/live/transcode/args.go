// Package transcode runs the live ladder: one ffmpeg per publisher run,
// fed MPEG-TS on stdin, encoding every rung with aligned keyframes into
// HLS segments in a local folder, each reported once ffmpeg has finished
// it. The encode itself is internal/encoder's Live job; this package fits
// it to a feed.
package transcode

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/live/feed"
	"github.com/hlsflow/hlsflow/internal/media"
)

// DefaultPreset is the x264 preset for live.
const DefaultPreset = encoder.DefaultPreset

// ArgsOptions tune Args.
type ArgsOptions struct {
	Dir      string // output folder
	Preset   string // x264 preset, default DefaultPreset
	Threads  int    // 0 = ffmpeg's default
	Input    string // default "pipe:0"
	Realtime bool   // add -re (benchmarks feeding a file)
	NoAudio  bool   // ignore the feed's audio
	// LowLatency writes each rung as a fragmented MP4 of PartSeconds
	// fragments (encoder.LiveCMAF) for Start's LowLatency packager.
	LowLatency  bool
	PartSeconds float64
	// Feed is what the listener probed of this run's feed: its picture
	// bounds the decoder (-max_pixels). A zero Feed bounds it by
	// media.DefaultLimits.
	Feed feed.Info
}

// Args returns the ffmpeg argv (without the binary) that encodes ladder l
// from the feed: each video rung with the audio muxed in, under
// Dir/{rung name}/ as seg_NNNNN.ts plus ffmpeg's own index.m3u8, which the
// watcher reads for segment durations (the playlists players see are
// written by the publisher). A ladder with no video rung (a radio stream)
// is its audio rendition alone, under Dir/{audio name}/. Args returns nil
// when there is nothing to encode.
func Args(l media.Ladder, opt ArgsOptions) []string {
	return encoder.Args(job(l, opt))
}

// Renditions are the folders under ArgsOptions.Dir that Args writes: the
// video rungs, or the audio rendition of a radio stream.
func Renditions(l media.Ladder) []string { return job(l, ArgsOptions{}).Renditions() }

func job(l media.Ladder, opt ArgsOptions) encoder.Job {
	if opt.NoAudio {
		l.Audio = nil
	}
	kind := encoder.Live
	if opt.LowLatency {
		kind = encoder.LiveCMAF
	}
	return encoder.Job{
		Input:  encoder.Input{URL: opt.Input, Source: feed.Source(opt.Feed), Realtime: opt.Realtime, Format: feedFormat(opt.Feed)},
		Ladder: l, Output: encoder.Output{Kind: kind, Dir: opt.Dir, PartSeconds: opt.PartSeconds},
		Preset: opt.Preset, Threads: opt.Threads,
	}
}

// feedFormat is the encoder's name of the feed's container.
func feedFormat(info feed.Info) string {
	if info.Format == feed.FormatMatroska {
		return encoder.FeedMatroska
	}
	return encoder.FeedMPEGTS
}

// Budget is what the live ffmpeg of feed info may use over a run of at
// most d (encoder.EncodeBudget of the ladder for that long).
func Budget(l media.Ladder, info feed.Info, d time.Duration, preset string) encoder.Budget {
	src := feed.Source(info)
	if src.Video != nil && src.Video.FPS <= 0 {
		src.Video.FPS = 30
	}
	return encoder.EncodeBudget(src, l, d.Seconds(), preset)
}

// Options configure Start (see encoder.Options).
type Options struct {
	FFmpeg      string   // binary; default media.FFmpegPath()
	Args        []string // from Args
	Dir         string   // the Args output folder
	Rungs       []string // rendition names: sub-folders of Dir to watch
	InputBuffer int      // stdin queue; a publisher faster than the encoder loses data beyond it
	Poll        time.Duration
	Log         *slog.Logger
	OnSegment   func(Segment)  // from one goroutine, in order per rung; must not block for long
	Budget      encoder.Budget // set on ffmpeg right after it starts
	// LowLatency, for Args' low-latency output, packages parts and
	// segments from the growing files instead of watching for segments.
	LowLatency *LowLatency
}

// Segment is a finished segment file.
type Segment struct {
	Rung     int    // index into Options.Rungs
	Path     string // local file, complete
	Index    int    // ffmpeg's number
	Duration time.Duration
	Ready    time.Time // when ffmpeg listed it as finished
	// PTS is the presentation time of its first frame on the run's
	// timeline (read from the file; HasPTS false when it could not be).
	PTS    time.Duration
	HasPTS bool
}

// Process is one running ffmpeg: Write feeds it, Stop ends it (and, for
// low latency, waits for its packagers to hand on the last segment).
type Process struct {
	*encoder.Process
	tails *sync.WaitGroup
}

// Stop closes the input and waits for ffmpeg to finish and exit (see
// encoder.Process.Stop), then for the last parts and segments.
func (p *Process) Stop(ctx context.Context) error {
	err := p.Process.Stop(ctx)
	if p.tails != nil {
		p.tails.Wait()
	}
	return err
}

// Stats are a Process's counters.
type Stats = encoder.Stats

// Start runs ffmpeg and starts feeding and watching it. It runs until
// Stop or Kill; it never outlives this process.
func Start(opt Options) (*Process, error) {
	if opt.FFmpeg == "" {
		opt.FFmpeg = media.FFmpegPath()
	}
	if opt.LowLatency != nil {
		return startLowLatency(opt)
	}
	clocks := make([]unwrap, len(opt.Rungs)) // used by the watcher's goroutine alone
	proc, err := encoder.Start(context.Background(), encoder.Options{
		FFmpeg: opt.FFmpeg, Args: opt.Args, Budget: opt.Budget, Log: opt.Log,
		Stdin: true, StdinBuffer: opt.InputBuffer,
		Watch: &encoder.Watch{Dir: opt.Dir, Renditions: opt.Rungs, Listed: true, Poll: opt.Poll,
			OnSegment: func(s encoder.Segment) error {
				if opt.OnSegment == nil {
					return nil
				}
				seg := Segment{Rung: s.Rendition, Path: s.Path, Index: s.Index, Duration: s.Duration, Ready: s.Ready}
				if pts, ok := firstPTS(s.Path); ok && s.Rendition < len(clocks) {
					seg.PTS, seg.HasPTS = clocks[s.Rendition].next(pts), true
				}
				opt.OnSegment(seg)
				return nil
			}},
	})
	if err != nil {
		return nil, err
	}
	return &Process{Process: proc}, nil
}
