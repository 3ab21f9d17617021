package ecsmeta

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// An abridged answer of a Fargate task's GET /task: the ingest container
// and a sidecar, awsvpc networking.
const fargateTask = `{"Cluster":"arn:aws:ecs:us-east-1:111122223333:cluster/hlsflow","TaskARN":"arn:aws:ecs:us-east-1:111122223333:task/hlsflow/0123",
"Family":"ingest","Revision":"7","DesiredStatus":"RUNNING","KnownStatus":"RUNNING",
"Containers":[
 {"Name":"~internal~ecs~pause","Networks":[]},
 {"Name":"ingest","Networks":[{"NetworkMode":"awsvpc","IPv4Addresses":["10.0.1.23"],"AttachmentIndex":0,"MACAddress":"0A:DE:F6:10:51:E5",
   "IPv4SubnetCIDRBlock":"10.0.1.0/24","PrivateDNSName":"ip-10-0-1-23.ec2.internal"}]}
],"LaunchType":"FARGATE","AvailabilityZone":"us-east-1a"}`

func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h) // 127.0.0.1
	t.Cleanup(srv.Close)
	return srv.URL + "/v4/0123-abcd"
}

func TestTaskIPv4(t *testing.T) {
	var asked string
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		asked = r.Method + " " + r.URL.Path
		_, _ = w.Write([]byte(fargateTask))
	})
	ip, err := TaskIPv4(t.Context(), http.DefaultClient, base)
	if err != nil || ip.String() != "10.0.1.23" {
		t.Fatalf("= %v, %v; want 10.0.1.23", ip, err)
	}
	if asked != "GET /v4/0123-abcd/task" {
		t.Errorf("asked %q", asked)
	}
}

func TestTaskNetwork(t *testing.T) {
	for _, tc := range []struct {
		name, answer, ip, mac string
	}{
		{"fargate", fargateTask, "10.0.1.23", "0a:de:f6:10:51:e5"},
		{"no MAC", `{"Containers":[{"Networks":[{"IPv4Addresses":["10.0.1.9"]}]}]}`, "10.0.1.9", ""},
		{"MAC not one", `{"Containers":[{"Networks":[{"IPv4Addresses":["10.0.1.9"],"MACAddress":"0a:de:f6:10:51:e5:00:01; rm -rf"}]}]}`, "10.0.1.9", ""},
		{"MAC of 8 bytes", `{"Containers":[{"Networks":[{"IPv4Addresses":["10.0.1.9"],"MACAddress":"00:00:00:00:fe:80:00:00"}]}]}`, "10.0.1.9", ""},
		{"first usable network", `{"Containers":[{"Networks":[{"IPv4Addresses":["127.0.0.1"],"MACAddress":"02:00:00:00:00:01"},{"IPv4Addresses":["10.0.2.7"],"MACAddress":"02:00:00:00:00:02"}]}]}`, "10.0.2.7", "02:00:00:00:00:02"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := TaskNetwork(t.Context(), http.DefaultClient, serve(t, func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte(tc.answer))
			}))
			if err != nil || n.IPv4.String() != tc.ip || n.MAC != tc.mac {
				t.Errorf("= %+v, %v; want %s %q", n, err, tc.ip, tc.mac)
			}
		})
	}
}

// Whatever the endpoint (or something in its place) answers, the lookup
// ends with a clear error, reads a bounded amount and does not hang.
func TestTaskIPv4BadAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		h          http.HandlerFunc
	}{
		{"no address", "no IPv4 address", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"Containers":[{"Networks":[{"IPv4Addresses":[]}]}]}`))
		}},
		{"addresses not IPv4 or not usable", "no IPv4 address", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"Containers":[{"Networks":[{"IPv4Addresses":["fd00::1","0.0.0.0","127.0.0.1","224.0.0.1","10.0.0.300","x"]}]}]}`))
		}},
		{"not JSON", "/task", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>")) }},
		{"wrong shape", "/task", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"Containers":"ingest"}`)) }},
		{"error status", "500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) }},
		{"endless answer", "over", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"Containers":[` + strings.Repeat(`{"Networks":[]},`, maxBody/15) + `{}]}`))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip, err := TaskIPv4(t.Context(), http.DefaultClient, serve(t, tc.h))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("= %v, %v; want an error with %q", ip, err, tc.want)
			}
		})
	}
	t.Run("not on ECS", func(t *testing.T) {
		if _, err := TaskIPv4(t.Context(), http.DefaultClient, ""); !errors.Is(err, ErrNotOnECS) {
			t.Errorf("= %v, want ErrNotOnECS", err)
		}
	})
	t.Run("silent endpoint", func(t *testing.T) {
		release := make(chan struct{})
		base := serve(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		defer close(release)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := TaskIPv4(ctx, http.DefaultClient, base); err == nil || time.Since(start) > 2*time.Second {
			t.Errorf("= %v after %v, want an error at the deadline", err, time.Since(start))
		}
	})
}
