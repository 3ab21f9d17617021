package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

const part = 5 << 20

// source serves what the tests fetch on 127.0.0.1 and counts requests.
func source(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	big := bytes.Repeat([]byte("v"), 2*part+7)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/clip.mp4":
			w.Header().Set("Content-Type", "video/mp4")
			w.Write(big)
		case "/endless":
			for i := 0; r.Context().Err() == nil && i < 100; i++ {
				w.Write(big[:part])
			}
		case "/missing":
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func newHandler(t *testing.T, s3env *testenv.S3Env, allow string) *Handler {
	t.Helper()
	cfg := Config{UploadsBucket: testenv.BucketUploads, MediaBucket: testenv.BucketMedia, PartSize: part}
	cfg.Fetch.MaxBytes = 3 * part
	if allow != "" {
		cfg.Fetch.Allow = []netip.Prefix{netip.MustParsePrefix(allow)}
	}
	h, err := New(cfg, s3env.Store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// request is a fresh upload's request for url.
func request(t *testing.T, url string) Request {
	key := fmt.Sprintf("fetch-test-%d/%s.mp4", time.Now().UnixNano(), strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()))
	return Request{ID: catalog.VideoID(key), Key: key, URL: url}
}

func leftovers(t *testing.T, st *store.Store, key string) int {
	t.Helper()
	out, err := st.Client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aptr(testenv.BucketUploads), Prefix: aptr(key)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

func aptr(s string) *string { return &s }

func TestFetch(t *testing.T) {
	env := testenv.S3(t)
	srv, _ := source(t)
	h := newHandler(t, env, "127.0.0.0/8")
	ctx := context.Background()
	req := request(t, srv.URL+"/clip.mp4")
	if err := h.Handle(ctx, req); err != nil {
		t.Fatal(err)
	}
	b, err := env.Store.GetBytes(ctx, testenv.BucketUploads, req.Key)
	if err != nil || len(b) != 2*part+7 {
		t.Fatalf("stored %d bytes, %v", len(b), err)
	}
	info, err := env.Store.Head(ctx, testenv.BucketUploads, req.Key)
	if err != nil || info.ContentType != "video/mp4" {
		t.Errorf("stored as %q, %v", info.ContentType, err)
	}
	// Nothing to say yet: the transcode job writes the status.
	if _, err := catalog.Read(ctx, env.Store, testenv.BucketMedia, req.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("status written: %v", err)
	}
}

func TestFetchFails(t *testing.T) {
	env := testenv.S3(t)
	srv, hits := source(t)
	ctx := context.Background()
	for _, c := range []struct {
		name, allow, path, says string
	}{
		{"loopback refused", "", "/clip.mp4", "source URL refused: it names a loopback address"},
		{"too large", "127.0.0.0/8", "/endless", "source is too large: more than the 15728640 bytes allowed"},
		{"not found", "127.0.0.0/8", "/missing", "source answered with an error: 404 Not Found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := hits.Load()
			h := newHandler(t, env, c.allow)
			req := request(t, srv.URL+c.path)
			if err := h.Handle(ctx, req); err != nil {
				t.Fatalf("a failed fetch failed the invocation: %v", err)
			}
			st, err := catalog.Read(ctx, env.Store, testenv.BucketMedia, req.ID)
			if err != nil || st.State != catalog.StateFailed || st.Error != c.says {
				t.Fatalf("status %+v, %v; want failed saying %q", st, err, c.says)
			}
			if _, err := env.Store.Head(ctx, testenv.BucketUploads, req.Key); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("an upload was left: %v", err)
			}
			if n := leftovers(t, env.Store, req.Key); n != 0 {
				t.Errorf("%d multipart uploads left", n)
			}
			if c.allow == "" && hits.Load() != before {
				t.Errorf("the refused source was reached")
			}
		})
	}
}

// A redelivered request changes nothing once the fetch is done or failed.
func TestFetchOnce(t *testing.T) {
	env := testenv.S3(t)
	srv, hits := source(t)
	h := newHandler(t, env, "127.0.0.0/8")
	ctx := context.Background()

	done := request(t, srv.URL+"/clip.mp4")
	if err := env.Store.PutBytes(ctx, testenv.BucketUploads, done.Key, []byte("x"), store.Object{}); err != nil {
		t.Fatal(err)
	}
	failed := request(t, srv.URL+"/clip.mp4")
	if err := catalog.Write(ctx, env.Store, testenv.BucketMedia, &catalog.Status{ID: failed.ID, State: catalog.StateFailed, Error: "earlier"}); err != nil {
		t.Fatal(err)
	}
	for _, req := range []Request{done, failed} {
		if err := h.Handle(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("fetched %d times", hits.Load())
	}
	if st, err := catalog.Read(ctx, env.Store, testenv.BucketMedia, failed.ID); err != nil || st.Error != "earlier" {
		t.Errorf("status %+v, %v", st, err)
	}
}

func TestCheck(t *testing.T) {
	good := request(t, "http://example.com/x")
	for name, req := range map[string]Request{
		"id not the key's": {ID: "other-000000000000", Key: good.Key, URL: good.URL},
		"no key":           {ID: good.ID, URL: good.URL},
		"no url":           {ID: good.ID, Key: good.Key},
		"bad id":           {ID: "../x", Key: good.Key, URL: good.URL},
	} {
		if err := Check(req); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := Check(good); err != nil {
		t.Error(err)
	}
}
