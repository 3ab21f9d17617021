package vod

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestTranscodeCMAF encodes repository clips with CMAF segments and checks
// them as TestTranscodeRealMedia does (every playlist decodes to the end
// with ffmpeg, CODECS as encoded, the MP4 download, nothing unreferenced),
// plus what CMAF adds: one EXT-X-MAP per media playlist naming the
// revision's init segment, .m4s segments only, the CODECS read from the
// init segment, and playback in hls.js.
func TestTranscodeCMAF(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes real media")
	}
	for _, tt := range []struct {
		name, media  string
		video, audio bool
		play         bool
	}{
		{"video and audio", "01_bbb_720p_h264_aac51.mp4", true, true, true},
		{"audio only", "14_t_rex_roar_audio_only.mp3", false, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, env := newHandler(t)
			h.cfg.SegmentFormat = media.CMAF
			path := testenv.Media(t, tt.media)
			key := t.Name() + "/clip" + filepath.Ext(tt.media)
			uploadFile(t, env.Store, key, path)
			if err := h.Handle(context.Background(), putEvent(t, key)); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			noChildren(t)
			emptyDir(t, h.cfg.TmpDir)
			id := catalog.VideoID(key)
			checkOutput(t, env.Store, id, key, path, tt.video, tt.audio, false)

			rev := readStatus(t, env.Store, id).Source.Revision()
			dir := download(t, env.Store, id)
			m := parseMasterFile(t, filepath.Join(dir, "master.m3u8"))
			uris := map[string]string{} // playlist → CODECS of its variant
			for _, v := range m.Variants {
				uris[v.URI] = v.Codecs
			}
			for _, md := range m.Media {
				uris[md.URI] = ""
			}
			for uri, codecs := range uris {
				p := parseMediaFile(t, filepath.Join(dir, filepath.FromSlash(uri)))
				for i, s := range p.Segments {
					if (s.Map != nil) != (i == 0) {
						t.Errorf("%s: segment %d has EXT-X-MAP %v; want one, on the first", uri, i, s.Map)
					}
					if !strings.HasSuffix(s.URI, ".m4s") || !strings.Contains(s.URI, rev) {
						t.Errorf("%s lists %s, want a revision's .m4s segment", uri, s.URI)
					}
				}
				if p.Segments[0].Map == nil || p.Segments[0].Map.URI != media.InitName(rev) {
					t.Fatalf("%s: EXT-X-MAP %+v, want %s", uri, p.Segments[0].Map, media.InitName(rev))
				}
				raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(uri)))
				if err != nil || !bytes.Contains(raw, []byte(`#EXT-X-MAP:URI="`+media.InitName(rev)+`"`)) {
					t.Errorf("%s: no EXT-X-MAP line in %s (%v)", uri, raw, err)
				}
				if !tt.video || codecs == "" {
					continue
				}
				init, err := os.Open(filepath.Join(dir, filepath.Dir(filepath.FromSlash(uri)), media.InitName(rev)))
				if err != nil {
					t.Fatal(err)
				}
				got, err := media.InitCodecs(init)
				init.Close()
				if err != nil || !strings.HasPrefix(codecs, got+",") {
					t.Errorf("%s: CODECS %q, init segment says %q (%v)", uri, codecs, got, err)
				}
			}
			if ts, _ := filepath.Glob(filepath.Join(dir, "*", "*.ts")); len(ts) > 0 {
				t.Errorf("MPEG-TS segments in a CMAF output: %v", ts)
			}
			// One encode, two manifests: the DASH one over the same files.
			checkMPD(t, dir, readStatus(t, env.Store, id))
			if tt.play {
				playInBrowser(t, dir)
			}
		})
	}
}
