package whip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// webmMux carries a VP8 session to the feed as WebM (Matroska): MPEG-TS
// has no VP8 mapping, and a single stream keeps the one-pipe feed. The
// feed is described from the first VP8 keyframe's header (its picture
// size) and starts with it; audio before it is dropped, so ffmpeg's first
// frame decodes. Its methods are safe for the two track goroutines.
type webmMux struct {
	mu           sync.Mutex
	f            feed.Feed
	video, audio bool
	probeTimeout time.Duration
	started      bool
	closed       bool
	err          error
	epoch        time.Time // the session's first media
	vw, aw       webm.BlockWriteCloser
	onStart      func(feed.Info)
}

// The Matroska tracks: numbers, and Opus's header for the decoder
// (RFC 7845: version 1, two channels, no pre-skip, 48 kHz, gain 0,
// mapping family 0).
const (
	webmVideoTrack = 1
	webmAudioTrack = 2
)

var opusHead = []byte{'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2, 0, 0, 0x80, 0xbb, 0, 0, 0, 0, 0}

func newWebMMux(f feed.Feed, video, audio bool, probeTimeout time.Duration) (*webmMux, error) {
	if !video {
		return nil, errors.New("no VP8 video")
	}
	return &webmMux{f: f, video: video, audio: audio, probeTimeout: probeTimeout}, nil
}

// vp8Keyframe returns the picture size of a VP8 keyframe (RFC 6386 9.1:
// the frame tag's bit 0 clear, then the start code and two 14-bit sizes),
// ok false for any other frame.
func vp8Keyframe(frame []byte) (width, height int, ok bool) {
	if len(frame) < 10 || frame[0]&1 != 0 || frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return 0, 0, false
	}
	w := int(binary.LittleEndian.Uint16(frame[6:]) & 0x3fff)
	h := int(binary.LittleEndian.Uint16(frame[8:]) & 0x3fff)
	return w, h, w > 0 && h > 0
}

func ms(pts int64) int64 { return (pts - ptsBase) / 90 }

// writeVP8 muxes one whole frame; the first keyframe starts the feed.
func (m *webmMux) writeVP8(c *clock, ts uint32, frame []byte, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil || m.closed {
		return
	}
	if m.epoch.IsZero() {
		m.epoch = now
	}
	w, h, key := vp8Keyframe(frame)
	if !m.started {
		if !key {
			return
		}
		if err := m.start(w, h, now); err != nil {
			m.err = err
			return
		}
	}
	_, _ = m.vw.Write(key, ms(c.pts(m.epoch, ts, now)), frame)
}

// writeOpus muxes one Opus packet, once the video has started.
func (m *webmMux) writeOpus(c *clock, pkt *rtp.Packet, now time.Time) {
	if len(pkt.Payload) == 0 {
		return // DTX padding
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil || m.closed {
		return
	}
	if m.epoch.IsZero() {
		m.epoch = now
	}
	pts := c.pts(m.epoch, pkt.Timestamp, now) // the clock is anchored even before the start
	if m.started && m.aw != nil {
		_, _ = m.aw.Write(true, ms(pts), pkt.Payload)
	}
}

// start describes the feed, starts it and writes the WebM header into it.
// The caller holds mu.
func (m *webmMux) start(width, height int, now time.Time) error {
	info := feed.Info{Width: width, Height: height, VideoCodec: "vp8", Received: m.epoch, Format: feed.FormatMatroska}
	if m.audio {
		info.Audio, info.AudioCodec = true, "opus"
	}
	if err := m.f.Start(info); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	m.started = true
	tracks := []webm.TrackEntry{{Name: "video", TrackNumber: webmVideoTrack, TrackUID: webmVideoTrack, CodecID: "V_VP8", TrackType: 1,
		Video: &webm.Video{PixelWidth: uint64(width), PixelHeight: uint64(height)}}}
	if m.audio {
		tracks = append(tracks, webm.TrackEntry{Name: "audio", TrackNumber: webmAudioTrack, TrackUID: webmAudioTrack, CodecID: "A_OPUS",
			TrackType: 2, CodecPrivate: opusHead, Audio: &webm.Audio{SamplingFrequency: 48000, Channels: 2}})
	}
	// The feed's Write never fails (it drops what the transcoder cannot
	// take), so the writer has no fatal error to panic with; the handler
	// is set all the same, and a sorting error (a frame too late to keep
	// the order) only drops that frame.
	ws, err := webm.NewSimpleBlockWriter(feedWriter{m.f}, tracks,
		mkvcore.WithOnFatalHandler(func(error) {}), mkvcore.WithOnErrorHandler(func(error) {}))
	if err != nil {
		return fmt.Errorf("webm: %w", err)
	}
	m.vw = ws[0]
	if m.audio {
		m.aw = ws[1]
	}
	if m.onStart != nil {
		m.onStart(info)
	}
	return nil
}

// tick ends a session whose video has not shown a keyframe within the
// probe's time: what it sends is not VP8 the ladder can start from.
func (m *webmMux) tick(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started && m.err == nil && !m.epoch.IsZero() && now.Sub(m.epoch) >= m.probeTimeout {
		m.err = fmt.Errorf("%w: no VP8 keyframe in %s", feed.ErrUnsupported, m.probeTimeout)
	}
}

func (m *webmMux) failed() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// close finishes the WebM (its writer's goroutines end); called once the
// track readers are done, before the feed ends.
func (m *webmMux) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.closed = true
	if m.vw != nil {
		_ = m.vw.Close()
	}
	if m.aw != nil {
		_ = m.aw.Close()
	}
}

// feedWriter is the WebM writer's output: the feed, which never blocks.
type feedWriter struct{ f feed.Feed }

func (w feedWriter) Write(b []byte) (int, error) {
	_, _ = w.f.Write(b)
	return len(b), nil
}

func (feedWriter) Close() error { return nil }

// vp8Assembler turns a VP8 track's RTP into whole frames with pion's
// sample builder, which puts retransmitted (NACKed) packets back in order
// and drops frames it cannot complete. After such a loss it passes on
// nothing until the next keyframe, and asks for one.
type vp8Assembler struct {
	sb       *samplebuilder.SampleBuilder
	keyframe bool // a keyframe has been passed on since the last loss
}

// vp8MaxLate is how many packets the builder waits for a missing one: a
// frame spans at most this many packets (about 700 kB), which bounds it.
// vp8MaxWait is how long, in the track's clock, it waits for a
// retransmission (NACKs) before it gives up and a keyframe is asked for.
const (
	vp8MaxLate = 512
	vp8MaxWait = 500 * time.Millisecond
)

func newVP8Assembler() *vp8Assembler {
	return &vp8Assembler{sb: samplebuilder.New(vp8MaxLate, &codecs.VP8Packet{}, 90000, samplebuilder.WithMaxTimeDelay(vp8MaxWait))}
}

// add takes one RTP packet and returns the frames it completes;
// needKey is true when a keyframe should be requested.
func (a *vp8Assembler) add(pkt *rtp.Packet) (frames []*media.Sample, needKey bool) {
	a.sb.Push(pkt)
	for s := a.sb.Pop(); s != nil; s = a.sb.Pop() {
		if s.PrevDroppedPackets > 0 {
			a.keyframe = false // the builder gave up on a frame before s
		}
		if _, _, key := vp8Keyframe(s.Data); key {
			a.keyframe = true
		}
		if a.keyframe {
			frames = append(frames, s)
		}
	}
	return frames, !a.keyframe
}
