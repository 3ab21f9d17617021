package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// fixture is an edge in front of the test S3 server, with objects under a
// prefix of its own so tests do not see each other's keys.
type fixture struct {
	t      *testing.T
	s3     *testenv.S3Env
	edge   *Edge
	srv    *httptest.Server
	prefix string // "vod/<unique>/"
	origin *countingTransport
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	env := newS3(t)
	ct := &countingTransport{base: http.DefaultTransport, counts: map[string]int{}}
	cfg.Store = newStore(t, env.Endpoint, ct)
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("new edge: %v", err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	id := fmt.Sprintf("t%d", rand.Uint64())
	return &fixture{t: t, s3: env, edge: e, srv: srv, prefix: "vod/" + id + "/", origin: ct}
}

// put writes an object straight to S3 (not through the counted client).
func (f *fixture) put(name string, data []byte, o store.Object) string {
	f.t.Helper()
	key := f.prefix + name
	if err := f.s3.Store.PutBytes(context.Background(), "media", key, data, o); err != nil {
		f.t.Fatal(err)
	}
	return key
}

func (f *fixture) do(method, key string, hdr map[string]string) (*http.Response, []byte) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+"/"+key, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, key, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("%s %s: read body: %v", method, key, err)
	}
	return resp, body
}

// countingTransport counts the S3 requests the edge makes, by method and
// path, as the S3 server sees them.
type countingTransport struct {
	base   http.RoundTripper
	mu     sync.Mutex
	counts map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.counts[r.Method+" "+r.URL.Path]++
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

func (c *countingTransport) count(method, key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[method+" /media/"+key]
}

func testData(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestServe checks the HTTP semantics of media responses, once from the
// memory cache and once streamed by S3 range reads, against the same bytes.
func TestServe(t *testing.T) {
	const size = 300_000
	data := testData(size)
	modes := []struct {
		name      string
		maxCached int64
		wantCache string
	}{
		{"cached", 1 << 20, "Hit from edge"},
		{"streamed", 64 << 10, "Miss from edge"},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := newFixture(t, Config{MaxCachedObject: m.maxCached})
			key := f.put("720p/seg_00001.ts", data, store.For("seg_00001.ts"))
			warm, _ := f.do("GET", key, nil)
			etag := warm.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag on a media response")
			}

			cases := []struct {
				name         string
				method       string
				hdr          map[string]string
				code         int
				body         []byte
				contentRange string
			}{
				{name: "whole", method: "GET", code: 200, body: data},
				{name: "single range", method: "GET", hdr: map[string]string{"Range": "bytes=100000-199999"},
					code: 206, body: data[100000:200000], contentRange: "bytes 100000-199999/300000"},
				{name: "range across read windows", method: "GET", hdr: map[string]string{"Range": "bytes=1-299998"},
					code: 206, body: data[1:299999], contentRange: "bytes 1-299998/300000"},
				{name: "suffix range", method: "GET", hdr: map[string]string{"Range": "bytes=-500"},
					code: 206, body: data[size-500:], contentRange: "bytes 299500-299999/300000"},
				{name: "open-ended range", method: "GET", hdr: map[string]string{"Range": "bytes=299000-"},
					code: 206, body: data[299000:], contentRange: "bytes 299000-299999/300000"},
				{name: "unsatisfiable", method: "GET", hdr: map[string]string{"Range": "bytes=400000-"},
					code: 416, contentRange: "bytes */300000"},
				{name: "head", method: "HEAD", code: 200, body: []byte{}},
				{name: "if-none-match", method: "GET", hdr: map[string]string{"If-None-Match": etag}, code: 304, body: []byte{}},
				{name: "if-none-match other", method: "GET", hdr: map[string]string{"If-None-Match": `"other"`}, code: 200, body: data},
				{name: "if-range mismatch", method: "GET", hdr: map[string]string{"Range": "bytes=0-9", "If-Range": `"other"`},
					code: 200, body: data},
				{name: "if-range match", method: "GET", hdr: map[string]string{"Range": "bytes=0-9", "If-Range": etag},
					code: 206, body: data[:10], contentRange: "bytes 0-9/300000"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					resp, body := f.do(c.method, key, c.hdr)
					if resp.StatusCode != c.code {
						t.Fatalf("status %d, want %d (body %.200q)", resp.StatusCode, c.code, body)
					}
					if got := resp.Header.Get("Content-Range"); got != c.contentRange {
						t.Errorf("Content-Range %q, want %q", got, c.contentRange)
					}
					if c.body != nil && !bytes.Equal(body, c.body) {
						t.Errorf("body: %d bytes, want %d bytes (equal prefix: %v)", len(body), len(c.body),
							bytes.HasPrefix(c.body, body[:min(len(body), 16)]))
					}
					if c.code == 200 || c.code == 206 {
						for k, want := range map[string]string{
							"Content-Type":  "video/mp2t",
							"Cache-Control": store.CacheImmutable,
							"ETag":          etag,
							"Accept-Ranges": "bytes",
							"X-Cache":       m.wantCache,
						} {
							if got := resp.Header.Get(k); got != want {
								t.Errorf("%s %q, want %q", k, got, want)
							}
						}
					}
					if c.method == "HEAD" && resp.ContentLength != size {
						t.Errorf("HEAD Content-Length %d, want %d", resp.ContentLength, size)
					}
				})
			}
			t.Run("several ranges", func(t *testing.T) {
				checkMultiRange(t, f, key, data)
			})
			// Single and several ranges at once: the single-range path
			// reuses pooled per-request state; answers must not mix.
			t.Run("concurrent mix", func(t *testing.T) {
				var wg sync.WaitGroup
				for i := range 8 {
					wg.Go(func() {
						for j := range 10 {
							if (i+j)%2 == 0 {
								checkMultiRange(t, f, key, data)
								continue
							}
							off := 1000 * (i*10 + j)
							resp, body := f.do("GET", key, map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", off, off+4999)})
							if resp.StatusCode != 206 || !bytes.Equal(body, data[off:off+5000]) {
								t.Errorf("range at %d: status %d, %d bytes, equal %v", off, resp.StatusCode, len(body),
									bytes.Equal(body, data[off:min(off+5000, len(data))]))
							}
						}
					})
				}
				wg.Wait()
			})
		})
	}
}

