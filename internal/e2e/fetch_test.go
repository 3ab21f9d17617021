package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestUploadFromURL: `hlsflow up --fetch-allow 127.0.0.0/8` fetches a
// clip served on 127.0.0.1 and makes it ready; a source on [::1], outside
// the allow list, fails with the reason and is never reached; a decimal
// IP is refused at once.
func TestUploadFromURL(t *testing.T) {
	if sys.Local == nil {
		t.Skip("the source is served on this machine's loopback, which only the local system may fetch from")
	}
	src := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(testenv.Media(t, "02_flower_960x540_h264_aac.mp4")))))
	defer src.Close()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer ln.Close()
	var accepts atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			c.Close()
		}
	}()

	ready := fetchURL(t, src.URL+"/02_flower_960x540_h264_aac.mp4", http.StatusAccepted)
	refused := fetchURL(t, fmt.Sprintf("http://[::1]:%d/clip.mp4", ln.Addr().(*net.TCPAddr).Port), http.StatusAccepted)
	fetchURL(t, "http://2130706433/clip.mp4", http.StatusBadRequest)

	if st := waitDone(t, refused, time.Minute); st.State != catalog.StateFailed || st.Error != "source URL refused: it names a loopback address" {
		t.Errorf("[::1] source: %s %q", st.State, st.Error)
	}
	if st := waitDone(t, ready, 3*time.Minute); st.State != catalog.StateReady {
		t.Errorf("clip: %s %q", st.State, st.Error)
	}
	if n := accepts.Load(); n != 0 {
		t.Errorf("%d connections reached [::1]", n)
	}
}

// fetchURL asks for an upload from u and returns the video id.
func fetchURL(t *testing.T, u string, want int) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, sys.EdgeURL+"/api/uploads", bytes.NewReader([]byte(`{"url":"`+u+`"}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+apiToken(t))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ID    string `json:"id"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != want {
		t.Fatalf("POST %s: %s %+v %v, want %d", u, resp.Status, out, err, want)
	}
	if want == http.StatusBadRequest && !strings.Contains(out.Error, "non-standard form") {
		t.Errorf("POST %s: %q", u, out.Error)
	}
	return out.ID
}
