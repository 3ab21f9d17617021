// Package udp is the live ingest's MPEG-TS-over-UDP listener. Like a
// broadcast receiver it resynchronises on 188-byte packet boundaries, drops
// junk, duplicates and foreign senders, and carries on through loss: a gap
// reaches the transcoder as a continuity error, not as the end of the
// stream.
//
// UDP carries no key, so who publishes is decided by source address:
//
//   - Allow, when set, lists the source prefixes that may publish at all;
//     every other datagram is dropped unread.
//   - The stream is claimed by the first source (address and port) whose
//     datagrams describe a feed the ladder can be made from: a PAT and PMT
//     with H.264 video (and its SPS) or audio. Null packets and junk claim
//     nothing; up to four sources are probed at a time, each with at most
//     MaxProbe bytes for at most ProbeTimeout; a source refused (not a
//     feed, or refused by the hub) is ignored until it has been silent for
//     IdleTimeout.
//   - While claimed, only that source's datagrams are used; any other
//     source's are dropped and counted (Foreign), and can neither take the
//     stream over nor end it.
//   - The claim ends when its source has been silent for IdleTimeout. For
//     Hold after that only the same address (an encoder restarting on a new
//     port) may claim the stream again; then any allowed source may.
package udp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// Defaults for Receiver.
const (
	DefaultIdleTimeout  = 5 * time.Second
	DefaultMaxProbe     = 4 << 20
	DefaultProbeTimeout = 10 * time.Second
	// maxCandidates bounds the sources probed at once, so probing costs at
	// most maxCandidates*MaxProbe bytes however many sources send.
	maxCandidates = 4
	// maxSources bounds the sources remembered, refused ones included (a
	// refused source keeps nothing but its entry).
	maxSources = 256
	packetSize = 188
	syncByte   = 0x47
	nullPID    = 0x1fff
	logEvery   = 10 * time.Second
)

