package ingest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestRequestReachesHolder: with two ingest tasks, a request for a
// low-latency stream's playlist or part that reaches the task not holding
// it is forwarded to the one that does, once; a record naming a task that
// does not hold the stream ends in 404, not a loop; the record goes when
// the stream is finalised.
func TestRequestReachesHolder(t *testing.T) {
	task := func() *env {
		addr := testenv.FreeAddr(t)
		return newEnv(t, func(c *Config) {
			c.LowLatency, c.MaxRungs, c.Grace = true, 1, 20*time.Second
			c.HTTPAddr, c.OriginURL, c.RTMPAddr, c.UDPAddr = addr, "http://"+addr, "", ""
		})
	}
	a, b := task(), task()
	runFeed(t, a.svc, "shared", synthFeed(t, 6), time.Now())
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	_, want := get("http://" + a.svc.HTTPAddr() + "/live/shared/240p/index.m3u8")
	code, got := get("http://" + b.svc.HTTPAddr() + "/live/shared/240p/index.m3u8?_HLS_msn=1&_HLS_part=0")
	if code != 200 || !strings.Contains(got, "#EXT-X-PART:") || !strings.Contains(want, "#EXT-X-PART:") {
		t.Fatalf("through the other task: %d\n%s", code, got)
	}
	// A record naming a task that does not hold the stream: 404, once.
	ctx := context.Background()
	rec := []byte(`{"url":"http://` + b.svc.HTTPAddr() + `"}`)
	if err := a.s3.PutBytes(ctx, testenv.BucketMedia, catalog.LiveOriginKey("ghost"), rec, store.Object{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if code, _ := get("http://" + a.svc.HTTPAddr() + "/live/ghost/240p/index.m3u8"); code != 404 || time.Since(start) > 2*time.Second {
		t.Errorf("stale record: %d after %v", code, time.Since(start))
	}
	if err := a.svc.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if a.get(catalog.LiveOriginKey("shared")) != "" {
		t.Error("the holder's record outlived the stream")
	}
}
