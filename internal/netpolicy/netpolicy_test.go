package netpolicy

import (
	"net/netip"
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
