package media

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestProbeSharedMedia(t *testing.T) {
	type vid struct {
		index, w, h, rot int
		fps              float64
	}
	tests := []struct {
		file     string
		demuxer  string
		video    *vid
		channels int // 0 = no audio
		audioIdx int
	}{
		{"01_bbb_720p_h264_aac51.mp4", "mov", &vid{0, 1280, 720, 0, 25}, 6, 1},
		{"02_flower_960x540_h264_aac.mp4", "mov", &vid{0, 960, 540, 0, 29.97}, 2, 1},
		{"03_bbb_1080p_h264_aac51_rot90.mp4", "mov", &vid{0, 1080, 1920, 90, 24}, 6, 1},
		{"04_iphone4s_portrait_rot90.mov", "mov", &vid{1, 320, 568, 90, 29.98}, 1, 0},
		{"07_bbb_vp9_opus.webm", "matroska", &vid{0, 320, 180, 0, 24}, 2, 1},
		{"08_tears_of_steel_vp8_vorbis.webm", "matroska", &vid{0, 798, 332, 0, 24}, 2, 1}, // SAR 399:400
		{"09_bbb_720p60_h264_aac.ts", "mpegts", &vid{1, 1280, 720, 0, 60}, 2, 0},
		{"10_bbb_trailer_h264_aac.flv", "flv", &vid{0, 480, 270, 0, 30}, 2, 1},
		{"11_bottles_640x360_noaudio.mp4", "mov", &vid{0, 640, 360, 0, 29.83}, 0, 0},
		{"12_his_girl_friday_audio_first.mp4", "mov", &vid{1, 640, 480, 0, 30}, 2, 0},
		{"13_galway_alac_audio_only.m4a", "mov", nil, 1, 0},
		{"14_t_rex_roar_audio_only.mp3", "mp3", nil, 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			src := probe(t, testMedia(t, tc.file))
			if src.Demuxer != tc.demuxer {
				t.Errorf("demuxer %q, want %q", src.Demuxer, tc.demuxer)
			}
			if src.Duration <= 0 || src.Size <= 0 {
				t.Errorf("duration %g size %d, want both > 0", src.Duration, src.Size)
			}
			switch {
			case tc.video == nil && src.Video != nil:
				t.Errorf("video %+v, want none", *src.Video)
			case tc.video != nil && src.Video == nil:
				t.Errorf("no video, want %+v", *tc.video)
			case tc.video != nil:
				v := src.Video
				if v.Index != tc.video.index || v.Width != tc.video.w || v.Height != tc.video.h || v.Rotation != tc.video.rot {
					t.Errorf("video #%d %dx%d rot %d, want #%d %dx%d rot %d",
						v.Index, v.Width, v.Height, v.Rotation, tc.video.index, tc.video.w, tc.video.h, tc.video.rot)
				}
				if math.Abs(v.FPS-tc.video.fps) > 0.01 {
					t.Errorf("fps %.3f, want %.2f", v.FPS, tc.video.fps)
				}
			}
			switch {
			case tc.channels == 0 && src.Audio != nil:
				t.Errorf("audio %+v, want none", *src.Audio)
			case tc.channels != 0 && src.Audio == nil:
				t.Errorf("no audio, want %d channels", tc.channels)
			case tc.channels != 0:
				if src.Audio.Channels != tc.channels || src.Audio.Index != tc.audioIdx || src.Audio.SampleRate <= 0 {
					t.Errorf("audio #%d %d ch %d Hz, want #%d %d ch", src.Audio.Index, src.Audio.Channels,
						src.Audio.SampleRate, tc.audioIdx, tc.channels)
				}
			}
		})
	}
}

