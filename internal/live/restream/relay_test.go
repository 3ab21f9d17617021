package restream

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPinTargets: what ffmpeg is given for each kind of destination.
// Nothing is dialled: rtmp's address goes in the URL, rtmps's relay only
// listens until something connects to it.
func TestPinTargets(t *testing.T) {
	resolve := map[string][]netip.Addr{
		"live.example.com": {netip.MustParseAddr("93.184.215.14")},
		"two.example.com":  {netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("::ffff:8.8.8.8")},
		"v6.example.com":   {netip.MustParseAddr("2606:2800:21f:cb07:6820:80da:af6b:8b2c")},
		"meta.example.com": {netip.MustParseAddr("169.254.169.254")},
	}
	f := &Forwarder{cfg: Config{StallTimeout: time.Second, Policy: Policy{
		Lookup: func(_ context.Context, h string) ([]netip.Addr, error) { return resolve[strings.ToLower(h)], nil }}}}
	for _, tt := range []struct {
		name, url string
		attempt   int
		target    string // "relay": rtmp to the loopback relay
		addr      string
	}{
		{"rtmp", "rtmp://live.example.com/app", 1, "rtmp://93.184.215.14:1935/app/k", "93.184.215.14:1935"},
		{"port, case, slash", "RTMP://Live.Example.com:1936/app/", 1, "rtmp://93.184.215.14:1936/app/k", "93.184.215.14:1936"},
		{"two-level app", "rtmp://live.example.com/a/b", 1, "rtmp://93.184.215.14:1935/a/b/k", "93.184.215.14:1935"},
		{"IPv6 in brackets", "rtmp://v6.example.com/app", 1, "rtmp://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:1935/app/k", "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:1935"},
		{"address literal", "rtmp://8.8.8.8/app", 1, "rtmp://8.8.8.8:1935/app/k", "8.8.8.8:1935"},
		{"second attempt, second address", "rtmp://two.example.com/app", 2, "rtmp://8.8.8.8:1935/app/k", "8.8.8.8:1935"},
		{"third attempt, first again", "rtmp://two.example.com/app", 3, "rtmp://93.184.215.14:1935/app/k", "93.184.215.14:1935"},
		{"rtmps", "rtmps://live.example.com/app", 1, "relay", "93.184.215.14:443"},
		{"rtmps port", "rtmps://live.example.com:8443/app", 1, "relay", "93.184.215.14:8443"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.pin(context.Background(), Destination{URL: tt.url, Key: "k"}, tt.attempt)
			if err != nil {
				t.Fatal(err)
			}
			defer p.close()
			want := tt.target
			if want == "relay" {
				if p.relay == nil {
					t.Fatal("rtmps without a relay")
				}
				want = "rtmp://" + p.relay.Addr() + "/app/k"
				if !strings.HasPrefix(p.relay.Addr(), "127.0.0.1:") {
					t.Errorf("relay on %s, want loopback", p.relay.Addr())
				}
			} else if p.relay != nil {
				t.Error("rtmp with a relay")
			}
			if p.target != want || p.addr != tt.addr {
				t.Errorf("target %q at %s, want %q at %s", p.target, p.addr, want, tt.addr)
			}
			if len(p.protocol) != 2 || p.protocol[0] != "-rtmp_tcurl" || p.protocol[1] != strings.TrimSuffix(tt.url, "/") {
				t.Errorf("protocol options %q: the tcUrl must be the destination's URL", p.protocol)
			}
		})
	}
	if p, err := f.pin(context.Background(), Destination{URL: "rtmps://meta.example.com/app", Key: "k"}, 1); err == nil || !errors.Is(err, ErrInvalid) {
		if p != nil {
			p.close()
		}
		t.Errorf("a refused address was pinned: %v", err)
	}
}

// TestCheckFailsBeforeFFmpeg: a destination whose host resolves to a
// refused address, or not at all, is shown failing with the reason and
// retried, and no ffmpeg is ever started for it.
func TestCheckFailsBeforeFFmpeg(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	bin := filepath.Join(dir, "ffmpeg")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\ntouch "+marker+"\nexec cat >/dev/null\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	pol := Policy{Lookup: func(_ context.Context, h string) ([]netip.Addr, error) {
		if h == "metadata.example.com" {
			return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
		}
		return nil, errors.New("no such host")
	}}
	f := Start(context.Background(), Config{FFmpeg: bin, Policy: pol, MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
		[]Destination{{URL: "rtmps://metadata.example.com/app", Key: "k-meta-000001"}, {URL: "rtmp://gone.example.com/app", Key: "k-gone-000001"}})
	defer f.Close()
	for i, reason := range []string{"169.254.169.254, a link-local address", "gone.example.com does not resolve"} {
		st := waitState(t, f, i, StateFailing, 5*time.Second)
		for deadline := time.Now().Add(5 * time.Second); st.Attempts < 3 && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
			st = f.Status()[i]
		}
		if st.Attempts < 3 || st.State != StateFailing && st.State != StateConnecting || !strings.Contains(st.LastError, reason) {
			t.Errorf("destination %d: %+v, want failing with %q", i, st, reason)
		}
	}
	f.Close()
	if _, err := os.Stat(marker); err == nil {
		t.Error("ffmpeg was started for a destination that failed its check")
	}
}

// echoServer answers what it reads, on loopback.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { _, _ = io.Copy(c, c); c.Close() })
		}
	})
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func roundTrip(c net.Conn, msg string) error {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	b := make([]byte, len(msg))
	if _, err := io.ReadFull(c, b); err != nil {
		return err
	}
	if string(b) != msg {
		return errors.New("echo differs")
	}
	return nil
}

// TestRelayBounds: a relay carries bytes both ways, takes at most
// maxRelayConns connections, and Close cuts the ones it carries.
func TestRelayBounds(t *testing.T) {
	fr := startTLSFront(t, "127.0.0.2:0", echoServer(t))
	r, err := startRelay("localhost", fr.addr, fr.caFile, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var conns []net.Conn
	for i := range maxRelayConns {
		c, err := net.Dial("tcp", r.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := roundTrip(c, "hello through the relay"); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	extra, err := net.Dial("tcp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if err := roundTrip(extra, "one too many"); err == nil {
		t.Error("the relay carried more than its bound of connections")
	}
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("connection %d still open after Close: %v", i, err)
		}
	}
	if names := fr.names(); len(names) == 0 || names[0] != "localhost" {
		t.Errorf("server names sent: %q", names)
	}
}

// TestRelayFailures: an upstream that refuses, one that accepts and
// never shakes hands, and one with a certificate for another name: the
// client's connection ends within the relay's timeout, and Err says why.
func TestRelayFailures(t *testing.T) {
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()

	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	fr := startTLSFront(t, "127.0.0.2:0", echoServer(t))

	for _, tt := range []struct{ name, host, dial, want string }{
		{"refused", "localhost", refusedAddr, "refused"},
		{"silent", "localhost", mute.Addr().String(), "deadline"},
		{"wrong name", "other.example.com", fr.addr, "certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := startRelay(tt.host, tt.dial, fr.caFile, 500*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			c, err := net.Dial("tcp", r.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			t0 := time.Now()
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the connection was not ended: %v", err)
			}
			if d := time.Since(t0); d > 3*time.Second {
				t.Errorf("ended after %s", d)
			}
			if err := r.Err(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Err() = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := startRelay("localhost", fr.addr, filepath.Join(t.TempDir(), "none.pem"), time.Second); err == nil {
		t.Error("a missing CA bundle was accepted")
	}
}
