// Package ingest is the live ingest service: it owns the RTMP and UDP
// listeners and the health/stats endpoint, and runs each stream's life —
// claim, ladder, transcoder runs, reconnect grace, and the final recording.
// The ECS task (services/ingest) and `hlsflow up` both run it through
// New, Start and Close.
package ingest

import (
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Defaults of Config.
const (
	DefaultRTMPAddr  = ":1935"
	DefaultUDPAddr   = ":9000"
	DefaultUDPStream = "udp"
	DefaultGrace     = 15 * time.Second
	DefaultStatsLog  = 30 * time.Second
	// DefaultMaxDuration is how long a stream may run before it is ended
	// and recorded: a forgotten encoder must not transcode for ever.
	DefaultMaxDuration = 12 * time.Hour
)

// Config configures a Service. Zero values take the defaults noted.
type Config struct {
	Store  *store.Store // required
	Bucket string       // media bucket, required
	Keys   *keys.Signer // verifies RTMP stream keys; required with RTMP

	RTMPAddr  string // "" disables RTMP; ":1935" on AWS
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

	Log *slog.Logger
}

func (c *Config) defaults() error {
	if c.Store == nil || c.Bucket == "" {
		return errors.New("ingest: store and bucket are required")
	}
	if c.RTMPAddr != "" && c.Keys == nil {
		return errors.New("ingest: stream keys are required for rtmp")
	}
	if c.UDPStream == "" {
		c.UDPStream = DefaultUDPStream
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	if c.MaxDuration <= 0 {
		c.MaxDuration = DefaultMaxDuration
	}
	if c.WorkDir == "" {
		c.WorkDir = os.TempDir()
	}
	if c.SegmentSeconds <= 0 {
		c.SegmentSeconds = 2
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 10 * time.Second
	}
	if c.StatsLog <= 0 {
		c.StatsLog = DefaultStatsLog
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return nil
}