// TestProbeRefuses feeds Probe what people upload by mistake or malice.
func TestProbeRefuses(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	write := func(name string, b []byte) string {
		if err := os.WriteFile(p(name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p(name)
	}
	copyFile := func(from, to string) string {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		return write(to, b)
	}
	random := make([]byte, 64<<10)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc=s=64x48", "-frames:v", "1", p("image.png"))
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc=s=64x48", "-frames:v", "1", p("image.jpg"))
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc=s=64x48", "-frames:v", "1", "-c:v", "libx264", p("oneframe.mp4"))
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc=s=64x48:d=1", "-c:v", "libx264", p("whole.mp4"))
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc=s=7696x16:d=0.2", "-c:v", "libx264", "-preset", "ultrafast", p("wide.mp4"))
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc=s=8x8:d=0.5", "-c:v", "libx264", p("tiny.mp4"))
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc=s=32x32:d=0.5", "-c:v", "rawvideo", p("raw.avi"))
	whole, err := os.ReadFile(p("whole.mp4"))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		input string
		lim   Limits
		want  string // part of the message
	}{
		{"empty", write("empty.mp4", nil), DefaultLimits, "the file is empty"},
		{"random bytes", write("random.mp4", random), DefaultLimits, "not a video or audio file"},
		{"text", write("notes.txt", []byte("Shopping list:\n- milk\n- eggs\n")), DefaultLimits, "the file is text"},
		{"text renamed mp4", write("notes.mp4", []byte("Shopping list:\n- milk\n- eggs\n")), DefaultLimits, "the file is text"},
		{"png", p("image.png"), DefaultLimits, "the file is an image (png), not a video"},
		{"png renamed mp4", copyFile(p("image.png"), "image.mp4"), DefaultLimits, "the file is an image (png), not a video"},
		{"jpeg renamed mov", copyFile(p("image.jpg"), "photo.mov"), DefaultLimits, "the file is an image (jpeg), not a video"},
		{"single frame mp4", p("oneframe.mp4"), DefaultLimits, "single picture"},
		{"truncated mp4", write("truncated.mp4", whole[:len(whole)/2]), DefaultLimits, "incomplete or damaged"},
		{"hls playlist", write("list.m3u8", []byte("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg.ts\n#EXT-X-ENDLIST\n")), DefaultLimits, "HLS playlist"},
		{"m3u playlist", write("list.mp4", []byte("#EXTM3U\n#EXTINF:4,\nseg.ts\n")), DefaultLimits, "playlist (M3U)"},
		{"ffconcat", write("list.txt", []byte("ffconcat version 1.0\nfile 'whole.mp4'\n")), DefaultLimits, "concat list"},
		{"too wide", p("wide.mp4"), DefaultLimits, "larger than the 7680x4320"},
		{"too small", p("tiny.mp4"), DefaultLimits, "too small"},
		{"unsupported codec", p("raw.avi"), DefaultLimits, "video codec (rawvideo) is not supported"},
		{"too long", testMedia(t, "01_bbb_720p_h264_aac51.mp4"), Limits{MaxDuration: 5 * time.Second}, "lasts 5.3s, longer than the 5s"},
		{"too big", testMedia(t, "01_bbb_720p_h264_aac51.mp4"), Limits{MaxSize: 1 << 20}, "1.01 MiB, more than the 1 MiB"},
		{"too fast", testMedia(t, "09_bbb_720p60_h264_aac.ts"), Limits{MaxFPS: 50}, "frame rate (60 fps)"},
		{"too many pixels", testMedia(t, "01_bbb_720p_h264_aac51.mp4"), Limits{MaxPixels: 640 * 480}, "0.922 megapixels) is larger than the 0.307 megapixels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Probe(context.Background(), FFprobePath(), tc.input, tc.lim)
			if err == nil {
				t.Fatalf("Probe accepted it: %+v", src)
			}
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %q does not wrap ErrUnsupported", err)
			}
			if !strings.HasPrefix(err.Error(), "unsupported input: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if testing.Verbose() {
				t.Log(err)
			}
		})
	}
}

// TestProbeOtherErrors: failures that are not the upload's fault must not
// be reported as unsupported input (the caller retries those).
func TestProbeOtherErrors(t *testing.T) {
	tests := []struct{ name, ffprobe, input string }{
		{"missing file", FFprobePath(), filepath.Join(t.TempDir(), "nope.mp4")},
		{"missing ffprobe", filepath.Join(t.TempDir(), "no-ffprobe"), testMedia(t, "01_bbb_720p_h264_aac51.mp4")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Probe(context.Background(), tc.ffprobe, tc.input, DefaultLimits)
			if err == nil || errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v, want a failure that is not ErrUnsupported", err)
			}
		})
	}
}

