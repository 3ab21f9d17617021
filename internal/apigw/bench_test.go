package apigw

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// BenchmarkAdapterOverhead measures what the adapter costs per request:
// the same small JSON answer served by a plain http.Handler (the baseline)
// and by a Lambda handler behind the adapter (event build, JSON round trip
// through lambda.Handler, response conversion). Run: make bench-api.
func BenchmarkAdapterOverhead(b *testing.B) {
	answer := func(path string) []byte {
		out, _ := json.Marshal(map[string]string{"path": path, "state": "ready"})
		return out
	}
	direct := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer(r.URL.Path))
	})
	adapted := New(lambda.NewHandler(func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: string(answer(ev.RawPath)),
			Headers: map[string]string{"Content-Type": "application/json"}}, nil
	}))
	body := `{"filename":"clip.mp4","size":1048576,"contentType":"video/mp4"}`
	run := func(h http.Handler) time.Duration {
		const n = 20000
		start := time.Now()
		for range n {
			req := httptest.NewRequest("POST", "/api/uploads?x=1", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", "bench")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
		return time.Since(start) / n
	}
	for b.Loop() {
		// ABBA order so drift in machine load hits both alike.
		d1, a1, a2, d2 := run(direct), run(adapted), run(adapted), run(direct)
		d, a := (d1+d2)/2, (a1+a2)/2
		fmt.Printf("apigw_direct_ns_per_req: %d\napigw_adapter_ns_per_req: %d\napigw_adapter_vs_direct: %.2f\n",
			d.Nanoseconds(), a.Nanoseconds(), float64(a)/float64(d))
		b.ReportMetric(float64(a)/float64(d), "adapter/direct")
	}
}
