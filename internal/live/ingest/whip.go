package ingest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/whip"
)

// newWHIP builds the WHIP endpoint when its ICE port is set; it serves
// (WHIPHandler) once Start has opened the ports.
func (s *Service) newWHIP() *whip.Server {
	if s.cfg.WHIPICEAddr == "" {
		return nil
	}
	return &whip.Server{
		Verify: s.deps.Keys.Verify, Hub: whipHub{s}, Log: s.deps.Log,
		UDPAddr: s.cfg.WHIPICEAddr, TCPAddr: s.cfg.WHIPICETCPAddr, PublicIPs: s.cfg.WHIPPublicIPs,
		MaxSessions: s.cfg.WHIPMaxSessions, MaxSessionsPerAddr: s.cfg.WHIPMaxSessionsPerAddr,
		IdleTimeout: s.cfg.IdleTimeout, FrontSecret: s.cfg.WHIPFrontSecret,
	}
}

// startWHIP opens the ICE ports and, with WHIPAddr, the endpoint's own
// HTTP listener.
func (s *Service) startWHIP() error {
	if s.whip == nil {
		return nil
	}
	if h := s.cfg.WHIPPublicHost; h != "" {
		s.whip.PublicIPs = append(s.whip.PublicIPs, s.lookupPublic(h)...)
	}
	if err := s.whip.Start(); err != nil {
		return err
	}
	if s.cfg.WHIPAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.WHIPAddr)
	if err != nil {
		return fmt.Errorf("whip http listen %s: %w", s.cfg.WHIPAddr, err)
	}
	s.whipHTTP = &http.Server{Handler: s.whip.Handler(), ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
	s.addrs.whip = ln.Addr().String()
	s.wg.Go(func() { _ = s.whipHTTP.Serve(ln) })
	return nil
}

// lookupPublic resolves the WHIP public host, retrying for a while (a new
// load balancer's name takes a moment to appear). Failing, WHIP announces
// the ports' own addresses and says so: RTMP and SRT must not wait on it.
func (s *Service) lookupPublic(host string) []string {
	deadline := time.Now().Add(publicLookupFor)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ips, err := net.DefaultResolver.LookupHost(ctx, host)
		cancel()
		if err == nil && len(ips) > 0 {
			s.deps.Log.Info("whip: announcing the public host's addresses", "host", host, "ips", ips)
			return ips
		}
		if time.Now().After(deadline) {
			s.deps.Log.Error("whip: public host not found; candidates carry the ports' own addresses", "host", host, "err", err)
			return nil
		}
		time.Sleep(2 * time.Second)
	}
}

// publicLookupFor bounds lookupPublic.
const publicLookupFor = 20 * time.Second

// closeWHIP stops taking offers and drops every WHIP publisher.
func (s *Service) closeWHIP() {
	if s.whipHTTP != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.whipHTTP.Shutdown(ctx)
		cancel()
	}
	if s.whip != nil {
		_ = s.whip.Close()
	}
}

// WHIPHandler serves the WHIP endpoint under /whip/ (nil when WHIP is
// off), for a server of the caller's: `hlsflow up` mounts it on its edge.
func (s *Service) WHIPHandler() http.Handler {
	if s.whip == nil {
		return nil
	}
	return s.whip.Handler()
}

// WHIPAddr is the WHIP endpoint's own HTTP listener, WHIPICEAddr its ICE
// UDP port; "" when off.
func (s *Service) WHIPAddr() string { return s.addrs.whip }
func (s *Service) WHIPICEAddr() string {
	if s.whip == nil || s.whip.ICEUDPAddr() == nil {
		return ""
	}
	return s.whip.ICEUDPAddr().String()
}