// Receiver publishes the MPEG-TS arriving on one UDP port as one stream.
type Receiver struct {
	Addr   string
	Stream string
	Hub    feed.Hub
	Log    *slog.Logger

	// Allow, when not empty, is the only source prefixes that may publish.
	Allow []netip.Prefix
	// IdleTimeout: a claiming source silent this long has stopped.
	IdleTimeout time.Duration
	// Hold is how long, after a claim ends, only the same address may
	// claim again; the ingest sets its reconnect grace.
	Hold time.Duration
	// MaxProbe bounds the bytes kept per source while looking for the
	// feed's description; a source that never shows one is refused.
	MaxProbe int
	// ProbeTimeout bounds the time a source may take to describe its feed
	// (an encoder sends its tables every few hundred ms and its SPS at each
	// keyframe).
	ProbeTimeout time.Duration

	conn *net.UDPConn
	wg   sync.WaitGroup
	stop chan struct{}

	// Counters, for tests and stats.
	JunkBytes  atomic.Int64
	Duplicates atomic.Int64
	Foreign    atomic.Int64 // datagrams of a source other than the claiming one
	Denied     atomic.Int64 // datagrams of a source outside Allow
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
	if r.ProbeTimeout <= 0 {
		r.ProbeTimeout = DefaultProbeTimeout
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

// owner is the source that claimed the stream.
type owner struct {
	src    netip.AddrPort
	f      feed.Feed
	last   time.Time
	lastCC map[uint16]byte
}

// candidate is a source probed for a feed description.
type candidate struct {
	probe   feed.Prober
	last    time.Time
	lastCC  map[uint16]byte
	refused bool // drop everything from it until it goes idle
}

func (r *Receiver) allowed(a netip.Addr) bool {
	if len(r.Allow) == 0 {
		return true
	}
	for _, p := range r.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (r *Receiver) loop() {
	buf := make([]byte, 64*1024)
	var (
		own                            *owner
		cands                          = map[netip.AddrPort]*candidate{}
		heldFor                        netip.Addr // the last owner's address, during Hold
		heldTill                       time.Time
		junkLog, deniedLog, foreignLog feed.LogRate
	)
	junkLog.Every, deniedLog.Every, foreignLog.Every = logEvery, logEvery, logEvery
	defer func() {
		if own != nil {
			own.f.End(errors.New("udp receiver closed"))
		}
	}()
	for {
		_ = r.conn.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		now := time.Now()
		if own != nil && now.Sub(own.last) > r.IdleTimeout {
			r.Log.Info("udp: sender idle, stream ends", "stream", r.Stream, "remote", own.src.String())
			own.f.End(nil)
			heldFor, heldTill = own.src.Addr(), now.Add(r.Hold)
			own = nil
		}
		for src, c := range cands {
			if now.Sub(c.last) > r.IdleTimeout {
				delete(cands, src)
			}
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
		src := netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if !r.allowed(src.Addr()) {
			r.Denied.Add(1)
			if n, ok := deniedLog.Allow(now); ok {
				r.Log.Warn("udp: dropping datagrams from a source outside the allow-list", "remote", src.String(),
					"datagrams", n)
			}
			continue
		}
		pkts, junk := r.clean(buf[:n])
		if junk > 0 {
			r.JunkBytes.Add(int64(junk))
			if _, ok := junkLog.Allow(now); ok {
				r.Log.Warn("udp: dropping bytes that are not MPEG-TS", "remote", src.String(), "bytes", junk)
			}
		}
		pkts = dropNull(pkts)
		if len(pkts) == 0 {
			continue
		}
		if own != nil {
			if src != own.src {
				r.Foreign.Add(1)
				if n, ok := foreignLog.Allow(now); ok {
					r.Log.Warn("udp: dropping datagrams from another source", "stream", r.Stream,
						"remote", src.String(), "publisher", own.src.String(), "datagrams", n)
				}
				continue
			}
			own.last = now
			_, _ = own.f.Write(dedupe(pkts, own.lastCC, &r.Duplicates))
			continue
		}
		if now.Before(heldTill) && src.Addr() != heldFor {
			r.Foreign.Add(1)
			continue
		}
		c := cands[src]
		if c == nil {
			if probing(cands) >= maxCandidates || len(cands) >= maxSources {
				r.Foreign.Add(1)
				continue
			}
			c = &candidate{probe: feed.Prober{Max: r.MaxProbe, Timeout: r.ProbeTimeout}, lastCC: map[uint16]byte{}}
			cands[src] = c
		}
		c.last = now
		if c.refused {
			continue
		}
		info, err := c.probe.Add(dedupe(pkts, c.lastCC, &r.Duplicates), now)
		if errors.Is(err, feed.ErrNeedMore) {
			continue
		}
		if err != nil {
			r.Log.Warn("udp: feed refused", "stream", r.Stream, "remote", src.String(), "err", err)
			c.refused = true
			continue
		}
		if own = r.claim(src, info, c.probe.Bytes()); own == nil {
			c.refused, c.probe = true, feed.Prober{}
			continue
		}
		own.lastCC, own.last = c.lastCC, now
		clear(cands)
		heldTill = time.Time{}
	}
}

// probing counts the candidates still being probed.
func probing(cands map[netip.AddrPort]*candidate) int {
	n := 0
	for _, c := range cands {
		if !c.refused {
			n++
		}
	}
	return n
}

// claim makes src the stream's publisher, starting with the probed bytes.
func (r *Receiver) claim(src netip.AddrPort, info feed.Info, probe []byte) *owner {
	f, err := r.Hub.Claim(r.Stream, src.String())
	if err != nil {
		r.Log.Warn("udp: publish refused", "stream", r.Stream, "remote", src.String(), "err", err)
		return nil
	}
	if err := f.Start(info); err != nil {
		r.Log.Warn("udp: start failed", "stream", r.Stream, "remote", src.String(), "err", err)
		f.End(err)
		return nil
	}
	r.Log.Info("udp: publishing", "stream", r.Stream, "remote", src.String(),
		"width", info.Width, "height", info.Height, "fps", info.FPS, "audio", info.AudioCodec)
	_, _ = f.Write(probe)
	return &owner{src: src, f: f}
}

// dropNull removes null packets (PID 0x1fff): stuffing that carries
// nothing, so it can neither claim a stream nor keep one.
func dropNull(pkts []byte) []byte {
	out := pkts[:0]
	for i := 0; i+packetSize <= len(pkts); i += packetSize {
		p := pkts[i : i+packetSize]
		if uint16(p[1]&0x1f)<<8|uint16(p[2]) != nullPID {
			out = append(out, p...)
		}
	}
	return out
}

// clean returns the whole TS packets in a datagram, skipping bytes until
// two sync bytes 188 apart (or one at the end) show a packet boundary.
func (r *Receiver) clean(d []byte) (out []byte, junk int) {
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
		if pid != nullPID && hasPayload {
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
