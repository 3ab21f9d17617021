//go:build linux

package ffmpeg

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestLayerHTTPS reads a clip over HTTPS the way the pipeline reads a
// presigned S3 URL, and checks that certificate and host name are verified
// when asked (-tls_verify 1 -ca_file; the Mbed TLS backend has no default
// CA store, so the caller names the bundle: on Lambda
// /etc/pki/tls/certs/ca-bundle.crt).
func TestLayerHTTPS(t *testing.T) {
	r := newRoot(t)
	clip := testenv.Media(t, "04_iphone4s_portrait_rot90.mov")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.ServeFile(w, req, clip)
	}))
	// Refused handshakes are what some cases expect; keep them out of the log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// httptest's certificate names example.com; both names lead here.
	if err := os.MkdirAll(r.path("etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.path("etc/hosts"), []byte("127.0.0.1 example.com other.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.WritePEM(t, r.path("tmp/ca.pem"), srv.Certificate().Raw)
	testenv.WritePEM(t, r.path("tmp/other-ca.pem"), testenv.UnrelatedCA(t))

	cases := []struct {
		name    string
		host    string
		args    []string
		wantErr bool
	}{
		{"verified", "example.com", []string{"-tls_verify", "1", "-ca_file", "/tmp/ca.pem"}, false},
		// The protocols an https input needs, as the pipeline whitelists them.
		{"verified and whitelisted", "example.com", []string{"-protocol_whitelist", "https,tls,tcp", "-tls_verify", "1", "-ca_file", "/tmp/ca.pem"}, false},
		{"https not whitelisted", "example.com", []string{"-protocol_whitelist", "file,pipe", "-tls_verify", "1", "-ca_file", "/tmp/ca.pem"}, true},
		{"unknown CA", "example.com", []string{"-tls_verify", "1", "-ca_file", "/tmp/other-ca.pem"}, true},
		{"wrong host name", "other.test", []string{"-tls_verify", "1", "-ca_file", "/tmp/ca.pem"}, true},
		{"no CA bundle given", "example.com", []string{"-tls_verify", "1"}, true},
		// FFmpeg's default: callers must pass -tls_verify 1 themselves.
		{"unverified by default", "other.test", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url := "https://" + c.host + ":" + port + "/clip.mov"
			args := append([]string{"-v", "error", "-of", "csv=p=0", "-show_entries", "stream=codec_name"}, c.args...)
			out, errOut, err := r.run(t, "ffprobe", append(args, url)...)
			if c.wantErr {
				if err == nil {
					t.Errorf("ffprobe %s succeeded, want a TLS error; output %q", url, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("ffprobe %s: %v\n%s", url, err, errOut)
			}
			if got := strings.Fields(out); len(got) != 2 {
				t.Errorf("ffprobe %s streams %q, want video and audio", url, got)
			}
		})
	}
}

// TestLayerOpensNothingElse feeds inputs that name other inputs (an HLS
// playlist and an ffconcat list pointing at a local server and a file)
// and wants them refused, with no request made: the layer has no demuxer
// that follows references.
func TestLayerOpensNothingElse(t *testing.T) {
	r := newRoot(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hits.Add(1)
		http.NotFound(w, req)
	}))
	defer srv.Close()
	copyFile(t, testenv.Media(t, "04_iphone4s_portrait_rot90.mov"), r.path("tmp/secret.mov"), 0o644)

	cases := []struct{ name, file, body string }{
		{"hls playlist", "leak.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n" + srv.URL + "/leak.ts\n#EXTINF:2,\nsecret.mov\n#EXT-X-ENDLIST\n"},
		{"hls playlist named mp4", "leak.mp4", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n" + srv.URL + "/leak.ts\n#EXT-X-ENDLIST\n"},
		{"ffconcat", "leak.txt", "ffconcat version 1.0\nfile " + srv.URL + "/leak.ts\nfile /tmp/secret.mov\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(r.path("tmp/"+c.file), []byte(c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			before := hits.Load()
			for _, bin := range []string{"ffprobe", "ffmpeg"} {
				args := []string{"-v", "error", "-i", "/tmp/" + c.file}
				if bin == "ffmpeg" {
					args = append(args, "-f", "null", "-")
				}
				if out, _, err := r.run(t, bin, args...); err == nil {
					t.Errorf("%s opened %s, want it refused; output %q", bin, c.file, out)
				}
			}
			if n := hits.Load() - before; n != 0 {
				t.Errorf("%s made %d requests to the server named inside it", c.file, n)
			}
		})
	}
}
