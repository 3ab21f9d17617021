package clip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// put writes an object or fails the test.
func put(t *testing.T, st *store.Store, key string, b []byte) {
	t.Helper()
	if err := st.PutBytes(context.Background(), testenv.BucketMedia, key, b, store.For(key)); err != nil {
		t.Fatal(err)
	}
}

// playlist writes a media playlist at key listing n segments of 4 s
// (the last 2.5 s) from sequence number seq, named by name(seq), each
// with its own bytes written at the key its URI names.
func playlist(t *testing.T, st *store.Store, key string, seq uint64, n int, name func(uint64) string) {
	t.Helper()
	p := hls.MediaPlaylist{MediaSequence: seq}
	for i := range n {
		d := 4 * time.Second
		if i == n-1 {
			d = 2500 * time.Millisecond
		}
		uri := name(seq + uint64(i))
		p.Segments = append(p.Segments, hls.Segment{URI: uri, Duration: d})
		put(t, st, path.Join(path.Dir(key), uri), []byte("segment "+path.Join(path.Dir(key), uri)))
	}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	put(t, st, key, b)
}

const masterBody = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index_r1.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="audio"
720p/index_r1.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2",AUDIO="audio"
360p/index_r1.m3u8
`

// video writes a ready video of 22.5 s (six segments) under id.
func video(t *testing.T, st *store.Store, id string) {
	t.Helper()
	for _, r := range []string{"720p", "360p", "audio"} {
		playlist(t, st, catalog.Prefix(id)+r+"/index_r1.m3u8", 0, 6, func(n uint64) string { return fmt.Sprintf("seg_r1_%05d.ts", n) })
	}
	put(t, st, catalog.MasterKey(id), []byte(masterBody))
	put(t, st, catalog.Prefix(id)+"poster-r1.jpg", []byte("jpeg"))
	s := &catalog.Status{ID: id, State: catalog.StateReady, Progress: 1, Duration: 22.5, Playback: catalog.MasterKey(id),
		Poster: catalog.Prefix(id) + "poster-r1.jpg", Renditions: []catalog.Rendition{{Name: "720p", Width: 1280, Height: 720}}}
	if err := catalog.Write(context.Background(), st, testenv.BucketMedia, s); err != nil {
		t.Fatal(err)
	}
}

func maker(t *testing.T) *Maker {
	return &Maker{Store: testenv.S3(t).Store, Bucket: testenv.BucketMedia}
}

// deleteAll removes every object under prefix.
func deleteAll(t *testing.T, st *store.Store, prefix string) {
	t.Helper()
	keys, err := st.List(context.Background(), testenv.BucketMedia, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteKeys(context.Background(), testenv.BucketMedia, keys); err != nil {
		t.Fatal(err)
	}
}

// checkPlays reads the clip as a player would, from its master down, and
// returns each rendition's segment bodies (by playlist URI) and its
// duration.
func checkPlays(t *testing.T, st *store.Store, id string) (map[string][]string, time.Duration) {
	t.Helper()
	ctx := context.Background()
	b, err := st.GetBytes(ctx, testenv.BucketMedia, catalog.MasterKey(id))
	if err != nil {
		t.Fatal(err)
	}
	m, err := hls.ParseMaster(b)
	if err != nil {
		t.Fatal(err)
	}
	uris := []string{}
	for _, v := range m.Variants {
		uris = append(uris, v.URI)
	}
	for _, md := range m.Media {
		uris = append(uris, md.URI)
	}
	bodies := map[string][]string{}
	var dur time.Duration
	for _, u := range uris {
		b, err := st.GetBytes(ctx, testenv.BucketMedia, catalog.Prefix(id)+u)
		if err != nil {
			t.Fatal(err)
		}
		p, err := hls.ParseMedia(b)
		if err != nil {
			t.Fatal(err)
		}
		if !p.EndList || p.Type != hls.TypeVOD {
			t.Errorf("%s is not a finished VOD playlist", u)
		}
		dur = p.Duration()
		for _, s := range p.Segments {
			if strings.Contains(s.URI, "/") {
				t.Errorf("%s lists %q outside the clip's folder", u, s.URI)
			}
			seg, err := st.GetBytes(ctx, testenv.BucketMedia, path.Join(path.Dir(catalog.Prefix(id)+u), s.URI))
			if err != nil {
				t.Fatalf("%s lists %s: %v", u, s.URI, err)
			}
			bodies[u] = append(bodies[u], string(seg))
		}
	}
	return bodies, dur
}

func TestClipOfVideo(t *testing.T) {
	m := maker(t)
	video(t, m.Store, "talk-0123456789ab")
	// Made in the call (playlists over the video's segments, no encode):
	// what it returns is ready.
	st, err := m.FromVideo(context.Background(), "talk-0123456789ab", 5, 9)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.ID, "talk-0123456789ab-clip-") || !catalog.ValidID(st.ID) {
		t.Errorf("clip id %q", st.ID)
	}
	// Segment-accurate: 5..9 touches the segments 4..8 and 8..12.
	want := catalog.ClipOf{ID: "talk-0123456789ab", Start: 4, End: 12}
	if st.ClipOf == nil || *st.ClipOf != want || st.Duration != 8 || st.State != catalog.StateReady {
		t.Errorf("status %+v clipOf %+v, want %+v and 8 s ready", st, st.ClipOf, want)
	}
	got, err := catalog.Read(context.Background(), m.Store, m.Bucket, st.ID)
	if err != nil || got.ClipOf == nil || *got.ClipOf != want || got.Playback != catalog.MasterKey(st.ID) ||
		got.Poster != catalog.Prefix(st.ID)+"poster-r1.jpg" || len(got.Renditions) != 1 {
		t.Fatalf("status.json %+v (%v)", got, err)
	}
	before, dur := checkPlays(t, m.Store, st.ID)
	if dur != 8*time.Second || len(before) != 3 {
		t.Errorf("clip plays %s in %d renditions, want 8 s in 3", dur, len(before))
	}
	for u, segs := range before {
		want := []string{"segment vod/talk-0123456789ab/" + path.Dir(u) + "/seg_r1_00001.ts", "segment vod/talk-0123456789ab/" + path.Dir(u) + "/seg_r1_00002.ts"}
		if strings.Join(segs, "|") != strings.Join(want, "|") {
			t.Errorf("%s plays %q, want the parent's %q", u, segs, want)
		}
	}
	// The parent replaced or deleted: the clip plays on.
	deleteAll(t, m.Store, catalog.Prefix("talk-0123456789ab"))
	after, _ := checkPlays(t, m.Store, st.ID)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("after the parent went: %v, want %v", after, before)
	}
	// The last segment, and the whole video, may be clipped.
	video(t, m.Store, "talk-0123456789ab")
	for _, span := range [][2]float64{{20, 22.5}, {0, 22.5}} {
		st, err := m.FromVideo(context.Background(), "talk-0123456789ab", span[0], span[1])
		if err != nil || st.ClipOf.End != 22.5 {
			t.Errorf("clip %v: %+v %v", span, st, err)
		}
	}
}

// Bad requests are refused with a reason, and write nothing.
func TestClipRefusals(t *testing.T) {
	m := maker(t)
	video(t, m.Store, "bad-0123456789ab")
	processing := &catalog.Status{ID: "busy-0123456789ab", State: catalog.StateProcessing}
	if err := catalog.Write(context.Background(), m.Store, m.Bucket, processing); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name       string
		id         string
		start, end float64
		field      string // RangeError's, or "" for want
		want       error
	}{
		{"end before start", "bad-0123456789ab", 9, 5, "end", nil},
		{"empty span", "bad-0123456789ab", 5, 5, "end", nil},
		{"negative start", "bad-0123456789ab", -1, 5, "start", nil},
		{"beyond the end", "bad-0123456789ab", 5, 30, "end", nil},
		{"start beyond the end", "bad-0123456789ab", 23, 30, "start", nil},
		{"huge span", "bad-0123456789ab", 0, 1e300, "end", nil},
		{"not a number", "bad-0123456789ab", math.NaN(), 5, "start", nil},
		{"infinite", "bad-0123456789ab", 0, math.Inf(1), "end", nil},
		{"unknown id", "nothing-0123456789ab", 0, 4, "", ErrNotFound},
		{"not ready", "busy-0123456789ab", 0, 4, "", ErrNotFound},
		{"path in id", "../live/x", 0, 4, "", ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.FromVideo(context.Background(), tt.id, tt.start, tt.end)
			var re *RangeError
			switch {
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("err %v, want %v", err, tt.want)
			case tt.want == nil && (!errors.As(err, &re) || re.Field != tt.field || re.Reason == ""):
				t.Errorf("err %v, want a reason about %s", err, tt.field)
			}
		})
	}
	if n, err := m.count(context.Background(), "bad-0123456789ab"); n != 0 || err != nil {
		t.Errorf("refusals made %d clips (%v)", n, err)
	}
}

// A video has at most MaxPerSource clips.
func TestClipsAreBounded(t *testing.T) {
	m := maker(t)
	video(t, m.Store, "many-0123456789ab")
	for i := range MaxPerSource {
		if _, err := m.FromVideo(context.Background(), "many-0123456789ab", 0, 4); err != nil {
			t.Fatalf("clip %d: %v", i, err)
		}
	}
	if _, err := m.FromVideo(context.Background(), "many-0123456789ab", 0, 4); !errors.Is(err, ErrTooMany) {
		t.Errorf("clip %d: %v, want ErrTooMany", MaxPerSource+1, err)
	}
}

// A live stream's window: renditions whose windows differ by a segment are
// clipped on what they share, and the clip outlives the stream and its
// recording.
func TestClipOfLive(t *testing.T) {
	m := maker(t)
	rec := func(r string) func(uint64) string {
		return func(n uint64) string {
			return fmt.Sprintf("../../../vod/studio-20260101-000000/%s/seg_ab_%05d.ts", r, n)
		}
	}
	playlist(t, m.Store, catalog.LivePrefix("studio")+"540p/index.m3u8", 10, 5, rec("540p")) // 10..14
	playlist(t, m.Store, catalog.LivePrefix("studio")+"360p/index.m3u8", 11, 5, rec("360p")) // 11..15
	put(t, m.Store, catalog.LiveMasterKey("studio"), []byte("#EXTM3U\n#EXT-X-VERSION:3\n"+
		"#EXT-X-STREAM-INF:BANDWIDTH=1500000,RESOLUTION=960x540,CODECS=\"avc1.64001f,mp4a.40.2\"\n540p/index.m3u8\n"+
		"#EXT-X-STREAM-INF:BANDWIDTH=700000,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\"\n360p/index.m3u8\n"))
	// The shared window starts at 11: 0..3 is segment 11 alone.
	st, err := m.FromLive(context.Background(), "studio", 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := (catalog.ClipOf{ID: "studio", Live: true, Start: 0, End: 4}); *st.ClipOf != want || len(st.Renditions) != 2 || st.Renditions[0].Name != "540p" {
		t.Errorf("clipOf %+v renditions %+v, want %+v and two", st.ClipOf, st.Renditions, want)
	}
	deleteAll(t, m.Store, catalog.LivePrefix("studio"))
	deleteAll(t, m.Store, catalog.Prefix("studio-20260101-000000"))
	got, dur := checkPlays(t, m.Store, st.ID)
	if dur != 4*time.Second || len(got) != 2 || got["540p/index.m3u8"][0] != "segment vod/studio-20260101-000000/540p/seg_ab_00011.ts" {
		t.Errorf("clip plays %v over %s", got, dur)
	}
	if _, err := m.FromLive(context.Background(), "studio", 0, 3); !errors.Is(err, ErrNotFound) {
		t.Errorf("a stream with no window: %v, want ErrNotFound", err)
	}
}

// Playlists that name anything outside the bucket's vod/ are not copied.
func TestClipStaysInTheBucket(t *testing.T) {
	m := maker(t)
	playlist(t, m.Store, catalog.LivePrefix("evil")+"540p/index.m3u8", 0, 2, func(n uint64) string { return fmt.Sprintf("../../../uploads-meta/x%d.json", n) })
	put(t, m.Store, catalog.LiveMasterKey("evil"), []byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n540p/index.m3u8\n"))
	if _, err := m.FromLive(context.Background(), "evil", 0, 3); err == nil || !bytes.Contains([]byte(err.Error()), []byte("not a segment")) {
		t.Errorf("err %v, want a refusal", err)
	}
	if n, _ := m.count(context.Background(), "evil"); n != 0 {
		t.Errorf("%d clips left", n)
	}
}

// The longest clip allowed: 150 segments in each of three renditions,
// copied at copiesAtOnce; its time is logged (the local S3 copies a small
// object in about a millisecond, S3 in some tens).
func TestLongestClip(t *testing.T) {
	m := maker(t)
	id := "long-0123456789ab"
	for _, r := range []string{"720p", "360p", "audio"} {
		playlist(t, m.Store, catalog.Prefix(id)+r+"/index_r1.m3u8", 0, 160, func(n uint64) string { return fmt.Sprintf("seg_r1_%05d.ts", n) })
	}
	put(t, m.Store, catalog.MasterKey(id), []byte(masterBody))
	if err := catalog.Write(context.Background(), m.Store, m.Bucket, &catalog.Status{ID: id, State: catalog.StateReady}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st, err := m.FromVideo(context.Background(), id, 0, MaxSeconds)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a %.0f s clip (%d copies) took %s", st.Duration, 3*150, time.Since(start).Round(time.Millisecond))
	if st.Duration != MaxSeconds {
		t.Errorf("duration %.1f, want %d", st.Duration, MaxSeconds)
	}
}
