package ingest

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, c Config)
		wantErr bool
	}{
		{"defaults", map[string]string{"MEDIA_BUCKET": "media", "STREAM_KEY_SECRET_ARN": "arn:aws:secretsmanager:x"}, func(t *testing.T, c Config) {
			if c.RTMPAddr != ":1935" || c.UDPAddr != ":9000" || c.UDPStream != "udp" || c.HTTPAddr != ":8081" ||
				c.DVRWindow != 5*time.Minute || c.Grace != DefaultGrace || c.StopTimeout != 25*time.Second ||
				c.Secret.ARN != "arn:aws:secretsmanager:x" || c.HandshakeTimeout != 5*time.Second || len(c.UDPAllow) != 0 ||
				c.SRTAddr != ":8890" || c.SRTPassphrase != "" || c.SRTLatency != 500*time.Millisecond {
				t.Errorf("defaults: %+v", c)
			}
		}, false},
		{"overrides", map[string]string{"MEDIA_BUCKET": "m", "RTMP_ADDR": "off", "UDP_STREAM": "cam", "DVR_WINDOW": "90s",
			"LIVE_MAX_RUNGS": "2", "STREAM_KEY_SECRET_FILE": "/data/k"}, func(t *testing.T, c Config) {
			if c.RTMPAddr != "" || c.UDPStream != "cam" || c.DVRWindow != 90*time.Second || c.MaxRungs != 2 || c.Secret.File != "/data/k" {
				t.Errorf("overrides: %+v", c)
			}
		}, false},
		{"live limits", map[string]string{"MEDIA_BUCKET": "m", "UDP_ALLOW": "10.0.0.0/8, 203.0.113.7,2001:db8::/32",
			"RTMP_MAX_CONNS_PER_ADDR": "4", "RTMP_MAX_CONNS": "32", "RTMP_HANDSHAKE_TIMEOUT": "3s"}, func(t *testing.T, c Config) {
			want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("203.0.113.7/32"),
				netip.MustParsePrefix("2001:db8::/32")}
			if !slices.Equal(c.UDPAllow, want) || c.RTMPMaxConnsPerAddr != 4 || c.RTMPMaxConns != 32 ||
				c.HandshakeTimeout != 3*time.Second {
				t.Errorf("live limits: %+v", c)
			}
		}, false},
		{"srt", map[string]string{"MEDIA_BUCKET": "m", "SRT_ADDR": "127.0.0.1:7000", "SRT_PASSPHRASE": " ten chars! ",
			"SRT_LATENCY": "2s"}, func(t *testing.T, c Config) {
			if c.SRTAddr != "127.0.0.1:7000" || c.SRTPassphrase != " ten chars! " || c.SRTLatency != 2*time.Second {
				t.Errorf("srt: %+v", c)
			}
		}, false},
		{"srt off", map[string]string{"MEDIA_BUCKET": "m", "SRT_ADDR": "off"}, func(t *testing.T, c Config) {
			if c.SRTAddr != "" {
				t.Errorf("SRT_ADDR=off gave %q", c.SRTAddr)
			}
		}, false},
		{"whip", map[string]string{"MEDIA_BUCKET": "m", "WHIP_ICE_ADDR": "127.0.0.1:7100", "WHIP_ICE_TCP_ADDR": "off",
			"WHIP_PUBLIC_IPS": "203.0.113.7, 2001:db8::1", "WHIP_MAX_SESSIONS_PER_ADDR": "2"}, func(t *testing.T, c Config) {
			if c.WHIPICEAddr != "127.0.0.1:7100" || c.WHIPICETCPAddr != "" || c.WHIPAddr != DefaultWHIPAddr ||
				!slices.Equal(c.WHIPPublicIPs, []string{"203.0.113.7", "2001:db8::1"}) || c.WHIPMaxSessionsPerAddr != 2 {
				t.Errorf("whip: %+v", c)
			}
		}, false},
		{"whip front secret", map[string]string{"MEDIA_BUCKET": "m", "WHIP_FRONT_SECRET": "0123456789abcdef"}, func(t *testing.T, c Config) {
			if c.WHIPFrontSecret != "0123456789abcdef" {
				t.Errorf("WHIP_FRONT_SECRET gave %q", c.WHIPFrontSecret)
			}
		}, false},
		{"whip front secret too short", map[string]string{"MEDIA_BUCKET": "m", "WHIP_FRONT_SECRET": "short"}, nil, true},
		{"whip defaults", map[string]string{"MEDIA_BUCKET": "m"}, func(t *testing.T, c Config) {
			if c.WHIPAddr != ":8080" || c.WHIPICEAddr != ":8189" || c.WHIPICETCPAddr != ":8189" || len(c.WHIPPublicIPs) != 0 {
				t.Errorf("whip defaults: %+v", c)
			}
		}, false},
		{"whip public ip from the task", map[string]string{"MEDIA_BUCKET": "m", "WHIP_PUBLIC_IPS": "ecs",
			"WHIP_PUBLIC_HOST": "nlb.example.com"}, func(t *testing.T, c Config) {
			if !c.WHIPPublicFromTask || len(c.WHIPPublicIPs) != 0 || c.WHIPPublicHost != "nlb.example.com" {
				t.Errorf("whip ecs: %+v", c)
			}
		}, false},
		{"bad whip public ip", map[string]string{"MEDIA_BUCKET": "m", "WHIP_PUBLIC_IPS": "nlb.example.com"}, nil, true},
		{"whip ecs among ips", map[string]string{"MEDIA_BUCKET": "m", "WHIP_PUBLIC_IPS": "203.0.113.7,ecs"}, nil, true},
		{"short srt passphrase", map[string]string{"MEDIA_BUCKET": "m", "SRT_PASSPHRASE": "secret"}, nil, true},
		{"bad srt latency", map[string]string{"MEDIA_BUCKET": "m", "SRT_LATENCY": "500"}, nil, true},
		{"no bucket", map[string]string{}, nil, true},
		{"bad allow-list", map[string]string{"MEDIA_BUCKET": "m", "UDP_ALLOW": "10.0.0.0/8,everyone"}, nil, true},
		{"bad duration", map[string]string{"MEDIA_BUCKET": "m", "DVR_WINDOW": "five"}, nil, true},
		{"bad number", map[string]string{"MEDIA_BUCKET": "m", "LIVE_MAX_RUNGS": "-1"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if (err != nil) != tt.wantErr {
				t.Fatalf("ConfigFromEnv err = %v, want error %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}
