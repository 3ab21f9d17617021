package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/functions/api"
)

func TestOnEveryInterface(t *testing.T) {
	for addr, want := range map[string]bool{
		"0.0.0.0:8080": true, "[::]:4566": true, ":1935": true, "http://0.0.0.0:8080/": true,
		"127.0.0.1:8080": false, "192.168.1.20:8080": false, "localhost:8080": false, "[::1]:80": false, "nonsense": false,
	} {
		if got := onEveryInterface(addr); got != want {
			t.Errorf("onEveryInterface(%q) = %v, want %v", addr, got, want)
		}
	}
	if got := everyInterface("127.0.0.1:4566"); got != "0.0.0.0:4566" {
		t.Errorf("everyInterface = %q", got)
	}
}

// TestAddressesByHost: listeners on every interface are named as the
// client named this machine; one bound to a single address keeps it.
func TestAddressesByHost(t *testing.T) {
	c := &Common{Edge: "0.0.0.0:8080", S3: "0.0.0.0:4566", RTMP: "127.0.0.1:1935"}
	by := addressesByHost(c)
	got := by("192.168.1.20:8080")
	want := api.Addresses{PublicURL: "http://192.168.1.20:8080", S3: "http://192.168.1.20:4566", RTMPURL: "rtmp://127.0.0.1:1935/live"}
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

func TestPrintLAN(t *testing.T) {
	var b bytes.Buffer
	printLAN(&b, &Common{Edge: "127.0.0.1:8080", S3: "127.0.0.1:4566"})
	if b.Len() != 0 {
		t.Errorf("printed for a loopback edge: %q", b.String())
	}
	printLAN(&b, &Common{Edge: "0.0.0.0:8080", S3: "0.0.0.0:4566"})
	if !strings.Contains(b.String(), "S3 is open to the network") {
		t.Errorf("no warning that S3 is reachable from the network:\n%s", b.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if strings.Contains(line, "on the network") && (strings.Contains(line, "127.0.0.1") || !strings.HasSuffix(line, ":8080/")) {
			t.Errorf("bad address line %q", line)
		}
	}
}

func TestListenOnLANKeepsUDPLocal(t *testing.T) {
	c := Common{Edge: DefaultEdge, S3: DefaultS3, RTMP: DefaultRTMP, SRT: DefaultSRT, UDP: DefaultUDP}
	listenOnLAN(&c, false)
	if !onEveryInterface(c.Edge) || !onEveryInterface(c.S3) || !onEveryInterface(c.RTMP) || !onEveryInterface(c.SRT) {
		t.Errorf("--lan left a listener on loopback: %+v", c)
	}
	if c.UDP != DefaultUDP {
		t.Errorf("--lan without --udp-allow put UDP on %s; want it kept on %s", c.UDP, DefaultUDP)
	}
	listenOnLAN(&c, true)
	if !onEveryInterface(c.UDP) {
		t.Errorf("--lan with --udp-allow left UDP on %s", c.UDP)
	}
}
