package edge

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hlsflow/hlsflow/internal/store"
)

// TestLiveOrigin: a live rendition's playlist, parts and initialization
// sections go to the ingest with only LL-HLS's query parameters; a
// playlist the ingest does not hold (an ended stream) and everything else
// come from the bucket.
func TestLiveOrigin(t *testing.T) {
	s3 := newS3(t)
	ctx := context.Background()
	for k, v := range map[string]string{
		"live/ended/480p/index.m3u8": "#EXTM3U\n#EXT-X-ENDLIST\n",
		"live/on/master.m3u8":        "#EXTM3U\nmaster from s3\n",
	} {
		if err := s3.Store.PutBytes(ctx, "media", k, []byte(v), store.Object{ContentType: "application/vnd.apple.mpegurl"}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu   sync.Mutex
		seen []string
	)
	ingest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.RequestURI())
		mu.Unlock()
		if !strings.HasPrefix(r.URL.Path, "/live/on/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		w.Header().Set("Cache-Control", "public, max-age=6")
		w.Header().Set("Set-Cookie", "internal=1")
		_, _ = io.WriteString(w, "from ingest "+r.URL.Path)
	}))
	defer ingest.Close()
	e, err := New(Config{Store: s3.Store, LiveOrigin: func() string { return ingest.URL }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	for _, tc := range []struct {
		path, want, forwarded string
		code                  int
	}{
		{"/live/on/480p/index.m3u8?_HLS_msn=12&_HLS_part=3&token=x&_HLS_msn=13", "from ingest /live/on/480p/index.m3u8",
			"/live/on/480p/index.m3u8?_HLS_part=3", 200},
		{"/live/on/480p/index.m3u8?_HLS_msn=12&_HLS_skip=YES", "from ingest", "/live/on/480p/index.m3u8?_HLS_msn=12&_HLS_skip=YES", 200},
		{"/live/on/480p/part_12_3.m4s", "from ingest /live/on/480p/part_12_3.m4s", "/live/on/480p/part_12_3.m4s", 200},
		{"/live/on/480p/init_1.mp4", "from ingest", "/live/on/480p/init_1.mp4", 200},
		{"/live/on/master.m3u8", "master from s3", "", 200},
		{"/live/ended/480p/index.m3u8", "#EXT-X-ENDLIST", "/live/ended/480p/index.m3u8", 200},
		{"/live/gone/480p/part_1_0.m4s", "not found", "/live/gone/480p/part_1_0.m4s", 404},
		{"/live/on/480p/..%2Fpart_1_0.m4s", "bad path", "", 400},
	} {
		mu.Lock()
		seen = nil
		mu.Unlock()
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %d %q, want %d with %q", tc.path, resp.StatusCode, b, tc.code, tc.want)
		}
		if resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: headers %v", tc.path, resp.Header)
		}
		mu.Lock()
		if tc.forwarded == "" && len(seen) > 0 || tc.forwarded != "" && (len(seen) != 1 || seen[0] != tc.forwarded) {
			t.Errorf("%s: the ingest saw %q, want %q", tc.path, seen, tc.forwarded)
		}
		mu.Unlock()
	}
	// With the ingest gone, playlists come from the bucket.
	ingest.Close()
	resp, err := http.Get(srv.URL + "/live/ended/480p/index.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("ingest down: %d", resp.StatusCode)
	}
}
