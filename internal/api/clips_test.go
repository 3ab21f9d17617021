package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/clip"
	"github.com/hlsflow/hlsflow/internal/store"
)

// readyClipSource writes a ready video of three 4 s segments under id.
func (e *env) readyClipSource(id string) {
	e.t.Helper()
	ctx := context.Background()
	objects := map[string]string{
		catalog.MasterKey(id): "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n360p/index_r1.m3u8\n",
		catalog.Prefix(id) + "360p/index_r1.m3u8": "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n" +
			"#EXTINF:4.000,\nseg_r1_00000.ts\n#EXTINF:4.000,\nseg_r1_00001.ts\n#EXTINF:4.000,\nseg_r1_00002.ts\n#EXT-X-ENDLIST\n",
	}
	for i := range 3 {
		objects[catalog.Prefix(id)+fmt.Sprintf("360p/seg_r1_%05d.ts", i)] = "ts"
	}
	for k, v := range objects {
		if err := e.store.PutBytes(ctx, e.media, k, []byte(v), store.For(k)); err != nil {
			e.t.Fatal(err)
		}
	}
	st := &catalog.Status{ID: id, State: catalog.StateReady, Progress: 1, Duration: 12, Playback: catalog.MasterKey(id)}
	if err := catalog.Write(ctx, e.store, e.media, st); err != nil {
		e.t.Fatal(err)
	}
}

func TestCreateClip(t *testing.T) {
	e := newEnv(t, nil)
	e.readyClipSource("talk-0123456789ab")
	var c ClipResponse
	e.callJSON("POST", "/api/videos/talk-0123456789ab/clips", `{"start":4.5,"end":8}`, 201, &c)
	if !strings.HasPrefix(c.ID, "talk-0123456789ab-clip-") || c.PlaybackURL != "/vod/"+c.ID+"/master.m3u8" {
		t.Errorf("answer %+v", c)
	}
	// A clip is a video like any other.
	v := e.video(c.ID)
	if v.State != catalog.StateReady || v.ClipOf == nil || *v.ClipOf != (catalog.ClipOf{ID: "talk-0123456789ab", Start: 4, End: 8}) ||
		v.PlaybackURL != c.PlaybackURL {
		t.Errorf("clip video %+v clipOf %+v", v, v.ClipOf)
	}
}

// Every bad request is refused with a reason, and makes no clip.
func TestClipRefusals(t *testing.T) {
	e := newEnv(t, nil)
	e.readyClipSource("talk-0123456789ab")
	auth := []string{}
	for _, tt := range []struct {
		name, path, body string
		header           []string
		want             int
		field            string
	}{
		{"no token", "/api/videos/talk-0123456789ab/clips", `{"start":0,"end":4}`, []string{"Authorization", ""}, 401, ""},
		{"wrong token", "/api/videos/talk-0123456789ab/clips", `{"start":0,"end":4}`, []string{"Authorization", "Bearer nope"}, 401, ""},
		{"end before start", "/api/videos/talk-0123456789ab/clips", `{"start":8,"end":4}`, auth, 400, "end"},
		{"beyond the end", "/api/videos/talk-0123456789ab/clips", `{"start":0,"end":13}`, auth, 400, "end"},
		{"huge range", "/api/videos/talk-0123456789ab/clips", `{"start":0,"end":1e300}`, auth, 400, "end"},
		{"negative start", "/api/videos/talk-0123456789ab/clips", `{"start":-4,"end":4}`, auth, 400, "start"},
		{"missing end", "/api/videos/talk-0123456789ab/clips", `{"start":0}`, auth, 400, "end"},
		{"missing start", "/api/videos/talk-0123456789ab/clips", `{"end":4}`, auth, 400, "start"},
		{"string", "/api/videos/talk-0123456789ab/clips", `{"start":"0","end":4}`, auth, 400, "start"},
		{"unknown field", "/api/videos/talk-0123456789ab/clips", `{"start":0,"end":4,"frames":true}`, auth, 400, "frames"},
		{"not json", "/api/videos/talk-0123456789ab/clips", `start=0`, auth, 400, ""},
		{"huge body", "/api/videos/talk-0123456789ab/clips", `{"start":0,"end":4` + strings.Repeat(" ", maxJSON) + `}`, auth, 413, ""},
		{"unknown id", "/api/videos/nothing-0123456789ab/clips", `{"start":0,"end":4}`, auth, 404, ""},
		{"bad id", "/api/videos/..%2Flive/clips", `{"start":0,"end":4}`, auth, 404, ""},
		{"unknown stream", "/api/streams/nobody/clips", `{"start":0,"end":4}`, auth, 404, ""},
		{"GET", "/api/videos/talk-0123456789ab/clips", ``, auth, 405, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method := "POST"
			if tt.name == "GET" {
				method = "GET"
			}
			code, body := e.call(method, tt.path, tt.body, tt.header...)
			var ae apiError
			if err := json.Unmarshal(body, &ae); code != tt.want || err != nil || ae.Message == "" || ae.Field != tt.field {
				t.Errorf("= %d %s, want %d naming %q", code, body, tt.want, tt.field)
			}
		})
	}
	if dirs, err := e.store.Dirs(context.Background(), e.media, "vod/"); err != nil || len(dirs) != 1 {
		t.Errorf("after the refusals vod/ holds %v (%v), want the video alone", dirs, err)
	}
	// Too many clips: the next is refused as a conflict, with the limit.
	for range clip.MaxPerSource {
		e.callJSON("POST", "/api/videos/talk-0123456789ab/clips", `{"start":0,"end":4}`, 201, nil)
	}
	code, body := e.call("POST", "/api/videos/talk-0123456789ab/clips", `{"start":0,"end":4}`)
	if code != 409 || !strings.Contains(string(body), fmt.Sprint(clip.MaxPerSource)) {
		t.Errorf("clip %d: %d %s, want 409 naming the limit", clip.MaxPerSource+1, code, body)
	}
}

// A clip has no upload, yet GET /api/videos lists it, newest first, with
// its clipOf; a mark that names no video id, or a clip whose status.json
// is gone, lists nothing.
func TestClipsAreListed(t *testing.T) {
	e := newEnv(t, nil)
	e.readyClipSource("talk-0123456789ab")
	ctx := context.Background()
	for _, k := range []string{clipMarkPrefix + "../evil.json", clipMarkPrefix + "gone-0123456789ab.json"} {
		if err := e.store.PutBytes(ctx, e.media, k, []byte("{}"), store.Object{ContentType: "application/json"}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for i, span := range []string{`{"start":0,"end":4}`, `{"start":4,"end":8}`} {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond) // S3 times are to the second
		}
		var c ClipResponse
		e.callJSON("POST", "/api/videos/talk-0123456789ab/clips", span, 201, &c)
		ids = append(ids, c.ID)
	}
	var list VideoList
	e.callJSON("GET", "/api/videos", "", 200, &list)
	var got []string
	for _, v := range list.Videos {
		got = append(got, v.ID)
		if v.ClipOf == nil || v.ClipOf.ID != "talk-0123456789ab" || v.State != catalog.StateReady {
			t.Errorf("listed %s: state %s, clipOf %+v", v.ID, v.State, v.ClipOf)
		}
	}
	if want := []string{ids[1], ids[0]}; !slices.Equal(got, want) {
		t.Errorf("listed %v, want the clips newest first %v", got, want)
	}
}
