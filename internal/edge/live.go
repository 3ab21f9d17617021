package edge

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/hls"
)

// Low-Latency HLS: a live rendition's playlist, parts and initialization
// sections come from the ingest that holds the stream (it holds blocking
// reloads, which S3 cannot); full segments, the DVR window and the
// recording stay in the bucket. CloudFront does the same with a cache
// behaviour per path (infra).

// liveTimeout bounds a request to the ingest: more than a blocking
// reload's longest hold (three target durations).
const liveTimeout = 15 * time.Second

// maxLiveBody bounds what is read from the ingest for one request.
const maxLiveBody = 32 << 20

// fromIngest says whether key (live/{name}/{rendition}/{file}) is served by
// the ingest: a rendition's playlist, a part or an initialization section.
func fromIngest(key string) bool {
	parts := strings.Split(key, "/")
	if len(parts) != 4 || parts[0] != "live" {
		return false
	}
	f := parts[3]
	return f == "index.m3u8" || (strings.HasPrefix(f, "part_") && strings.HasSuffix(f, ".m4s")) ||
		(strings.HasPrefix(f, "init_") && strings.HasSuffix(f, ".mp4") && !strings.Contains(key, ".."))
}

// serveLive proxies r to the ingest; false when the ingest does not hold
// the stream (404) or has no low-latency origin, so the caller serves the
// bucket's copy (an ended stream's playlist, a plain live stream).
func (e *Edge) serveLive(w http.ResponseWriter, r *http.Request, key string) bool {
	base := e.liveOrigin()
	if base == "" {
		return false
	}
	q, in := url.Values{}, r.URL.Query()
	for _, k := range hls.LowLatencyQuery { // passed to the ingest, nothing else
		if v, ok := in[k]; ok && len(v) == 1 && len(v[0]) <= 32 {
			q.Set(k, v[0])
		}
	}
	u := base + "/" + key
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u, nil)
	if err != nil {
		return false
	}
	resp, err := e.liveClient.Do(req)
	if err != nil {
		if r.Context().Err() == nil {
			e.log.Warn("edge: live origin unavailable", "key", key, "err", err)
		}
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound && strings.HasSuffix(key, ".m3u8") {
		return false
	}
	h := w.Header()
	for _, k := range []string{"Content-Type", "Cache-Control", "Content-Length"} {
		if v := resp.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h["Content-Security-Policy"] = sandbox
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(resp.Body, maxLiveBody))
	return true
}
