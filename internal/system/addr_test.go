package system

import (
	"slices"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/api"
)

func TestOnEveryInterface(t *testing.T) {
	for addr, want := range map[string]bool{
		"0.0.0.0:8080": true, "[::]:4566": true, ":1935": true,
		"127.0.0.1:8080": false, "192.168.1.20:8080": false, "localhost:8080": false, "[::1]:80": false, "nonsense": false,
	} {
		if got := OnEveryInterface(addr); got != want {
			t.Errorf("OnEveryInterface(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestAddressesByHost: listeners on every interface are named as the
// client named this machine; one bound to a single address keeps it.
func TestAddressesByHost(t *testing.T) {
	by := addressesByHost(&Config{EdgeAddr: "0.0.0.0:8080", S3Addr: "0.0.0.0:4566", RTMPAddr: "127.0.0.1:1935", SRTAddr: "0.0.0.0:8890", WHIPAddr: "0.0.0.0:8189"})
	got := by("192.168.1.20:8080")
	want := api.Addresses{PublicURL: "http://192.168.1.20:8080", S3: "http://192.168.1.20:4566", RTMPURL: "rtmp://127.0.0.1:1935/live",
		SRTURL: "srt://192.168.1.20:8890", WHIPURL: "http://192.168.1.20:8080/whip"}
	if got != want {
		t.Errorf("by IPv4: %+v, want %+v", got, want)
	}
	if got := by("[fd00::5]:8080"); got.S3 != "http://[fd00::5]:4566" {
		t.Errorf("by IPv6: %+v", got)
	}
	if got := by("studio.local"); got.PublicURL != "http://studio.local:8080" {
		t.Errorf("by a name without port: %+v", got)
	}
}

func TestEdgeOrigins(t *testing.T) {
	origins := func(c *Config) []string { return edgeOrigins(c, hostGuard(c)) }
	got := origins(&Config{EdgeAddr: "127.0.0.1:8080", S3Addr: "127.0.0.1:4566", AllowHosts: []string{"studio.example"}})
	for _, o := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "http://studio.example:8080"} {
		if !slices.Contains(got, o) {
			t.Errorf("origins %q lack %s", got, o)
		}
	}
	for _, o := range got {
		if strings.Contains(o, "*") || !strings.HasSuffix(o, ":8080") {
			t.Errorf("origin %q", o)
		}
	}
	if got := origins(&Config{EdgeAddr: "0.0.0.0:80", S3Addr: "127.0.0.1:4566"}); slices.Contains(got, "http://0.0.0.0") || !slices.Contains(got, "http://localhost") || !slices.Contains(got, "http://[::1]") {
		t.Errorf("every interface on port 80: %q", got)
	}
}

func TestLocalAddr(t *testing.T) {
	for addr, want := range map[string]string{"0.0.0.0:4566": "127.0.0.1:4566", "[::]:4566": "[::1]:4566", "192.168.1.20:4566": "192.168.1.20:4566"} {
		if got := localAddr(addr); got != want {
			t.Errorf("localAddr(%q) = %q, want %q", addr, got, want)
		}
	}
}
