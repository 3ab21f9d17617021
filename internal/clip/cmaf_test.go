package clip

import (
	"context"
	"fmt"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/store"
)

// cmafVideo is video with CMAF renditions: each playlist's first segment
// names the init segment mapURI (relative to the playlist), whose bytes
// are written when it is in the rendition's folder.
func cmafVideo(t *testing.T, st *store.Store, id, mapURI string) {
	t.Helper()
	video(t, st, id)
	for _, r := range []string{"720p", "360p", "audio"} {
		key := catalog.Prefix(id) + r + "/index_r1.m3u8"
		p := hls.MediaPlaylist{}
		for i := range 6 {
			uri := fmt.Sprintf("seg_r1_%05d.m4s", i)
			p.Segments = append(p.Segments, hls.Segment{URI: uri, Duration: 4 * time.Second})
			put(t, st, path.Join(path.Dir(key), uri), []byte("segment "+path.Join(path.Dir(key), uri)))
		}
		p.Segments[0].Map = &hls.Map{URI: mapURI}
		if !strings.Contains(mapURI, "/") {
			put(t, st, path.Join(path.Dir(key), mapURI), []byte("init "+r))
		}
		b, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		put(t, st, key, b)
	}
}

// A clip of a CMAF video starts with the parent's init segment, copied
// beside its segments, whichever segment it starts at.
func TestClipOfCMAFVideo(t *testing.T) {
	m := maker(t)
	cmafVideo(t, m.Store, "cmaf-0123456789ab", "init_r1.mp4")
	st, err := m.FromVideo(context.Background(), "cmaf-0123456789ab", 5, 9)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, r := range []string{"720p", "360p", "audio"} {
		b, err := m.Store.GetBytes(ctx, m.Bucket, catalog.Prefix(st.ID)+r+"/index_r1.m3u8")
		if err != nil {
			t.Fatal(err)
		}
		p, err := hls.ParseMedia(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Segments) != 2 || p.Segments[0].Map == nil || p.Segments[0].Map.URI != "init_r1.mp4" || p.Segments[1].Map != nil {
			t.Fatalf("%s: clip playlist %s, want two segments after init_r1.mp4", r, b)
		}
		init, err := m.Store.GetBytes(ctx, m.Bucket, catalog.Prefix(st.ID)+r+"/init_r1.mp4")
		if err != nil || string(init) != "init "+r {
			t.Errorf("%s: init segment %q (%v), want the parent's", r, init, err)
		}
	}
	checkPlays(t, m.Store, st.ID)
}

// An EXT-X-MAP outside the bucket's videos is refused like a segment.
func TestClipCMAFMapStaysInTheBucket(t *testing.T) {
	m := maker(t)
	cmafVideo(t, m.Store, "evil-0123456789ab", "../../../uploads-meta/x.json")
	if _, err := m.FromVideo(context.Background(), "evil-0123456789ab", 0, 9); err == nil || !strings.Contains(err.Error(), "not a segment") {
		t.Errorf("err %v, want a refusal", err)
	}
	if n, _ := m.count(context.Background(), "evil-0123456789ab"); n != 0 {
		t.Errorf("%d clips left", n)
	}
}
