package whip

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/substructs"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// ptsBase keeps every timestamp positive: the TS writer puts the PCR a
// little before the first PTS.
const ptsBase = 90000

// maxAU bounds one H.264 access unit being assembled: a sender that never
// sets the marker bit cannot grow it without limit.
const maxAU = 4 << 20

// tsMux turns a session's RTP (H.264 and Opus) into MPEG-TS, probes it
// like the UDP and SRT listeners do (feed.Prober), starts the feed once
// it is described and then writes into it. Its methods are safe for the
// two track goroutines.
type tsMux struct {
	mu      sync.Mutex
	w       *mpegts.Writer
	out     bytes.Buffer
	video   *mpegts.Track
	audio   *mpegts.Track
	probe   *feed.Prober
	f       feed.Feed
	started bool
	err     error     // the first failure; the session ends with it
	epoch   time.Time // the session's first media, for both tracks' clocks
	onStart func(feed.Info)
}

func newTSMux(f feed.Feed, video, audio bool, probe *feed.Prober) (*tsMux, error) {
	m := &tsMux{f: f, probe: probe}
	var tracks []*mpegts.Track
	if video {
		m.video = &mpegts.Track{Codec: &tscodecs.H264{}}
		tracks = append(tracks, m.video)
	}
	if audio {
		// Browsers send Opus as opus/48000/2.
		m.audio = &mpegts.Track{Codec: &tscodecs.Opus{Desc: &substructs.OpusAudioDescriptor{ChannelConfigCode: 2}}}
		tracks = append(tracks, m.audio)
	}
	if len(tracks) == 0 {
		return nil, errors.New("neither H.264 video nor Opus audio")
	}
	m.w = &mpegts.Writer{W: &m.out, Tracks: tracks}
	if err := m.w.Initialize(); err != nil {
		return nil, err
	}
	return m, nil
}

// clock maps one track's RTP timestamps to the TS's 90 kHz clock: the
// tracks' RTP clocks start at random values, so each is anchored at the
// wall time its first packet arrived (good to the network's jitter).
type clock struct {
	rate   int64
	first  uint32
	last   int64 // unwrapped ticks since first
	prev   uint32
	offset int64 // 90 kHz ticks from the epoch to the first packet
	set    bool
}

func (c *clock) pts(epoch time.Time, ts uint32, now time.Time) int64 {
	if !c.set {
		c.set, c.first, c.prev = true, ts, ts
		c.offset = int64(now.Sub(epoch) * 90000 / time.Second)
	}
	c.last += int64(int32(ts - c.prev)) // wraps and small reorders
	c.prev = ts
	return ptsBase + c.offset + c.last*90000/c.rate
}

// emit passes what the writer produced to the prober or the feed. The
// caller holds mu.
func (m *tsMux) emit(now time.Time) {
	b := m.out.Bytes()
	defer m.out.Reset()
	if m.started {
		if len(b) > 0 {
			_, _ = m.f.Write(b)
		}
		return
	}
	info, err := m.probe.Add(b, now)
	switch {
	case errors.Is(err, feed.ErrNeedMore):
		return
	case err != nil:
		m.err = err
		return
	}
	if err := m.f.Start(info); err != nil {
		m.err = fmt.Errorf("start: %w", err)
		return
	}
	m.started = true
	if m.onStart != nil {
		m.onStart(info)
	}
	_, _ = m.f.Write(m.probe.Bytes())
}

// failed is the error the session must end with, if any.
func (m *tsMux) failed() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

func (m *tsMux) close() {}

// tick lets the prober look at the clock when nothing arrives.
func (m *tsMux) tick(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started && m.err == nil && !m.epoch.IsZero() {
		m.emit(now)
	}
}

func (m *tsMux) begin(now time.Time) {
	if m.epoch.IsZero() {
		m.epoch = now
	}
}

// writeOpus muxes one Opus packet (one RTP payload).
func (m *tsMux) writeOpus(c *clock, pkt *rtp.Packet, now time.Time) {
	if len(pkt.Payload) == 0 {
		return // DTX padding
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return
	}
	m.begin(now)
	if err := m.w.WriteOpus(m.audio, c.pts(m.epoch, pkt.Timestamp, now), [][]byte{pkt.Payload}); err != nil {
		m.err = fmt.Errorf("mux opus: %w", err)
		return
	}
	m.emit(now)
}

// writeH264 muxes one access unit.
func (m *tsMux) writeH264(c *clock, ts uint32, au [][]byte, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return
	}
	m.begin(now)
	// WebRTC's H.264 profiles have no B-frames: decode order is display
	// order.
	pts := c.pts(m.epoch, ts, now)
	if err := m.w.WriteH264(m.video, pts, pts, au); err != nil {
		m.err = fmt.Errorf("mux h264: %w", err)
		return
	}
	m.emit(now)
}

// h264Assembler gathers the NAL units of RTP packets into access units
// (the marker bit ends one). After a lost packet it drops everything up to
// the next keyframe, and asks for one: a decoder fed a broken reference
// shows garbage until then anyway.
type h264Assembler struct {
	dep      codecs.H264Packet
	nalus    [][]byte
	size     int
	nextSeq  uint16
	started  bool // the first packet was seen
	keyframe bool // a keyframe has been passed on since the last loss
}

// add takes one RTP packet and returns a whole access unit when one ends
// with it; needKey is true when a keyframe should be requested.
func (a *h264Assembler) add(pkt *rtp.Packet) (au [][]byte, needKey bool) {
	if a.started && pkt.SequenceNumber != a.nextSeq {
		a.reset()
		a.dep = codecs.H264Packet{}
		needKey = true
	}
	a.started, a.nextSeq = true, pkt.SequenceNumber+1
	annexB, err := a.dep.Unmarshal(pkt.Payload)
	if err != nil {
		a.reset()
		a.dep = codecs.H264Packet{}
		return nil, true
	}
	if len(annexB) > 0 {
		var nalus h264.AnnexB
		if err := nalus.Unmarshal(annexB); err != nil {
			a.reset()
			return nil, true
		}
		for _, n := range nalus {
			a.size += len(n)
			a.nalus = append(a.nalus, n)
		}
		if a.size > maxAU {
			a.reset()
			return nil, true
		}
	}
	if !pkt.Marker || len(a.nalus) == 0 {
		return nil, needKey
	}
	au = a.nalus
	a.nalus, a.size = nil, 0
	if !a.keyframe {
		if !h264.IsRandomAccess(au) {
			return nil, needKey
		}
		a.keyframe = true
	}
	return au, needKey
}

func (a *h264Assembler) reset() {
	a.nalus, a.size, a.keyframe = nil, 0, false
}
