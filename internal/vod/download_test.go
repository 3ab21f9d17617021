package vod

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"mime"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
)

// checkDownload checks a ready video's MP4 download as a browser saving it
// gets it: named in status.json, served as an attachment named after the
// id, moov before mdat, the streams asked for, and as long as the video
// within a segment. It returns the download's key.
func checkDownload(t *testing.T, st *store.Store, bucket string, s *catalog.Status, wantVideo, wantAudio bool, segment float64) string {
	t.Helper()
	ctx := context.Background()
	if want := catalog.DownloadKey(s.ID, s.Source); s.Download != want {
		t.Fatalf("status download %q, want %q", s.Download, want)
	}
	info, err := st.Head(ctx, bucket, s.Download)
	if err != nil {
		t.Fatal(err)
	}
	disp, params, err := mime.ParseMediaType(info.ContentDisposition)
	if err != nil || disp != "attachment" || params["filename"] != s.ID+".mp4" || info.ContentType != "video/mp4" {
		t.Errorf("download served as %q, %q (%v), want an attachment %s.mp4 of video/mp4", info.ContentType, info.ContentDisposition, err, s.ID)
	}
	b, err := st.GetBytes(ctx, bucket, s.Download)
	if err != nil {
		t.Fatal(err)
	}
	boxes := topBoxes(b)
	moov, mdat := -1, -1
	for i, name := range boxes {
		switch name {
		case "moov":
			moov = i
		case "mdat":
			mdat = i
		}
	}
	if moov < 0 || mdat < 0 || moov > mdat {
		t.Errorf("download's top-level boxes %v: want moov before mdat (+faststart)", boxes)
	}
	path := filepath.Join(t.TempDir(), "download.mp4")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name:format=duration,format_name",
		"-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe download: %v", err)
	}
	var p struct {
		Streams []struct {
			CodecType string `json:"codec_type"`
			CodecName string `json:"codec_name"`
		} `json:"streams"`
		Format struct {
			Duration, FormatName string
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	var video, audio int
	for _, st := range p.Streams {
		switch {
		case st.CodecType == "video" && st.CodecName == "h264":
			video++
		case st.CodecType == "audio" && st.CodecName == "aac":
			audio++
		default:
			t.Errorf("download has a %s stream %s", st.CodecType, st.CodecName)
		}
	}
	if (video == 1) != wantVideo || (audio == 1) != wantAudio || video > 1 || audio > 1 {
		t.Errorf("download has %d video and %d audio streams, want video %v audio %v", video, audio, wantVideo, wantAudio)
	}
	if d, _ := strconv.ParseFloat(p.Format.Duration, 64); !near(d, s.Duration, segment) {
		t.Errorf("download lasts %.2f s, the video %.2f s: more than a segment apart", d, s.Duration)
	}
	decodeAll(t, path)
	return s.Download
}

// topBoxes lists the types of an MP4 file's top-level boxes in order.
func topBoxes(b []byte) []string {
	var names []string
	for len(b) >= 8 {
		size := uint64(binary.BigEndian.Uint32(b))
		hdr := uint64(8)
		if size == 1 && len(b) >= 16 {
			size, hdr = binary.BigEndian.Uint64(b[8:]), 16
		}
		names = append(names, string(bytes.ToValidUTF8(b[4:8], []byte("?"))))
		if size < hdr || size > uint64(len(b)) {
			break
		}
		b = b[size:]
	}
	return names
}
