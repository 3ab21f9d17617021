package api

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
)

// BenchmarkListVideos measures a page of GET /api/videos (20 of 300
// videos: two LIST requests, then 20 status reads) against GET of one
// video, the baseline, on the real S3 server. Run: make bench-api.
func BenchmarkListVideos(b *testing.B) {
	const videos = 300
	e := newEnv(b, nil)
	ctx := context.Background()
	var one string
	for i := range videos {
		key := fmt.Sprintf("bench/%03d.mp4", i)
		if err := e.store.PutBytes(ctx, e.uploads, key, []byte("x"), store.Object{ContentType: "video/mp4"}); err != nil {
			b.Fatal(err)
		}
		one = catalog.VideoID(key)
		if err := catalog.Write(ctx, e.store, e.media, &catalog.Status{ID: one, State: catalog.StateReady,
			Source: catalog.Upload{Size: 1}}); err != nil {
			b.Fatal(err)
		}
	}
	call := func(path string, query map[string]string) {
		resp, err := e.lambda(ctx, events.APIGatewayV2HTTPRequest{RawPath: path, QueryStringParameters: query,
			Headers:        map[string]string{"authorization": "Bearer " + testToken},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path}}})
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s = %d %s %v", path, resp.StatusCode, resp.Body, err)
		}
	}
	run := func(f func()) time.Duration {
		const n = 20
		start := time.Now()
		for range n {
			f()
		}
		return time.Since(start) / n
	}
	get := func() { call("/api/videos/"+one, nil) }
	list := func() { call("/api/videos", map[string]string{"limit": "20"}) }
	for b.Loop() {
		g1, l1, l2, g2 := run(get), run(list), run(list), run(get)
		g, l := (g1+g2)/2, (l1+l2)/2
		fmt.Printf("api_get_video_ms: %.2f\napi_list_page_ms: %.2f\napi_list_page_vs_get_video: %.2f\n",
			float64(g.Microseconds())/1000, float64(l.Microseconds())/1000, float64(l)/float64(g))
		b.ReportMetric(float64(l)/float64(g), "list/get")
	}
}
