package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/hlsflow/hlsflow/internal/localcloud/lambdas"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// echo returns what it received, so a test sees the event the adapter built.
func echo(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok || lc.AwsRequestID != ev.RequestContext.RequestID {
		return events.APIGatewayV2HTTPResponse{}, errors.New("lambda context missing or not matching the event")
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: string(b),
		Headers: map[string]string{"Content-Type": "application/json"}}, nil
}

func TestEvent(t *testing.T) {
	srv := httptest.NewServer(New(lambdas.NewHandler(echo)))
	defer srv.Close()
	binary := []byte{0, 1, 2, 0xff, 0xfe}
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        []byte
		headers     map[string][]string
	}{
		{"get with query and cookies", "GET", "/api/videos?limit=2&tag=a&tag=b", "", nil,
			map[string][]string{"Cookie": {"a=1; b=2"}, "X-Multi": {"one", "two"}}},
		{"json body", "POST", "/api/uploads", "application/json", []byte(`{"filename":"clip.mp4"}`), nil},
		{"binary body", "PUT", "/api/blob", "application/octet-stream", binary, nil},
		{"escaped path", "GET", "/api/videos/a%2Fb", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			for k, vs := range tt.headers {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			req.Header.Set("User-Agent", "apigw-test")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, raw)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			if len(tt.body) > 0 {
				got := []byte(ev.Body)
				if ev.IsBase64Encoded {
					if got, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
						t.Fatal(err)
					}
				}
				if !bytes.Equal(got, tt.body) {
					t.Errorf("body round trip = %q, want %q", got, tt.body)
				}
			}
			// Blank what changes per run before comparing with the golden.
			if ev.RequestContext.RequestID == "" || ev.RequestContext.TimeEpoch == 0 || ev.RequestContext.Time == "" {
				t.Errorf("request id or time missing: %+v", ev.RequestContext)
			}
			ev.RequestContext.RequestID, ev.RequestContext.Time, ev.RequestContext.TimeEpoch = "ID", "TIME", 0
			ev.RequestContext.DomainName, ev.RequestContext.DomainPrefix = "HOST", "HOST"
			ev.Headers["host"] = "HOST"
			got, _ := json.MarshalIndent(ev, "", "  ")
			golden(t, filepath.Join("testdata", strings.ReplaceAll(tt.name, " ", "-")+".json"), got)
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	got = append(got, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update after checking):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestResponse(t *testing.T) {
	png := []byte{0x89, 'P', 'N', 'G', 0}
	tests := []struct {
		name       string
		handler    any
		body       string
		wantStatus int
		wantBody   []byte
		wantHeader map[string][]string
	}{
		{
			name: "headers cookies and status",
			handler: func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{
					StatusCode:        201,
					Headers:           map[string]string{"Content-Type": "text/plain", "X-One": "1"},
					MultiValueHeaders: map[string][]string{"X-Many": {"a", "b"}},
					Cookies:           []string{"s=1; Path=/", "t=2; HttpOnly"},
					Body:              "created",
				}, nil
			},
			wantStatus: 201,
			wantBody:   []byte("created"),
			wantHeader: map[string][]string{
				"Content-Type": {"text/plain"}, "X-One": {"1"}, "X-Many": {"a", "b"},
				"Set-Cookie": {"s=1; Path=/", "t=2; HttpOnly"},
			},
		},
		{
			name: "base64 body",
			handler: func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{StatusCode: 200, IsBase64Encoded: true,
					Headers: map[string]string{"Content-Type": "image/png"},
					Body:    base64.StdEncoding.EncodeToString(png)}, nil
			},
			wantStatus: 200,
			wantBody:   png,
			wantHeader: map[string][]string{"Content-Type": {"image/png"}},
		},
		{
			name: "default content type is json",
			handler: func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{StatusCode: 404, Body: `{"error":"no"}`}, nil
			},
			wantStatus: 404,
			wantBody:   []byte(`{"error":"no"}`),
			wantHeader: map[string][]string{"Content-Type": {"application/json"}},
		},
		{
			name: "handler error is a 500 without details",
			handler: func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{}, errors.New("secret detail")
			},
			wantStatus: 500,
			wantBody:   []byte(`{"message":"Internal Server Error"}`),
		},
		{
			name: "missing status is a 500",
			handler: func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{Body: "x"}, nil
			},
			wantStatus: 500,
			wantBody:   []byte(`{"message":"Internal Server Error"}`),
		},
		{
			name: "bad base64 is a 500",
			handler: func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{StatusCode: 200, IsBase64Encoded: true, Body: "!!"}, nil
			},
			wantStatus: 500,
			wantBody:   []byte(`{"message":"Internal Server Error"}`),
		},
		{
			name: "body over the payload limit is a 413",
			handler: func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
			},
			body:       strings.Repeat("x", 2048),
			wantStatus: 413,
			wantBody:   []byte(`{"message":"Request Entity Too Large"}`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(lambda.NewHandler(tt.handler))
			a.MaxBody = 1024
			a.Logf = t.Logf
			srv := httptest.NewServer(a)
			defer srv.Close()
			resp, err := http.Post(srv.URL+"/x", "text/plain", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if !bytes.Equal(got, tt.wantBody) {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
			for k, want := range tt.wantHeader {
				if g := resp.Header.Values(k); strings.Join(g, "|") != strings.Join(want, "|") {
					t.Errorf("header %s = %q, want %q", k, g, want)
				}
			}
		})
	}
}

// TestConcurrentRequests: requests at once each get their own response,
// through aws-lambda-go's handler made once per instance
// (lambdas.NewHandler, as the local system runs its functions).
// With one lambda.NewHandler shared by every request, responses cross
// (and -race reports the shared buffer).
func TestConcurrentRequests(t *testing.T) {
	a := New(lambdas.NewHandler(echo))
	srv := httptest.NewServer(a)
	defer srv.Close()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 20 {
				path := fmt.Sprintf("/r%d-%d-%s", i, j, strings.Repeat("x", 64*i))
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !strings.Contains(string(body), `"rawPath":"`+path+`"`) {
					t.Errorf("GET %s answered with another request's response: %.200s", path, body)
					return
				}
			}
		})
	}
	wg.Wait()
}
