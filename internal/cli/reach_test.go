package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func runMain(t *testing.T, getenv func(string) string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var out, errb bytes.Buffer
	code = Main(context.Background(), Env{Stdout: &out, Stderr: &errb, Getenv: getenv}, args)
	return out.String(), errb.String(), code
}

// A newcomer's first mistake: the system is not running. Every command
// that needs it says so in one line naming the address and how to start
// it, instead of the SDK's retry chain.
func TestNothingRunningIsOneClearLine(t *testing.T) {
	dead := closedAddr(t)
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	if err := os.WriteFile(clip, []byte("not really a video"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, tokenFileName), []byte(strings.Repeat("ab", 16)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"status", []string{"status", "some-video-0123456789ab", "--s3", dead}, "nothing answers at " + dead + " (S3)"},
		{"upload", []string{"upload", clip, "--s3", dead}, "nothing answers at " + dead + " (S3)"},
		{"stream create", []string{"stream", "create", "demo", "--edge", dead, "--data", data}, "nothing answers at " + dead + " (edge and API)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runMain(t, nil, tt.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "make up") {
				t.Errorf("stderr %q: want %q and how to start the system", errOut, tt.want)
			}
			if n := strings.Count(strings.TrimSpace(errOut), "\n"); n != 0 {
				t.Errorf("stderr has %d lines, want one:\n%s", n+1, errOut)
			}
			for _, sdk := range []string{"operation error", "exceeded maximum number of attempts", "StatusCode: 0"} {
				if strings.Contains(errOut, sdk) {
					t.Errorf("stderr carries the SDK's chain (%q): %s", sdk, errOut)
				}
			}
		})
	}
}

// stream create run where hlsflow up keeps no state must not invent a
// secret (the key it would print is one the server refuses): it refuses,
// and writes nothing.
func TestStreamCreateNeverInventsState(t *testing.T) {
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }))
	defer srv.Close()
	data := filepath.Join(t.TempDir(), "elsewhere", ".hlsflow")
	_, errOut, code := runMain(t, nil, "stream", "create", "demo", "--edge", srv.URL, "--data", data)
	if code != 1 || !strings.Contains(errOut, "no API token") || !strings.Contains(errOut, "--token") {
		t.Errorf("exit %d, stderr %q: want 1 and a line saying there is no token and how to give one", code, errOut)
	}
	if _, err := os.Stat(filepath.Dir(data)); !os.IsNotExist(err) {
		t.Errorf("stream create made files where the server keeps its state: %v", err)
	}
	if calls != 0 {
		t.Errorf("the API was called %d times without a token", calls)
	}
}

// stream create asks the running server, with the token, and prints what
// the server answers; a refused token is said as such.
func TestStreamCreateAsksTheServer(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	var gotAuth, gotBody string
	relative := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/streams" {
			http.NotFound(w, r)
			return
		}
		gotAuth = r.Header.Get("Authorization")
		b := new(bytes.Buffer)
		b.ReadFrom(r.Body)
		gotBody = b.String()
		if sum := sha256.Sum256(b.Bytes()); r.Header.Get("X-Amz-Content-Sha256") != hex.EncodeToString(sum[:]) {
			http.Error(w, `{"error":"x-amz-content-sha256 must be the body's SHA-256"}`, http.StatusBadRequest)
			return
		}
		if gotAuth != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"creating a stream needs the API token"}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		if relative {
			w.Write([]byte(`{"name":"demo","key":"demo.k","publishUrl":"rtmp://server:1935/live/demo.k","srtUrl":"srt://server:8890?streamid=demo.k","playbackUrl":"/live/demo/master.m3u8"}`))
			return
		}
		w.Write([]byte(`{"name":"demo","key":"demo.k","publishUrl":"rtmp://server:1935/live/demo.k","srtUrl":"srt://server:8890?streamid=demo.k","whipUrl":"http://server/whip/demo","playbackUrl":"http://server/live/demo/master.m3u8"}`))
	}))
	defer srv.Close()

	out, errOut, code := runMain(t, nil, "stream", "create", "demo", "--edge", srv.URL, "--token", token)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if gotBody != `{"name":"demo"}` {
		t.Errorf("request body %q", gotBody)
	}
	for _, want := range []string{"publish:  rtmp://server:1935/live/demo.k", "srt:      srt://server:8890?streamid=demo.k",
		"whip:     http://server/whip/demo\nbearer:   demo.k", "playback: http://server/live/demo/master.m3u8"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}

	// A path is on the API's own origin, as the deployed API answers.
	relative = true
	out, errOut, code = runMain(t, nil, "stream", "create", "demo", "--edge", srv.URL, "--token", token)
	if want := "playback: " + srv.URL + "/live/demo/master.m3u8"; code != 0 || !strings.Contains(out, want) {
		t.Errorf("exit %d, stdout lacks %q:\n%s%s", code, want, out, errOut)
	}

	env := func(k string) string {
		if k == "HLSFLOW_TOKEN" {
			return "ffffffffffffffffffffffffffffffff"
		}
		return ""
	}
	_, errOut, code = runMain(t, env, "stream", "create", "demo", "--edge", srv.URL, "--data", t.TempDir())
	if code != 1 || !strings.Contains(errOut, "refused the API token") {
		t.Errorf("wrong token: exit %d, stderr %q", code, errOut)
	}
}

// hlsflow up without ffmpeg refuses to start, saying how to get it.
func TestUpWithoutFFmpeg(t *testing.T) {
	t.Setenv("FFMPEG_PATH", filepath.Join(t.TempDir(), "no-ffmpeg-here"))
	free := closedAddr(t)
	_, errOut, code := runMain(t, nil, "up", "--data", t.TempDir(), "--edge", free, "--s3", closedAddr(t))
	if code != 1 || !strings.Contains(errOut, "apt-get install ffmpeg") || !strings.Contains(errOut, "FFMPEG_PATH") {
		t.Fatalf("up without ffmpeg: exit %d, stderr %q; want 1 and how to install ffmpeg", code, errOut)
	}
	t.Setenv("FFMPEG_PATH", "")
	if err := checkTools(); err != nil {
		t.Fatalf("with ffmpeg installed: %v", err)
	}
}
