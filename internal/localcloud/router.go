package localcloud

import (
	"cmp"
	"encoding/xml"
	"net/http"
	"net/http/httputil"
	"strings"

	"github.com/hlsflow/hlsflow/internal/localcloud/events"
	"github.com/hlsflow/hlsflow/internal/localcloud/sigv4"
)

// newRouter sends requests signed for "lambda" to the Invoke API and
// everything else to S3, as one AWS-style endpoint does. The S3 side is a
// streaming reverse proxy: bodies are never buffered, and the Host header
// is kept because the signature covers it. S3 requests signed with another
// access key than accessKey get S3's 403 InvalidAccessKeyId before any of
// their body is read (the gateway itself would answer 404 with a code of
// its own, which SDKs and people do not expect). Every object the proxy
// sees created goes to observe, which makes the bucket event.
func newRouter(s3 http.RoundTripper, lambda http.Handler, accessKey string, observe func(events.Created)) http.Handler {
	proxy := &httputil.ReverseProxy{
		ModifyResponse: func(resp *http.Response) error {
			if c, ok := created(resp); ok {
				// A form upload's key is in its policy, not on the
				// request; the cloud has only one account anyway.
				c.Principal = cmp.Or(c.Principal, accessKey)
				observe(c)
			}
			return nil
		},
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
		if key := sigv4.AccessKey(r); key != "" && key != accessKey {
			invalidAccessKey(w, r, key)
			return
		}
		proxy.ServeHTTP(w, r)
	})
}

// invalidAccessKey answers as S3 does for an access key it does not know.
func invalidAccessKey(w http.ResponseWriter, r *http.Request, key string) {
	w.Header().Set("Content-Type", "application/xml")
	// The client may still be sending a body nobody will read.
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusForbidden)
	if r.Method == http.MethodHead {
		return
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message><AWSAccessKeyId>`)
	xml.EscapeText(&b, []byte(key))
	b.WriteString(`</AWSAccessKeyId></Error>`)
	w.Write([]byte(b.String()))
}
