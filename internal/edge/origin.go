package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hlsflow/hlsflow/internal/store"
)

// originTimeout bounds one fetch of a whole object for the cache. The fetch
// is shared by every request waiting for the key, so it does not stop when
// the first of them goes away.
const originTimeout = 30 * time.Second

// object is what the edge knows of one S3 object. data holds the whole body
// for small objects; it is nil for objects streamed from S3 by range.
// Objects are never changed once built, so requests share them freely.
type object struct {
	key          string
	size         int64
	etag         string
	contentType  string
	cacheControl string
	lastModified time.Time
	fetched      time.Time
	expires      time.Time // zero: not cacheable
	data         []byte

	// The header values every response for the object carries, built
	// once: a hit then only points the response's header map at them.
	hdrType, hdrCacheControl, hdrETag, hdrDisposition []string
}

// object returns the object at key from the cache or, on a miss, from S3;
// concurrent misses for one key share a single fetch.
func (e *Edge) object(ctx context.Context, key string, now time.Time) (*object, bool, error) {
	if e.cache != nil {
		if obj := e.cache.get(key, now); obj != nil {
			e.hits.Add(1)
			return obj, true, nil
		}
	}
	e.misses.Add(1)
	ch := e.flights.DoChan(key, func() (any, error) {
		// A flight that ended between our lookup and this one filled it.
		if e.cache != nil {
			if obj := e.cache.get(key, e.now()); obj != nil {
				return obj, nil
			}
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), originTimeout)
		defer cancel()
		obj, err := e.fetch(fctx, key)
		if err == nil && e.cache != nil && !obj.expires.IsZero() {
			e.cache.add(obj)
		}
		return obj, err
	})
	select {
	case <-ctx.Done():
		return nil, false, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, false, res.Err
		}
		return res.Val.(*object), false, nil
	}
}

// fetch reads key's metadata and, when it is small enough to keep, its body.
func (e *Edge) fetch(ctx context.Context, key string) (*object, error) {
	e.heads.Add(1)
	info, err := e.store.Head(ctx, e.bucket, key)
	if err != nil {
		return nil, err
	}
	obj := e.newObject(key, info)
	if obj.size > e.maxCached {
		return obj, nil
	}
	e.gets.Add(1)
	// If the object was replaced since the HEAD, fail rather than keep a
	// body that does not match the metadata.
	body, err := e.store.Open(ctx, e.bucket, key, store.Read{IfMatch: info.ETag})
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data := make([]byte, obj.size)
	if _, err := io.ReadFull(body, data); err != nil {
		return nil, fmt.Errorf("get s3 object %s: %w", key, err)
	}
	obj.data = data
	return obj, nil
}

func (e *Edge) newObject(key string, info store.Info) *object {
	now := e.now()
	obj := &object{
		key:          key,
		size:         info.Size,
		etag:         quoteETag(info.ETag),
		contentType:  info.ContentType,
		cacheControl: info.CacheControl,
		lastModified: info.LastModified,
		fetched:      now,
	}
	contentType, download := servedType(key, obj.contentType)
	obj.contentType = contentType
	switch {
	case download:
		obj.hdrDisposition = attachment
	case info.ContentDisposition != "":
		// A download's own "attachment; filename=…", as CloudFront
		// passes it on.
		obj.hdrDisposition = []string{info.ContentDisposition}
	}
	if ttl, ok := sharedTTL(obj.cacheControl); ok {
		obj.expires = now.Add(ttl)
	}
	obj.hdrType = []string{obj.contentType}
	if obj.cacheControl != "" {
		obj.hdrCacheControl = []string{obj.cacheControl}
	}
	if obj.etag != "" {
		obj.hdrETag = []string{obj.etag}
	}
	return obj
}

func quoteETag(t string) string {
	if t == "" || strings.HasPrefix(t, `"`) || strings.HasPrefix(t, `W/"`) {
		return t
	}
	return strconv.Quote(t)
}

// sharedTTL is how long a shared cache may keep a response with the
// Cache-Control cc: s-maxage, else max-age. no-store, no-cache, private or
// no max-age at all means not at all.
func sharedTTL(cc string) (time.Duration, bool) {
	maxAge, sMaxAge := -1, -1
	for d := range strings.SplitSeq(cc, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-store", "no-cache", "private":
			return 0, false
		case "max-age":
			maxAge = seconds(val)
		case "s-maxage":
			sMaxAge = seconds(val)
		}
	}
	if sMaxAge >= 0 {
		maxAge = sMaxAge
	}
	if maxAge <= 0 {
		return 0, false
	}
	return time.Duration(maxAge) * time.Second, true
}

func seconds(v string) int {
	n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(v), `"`))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// Range reads for objects too big to cache start small, so a short range
// costs little, and grow, so a whole object takes few requests.
const (
	firstWindow = 256 << 10
	maxWindow   = 8 << 20
)

// rangeReader is an io.ReadSeeker over an S3 object for http.ServeContent:
// seeking is free and reading issues ranged GETs from the current offset.
//
// For several ranges http.ServeContent reads from a goroutine that may
// still run when the handler closes the reader, hence the lock.
type rangeReader struct {
	mu     sync.Mutex
	ctx    context.Context
	e      *Edge
	obj    *object
	pos    int64
	window int64
	body   io.ReadCloser
	left   int64 // bytes still expected from body
	closed bool
	err    error // first origin failure, for the caller to log
}

func (rr *rangeReader) Seek(offset int64, whence int) (int64, error) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	var pos int64
	switch whence {
	case io.SeekStart:
		pos = offset
	case io.SeekCurrent:
		pos = rr.pos + offset
	case io.SeekEnd:
		pos = rr.obj.size + offset
	default:
		return 0, errors.New("seek: bad whence")
	}
	if pos < 0 {
		return 0, errors.New("seek: negative position")
	}
	if pos != rr.pos {
		rr.closeBody()
		rr.pos = pos
	}
	return pos, nil
}

func (rr *rangeReader) Read(p []byte) (int, error) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if rr.pos >= rr.obj.size {
		return 0, io.EOF
	}
	if rr.closed {
		return 0, os.ErrClosed
	}
	if rr.body == nil {
		if err := rr.open(); err != nil {
			return 0, err
		}
	}
	n, err := rr.body.Read(p[:min(int64(len(p)), rr.left)])
	rr.pos += int64(n)
	rr.left -= int64(n)
	if rr.left == 0 {
		rr.closeBody()
		err = nil
	} else if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && rr.err == nil {
		rr.err = err
	}
	return n, err
}

func (rr *rangeReader) open() error {
	rr.window = min(max(rr.window*2, firstWindow), maxWindow)
	end := min(rr.pos+rr.window, rr.obj.size) - 1
	rng := fmt.Sprintf("bytes=%d-%d", rr.pos, end)
	rr.e.gets.Add(1)
	body, err := rr.e.store.Open(rr.ctx, rr.e.bucket, rr.obj.key, store.Read{Range: rng, IfMatch: rr.obj.etag})
	if err != nil {
		if rr.err == nil {
			rr.err = err
		}
		return err
	}
	rr.body, rr.left = body, end-rr.pos+1
	return nil
}

// Close releases the current S3 body, if any.
func (rr *rangeReader) Close() error {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.closeBody()
	rr.closed = true
	return nil
}

// Failed returns the first origin failure, if any.
func (rr *rangeReader) Failed() error {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return rr.err
}

func (rr *rangeReader) closeBody() {
	if rr.body != nil {
		rr.body.Close()
		rr.body, rr.left = nil, 0
	}
}
