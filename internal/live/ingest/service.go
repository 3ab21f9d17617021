package ingest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/live/feed"
	"github.com/hlsflow/hlsflow/internal/live/llhls"
	"github.com/hlsflow/hlsflow/internal/live/rtmp"
	"github.com/hlsflow/hlsflow/internal/live/srt"
	"github.com/hlsflow/hlsflow/internal/live/udp"
	"github.com/hlsflow/hlsflow/internal/live/whip"
)

// Service is a running live ingest. One goroutine, the owner (owner.go),
// holds the life of every stream; everything else asks it.
type Service struct {
	cfg  Config
	deps Deps

	// ctx is the parent of the publishers and of the transcoders' drains;
	// it is cancelled when Close runs out of time.
	ctx    context.Context
	cancel context.CancelFunc

	reqs   chan any      // to the owner
	closed chan struct{} // closed by the owner when Close begins
	done   chan struct{} // closed when the owner has returned: closing, with every stream finalised
	wg     sync.WaitGroup

	events     chan event    // to the events goroutine (events.go)
	quitEvents chan struct{} // closed when the owner is done
	// origins are the low-latency streams' origins by name (*llhls.Origin),
	// set up by a stream's first run, dropped when it is finalised.
	origins sync.Map
	holders holders // other tasks' streams (holder.go)

	// Owned by the owner goroutine.
	streams  map[string]*stream
	closing  bool
	closeCtx context.Context // bounds finalising once closing

	rtmp     *rtmp.Server
	srt      *srt.Server
	udp      *udp.Receiver
	whip     *whip.Server // nil when WHIP is off
	whipHTTP *http.Server // WHIPAddr's
	http     *http.Server
	liveHTTP *http.Server // LiveAddr's
	addrs    struct{ rtmp, srt, udp, http, whip, live string }
}

var _ feed.Hub = (*Service)(nil)

// New checks cfg and deps, applies the defaults (once, here), and returns
// a Service that is not yet listening.
func New(cfg Config, deps Deps) (*Service, error) {
	switch {
	case deps.Store == nil || cfg.Bucket == "":
		return nil, errors.New("ingest: store and bucket are required")
	case (cfg.RTMPAddr != "" || cfg.SRTAddr != "" || cfg.WHIPICEAddr != "") && deps.Keys == nil:
		return nil, errors.New("ingest: stream keys are required for rtmp, srt and whip")
	}
	cfg.UDPStream = cmp.Or(cfg.UDPStream, DefaultUDPStream)
	if !catalog.ValidID(cfg.UDPStream) {
		return nil, fmt.Errorf("ingest: invalid udp stream name %q", cfg.UDPStream)
	}
	cfg.WorkDir = cmp.Or(cfg.WorkDir, os.TempDir())
	orDefault(&cfg.Grace, DefaultGrace)
	orDefault(&cfg.MaxDuration, DefaultMaxDuration)
	orDefault(&cfg.SegmentSeconds, 2)
	orDefault(&cfg.PartSeconds, llhls.DefaultPartTarget.Seconds())
	orDefault(&cfg.DrainTimeout, 10*time.Second)
	orDefault(&cfg.StatsLog, DefaultStatsLog)
	deps.Log = cmp.Or(deps.Log, slog.Default())
	s := &Service{cfg: cfg, deps: deps, reqs: make(chan any), closed: make(chan struct{}), done: make(chan struct{}),
		events: make(chan event, maxEvents), quitEvents: make(chan struct{}),
		streams: map[string]*stream{}}
	s.whip = s.newWHIP()
	return s, nil
}

