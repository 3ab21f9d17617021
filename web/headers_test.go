package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSecurityHeaders: the page (and every other answer of the handler)
// comes with a CSP that allows no inline code, no framing and no origin
// beyond its own and the ones it is told of, plus nosniff.
func TestSecurityHeaders(t *testing.T) {
	srv := httptest.NewServer(HandlerFor(func(r *http.Request) []string {
		return []string{"http://" + strings.Split(r.Host, ":")[0] + ":4566"}
	}))
	defer srv.Close()
	for _, p := range []string{"/", "/static/app.js", "/missing"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		directives := map[string]string{}
		for d := range strings.SplitSeq(csp, ";") {
			name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
			directives[name] = value
		}
		want := map[string]string{
			"default-src":     "'self'",
			"script-src":      "'self'",
			"style-src":       "'self'",
			"frame-ancestors": "'none'",
			"object-src":      "'none'",
			"base-uri":        "'none'",
			"worker-src":      "'self' blob:",
			"media-src":       "'self' http://127.0.0.1:4566 blob: data:",
			"connect-src":     "'self' http://127.0.0.1:4566",
		}
		for name, v := range want {
			if directives[name] != v {
				t.Errorf("%s: %s is %q, want %q (CSP %q)", p, name, directives[name], v, csp)
			}
		}
		if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") {
			t.Errorf("%s: CSP allows unsafe code or any origin: %q", p, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: nosniff %q, frame options %q", p, resp.Header.Get("X-Content-Type-Options"), resp.Header.Get("X-Frame-Options"))
		}
	}
	resp, err := http.Get(httptest.NewServer(Handler()).URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "connect-src 'self';") {
		t.Errorf("Handler's CSP lets the page connect elsewhere: %q", got)
	}
}
