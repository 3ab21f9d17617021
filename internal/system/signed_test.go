package system_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/api"
	"github.com/hlsflow/hlsflow/internal/browsertest"
	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/playsign"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestSignedPlayback is the matrix of hlsflow up --signed-playback: a
// grant from the API plays in hls.js and ffmpeg reads it to the end (the
// path token, and the signed cookies as a header); without a grant, or
// with an expired, tampered or other video's one, the edge answers 403;
// the library and status.json hand out no unsigned playback URL; live
// streams alike.
func TestSignedPlayback(t *testing.T) {
	cfg := config(t)
	keys, err := playsign.LoadDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Playback = &keys
	sys := start(t, cfg)
	t.Cleanup(func() { _ = sys.Close(context.Background()) })
	edge := "http://" + cfg.EdgeAddr
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	id := uploadReady(ctx, t, sys.Store(), cfg.UploadsBucket, cfg.MediaBucket, "signed/clip.mp4")
	st, err := catalog.Read(ctx, sys.Store(), cfg.MediaBucket, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Duration < 1 {
		t.Fatalf("status duration %v: the read-to-the-end checks would prove nothing", st.Duration)
	}
	// The same media as a live stream's (copied under live/show/).
	copyTree(ctx, t, sys.Store(), cfg.MediaBucket, catalog.Prefix(id), "live/show/")

	g := grant(t, edge, "/api/videos/"+id+"/playback", `{"expiresIn":600}`)
	live := grant(t, edge, "/api/streams/show/playback", `{"expiresIn":600}`)

	t.Run("library and status hand out no unsigned URL", func(t *testing.T) {
		for _, p := range []string{"/api/videos", "/api/videos/" + id, "/api/streams"} {
			code, body := get(t, edge+p, "Authorization", "Bearer "+token)
			if code != 200 || strings.Contains(body, "Url") || strings.Contains(body, "http://") {
				t.Errorf("GET %s = %d %s", p, code, body)
			}
		}
		if code, _ := get(t, edge+"/"+catalog.Prefix(id)+"status.json"); code != 403 {
			t.Errorf("status.json without a grant: %d, want 403", code)
		}
	})

	t.Run("ffmpeg reads the URL to the end", func(t *testing.T) {
		if got := ffmpegRead(t, g.URL); got < st.Duration*0.9 {
			t.Errorf("ffmpeg read %.2fs of %.2fs", got, st.Duration)
		}
	})
	t.Run("ffmpeg reads with the signed cookies", func(t *testing.T) {
		var c []string
		for _, k := range g.Cookies {
			c = append(c, k.Name+"="+k.Value)
		}
		if got := ffmpegRead(t, edge+"/"+catalog.MasterKey(id), "-headers", "Cookie: "+strings.Join(c, "; ")+"\r\n"); got < st.Duration*0.9 {
			t.Errorf("ffmpeg read %.2fs of %.2fs", got, st.Duration)
		}
	})
	t.Run("ffmpeg reads the live stream", func(t *testing.T) {
		if got := ffmpegRead(t, live.URL); got < st.Duration*0.9 {
			t.Errorf("ffmpeg read %.2fs of %.2fs", got, st.Duration)
		}
	})
	t.Run("hls.js plays the URL", func(t *testing.T) {
		if _, err := browsertest.ChromiumPath(); err != nil {
			t.Skip(err)
		}
		res, err := browsertest.Play(t, g.URL, browsertest.Options{MinTime: 2})
		if err != nil {
			t.Fatalf("play: %v", err)
		}
		if len(res.Levels) == 0 {
			t.Error("hls.js saw no levels")
		}
	})

	signer, err := playsign.NewSigner(keys)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := signer.Grant(edge, playsign.Scope{Kind: "vod", Name: id}, "master.m3u8", time.Now().Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	other, err := signer.Grant(edge, playsign.Scope{Kind: "vod", Name: "other-000000000000"}, "master.m3u8", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	shortLived := grant(t, edge, "/api/videos/"+id+"/playback", `{"expiresIn":1}`)
	otherCookies := ""
	for _, k := range other.Cookies {
		otherCookies += k.Name + "=" + k.Value + "; "
	}
	tok := strings.Split(strings.TrimPrefix(g.URL, edge), "/")[2]
	tampered := tok[:len(tok)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(tok, "0")]
	time.Sleep(time.Until(shortLived.Expires) + 100*time.Millisecond)
	master := edge + "/" + catalog.MasterKey(id)
	for _, tc := range []struct {
		name, url string
		header    []string
	}{
		{"no grant", master, nil},
		{"no grant, a segment", edge + "/" + catalog.Prefix(id) + firstSegment(t, g.URL), nil},
		{"no grant, live", edge + "/" + catalog.LiveMasterKey("show"), nil},
		{"expired, from the API", shortLived.URL, nil},
		{"expired", expired.URL, nil},
		{"expired signed URL", expired.SignedURL, nil},
		{"tampered", strings.Replace(g.URL, tok, tampered, 1), nil},
		{"tampered signed URL", strings.Replace(g.SignedURL, "Signature=", "Signature=A", 1), nil},
		{"other video's token", strings.Replace(other.URL, "/vod/other-000000000000/", "/vod/"+id+"/", 1), nil},
		{"other video's cookies", master, []string{"Cookie", otherCookies}},
		{"video token on the live stream", strings.Replace(g.URL, "/vod/"+id+"/", "/live/show/", 1), nil},
		{"live token on the video", strings.Replace(live.URL, "/live/show/", "/vod/"+id+"/", 1), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := get(t, tc.url, tc.header...); code != 403 {
				t.Errorf("GET %s = %d %.80q, want 403", tc.url, code, body)
			}
		})
	}
	// The grant from the API still plays: the refusals were about the grants.
	if code, body := get(t, g.URL); code != 200 || !strings.HasPrefix(body, "#EXTM3U") {
		t.Errorf("the API's grant: %d %.80q", code, body)
	}
}

func grant(t *testing.T, edge, path, body string) api.PlaybackGrant {
	t.Helper()
	req, err := http.NewRequest("POST", edge+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var g api.PlaybackGrant
	if err := json.NewDecoder(resp.Body).Decode(&g); err != nil || resp.StatusCode != 200 || g.URL == "" {
		t.Fatalf("POST %s = %d %+v %v", path, resp.StatusCode, g, err)
	}
	return g
}

// uploadReady uploads the test clip and waits for its status to be ready.
func uploadReady(ctx context.Context, t *testing.T, st *store.Store, uploads, mediaBucket, key string) string {
	t.Helper()
	if err := st.PutFile(ctx, uploads, key, testenv.Media(t, "02_flower_960x540_h264_aac.mp4"), store.Object{ContentType: "video/mp4"}); err != nil {
		t.Fatal(err)
	}
	id := catalog.VideoID(key)
	for {
		s, err := catalog.Read(ctx, st, mediaBucket, id)
		if err == nil && s.State == catalog.StateFailed {
			t.Fatalf("transcode failed: %s", s.Error)
		}
		if err == nil && s.State == catalog.StateReady {
			return id
		}
		if ctx.Err() != nil {
			t.Fatalf("no ready status.json after the upload: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func copyTree(ctx context.Context, t *testing.T, st *store.Store, bucket, from, to string) {
	t.Helper()
	objs, err := st.Objects(ctx, bucket, from)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		b, err := st.GetBytes(ctx, bucket, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		k := to + strings.TrimPrefix(o.Key, from)
		if err := st.PutBytes(ctx, bucket, k, b, store.For(k)); err != nil {
			t.Fatal(err)
		}
	}
}

// firstSegment is the path of the first segment, relative to the video's
// folder, that a grant's playlists lead to.
func firstSegment(t *testing.T, master string) string {
	t.Helper()
	_, m := get(t, master)
	var variant string
	for l := range strings.Lines(m) {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			variant = l
			break
		}
	}
	_, v := get(t, master[:strings.LastIndex(master, "/")+1]+variant)
	for l := range strings.Lines(v) {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return variant[:strings.LastIndex(variant, "/")+1] + l
		}
	}
	t.Fatalf("no segment in %s", v)
	return ""
}

// ffmpegRead reads url to the end with ffmpeg (no output) and returns how
// many seconds of media it read.
func ffmpegRead(t *testing.T, url string, input ...string) float64 {
	t.Helper()
	args := append([]string{"-v", "error", "-nostdin"}, input...)
	args = append(args, "-i", url, "-map", "0:v:0", "-f", "null", "-progress", "pipe:1", "-")
	var out, errb bytes.Buffer
	cmd := exec.Command(media.FFmpegPath(), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %s: %v: %s", url, err, errb.String())
	}
	if errb.Len() > 0 {
		t.Errorf("ffmpeg errors: %s", errb.String())
	}
	var us int64
	for l := range strings.Lines(out.String()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "out_time_us="); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				us = n
			}
		}
	}
	return float64(us) / 1e6
}
