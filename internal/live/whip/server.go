// Package whip is the live ingest's WHIP endpoint (WebRTC-HTTP Ingestion
// Protocol, RFC 9725): a browser or any WHIP client POSTs an SDP offer
// with the stream key as its bearer token and gets an answer; its H.264
// video and Opus audio arrive over WebRTC (pion) and are muxed into
// MPEG-TS for the stream's feed, so they become the same ladder and
// recording as RTMP (the live transcode turns Opus into AAC). An offer
// without H.264 gets VP8, which MPEG-TS cannot carry: that feed is WebM
// (Matroska), which the transcoder opens as such (feed.Info.Format).
//
// The key is checked, and the limits applied, before any WebRTC work:
// a wrong key costs an HMAC. All sessions share one UDP port (ICE UDP mux)
// and one TCP port (ICE-TCP), so the endpoint works through a load
// balancer that forwards those two ports; the address to announce in the
// candidates (NAT 1:1) is configurable: on AWS each ingest task's own
// public IP, so that a session's media reaches the task holding it
// whichever task the balancer gave the offer to (or the balancer's, with
// one task).
//
// A session that does not connect, or sends no media for IdleTimeout, or
// whose media is not described within ProbeTimeout, ends: its peer
// connection is closed and its feed ended.
package whip

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// Defaults of Server.
const (
	DefaultMaxOffer           = 64 << 10 // a browser's offer is a few kB
	DefaultMaxSessions        = 64
	DefaultMaxSessionsPerAddr = 8
	DefaultIdleTimeout        = 10 * time.Second
	DefaultProbeTimeout       = 10 * time.Second
	DefaultMaxProbe           = 4 << 20
	// DefaultConnectTimeout bounds the time from the answer to media
	// flowing (ICE and DTLS).
	DefaultConnectTimeout = 15 * time.Second
	tick                  = 250 * time.Millisecond
	keyframeEvery         = time.Second
	logEvery              = 10 * time.Second
)

// Server is a WHIP endpoint. Handler serves its HTTP side; Start opens
// the ICE ports.
type Server struct {
	Verify func(key string) (name string, ok bool) // the stream key check
	Hub    feed.Hub
	Log    *slog.Logger

	// UDPAddr and TCPAddr are the ICE ports (host:port), shared by every
	// session; TCPAddr "" turns ICE-TCP off.
	UDPAddr, TCPAddr string
	// PublicIPs, when set, are the addresses announced in the candidates
	// in place of the listeners' own (NAT 1:1: the task's public IP, or a
	// load balancer's).
	PublicIPs []string
	// FrontSecret, when set, is the value of FrontSecretHeader that a
	// trusted front (CloudFront) adds to each request it forwards: such
	// a request's client address is the front's ViewerAddressHeader
	// (viewer.go). "" trusts no header: the TCP peer is the client.
	FrontSecret string
	// Prefix is the path the handler is mounted at, e.g. "/whip/"; the
	// session's Location is under it. Default "/whip/".
	Prefix string

	MaxOffer           int // bytes of SDP accepted
	MaxSessions        int // concurrent sessions
	MaxSessionsPerAddr int // from one IPv4 address or IPv6 /64
	IdleTimeout        time.Duration
	ConnectTimeout     time.Duration
	ProbeTimeout       time.Duration
	MaxProbe           int

	api  *webrtc.API
	udp  net.PacketConn
	tcp  net.Listener
	mux  struct{ udp, tcp interface{ Close() error } }
	addr struct{ udp, tcp net.Addr }

	mu       sync.Mutex
	sessions map[string]*session
	perAddr  map[netip.Addr]int
	slots    int // admitted: sessions, and offers being answered
	closed   bool
	refusal  feed.LogRate // guarded by mu
	wg       sync.WaitGroup

	Refused atomic.Int64 // offers refused (key, limits, bad SDP)
}

// Start opens the ICE ports.
func (s *Server) Start() error {
	if s.Verify == nil || s.Hub == nil {
		return errors.New("whip server: key verifier and hub are required")
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Prefix == "" {
		s.Prefix = "/whip/"
	}
	s.refusal.Every = logEvery
	orDefault(&s.MaxOffer, DefaultMaxOffer)
	orDefault(&s.MaxSessions, DefaultMaxSessions)
	orDefault(&s.MaxSessionsPerAddr, DefaultMaxSessionsPerAddr)
	orDefault(&s.IdleTimeout, DefaultIdleTimeout)
	orDefault(&s.ConnectTimeout, DefaultConnectTimeout)
	orDefault(&s.ProbeTimeout, DefaultProbeTimeout)
	orDefault(&s.MaxProbe, DefaultMaxProbe)
	if s.FrontSecret != "" && len(s.FrontSecret) < MinFrontSecret {
		return fmt.Errorf("whip: the front secret is shorter than %d characters", MinFrontSecret)
	}
	for _, ip := range s.PublicIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return fmt.Errorf("whip: public ip %q: %w", ip, err)
		}
	}
	var se webrtc.SettingEngine
	// With public IPs of one family, listen in that family only: an
	// unspecified address would otherwise gather (and announce) the
	// other family's private addresses too.
	udp, err := net.ListenPacket("udp"+family(s.PublicIPs), s.UDPAddr)
	if err != nil {
		return fmt.Errorf("whip ice udp listen %s: %w", s.UDPAddr, err)
	}
	s.udp, s.addr.udp = udp, udp.LocalAddr()
	udpMux := webrtc.NewICEUDPMux(nil, udp)
	s.mux.udp = udpMux
	se.SetICEUDPMux(udpMux)
	types := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if s.TCPAddr != "" {
		tcp, err := net.Listen("tcp"+family(s.PublicIPs), s.TCPAddr)
		if err != nil {
			_ = udpMux.Close()
			return fmt.Errorf("whip ice tcp listen %s: %w", s.TCPAddr, err)
		}
		s.tcp, s.addr.tcp = tcp, tcp.Addr()
		tcpMux := webrtc.NewICETCPMux(nil, tcp, 32)
		s.mux.tcp = tcpMux
		se.SetICETCPMux(tcpMux)
		types = append(types, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(publicFamilies(types, s.PublicIPs))
	if len(s.PublicIPs) > 0 {
		// Host candidates carry the public addresses in place of the
		// listeners' own (NAT 1:1).
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: s.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost,
		}); err != nil {
			s.closeMuxes()
			return fmt.Errorf("whip: public ips: %w", err)
		}
	}
	// A listener bound to loopback (the default of `hlsflow up`) must
	// still announce its address.
	se.SetIncludeLoopbackCandidate(true)
	// Browsers hide their host addresses behind mDNS names; the
	// publisher's binding requests reveal them anyway (peer-reflexive).
	se.SetICEMulticastDNSMode(0)
	se.SetICETimeouts(5*time.Second, 10*time.Second, 2*time.Second)

	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me); err != nil {
		s.closeMuxes()
		return err
	}
	ir := &interceptor.Registry{}
	// NACKs (retransmissions) and RTCP reports, as browsers expect.
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		s.closeMuxes()
		return err
	}
	s.api = webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir))
	s.sessions, s.perAddr = map[string]*session{}, map[netip.Addr]int{}
	return nil
}