// checkMultiRange asks for two ranges and checks the multipart/byteranges
// answer part by part.
func checkMultiRange(t *testing.T, f *fixture, key string, data []byte) {
	t.Helper()
	resp, body := f.do("GET", key, map[string]string{"Range": "bytes=0-9,200000-200099"})
	if resp.StatusCode != 206 {
		t.Errorf("status %d, want 206", resp.StatusCode)
		return
	}
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" {
		t.Errorf("Content-Type %q, want multipart/byteranges", resp.Header.Get("Content-Type"))
		return
	}
	want := []struct {
		rng  string
		body []byte
	}{
		{"bytes 0-9/300000", data[:10]},
		{"bytes 200000-200099/300000", data[200000:200100]},
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for i, w := range want {
		part, err := mr.NextPart()
		if err != nil {
			t.Errorf("part %d: %v", i, err)
			return
		}
		got, _ := io.ReadAll(part)
		if cr := part.Header.Get("Content-Range"); cr != w.rng || !bytes.Equal(got, w.body) {
			t.Errorf("part %d: Content-Range %q (want %q), body equal %v", i, cr, w.rng, bytes.Equal(got, w.body))
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("after two parts: %v, want EOF", err)
	}
}

func TestPassThroughHeaders(t *testing.T) {
	f := newFixture(t, Config{})
	cases := []struct {
		name, file string
		o          store.Object
	}{
		{"vod playlist", "master.m3u8", store.For("master.m3u8")},
		{"status document", "status.json", store.For("status.json")},
		{"live playlist", "index.m3u8", store.Object{ContentType: "application/vnd.apple.mpegurl", CacheControl: "public, max-age=1"}},
		{"custom", "poster.jpg", store.Object{ContentType: "image/jpeg", CacheControl: "public, max-age=60, stale-while-revalidate=5"}},
		{"no type stored", "thumb.vtt", store.Object{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := f.put(c.file, []byte("#EXTM3U\n"), c.o)
			resp, _ := f.do("GET", key, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			wantType := c.o.ContentType
			if wantType == "" {
				wantType = store.ContentType(c.file)
			}
			if got := resp.Header.Get("Content-Type"); got != wantType {
				t.Errorf("Content-Type %q, want %q", got, wantType)
			}
			if got := resp.Header.Get("Cache-Control"); got != c.o.CacheControl {
				t.Errorf("Cache-Control %q, want %q", got, c.o.CacheControl)
			}
		})
	}
}

// A download's stored Content-Disposition reaches the browser, from the
// cache and streamed (too large to keep), as CloudFront passes it; a
// stored type the edge refuses to show stays a bare attachment.
func TestPassThroughDisposition(t *testing.T) {
	f := newFixture(t, Config{MaxCachedObject: 1 << 10})
	disp := `attachment; filename="clip-0123456789ab.mp4"`
	for _, size := range []int{100, 4 << 10} {
		key := f.put(fmt.Sprintf("download-%d.mp4", size), testData(size), store.Object{ContentType: "video/mp4", ContentDisposition: disp})
		for _, hdr := range []map[string]string{nil, {"Range": "bytes=0-9"}} {
			resp, _ := f.do("GET", key, hdr)
			if resp.StatusCode/100 != 2 || resp.Header.Get("Content-Disposition") != disp {
				t.Errorf("%s %v: status %d Content-Disposition %q, want %q", key, hdr, resp.StatusCode, resp.Header.Get("Content-Disposition"), disp)
			}
		}
	}
	key := f.put("page.html", []byte("<p>"), store.Object{ContentType: "text/html", ContentDisposition: "inline"})
	if resp, _ := f.do("GET", key, nil); resp.Header.Get("Content-Disposition") != "attachment" {
		t.Errorf("html stored inline: Content-Disposition %q, want attachment", resp.Header.Get("Content-Disposition"))
	}
}

func TestCORS(t *testing.T) {
	cases := []struct {
		name      string
		allow     []string
		origin    string
		wantAllow string
	}{
		{"any origin", nil, "http://127.0.0.1:9999", "*"},
		{"listed origin", []string{"http://player.test"}, "http://player.test", "http://player.test"},
		{"unlisted origin", []string{"http://player.test"}, "http://evil.test", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, Config{AllowOrigins: c.allow})
			key := f.put("a/seg.ts", testData(1000), store.For("seg.ts"))

			pre, _ := f.do("OPTIONS", key, map[string]string{
				"Origin": c.origin, "Access-Control-Request-Method": "GET",
				"Access-Control-Request-Headers": "range",
			})
			if pre.StatusCode != http.StatusNoContent {
				t.Errorf("preflight status %d, want 204", pre.StatusCode)
			}
			if got := pre.Header.Get("Access-Control-Allow-Origin"); got != c.wantAllow {
				t.Errorf("preflight Allow-Origin %q, want %q", got, c.wantAllow)
			}
			if got := pre.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "GET") {
				t.Errorf("preflight Allow-Methods %q lacks GET", got)
			}
			if got := strings.ToLower(pre.Header.Get("Access-Control-Allow-Headers")); !strings.Contains(got, "range") {
				t.Errorf("preflight Allow-Headers %q lacks Range", got)
			}

			resp, _ := f.do("GET", key, map[string]string{"Origin": c.origin, "Range": "bytes=0-1"})
			if resp.StatusCode != 206 {
				t.Errorf("GET status %d, want 206", resp.StatusCode)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != c.wantAllow {
				t.Errorf("GET Allow-Origin %q, want %q", got, c.wantAllow)
			}
			expose := strings.ToLower(resp.Header.Get("Access-Control-Expose-Headers"))
			for _, h := range []string{"content-range", "content-length", "accept-ranges"} {
				if !strings.Contains(expose, h) {
					t.Errorf("Expose-Headers %q lacks %s", expose, h)
				}
			}
		})
	}
}

