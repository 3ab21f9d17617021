package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestRoutes: the API answers the same as a plain http.Handler and as a
// Lambda behind the local adapter: JSON 404 and 405 (with Allow) rather
// than ServeMux's text, no redirects, ids taken whole from escaped paths.
func TestRoutes(t *testing.T) {
	e := newEnv(t, nil)
	direct := httptest.NewServer(e.h)
	t.Cleanup(direct.Close)
	tests := []struct {
		name, method, path string
		want               int
		allow, wantIn      string
	}{
		{"list", "GET", "/api/videos", 200, "", ""},
		{"one trailing slash", "GET", "/api/videos/", 200, "", ""},
		{"wrong method", "PUT", "/api/videos", 405, "GET", "use GET"},
		{"wrong method on an id", "POST", "/api/videos/a-000000000000", 405, "GET", "use GET"},
		{"two methods", "DELETE", "/api/streams", 405, "GET, POST", "use GET, POST"},
		{"complete by GET", "GET", "/api/uploads/a-000000000000/complete", 405, "POST", "use POST"},
		{"unknown route", "GET", "/api/nothing", 404, "", "no such API route: GET /api/nothing"},
		{"root", "GET", "/", 404, "", "no such API route"},
		{"unclean path", "GET", "/api/x/../videos", 404, "", "no such API route"},
		{"double slash", "GET", "//api/videos", 404, "", "no such API route"},
		{"escaped slash stays in the id", "GET", "/api/videos/a%2Fb", 404, "", `no video with id "a/b"`},
		{"too deep", "GET", "/api/videos/a/b", 404, "", "no such API route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, base := range []string{e.srv.URL, direct.URL} {
				req, err := http.NewRequest(tt.method, base+tt.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+testToken)
				resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
				if err != nil {
					t.Fatal(err)
				}
				var ae apiError
				decErr := json.NewDecoder(resp.Body).Decode(&ae)
				resp.Body.Close()
				via := map[bool]string{true: "lambda", false: "http"}[base == e.srv.URL]
				if resp.StatusCode != tt.want || resp.Header.Get("Allow") != tt.allow || decErr != nil ||
					resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(ae.Message, tt.wantIn) {
					t.Errorf("%s: = %d Allow %q %q (%v); want %d Allow %q containing %q",
						via, resp.StatusCode, resp.Header.Get("Allow"), ae.Message, decErr, tt.want, tt.allow, tt.wantIn)
				}
			}
		})
	}
}

// TestAuthorizerOnlyFromEvents: TrustAuthorizer trusts a verdict API
// Gateway put in the event; a plain HTTP request carries none, whatever
// its headers say.
func TestAuthorizerOnlyFromEvents(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Token, c.Keys, c.TrustAuthorizer = "", newSigner(t), true })
	direct := httptest.NewServer(e.h)
	t.Cleanup(direct.Close)
	resp, err := http.Post(direct.URL+"/api/streams", "application/json", strings.NewReader(`{"name":"a"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("plain HTTP with TrustAuthorizer = %d, want 401", resp.StatusCode)
	}
	ev := events.APIGatewayV2HTTPRequest{RawPath: "/api/streams", Body: `{"name":"a"}`,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{}},
		}}
	if got, err := e.lambda(context.Background(), ev); err != nil || got.StatusCode != http.StatusCreated {
		t.Errorf("event with a JWT verdict = %d %s %v, want 201", got.StatusCode, got.Body, err)
	}
}
