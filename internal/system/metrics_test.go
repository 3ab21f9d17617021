package system_test

import (
	"math"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/cost"
	"github.com/hlsflow/hlsflow/internal/metrics"
)

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// checkMetrics scrapes the edge's /metrics after the one upload st tells
// of, and reads the EMF lines the system wrote: both hold what the upload
// produced, and only the token's holder may scrape.
func checkMetrics(t *testing.T, edge, emf string, st *catalog.Status) {
	t.Helper()
	for name, header := range map[string][]string{
		"stranger":    nil,
		"wrong token": {"Authorization", "Bearer " + strings.Repeat("x", len(token))},
		"basic auth":  {"Authorization", "Basic " + token},
	} {
		if code, body := get(t, edge+"/metrics", header...); code != http.StatusUnauthorized || strings.Contains(body, "hlsflow_") {
			t.Errorf("/metrics for a %s: %d %.80q, want 401 and no metrics", name, code, body)
		}
	}
	code, body := get(t, edge+"/metrics", "Authorization", "Bearer "+token)
	if code != 200 {
		t.Fatalf("/metrics with the token: %d %.200q", code, body)
	}
	got, err := metrics.ParsePrometheus(body)
	if err != nil {
		t.Fatal(err)
	}
	if st.Cost == nil {
		t.Fatalf("ready status.json without a cost: %+v", st)
	}
	want := map[string]float64{
		"hlsflow_jobs_started_total": 1, "hlsflow_jobs_ready_total": 1,
		"hlsflow_source_seconds_sum": st.Duration, "hlsflow_gb_seconds_sum": st.Cost.GBSeconds(),
		"hlsflow_job_cost_usd_sum": st.Cost.USD,
	}
	for k, v := range want {
		if math.Abs(got[k]-v) > 1e-9 {
			t.Errorf("/metrics %s = %v, want %v (from status.json)", k, got[k], v)
		}
	}
	lines, err := metrics.ParseEMF(emf)
	if err != nil {
		t.Fatal(err)
	}
	var ready int
	for _, l := range lines {
		if l.Values["JobsReady"] == 1 {
			ready++
			if l.Values["SourceSeconds"] != st.Duration || l.Values["GBSeconds"] != st.Cost.GBSeconds() {
				t.Errorf("EMF %+v, want the status' duration %v and GB-s %v", l.Values, st.Duration, st.Cost.GBSeconds())
			}
		}
	}
	if ready != 1 {
		t.Errorf("%d EMF lines of a ready job, want 1:\n%s", ready, emf)
	}
	// The cost is the GB-seconds and requests at the published prices.
	p := cost.USEast1For(runtime.GOARCH) // the rate of the architecture the system runs on
	usd := float64(st.Cost.S3Puts)*p.S3Put + float64(st.Cost.S3Gets)*p.S3Get
	for _, f := range st.Cost.Functions {
		usd += f.GBSeconds*p.LambdaGBSecond + float64(f.Invocations)*p.LambdaRequest
	}
	if math.Abs(usd-st.Cost.USD) > 1e-6 || st.Cost.USD <= 0 {
		t.Errorf("status.json cost %v usd, want %v from %+v", st.Cost.USD, usd, st.Cost)
	}
	t.Logf("cost of the upload: %+v; transcode %+v", *st.Cost, *st.Cost.Functions["transcode"])
}
