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

// Handler serves the page: index.html at /, the rest under /static/.
// Responses carry a strong ETag (so revalidation costs a 304) and
// no-cache, because names are not content-hashed.
func Handler() http.Handler {
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
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
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
		h := w.Header()
		h.Set("ETag", a.etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
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
