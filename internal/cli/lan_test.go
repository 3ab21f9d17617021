package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/system"
)

func TestEveryInterface(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:4566", "http://127.0.0.1:4566/", "[::1]:4566"} {
		if got := everyInterface(addr); got != "0.0.0.0:4566" {
			t.Errorf("everyInterface(%q) = %q", addr, got)
		}
	}
}

func TestPrintLAN(t *testing.T) {
	var b bytes.Buffer
	printLAN(&b, &Common{Edge: "127.0.0.1:8080", S3: "127.0.0.1:4566"})
	if b.Len() != 0 {
		t.Errorf("printed for a loopback edge: %q", b.String())
	}
	printLAN(&b, &Common{Edge: "http://0.0.0.0:8080/", S3: "0.0.0.0:4566"})
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
	if !system.OnEveryInterface(c.Edge) || !system.OnEveryInterface(c.S3) || !system.OnEveryInterface(c.RTMP) || !system.OnEveryInterface(c.SRT) {
		t.Errorf("--lan left a listener on loopback: %+v", c)
	}
	if c.UDP != DefaultUDP {
		t.Errorf("--lan without --udp-allow put UDP on %s; want it kept on %s", c.UDP, DefaultUDP)
	}
	listenOnLAN(&c, true)
	if !system.OnEveryInterface(c.UDP) {
		t.Errorf("--lan with --udp-allow left UDP on %s", c.UDP)
	}
}
