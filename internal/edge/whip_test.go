package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hlsflow/hlsflow/internal/store"
)

// TestWHIPRoute: /whip/* goes to the WHIP handler (any method: offers are
// POSTs, hang-ups DELETEs), not the page; without one it is not found.
func TestWHIPRoute(t *testing.T) {
	web := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	whip := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) })
	for name, tc := range map[string]struct {
		whip         http.Handler
		method, path string
		want         int
	}{
		"offer":      {whip, "POST", "/whip/cam", http.StatusCreated},
		"hang up":    {whip, "DELETE", "/whip/cam/abc", http.StatusCreated},
		"no handler": {nil, "POST", "/whip/cam", http.StatusNotFound},
		"not below":  {whip, "GET", "/whipped", http.StatusTeapot},
	} {
		t.Run(name, func(t *testing.T) {
			e, err := New(Config{Store: &store.Store{}, Web: web, WHIP: tc.whip})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(tc.method, "http://localhost"+tc.path, nil))
			if rec.Code != tc.want {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.path, rec.Code, tc.want)
			}
		})
	}
}
