package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
)

// With more than one ingest task behind the load balancer, a request for
// a low-latency stream's playlist or part reaches any task, and only the
// task that holds the stream has its parts. The holder writes where it
// serves them (Config.OriginURL) to the bucket when the stream starts and
// removes it when the stream is finalised; another task reads that record
// and forwards the request there, once: a forwarded request carries
// forwardedHeader and is never forwarded again. Parts live for seconds, so
// sharing them through S3 would cost a PUT per part and add its latency.

const (
	forwardedHeader = "X-Hlsflow-Forwarded"
	// holderTTL is how long a task trusts what it read of a holder.
	holderTTL = time.Second
	// maxHolders bounds the holders remembered.
	maxHolders = 1024
)

type holderRecord struct {
	URL string `json:"url"`
}

type holderEntry struct {
	url *url.URL // nil: no other holder
	at  time.Time
}

// holders caches who holds which stream.
type holders struct {
	mu sync.Mutex
	m  map[string]holderEntry
}

// announce records this task as the holder of stream name.
func (s *Service) announce(ctx context.Context, name string) {
	if s.cfg.OriginURL == "" {
		return
	}
	b, _ := json.Marshal(holderRecord{URL: s.cfg.OriginURL})
	if err := s.deps.Store.PutBytes(ctx, s.cfg.Bucket, catalog.LiveOriginKey(name), b,
		store.Object{ContentType: "application/json", CacheControl: "no-store"}); err != nil {
		s.deps.Log.Warn("live: recording this task as the stream's origin", "stream", name, "err", err)
	}
}

// retire removes the record of stream name, if this task wrote it.
func (s *Service) retire(ctx context.Context, name string) {
	if s.cfg.OriginURL == "" {
		return
	}
	if b, err := s.deps.Store.GetBytes(ctx, s.cfg.Bucket, catalog.LiveOriginKey(name)); err == nil {
		var rec holderRecord
		if json.Unmarshal(b, &rec) == nil && rec.URL == s.cfg.OriginURL {
			_ = s.deps.Store.DeleteKeys(ctx, s.cfg.Bucket, []string{catalog.LiveOriginKey(name)})
		}
	}
}

// holder returns the other task holding stream name, nil if none.
func (s *Service) holder(ctx context.Context, name string) *url.URL {
	s.holders.mu.Lock()
	e, ok := s.holders.m[name]
	s.holders.mu.Unlock()
	if ok && time.Since(e.at) < holderTTL {
		return e.url
	}
	e = holderEntry{at: time.Now()}
	b, err := s.deps.Store.GetBytes(ctx, s.cfg.Bucket, catalog.LiveOriginKey(name))
	var rec holderRecord
	if err == nil && json.Unmarshal(b, &rec) == nil && rec.URL != s.cfg.OriginURL {
		if u, err := url.Parse(rec.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			e.url = u
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil // not cached: S3 may answer next time
	}
	s.holders.mu.Lock()
	if s.holders.m == nil || len(s.holders.m) >= maxHolders {
		s.holders.m = map[string]holderEntry{}
	}
	s.holders.m[name] = e
	s.holders.mu.Unlock()
	return e.url
}

// forward sends r to the task holding stream name; false when no other
// task holds it or r was forwarded already.
func (s *Service) forward(w http.ResponseWriter, r *http.Request, name string) bool {
	if r.Header.Get(forwardedHeader) != "" {
		return false
	}
	u := s.holder(r.Context(), name)
	if u == nil {
		return false
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Header.Set(forwardedHeader, "1")
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			s.deps.Log.Warn("live: forwarding to the stream's task", "stream", name, "err", err)
			http.Error(w, "stream origin unavailable", http.StatusBadGateway)
		},
	}
	p.ServeHTTP(w, r)
	return true
}
