package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hlsflow/hlsflow/internal/store"
)

// TestMetricsRoute: /metrics goes to the metrics handler, not the page;
// without one it is not found.
func TestMetricsRoute(t *testing.T) {
	web := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	m := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
	for name, tc := range map[string]struct {
		metrics http.Handler
		path    string
		want    int
	}{
		"metrics":          {m, "/metrics", http.StatusAccepted},
		"no handler":       {nil, "/metrics", http.StatusNotFound},
		"below is the web": {m, "/metrics/x", http.StatusTeapot},
	} {
		t.Run(name, func(t *testing.T) {
			e, err := New(Config{Store: &store.Store{}, Web: web, Metrics: tc.metrics})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest("GET", "http://localhost"+tc.path, nil))
			if rec.Code != tc.want {
				t.Errorf("GET %s = %d, want %d", tc.path, rec.Code, tc.want)
			}
		})
	}
}
