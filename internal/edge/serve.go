package edge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// shutdownGrace is how long in-flight responses may finish once the
// context of Serve is done.
const shutdownGrace = 5 * time.Second

// ListenAndServe listens on addr (DefaultAddr when empty) and calls Serve.
func (e *Edge) ListenAndServe(ctx context.Context, addr string) error {
	addr = cmp.Or(addr, DefaultAddr)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("edge: listen %s: %w", addr, err)
	}
	return e.Serve(ctx, ln)
}

// Serve answers HTTP on ln until ctx is done, then lets in-flight requests
// finish for a few seconds and returns nil. It closes ln.
func (e *Edge) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("edge: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("edge: serve %s: %w", ln.Addr(), err)
	}
	return nil
}
