package edge

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestSharedTTL(t *testing.T) {
	cases := []struct {
		cc  string
		ttl time.Duration
		ok  bool
	}{
		{"public, max-age=31536000, immutable", 31536000 * time.Second, true},
		{"public, max-age=1", time.Second, true},
		{"max-age=60, s-maxage=5", 5 * time.Second, true},
		{`Max-Age="30"`, 30 * time.Second, true},
		{"no-cache", 0, false},
		{"public, max-age=60, no-store", 0, false},
		{"private, max-age=60", 0, false},
		{"max-age=0", 0, false},
		{"max-age=abc", 0, false},
		{"", 0, false},
		{"public", 0, false},
	}
	for _, c := range cases {
		t.Run(c.cc, func(t *testing.T) {
			ttl, ok := sharedTTL(c.cc)
			if ttl != c.ttl || ok != c.ok {
				t.Errorf("sharedTTL(%q) = %v, %v; want %v, %v", c.cc, ttl, ok, c.ttl, c.ok)
			}
		})
	}
}

func TestMediaKey(t *testing.T) {
	cases := []struct {
		path string
		key  string
		ok   bool
	}{
		{"/vod/abc-123/master.m3u8", "vod/abc-123/master.m3u8", true},
		{"/vod/abc/720p/seg_00001.ts", "vod/abc/720p/seg_00001.ts", true},
		{"/live/cam1/index.m3u8", "live/cam1/index.m3u8", true},
		{"/vod/abc", "", false},
		{"/vod/", "", false},
		{"/vod", "", false},
		{"/vodx/a/b", "", false},
		{"/vod/../a/b", "", false},
		{"/vod/a/../b", "", false},
		{"/vod/a/./b", "", false},
		{"/vod/a/.hidden", "", false},
		{"/vod/a//b", "", false},
		{"/vod/a/b/", "", false},
		{`/vod/a\b/c`, "", false},
		{"/vod/a/b\x00.ts", "", false},
		{"/vod/a/%2e%2e", "", false},
		{"/vod/a/b c.ts", "", false},
		{"/vod/a/b\n.ts", "", false},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			key, ok := mediaKey(c.path)
			if key != c.key && ok || ok != c.ok {
				t.Errorf("mediaKey(%q) = %q, %v; want %q, %v", c.path, key, ok, c.key, c.ok)
			}
		})
	}
}

// rawGet sends target on the wire unchanged, since Go's client would clean
// or re-encode some of the paths the tests need.
func rawGet(t *testing.T, addr, target string) (int, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response to %q: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}