// TestConcurrentMisses checks that a burst of requests for a cold key costs
// S3 one HEAD and one GET.
func TestConcurrentMisses(t *testing.T) {
	f := newFixture(t, Config{})
	data := testData(500_000)
	key := f.put("hot.ts", data, store.For("hot.ts"))
	const n = 32
	var wg sync.WaitGroup
	var bad atomic.Int32
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			resp, err := f.srv.Client().Get(f.srv.URL + "/" + key)
			if err != nil {
				bad.Add(1)
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, data) {
				bad.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if bad.Load() != 0 {
		t.Errorf("%d of %d requests failed", bad.Load(), n)
	}
	if got := f.origin.count("GET", key); got != 1 {
		t.Errorf("S3 GETs for the key: %d, want 1", got)
	}
	if got := f.origin.count("HEAD", key); got != 1 {
		t.Errorf("S3 HEADs for the key: %d, want 1", got)
	}
}

func TestCacheBound(t *testing.T) {
	const limit = 10_000
	f := newFixture(t, Config{CacheBytes: limit, MaxCachedObject: 4000})
	var keys []string
	for i := range 6 {
		keys = append(keys, f.put(fmt.Sprintf("s%d.ts", i), testData(3000+i), store.For("s.ts")))
	}
	big := f.put("big.ts", testData(5000), store.For("big.ts"))
	for _, k := range append(keys, big) {
		if resp, _ := f.do("GET", k, nil); resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", k, resp.StatusCode)
		}
		if st := f.edge.Stats(); st.CachedBytes > limit {
			t.Fatalf("cache holds %d bytes, bound is %d", st.CachedBytes, limit)
		}
	}
	if st := f.edge.Stats(); st.CachedObjects < 2 || st.CachedObjects > 4 {
		t.Errorf("cache holds %d objects of ~3000 bytes within %d bytes", st.CachedObjects, limit)
	}
	cases := []struct {
		name     string
		key      string
		wantGets int // further whole-object S3 GETs for the key
	}{
		{"most recent small object stays", keys[5], 0},
		{"oldest object was evicted", keys[0], 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.origin.count("GET", c.key)
			f.do("GET", c.key, nil)
			if got := f.origin.count("GET", c.key) - before; got != c.wantGets {
				t.Errorf("S3 GETs %d, want %d", got, c.wantGets)
			}
		})
	}
	// The big object is over MaxCachedObject: each request reads S3 again.
	before := f.origin.count("GET", big)
	resp, body := f.do("GET", big, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, testData(5000)) {
		t.Errorf("big object: status %d, %d bytes", resp.StatusCode, len(body))
	}
	if f.origin.count("GET", big) == before {
		t.Error("big object was served without reading S3")
	}
}

