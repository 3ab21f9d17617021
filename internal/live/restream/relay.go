package restream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// maxRelayConns bounds a tlsRelay's connections: ffmpeg opens one per
// attempt.
const maxRelayConns = 2

// tlsRelay carries one attempt's rtmps (pin.go): ffmpeg publishes plain
// RTMP to it on loopback, and it dials the checked address, never the
// name, and speaks TLS to it with the destination's host as server name
// (SNI) and as the name the certificate must be valid for. Close stops
// it and its connections.
type tlsRelay struct {
	ln      net.Listener
	dial    string // the checked address:port
	tls     *tls.Config
	timeout time.Duration // to connect and shake hands
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	err   error
}

// startRelay starts a relay to address dial for host; caFile ("": the
// system's) holds the authorities its certificate may come from.
func startRelay(host, dial, caFile string, timeout time.Duration) (*tlsRelay, error) {
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("rtmps: CA bundle: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("rtmps: no certificate in the CA bundle %s", caFile)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("rtmps relay: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &tlsRelay{ln: ln, dial: dial, tls: cfg, timeout: timeout, ctx: ctx, cancel: cancel,
		conns: map[net.Conn]struct{}{}}
	r.wg.Go(r.serve)
	return r, nil
}

// Addr is where ffmpeg connects.
func (r *tlsRelay) Addr() string { return r.ln.Addr().String() }

// Err is the last failure to reach the destination, if any.
func (r *tlsRelay) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Close stops accepting, cuts the connections and waits for them.
func (r *tlsRelay) Close() {
	r.cancel()
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *tlsRelay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		if !r.track(c) {
			c.Close()
			continue
		}
		r.wg.Go(func() {
			defer r.untrack(c)
			if err := r.relay(c); err != nil {
				r.mu.Lock()
				r.err = err
				r.mu.Unlock()
			}
		})
	}
}

// track registers c, unless the relay is closed or full.
func (r *tlsRelay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil || len(r.conns) >= maxRelayConns {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *tlsRelay) untrack(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	c.Close()
}

// relay connects c to the destination until either side ends.
func (r *tlsRelay) relay(c net.Conn) error {
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", r.dial)
	if err != nil {
		return err
	}
	up := tls.Client(raw, r.tls)
	defer up.Close()
	if err := up.HandshakeContext(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = io.Copy(up, c)
		up.Close()
	})
	_, _ = io.Copy(c, up)
	c.Close()
	wg.Wait()
	return nil
}
