package ingest

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/live/rtmp"
	"github.com/hlsflow/hlsflow/internal/live/udp"
)

// Env is the service's configuration from environment variables, as the
// ECS task sets them.
type Env struct {
	Config      Config      // without Store, Keys and Log
	Secret      keys.Source // STREAM_KEY_SECRET, _FILE, _ARN
	StopTimeout time.Duration
}

// FromEnv reads the configuration through getenv (os.Getenv):
//
//	MEDIA_BUCKET (required)  RTMP_ADDR (:1935)  UDP_ADDR (:9000)
//	UDP_STREAM (udp)  HEALTH_ADDR (:8081)  DVR_WINDOW (5m)  GRACE (15s)
//	LIVE_PRESET (veryfast)  LIVE_MAX_RUNGS (0 = all)  LIVE_THREADS (0)
//	WORK_DIR (os temp)  STOP_TIMEOUT (25s, below ECS's 30 s stopTimeout)
//	LIVE_MAX_DURATION (12h: a stream is ended and recorded after it)
//	STREAM_KEY_SECRET | STREAM_KEY_SECRET_FILE | STREAM_KEY_SECRET_ARN
//	RTMP_HANDSHAKE_TIMEOUT (5s)  RTMP_MAX_CONNS (64)  RTMP_MAX_CONNS_PER_ADDR (8)
//	UDP_ALLOW (CIDRs or addresses, comma-separated; "" = any source)
//
// An address set to "off" disables that listener.
func FromEnv(getenv func(string) string) (Env, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	addr := func(k, def string) string {
		v := get(k, def)
		if v == "off" {
			return ""
		}
		return v
	}
	var errs []string
	dur := func(k, def string) time.Duration {
		d, err := time.ParseDuration(get(k, def))
		if err != nil || d < 0 {
			errs = append(errs, fmt.Sprintf("%s: bad duration %q", k, get(k, def)))
		}
		return d
	}
	num := func(k string) int {
		n, err := strconv.Atoi(get(k, "0"))
		if err != nil || n < 0 {
			errs = append(errs, fmt.Sprintf("%s: bad number %q", k, get(k, "0")))
		}
		return n
	}
	e := Env{
		Config: Config{
			Bucket:    get("MEDIA_BUCKET", ""),
			RTMPAddr:  addr("RTMP_ADDR", DefaultRTMPAddr),
			UDPAddr:   addr("UDP_ADDR", DefaultUDPAddr),
			UDPStream: get("UDP_STREAM", DefaultUDPStream),
			HTTPAddr:  addr("HEALTH_ADDR", ":8081"),
			DVRWindow: dur("DVR_WINDOW", "5m"),
			Grace:     dur("GRACE", DefaultGrace.String()),
			Preset:    get("LIVE_PRESET", ""),
			MaxRungs:  num("LIVE_MAX_RUNGS"),
			Threads:   num("LIVE_THREADS"),
			WorkDir:   get("WORK_DIR", ""),
		},
		Secret: keys.Source{
			Value: getenv("STREAM_KEY_SECRET"),
			File:  get("STREAM_KEY_SECRET_FILE", ""),
			ARN:   get("STREAM_KEY_SECRET_ARN", ""),
		},
		StopTimeout: dur("STOP_TIMEOUT", "25s"),
	}
	e.Config.HandshakeTimeout = dur("RTMP_HANDSHAKE_TIMEOUT", rtmp.DefaultHandshakeTimeout.String())
	e.Config.RTMPMaxConns = num("RTMP_MAX_CONNS")
	e.Config.RTMPMaxConnsPerAddr = num("RTMP_MAX_CONNS_PER_ADDR")
	allow, err := udp.ParseAllow(get("UDP_ALLOW", ""))
	if err != nil {
		errs = append(errs, "UDP_ALLOW: "+err.Error())
	}
	e.Config.UDPAllow = allow
	e.Config.MaxDuration = dur("LIVE_MAX_DURATION", DefaultMaxDuration.String())
	if e.Config.Bucket == "" {
		errs = append(errs, "MEDIA_BUCKET is required")
	}
	if len(errs) > 0 {
		return Env{}, fmt.Errorf("ingest config: %s", strings.Join(errs, "; "))
	}
	return e, nil
}