// TestMaxAge steps a clock through a live playlist's max-age and checks the
// edge never serves it stale, and never caches no-cache objects.
func TestMaxAge(t *testing.T) {
	f := newFixture(t, Config{})
	var clock atomic.Int64
	clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	f.edge.now = func() time.Time { return time.Unix(0, clock.Load()) }
	live := store.Object{ContentType: "application/vnd.apple.mpegurl", CacheControl: "public, max-age=1"}
	status := store.For("status.json")

	cases := []struct {
		name    string
		file    string
		o       store.Object
		advance time.Duration // after the update, before the second read
		want    string        // body of the second read
		cache   string
	}{
		{"live playlist within max-age", "a.m3u8", live, 500 * time.Millisecond, "v1", "Hit from edge"},
		{"live playlist past max-age", "b.m3u8", live, 1000 * time.Millisecond, "v2", "Miss from edge"},
		{"no-cache status", "status.json", status, 0, "v2", "Miss from edge"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := f.put(c.file, []byte("v1"), c.o)
			if _, body := f.do("GET", key, nil); string(body) != "v1" {
				t.Fatalf("first read %q", body)
			}
			f.put(c.file, []byte("v2"), c.o)
			clock.Add(int64(c.advance))
			resp, body := f.do("GET", key, nil)
			if string(body) != c.want {
				t.Errorf("second read %q, want %q", body, c.want)
			}
			if got := resp.Header.Get("X-Cache"); got != c.cache {
				t.Errorf("X-Cache %q, want %q", got, c.cache)
			}
		})
	}
}

