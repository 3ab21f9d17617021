package restream

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Bounds of a connectRelay: ffmpeg opens one connection per attempt.
const (
	maxRelayConns   = 2
	maxRelayRequest = 4 << 10
)

// connectRelay is an HTTP CONNECT proxy on loopback for one attempt's
// ffmpeg (pin.go): it takes a CONNECT for want (the destination's
// host:port) and nothing else, dials the checked address dial, never
// the name, and pipes bytes both ways. Close stops it and its
// connections.
type connectRelay struct {
	ln         net.Listener
	want, dial string
	timeout    time.Duration // to read the request, and to dial
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	err   error
}

func startRelay(want, dial string, timeout time.Duration) (*connectRelay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("rtmps relay: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &connectRelay{ln: ln, want: want, dial: dial, timeout: timeout, ctx: ctx, cancel: cancel,
		conns: map[net.Conn]struct{}{}}
	r.wg.Go(r.serve)
	return r, nil
}

// URL is the relay's address as ffmpeg's -http_proxy takes it.
func (r *connectRelay) URL() string { return "http://" + r.ln.Addr().String() }

// Err is the last failure to reach the destination, if any.
func (r *connectRelay) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Close stops accepting, cuts the connections and waits for them.
func (r *connectRelay) Close() {
	r.cancel()
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *connectRelay) serve() {
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
			r.handle(c)
		})
	}
}

// track registers c, unless the relay is closed or full.
func (r *connectRelay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil || len(r.conns) >= maxRelayConns {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *connectRelay) untrack(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	c.Close()
}

func reply(c net.Conn, status int) {
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status, http.StatusText(status))
}

func (r *connectRelay) handle(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(r.timeout))
	br := bufio.NewReader(io.LimitReader(c, maxRelayRequest))
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect || !strings.EqualFold(req.RequestURI, r.want) {
		reply(c, http.StatusForbidden)
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	up, err := (&net.Dialer{}).DialContext(ctx, "tcp", r.dial)
	cancel()
	if err != nil {
		r.mu.Lock()
		r.err = err
		r.mu.Unlock()
		reply(c, http.StatusBadGateway)
		return
	}
	defer up.Close()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{}) // ffmpeg's -rw_timeout and the stall watch bound it now
	early, _ := br.Peek(br.Buffered())
	if _, err := up.Write(early); err != nil {
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = io.Copy(up, c)
		up.Close()
	})
	_, _ = io.Copy(c, up)
	c.Close()
	wg.Wait()
}
