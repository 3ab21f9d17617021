// Package flvts converts what an RTMP publisher sends (FLV-style H.264 and
// AAC/MP3 tracks, as gortmplib reads them) into MPEG-TS for the live
// ingest's feed. It knows the wire format only: the listener, stream keys
// and limits are internal/live/rtmp's (mediamtx splits servers from
// protocols the same way).
package flvts

import (
	"bufio"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// Remuxer turns an RTMP publisher's H.264 and AAC/MP3 into MPEG-TS; a
// publisher may send audio only (a radio stream).
type Remuxer struct {
	bw       *bufio.Writer
	w        *mpegts.Writer
	video    *mpegts.Track
	audio    *mpegts.Track
	sps, pps []byte
	started  bool // first IDR seen; nothing is written before it
	flushed  time.Time
	werr     error
}

const flushEvery = 100 * time.Millisecond

// ticks converts a duration to the 90 kHz MPEG-TS clock.
func ticks(d time.Duration) int64 { return d.Microseconds() * 9 / 100 }

// New reads r's tracks, says what the feed holds, and arranges for every
// frame r reads from now on to be written to out as MPEG-TS, starting at
// the first keyframe. It fails with feed.ErrUnsupported when r has neither
// H.264 nor AAC/MP3.
func New(r *gortmplib.Reader, out io.Writer) (*Remuxer, feed.Info, error) {
	m := &Remuxer{bw: bufio.NewWriterSize(out, 64*1024)}
	var info feed.Info
	var vTrack, aTrack *gortmplib.Track
	for _, t := range r.Tracks() {
		switch c := t.Codec.(type) {
		case *codecs.H264:
			if vTrack != nil {
				continue
			}
			vi, err := feed.InfoFromSPS(c.SPS)
			if err != nil {
				return nil, info, err
			}
			info.Width, info.Height, info.FPS, info.VideoCodec = vi.Width, vi.Height, vi.FPS, vi.VideoCodec
			m.sps, m.pps = c.SPS, c.PPS
			vTrack = t
			m.video = &mpegts.Track{Codec: &tscodecs.H264{}}
		case *codecs.MPEG4Audio:
			if aTrack != nil || c.Config == nil {
				continue
			}
			aTrack = t
			m.audio = &mpegts.Track{Codec: &tscodecs.MPEG4Audio{Config: *c.Config}}
			info.Audio, info.AudioCodec = true, "aac"
		case *codecs.MPEG1Audio:
			if aTrack != nil {
				continue
			}
			aTrack = t
			m.audio = &mpegts.Track{Codec: &tscodecs.MPEG1Audio{}}
			info.Audio, info.AudioCodec = true, "mp3"
		}
	}
	if vTrack == nil && aTrack == nil {
		return nil, info, fmt.Errorf("%w: rtmp feed has neither h264 video nor aac/mp3 audio", feed.ErrUnsupported)
	}
	var tracks []*mpegts.Track
	if m.video != nil {
		tracks = append(tracks, m.video)
	} else {
		m.started = true // no keyframe to wait for
	}
	if m.audio != nil {
		tracks = append(tracks, m.audio)
	}
	m.w = &mpegts.Writer{W: m.bw, Tracks: tracks}
	if err := m.w.Initialize(); err != nil {
		return nil, info, fmt.Errorf("mpegts writer: %w", err)
	}
	if vTrack != nil {
		r.OnDataH264(vTrack, m.onH264)
	}
	if aTrack != nil {
		switch aTrack.Codec.(type) {
		case *codecs.MPEG4Audio:
			r.OnDataMPEG4Audio(aTrack, func(pts time.Duration, au []byte) {
				if m.started {
					m.fail(m.w.WriteMPEG4Audio(m.audio, ticks(pts), [][]byte{au}))
					m.audioFlush()
				}
			})
		case *codecs.MPEG1Audio:
			r.OnDataMPEG1Audio(aTrack, func(pts time.Duration, frame []byte) {
				if m.started {
					m.fail(m.w.WriteMPEG1Audio(m.audio, ticks(pts), [][]byte{frame}))
					m.audioFlush()
				}
			})
		}
	}
	return m, info, nil
}

func (m *Remuxer) fail(err error) {
	if err != nil && m.werr == nil {
		m.werr = err
	}
}

// Err is the first write error, if any: the feed cannot take more.
func (m *Remuxer) Err() error { return m.werr }

// Flush writes what is buffered, at the end of the stream.
func (m *Remuxer) Flush() error {
	if err := m.bw.Flush(); err != nil {
		return err
	}
	return m.werr
}

// onH264 keeps the parameter sets up to date and repeats them in front of
// every IDR: RTMP sends them once out of band, while a TS decoder joining
// (ffmpeg after a probe, a player) needs them in band.
func (m *Remuxer) onH264(pts, dts time.Duration, au [][]byte) {
	hasSPS, idr := false, false
	var rest [][]byte
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			m.sps, hasSPS = n, true
		case h264.NALUTypePPS:
			m.pps = n
		case h264.NALUTypeIDR:
			idr = true
		}
		rest = append(rest, n)
	}
	if !idr && !m.started {
		return
	}
	if idr && !hasSPS && m.sps != nil && m.pps != nil {
		rest = append([][]byte{m.sps, m.pps}, rest...)
	}
	if !idr && len(rest) > 0 && allParams(rest) {
		return // a config-only message; stored above
	}
	if len(rest) == 0 {
		return
	}
	m.started = true
	m.fail(m.w.WriteH264(m.video, ticks(pts), ticks(dts), rest))
	m.maybeFlush()
}

// maybeFlush flushes at most every flushEvery: a few tens of milliseconds
// do not matter against 2 s segments, and each flush costs a wake-up of the
// transcoder feed.
func (m *Remuxer) maybeFlush() {
	if now := time.Now(); now.Sub(m.flushed) >= flushEvery {
		m.flushed = now
		m.fail(m.bw.Flush())
	}
}

// audioFlush is maybeFlush for a feed without video, where audio is all
// that moves the feed along.
func (m *Remuxer) audioFlush() {
	if m.video == nil {
		m.maybeFlush()
	}
}

func allParams(au [][]byte) bool {
	for _, n := range au {
		t := h264.NALUType(n[0] & 0x1f)
		if t != h264.NALUTypeSPS && t != h264.NALUTypePPS {
			return false
		}
	}
	return true
}
