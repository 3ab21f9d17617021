package netpolicy

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestPublic(t *testing.T) {
	for s, want := range map[string]bool{
		"93.184.215.14": true, "2606:2800:21f:cb07:6820:80da:af6b:8b2c": true, "8.8.8.8": true,
		"::ffff:8.8.8.8": true, "127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false,
		"192.168.0.1": false, "169.254.169.254": false, "100.100.100.200": false, "0.0.0.0": false,
		"255.255.255.255": false, "224.0.0.251": false, "198.18.0.1": false, "::1": false, "::": false,
		"fc00::1": false, "fe80::1": false, "ff02::1": false, "::ffff:10.0.0.1": false, "::a00:1": false,
		"2001:db8::1": false, "fec0::1": false, "fd00:ec2::254": false,
	} {
		if got := Public(netip.MustParseAddr(s)); got != want {
			t.Errorf("Public(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestParseAllow(t *testing.T) {
	got, err := ParseAllow("127.0.0.0/8, ::1", "10.1.2.3 ::ffff:192.168.0.0/112")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.0/8", "::1/128", "10.1.2.3/32", "192.168.0.0/16"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("entry %d: %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"localhost", "10.0.0.0/33"} {
		if _, err := ParseAllow(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestAllowed(t *testing.T) {
	allow, _ := ParseAllow("127.0.0.0/8")
	for s, want := range map[string]bool{"127.0.0.5": true, "::ffff:127.0.0.1": true, "::1": false, "10.0.0.1": false, "8.8.8.8": true} {
		if got := Allowed(netip.MustParseAddr(s), allow); got != want {
			t.Errorf("Allowed(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestResolve(t *testing.T) {
	lookup := func(_ context.Context, h string) ([]netip.Addr, error) {
		switch h {
		case "public.example":
			return []netip.Addr{netip.MustParseAddr("8.8.8.8")}, nil
		case "meta.example":
			return []netip.Addr{netip.MustParseAddr("8.8.4.4"), netip.MustParseAddr("169.254.169.254")}, nil
		}
		return nil, errors.New("no such host")
	}
	ctx := context.Background()
	if got, err := Resolve(ctx, "public.example", lookup, nil); err != nil || len(got) != 1 {
		t.Errorf("public: %v %v", got, err)
	}
	for host, says := range map[string]string{
		"meta.example": "meta.example resolves to 169.254.169.254, a link-local address", "10.1.2.3": "10.1.2.3 is a private address: non-public",
		"gone.example": "gone.example does not resolve", "::1": "::1 is a loopback address: non-public",
	} {
		if _, err := Resolve(ctx, host, lookup, nil); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%s: %v, want %q", host, err, says)
		}
	}
	allow, _ := ParseAllow("10.0.0.0/8")
	if _, err := Resolve(ctx, "10.1.2.3", lookup, allow); err != nil {
		t.Errorf("allowed range: %v", err)
	}
}
