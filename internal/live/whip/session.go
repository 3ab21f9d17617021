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
	mux    *tsMux
	start  time.Time

	lastMedia atomic.Int64 // unix nanoseconds of the last RTP packet, 0 before the first

	done    chan struct{}
	once    sync.Once
	endErr  error // set before done is closed
	mu      sync.Mutex
	ending  bool           // no new track readers
	readers sync.WaitGroup // track readers
}

func (s *Server) newSession(name string, remote netip.Addr, pc *webrtc.PeerConnection, f feed.Feed, video, audio bool) (*session, error) {
	probe := &feed.Prober{Max: s.MaxProbe, Timeout: s.ProbeTimeout}
	mux, err := newTSMux(f, video, audio, probe)
	if err != nil {
		return nil, err
	}
	ss := &session{s: s, id: newID(), name: name, remote: remote, pc: pc, f: f, mux: mux, start: time.Now(), done: make(chan struct{})}
	mux.onStart = func(info feed.Info) {
		s.Log.Info("whip: publishing", "stream", name, "remote", remote.String(),
			"width", info.Width, "height", info.Height, "audio", info.AudioCodec)
	}
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
		lastPLI time.Time
	)
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		ss.lastMedia.Store(now.UnixNano())
		switch {
		case mime == strings.ToLower(webrtc.MimeTypeOpus) && ss.mux.audio != nil:
			ss.mux.writeOpus(c, pkt, now)
		case mime == strings.ToLower(webrtc.MimeTypeH264) && ss.mux.video != nil:
			au, needKey := h264.add(pkt)
			if (needKey || !h264.keyframe) && now.Sub(lastPLI) >= keyframeEvery {
				lastPLI = now
				_ = ss.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
			}
			if au != nil {
				ss.mux.writeH264(c, pkt.Timestamp, au, now)
			}
		}
	}
}
