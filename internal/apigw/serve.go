package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Serve makes an http.Handler a Lambda handler for payload-format-2.0
// events (HTTP API or function URL): the reverse of Adapter, so both
// directions of the mapping live here. (aws-lambda-go's lambdaurl does this
// only for streamed function-URL responses; aws-lambda-go-api-proxy brings
// every web framework's module with it.) An event that names no valid
// request gets 400, as API Gateway answers a malformed request.
func Serve(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, err := Request(ctx, &ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusBadRequest, Body: `{"message":"Bad Request"}`,
				Headers: map[string]string{"Content-Type": "application/json"}}, nil
		}
		w := &recorder{header: http.Header{}}
		h.ServeHTTP(w, r)
		return w.response(), nil
	}
}

type eventKey struct{}

// EventFrom returns the event a request built by Request came from, for
// what has no HTTP form (an authorizer's verdict); ok is false for a
// request that did not come through Lambda.
func EventFrom(ctx context.Context) (ev *events.APIGatewayV2HTTPRequest, ok bool) {
	ev, ok = ctx.Value(eventKey{}).(*events.APIGatewayV2HTTPRequest)
	return ev, ok
}

// Request builds the server-side http.Request ev describes, as net/http
// would have received it: the path as sent (RawPath; "%2F" stays escaped),
// the query (RawQueryString, else QueryStringParameters), headers, cookies,
// Host, the source address and the body, base64-decoded when so marked.
func Request(ctx context.Context, ev *events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	p := ev.RawPath
	if p == "" {
		p = ev.RequestContext.HTTP.Path
	}
	u, err := url.ParseRequestURI(p)
	if err != nil || u.RawQuery != "" || u.Host != "" {
		return nil, fmt.Errorf("request path %q is not a path", p)
	}
	u.RawQuery = ev.RawQueryString
	if u.RawQuery == "" && len(ev.QueryStringParameters) > 0 {
		q := url.Values{}
		for k, v := range ev.QueryStringParameters {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("request body is not valid base64: %w", err)
		}
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	r, err := http.NewRequestWithContext(context.WithValue(ctx, eventKey{}, ev), method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	r.URL, r.RequestURI = u, u.RequestURI()
	for k, v := range ev.Headers {
		r.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	// net/http moves Host out of the header map into Request.Host.
	r.Host = r.Header.Get("Host")
	r.Header.Del("Host")
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		r.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	return r, nil
}

// recorder collects a handler's response for the Lambda reply.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// response is the recorded answer as an event response: repeated headers
// joined with commas, Set-Cookie as Cookies, a body that is not text
// base64-encoded (the mapping WriteResponse undoes).
func (w *recorder) response() events.APIGatewayV2HTTPResponse {
	resp := events.APIGatewayV2HTTPResponse{StatusCode: w.status, Headers: make(map[string]string, len(w.header))}
	if resp.StatusCode == 0 {
		resp.StatusCode = http.StatusOK
	}
	for k, v := range w.header {
		if k == "Set-Cookie" {
			resp.Cookies = v
			continue
		}
		resp.Headers[k] = strings.Join(v, ",")
	}
	b := w.body.Bytes()
	if isText(w.header.Get("Content-Type")) && utf8.Valid(b) {
		resp.Body = string(b)
	} else if len(b) > 0 {
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(b), true
	}
	return resp
}
