package edge

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/playsign"
	"github.com/hlsflow/hlsflow/internal/store"
)

// With Grants, media needs a grant: a path token (whose relative URIs
// keep it), a signed URL or signed cookies; everything else gets 403
// and reads nothing from S3.
func TestGrants(t *testing.T) {
	keys, err := playsign.LoadDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := playsign.NewVerifier(keys)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := playsign.NewSigner(keys)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, Config{Grants: v})
	f.put("master.m3u8", []byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n360p/index_1.m3u8\n"), store.Object{ContentType: "application/vnd.apple.mpegurl"})
	f.put("360p/index_1.m3u8", []byte("#EXTM3U\n#EXTINF:1,\nseg_1_00000.ts\n#EXT-X-ENDLIST\n"), store.Object{ContentType: "application/vnd.apple.mpegurl"})
	f.put("360p/seg_1_00000.ts", []byte("segment"), store.Object{ContentType: "video/mp2t"})
	f.put("status.json", []byte(`{"state":"ready"}`), store.Object{ContentType: "application/json"})
	id := strings.Split(f.prefix, "/")[1]
	base := f.srv.URL
	g, err := signer.Grant(base, playsign.Scope{Kind: "vod", Name: id}, "master.m3u8", time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	other, err := signer.Grant(base, playsign.Scope{Kind: "vod", Name: id + "x"}, "master.m3u8", time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(u string, cookies []*http.Cookie, method string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, body := f.doReq(req)
		return resp.StatusCode, string(body)
	}
	// The path token's playlists lead to every segment as they are.
	u := g.URL
	for _, want := range []string{"360p/index_1.m3u8", "seg_1_00000.ts", ""} {
		code, body := fetch(u, nil, "GET")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", u, code, body)
		}
		if want == "" {
			if body != "segment" {
				t.Errorf("segment body %q", body)
			}
			break
		}
		if !strings.Contains(body, want) {
			t.Fatalf("%s does not name %s: %s", u, want, body)
		}
		ref, _ := url.Parse(want)
		base, _ := url.Parse(u)
		u = base.ResolveReference(ref).String()
	}
	for _, tc := range []struct {
		name    string
		url     string
		cookies []*http.Cookie
		method  string
		want    int
	}{
		{"cookies", base + "/" + f.prefix + "360p/index_1.m3u8", g.Cookies, "GET", 200},
		{"signed url", g.SignedURL, nil, "GET", 200},
		{"head with token", g.URL, nil, "HEAD", 200},
		{"preflight", base + "/" + f.prefix + "master.m3u8", nil, "OPTIONS", 204},
		{"no grant", base + "/" + f.prefix + "master.m3u8", nil, "GET", 403},
		{"status.json without grant", base + "/" + f.prefix + "status.json", nil, "GET", 403},
		{"other video's token", strings.Replace(other.URL, "/vod/"+id+"x/", "/vod/"+id+"/", 1), nil, "GET", 403},
		{"other video's cookies", base + "/" + f.prefix + "master.m3u8", other.Cookies, "GET", 403},
		{"token escaping its folder", strings.Replace(g.URL, "master.m3u8", "..%2f..%2fx%2fmaster.m3u8", 1), nil, "GET", 403},
		{"token without grants on live", strings.Replace(g.URL, "/vod/", "/live/", 1), nil, "GET", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.origin.total()
			if code, body := fetch(tc.url, tc.cookies, tc.method); code != tc.want {
				t.Errorf("%s %s: %d %s, want %d", tc.method, tc.url, code, body, tc.want)
			}
			if n := f.origin.total() - before; tc.want == 403 && n != 0 {
				t.Errorf("a refused request made %d S3 requests", n)
			}
		})
	}

	// Without Grants nothing changes: /p/ is not media.
	plain := newFixture(t, Config{})
	if resp, _ := plain.do("GET", strings.TrimPrefix(g.URL, base+"/"), nil); resp.StatusCode != 404 {
		t.Errorf("/p/ without grants: %d, want 404", resp.StatusCode)
	}
}

func (c *countingTransport) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.counts {
		n += v
	}
	return n
}

func (f *fixture) doReq(req *http.Request) (*http.Response, []byte) {
	f.t.Helper()
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}
