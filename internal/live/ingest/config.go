// Package ingest is the live ingest service: it owns the RTMP, SRT and
// UDP listeners and the health/stats endpoint, and runs each stream's life —
// claim, ladder, transcoder runs, reconnect grace, and the final recording.
// The ECS task (services/ingest) and `hlsflow up` both run it through
// ConfigFromEnv or a Config, New, Start and Close.
package ingest

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/envconf"
	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/live/rtmp"
	"github.com/hlsflow/hlsflow/internal/live/srt"
	"github.com/hlsflow/hlsflow/internal/live/whip"
	"github.com/hlsflow/hlsflow/internal/metrics"
	"github.com/hlsflow/hlsflow/internal/netpolicy"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Defaults of Config.
const (
	DefaultRTMPAddr = ":1935"
	DefaultSRTAddr  = ":8890"
	DefaultUDPAddr  = ":9000"
	// WHIP's HTTP endpoint and its ICE port (UDP, and TCP on the same
	// number).
	DefaultWHIPAddr    = ":8080"
	DefaultWHIPICEAddr = ":8189"
	DefaultUDPStream   = "udp"
	DefaultGrace       = 15 * time.Second
	DefaultStatsLog    = 30 * time.Second
	// DefaultMaxDuration is how long a stream may run before it is ended
	// and recorded: a forgotten encoder must not transcode for ever.
	DefaultMaxDuration = 12 * time.Hour
)

// Config configures a Service. Zero values take the defaults noted; New
// applies them.
type Config struct {
	Bucket string // media bucket, required

	RTMPAddr  string // "" disables RTMP; ":1935" on AWS
	SRTAddr   string // "" disables SRT; ":8890" (UDP) on AWS
	UDPAddr   string // "" disables UDP; ":9000" on AWS
	UDPStream string // stream name UDP publishes to, default "udp"
	HTTPAddr  string // health and stats; "" disables

	DVRWindow time.Duration // live window, default 5 min
	// Grace is how long a stream whose publisher dropped waits for it to
	// come back and continue (with a discontinuity) before it is finalised.
	Grace time.Duration
	// MaxDuration ends a stream (cleanly: ENDLIST and recording) this long
	// after it started, reconnects included. Default DefaultMaxDuration.
	MaxDuration time.Duration

	WorkDir        string // local segments, default os.TempDir()
	FFmpeg         string // default media.FFmpegPath()
	Preset         string // x264 preset, default "veryfast"
	Threads        int    // ffmpeg threads per stream, 0 = ffmpeg's choice
	MaxRungs       int    // keep the highest N rungs, 0 = all
	Rungs          []string
	SegmentSeconds float64 // default 2
	// LowLatency serves Low-Latency HLS: each rung as fMP4 parts of
	// PartSeconds (default 0.5), the playlists and parts from this
	// service's HTTPAddr under /live/{name}/ (blocking reloads), the full
	// segments, DVR window and recording on S3 as fMP4.
	LowLatency  bool
	PartSeconds float64
	// OriginURL is where the other ingest tasks reach this one's HTTP
	// listener (http://{task IP}:{port}); with it, each low-latency stream
	// is announced in the bucket and requests that reach another task are
	// forwarded here (holder.go). Empty: a single task. OriginFromECS:
	// this task's address from the ECS metadata (ResolveOrigin).
	OriginURL string
	// LiveAddr, when set, is a listener serving the low-latency playlists
	// and parts alone (GET /live/...), for a CDN and the other tasks: the
	// HTTPAddr listener also answers /streams, which names publishers'
	// addresses. "" serves them on HTTPAddr only.
	LiveAddr string

	// SRTPassphrase, when set (10 to 79 characters), encrypts every SRT
	// connection and is required of every publisher. SRTLatency is SRT's
	// retransmission buffer, default srt.DefaultLatency.
	SRTPassphrase string
	SRTLatency    time.Duration

	// WHIP (browsers and WebRTC encoders, internal/live/whip): WHIPICEAddr
	// is the one UDP port of every session's media, "" disables WHIP;
	// WHIPICETCPAddr the one ICE-TCP port ("" = none). WHIPAddr serves
	// the WHIP endpoint (/whip/{name}) over HTTP on a listener of its own;
	// "" serves it only through Service.WHIPHandler (the edge of
	// `hlsflow up`). WHIPPublicIPs, when set, are announced in the
	// candidates instead of the ports' own addresses (NAT 1:1: the load
	// balancer's).
	WHIPAddr       string
	WHIPICEAddr    string
	WHIPICETCPAddr string
	WHIPPublicIPs  []string
	// WHIPPublicHost, when set, is a name (the load balancer's) whose
	// addresses are looked up at Start and announced like WHIPPublicIPs.
	WHIPPublicHost string
	// WHIPPublicFromTask (WHIP_PUBLIC_IPS=ecs) announces this ECS task's
	// own public IPv4 address, found by ResolveWHIPPublic, so that a
	// session's media reaches the task that answered its offer;
	// WHIPPublicHost is the fallback when it cannot be found.
	WHIPPublicFromTask bool
	// WHIPMaxSessions and WHIPMaxSessionsPerAddr cap WHIP sessions, in all
	// and from one IPv4 address or IPv6 /64 (whip's defaults).
	WHIPMaxSessions        int
	WHIPMaxSessionsPerAddr int
	// WHIPFrontSecret, when set, is the secret CloudFront adds to the
	// offers it forwards; those are counted by the viewer address it
	// names (whip.Server.FrontSecret).
	WHIPFrontSecret string

	HandshakeTimeout time.Duration // RTMP handshake, connect and publish with the key, default 5 s
	IdleTimeout      time.Duration // RTMP publisher silent, default 10 s
	UDPIdleTimeout   time.Duration // UDP sender silent = stopped, default 5 s
	MaxPending       int           // segments per rung waiting for S3
	// DrainTimeout bounds how long a transcoder may take, once its
	// publisher has gone, to encode what it has been given; past it the
	// tail is lost. Default 10 s.
	DrainTimeout time.Duration
	StatsLog     time.Duration // per-stream log line period, default 30 s

	// Who may reach the live listeners (services/ingest/README.md).
	RTMPMaxConns        int            // concurrent RTMP connections, default 64
	RTMPMaxConnsPerAddr int            // from one IPv4 address or IPv6 /64, default 8
	UDPAllow            []netip.Prefix // sources that may publish over UDP; empty = any
	// RestreamAllow lets restream destinations resolve to these
	// non-public addresses (the tests' 127.0.0.1, a LAN relay); others
	// are refused, so a destination cannot reach the ingest's network.
	RestreamAllow []netip.Prefix

	// For the process that runs the service (New ignores them): where the
	// stream key secret is, and how long Close may take.
	Secret      keys.Source
	StopTimeout time.Duration
}

