package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hlsflow/hlsflow/internal/catalog"
)

// fetches records what the API asked to fetch.
type fetches struct {
	mu      sync.Mutex
	started [][3]string // id, key, url
	err     error
}

func (f *fetches) Start(_ context.Context, id, key, url string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.started = append(f.started, [3]string{id, key, url})
	return nil
}

func (f *fetches) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.started)
}

func TestUploadFromURL(t *testing.T) {
	f := &fetches{}
	e := newEnv(t, func(c *Config) { c.Fetches = f })
	const src = "https://videos.example.com/a/My%20Clip.mp4?sig=SECRET"
	var got FetchStarted
	e.callJSON("POST", "/api/uploads", `{"url":"`+src+`"}`, http.StatusAccepted, &got)
	if got.ID == "" || catalog.VideoID(got.Key) != got.ID || got.State != "processing" || got.StatusURL != "/api/videos/"+got.ID {
		t.Errorf("answer %+v", got)
	}
	if !strings.HasSuffix(got.Key, "/My-Clip.mp4") {
		t.Errorf("key %q is not named after the URL's file", got.Key)
	}
	if f.count() != 1 || f.started[0] != [3]string{got.ID, got.Key, src} {
		t.Fatalf("started %v", f.started)
	}
	// The record (private) keeps the URL; the answer keeps its secret out.
	rec, err := e.h.getRecord(&request{(&http.Request{}).WithContext(context.Background())}, got.ID)
	if err != nil || rec.SourceURL != src || rec.Filename != "My Clip.mp4" {
		t.Errorf("record %+v, %v", rec, err)
	}
	b, _ := json.Marshal(got)
	if strings.Contains(string(b), "SECRET") {
		t.Errorf("answer %s repeats the URL's query", b)
	}
	// A file name given wins.
	e.callJSON("POST", "/api/uploads", `{"url":"http://videos.example.com/x","filename":"talk.mp4"}`, http.StatusAccepted, &got)
	if !strings.HasSuffix(got.Key, "/talk.mp4") {
		t.Errorf("key %q", got.Key)
	}
}

func TestUploadFromURLRefused(t *testing.T) {
	f := &fetches{}
	e := newEnv(t, func(c *Config) { c.Fetches = f })
	before := e.snapshot()
	for _, c := range []struct{ name, body, says string }{
		{"file", `{"url":"file:///etc/passwd"}`, `not "file"`},
		{"gopher", `{"url":"gopher://127.0.0.1:6379/_FLUSHALL"}`, `not "gopher"`},
		{"no scheme", `{"url":"example.com/x.mp4"}`, "no scheme"},
		{"user info", `{"url":"http://admin:pw@example.com/x.mp4"}`, "user name"},
		{"decimal IP", `{"url":"http://2130706433/x.mp4"}`, "non-standard form"},
		{"octal IP", `{"url":"http://0177.0.0.1/x.mp4"}`, "non-standard form"},
		{"IPv6 zone", `{"url":"http://[fe80::1%25eth0]/"}`, "IPv6"},
		{"too long", `{"url":"http://example.com/` + strings.Repeat("a", 3000) + `"}`, "longer than"},
		{"size too", `{"url":"http://example.com/x.mp4","size":10}`, "no size"},
		{"not a string", `{"url":5}`, "url"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := e.call("POST", "/api/uploads", c.body)
			var ae apiError
			if code != http.StatusBadRequest || json.Unmarshal(body, &ae) != nil || !strings.Contains(ae.Message, c.says) {
				t.Errorf("= %d %s, want 400 saying %q", code, body, c.says)
			}
		})
	}
	// Without the token, nothing happens either.
	code, body := e.call("POST", "/api/uploads", `{"url":"https://example.com/x.mp4"}`, "Authorization", "")
	refused(t, code, body)
	if f.count() != 0 {
		t.Errorf("%d fetches started", f.count())
	}
	if after := e.snapshot(); after != before {
		t.Errorf("refused requests changed the buckets:\n%s\n%s", before, after)
	}
}

func TestUploadFromURLUnavailable(t *testing.T) {
	e := newEnv(t, nil)
	code, body := e.call("POST", "/api/uploads", `{"url":"https://example.com/x.mp4"}`)
	if code != http.StatusNotImplemented {
		t.Errorf("without fetches: %d %s, want 501", code, body)
	}
	f := &fetches{err: errors.New("invoke fetch: throttled")}
	e = newEnv(t, func(c *Config) { c.Fetches = f })
	code, body = e.call("POST", "/api/uploads", `{"url":"https://example.com/x.mp4"}`)
	if code != http.StatusServiceUnavailable || strings.Contains(string(body), "throttled") {
		t.Errorf("failing start: %d %s, want 503 without the cause", code, body)
	}
}
