package ingest

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// ResolveWHIPPublic: the task's address replaces the load balancer's;
// without it the balancer's stays, and the error says which addresses
// the candidates carry.
func TestResolveWHIPPublic(t *testing.T) {
	found := func(ip string, err error) func(context.Context) (netip.Addr, error) {
		return func(context.Context) (netip.Addr, error) {
			if err != nil {
				return netip.Addr{}, err
			}
			return netip.MustParseAddr(ip), nil
		}
	}
	base := Config{WHIPICEAddr: ":8189", WHIPPublicFromTask: true, WHIPPublicHost: "nlb.example.com"}
	for _, tc := range []struct {
		name    string
		cfg     Config
		find    func(context.Context) (netip.Addr, error)
		ips     []string
		host    string
		wantErr string
	}{
		{"found", base, found("203.0.113.7", nil), []string{"203.0.113.7"}, "", ""},
		{"not found: the balancer's", base, found("", errors.New("AccessDenied")), nil, "nlb.example.com", "addresses of nlb.example.com"},
		{"not found, no balancer", Config{WHIPICEAddr: ":8189", WHIPPublicFromTask: true}, found("", errors.New("no MAC")), nil, "", "ports' own"},
		{"not IPv4", base, found("2001:db8::1", nil), nil, "nlb.example.com", "not an IPv4"},
		{"not asked", Config{WHIPICEAddr: ":8189", WHIPPublicIPs: []string{"198.51.100.1"}}, found("", errors.New("must not be called")),
			[]string{"198.51.100.1"}, "", ""},
		{"whip off", Config{WHIPPublicFromTask: true}, found("", errors.New("must not be called")), nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			err := c.ResolveWHIPPublic(t.Context(), tc.find)
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			if !slices.Equal(c.WHIPPublicIPs, tc.ips) || c.WHIPPublicHost != tc.host {
				t.Errorf("ips %v host %q, want %v %q", c.WHIPPublicIPs, c.WHIPPublicHost, tc.ips, tc.host)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		c := base
		begin := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		err := c.ResolveWHIPPublic(ctx, func(ctx context.Context) (netip.Addr, error) {
			<-ctx.Done()
			return netip.Addr{}, ctx.Err()
		})
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(begin) > 2*time.Second {
			t.Errorf("= %v after %v", err, time.Since(begin))
		}
	})
}
