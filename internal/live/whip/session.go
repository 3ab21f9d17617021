package whip

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// Errors a session ends with.
var (
	errIdle        = errors.New("whip: no media")
	errNoConnect   = errors.New("whip: no media after the answer")
	errPeerFailed  = errors.New("whip: connection failed")
	errPeerStopped = errors.New("whip: the publisher closed the connection")
)

// session is one publisher: its peer connection, its feed, and the
// goroutines reading its tracks. run owns its life.
type session struct {
	s      *Server
	id     string
	name   string
	remote netip.Addr
	pc     *webrtc.PeerConnection
	f      feed.Feed
	mux    muxer
	audio  bool // Opus is muxed
	start  time.Time

	lastMedia atomic.Int64 // unix nanoseconds of the last RTP packet, 0 before the first

	done    chan struct{}
	once    sync.Once
	endErr  error // set before done is closed
	mu      sync.Mutex
	ending  bool           // no new track readers
	readers sync.WaitGroup // track readers
}

// muxer is a session's container: MPEG-TS for H.264 (tsMux), WebM for
// VP8 (webmMux), which MPEG-TS cannot carry.
type muxer interface {
	writeOpus(c *clock, pkt *rtp.Packet, now time.Time)
	tick(now time.Time) // the clock, when nothing arrives
	failed() error      // what the session must end with, if anything
	close()             // once the track readers are done, before the feed ends
}

// newSession makes the session of an answered offer; video is the agreed
// video codec ("" for none).
func (s *Server) newSession(name string, remote netip.Addr, pc *webrtc.PeerConnection, f feed.Feed, video string, audio bool) (*session, error) {
	onStart := func(info feed.Info) {
		s.Log.Info("whip: publishing", "stream", name, "remote", remote.String(), "video", info.VideoCodec,
			"width", info.Width, "height", info.Height, "audio", info.AudioCodec)
	}
	var mux muxer
	if video == codecVP8 {
		wm, err := newWebMMux(f, true, audio, s.ProbeTimeout)
		if err != nil {
			return nil, err
		}
		wm.onStart, mux = onStart, wm
	} else {
		tm, err := newTSMux(f, video == codecH264, audio, &feed.Prober{Max: s.MaxProbe, Timeout: s.ProbeTimeout})
		if err != nil {
			return nil, err
		}
		tm.onStart, mux = onStart, tm
	}
	ss := &session{s: s, id: newID(), name: name, remote: remote, pc: pc, f: f, mux: mux, audio: audio, start: time.Now(), done: make(chan struct{})}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if !ss.enter() {
			return
		}
		defer ss.readers.Done()
		ss.read(t)
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateFailed:
			ss.stop(errPeerFailed)
		case webrtc.PeerConnectionStateClosed:
			ss.stop(errPeerStopped)
		}
	})
	return ss, nil
}

// enter counts a new track reader, unless the session is ending.
func (ss *session) enter() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.ending {
		return false
	}
	ss.readers.Add(1)
	return true
}

// stop asks the session to end with err (nil: the publisher hung up).
func (ss *session) stop(err error) {
	ss.once.Do(func() {
		ss.endErr = err
		close(ss.done)
	})
}

// run watches the session until it ends, then closes the connection,
// waits for its readers and ends the feed.
func (ss *session) run() {
	t := time.NewTicker(tick)
	defer t.Stop()
	for ss.watch() {
		select {
		case <-ss.done:
		case <-t.C:
		}
	}
	ss.mu.Lock()
	ss.ending = true
	ss.mu.Unlock()
	_ = ss.pc.Close() // ends the readers' ReadRTP
	ss.readers.Wait()
	ss.mux.close()
	err := ss.endErr
	if errors.Is(err, errPeerStopped) {
		err = nil // the publisher closed its side: a clean end
	}
	if err != nil {
		ss.s.Log.Info("whip: publisher dropped", "stream", ss.name, "remote", ss.remote.String(), "err", err)
	} else {
		ss.s.Log.Info("whip: publisher gone", "stream", ss.name, "remote", ss.remote.String())
	}
	ss.f.End(err)
	ss.s.remove(ss)
}

// watch checks the session's clocks and reports whether it goes on.
func (ss *session) watch() bool {
	select {
	case <-ss.done:
		return false
	default:
	}
	now := time.Now()
	last := ss.lastMedia.Load()
	switch {
	case last == 0 && now.Sub(ss.start) > ss.s.ConnectTimeout:
		ss.stop(fmt.Errorf("%w for %s", errNoConnect, ss.s.ConnectTimeout))
	case last != 0 && now.Sub(time.Unix(0, last)) > ss.s.IdleTimeout:
		ss.stop(fmt.Errorf("%w for %s", errIdle, ss.s.IdleTimeout))
	default:
		ss.mux.tick(now)
		if err := ss.mux.failed(); err != nil {
			ss.stop(err)
		}
	}
	select {
	case <-ss.done:
		return false
	default:
		return true
	}
}

// read passes one track's RTP to the muxer until the connection closes.
func (ss *session) read(t *webrtc.TrackRemote) {
	mime := strings.ToLower(t.Codec().MimeType)
	c := &clock{rate: int64(t.Codec().ClockRate)}
	if c.rate <= 0 {
		return
	}
	var (
		h264    h264Assembler
		vp8     *vp8Assembler
		lastPLI time.Time
	)
	// A keyframe is asked for until one comes, and after a loss.
	askKey := func(now time.Time) {
		if now.Sub(lastPLI) >= keyframeEvery {
			lastPLI = now
			_ = ss.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
		}
	}
	ts, _ := ss.mux.(*tsMux)
	wm, _ := ss.mux.(*webmMux)
	if wm != nil && mime == strings.ToLower(webrtc.MimeTypeVP8) {
		vp8 = newVP8Assembler()
	}
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		ss.lastMedia.Store(now.UnixNano())
		switch {
		case mime == strings.ToLower(webrtc.MimeTypeOpus) && ss.audio:
			ss.mux.writeOpus(c, pkt, now)
		case mime == strings.ToLower(webrtc.MimeTypeH264) && ts != nil && ts.video != nil:
			au, needKey := h264.add(pkt)
			if needKey || !h264.keyframe {
				askKey(now)
			}
			if au != nil {
				ts.writeH264(c, pkt.Timestamp, au, now)
			}
		case vp8 != nil:
			frames, needKey := vp8.add(pkt)
			if needKey {
				askKey(now)
			}
			for _, f := range frames {
				wm.writeVP8(c, f.PacketTimestamp, f.Data, now)
			}
		}
	}
}
