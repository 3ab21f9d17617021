package api

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/live/restream"
	"github.com/hlsflow/hlsflow/internal/store"
)

// TestDestinations: the operator sets a created stream's restream
// destinations; they are checked, stored for the ingest, and shown back
// with the keys masked.
func TestDestinations(t *testing.T) {
	signer := newSigner(t)
	e := newEnv(t, func(c *Config) {
		c.Keys = signer
		c.RestreamAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	auth := []string{"Authorization", "Bearer " + testToken}
	none := []string{"Authorization", ""}
	e.callJSON("POST", "/api/streams", `{"name":"show"}`, 201, nil, auth...)
	const path = "/api/streams/show/destinations"
	yt := `{"url":"rtmp://127.0.0.1:1935/live2","key":"yt-secret-key-0001"}`
	tw := `{"url":"rtmps://127.0.0.2:443/app","key":"tw-secret-key-0002"}`

	for _, tt := range []struct {
		name, method, path, body string
		header                   []string
		want                     int
		field                    string
	}{
		{"no token", "PUT", path, `{"destinations":[` + yt + `]}`, none, 401, ""},
		{"no token to read", "GET", path, "", none, 401, ""},
		{"unknown stream", "PUT", "/api/streams/nope/destinations", `{"destinations":[]}`, auth, 404, ""},
		{"bad scheme", "PUT", path, `{"destinations":[{"url":"http://127.0.0.1/x","key":"k"}]}`, auth, 400, "destinations[0]"},
		{"private address", "PUT", path, `{"destinations":[` + yt + `,{"url":"rtmp://10.0.0.1/x","key":"k"}]}`, auth, 400, "destinations[1]"},
		{"metadata address", "PUT", path, `{"destinations":[{"url":"rtmp://169.254.169.254/x","key":"k"}]}`, auth, 400, "destinations[0]"},
		{"no key", "PUT", path, `{"destinations":[{"url":"rtmp://127.0.0.1/new"}]}`, auth, 400, "destinations[0]"},
		{"twice", "PUT", path, `{"destinations":[` + yt + `,` + yt + `]}`, auth, 400, "destinations[1]"},
		{"too many", "PUT", path, `{"destinations":[` + strings.Repeat(yt+",", 5) + yt + `]}`, auth, 400, "destinations"},
		{"set", "PUT", path, `{"destinations":[` + yt + `,` + tw + `]}`, auth, 200, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.call(tt.method, tt.path, tt.body, tt.header...)
			if code != tt.want {
				t.Fatalf("= %d %s, want %d", code, body, tt.want)
			}
			if strings.Contains(string(body), "secret-key") {
				t.Errorf("answer shows a key: %s", body)
			}
			if tt.field != "" {
				var ae apiError
				if json.Unmarshal(body, &ae) != nil || ae.Field != tt.field {
					t.Errorf("error %s, want field %q", body, tt.field)
				}
			}
		})
	}

	ctx := context.Background()
	stored, err := restream.Load(ctx, e.store, e.media, "show")
	if err != nil || len(stored) != 2 || stored[0].Key != "yt-secret-key-0001" || stored[1].URL != "rtmps://127.0.0.2:443/app" {
		t.Fatalf("stored %+v %v", stored, err)
	}
	var got struct{ Destinations []Destination }
	e.callJSON("GET", path, "", 200, &got, auth...)
	if len(got.Destinations) != 2 || got.Destinations[0].Key != restream.MaskKey("yt-secret-key-0001") || got.Destinations[0].URL != "rtmp://127.0.0.1:1935/live2" {
		t.Errorf("GET = %+v", got)
	}

	// A destination sent back without its key keeps it; one left out goes.
	e.callJSON("PUT", path, `{"destinations":[{"url":"rtmp://127.0.0.1:1935/live2"}]}`, 200, nil, auth...)
	if stored, _ = restream.Load(ctx, e.store, e.media, "show"); len(stored) != 1 || stored[0].Key != "yt-secret-key-0001" {
		t.Errorf("kept key: %+v", stored)
	}
	e.callJSON("PUT", path, `{"destinations":[]}`, 200, nil, auth...)
	if stored, _ = restream.Load(ctx, e.store, e.media, "show"); len(stored) != 0 {
		t.Errorf("cleared: %+v", stored)
	}

	// The states the ingest reports show in the operator's stream list.
	put := func(key, body string) {
		if err := e.store.PutBytes(ctx, e.media, key, []byte(body), store.For(key)); err != nil {
			t.Fatal(err)
		}
	}
	put("live/show/master.m3u8", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n360p/index.m3u8\n")
	put("live/show/360p/index.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg0.ts\n")
	put(catalog.RestreamStateKey("show"), `[{"url":"rtmp://127.0.0.1:1935/live2","key":"****0001","state":"failing","lastError":"Connection refused","bytesSent":0}]`)
	var list struct{ Streams []LiveStream }
	e.callJSON("GET", "/api/streams", "", 200, &list, auth...)
	if len(list.Streams) != 1 || len(list.Streams[0].Destinations) != 1 || list.Streams[0].Destinations[0].State != restream.StateFailing {
		t.Errorf("streams: %+v", list.Streams)
	}
}
