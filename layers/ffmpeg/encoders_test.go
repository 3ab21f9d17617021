//go:build linux

package ffmpeg

import (
	"archive/zip"
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// maxUnzipped is our own limit for the layer unpacked (Lambda allows
// 250 MB for a function and all its layers together), in bytes.
const maxUnzipped = 60_000_000

// testClip is the source of the encoder tests: small, so that the arm64
// layer under qemu-user (about 20 times slower) stays quick.
const testClip = "testsrc=size=256x144:rate=10:duration=1"

// TestLayerEncodesHEVCAndAV1 encodes 1 s of testsrc with x265 and SVT-AV1
// into fragmented MP4 (the CMAF form the HLS variants use), decodes each
// result with the layer's own ffmpeg (HEVC natively, AV1 through dav1d),
// and checks with Debian's ffmpeg that the picture survived.
func TestLayerEncodesHEVCAndAV1(t *testing.T) {
	r := newRoot(t)
	hostProbe := hostTool(t, "ffprobe")
	hostFFmpeg := hostTool(t, "ffmpeg")
	out, errOut, err := r.run(t, "ffmpeg", "-hide_banner", "-encoders")
	if err != nil {
		t.Fatalf("ffmpeg -encoders: %v\n%s", err, errOut)
	}
	for _, enc := range []string{"libx264", "libx265", "libsvtav1"} {
		if !regexp.MustCompile(`(?m)^ V\S* ` + enc + ` `).MatchString(out) {
			t.Errorf("ffmpeg -encoders lacks video encoder %s:\n%s", enc, out)
		}
	}

	for _, tc := range []struct {
		name, codec, tag string
		args             []string
	}{
		// hvc1: parameter sets in the sample entry only, what Apple's
		// players require of HEVC in HLS.
		{"hevc", "hevc", "hvc1", []string{"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-tag:v", "hvc1"}},
		{"av1", "av1", "av01", []string{"-c:v", "libsvtav1", "-preset", "12"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "/tmp/" + tc.name + ".mp4"
			// A filtergraph source: the layer has no rawvideo decoder for
			// `-f lavfi -i`.
			args := append([]string{"-v", "error", "-filter_complex", testClip + ",format=yuv420p[v]", "-map", "[v]", "-g", "10"}, tc.args...)
			args = append(args, "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", name)
			if _, errOut, err := r.run(t, "ffmpeg", args...); err != nil {
				t.Fatalf("encode %s with the layer: %v\n%s", tc.name, err, errOut)
			}
			data, err := os.ReadFile(r.path(name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte("moof")) || !bytes.Contains(data, []byte("mvex")) {
				t.Errorf("%s: not fragmented MP4 (no moof/mvex box)", name)
			}
			got, err := exec.Command(hostProbe, "-v", "error", "-select_streams", "v:0",
				"-show_entries", "stream=codec_name,codec_tag_string,width,height", "-of", "csv=p=0", r.path(name)).Output()
			if err != nil {
				t.Fatalf("probe %s: %v", name, err)
			}
			if want := tc.codec + "," + tc.tag + ",256,144"; strings.TrimSpace(string(got)) != want {
				t.Errorf("stream %q, want %q (codec, tag, width, height)", strings.TrimSpace(string(got)), want)
			}

			// Decoded by the layer: showinfo logs one line per frame.
			dec := []string{"-hide_banner", "-nostats"}
			if tc.codec == "av1" {
				dec = append(dec, "-c:v", "libdav1d")
			}
			_, errOut, err := r.run(t, "ffmpeg", append(dec, "-i", name, "-map", "0:v", "-vf", "showinfo", "-f", "null", "-")...)
			if err != nil {
				t.Fatalf("decode %s with the layer: %v\n%s", name, err, errOut)
			}
			frames := len(regexp.MustCompile(`(?m)Parsed_showinfo.* n: *[0-9]+ `).FindAllString(errOut, -1))
			if frames != 10 {
				t.Errorf("layer decoded %d frames of %s, want 10", frames, name)
			}

			// The picture, not just a stream: SSIM against the source.
			cmp, err := exec.Command(hostFFmpeg, "-hide_banner", "-nostdin", "-i", r.path(name), "-f", "lavfi", "-i", testClip,
				"-lavfi", "[0:v][1:v]ssim", "-f", "null", "-").CombinedOutput()
			if err != nil {
				t.Fatalf("ssim: %v\n%s", err, cmp)
			}
			m := regexp.MustCompile(`All:([0-9.]+)`).FindSubmatch(cmp)
			if m == nil {
				t.Fatalf("no SSIM in:\n%s", cmp)
			}
			ssim, _ := strconv.ParseFloat(string(m[1]), 64)
			t.Logf("%s: %d bytes, SSIM %.3f", tc.name, len(data), ssim)
			if ssim < 0.9 {
				t.Errorf("SSIM of the %s encode against the source %.3f, want ≥ 0.9", tc.name, ssim)
			}
		})
	}
}

// TestLayerSize keeps the layer within our 60 MB (unzipped) budget.
func TestLayerSize(t *testing.T) {
	z := layerZip(t)
	zr, err := zip.OpenReader(z)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if strings.HasPrefix(f.Name, "bin/") {
			t.Logf("%s: %.1f MB", f.Name, float64(f.UncompressedSize64)/1e6)
		}
	}
	fi, err := os.Stat(z)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("zip %.1f MB, unzipped %.1f MB", float64(fi.Size())/1e6, float64(total)/1e6)
	if total > maxUnzipped {
		t.Errorf("layer unzipped is %d bytes, over the %d budget", total, maxUnzipped)
	}
}

// TestLayerLicences: the zip carries the licence of every library linked
// in, and its README names the versions actually pinned.
func TestLayerLicences(t *testing.T) {
	z := layerZip(t)
	zr, err := zip.OpenReader(z)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string]string{}
	for _, f := range zr.File {
		if name, ok := strings.CutPrefix(f.Name, "licenses/"); ok {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			_, err = b.ReadFrom(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			files[name] = b.String()
		}
	}
	for name, want := range map[string]string{
		"COPYING.GPLv3":                 "GNU GENERAL PUBLIC LICENSE",
		"x264-COPYING":                  "GNU GENERAL PUBLIC LICENSE",
		"x265-COPYING":                  "GNU GENERAL PUBLIC LICENSE",
		"SVT-AV1-LICENSE.md":            "BSD 3-Clause Clear",
		"SVT-AV1-PATENTS.md":            "Alliance for Open Media Patent License 1.0",
		"SVT-AV1-fastfeat-LICENSE":      "Redistribution",
		"SVT-AV1-safestringlib-LICENSE": "Permission is hereby granted",
		"SVT-AV1-cpuinfo-LICENSE":       "Redistribution",
		"dav1d-COPYING":                 "Redistribution",
		"libstdc++-copyright":           "GCC RUNTIME LIBRARY EXCEPTION",
	} {
		if !strings.Contains(files[name], want) {
			t.Errorf("licenses/%s missing or lacks %q", name, want)
		}
	}
	for _, p := range []string{"X264_VERSION", "X265_VERSION", "X265_SHA256", "SVTAV1_VERSION", "SVTAV1_SHA256", "DAV1D_VERSION"} {
		if v := pin(t, p); !strings.Contains(files["README"], v) {
			t.Errorf("licenses/README does not name %s %s", p, v)
		}
	}
}
