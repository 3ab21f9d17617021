package edge

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/store"
)

// Headers a player may read cross-origin beyond the safelisted ones; hls.js
// and other players need Content-Range and Content-Length for byte ranges.
const exposeHeaders = "Accept-Ranges, Age, Content-Length, Content-Range, ETag, X-Cache"

// Request headers a player may send cross-origin.
const allowHeaders = "Range, If-Range, If-None-Match, If-Modified-Since, Cache-Control, Pragma"

func (e *Edge) serveMedia(w http.ResponseWriter, r *http.Request) {
	e.setCORS(w.Header(), r)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		h := w.Header()
		h.Set("Allow", "GET, HEAD, OPTIONS")
		if r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
			h.Set("Access-Control-Allow-Headers", allowHeaders)
			h.Set("Access-Control-Max-Age", "86400")
		}
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		jsonError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	p := r.URL.Path
	if e.grants != nil {
		var err error
		if p, err = e.grants.Check(r); err != nil {
			// Like CloudFront: no detail beyond what the viewer sent wrong.
			jsonError(w, http.StatusForbidden, err.Error())
			return
		}
	}
	key, ok := mediaKey(p)
	if !ok {
		jsonError(w, http.StatusBadRequest, "bad path")
		return
	}
	if fromIngest(key) && e.serveLive(w, r, key) {
		return
	}
	now := e.now()
	obj, hit, err := e.object(r.Context(), key, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		jsonError(w, http.StatusNotFound, "not found")
		return
	case err != nil && r.Context().Err() != nil:
		return // the client went away while waiting; nobody to answer
	case err != nil:
		e.log.Error("edge: origin read failed", "key", key, "err", err)
		jsonError(w, http.StatusBadGateway, "origin unavailable")
		return
	}
	e.serveObject(w, r, obj, hit, now)
}

func (e *Edge) serveObject(w http.ResponseWriter, r *http.Request, obj *object, hit bool, now time.Time) {
	// Shared, never-modified values: a cached response allocates little.
	h := w.Header()
	h["Content-Type"] = obj.hdrType
	h["X-Content-Type-Options"] = nosniff
	h["Content-Security-Policy"] = sandbox
	if obj.hdrDisposition != nil {
		h["Content-Disposition"] = obj.hdrDisposition
	}
	if obj.hdrCacheControl != nil {
		h["Cache-Control"] = obj.hdrCacheControl
	}
	if obj.hdrETag != nil {
		h["Etag"] = obj.hdrETag
	}
	// A streamed object's metadata may come from memory, its body never.
	if hit && obj.data != nil {
		h["X-Cache"] = hitFromEdge
		age := int64(now.Sub(obj.fetched).Seconds())
		h["Age"] = []string{strconv.FormatInt(max(age, 0), 10)}
	} else {
		h["X-Cache"] = missFromEdge
	}
	if obj.data != nil {
		// http.ServeContent does Range (single, suffix, open-ended, multi),
		// If-None-Match/If-Range/If-Modified-Since, HEAD and 416.
		dw := newDirectWriter(w, obj.data)
		http.ServeContent(dw, r, "", obj.lastModified, &dw.body)
		// For several ranges ServeContent reads the body from a goroutine
		// that may outlive it; such a reader must not be reused.
		if !strings.Contains(r.Header.Get("Range"), ",") {
			dw.release()
		}
		return
	}
	rr := &rangeReader{ctx: r.Context(), e: e, obj: obj}
	defer rr.Close()
	http.ServeContent(w, r, "", obj.lastModified, rr)
	if err := rr.Failed(); err != nil {
		// The object changed or S3 failed mid-response; the client sees a
		// short body, and the next request starts from fresh metadata.
		e.log.Warn("edge: streaming from origin failed", "key", obj.key, "err", err)
		if e.cache != nil {
			e.cache.remove(obj.key, obj)
		}
	}
}

// Header values shared by every response; net/http only reads them.
var (
	hitFromEdge   = []string{"Hit from edge"}
	missFromEdge  = []string{"Miss from edge"}
	anyOrigin     = []string{"*"}
	exposeHeaderV = []string{exposeHeaders}
	nosniff       = []string{"nosniff"}
	attachment    = []string{"attachment"}
	// Should a browser ever open a media object as a document, it runs
	// nothing and has no origin.
	sandbox = []string{"default-src 'none'; sandbox"}
)

func (e *Edge) setCORS(h http.Header, r *http.Request) {
	if e.allowAny {
		h["Access-Control-Allow-Origin"] = anyOrigin
	} else {
		h.Add("Vary", "Origin")
		if o := r.Header.Get("Origin"); o != "" && e.origins[o] {
			h.Set("Access-Control-Allow-Origin", o)
		}
	}
	h["Access-Control-Expose-Headers"] = exposeHeaderV
}

// mediaKey maps a request path (already percent-decoded by net/http) to a
// key under vod/ or live/. It accepts only plain segments of letters,
// digits and -_.~ that do not start with a dot, so "..", encoded or
// double-encoded dots, backslashes, NUL and other control bytes never reach
// S3, and the key can never leave its prefix.
func mediaKey(p string) (string, bool) {
	key := strings.TrimPrefix(p, "/")
	prefix, rest, ok := strings.Cut(key, "/")
	if !ok || (prefix != "vod" && prefix != "live") || len(key) > 1024 {
		return "", false
	}
	n := 0
	for seg := range strings.SplitSeq(rest, "/") {
		if !validSegment(seg) {
			return "", false
		}
		n++
	}
	// A stream or video folder, then at least a file name.
	return key, n >= 2
}

func validSegment(s string) bool {
	if s == "" || s[0] == '.' || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == '~':
		default:
			return false
		}
	}
	return true
}
