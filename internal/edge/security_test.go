package edge

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/hostguard"
	"github.com/hlsflow/hlsflow/internal/store"
)

// TestMediaNeverActive: whatever type an object was stored with, the edge
// serves nothing under vod/ or live/ as a type a browser runs (a stored
// XSS on the page's own origin); the types players need pass unchanged.
func TestMediaNeverActive(t *testing.T) {
	f := newFixture(t, Config{})
	cases := []struct {
		name, file, stored string
		want               string // "" means downloaded as application/octet-stream
	}{
		{"html", "evil.html", "text/html", ""},
		{"html with charset", "index.html", "text/html; charset=utf-8", ""},
		{"html under a playlist name", "master.m3u8", "TEXT/HTML", ""},
		{"xhtml", "page.xhtml", "application/xhtml+xml", ""},
		{"svg poster", "poster-1.jpg", "image/svg+xml", ""},
		{"xml", "feed.xml", "text/xml", ""},
		{"script", "app.js", "application/javascript", ""},
		{"text", "notes.txt", "text/plain", ""},
		{"pdf", "doc.pdf", "application/pdf", ""},
		{"html named .html stored as binary", "x.html", "application/octet-stream", ""},
		{"malformed type", "seg_1.ts", "text/html;;;=", "video/mp2t"},

		{"vod playlist", "master.m3u8", "application/vnd.apple.mpegurl", "application/vnd.apple.mpegurl"},
		{"segment", "seg_1.ts", "video/mp2t", "video/mp2t"},
		{"poster", "poster-1.jpg", "image/jpeg", "image/jpeg"},
		{"status", "status.json", "application/json", "application/json"},
		{"json with charset", "s.json", "application/json; charset=utf-8", "application/json; charset=utf-8"},
		{"segment stored as binary", "seg_2.ts", "binary/octet-stream", "video/mp2t"},
		{"subtitles", "en.vtt", "text/vtt", "text/vtt"},
		// XML a browser would render, so served with the sandboxing CSP
		// (checked for every case above) under which none of it runs.
		{"dash manifest", "manifest.mpd", "application/dash+xml", "application/dash+xml"},
		{"dash manifest stored as binary", "manifest.mpd", "binary/octet-stream", "application/dash+xml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := f.put(strings.ReplaceAll(c.name, " ", "-")+"/"+c.file, []byte("<script>alert(document.domain)</script>"),
				store.Object{ContentType: c.stored, CacheControl: "no-cache"})
			for _, method := range []string{"GET", "HEAD"} {
				resp, _ := f.do(method, key, nil)
				if resp.StatusCode != 200 {
					t.Fatalf("%s: status %d", method, resp.StatusCode)
				}
				h := resp.Header
				if h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
					t.Errorf("%s: nosniff %q, CSP %q", method, h.Get("X-Content-Type-Options"), h.Get("Content-Security-Policy"))
				}
				if c.want == "" {
					if h.Get("Content-Type") != "application/octet-stream" || h.Get("Content-Disposition") != "attachment" {
						t.Errorf("%s: stored as %q, served as %q, disposition %q; want a download", method, c.stored, h.Get("Content-Type"), h.Get("Content-Disposition"))
					}
					continue
				}
				if h.Get("Content-Type") != c.want || h.Get("Content-Disposition") != "" {
					t.Errorf("%s: served as %q (disposition %q), want %q", method, h.Get("Content-Type"), h.Get("Content-Disposition"), c.want)
				}
			}
		})
	}
}

// TestForeignHost: a request naming another host (DNS rebinding: a page on
// evil.example whose name now points here) reaches neither the API, the
// page nor the media bucket.
func TestForeignHost(t *testing.T) {
	reached := ""
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached += "api "; io.WriteString(w, `{"videos":[]}`) })
	web := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached += "web "; io.WriteString(w, "page") })
	f := newFixture(t, Config{API: api, Web: web, Hosts: hostguard.New(hostguard.Config{Hosts: []string{"studio.example"}})})
	key := f.put("a/seg.ts", []byte("segment"), store.For("seg.ts"))
	for _, p := range []string{"/api/videos", "/", "/" + key} {
		for _, host := range []string{"rebind.evil.example", "rebind.evil.example:8080", "studio.example.evil.example"} {
			req, _ := http.NewRequest("GET", f.srv.URL+p, nil)
			req.Host = host
			resp, err := f.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusMisdirectedRequest || strings.Contains(string(b), "segment") || strings.Contains(string(b), "videos") {
				t.Errorf("GET %s with Host %q: %d %q", p, host, resp.StatusCode, b)
			}
		}
	}
	// HTTP/1.0 allows no Host at all.
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /api/videos HTTP/1.0\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("HTTP/1.0 without Host: %v %v, want 421", resp, err)
	}
	if reached != "" {
		t.Errorf("handlers reached through a foreign host: %q", reached)
	}
	for _, host := range []string{"studio.example:8080", "localhost:8080", "127.0.0.1"} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/"+key, nil)
		req.Host = host
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("own host %q: %d", host, resp.StatusCode)
		}
	}
}
