// Package udp is the live ingest's MPEG-TS-over-UDP listener. Like a
// broadcast receiver it resynchronises on 188-byte packet boundaries, drops
// junk, duplicates and foreign senders, and carries on through loss: a gap
// reaches the transcoder as a continuity error, not as the end of the
// stream. A stream ends when its sender has been silent for IdleTimeout.
package udp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// Defaults for Receiver.
const (
	DefaultIdleTimeout = 5 * time.Second
	DefaultMaxProbe    = 4 << 20
	packetSize         = 188
	syncByte           = 0x47
)

// Receiver publishes the MPEG-TS arriving on one UDP port as one stream.
type Receiver struct {
	Addr   string
	Stream string
	Hub    feed.Hub
	Log    *slog.Logger

	IdleTimeout time.Duration
	// MaxProbe bounds the bytes kept while looking for the video's
	// parameters; a sender that never shows them is refused.
	MaxProbe int

	conn *net.UDPConn
	wg   sync.WaitGroup
	stop chan struct{}

	// Counters, for tests and stats.
	JunkBytes  atomic.Int64
	Duplicates atomic.Int64
	Foreign    atomic.Int64
}

// Start listens and serves until Close.
func (r *Receiver) Start() error {
	if r.Hub == nil || r.Stream == "" {
		return errors.New("udp receiver: hub and stream name are required")
	}
	if r.Log == nil {
		r.Log = slog.Default()
	}
	if r.IdleTimeout <= 0 {
		r.IdleTimeout = DefaultIdleTimeout
	}
	if r.MaxProbe <= 0 {
		r.MaxProbe = DefaultMaxProbe
	}
	addr, err := net.ResolveUDPAddr("udp", r.Addr)
	if err != nil {
		return fmt.Errorf("udp resolve %s: %w", r.Addr, err)
	}
	c, err := net.ListenUDP("udp", addr)
	if err != nil {
		return fmt.Errorf("udp listen %s: %w", r.Addr, err)
	}
	// A larger socket buffer rides out scheduling hiccups without loss.
	_ = c.SetReadBuffer(4 << 20)
	r.conn = c
	r.stop = make(chan struct{})
	r.wg.Go(r.loop)
	return nil
}

// ListenAddr is the bound address.
func (r *Receiver) ListenAddr() net.Addr { return r.conn.LocalAddr() }

// Close stops the receiver; a running stream ends with an error.
func (r *Receiver) Close() error {
	if r.conn == nil {
		return nil
	}
	close(r.stop)
	err := r.conn.Close()
	r.wg.Wait()
	return err
}

// session is the state of the one sender being received.
type session struct {
	src     string
	f       feed.Feed
	probe   []byte
	nextTry int
	started bool
	refused bool // drop everything from src until it goes idle
	last    time.Time
	lastCC  map[uint16]byte
}

func (r *Receiver) loop() {
	buf := make([]byte, 64*1024)
	var s *session
	end := func(err error) {
		if s != nil && s.f != nil {
			s.f.End(err)
		}
		s = nil
	}
	defer func() { end(errors.New("udp receiver closed")) }()
	var junkLogged time.Time
	for {
		_ = r.conn.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		n, from, err := r.conn.ReadFromUDP(buf)
		now := time.Now()
		if s != nil && now.Sub(s.last) > r.IdleTimeout {
			if !s.refused {
				r.Log.Info("udp: sender idle, stream ends", "stream", r.Stream, "remote", s.src)
			}
			end(nil)
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			select {
			case <-r.stop:
				return
			default:
			}
			r.Log.Warn("udp: read", "err", err)
			continue
		}
		pkts, junk := r.clean(buf[:n], s)
		if junk > 0 {
			r.JunkBytes.Add(int64(junk))
			if now.Sub(junkLogged) > 10*time.Second {
				junkLogged = now
				r.Log.Warn("udp: dropping bytes that are not MPEG-TS", "remote", from.String(), "bytes", junk)
			}
		}
		if len(pkts) == 0 {
			continue
		}
		src := from.String()
		if s == nil {
			s = &session{src: src, lastCC: map[uint16]byte{}}
			f, err := r.Hub.Claim(r.Stream, src)
			if err != nil {
				r.Log.Warn("udp: publish refused", "stream", r.Stream, "remote", src, "err", err)
				s.refused = true
			} else {
				s.f = f
				s.nextTry = 32 * 1024
			}
		}
		if src != s.src {
			r.Foreign.Add(1)
			continue
		}
		s.last = now
		if s.refused {
			continue
		}
		pkts = dedupe(pkts, s.lastCC, &r.Duplicates)
		if s.started {
			_, _ = s.f.Write(pkts)
			continue
		}
		s.probe = append(s.probe, pkts...)
		if len(s.probe) < s.nextTry && len(s.probe) < r.MaxProbe {
			continue
		}
		s.nextTry *= 2
		info, err := feed.ProbeTS(s.probe)
		switch {
		case err == nil:
			if err := s.f.Start(info); err != nil {
				r.Log.Warn("udp: start failed", "stream", r.Stream, "err", err)
				s.f.End(err)
				s.f, s.refused = nil, true
				continue
			}
			r.Log.Info("udp: publishing", "stream", r.Stream, "remote", src,
				"width", info.Width, "height", info.Height, "fps", info.FPS, "audio", info.AudioCodec)
			s.started = true
			_, _ = s.f.Write(s.probe)
			s.probe = nil
		case errors.Is(err, feed.ErrNeedMore) && len(s.probe) < r.MaxProbe:
		default:
			if errors.Is(err, feed.ErrNeedMore) {
				err = fmt.Errorf("%w: no h264 parameters in the first %d bytes", feed.ErrUnsupported, len(s.probe))
			}
			r.Log.Warn("udp: feed refused", "stream", r.Stream, "remote", src, "err", err)
			s.f.End(err)
			s.f, s.refused, s.probe = nil, true, nil
		}
	}
}

// clean returns the whole TS packets in a datagram, skipping bytes until
// two sync bytes 188 apart (or one at the end) show a packet boundary.
func (r *Receiver) clean(d []byte, _ *session) (out []byte, junk int) {
	i := 0
	for i+packetSize <= len(d) {
		if d[i] == syncByte && (i+packetSize == len(d) || (i+packetSize < len(d) && d[i+packetSize] == syncByte)) {
			out = append(out, d[i:i+packetSize]...)
			i += packetSize
			continue
		}
		i++
		junk++
	}
	junk += len(d) - i
	return out, junk
}

// dedupe drops packets that repeat the previous packet's continuity counter
// on the same PID (a retransmitted or duplicated datagram), as TS
// demultiplexers do. Loss and reordering are passed on: the transcoder's
// demuxer resynchronises at the next PES start.
func dedupe(pkts []byte, last map[uint16]byte, dups *atomic.Int64) []byte {
	out := pkts[:0]
	for i := 0; i+packetSize <= len(pkts); i += packetSize {
		p := pkts[i : i+packetSize]
		pid := uint16(p[1]&0x1f)<<8 | uint16(p[2])
		hasPayload := p[3]&0x10 != 0
		cc := p[3] & 0x0f
		if pid != 0x1fff && hasPayload {
			if prev, ok := last[pid]; ok && prev == cc {
				dups.Add(1)
				continue
			}
			last[pid] = cc
		}
		out = append(out, p...)
	}
	return out
}
