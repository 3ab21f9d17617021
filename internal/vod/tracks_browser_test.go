package vod

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/browsertest"
	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/edge"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// hls.js in Chromium lists both audio tracks and switches to the second,
// and lists the subtitles track and shows its cues at the right times.
func TestTracksPlayInBrowser(t *testing.T) {
	h, env := newHandler(t)
	srt := "1\n00:00:00,500 --> 00:00:02,000\nHola <b>mundo</b>\n\n2\n00:00:03,000 --> 00:00:05,000\nAdiós\n"
	uploadFile(t, env.Store, "play.mp4", tracksSource(t, t.TempDir(), 8, srt))
	if err := h.Handle(context.Background(), putEvent(t, "play.mp4")); err != nil {
		t.Fatal(err)
	}
	e, err := edge.New(edge.Config{Store: env.Store, Bucket: testenv.BucketMedia})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	second := 1
	res, err := browsertest.Play(t, srv.URL+"/"+catalog.MasterKey(catalog.VideoID("play.mp4")),
		browsertest.Options{MinTime: 5, Subtitles: true, AudioTrack: &second})
	if err != nil {
		t.Fatalf("%v: %+v", err, res)
	}
	want := []browsertest.Track{{Name: "English", Lang: "eng", Default: true}, {Name: "Commentary", Lang: "fra"}}
	if !slices.Equal(res.AudioTracks, want) {
		t.Errorf("audio tracks %+v, want %+v", res.AudioTracks, want)
	}
	if res.AudioTrack != 1 || !slices.Contains(res.AudioSwitched, 1) {
		t.Errorf("audio track %d, switched to %v: want the second", res.AudioTrack, res.AudioSwitched)
	}
	if len(res.SubtitleTracks) != 1 || res.SubtitleTracks[0].Lang != "spa" || res.SubtitleTracks[0].Name != "Español" {
		t.Errorf("subtitle tracks %+v, want Español (spa)", res.SubtitleTracks)
	}
	var hola, adios bool
	for _, c := range res.Cues {
		// On the video's timeline, within a frame or two.
		hola = hola || (strings.Contains(c.Text, "Hola") && near(c.Start, 0.5, 0.1) && near(c.End, 2, 0.1))
		adios = adios || (c.Text == "Adiós" && near(c.Start, 3, 0.1) && near(c.End, 5, 0.1))
	}
	if !hola || !adios {
		t.Logf("%+v", res)
		t.Errorf("cues %+v, want Hola at 0.5-2 s and Adiós at 3-5 s", res.Cues)
	}
}
