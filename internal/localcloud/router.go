package localcloud

import (
	"net/http"
	"net/http/httputil"

	"github.com/hlsflow/hlsflow/internal/localcloud/sigv4"
)

// newRouter sends requests signed for "lambda" to the Invoke API and
// everything else to S3, as one AWS-style endpoint does. The S3 side is a
// streaming reverse proxy: bodies are never buffered, and the Host header
// is kept because the signature covers it.
func newRouter(s3 http.RoundTripper, lambda http.Handler) http.Handler {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = pr.In.Host
			pr.Out.Host = pr.In.Host
		},
		Transport:     s3,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>S3 is not available</Message></Error>`))
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sigv4.Service(r) == "lambda" {
			lambda.ServeHTTP(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	})
}
