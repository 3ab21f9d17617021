package rtmp

import (
	"bufio"
	"fmt"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// remuxer turns an RTMP publisher's H.264 and AAC/MP3 into MPEG-TS; a
// publisher may send audio only (a radio stream).
type remuxer struct {
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

func newRemuxer(r *gortmplib.Reader, out feed.Feed) (*remuxer, feed.Info, error) {
	m := &remuxer{bw: bufio.NewWriterSize(out, 64*1024)}
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

func (m *remuxer) fail(err error) {
	if err != nil && m.werr == nil {
		m.werr = err
	}
}

func (m *remuxer) err() error { return m.werr }

func (m *remuxer) flush() error {
	if err := m.bw.Flush(); err != nil {
		return err
	}
	return m.werr
}

// onH264 keeps the parameter sets up to date and repeats them in front of
// every IDR: RTMP sends them once out of band, while a TS decoder joining
// (ffmpeg after a probe, a player) needs them in band.
func (m *remuxer) onH264(pts, dts time.Duration, au [][]byte) {
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
func (m *remuxer) maybeFlush() {
	if now := time.Now(); now.Sub(m.flushed) >= flushEvery {
		m.flushed = now
		m.fail(m.bw.Flush())
	}
}

// audioFlush is maybeFlush for a feed without video, where audio is all
// that moves the feed along.
func (m *remuxer) audioFlush() {
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
