package media

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestHTTPSInputVerified reads a clip over HTTPS as the pipeline reads a
// presigned S3 URL: the probe and the encode's input both check the
// server's certificate against the CA bundle, and a failure is an error to
// retry (the file is not at fault) that names no signature.
func TestHTTPSInputVerified(t *testing.T) {
	clip := testMedia(t, "04_iphone4s_portrait_rot90.mov")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, clip)
	}))
	// Refused handshakes are what some cases expect; keep them out of the log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	rightCA := testenv.WritePEM(t, filepath.Join(dir, "ca.pem"), srv.Certificate().Raw)
	otherCA := testenv.WritePEM(t, filepath.Join(dir, "other.pem"), testenv.UnrelatedCA(t))
	url := srv.URL + "/uploads/clip.mov?X-Amz-Signature=secret"

	t.Run("trusted", func(t *testing.T) {
		t.Setenv(CAFileEnv, rightCA)
		src, err := Probe(context.Background(), FFprobePath(), url, DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		if src.Video == nil || src.Audio == nil {
			t.Fatalf("probe over HTTPS gave %+v", src)
		}
		if err := decodeSecond(src, url); err != nil {
			t.Errorf("ffmpeg with InputArgs over HTTPS: %v", err)
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		t.Setenv(CAFileEnv, otherCA)
		_, err := Probe(context.Background(), FFprobePath(), url, DefaultLimits)
		if err == nil || errors.Is(err, ErrUnsupported) {
			t.Fatalf("probe of a server the bundle does not trust: %v, want an error to retry", err)
		}
		if !strings.Contains(err.Error(), "TLS") {
			t.Errorf("error %q does not say TLS failed", err)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error shows the URL's signature: %v", err)
		}
		// An encode started anyway (a Source from elsewhere) is refused too.
		src := &Source{Demuxer: "mov", Video: &Video{}}
		if err := decodeSecond(src, url); err == nil {
			t.Error("ffmpeg read from a server the bundle does not trust")
		}
	})
	t.Run("no bundle", func(t *testing.T) {
		t.Setenv(CAFileEnv, filepath.Join(dir, "missing.pem"))
		_, err := Probe(context.Background(), FFprobePath(), url, DefaultLimits)
		if err == nil || errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "CA bundle") {
			t.Errorf("probe with a missing CA bundle: %v, want an error naming the bundle", err)
		}
	})
}

func TestTLSArgs(t *testing.T) {
	t.Setenv(CAFileEnv, "/etc/hostname")
	if a, err := tlsArgs("http://127.0.0.1:4566/uploads/x.mp4"); a != nil || err != nil {
		t.Errorf("http input: %q %v, want no TLS options", a, err)
	}
	a, err := tlsArgs("https://uploads.s3.amazonaws.com/x.mp4")
	if err != nil || strings.Join(a, " ") != "-tls_verify 1 -ca_file /etc/hostname" {
		t.Errorf("https input: %q %v", a, err)
	}
	in := InputArgs(&Source{Demuxer: "mov"}, "https://uploads.s3.amazonaws.com/x.mp4", 0, 0)
	if !strings.Contains(strings.Join(in, " "), "-tls_verify 1 -ca_file /etc/hostname -i https://") {
		t.Errorf("InputArgs for https: %q", in)
	}
}

// decodeSecond decodes the first second of input with the pipeline's input
// options.
func decodeSecond(src *Source, input string) error {
	args := append([]string{"-hide_banner", "-nostdin", "-v", "error"}, InputArgs(src, input, 0, 1)...)
	out, err := exec.Command(FFmpegPath(), append(args, "-f", "null", "-")...).CombinedOutput()
	if err != nil {
		return errors.New(strings.TrimSpace(string(out)))
	}
	return nil
}
