package api

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/playsign"
)

func grantKeys(t *testing.T) (*playsign.Signer, *playsign.Verifier) {
	t.Helper()
	k, err := playsign.LoadDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := playsign.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	v, err := playsign.NewVerifier(k)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// POST …/playback: the token holder gets a grant that opens that video
// (or stream) only, for the lifetime asked; bad requests change nothing.
func TestPlaybackGrant(t *testing.T) {
	signer, verifier := grantKeys(t)
	now := time.Now()
	e := newEnv(t, func(c *Config) {
		c.SignedPlayback, c.Grants, c.PublicURL = true, signer, "http://127.0.0.1:8080"
		c.Now = func() time.Time { return now }
	})
	ctx := context.Background()
	ready, busy := "clip-000000000001", "clip-000000000002"
	for id, st := range map[string]catalog.State{ready: catalog.StateReady, busy: catalog.StateProcessing} {
		if err := catalog.Write(ctx, e.store, e.media, &catalog.Status{ID: id, State: st, Playback: catalog.MasterKey(id)}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(g PlaybackGrant, prefix string, ttl time.Duration) {
		t.Helper()
		if !strings.HasPrefix(g.URL, "http://127.0.0.1:8080/p/") || !strings.HasSuffix(g.URL, prefix+"master.m3u8") {
			t.Errorf("url %q", g.URL)
		}
		if want := now.Add(ttl).Truncate(time.Second); !g.Expires.Equal(want) {
			t.Errorf("expires %v, want %v", g.Expires, want)
		}
		urls := []string{g.URL}
		if strings.HasPrefix(prefix, "/live/") {
			if len(g.Cookies) != 0 || g.SignedURL != "" {
				t.Errorf("live grant with cookies %+v or signed url %q", g.Cookies, g.SignedURL)
			}
		} else if len(g.Cookies) != 3 || g.Cookies[0].Path != prefix || g.SignedURL == "" {
			t.Errorf("cookies %+v signed url %q", g.Cookies, g.SignedURL)
		} else {
			urls = append(urls, g.SignedURL)
		}
		for _, u := range urls {
			r := httptest.NewRequest("GET", u, nil)
			if p, err := verifier.Check(r); err != nil || !strings.HasPrefix(p, prefix) {
				t.Errorf("%s: %q %v", u, p, err)
			}
		}
	}
	var g PlaybackGrant
	e.callJSON("POST", "/api/videos/"+ready+"/playback", `{"expiresIn":120}`, 200, &g)
	check(g, "/vod/"+ready+"/", 2*time.Minute)
	e.callJSON("POST", "/api/videos/"+ready+"/playback", "", 200, &g)
	check(g, "/vod/"+ready+"/", DefaultGrantSeconds*time.Second)
	var l PlaybackGrant
	e.callJSON("POST", "/api/streams/studio/playback", `{"expiresIn":604800}`, 200, &l)
	check(l, "/live/studio/", playsign.MaxTTL)

	for _, tc := range []struct {
		name, path, body string
		header           []string
		want             int
		msg              string
	}{
		{"no token", "/api/videos/" + ready + "/playback", `{}`, []string{"Authorization", ""}, 401, ""},
		{"wrong token", "/api/videos/" + ready + "/playback", `{}`, []string{"Authorization", "Bearer nope"}, 401, ""},
		{"zero", "/api/videos/" + ready + "/playback", `{"expiresIn":0}`, nil, 400, "expiresIn"},
		{"negative", "/api/videos/" + ready + "/playback", `{"expiresIn":-5}`, nil, 400, "expiresIn"},
		{"too long", "/api/videos/" + ready + "/playback", `{"expiresIn":604801}`, nil, 400, "604800"},
		{"huge", "/api/videos/" + ready + "/playback", `{"expiresIn":1e300}`, nil, 400, "expiresIn"},
		{"fraction", "/api/videos/" + ready + "/playback", `{"expiresIn":1.5}`, nil, 400, "expiresIn"},
		{"string", "/api/videos/" + ready + "/playback", `{"expiresIn":"60"}`, nil, 400, "expiresIn"},
		{"unknown field", "/api/videos/" + ready + "/playback", `{"expires":60}`, nil, 400, "expires"},
		{"not json", "/api/videos/" + ready + "/playback", `{`, nil, 400, "JSON"},
		{"big body", "/api/videos/" + ready + "/playback", `{"expiresIn":60,"x":"` + strings.Repeat("a", 70<<10) + `"}`, nil, 413, ""},
		{"unknown video", "/api/videos/clip-000000000009/playback", `{}`, nil, 404, "no video"},
		{"bad id", "/api/videos/..%2Fx/playback", `{}`, nil, 404, ""},
		{"not ready", "/api/videos/" + busy + "/playback", `{}`, nil, 409, "processing"},
		{"bad stream name", "/api/streams/Bad_Name/playback", `{}`, nil, 404, ""},
		{"GET", "/api/videos/" + ready + "/playback", "", nil, 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			if tc.name == "GET" {
				method = "GET"
			}
			code, body := e.call(method, tc.path, tc.body, tc.header...)
			if code != tc.want || !strings.Contains(string(body), tc.msg) || strings.Contains(string(body), "/p/") {
				t.Errorf("= %d %s, want %d with %q", code, body, tc.want, tc.msg)
			}
		})
	}
}

// Behind CloudFront the API has no public URL and signs for the host the
// viewer used (apirequest.js passes it); without either it signs nothing,
// and without a signer it says signing is off.
func TestPlaybackGrantBase(t *testing.T) {
	signer, _ := grantKeys(t)
	e := newEnv(t, func(c *Config) { c.Grants = signer })
	var g PlaybackGrant
	e.callJSON("POST", "/api/streams/studio/playback", "", 200, &g, ViewerHostHeader, "d111.cloudfront.net")
	if !strings.HasPrefix(g.URL, "https://d111.cloudfront.net/p/") || !strings.HasSuffix(g.URL, "/live/studio/master.m3u8") {
		t.Errorf("grant %+v", g)
	}
	for _, host := range []string{"", "evil.example/x?", "a b"} {
		if code, body := e.call("POST", "/api/streams/studio/playback", "", ViewerHostHeader, host); code != 501 {
			t.Errorf("viewer host %q: %d %s, want 501", host, code, body)
		}
	}
	off := newEnv(t, nil)
	if code, body := off.call("POST", "/api/streams/studio/playback", ""); code != 501 || !strings.Contains(string(body), "not configured") {
		t.Errorf("without a signer: %d %s", code, body)
	}
}