// Deps are what a Service works with.
type Deps struct {
	Store *store.Store // required
	Keys  *keys.Signer // verifies stream keys; required with RTMP or SRT
	Log   *slog.Logger // default slog.Default()
	// Metrics receives the streams' metrics every StatsLog; nil records none.
	Metrics *metrics.Recorder
	// Events receives streams' starts and ends and recordings (events.go);
	// nil sends none.
	Events Events
}

// list splits a comma-separated setting, dropping empty items.
func list(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// ConfigFromEnv reads the ECS task's configuration through getenv
// (os.Getenv):
//
//	MEDIA_BUCKET (required)  RTMP_ADDR (:1935)  UDP_ADDR (:9000)  SRT_ADDR (:8890)
//	SRT_PASSPHRASE ("" = unencrypted)  SRT_LATENCY (500ms)
//	UDP_STREAM (udp)  HEALTH_ADDR (:8081)  DVR_WINDOW (5m)  GRACE (15s)
//	LIVE_PRESET (veryfast)  LIVE_MAX_RUNGS (0 = all)  LIVE_THREADS (0)
//	WORK_DIR (os temp)  STOP_TIMEOUT (25s, below ECS's 30 s stopTimeout)
//	LIVE_MAX_DURATION (12h: a stream is ended and recorded after it)
//	STREAM_KEY_SECRET | STREAM_KEY_SECRET_FILE | STREAM_KEY_SECRET_ARN
//	RTMP_HANDSHAKE_TIMEOUT (5s)  RTMP_MAX_CONNS (64)  RTMP_MAX_CONNS_PER_ADDR (8)
//	UDP_ALLOW (CIDRs or addresses, comma-separated; "" = any source)
//	RESTREAM_ALLOW_NETS (CIDRs or addresses restream destinations may be at
//	  besides public ones; "" = none)
//	WHIP_ADDR (:8080, the WHIP endpoint's HTTP)  WHIP_ICE_ADDR (:8189, UDP)
//	WHIP_ICE_TCP_ADDR (:8189)  WHIP_PUBLIC_IPS (comma-separated; "" = the
//	  ports' own; "ecs": this task's public IPv4, see ResolveWHIPPublic)
//	WHIP_PUBLIC_HOST (a name whose addresses are announced; with
//	  WHIP_PUBLIC_IPS=ecs, only if the task's address is not found)
//	WHIP_MAX_SESSIONS (64)  WHIP_MAX_SESSIONS_PER_ADDR (8)
//	WHIP_FRONT_SECRET ("" = the TCP peer is the publisher; else the
//	  secret CloudFront proves itself with, at least 16 characters)
//	LOW_LATENCY (off; "on" serves LL-HLS from HEALTH_ADDR under /live/)
//	LIVE_ORIGIN_URL ("" = one task; how other tasks reach this one's
//	  LIVE_ADDR, else HEALTH_ADDR; "ecs": this task's IP from the ECS
//	  task metadata, see ResolveOrigin)
//	LIVE_ADDR ("" = none; a listener serving only /live/)
//
// An address set to "off" disables that listener.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	e := envconf.New(getenv)
	addr := func(k, def string) string {
		if v := e.String(k, def); v != "off" {
			return v
		}
		return ""
	}
	allow, err := netpolicy.ParseAllow(e.String("UDP_ALLOW", ""))
	e.Check("UDP_ALLOW", err)
	restreamAllow, err := netpolicy.ParseAllow(e.String("RESTREAM_ALLOW_NETS", ""))
	e.Check("RESTREAM_ALLOW_NETS", err)
	c := Config{
		Bucket:   e.String("MEDIA_BUCKET", ""),
		RTMPAddr: addr("RTMP_ADDR", DefaultRTMPAddr), UDPAddr: addr("UDP_ADDR", DefaultUDPAddr),
		UDPStream: e.String("UDP_STREAM", DefaultUDPStream), HTTPAddr: addr("HEALTH_ADDR", ":8081"),
		DVRWindow: e.Duration("DVR_WINDOW", 5*time.Minute, 0), Grace: e.Duration("GRACE", DefaultGrace, 0),
		MaxDuration: e.Duration("LIVE_MAX_DURATION", DefaultMaxDuration, 0),
		Preset:      e.String("LIVE_PRESET", ""), MaxRungs: e.Int("LIVE_MAX_RUNGS", 0, 0), Threads: e.Int("LIVE_THREADS", 0, 0),
		WorkDir:          e.String("WORK_DIR", ""),
		HandshakeTimeout: e.Duration("RTMP_HANDSHAKE_TIMEOUT", rtmp.DefaultHandshakeTimeout, 0),
		RTMPMaxConns:     e.Int("RTMP_MAX_CONNS", 0, 0), RTMPMaxConnsPerAddr: e.Int("RTMP_MAX_CONNS_PER_ADDR", 0, 0),
		UDPAllow: allow, RestreamAllow: restreamAllow,
		SRTAddr: addr("SRT_ADDR", DefaultSRTAddr), SRTPassphrase: getenv("SRT_PASSPHRASE"),
		SRTLatency: e.Duration("SRT_LATENCY", srt.DefaultLatency, 0),
		WHIPAddr:   addr("WHIP_ADDR", DefaultWHIPAddr), WHIPICEAddr: addr("WHIP_ICE_ADDR", DefaultWHIPICEAddr),
		WHIPICETCPAddr: addr("WHIP_ICE_TCP_ADDR", DefaultWHIPICEAddr), WHIPPublicIPs: list(e.String("WHIP_PUBLIC_IPS", "")),
		WHIPPublicHost:  e.String("WHIP_PUBLIC_HOST", ""),
		WHIPMaxSessions: e.Int("WHIP_MAX_SESSIONS", 0, 0), WHIPMaxSessionsPerAddr: e.Int("WHIP_MAX_SESSIONS_PER_ADDR", 0, 0),
		WHIPFrontSecret: getenv("WHIP_FRONT_SECRET"),
		Secret: keys.Source{Value: getenv("STREAM_KEY_SECRET"), File: e.String("STREAM_KEY_SECRET_FILE", ""),
			ARN: e.String("STREAM_KEY_SECRET_ARN", "")},
		StopTimeout: e.Duration("STOP_TIMEOUT", 25*time.Second, 0),
		LowLatency:  e.String("LOW_LATENCY", "off") == "on",
		OriginURL:   e.String("LIVE_ORIGIN_URL", ""),
		LiveAddr:    addr("LIVE_ADDR", ""),
	}
	if c.Bucket == "" {
		e.Fail("MEDIA_BUCKET", "", "required")
	}
	if len(c.WHIPPublicIPs) == 1 && c.WHIPPublicIPs[0] == WHIPPublicFromECS {
		c.WHIPPublicIPs, c.WHIPPublicFromTask = nil, true
	}
	for _, ip := range c.WHIPPublicIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			e.Fail("WHIP_PUBLIC_IPS", ip, "not an IP address")
		}
	}
	if n := len(c.WHIPFrontSecret); n > 0 && n < whip.MinFrontSecret {
		e.Fail("WHIP_FRONT_SECRET", "", fmt.Sprintf("shorter than %d characters", whip.MinFrontSecret))
	}
	e.Check("SRT_PASSPHRASE", srt.CheckPassphrase(c.SRTPassphrase))
	if err := e.Err(); err != nil {
		return Config{}, fmt.Errorf("ingest config: %w", err)
	}
	return c, nil
}
