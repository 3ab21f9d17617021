package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/web"
	"github.com/hlsflow/hlsflow/web/webtest"
)

// TestCodecNames: the player bar names what hls.js plays from the
// master's CODECS strings (codecs.js), in the page as the edge serves it.
func TestCodecNames(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	page := webtest.Open(t, srv.URL+"/")
	for codec, want := range map[string]string{
		"avc1.64001f":      "H.264",
		"avc1.4d401e":      "H.264",
		"avc3.640028":      "H.264",
		"hvc1.1.6.L93.B0":  "HEVC",
		"hev1.2.4.L120.90": "HEVC",
		"av01.0.05M.08":    "AV1",
		"AV01.0.08M.10":    "AV1",
		"vp09.00.10.08":    "VP9",
		"mp4a.40.2":        "AAC",
		"mp4a.40.5":        "AAC",
		"mp4a.40.34":       "MP3",
		"mp4a.69":          "MP3",
		"ec-3":             "E-AC-3",
		"opus":             "Opus",
		" avc1.42e01e ":    "H.264",
		"dvh1.05.06":       "dvh1.05.06", // unknown: shown as it is
		"":                 "",
	} {
		if got := page.String(fmt.Sprintf("hlsflowCodecs.name(%q)", codec)); got != want {
			t.Errorf("name(%q) = %q, want %q", codec, got, want)
		}
	}
	for _, tt := range []struct {
		level map[string]any
		want  string
	}{
		{map[string]any{"videoCodec": "avc1.64001f", "audioCodec": "mp4a.40.2", "width": 1280, "height": 720}, "H.264 · 1280×720"},
		{map[string]any{"videoCodec": "hvc1.1.6.L93.B0", "width": 640, "height": 360}, "HEVC · 640×360"},
		{map[string]any{"videoCodec": "av01.0.05M.08", "height": 540}, "AV1 · 540p"},
		{map[string]any{"width": 960, "height": 540}, "960×540"},
		{map[string]any{"audioCodec": "mp4a.40.2"}, "AAC"},
		{map[string]any{}, ""},
	} {
		b, _ := json.Marshal(tt.level)
		if got := page.String(fmt.Sprintf("hlsflowCodecs.describe(%s)", b)); got != tt.want {
			t.Errorf("describe(%s) = %q, want %q", b, got, tt.want)
		}
	}
}

// checkCodecShown: the player bar names the codec hls.js plays (H.264:
// the ladder is H.264 only) and its bitrate is one of the master's
// BANDWIDTH values.
func checkCodecShown(t *testing.T, page *webtest.Page) {
	t.Helper()
	if br := page.String(`document.getElementById('bitrate').textContent`); !strings.HasPrefix(br, "H.264 · ") {
		t.Errorf("player bar shows %q, want the codec first (H.264 · …)", br)
	}
	master := page.String(`document.getElementById('player').dataset.src`)
	resp, err := http.Get(master)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", master, resp.StatusCode, err)
	}
	var bandwidths []string
	for _, m := range regexp.MustCompile(`[:,]BANDWIDTH=(\d+)`).FindAllStringSubmatch(string(body), -1) {
		bandwidths = append(bandwidths, m[1])
	}
	if shown := page.String(`document.getElementById('bitrate').dataset.bitrate || ''`); !slices.Contains(bandwidths, shown) {
		t.Errorf("player bar's bitrate %q is none of the master's BANDWIDTH values %v", shown, bandwidths)
	}
}
