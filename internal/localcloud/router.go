package localcloud

import (
	"cmp"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/hostguard"
	"github.com/hlsflow/hlsflow/internal/localcloud/events"
	"github.com/hlsflow/hlsflow/internal/localcloud/sigv4"
)

// newRouter sends requests signed for "lambda" to the Invoke API, those
// for another service in services to its handler (Secrets Manager, SQS) and
// everything else to S3, as one AWS-style endpoint does, after refusing
// requests for hosts that are not this server's (hosts). The S3 side is a
// streaming reverse proxy: bodies are never buffered, and the Host header
// is kept because the signature covers it. S3 requests signed with another
// access key than the cloud's get S3's 403 InvalidAccessKeyId before any
// of their body is read (the gateway itself would answer 404 with a code
// of its own, which SDKs and people do not expect); so do requests that
// wait for 100 Continue and whose signature does not match, with
// SignatureDoesNotMatch, so the client never sends the body (the gateway
// says 100 Continue before it checks), and those that send a body
// without waiting: the front door drains it before answering
// (drainUnasked), where the gateway would answer mid-body and close, and
// a client still writing could lose the answer to the reset. Every object the proxy sees
// created goes to observe, which makes the bucket event.
func newRouter(s3 http.RoundTripper, lambda http.Handler, services map[string]http.Handler, accessKey, secretKey string, hosts *hostguard.Guard, origins []string, observe func(events.Created)) http.Handler {
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
		if !hosts.Allows(r.Host) {
			hostguard.Refuse(w)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !slices.Contains(origins, o) {
			// A page on another site: a browser sends its form POSTs
			// (which need no CORS preflight) with the site's Origin.
			// With the well-known test/test keys such a page could
			// otherwise write into the buckets.
			s3Error(w, r, "AccessDenied", "Requests from this origin are not accepted.", "")
			return
		}
		if sigv4.Service(r) == "lambda" {
			lambda.ServeHTTP(w, r)
			return
		}
		if h, ok := services[sigv4.Service(r)]; ok && sigv4.Service(r) != "s3" {
			h.ServeHTTP(w, r)
			return
		}
		if key := sigv4.AccessKey(r); key != "" && key != accessKey {
			s3Error(w, r, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", key)
			return
		}
		if (waitsForContinue(r) || r.ContentLength != 0) && errors.Is(sigv4.CheckS3(r, accessKey, secretKey), sigv4.ErrBadSignature) {
			s3Error(w, r, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.", accessKey)
			return
		}
		proxy.ServeHTTP(w, r)
	})
}

func waitsForContinue(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get("Expect")), "100-continue")
}

// A refused request's body is read and dropped before the answer when the
// client sends it without waiting for 100 Continue (its first bytes come
// within peekTimeout; the Go SDK, for one, never waits). Answering first
// and closing the connection on unread bytes would reset it under a
// client still writing, which then reports the reset, or (the SDK) drops
// the answer, instead of S3's error. At most maxDrain bytes, for at most
// drainTimeout. A client that waits, as it should, sends nothing and gets
// the answer after peekTimeout, without sending its body.
const (
	peekTimeout  = 250 * time.Millisecond
	drainTimeout = 10 * time.Second
	maxDrain     = 32 << 20
)

// s3Error answers 403 with S3's error document for code; key is the
// access key the request was signed with, if any.
func s3Error(w http.ResponseWriter, r *http.Request, code, msg, key string) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusForbidden)
	if r.Method == http.MethodHead {
		return
	}
	drainUnasked(w, r)
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Error><Code>" + code + "</Code><Message>" + msg + "</Message>")
	if key != "" {
		b.WriteString("<AWSAccessKeyId>")
		xml.EscapeText(&b, []byte(key))
		b.WriteString("</AWSAccessKeyId>")
	}
	b.WriteString("</Error>")
	w.Write([]byte(b.String()))
}

// drainUnasked reads and drops the body a client sends without being
// asked (see peekTimeout). w's status must be set and nothing written yet.
func drainUnasked(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength == 0 {
		return
	}
	// An empty write stops net/http from sending 100 Continue when the
	// body is read; with the status already set, nothing goes out yet.
	w.Write(nil)
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(peekTimeout)) != nil {
		return
	}
	var first [1]byte
	if n, _ := r.Body.Read(first[:]); n > 0 && rc.SetReadDeadline(time.Now().Add(drainTimeout)) == nil {
		io.CopyN(io.Discard, r.Body, maxDrain)
	}
}
