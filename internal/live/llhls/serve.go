package llhls

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/hls"
)

// Limits of what a request may ask (RFC 8216bis §6.2.5.2): a segment
// more than two past the newest, or a part more than three past the
// newest, is refused at once rather than held.
const (
	aheadSegments = 2
	aheadParts    = 3
)

// ServeHTTP answers, for a path relative to the stream's folder:
//
//	{rendition}/index.m3u8[?_HLS_msn=M[&_HLS_part=P]]  the LL-HLS playlist,
//	    held until it has segment M (part P of it) for up to three target
//	    durations, then 503
//	{rendition}/part_{M}_{P}.m4s  a part, held likewise if it is the next
//	{rendition}/init_{N}.mp4      an initialization section
//
// The caller strips the prefix (http.StripPrefix).
func (o *Origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, file, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	ri := -1
	for i, n := range o.cfg.Renditions {
		if n == name {
			ri = i
		}
	}
	if !ok || ri < 0 {
		http.NotFound(w, r)
		return
	}
	switch {
	case file == "index.m3u8":
		o.servePlaylist(w, r, ri)
	case strings.HasPrefix(file, "init_") && strings.HasSuffix(file, ".mp4"):
		gen, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(file, "init_"), ".mp4"))
		o.mu.Lock()
		data := o.rends[ri].inits[gen]
		o.mu.Unlock()
		if err != nil || data == nil {
			http.NotFound(w, r)
			return
		}
		serve(w, r, "video/mp4", "public, max-age=3600", data)
	case strings.HasPrefix(file, "part_") && strings.HasSuffix(file, ".m4s"):
		msn, part, ok := parsePart(strings.TrimSuffix(strings.TrimPrefix(file, "part_"), ".m4s"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		o.servePart(w, r, ri, msn, part)
	default:
		http.NotFound(w, r)
	}
}

func parsePart(s string) (uint64, int, bool) {
	a, b, ok := strings.Cut(s, "_")
	msn, err1 := strconv.ParseUint(a, 10, 63)
	part, err2 := strconv.ParseUint(b, 10, 31)
	return msn, int(part), ok && err1 == nil && err2 == nil
}

func (o *Origin) servePlaylist(w http.ResponseWriter, r *http.Request, ri int) {
	q := r.URL.Query()
	msnS, partS, skip := q.Get(hls.QueryMSN), q.Get(hls.QueryPart), q.Get(hls.QuerySkip)
	if skip != "" && skip != "YES" && skip != "v2" {
		http.Error(w, "bad _HLS_skip", http.StatusBadRequest)
		return
	}
	if msnS == "" {
		if partS != "" {
			http.Error(w, "_HLS_part without _HLS_msn", http.StatusBadRequest)
			return
		}
		o.mu.Lock()
		body, err := o.playlist(o.rends[ri])
		o.mu.Unlock()
		o.writePlaylist(w, r, body, err, false)
		return
	}
	msn, err := strconv.ParseUint(msnS, 10, 63)
	part := -1
	if err == nil && partS != "" {
		var p uint64
		p, err = strconv.ParseUint(partS, 10, 31)
		part = int(p)
	}
	if err != nil {
		http.Error(w, "bad _HLS_msn or _HLS_part", http.StatusBadRequest)
		return
	}
	var body []byte
	status := o.hold(r, func() (bool, int) {
		rd := o.rends[ri]
		m, p := rd.normal(msn, part)
		lastMSN, _ := rd.last()
		switch {
		case o.ended || rd.has(m, p):
			body, err = o.playlist(rd)
			return true, 0
		case m > lastMSN+aheadSegments || (m == rd.next && p > len(rd.partial)-1+aheadParts):
			return true, http.StatusBadRequest
		}
		return false, 0
	})
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	o.writePlaylist(w, r, body, err, true)
}

func (o *Origin) servePart(w http.ResponseWriter, r *http.Request, ri int, msn uint64, part int) {
	var data []byte
	status := o.hold(r, func() (bool, int) {
		rd := o.rends[ri]
		if d, ok := rd.part(msn, part); ok {
			data = d
			return true, 0
		}
		// Only the part to come (the preload hint) is waited for.
		if !o.ended && msn == rd.next && part == len(rd.partial) {
			return false, 0
		}
		return true, http.StatusNotFound
	})
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	// A part never changes: cache it for the few seconds it is listed.
	serve(w, r, "video/mp4", "public, max-age=60", data)
}

// hold calls ready with mu held, now and at every change, until it says
// done (with a status, 0 for success), the request ends, or three target
// durations pass (503). At most MaxWaiters requests are held at once; the
// rest are refused with 503 at once.
func (o *Origin) hold(r *http.Request, ready func() (done bool, status int)) int {
	o.mu.Lock()
	if done, status := ready(); done {
		o.mu.Unlock()
		return status
	}
	if o.waiters >= o.cfg.MaxWaiters {
		o.mu.Unlock()
		return http.StatusServiceUnavailable
	}
	o.waiters++
	defer func() {
		o.mu.Lock()
		o.waiters--
		o.mu.Unlock()
	}()
	wake := o.changed
	o.mu.Unlock()
	timeout := time.NewTimer(3 * o.cfg.Target)
	defer timeout.Stop()
	for {
		select {
		case <-wake:
		case <-timeout.C:
			return http.StatusServiceUnavailable
		case <-r.Context().Done():
			return http.StatusServiceUnavailable
		}
		o.mu.Lock()
		done, status := ready()
		wake = o.changed
		o.mu.Unlock()
		if done {
			return status
		}
	}
}

// writePlaylist sends a playlist. A blocking reload's answer stays valid
// for a while (a CDN caches it under its query string); a plain one for
// less than a part.
func (o *Origin) writePlaylist(w http.ResponseWriter, r *http.Request, body []byte, err error, blocking bool) {
	if err != nil {
		http.Error(w, "playlist unavailable", http.StatusInternalServerError)
		return
	}
	cache := "no-cache"
	if blocking {
		cache = "public, max-age=" + strconv.Itoa(int(6*o.cfg.Target/time.Second))
	}
	serve(w, r, "application/vnd.apple.mpegurl", cache, body)
}

func serve(w http.ResponseWriter, r *http.Request, typ, cache string, body []byte) {
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Cache-Control", cache)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}
