//go:build linux

package ffmpeg

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/testenv"
)

func TestLayerVersion(t *testing.T) {
	r := newRoot(t)
	version := pin(t, "FFMPEG_VERSION")
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		t.Run(bin, func(t *testing.T) {
			out, errOut, err := r.run(t, bin, "-hide_banner", "-version")
			if err != nil {
				t.Fatalf("%s -version: %v\n%s", bin, err, errOut)
			}
			for _, want := range []string{
				bin + " version " + version,
				"--enable-gpl", "--enable-version3", "--enable-libx264", "--enable-libx265", "--enable-libsvtav1", "--enable-libdav1d", "--enable-mbedtls",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("%s -version lacks %q:\n%s", bin, want, out)
				}
			}
		})
	}
}

// probeArgs are the fields compared between the layer's ffprobe and
// Debian's: what the pipeline's probe reads.
var probeArgs = []string{
	"-v", "error", "-of", "json",
	"-show_entries", "format=format_name,duration:stream=index,codec_type,codec_name,profile,width,height,pix_fmt,sample_rate,channels,r_frame_rate:stream_side_data=rotation",
}

// TestLayerMedia probes every test clip with the layer and with Debian's
// ffprobe (the same FFmpeg release, built with everything) and wants the
// same answer, then decodes the start of it, which fails when a demuxer,
// parser or decoder is missing from the minimal build.
func TestLayerMedia(t *testing.T) {
	r := newRoot(t)
	hostProbe := hostTool(t, "ffprobe")
	dir := filepath.Dir(testenv.Media(t, "README.md"))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if name == "README.md" || e.IsDir() {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(dir, name)
			copyFile(t, src, r.path("tmp/"+name), 0o644)
			want, err := exec.Command(hostProbe, append(probeArgs, src)...).Output()
			if err != nil {
				t.Fatalf("host ffprobe %s: %v", name, err)
			}
			got, errOut, err := r.run(t, "ffprobe", append(probeArgs, "/tmp/"+name)...)
			if err != nil {
				t.Fatalf("layer ffprobe %s: %v\n%s", name, err, errOut)
			}
			if got != string(want) {
				t.Errorf("layer ffprobe %s differs from Debian's\nlayer:\n%s\ndebian:\n%s", name, got, want)
			}
			_, errOut, err = r.run(t, "ffmpeg", "-v", "error", "-i", "/tmp/"+name, "-t", "1", "-f", "null", "-")
			if err != nil {
				t.Errorf("layer ffmpeg cannot decode %s: %v\n%s", name, err, errOut)
			}
		})
	}
	if n == 0 {
		t.Fatalf("no media in %s", dir)
	}
}

// TestLayerLadder encodes a short three-rung HLS ladder and a thumbnail in
// the empty root, then checks the result with Debian's ffprobe.
func TestLayerLadder(t *testing.T) {
	r := newRoot(t)
	hostProbe := hostTool(t, "ffprobe")
	copyFile(t, testenv.Media(t, "01_bbb_720p_h264_aac51.mp4"), r.path("tmp/in.mp4"), 0o644)
	seconds := "2"
	if r.qemu != "" {
		seconds = "1" // emulated: about 20 times slower
	}
	rungs := []struct {
		name   string
		height int
	}{{"720p", 720}, {"360p", 360}, {"240p", 240}}
	args := []string{"-v", "error", "-i", "/tmp/in.mp4", "-t", seconds,
		"-filter_complex", "[0:v]split=3[a][b][c];[a]scale=-2:720,format=yuv420p[v0];[b]scale=-2:360,format=yuv420p[v1];[c]scale=-2:240,format=yuv420p[v2]"}
	var streamMap []string
	for i := range rungs {
		args = append(args, "-map", "[v"+strconv.Itoa(i)+"]", "-map", "0:a")
		streamMap = append(streamMap, "v:"+strconv.Itoa(i)+",a:"+strconv.Itoa(i)+",name:"+rungs[i].name)
	}
	args = append(args,
		"-c:v", "libx264", "-preset", "veryfast", "-g", "48", "-c:a", "aac", "-ac", "2", "-b:a", "96k",
		"-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", "-master_pl_name", "master.m3u8",
		"-var_stream_map", strings.Join(streamMap, " "),
		"-hls_segment_filename", "/tmp/out/%v/seg%03d.ts", "/tmp/out/%v/index.m3u8")
	if err := os.MkdirAll(r.path("tmp/out"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := r.run(t, "ffmpeg", args...); err != nil {
		t.Fatalf("ladder encode: %v\n%s", err, errOut)
	}
	master, err := os.ReadFile(r.path("tmp/out/master.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(master), "#EXT-X-STREAM-INF"); got != len(rungs) {
		t.Errorf("master.m3u8 has %d variants, want %d:\n%s", got, len(rungs), master)
	}
	for _, rung := range rungs {
		t.Run(rung.name, func(t *testing.T) {
			pl, err := os.ReadFile(r.path("tmp/out/" + rung.name + "/index.m3u8"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(pl), "#EXT-X-ENDLIST") {
				t.Errorf("%s playlist not finished:\n%s", rung.name, pl)
			}
			out, err := exec.Command(hostProbe, "-v", "error", "-of", "json",
				"-show_entries", "stream=codec_name,height", r.path("tmp/out/"+rung.name+"/seg000.ts")).Output()
			if err != nil {
				t.Fatalf("probe first segment: %v", err)
			}
			var probe struct {
				Streams []struct {
					CodecName string `json:"codec_name"`
					Height    int    `json:"height"`
				} `json:"streams"`
			}
			if err := json.Unmarshal(out, &probe); err != nil {
				t.Fatalf("probe first segment: %v\n%s", err, out)
			}
			var got []string
			for _, st := range probe.Streams {
				got = append(got, st.CodecName+":"+strconv.Itoa(st.Height))
			}
			want := []string{"h264:" + strconv.Itoa(rung.height), "aac:0"}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("segment streams %q, want %q", got, want)
			}
		})
	}

	for _, thumb := range []struct{ file, codec string }{
		{"thumb.jpg", "mjpeg"},
		{"thumb.png", "png"},
	} {
		t.Run(thumb.file, func(t *testing.T) {
			if _, errOut, err := r.run(t, "ffmpeg", "-v", "error", "-ss", "1", "-i", "/tmp/in.mp4",
				"-frames:v", "1", "-vf", "scale=320:-2", "/tmp/"+thumb.file); err != nil {
				t.Fatalf("thumbnail: %v\n%s", err, errOut)
			}
			out, err := exec.Command(hostProbe, "-v", "error", "-of", "csv=p=0",
				"-show_entries", "stream=codec_name,width,height", r.path("tmp/"+thumb.file)).Output()
			if err != nil {
				t.Fatalf("probe thumbnail: %v", err)
			}
			if got, want := strings.TrimSpace(string(out)), thumb.codec+",320,180"; got != want {
				t.Errorf("thumbnail %q, want %q", got, want)
			}
		})
	}
}
