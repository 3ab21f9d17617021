package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/hls"
)

// Abuse through the whole system (issue 15), as a stranger on the network
// would try it against `hlsflow up`. Each package has its own, finer
// tests; these prove the pieces are wired together.

// TestAbuseWritesNeedToken: nothing that changes state is done for a
// request without the API token, and an unknown id is 401, not 404.
func TestAbuseWritesNeedToken(t *testing.T) {
	if sys.Local == nil {
		t.Skip("needs the local system's API token")
	}
	body := []byte(`{"filename":"x.mp4","size":1000,"contentType":"video/mp4"}`)
	for _, c := range []struct{ method, path, auth string }{
		{http.MethodPost, "/api/uploads", ""},
		{http.MethodPost, "/api/uploads", "Bearer " + strings.Repeat("0", 32)},
		{http.MethodPost, "/api/uploads/no-such-upload-0123456789ab/complete", ""},
		{http.MethodDelete, "/api/uploads/no-such-upload-0123456789ab", ""},
		{http.MethodPost, "/api/streams", ""},
		{http.MethodGet, "/api/videos", ""},
	} {
		req, err := http.NewRequest(c.method, sys.EdgeURL+c.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s (auth %q): %s, want 401", c.method, c.path, c.auth, resp.Status)
		}
	}
	// The token does what strangers cannot.
	req, _ := http.NewRequest(http.MethodPost, sys.EdgeURL+"/api/uploads", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+apiToken(t))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		ID string `json:"id"`
	}
	json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || up.ID == "" {
		t.Errorf("with the token: %s, id %q; want 201 and an id", resp.Status, up.ID)
	}
}

// TestAbuseIdleRTMPFlood: one address holding 70 idle RTMP connections
// must not lock a real publisher out.
func TestAbuseIdleRTMPFlood(t *testing.T) {
	if sys.Local == nil || sys.RTMPAddr == "" {
		t.Skip("needs the local RTMP ingest (the flood comes from 127.0.0.2)")
	}
	out, errOut, code := hlsflow(t, "stream", "create", "e2e-flood")
	if code != 0 {
		t.Fatalf("stream create: exit %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`publish:\s+(rtmp://\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no publish URL in:\n%s", out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// The flood: 70 sockets from 127.0.0.2, each dialled again as soon as
	// the server drops it, for as long as the test runs.
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: time.Second}
	for range 70 {
		wg.Go(func() {
			for ctx.Err() == nil {
				c, err := d.DialContext(ctx, "tcp", sys.RTMPAddr)
				if err != nil {
					select {
					case <-ctx.Done():
					case <-time.After(100 * time.Millisecond):
					}
					continue
				}
				// Idle: read until the server closes it or the test ends.
				stop := context.AfterFunc(ctx, func() { c.Close() })
				_, _ = c.Read(make([]byte, 1))
				stop()
				c.Close()
			}
		})
	}
	time.Sleep(time.Second) // let the flood take its places first

	done := make(chan error, 1)
	go func() { done <- publish(ctx, t, m[1], "flv", 20) }()
	master := "live/e2e-flood/master.m3u8"
	deadline := time.Now().Add(45 * time.Second)
	var mp *hls.MasterPlaylist
	for mp == nil && time.Now().Before(deadline) {
		if resp, body := edgeGet(t, http.MethodGet, master, nil); resp.StatusCode == http.StatusOK {
			mp, _ = hls.ParseMaster(body)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if mp == nil || len(mp.Variants) == 0 {
		t.Fatalf("the real publisher got no live master while one address held 70 idle connections")
	}
	waitPlaylist(t, resolve(master, mp.Variants[0].URI), 2, 40*time.Second)
	cancel()
	<-done
}

// TestAbuseUDPStrangerFirst: a stranger sending MPEG-TS null packets to
// the UDP port before and during a real feed can neither claim the stream
// nor stop it.
func TestAbuseUDPStrangerFirst(t *testing.T) {
	if sys.Local == nil || sys.UDPAddr == "" {
		t.Skip("needs the local UDP ingest (the stranger sends from 127.0.0.3)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	raddr, err := net.ResolveUDPAddr("udp", sys.UDPAddr)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 3)}, raddr)
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	null := make([]byte, 0, 7*188)
	for range 7 {
		pkt := bytes.Repeat([]byte{0xff}, 188)
		copy(pkt, []byte{0x47, 0x1f, 0xff, 0x10})
		null = append(null, pkt...)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		for ctx.Err() == nil {
			_, _ = stranger.Write(null)
			time.Sleep(5 * time.Millisecond)
		}
	})
	time.Sleep(2 * time.Second) // the stranger is first

	// Segments an earlier stream left under the same name do not count.
	master := "live/udp/master.m3u8"
	old := liveSegments(t, master)
	done := make(chan error, 1)
	go func() { done <- publish(ctx, t, "udp://"+sys.UDPAddr+"?pkt_size=1316", "mpegts", 16) }()
	deadline := time.Now().Add(60 * time.Second)
	fresh := 0
	for time.Now().Before(deadline) && fresh < 3 {
		fresh = 0
		for seg := range liveSegments(t, master) {
			if !old[seg] {
				fresh++
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	if fresh < 3 {
		t.Fatalf("%d new segments of the real feed in 60 s: the stranger's null packets kept it out", fresh)
	}
	cancel()
	<-done
}

// liveSegments is the set of segment paths the first variant of a live
// master lists now (empty when there is none).
func liveSegments(t *testing.T, master string) map[string]bool {
	t.Helper()
	segs := map[string]bool{}
	resp, body := edgeGet(t, http.MethodGet, master, nil)
	if resp.StatusCode != http.StatusOK {
		return segs
	}
	mp, err := hls.ParseMaster(body)
	if err != nil || len(mp.Variants) == 0 {
		return segs
	}
	p := resolve(master, mp.Variants[0].URI)
	resp, body = edgeGet(t, http.MethodGet, p, nil)
	if resp.StatusCode != http.StatusOK {
		return segs
	}
	pl, err := hls.ParseMedia(body)
	if err != nil {
		return segs
	}
	for _, s := range pl.Segments {
		segs[resolve(p, s.URI)] = true
	}
	return segs
}
