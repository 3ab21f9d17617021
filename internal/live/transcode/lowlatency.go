package transcode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/live/cmaf"
)

// Low latency: ffmpeg writes each rung as a fragmented MP4 that grows
// by a fragment every part (encoder.LiveCMAF); a packager per rung reads
// it as it grows and hands on the initialization section, each fragment
// as an LL-HLS part, and each run of fragments from one keyframe to the
// next as a full segment file. Parts are aligned across rungs because
// every rung has the same frames and the same keyframes and ffmpeg cuts
// each at the same times.

// tailPoll is how often a packager looks for new fragments: well under
// a part, so a part is handed on soon after ffmpeg writes it.
const tailPoll = 20 * time.Millisecond

// Part is a partial segment of a rung.
type Part struct {
	Rung        int
	Data        []byte
	Duration    time.Duration
	Independent bool // starts with a keyframe: the first part of a segment
}

// LowLatency asks Start for the low-latency output (Args with
// ArgsOptions.LowLatency): OnInit gets each rung's initialization section
// once, OnPart each part, and Options.OnSegment each full segment
// (Dir/{rung}/seg_NNNNN.m4s, its PTS the first fragment's time), from one
// goroutine per rung, in order.
type LowLatency struct {
	OnInit func(rung int, data []byte)
	OnPart func(Part)
}

// packager turns one rung's growing stream.mp4 into parts and segments.
type packager struct {
	rung  int
	dir   string
	ll    LowLatency
	onSeg func(Segment)
	log   *slog.Logger

	split    cmaf.Splitter
	initDone bool
	seg      []byte // the fragments of the segment being made
	segStart time.Duration
	segDur   time.Duration
	index    int
}

// run reads the file until exited is closed and nothing more comes.
func (p *packager) run(exited <-chan struct{}) {
	path := filepath.Join(p.dir, encoder.CMAFStream)
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	buf := make([]byte, 256<<10)
	for {
		done := false
		select {
		case <-exited:
			done = true
		default:
		}
		if f == nil {
			var err error
			if f, err = os.Open(path); err != nil {
				f = nil
			}
		}
		read := 0
		for f != nil {
			n, err := f.Read(buf)
			read += n
			_, _ = p.split.Write(buf[:n])
			if err != nil || n == 0 {
				if err != nil && !errors.Is(err, io.EOF) {
					p.log.Warn("live: reading the encoder's output", "path", path, "err", err)
				}
				break
			}
		}
		if err := p.drain(); err != nil {
			p.log.Warn("live: low-latency packager stopped", "path", path, "err", err)
			return
		}
		if done && read == 0 {
			p.flush()
			return
		}
		if !done {
			time.Sleep(tailPoll)
		}
	}
}

// drain hands on every whole fragment read so far.
func (p *packager) drain() error {
	for {
		fr, ok, err := p.split.Next()
		if err != nil || !ok {
			return err
		}
		if !p.initDone {
			p.initDone = true
			if p.ll.OnInit != nil {
				p.ll.OnInit(p.rung, p.split.Init())
			}
		}
		// A keyframe starts a segment (they come only at segment starts).
		if fr.Independent && len(p.seg) > 0 {
			p.flush()
		}
		if len(p.seg) == 0 {
			p.segStart = fr.Time
		}
		p.seg = append(p.seg, fr.Data...)
		p.segDur += fr.Duration
		if p.ll.OnPart != nil {
			p.ll.OnPart(Part{Rung: p.rung, Data: fr.Data, Duration: fr.Duration, Independent: fr.Independent})
		}
	}
}

// flush writes the segment being made to its file and hands it on.
func (p *packager) flush() {
	if len(p.seg) == 0 {
		return
	}
	path := filepath.Join(p.dir, fmt.Sprintf("seg_%05d.m4s", p.index))
	if err := os.WriteFile(path, p.seg, 0o644); err != nil {
		p.log.Warn("live: writing a segment", "path", path, "err", err)
	} else if p.onSeg != nil {
		p.onSeg(Segment{Rung: p.rung, Path: path, Index: p.index, Duration: p.segDur, Ready: time.Now(),
			PTS: p.segStart, HasPTS: true})
	}
	p.index++
	p.seg, p.segDur = nil, 0
}

// startLowLatency runs ffmpeg with opt and one packager per rung; the
// packagers end once ffmpeg has exited and they have read all it wrote.
func startLowLatency(opt Options) (*Process, error) {
	for _, r := range opt.Rungs {
		if err := os.MkdirAll(filepath.Join(opt.Dir, r), 0o755); err != nil {
			return nil, err
		}
	}
	proc, err := encoder.Start(context.Background(), encoder.Options{
		FFmpeg: opt.FFmpeg, Args: opt.Args, Budget: opt.Budget, Log: opt.Log,
		Stdin: true, StdinBuffer: opt.InputBuffer,
	})
	if err != nil {
		return nil, err
	}
	log := opt.Log
	if log == nil {
		log = slog.Default()
	}
	exited := make(chan struct{})
	p := &Process{Process: proc, tails: &sync.WaitGroup{}}
	go func() {
		_ = proc.Wait(context.Background())
		close(exited)
	}()
	for i, r := range opt.Rungs {
		pk := &packager{rung: i, dir: filepath.Join(opt.Dir, r), ll: *opt.LowLatency, onSeg: opt.OnSegment, log: log}
		p.tails.Go(func() { pk.run(exited) })
	}
	return p, nil
}
