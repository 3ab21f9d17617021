package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The committed hls.js must be the npm package pinned in package.json and
// package-lock.json, byte for byte.
func TestVendoredHLSMatchesNPM(t *testing.T) {
	lock, err := os.ReadFile("package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	if err := json.Unmarshal(lock, &l); err != nil {
		t.Fatal(err)
	}
	if v := l.Packages["node_modules/hls.js"].Version; v != HLSVersion {
		t.Errorf("package-lock.json pins hls.js %q, the embedded copy is %q: run make setup-web-vendor", v, HLSVersion)
	}
	ver, err := os.ReadFile("static/vendor/hls.js-VERSION")
	if err != nil || strings.TrimSpace(string(ver)) != HLSVersion {
		t.Errorf("static/vendor/hls.js-VERSION = %q, %v; want %q", ver, err, HLSVersion)
	}
	npm, err := os.ReadFile(filepath.Join("node_modules", "hls.js", "dist", "hls.min.js"))
	if os.IsNotExist(err) {
		t.Skip("web/node_modules not installed (make setup-web); only the pinned versions were compared")
	}
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("static/vendor/hls.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(npm, committed) {
		t.Error("static/vendor/hls.min.js differs from node_modules/hls.js/dist/hls.min.js: run make setup-web-vendor")
	}
	// The transmuxing worker, loaded from the page's origin (a strict CSP
	// forbids the blob: worker hls.js would otherwise make).
	npmWorker, err := os.ReadFile(filepath.Join("node_modules", "hls.js", "dist", "hls.worker.js"))
	if err != nil {
		t.Fatal(err)
	}
	if committed, err := os.ReadFile("static/vendor/hls.worker.js"); err != nil || !bytes.Equal(npmWorker, committed) {
		t.Errorf("static/vendor/hls.worker.js differs from node_modules/hls.js/dist/hls.worker.js (%v): run make setup-web-vendor", err)
	}
	var pkg struct{ Version string }
	if b, err := os.ReadFile(filepath.Join("node_modules", "hls.js", "package.json")); err == nil {
		_ = json.Unmarshal(b, &pkg)
	}
	if pkg.Version != HLSVersion {
		t.Errorf("node_modules has hls.js %q, want %q", pkg.Version, HLSVersion)
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	tests := []struct {
		name, method, path string
		header             map[string]string
		wantStatus         int
		wantType           string
		wantIn             string
	}{
		{"root is the page", "GET", "/", nil, 200, "text/html; charset=utf-8", "<title>hlsflow</title>"},
		{"index.html", "GET", "/index.html", nil, 200, "text/html; charset=utf-8", "id=\"dropzone\""},
		{"script", "GET", "/static/app.js", nil, 200, "text/javascript; charset=utf-8", "'use strict'"},
		{"style", "GET", "/static/style.css", nil, 200, "text/css; charset=utf-8", ":root"},
		{"hls.js", "GET", "/static/vendor/hls.min.js", nil, 200, "text/javascript; charset=utf-8", "Hls"},
		{"hls.js worker", "GET", "/static/vendor/hls.worker.js", nil, 200, "text/javascript; charset=utf-8", "use strict"},
		{"licence", "GET", "/static/vendor/hls.js-LICENSE", nil, 200, "text/plain; charset=utf-8", "Apache License"},
		{"head", "HEAD", "/", nil, 200, "text/html; charset=utf-8", ""},
		{"missing", "GET", "/static/nope.js", nil, 404, "", ""},
		{"source is not served", "GET", "/web.go", nil, 404, "", ""},
		{"traversal", "GET", "/static/../web.go", nil, 404, "", ""},
		{"post", "POST", "/", nil, 405, "", ""},
		{"range", "GET", "/static/app.js", map[string]string{"Range": "bytes=0-9"}, 206, "text/javascript; charset=utf-8", "// hlsflow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantType != "" && resp.Header.Get("Content-Type") != tt.wantType {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tt.wantType)
			}
			if !strings.Contains(string(body), tt.wantIn) {
				t.Errorf("body does not contain %q", tt.wantIn)
			}
		})
	}
}

func TestRevalidation(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/static/app.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if etag == "" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q Cache-Control %q", etag, resp.Header.Get("Cache-Control"))
	}
	req, _ := http.NewRequest("GET", srv.URL+"/static/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation = %d, want 304", resp.StatusCode)
	}
}

// Every local file the page links to is served.
func TestPageLinksResolve(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	page, err := files.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`(?:src|href)="(/[^"]*)"`).FindAllStringSubmatch(string(page), -1)
	if len(links) < 3 {
		t.Fatalf("found only %d local links in index.html", len(links))
	}
	for _, m := range links {
		resp, err := http.Get(srv.URL + m[1])
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s = %d", m[1], resp.StatusCode)
		}
	}
}
