package web_test

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// flakyProxy is a TCP proxy in front of S3 that can throttle uploads and
// drop the network: Cut closes every connection and refuses new ones until
// Restore. The browser sees real connection resets, as on a bad network.
type flakyProxy struct {
	ln     net.Listener
	target string
	rate   int // bytes per second per connection, client to server
	down   atomic.Bool
	mu     sync.Mutex
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newFlakyProxy(t *testing.T, target string, rate int) *flakyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{ln: ln, target: target, rate: rate, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.closeAll()
		p.wg.Wait()
	})
	return p
}

func (p *flakyProxy) Addr() string { return p.ln.Addr().String() }

func (p *flakyProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			p.copy(up, c, p.rate)
			up.Close()
			c.Close()
		}()
		go func() {
			defer p.wg.Done()
			p.copy(c, up, 0)
			up.Close()
			c.Close()
		}()
	}
}

// copy copies src to dst, at most rate bytes per second when rate > 0.
func (p *flakyProxy) copy(dst, src net.Conn, rate int) {
	defer func() {
		p.mu.Lock()
		delete(p.conns, src)
		p.mu.Unlock()
	}()
	if rate <= 0 {
		_, _ = io.Copy(dst, src)
		return
	}
	buf := make([]byte, 16<<10)
	start, sent := time.Now(), 0
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			sent += n
			if ahead := time.Duration(float64(sent)/float64(rate)*float64(time.Second)) - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
		if err != nil {
			return
		}
	}
}

// Cut drops every connection and refuses new ones.
func (p *flakyProxy) Cut() {
	p.down.Store(true)
	p.closeAll()
}

// Restore lets connections through again.
func (p *flakyProxy) Restore() { p.down.Store(false) }

func (p *flakyProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}