func TestBadPaths(t *testing.T) {
	f := newFixture(t, Config{})
	secret := []byte("SECRET-" + f.prefix)
	ctx := context.Background()
	for _, k := range []string{"secret.txt", "vod/secret.txt", "live/secret.txt"} {
		if err := f.s3.Store.PutBytes(ctx, "media", k, secret, store.Object{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.s3.Store.PutBytes(ctx, "uploads", "secret.txt", secret, store.Object{}); err != nil {
		t.Fatal(err)
	}
	good := f.put("ok.ts", []byte("fine"), store.For("ok.ts"))
	id := strings.TrimSuffix(strings.TrimPrefix(f.prefix, "vod/"), "/")

	cases := []struct {
		name   string
		target string // request target exactly as sent on the wire
		codes  []int
	}{
		{"control: valid key", "/" + good, []int{200}},
		{"dot-dot", "/vod/../secret.txt", []int{400, 404}},
		{"dot-dot to other bucket", "/vod/../../uploads/secret.txt", []int{400, 404}},
		{"dot-dot to filesystem", "/vod/../../../../etc/passwd", []int{400, 404}},
		{"inside then out", "/vod/" + id + "/../../secret.txt", []int{400, 404}},
		{"encoded dots", "/vod/%2e%2e/%2e%2e/etc/passwd", []int{400, 404}},
		{"encoded dots to bucket root", "/vod/" + id + "/%2e%2e/%2E%2E/secret.txt", []int{400, 404}},
		{"encoded slash", "/vod/..%2fsecret.txt", []int{400, 404}},
		{"double encoded", "/vod/%252e%252e/%252e%252e/etc/passwd", []int{400, 404}},
		{"double encoded slash", "/vod/x/..%252f..%252fsecret.txt", []int{400, 404}},
		{"backslash", `/vod/x/..\..\secret.txt`, []int{400, 404}},
		{"encoded backslash", "/vod/x/..%5c..%5csecret.txt", []int{400, 404}},
		{"nul byte", "/vod/x/secret.txt%00.ts", []int{400, 404}},
		{"nul segment", "/vod/%00/../secret.txt", []int{400, 404}},
		{"prefix only", "/vod/secret.txt", []int{400, 404}},
		{"live prefix only", "/live/secret.txt", []int{400, 404}},
		{"empty segment", "/vod//secret.txt", []int{400, 404}},
		{"absolute form elsewhere", "http://127.0.0.1/vod/../secret.txt", []int{400, 404}},
		{"api traversal", "/api/../vod/../secret.txt", []int{404}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := rawGet(t, f.srv.Listener.Addr().String(), c.target)
			ok := false
			for _, want := range c.codes {
				ok = ok || code == want
			}
			if !ok {
				t.Errorf("status %d, want one of %v (body %.100q)", code, c.codes, body)
			}
			if bytes.Contains(body, []byte("SECRET")) || bytes.Contains(body, []byte("root:")) {
				t.Errorf("response leaks content: %.100q", body)
			}
		})
	}
}

func TestErrorsDoNotLeak(t *testing.T) {
	f := newFixture(t, Config{})
	other, err := New(Config{Store: newStore(t, f.s3.Endpoint, nil), Bucket: "no-such-bucket"})
	if err != nil {
		t.Fatal(err)
	}
	otherSrv := httptest.NewServer(other)
	t.Cleanup(otherSrv.Close)
	deadAddr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	down, err := New(Config{Store: newStore(t, "http://"+deadAddr, nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	downSrv := httptest.NewServer(down)
	t.Cleanup(downSrv.Close)
	cases := []struct {
		name string
		url  string
		code int
	}{
		{"missing key", f.srv.URL + "/" + f.prefix + "missing.ts", 404},
		{"missing bucket", otherSrv.URL + "/vod/x/a.ts", 404},
		{"origin down", downSrv.URL + "/vod/x/a.ts", 502},
		{"method", f.srv.URL + "/" + f.prefix + "a.ts", 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := "GET"
			if c.code == 405 {
				method = "DELETE"
			}
			req, _ := http.NewRequest(method, c.url, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.code {
				t.Errorf("status %d, want %d", resp.StatusCode, c.code)
			}
			var msg struct{ Error string }
			if err := json.Unmarshal(body, &msg); err != nil || msg.Error == "" {
				t.Errorf("body is not a JSON error: %q", body)
			}
			for _, leak := range []string{"<Error>", "NoSuch", "s3", "bucket", "RequestId"} {
				if bytes.Contains(body, []byte(leak)) {
					t.Errorf("body leaks %q: %q", leak, body)
				}
			}
		})
	}
}

func TestRouting(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api "+r.URL.Path) })
	web := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "web "+r.URL.Path) })
	cases := []struct {
		name     string
		api, web http.Handler
		path     string
		code     int
		body     string
	}{
		{"api", api, web, "/api/videos", 200, "api /api/videos"},
		{"api root", api, web, "/api", 200, "api /api"},
		{"web root", api, web, "/", 200, "web /"},
		{"web page", api, web, "/player.html", 200, "web /player.html"},
		{"not api prefix", api, web, "/apiary", 200, "web /apiary"},
		{"nil api", nil, web, "/api/videos", 404, `{"error":"not found"}`},
		{"nil web", api, nil, "/", 404, `{"error":"not found"}`},
	}
	env := newS3(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(Config{Store: env.Store, API: c.api, Web: c.web})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1:8080"+c.path, nil))
			if rec.Code != c.code || strings.TrimSpace(rec.Body.String()) != c.body {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body.String(), c.code, c.body)
			}
		})
	}
}
