package restream

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/netpolicy"
)

func TestValidateAndCheck(t *testing.T) {
	resolve := map[string][]netip.Addr{
		"live.example.com":   {netip.MustParseAddr("93.184.215.14")},
		"rebind.example.com": {netip.MustParseAddr("203.0.113.8"), netip.MustParseAddr("169.254.169.254")},
	}
	p := Policy{Lookup: func(_ context.Context, h string) ([]netip.Addr, error) {
		if a, ok := resolve[h]; ok {
			return a, nil
		}
		return nil, errors.New("no such host")
	}}
	long := strings.Repeat("a", maxURL)
	for _, tt := range []struct {
		url, key string
		ok       bool
	}{
		{"rtmp://live.example.com/app", "abc", true},
		{"rtmps://live.example.com:443/app/", "abc?bandwidthtest=true", true},
		{"rtmp://8.8.8.8/live", "k", true},
		{"http://live.example.com/app", "k", false},
		{"rtmp:///app", "k", false},
		{"rtmp://live.example.com/app", "", false},
		{"rtmp://live.example.com/app", "a b", false},
		{"rtmp://user:pw@live.example.com/app", "k", false},
		{"rtmp://live.example.com/app?x=1", "k", false},
		{"rtmp://live.example.com:99999/app", "k", false},
		{"rtmp://" + long, "k", false},
		{"rtmp://127.0.0.1/live", "k", false},
		{"rtmp://[::1]/live", "k", false},
		{"rtmp://10.0.0.5/live", "k", false},
		{"rtmp://169.254.169.254/live", "k", false},
		{"rtmp://100.64.1.1/live", "k", false},
		{"rtmp://rebind.example.com/live", "k", false},
		{"rtmp://nowhere.example.com/live", "k", false},
	} {
		err := p.Check(context.Background(), Destination{URL: tt.url, Key: tt.key})
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("Check(%q, %q) = %v, want ok %v", tt.url, tt.key, err, tt.ok)
		}
	}
	allow, err := netpolicy.ParseAllow("127.0.0.1, 10.0.0.0/8")
	if err != nil || len(allow) != 2 {
		t.Fatalf("ParseAllow: %v %v", allow, err)
	}
	p.Allow = allow
	for _, u := range []string{"rtmp://127.0.0.1/live", "rtmp://10.9.9.9/live"} {
		if err := p.Check(context.Background(), Destination{URL: u, Key: "k"}); err != nil {
			t.Errorf("allowed %s: %v", u, err)
		}
	}
	if err := p.Check(context.Background(), Destination{URL: "rtmp://127.0.0.2/live", Key: "k"}); err == nil {
		t.Error("127.0.0.2 is outside the allow list")
	}
}

func TestMaskKey(t *testing.T) {
	for key, want := range map[string]string{"short": "****", "live_1234567890abcdef": "****cdef"} {
		if got := MaskKey(key); got != want {
			t.Errorf("MaskKey(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	d := &dest{d: Destination{URL: "rtmp://h/live", Key: "secret-key-123456"}}
	got := d.redact("Error closing file rtmp://h/live/secret-key-123456: Broken pipe (secret-key-123456)")
	if strings.Contains(got, "secret-key") || !strings.Contains(got, "rtmp://h/live/****3456") {
		t.Errorf("redact = %q", got)
	}
}
