package e2e

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/testenv"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
)

// vodCase is a real upload and what its ladder must look like.
type vodCase struct {
	name, media, key string
	duration         float64 // source duration, s
	portrait         bool
	audioOnly        bool
}

var vodCases = []vodCase{
	{name: "landscape 720p, key with spaces", media: "01_bbb_720p_h264_aac51.mp4", key: "e2e/My Clip (1).mp4", duration: 5.3},
	{name: "rotated portrait mov, non-ascii key", media: "04_iphone4s_portrait_rot90.mov", key: "e2e/портрет é.mov", duration: 2.2, portrait: true},
	{name: "audio only mp3", media: "14_t_rex_roar_audio_only.mp3", key: "e2e/roar.mp3", duration: 2.1, audioOnly: true},
	// Long enough to be split into chunks encoded in parallel by the
	// encode function and stitched: joins must not show.
	{name: "70 s VP8/Vorbis webm, chunked", media: "08_tears_of_steel_vp8_vorbis.webm", key: "e2e/tears of steel.webm", duration: 70.5},
}

// TestVODThroughEdge uploads real media through the S3 API and checks the
// published ladder as a player sees it: through the edge.
func TestVODThroughEdge(t *testing.T) {
	ids := make([]string, len(vodCases))
	for i, c := range vodCases { // upload all first: the pipeline works on them concurrently
		ids[i] = upload(t, testenv.Media(t, c.media), c.key)
	}
	for i, c := range vodCases {
		t.Run(c.name, func(t *testing.T) {
			st := waitDone(t, ids[i], 5*time.Minute)
			if st.State != catalog.StateReady {
				t.Fatalf("state %s, error %q", st.State, st.Error)
			}
			if st.Playback != catalog.MasterKey(ids[i]) {
				t.Errorf("playback %q, want %q", st.Playback, catalog.MasterKey(ids[i]))
			}
			// status.json is public: the edge serves it without the
			// bucket or the key (which holds the file's name).
			if _, raw := edgeGet(t, "GET", catalog.StatusKey(ids[i]), nil); bytes.Contains(raw, []byte(c.key)) ||
				bytes.Contains(raw, []byte(`"bucket"`)) || !bytes.Contains(raw, []byte(`"state"`)) {
				t.Errorf("status.json as the edge serves it: %s; want no bucket or key %q", raw, c.key)
			}
			if math.Abs(st.Duration-c.duration) > 0.5 {
				t.Errorf("duration %.2f, want about %.1f", st.Duration, c.duration)
			}
			checkLadder(t, st, c)
			checkPoster(t, st, c)
		})
	}
}

func checkLadder(t *testing.T, st *catalog.Status, c vodCase) {
	masterPath := st.Playback
	resp, body := edgeGet(t, http.MethodGet, masterPath, map[string]string{"Origin": "http://player.example"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET master: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.apple.mpegurl" {
		t.Errorf("master Content-Type %q", ct)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("master has no CORS header for a cross-origin player")
	}
	master, err := hls.ParseMaster(body)
	if err != nil {
		t.Fatalf("parse master: %v\n%s", err, body)
	}
	if len(master.Variants) == 0 {
		t.Fatalf("master has no variants:\n%s", body)
	}
	playlists := map[string]bool{}
	for _, v := range master.Variants {
		if v.Bandwidth <= 0 || v.Codecs == "" {
			t.Errorf("variant %s: BANDWIDTH %d CODECS %q", v.URI, v.Bandwidth, v.Codecs)
		}
		switch {
		case c.audioOnly:
			if v.Width != 0 || strings.Contains(v.Codecs, "avc1") {
				t.Errorf("audio-only source has a video variant %+v", v)
			}
		case c.portrait && v.Height <= v.Width:
			t.Errorf("portrait source gave landscape variant %dx%d", v.Width, v.Height)
		case !c.portrait && v.Width <= v.Height:
			t.Errorf("landscape source gave variant %dx%d", v.Width, v.Height)
		}
		if v.Width%2 != 0 || v.Height%2 != 0 {
			t.Errorf("odd dimensions %dx%d", v.Width, v.Height)
		}
		playlists[resolve(masterPath, v.URI)] = true
	}
	for _, m := range master.Media {
		if m.URI != "" {
			playlists[resolve(masterPath, m.URI)] = true
		}
	}
	if len(st.Renditions) == 0 {
		t.Errorf("status has no renditions")
	}
	first := true
	for p := range playlists {
		resp, body := edgeGet(t, http.MethodGet, p, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", p, resp.Status)
		}
		pl, err := hls.ParseMedia(body)
		if err != nil {
			t.Fatalf("parse %s: %v", p, err)
		}
		if !pl.EndList || pl.Type != hls.TypeVOD {
			t.Errorf("%s: VOD playlist without ENDLIST/PLAYLIST-TYPE:VOD", p)
		}
		for _, seg := range pl.Segments {
			if seg.Discontinuity {
				t.Errorf("%s: discontinuity before %s", p, seg.URI)
			}
		}
		if d := pl.Duration().Seconds(); math.Abs(d-c.duration) > 4 {
			t.Errorf("%s lasts %.2f s, source %.2f s", p, d, c.duration)
		}
		for _, seg := range pl.Segments {
			sp := resolve(p, seg.URI)
			resp, _ := edgeGet(t, http.MethodHead, sp, nil)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("HEAD %s: %s", sp, resp.Status)
				continue
			}
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
				t.Errorf("segment %s Cache-Control %q, want immutable", sp, cc)
			}
		}
		if first && len(pl.Segments) > 0 {
			first = false
			checkRanges(t, resolve(p, pl.Segments[0].URI))
		}
		d := decodeDuration(t, sys.EdgeURL+"/"+p)
		if math.Abs(d-c.duration) > 4 {
			t.Errorf("%s decodes to %.2f s, source %.2f s", p, d, c.duration)
		}
	}
}

