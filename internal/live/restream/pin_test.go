package restream

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// rebinding answers "localhost" with good first and with bad after: a
// name that passes the check, then resolves elsewhere. Tests use two
// loopback addresses for them, good allowed and bad not, so no packet
// leaves the machine; ffmpeg's own resolver says 127.0.0.1 (and ::1) for
// localhost, so an ffmpeg that resolved the name again would reach bad.
func rebinding(good, bad netip.Addr) Policy {
	var calls atomic.Int32
	return Policy{
		Allow: []netip.Prefix{netip.PrefixFrom(good, 32)},
		Lookup: func(_ context.Context, host string) ([]netip.Addr, error) {
			if host != "localhost" {
				return nil, errors.New("no such host")
			}
			if calls.Add(1) == 1 {
				return []netip.Addr{good}, nil
			}
			return []netip.Addr{bad}, nil
		},
	}
}

// trap listens on 127.0.0.1 (and ::1, if it can) at a free port and
// counts the connections it accepts.
type trap struct {
	port     string
	accepted atomic.Int32
}

func startTrap(t *testing.T) *trap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &trap{}
	_, tr.port, _ = net.SplitHostPort(ln.Addr().String())
	lns := []net.Listener{ln}
	if ln6, err := net.Listen("tcp", "[::1]:"+tr.port); err == nil {
		lns = append(lns, ln6)
	}
	var wg sync.WaitGroup
	for _, l := range lns {
		wg.Go(func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				tr.accepted.Add(1)
				c.Close()
			}
		})
	}
	t.Cleanup(func() {
		for _, l := range lns {
			l.Close()
		}
		wg.Wait()
	})
	return tr
}

// TestRebindingRTMP: the destination's name passes the check as
// 127.0.0.2 (allowed, where nginx-rtmp listens) and resolves to
// 127.0.0.1 afterwards; ffmpeg publishes to 127.0.0.2 and never connects
// to 127.0.0.1.
func TestRebindingRTMP(t *testing.T) {
	needFFmpeg(t)
	tr := startTrap(t)
	ng := testenv.StartNginx(t, "127.0.0.2:"+tr.port)
	pol := rebinding(netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1"))
	f := Start(context.Background(), Config{Policy: pol, StallTimeout: 6 * time.Second,
		MinBackoff: 200 * time.Millisecond, Stream: "s"},
		[]Destination{{URL: "rtmp://localhost:" + tr.port + "/live", Key: "rebind-key-0001"}})
	defer f.Close()
	startSource(t, f, 20)
	waitState(t, f, 0, StateLive, 20*time.Second)
	codecs, _, err := ng.Pull("rebind-key-0001", 2)
	if err != nil || !slices.Contains(codecs, "h264") {
		t.Fatalf("nginx at the checked address did not get the feed: %v %v", codecs, err)
	}
	if n := tr.accepted.Load(); n != 0 {
		t.Fatalf("ffmpeg connected %d times to 127.0.0.1, where the name resolved after the check", n)
	}
}

// tlsFront terminates TLS for "localhost" on addr with a certificate of
// its own CA (written to a file for HLSFLOW_CA_FILE) and pipes to the
// RTMP server at backend: an RTMPS server. It records the server names
// clients sent.
type tlsFront struct {
	addr   string
	caFile string
	mu     sync.Mutex
	sni    []string
	done   atomic.Int32 // handshakes completed
}

func startTLSFront(t *testing.T, addr, backend string) *tlsFront {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	fr := &tlsFront{caFile: filepath.Join(t.TempDir(), "ca.pem")}
	if err := os.WriteFile(fr.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", addr, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			fr.mu.Lock()
			fr.sni = append(fr.sni, h.ServerName)
			fr.mu.Unlock()
			return nil, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	fr.addr = ln.Addr().String()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				if c.(*tls.Conn).Handshake() != nil {
					return
				}
				fr.done.Add(1)
				up, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, c); up.Close() }()
				_, _ = io.Copy(c, up)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return fr
}

func (fr *tlsFront) names() []string {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	return slices.Clone(fr.sni)
}

// TestRebindingRTMPS: as TestRebindingRTMP over TLS. ffmpeg reaches the
// checked address through the relay, sends the destination's name as
// SNI and verifies the certificate against it; 127.0.0.1 sees nothing.
func TestRebindingRTMPS(t *testing.T) {
	needFFmpeg(t)
	tr := startTrap(t)
	ng := testenv.StartNginx(t, "")
	fr := startTLSFront(t, "127.0.0.2:"+tr.port, nginxAddr(ng))
	t.Setenv(media.CAFileEnv, fr.caFile)
	pol := rebinding(netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1"))
	f := Start(context.Background(), Config{Policy: pol, StallTimeout: 6 * time.Second,
		MinBackoff: 200 * time.Millisecond, Stream: "s"},
		[]Destination{{URL: "rtmps://localhost:" + tr.port + "/live", Key: "rebind-tls-0001"}})
	defer f.Close()
	startSource(t, f, 20)
	waitState(t, f, 0, StateLive, 20*time.Second)
	codecs, _, err := ng.Pull("rebind-tls-0001", 2)
	if err != nil || !slices.Contains(codecs, "h264") {
		t.Fatalf("nginx behind the checked address did not get the feed: %v %v", codecs, err)
	}
	if n := tr.accepted.Load(); n != 0 {
		t.Fatalf("ffmpeg connected %d times to 127.0.0.1, where the name resolved after the check", n)
	}
	if names := fr.names(); len(names) == 0 || names[0] != "localhost" {
		t.Errorf("server names sent: %q, want the destination's host", names)
	}
}

func nginxAddr(ng *testenv.NginxRTMP) string {
	return strings.TrimSuffix(strings.TrimPrefix(ng.URL(), "rtmp://"), "/live")
}

// TestRTMPSVerifies: a server whose certificate the CA bundle does not
// vouch for gets no stream (and no key): the destination is shown
// failing, is retried, and nothing reaches nginx behind it.
func TestRTMPSVerifies(t *testing.T) {
	needFFmpeg(t)
	ng := testenv.StartNginx(t, "")
	fr := startTLSFront(t, "127.0.0.2:0", nginxAddr(ng))
	other := startTLSFront(t, "127.0.0.3:0", "127.0.0.3:1") // another CA
	t.Setenv(media.CAFileEnv, other.caFile)
	_, port, _ := net.SplitHostPort(fr.addr)
	pol := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
		Lookup: func(context.Context, string) ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("127.0.0.2")}, nil
		}}
	f := Start(context.Background(), Config{Policy: pol, StallTimeout: 3 * time.Second,
		MinBackoff: 200 * time.Millisecond, MaxBackoff: time.Second, Stream: "s"},
		[]Destination{{URL: "rtmps://localhost:" + port + "/live", Key: "unverified-0001"}})
	defer f.Close()
	startSource(t, f, 15)
	st := waitState(t, f, 0, StateFailing, 15*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for st.Attempts < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		st = f.Status()[0]
	}
	if st.Attempts < 2 || !strings.Contains(st.LastError, "certificate") || st.BytesSent != 0 ||
		strings.Contains(st.LastError, "unverified-0001") {
		t.Errorf("destination with a certificate nobody vouches for: %+v", st)
	}
	if len(fr.names()) == 0 {
		t.Fatal("ffmpeg never reached the server: the test shows nothing")
	}
	if _, _, err := ng.Pull("unverified-0001", 1); err == nil {
		t.Error("the stream reached the server behind an unverified certificate")
	}
}
