package e2e

import (
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/testenv"

	"github.com/hlsflow/hlsflow/internal/browsertest"
	"github.com/hlsflow/hlsflow/internal/catalog"
)

// TestBrowserPlaysVOD plays a processed upload in headless Chromium with
// hls.js, from a page on another origin than the edge, past several
// segments.
func TestBrowserPlaysVOD(t *testing.T) {
	id := upload(t, testenv.Media(t, "10_bbb_trailer_h264_aac.flv"), "e2e/browser/trailer.flv")
	st := waitDone(t, id, 5*time.Minute)
	if st.State != catalog.StateReady {
		t.Fatalf("state %s: %s", st.State, st.Error)
	}
	res, err := browsertest.Play(t, sys.EdgeURL+"/"+st.Playback, browsertest.Options{MinTime: 10, Timeout: 90 * time.Second})
	if err != nil {
		t.Fatalf("playback: %v (result %+v)", err, res)
	}
	if res.CurrentTime < 10 {
		t.Errorf("playback reached %.1f s, want past 10 s (several 4 s segments)", res.CurrentTime)
	}
	if len(res.Levels) == 0 {
		t.Errorf("hls.js saw no levels")
	}
	if f := res.FatalErrors(); len(f) > 0 {
		t.Errorf("fatal hls.js errors: %+v", f)
	}
}
