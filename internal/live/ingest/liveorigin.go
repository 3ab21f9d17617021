package ingest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// OriginFromECS as Config.OriginURL (LIVE_ORIGIN_URL=ecs) asks for this
// task's own address: on ECS every task of the service runs the same
// definition, so none can be told its address in advance.
const OriginFromECS = "ecs"

// ResolveOrigin replaces OriginFromECS in c.OriginURL with
// http://{ip}:{port}: ip from taskIP (the ECS task metadata), port that of
// LiveAddr, else of HTTPAddr. Any other OriginURL is left as it is.
func (c *Config) ResolveOrigin(ctx context.Context, taskIP func(context.Context) (netip.Addr, error)) error {
	if c.OriginURL != OriginFromECS {
		return nil
	}
	addr := c.LiveAddr
	if addr == "" {
		addr = c.HTTPAddr
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		return fmt.Errorf("ingest config: LIVE_ORIGIN_URL=%s needs LIVE_ADDR or HEALTH_ADDR with a fixed port, not %q", OriginFromECS, addr)
	}
	ip, err := taskIP(ctx)
	if err != nil {
		return fmt.Errorf("ingest config: LIVE_ORIGIN_URL=%s: %w", OriginFromECS, err)
	}
	c.OriginURL = "http://" + net.JoinHostPort(ip.String(), port)
	return nil
}

// startLiveHTTP serves the low-latency playlists and parts, and nothing
// else, on LiveAddr.
func (s *Service) startLiveHTTP() error {
	if s.cfg.LiveAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.LiveAddr)
	if err != nil {
		return fmt.Errorf("ingest live listen %s: %w", s.cfg.LiveAddr, err)
	}
	s.addrs.live = ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /live/{name}/{path...}", s.serveLive)
	mux.HandleFunc("HEAD /live/{name}/{$}", s.serveHeld) // whipholder.go
	s.liveHTTP = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 16 << 10}
	s.wg.Go(func() { _ = s.liveHTTP.Serve(ln) })
	return nil
}

// closeLiveHTTP stops LiveAddr's listener; held blocking reloads have
// been answered by then (the streams are finalised).
func (s *Service) closeLiveHTTP() {
	if s.liveHTTP == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.liveHTTP.Shutdown(ctx)
}

// LiveAddr is where LiveAddr's listener is, "" without one.
func (s *Service) LiveAddr() string { return s.addrs.live }
