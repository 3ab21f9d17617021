package ingest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/ecsmeta"
)

// LIVE_ORIGIN_URL=ecs becomes this task's address, read from the ECS task
// metadata (a fake endpoint on 127.0.0.1 here), on LIVE_ADDR's port, else
// HEALTH_ADDR's; anything else is left alone, and a lookup that fails
// stops the start with the reason.
func TestResolveOrigin(t *testing.T) {
	meta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v4/abc/task" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"Containers":[{"Name":"ingest","Networks":[{"NetworkMode":"awsvpc","IPv4Addresses":["10.0.1.23"]}]}]}`))
	}))
	defer meta.Close()
	fromECS := func(base string) func(context.Context) (netip.Addr, error) {
		return func(ctx context.Context) (netip.Addr, error) { return ecsmeta.TaskIPv4(ctx, meta.Client(), base) }
	}
	for _, tc := range []struct {
		name                 string
		origin, live, health string
		meta                 string
		want, err            string
	}{
		{"live listener", "ecs", ":8082", ":8081", meta.URL + "/v4/abc", "http://10.0.1.23:8082", ""},
		{"health listener", "ecs", "", ":8081", meta.URL + "/v4/abc", "http://10.0.1.23:8081", ""},
		{"given URL kept", "http://10.9.9.9:8082", ":8082", ":8081", "", "http://10.9.9.9:8082", ""},
		{"single task", "", ":8082", ":8081", "", "", ""},
		{"not on ECS", "ecs", ":8082", ":8081", "", "", "not set"},
		{"metadata refuses", "ecs", ":8082", ":8081", meta.URL + "/v4/other", "", "404"},
		{"no fixed port", "ecs", "", "127.0.0.1:0", meta.URL + "/v4/abc", "", "fixed port"},
		{"no listener", "ecs", "", "", meta.URL + "/v4/abc", "", "fixed port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{OriginURL: tc.origin, LiveAddr: tc.live, HTTPAddr: tc.health}
			err := c.ResolveOrigin(t.Context(), fromECS(tc.meta))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("= %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil || c.OriginURL != tc.want {
				t.Errorf("OriginURL %q, %v; want %q", c.OriginURL, err, tc.want)
			}
		})
	}
	t.Run("lookup not made unless asked", func(t *testing.T) {
		c := Config{OriginURL: "http://10.0.0.1:8081", HTTPAddr: ":8081"}
		if err := c.ResolveOrigin(t.Context(), func(context.Context) (netip.Addr, error) {
			return netip.Addr{}, errors.New("asked")
		}); err != nil {
			t.Error(err)
		}
	})
}

// LIVE_ADDR is read like the other listeners ("off" or unset: none).
func TestConfigLiveAddr(t *testing.T) {
	for v, want := range map[string]string{"": "", "off": "", ":8082": ":8082"} {
		c, err := ConfigFromEnv(func(k string) string {
			return map[string]string{"MEDIA_BUCKET": "m", "LIVE_ADDR": v, "LIVE_ORIGIN_URL": "ecs"}[k]
		})
		if err != nil || c.LiveAddr != want || c.OriginURL != OriginFromECS {
			t.Errorf("LIVE_ADDR=%q: %q %q %v, want %q", v, c.LiveAddr, c.OriginURL, err, want)
		}
	}
}
