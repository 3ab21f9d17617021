// Package web is hlsflow's page: upload, library, player and live streams,
// plain HTML/CSS/JS embedded into the binary (with a pinned copy of
// hls.js), so the page works offline and needs no build step. The edge
// serves it at /.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// files holds the page. static/vendor/hls.min.js and hls.worker.js are
// committed copies from the npm package pinned in package.json (see
// mk/api.mk's setup-web-vendor).
//
//go:embed static
var files embed.FS

// HLSVersion is the version of the embedded hls.js.
const HLSVersion = "1.7.4"

type asset struct {
	data []byte
	etag string
}

// ContentSecurityPolicy is what the page may load and do: its own scripts
// and styles only (no inline code, no eval); images, media and requests
// from its own origin and from origins (the edge's public URL when the
// browser named it otherwise, the S3 endpoint presigned uploads go to);
// media also from blob: URLs (hls.js feeds the video element through
// MediaSource; data: for the empty "data:,WEBVTT" <track> hls.js makes
// for each subtitles track, then fills with cues) and hls.js's
// transmuxing worker from a blob: URL; no
// plugins, no <base>, no form posts elsewhere, and no framing by any site.
func ContentSecurityPolicy(origins ...string) string {
	self := strings.Join(append([]string{"'self'"}, origins...), " ")
	return "default-src 'self'; script-src 'self'; style-src 'self'; " +
		"img-src " + self + "; media-src " + self + " blob: data:; connect-src " + self + "; worker-src 'self' blob:; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// Handler serves the page: index.html at /, the rest under /static/.
// Responses carry a strong ETag (so revalidation costs a 304) and
// no-cache, because names are not content-hashed, and the page's
// Content-Security-Policy, which lets it reach its own origin only.
func Handler() http.Handler { return HandlerFor(nil) }

// HandlerFor is Handler with origins, when not nil, giving for each
// request the other origins the page may reach (see
// ContentSecurityPolicy): they may depend on the name the browser used.
func HandlerFor(origins func(*http.Request) []string) http.Handler {
	assets := map[string]asset{}
	_ = fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		assets["/"+p] = asset{data: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		var others []string
		if origins != nil {
			others = origins(r)
		}
		h.Set("Content-Security-Policy", ContentSecurityPolicy(others...))
		h.Set("X-Frame-Options", "DENY") // browsers older than frame-ancestors
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		if p == "/" || p == "/index.html" {
			p = "/static/index.html"
		}
		a, ok := assets[p]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.Set("ETag", a.etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Type", contentType(p))
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.data))
	})
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	default:
		return "text/plain; charset=utf-8"
	}
}