// TestProbeOverHTTP reads a source the way production does, through a URL,
// and checks it is not downloaded whole.
func TestProbeOverHTTP(t *testing.T) {
	// A 40 MB source (08 looped), large enough that socket buffers cannot
	// hide a full download.
	path := filepath.Join(t.TempDir(), "long.webm")
	ffmpegGen(t, "-stream_loop", "11", "-i", testMedia(t, "08_tears_of_steel_vp8_vorbis.webm"), "-c", "copy", path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/upload.webm":
			f, err := os.Open(path)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			defer f.Close()
			http.ServeContent(&countingWriter{w, &served}, r, "upload.webm", fi.ModTime(), f)
		case "/empty":
			w.WriteHeader(http.StatusOK)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	src, err := Probe(context.Background(), FFprobePath(), srv.URL+"/upload.webm", DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if src.Video == nil || src.Video.Width != 798 || src.Demuxer != "matroska" {
		t.Errorf("probe over HTTP gave %+v", src)
	}
	if n := served.Load(); n >= fi.Size()/4 {
		t.Errorf("ffprobe read %d of %d bytes; it must not download the file", n, fi.Size())
	}
	_, err = Probe(context.Background(), FFprobePath(), srv.URL+"/empty", DefaultLimits)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "the file is empty") {
		t.Errorf("empty upload over HTTP: %v", err)
	}
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// TestPlaylistUploadsOpenNothing proves the protections: uploads that name
// other files or URLs are refused by Probe, and ffmpeg opening them with
// InputArgs fails, without a single request reaching the URL they name and
// without reading the local file they name.
func TestPlaylistUploadsOpenNothing(t *testing.T) {
	var hits atomic.Int64
	leak := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	}))
	defer leak.Close()

	dir := t.TempDir()
	// A real local video the uploads name: were it opened, ffmpeg would
	// happily encode it.
	local := filepath.Join(dir, "secret.ts")
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc=s=64x48:d=1", "-c:v", "libx264", local)

	uploads := map[string]string{
		"playlist.m3u8": fmt.Sprintf("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:1,\n%s/leak.ts\n#EXTINF:1,\n%s\n#EXT-X-ENDLIST\n", leak.URL, local),
		"playlist.mp4":  fmt.Sprintf("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:1,\n%s/leak.ts\n#EXT-X-ENDLIST\n", leak.URL),
		"list.ffconcat": fmt.Sprintf("ffconcat version 1.0\nfile '%s/leak.mp4'\nfile '%s'\n", leak.URL, local),
		"list.mp4":      fmt.Sprintf("ffconcat version 1.0\nfile '%s'\nfile '%s/leak.mp4'\n", local, leak.URL),
	}
	// The same uploads served over HTTP, as production reads them.
	upload := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer upload.Close()

	// A genuine probe result, as the transcoder would hold, and a tampered
	// one that names the playlist demuxer.
	good := probe(t, testMedia(t, "11_bottles_640x360_noaudio.mp4"))
	tampered := *good
	tampered.Demuxer = "hls"

	for name, body := range uploads {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, input := range []string{path, upload.URL + "/" + name} {
			t.Run(name+"/"+map[bool]string{true: "url", false: "file"}[isURL(input)], func(t *testing.T) {
				_, err := Probe(context.Background(), FFprobePath(), input, DefaultLimits)
				if !errors.Is(err, ErrUnsupported) {
					t.Errorf("Probe: %v, want ErrUnsupported", err)
				}
				if strings.HasSuffix(name, ".mp4") {
					return // same content as above; ffmpeg runs are slow on a shared machine
				}
				for _, src := range []*Source{good, &tampered} {
					// Decoded as every encode opens an upload: InputArgs.
					args := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error"}, InputArgs(src, input, 0, 0)...)
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					out, err := exec.CommandContext(ctx, FFmpegPath(), append(args, "-f", "null", "-")...).CombinedOutput()
					cancel()
					if err == nil {
						t.Errorf("ffmpeg -f %s decoded the upload: %s", src.Demuxer, out)
					}
				}
				if n := hits.Load(); n != 0 {
					t.Fatalf("the URL named in the upload received %d requests", n)
				}
			})
		}
	}
}
