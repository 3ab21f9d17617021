package apigw

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// seen is what the handler behind Serve received.
type seen struct {
	Method, Path, EscapedPath, Query, Host, Cookie, Multi, Remote string
	Body                                                          []byte
	FromEvent                                                     bool
}

// mirror reports the request it received and answers with several
// headers, two cookies and the request's own body (binary or not).
func mirror(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	_, fromEvent := EventFrom(r.Context())
	s, _ := json.Marshal(seen{Method: r.Method, Path: r.URL.Path, EscapedPath: r.URL.EscapedPath(), Query: r.URL.RawQuery,
		Host: r.Host, Cookie: r.Header.Get("Cookie"), Multi: r.Header.Get("X-Multi"), Remote: r.RemoteAddr,
		Body: body, FromEvent: fromEvent})
	w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
	w.Header().Set("X-Seen", string(s))
	w.Header().Add("Set-Cookie", "a=1")
	w.Header().Add("Set-Cookie", "b=2")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(body)
}

// TestServeRoundTrip: an HTTP request made into an event by Adapter and
// back into a request by Serve reaches the handler as it was sent, and
// the handler's answer reaches the client as it was written.
func TestServeRoundTrip(t *testing.T) {
	srv := httptest.NewServer(New(lambda.NewHandler(Serve(http.HandlerFunc(mirror)))))
	defer srv.Close()
	for _, tt := range []struct {
		name, method, path, contentType string
		body                            []byte
	}{
		{"json", "POST", "/api/uploads?x=1&x=2&y=%20", "application/json", []byte(`{"a":1}`)},
		{"binary", "PUT", "/blob", "application/octet-stream", []byte{0, 1, 0xff, 0xfe}},
		{"escaped slash", "GET", "/api/videos/a%2Fb", "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "example.test:8080"
			req.Header.Set("Content-Type", tt.contentType)
			req.Header.Add("X-Multi", "one")
			req.Header.Add("X-Multi", "two")
			req.Header.Set("Cookie", "c=3; d=4")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			var s seen
			if err := json.Unmarshal([]byte(resp.Header.Get("X-Seen")), &s); err != nil {
				t.Fatalf("X-Seen: %v", err)
			}
			want := seen{Method: tt.method, Path: req.URL.Path, EscapedPath: req.URL.EscapedPath(), Query: req.URL.RawQuery,
				Host: "example.test:8080", Cookie: "c=3; d=4", Multi: "one,two", Remote: "127.0.0.1:0", Body: tt.body, FromEvent: true}
			if s.Body == nil {
				s.Body = tt.body // JSON makes an empty body null either way
			}
			if !bytes.Equal(s.Body, want.Body) || s.Method != want.Method || s.Path != want.Path ||
				s.EscapedPath != want.EscapedPath || s.Query != want.Query || s.Host != want.Host ||
				s.Cookie != want.Cookie || s.Multi != want.Multi || s.Remote != want.Remote || !s.FromEvent {
				t.Errorf("handler saw %+v\nwant %+v", s, want)
			}
			if resp.StatusCode != 201 || !bytes.Equal(got, tt.body) || strings.Join(resp.Header.Values("Set-Cookie"), ";") != "a=1;b=2" {
				t.Errorf("client got %d %q cookies %q; want 201 %q a=1;b=2", resp.StatusCode, got, resp.Header.Values("Set-Cookie"), tt.body)
			}
		})
	}
}

// TestServeEvents: events made by hand or by other front ends: a query in
// QueryStringParameters only, Path without RawPath, and events that name
// no valid request (400, the handler never runs).
func TestServeEvents(t *testing.T) {
	ran := false
	var got *http.Request
	h := Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran, got = true, r }))
	ctx := context.Background()
	resp, err := h(ctx, events.APIGatewayV2HTTPRequest{QueryStringParameters: map[string]string{"limit": "2"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{DomainName: "api.example",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "DELETE", Path: "/a"}}})
	if err != nil || resp.StatusCode != 200 || got.URL.String() != "/a?limit=2" || got.Method != "DELETE" || got.Host != "api.example" {
		t.Errorf("= %d %v, request %s %s host %q; want 200, DELETE /a?limit=2 host api.example", resp.StatusCode, err, got.Method, got.URL, got.Host)
	}
	for _, tt := range []struct {
		name string
		ev   events.APIGatewayV2HTTPRequest
	}{
		{"bad base64", events.APIGatewayV2HTTPRequest{RawPath: "/a", Body: "!!", IsBase64Encoded: true}},
		{"bad escape", events.APIGatewayV2HTTPRequest{RawPath: "/a%zz"}},
		{"not a path", events.APIGatewayV2HTTPRequest{RawPath: "http://elsewhere/a"}},
		{"query in the path", events.APIGatewayV2HTTPRequest{RawPath: "/a?b=1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ran = false
			resp, err := h(ctx, tt.ev)
			if err != nil || resp.StatusCode != 400 || ran {
				t.Errorf("= %d %v, handler ran %v; want 400 without running it", resp.StatusCode, err, ran)
			}
		})
	}
	if _, ok := EventFrom(ctx); ok {
		t.Error("EventFrom reports an event for a context without one")
	}
}
