package system

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/hlsflow/hlsflow/internal/api"
	"github.com/hlsflow/hlsflow/internal/metrics"
)

// metricsHandler serves the metrics at the edge's /metrics to the holder
// of the API token only: with --lan the edge is reachable by anyone on
// the network, and the metrics tell how busy the system is and what its
// jobs cost. Prometheus sends the token with `authorization:
// {credentials: ...}` in its scrape config.
func metricsHandler(m *metrics.Recorder, cfg api.Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := cfg.Token
		if cfg.TokenSource != nil {
			var err error
			if want, err = cfg.TokenSource(r.Context()); err != nil {
				http.Error(w, "the API token cannot be read now", http.StatusServiceUnavailable)
				return
			}
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if want == "" || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hlsflow metrics"`)
			http.Error(w, "metrics need the API token: send Authorization: Bearer <token>", http.StatusUnauthorized)
			return
		}
		m.Handler().ServeHTTP(w, r)
	})
}
