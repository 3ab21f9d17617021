package srt

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

var errIdle = errors.New("no MPEG-TS from the publisher")

// serve runs one accepted publisher: it claims the stream its key names,
// then feeds it until the publisher goes, stalls, or the server closes.
func (s *Server) serve(c sock, remote netip.AddrPort) {
	// The callback checked the key; the accepted socket carries it again,
	// so nothing passes between the two.
	key, err := streamKey(streamID(c))
	name, ok := "", false
	if err == nil {
		name, ok = s.Verify(key)
	}
	if !ok {
		s.Log.Warn("srt: publisher without a valid key", "remote", remote.String())
		return
	}
	f, err := s.Hub.Claim(name, remote.String())
	if err != nil {
		s.Log.Info("srt: publish refused", "stream", name, "remote", remote.String(), "err", err)
		return
	}
	err = s.publish(c, name, remote, f)
	switch {
	case errors.Is(err, errConnLost):
		err = nil // the publisher hung up: a clean end
	case err != nil:
		s.Log.Info("srt: publisher dropped", "stream", name, "remote", remote.String(), "err", err)
	}
	f.End(err)
}

// publish probes the feed, starts it, and passes its TS packets on.
func (s *Server) publish(c sock, name string, remote netip.AddrPort, f feed.Feed) error {
	var (
		buf     = make([]byte, maxPayload)
		out     = make([]byte, 0, maxPayload)
		ts      packetizer
		probe   = &feed.Prober{Max: s.MaxProbe, Timeout: s.ProbeTimeout}
		lastPkt = time.Now()
		junkIn  int64
	)
	for {
		n, err := recv(c, buf)
		select {
		case <-s.stop:
			return errClosed
		default:
		}
		if err != nil && !errors.Is(err, errTimeout) {
			if probe != nil && errors.Is(err, errConnLost) {
				return fmt.Errorf("gone before its feed was described: %w", err)
			}
			return err
		}
		now := time.Now()
		pkts, junk := ts.add(buf[:n], out)
		if junk > 0 {
			s.JunkBytes.Add(int64(junk))
			junkIn += int64(junk)
		}
		if len(pkts) > 0 {
			lastPkt = now
		}
		if probe != nil {
			info, err := probe.Add(pkts, now)
			if errors.Is(err, feed.ErrNeedMore) {
				continue
			}
			if err != nil {
				return fmt.Errorf("%w (and %d bytes that are not MPEG-TS)", err, junkIn)
			}
			if err := f.Start(info); err != nil {
				return fmt.Errorf("start %s: %w", name, err)
			}
			s.Log.Info("srt: publishing", "stream", name, "remote", remote.String(),
				"width", info.Width, "height", info.Height, "fps", info.FPS, "audio", info.AudioCodec)
			_, _ = f.Write(probe.Bytes())
			probe = nil
			continue
		}
		if len(pkts) > 0 {
			_, _ = f.Write(pkts)
		} else if now.Sub(lastPkt) > s.IdleTimeout {
			return fmt.Errorf("%w for %s", errIdle, s.IdleTimeout)
		}
	}
}
