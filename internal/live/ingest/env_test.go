package ingest

import (
	"testing"
	"time"
)

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, e Env)
		wantErr bool
	}{
		{"defaults", map[string]string{"MEDIA_BUCKET": "media", "STREAM_KEY_SECRET_ARN": "arn:aws:secretsmanager:x"}, func(t *testing.T, e Env) {
			c := e.Config
			if c.RTMPAddr != ":1935" || c.UDPAddr != ":9000" || c.UDPStream != "udp" || c.HTTPAddr != ":8081" ||
				c.DVRWindow != 5*time.Minute || c.Grace != DefaultGrace || e.StopTimeout != 25*time.Second ||
				e.Secret.ARN != "arn:aws:secretsmanager:x" {
				t.Errorf("defaults: %+v", e)
			}
		}, false},
		{"overrides", map[string]string{"MEDIA_BUCKET": "m", "RTMP_ADDR": "off", "UDP_STREAM": "cam", "DVR_WINDOW": "90s",
			"LIVE_MAX_RUNGS": "2", "STREAM_KEY_SECRET_FILE": "/data/k"}, func(t *testing.T, e Env) {
			c := e.Config
			if c.RTMPAddr != "" || c.UDPStream != "cam" || c.DVRWindow != 90*time.Second || c.MaxRungs != 2 || e.Secret.File != "/data/k" {
				t.Errorf("overrides: %+v", e)
			}
		}, false},
		{"no bucket", map[string]string{}, nil, true},
		{"bad duration", map[string]string{"MEDIA_BUCKET": "m", "DVR_WINDOW": "five"}, nil, true},
		{"bad number", map[string]string{"MEDIA_BUCKET": "m", "LIVE_MAX_RUNGS": "-1"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := FromEnv(func(k string) string { return tt.env[k] })
			if (err != nil) != tt.wantErr {
				t.Fatalf("FromEnv err = %v, want error %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, e)
			}
		})
	}
}
