package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/live/feed"
	"github.com/hlsflow/hlsflow/internal/live/rtmp"
	"github.com/hlsflow/hlsflow/internal/live/udp"
)

// Service is a running live ingest.
type Service struct {
	cfg Config

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	streams map[string]*stream
	closing bool
	// closeCtx bounds finalising once Close has been called.
	closeCtx context.Context
	finWG    sync.WaitGroup
	bgWG     sync.WaitGroup

	rtmp *rtmp.Server
	udp  *udp.Receiver
	http *http.Server
	hln  net.Listener
}

var _ feed.Hub = (*Service)(nil)

// New checks cfg and returns a Service that is not yet listening.
func New(cfg Config) (*Service, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if !catalog.ValidID(cfg.UDPStream) {
		return nil, fmt.Errorf("ingest: invalid udp stream name %q", cfg.UDPStream)
	}
	return &Service{cfg: cfg, streams: map[string]*stream{}}, nil
}

// Start opens the listeners. Streams live until Close; ctx only bounds
// start-up.
func (s *Service) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if s.cfg.RTMPAddr != "" {
		s.rtmp = &rtmp.Server{
			Addr: s.cfg.RTMPAddr, Verify: s.cfg.Keys.Verify, Hub: s, Log: s.cfg.Log,
			HandshakeTimeout: s.cfg.HandshakeTimeout, IdleTimeout: s.cfg.IdleTimeout,
			MaxConns: s.cfg.RTMPMaxConns, MaxConnsPerAddr: s.cfg.RTMPMaxConnsPerAddr,
		}
		if err := s.rtmp.Start(); err != nil {
			s.cancel()
			return err
		}
	}
	if s.cfg.UDPAddr != "" {
		// For the reconnect grace only the publisher's own address may
		// continue the stream.
		s.udp = &udp.Receiver{Addr: s.cfg.UDPAddr, Stream: s.cfg.UDPStream, Hub: s, Log: s.cfg.Log,
			IdleTimeout: s.cfg.UDPIdleTimeout, Allow: s.cfg.UDPAllow, Hold: s.cfg.Grace}
		if err := s.udp.Start(); err != nil {
			s.stopListeners()
			s.cancel()
			return err
		}
	}
	if s.cfg.HTTPAddr != "" {
		ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
		if err != nil {
			s.stopListeners()
			s.cancel()
			return fmt.Errorf("ingest http listen %s: %w", s.cfg.HTTPAddr, err)
		}
		s.hln = ln
		s.http = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
		s.bgWG.Go(func() { _ = s.http.Serve(ln) })
	}
	s.bgWG.Go(s.logStats)
	s.cfg.Log.Info("live ingest started", "rtmp", s.RTMPAddr(), "udp", s.UDPAddr(), "http", s.HTTPAddr(),
		"udp_stream", s.cfg.UDPStream)
	return nil
}

// RTMPAddr is the RTMP listener's address, "" when disabled.
func (s *Service) RTMPAddr() string {
	if s.rtmp == nil {
		return ""
	}
	return s.rtmp.ListenAddr().String()
}

// UDPAddr is the UDP listener's address, "" when disabled.
func (s *Service) UDPAddr() string {
	if s.udp == nil {
		return ""
	}
	return s.udp.ListenAddr().String()
}

// HTTPAddr is the health/stats listener's address, "" when disabled.
func (s *Service) HTTPAddr() string {
	if s.hln == nil {
		return ""
	}
	return s.hln.Addr().String()
}

func (s *Service) stopListeners() {
	if s.rtmp != nil {
		_ = s.rtmp.Close()
	}
	if s.udp != nil {
		_ = s.udp.Close()
	}
}

// Close stops accepting publishers, ends every stream now (no grace:
// the task is going away), finalises their recordings, and returns when
// all is done or ctx ends (ECS's stop timeout). Segments still queued when
// ctx ends are given up; the recordings are finalised with what was
// published.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return errors.New("ingest: already closed")
	}
	s.closing = true
	s.closeCtx = ctx
	s.mu.Unlock()
	if s.cancel == nil {
		return nil
	}
	// Dropping the connections ends their runs; with closing set, each
	// stream is finalised right away.
	s.stopListeners()
	s.mu.Lock()
	for _, st := range s.streams {
		if st.active == nil && st.grace != nil && st.grace.Stop() {
			s.finalize(st)
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.finWG.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("ingest close: %w", ctx.Err())
		s.cancel()
		<-done
	}
	s.cancel()
	if s.http != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.http.Shutdown(sctx)
		cancel()
	}
	s.bgWG.Wait()
	return err
}

// Handler serves GET /healthz (200 while accepting, 503 when shutting
// down) and GET /streams (per-stream state as JSON).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		closing := s.closing
		s.mu.Unlock()
		w.Header().Set("Cache-Control", "no-store")
		if closing {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /streams", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(s.Streams())
	})
	return mux
}

// Streams returns the state of every stream, by name.
func (s *Service) Streams() []StreamStats {
	s.mu.Lock()
	list := make([]*stream, 0, len(s.streams))
	for _, st := range s.streams {
		list = append(list, st)
	}
	s.mu.Unlock()
	out := make([]StreamStats, 0, len(list))
	for _, st := range list {
		out = append(out, st.stats())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (s *Service) logStats() {
	t := time.NewTicker(s.cfg.StatsLog)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			for _, st := range s.Streams() {
				s.cfg.Log.Info("live stream", "stream", st.Name, "state", st.State, "kbps_in", st.BitrateInKbps,
					"frames", st.Frames, "segments", st.Publish.SegmentsPublished,
					"upload_lag_ms", st.Publish.LastLagMs, "dropped", st.Publish.SegmentsDropped,
					"input_dropped_bytes", st.InputDroppedBytes)
			}
		}
	}
}