// checkRanges exercises what seeking players do with a segment.
func checkRanges(t *testing.T, seg string) {
	resp, full := edgeGet(t, http.MethodGet, seg, nil)
	if resp.StatusCode != http.StatusOK || len(full) < 200 {
		t.Fatalf("GET %s: %s, %d bytes", seg, resp.Status, len(full))
	}
	n := len(full)
	tests := []struct {
		name, rng    string
		status       int
		from, to     int // inclusive, for 206
		contentRange string
	}{
		{"first bytes", "bytes=0-99", 206, 0, 99, fmt.Sprintf("bytes 0-99/%d", n)},
		{"suffix", "bytes=-100", 206, n - 100, n - 1, fmt.Sprintf("bytes %d-%d/%d", n-100, n-1, n)},
		{"open ended", "bytes=" + strconv.Itoa(n-10) + "-", 206, n - 10, n - 1, fmt.Sprintf("bytes %d-%d/%d", n-10, n-1, n)},
		{"unsatisfiable", "bytes=" + strconv.Itoa(n) + "-", 416, 0, 0, fmt.Sprintf("bytes */%d", n)},
	}
	for _, tt := range tests {
		t.Run("range "+tt.name, func(t *testing.T) {
			resp, body := edgeGet(t, http.MethodGet, seg, map[string]string{"Range": tt.rng})
			if resp.StatusCode != tt.status {
				t.Fatalf("Range %s: %s, want %d", tt.rng, resp.Status, tt.status)
			}
			if got := resp.Header.Get("Content-Range"); got != tt.contentRange {
				t.Errorf("Content-Range %q, want %q", got, tt.contentRange)
			}
			if tt.status == 206 && string(body) != string(full[tt.from:tt.to+1]) {
				t.Errorf("range body differs from bytes %d-%d of the object", tt.from, tt.to)
			}
		})
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatalf("segment has no ETag")
	}
	r304, _ := edgeGet(t, http.MethodGet, seg, map[string]string{"If-None-Match": etag})
	if r304.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with current ETag: %s, want 304", r304.Status)
	}
}

// TestBadUploadsFail checks that broken uploads end failed with a reason a
// person understands, publish nothing playable, and leave the system
// working (the next upload in TestVODThroughEdge still succeeds).
func TestBadUploadsFail(t *testing.T) {
	junk := make([]byte, 64<<10)
	_, _ = rand.Read(junk)
	full, err := os.ReadFile(testenv.Media(t, "02_flower_960x540_h264_aac.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, file string
		wantInErr  []string // any of these, case-insensitive
	}{
		{"zero bytes", writeFile(t, "empty.mp4", nil), []string{"empty"}},
		{"random bytes", writeFile(t, "random.mp4", junk), []string{"not a", "unrecognised", "unrecognized", "recogn"}},
		{"truncated mp4", writeFile(t, "cut.mp4", full[:len(full)/3]), []string{"incomplete", "damaged", "truncated"}},
		{"text file", writeFile(t, "notes.mp4", []byte("hello, this is not a video\n")), []string{"not a", "text", "recogn"}},
		{"playlist", writeFile(t, "list.mp4", []byte("#EXTM3U\n#EXTINF:1,\nhttp://127.0.0.1:9/leak.ts\n")), []string{"playlist", "not allowed", "not supported", "unsupported"}},
		// 64x48 for the probe, then 8192x8192 frames (issue 15): refused
		// while decoding, with ffmpeg bounded by -max_pixels.
		{"decompression bomb", writeFile(t, "bomb.ts", testenv.Bomb(t, 3)), []string{"grows"}},
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		ids[i] = upload(t, c.file, "e2e/bad/"+c.name+".mp4")
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := waitDone(t, ids[i], 2*time.Minute)
			if st.State != catalog.StateFailed {
				t.Fatalf("state %s, want failed", st.State)
			}
			msg := strings.ToLower(st.Error)
			ok := false
			for _, w := range c.wantInErr {
				ok = ok || strings.Contains(msg, w)
			}
			if !ok {
				t.Errorf("error %q mentions none of %q", st.Error, c.wantInErr)
			}
			// CloudFront in front of a private bucket answers 403 for a
			// missing object; the local edge answers 404.
			if resp, _ := edgeGet(t, http.MethodGet, catalog.MasterKey(ids[i]), nil); resp.StatusCode != http.StatusNotFound &&
				(sys.Local != nil || resp.StatusCode != http.StatusForbidden) {
				t.Errorf("failed video has a master playlist: %s", resp.Status)
			}
		})
	}
}

// checkPoster: every video gets a poster frame for players and the page;
// an audio-only one has none.
func checkPoster(t *testing.T, st *catalog.Status, c vodCase) {
	if c.audioOnly {
		if st.Poster != "" {
			t.Errorf("audio-only video has poster %q", st.Poster)
		}
		return
	}
	if want := catalog.PosterKey(st.ID, st.Source); st.Poster != want {
		t.Fatalf("poster %q, want %q", st.Poster, want)
	}
	resp, body := edgeGet(t, http.MethodGet, st.Poster, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" || !strings.HasPrefix(string(body), "\xff\xd8") {
		t.Errorf("poster: %s, %s, %d bytes", resp.Status, resp.Header.Get("Content-Type"), len(body))
	}
}