// family is "4" or "6" when every public IP is of that family, else "".
func family(public []string) string {
	var v4, v6 bool
	for _, ip := range public {
		a, _ := netip.ParseAddr(ip)
		v4, v6 = v4 || a.Unmap().Is4(), v6 || (a.Is6() && !a.Is4In6())
	}
	switch {
	case v4 && !v6:
		return "4"
	case v6 && !v4:
		return "6"
	}
	return ""
}

// publicFamilies keeps the network types of the address families the
// public IPs have: an address of another family would be announced as it
// is (a private one, unreachable through the NAT).
func publicFamilies(types []webrtc.NetworkType, public []string) []webrtc.NetworkType {
	if len(public) == 0 {
		return types
	}
	var v4, v6 bool
	for _, ip := range public {
		a, _ := netip.ParseAddr(ip)
		v4, v6 = v4 || a.Unmap().Is4(), v6 || (a.Is6() && !a.Is4In6())
	}
	var out []webrtc.NetworkType
	for _, t := range types {
		if (v4 && (t == webrtc.NetworkTypeUDP4 || t == webrtc.NetworkTypeTCP4)) || (v6 && (t == webrtc.NetworkTypeUDP6 || t == webrtc.NetworkTypeTCP6)) {
			out = append(out, t)
		}
	}
	return out
}

// registerCodecs offers what the ladder decodes from a browser: H.264
// (packetization mode 1, the browsers' constrained baseline and others),
// VP8 (chooseVideo takes it only when the offer has no H.264) and Opus.
func registerCodecs(me *webrtc.MediaEngine) error {
	fb := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	for i, profile := range []string{"42e01f", "42001f", "4d001f", "640c1f", "640032"} {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
				SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profile,
				RTCPFeedback: fb},
			PayloadType: webrtc.PayloadType(102 + 2*i),
		}, webrtc.RTPCodecTypeVideo); err != nil {
			return err
		}
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return err
	}
	return me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio)
}

func orDefault[T time.Duration | int](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// UDPAddr and TCPAddr are the bound ICE ports (useful with port 0); nil
// before Start or when off.
func (s *Server) ICEUDPAddr() net.Addr { return s.addr.udp }
func (s *Server) ICETCPAddr() net.Addr { return s.addr.tcp }

// Sessions is the number of sessions now.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

func (s *Server) closeMuxes() {
	if s.mux.udp != nil {
		_ = s.mux.udp.Close()
	} else if s.udp != nil {
		_ = s.udp.Close()
	}
	if s.mux.tcp != nil {
		_ = s.mux.tcp.Close()
	} else if s.tcp != nil {
		_ = s.tcp.Close()
	}
}

// Close ends every session (their feeds end with an error), closes the
// ICE ports and returns once every goroutine of the server has.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed || s.api == nil {
		s.closed = true
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	all := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		ss.stop(errClosed)
	}
	s.wg.Wait()
	s.closeMuxes()
	return nil
}

var errClosed = errors.New("whip endpoint closed")

// addrKey is what MaxSessionsPerAddr counts by: the IPv4 address, or the
// IPv6 /64.
func addrKey(a netip.Addr) netip.Addr {
	if a = a.Unmap(); a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// admit reserves a session slot for remote, or says why not.
func (s *Server) admit(remote netip.Addr) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return "shutting down", false
	case s.perAddr[addrKey(remote)] >= s.MaxSessionsPerAddr:
		return "too many sessions from this address", false
	case s.slots >= s.MaxSessions:
		return "too many sessions", false
	}
	s.perAddr[addrKey(remote)]++
	s.slots++
	return "", true
}

// release frees remote's slot.
func (s *Server) release(remote netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := addrKey(remote)
	s.slots--
	if s.perAddr[k]--; s.perAddr[k] <= 0 {
		delete(s.perAddr, k)
	}
}

// refuse counts and logs a refused offer; a flood logs a line every
// logEvery.
func (s *Server) refuse(remote, why string) {
	s.Refused.Add(1)
	s.mu.Lock()
	n, ok := s.refusal.Allow(time.Now())
	s.mu.Unlock()
	if ok {
		s.Log.Warn("whip: offer refused", "reason", why, "remote", remote, "refused", n)
	}
}