// orDefault sets *v to def unless it is positive.
func orDefault[T time.Duration | float64](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Start starts the owner and opens the listeners. Streams live until
// Close; ctx only bounds start-up.
func (s *Service) Start(ctx context.Context) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.wg.Go(s.own)
	if s.deps.Events != nil {
		s.wg.Go(s.tell)
	}
	defer func() {
		if err != nil {
			_ = s.Close(context.WithoutCancel(ctx))
		}
	}()
	if s.cfg.RTMPAddr != "" {
		s.rtmp = &rtmp.Server{
			Addr: s.cfg.RTMPAddr, Verify: s.deps.Keys.Verify, Hub: s, Log: s.deps.Log,
			HandshakeTimeout: s.cfg.HandshakeTimeout, IdleTimeout: s.cfg.IdleTimeout,
			MaxConns: s.cfg.RTMPMaxConns, MaxConnsPerAddr: s.cfg.RTMPMaxConnsPerAddr,
		}
		if err := s.rtmp.Start(); err != nil {
			return err
		}
		s.addrs.rtmp = s.rtmp.ListenAddr().String()
	}
	if s.cfg.SRTAddr != "" {
		s.srt = &srt.Server{
			Addr: s.cfg.SRTAddr, Verify: s.deps.Keys.Verify, Hub: s, Log: s.deps.Log,
			Passphrase: s.cfg.SRTPassphrase, Latency: s.cfg.SRTLatency,
		}
		if err := s.srt.Start(); err != nil {
			return err
		}
		s.addrs.srt = s.srt.ListenAddr().String()
	}
	if s.cfg.UDPAddr != "" {
		// For the reconnect grace only the publisher's own address may
		// continue the stream.
		s.udp = &udp.Receiver{Addr: s.cfg.UDPAddr, Stream: s.cfg.UDPStream, Hub: s, Log: s.deps.Log,
			IdleTimeout: s.cfg.UDPIdleTimeout, Allow: s.cfg.UDPAllow, Hold: s.cfg.Grace}
		if err := s.udp.Start(); err != nil {
			return err
		}
		s.addrs.udp = s.udp.ListenAddr().String()
	}
	if err := s.startWHIP(); err != nil {
		return err
	}
	if s.cfg.HTTPAddr != "" {
		ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("ingest http listen %s: %w", s.cfg.HTTPAddr, err)
		}
		s.addrs.http = ln.Addr().String()
		s.http = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
		s.wg.Go(func() { _ = s.http.Serve(ln) })
	}
	if err := s.startLiveHTTP(); err != nil {
		return err
	}
	s.deps.Log.Info("live ingest started", "rtmp", s.RTMPAddr(), "srt", s.SRTAddr(), "udp", s.UDPAddr(),
		"http", s.HTTPAddr(), "whip_ice", s.WHIPICEAddr(), "udp_stream", s.cfg.UDPStream, "srt_encrypted", s.cfg.SRTPassphrase != "")
	return nil
}

// RTMPAddr, SRTAddr, UDPAddr and HTTPAddr are where the listeners are, ""
// for those disabled.
func (s *Service) RTMPAddr() string { return s.addrs.rtmp }
func (s *Service) SRTAddr() string  { return s.addrs.srt }
func (s *Service) UDPAddr() string  { return s.addrs.udp }
func (s *Service) HTTPAddr() string { return s.addrs.http }

// Close stops accepting publishers, ends every stream now (no grace:
// the task is going away), finalises their recordings, and returns when
// all is done, or soon after ctx ends (ECS's stop timeout): then
// transcoders and uploads give up, and the recordings are finalised with
// what was published.
func (s *Service) Close(ctx context.Context) error {
	if s.cancel == nil {
		return nil // never started
	}
	res := make(chan error, 1)
	if !s.send(closeReq{ctx, res}) {
		return errAlreadyClosed
	}
	if err := <-res; err != nil {
		return err
	}
	// Out of time, drains, set-ups and uploads give up; the recordings are
	// finalised with what they have.
	inTime := context.AfterFunc(ctx, s.cancel)
	// Dropping the connections ends their runs; closing, the owner
	// finalises each stream once its transcoder has drained.
	if s.rtmp != nil {
		_ = s.rtmp.Close()
	}
	if s.srt != nil {
		_ = s.srt.Close()
	}
	if s.udp != nil {
		_ = s.udp.Close()
	}
	s.closeWHIP()
	<-s.done
	close(s.quitEvents) // every stream is finalised: no more events
	var err error
	if !inTime() {
		err = fmt.Errorf("ingest close: %w", ctx.Err())
	}
	s.cancel()
	s.closeLiveHTTP()
	if s.http != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.http.Shutdown(sctx)
		cancel()
	}
	s.wg.Wait()
	return err
}

var errAlreadyClosed = errors.New("ingest: already closed")

// Handler serves GET /healthz (200 while accepting, 503 when shutting
// down) and GET /streams (per-stream state as JSON).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		select {
		case <-s.closed:
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("ok\n"))
		}
	})
	mux.HandleFunc("GET /live/{name}/{path...}", s.serveLive)
	mux.HandleFunc("HEAD /live/{name}/{$}", s.serveHeld) // whipholder.go
	mux.HandleFunc("GET /streams", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(s.Streams())
	})
	return mux
}

// serveLive serves a low-latency stream's playlists and parts (see
// llhls.Origin.ServeHTTP) at /live/{name}/; 404 for a stream this task
// does not hold.
func (s *Service) serveLive(w http.ResponseWriter, r *http.Request) {
	o, ok := s.origins.Load(r.PathValue("name"))
	if !ok && s.forward(w, r, r.PathValue("name")) {
		return
	}
	if !ok {
		w.Header().Set("Cache-Control", "no-store")
		http.NotFound(w, r)
		return
	}
	http.StripPrefix("/live/"+r.PathValue("name"), o.(*llhls.Origin)).ServeHTTP(w, r)
}

// Streams returns the state of every stream, by name.
func (s *Service) Streams() []StreamStats {
	res := make(chan []StreamStats, 1)
	if !s.send(statsReq{res}) {
		return []StreamStats{}
	}
	return <-res
}
