package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/edge"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// pinnedVersions reads the players' versions from web/package-lock.json.
func pinnedVersions(t *testing.T) map[Player]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "web", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatal(err)
	}
	v := map[Player]string{}
	for p, pkg := range map[Player]string{HLSJS: "hls.js", Shaka: "shaka-player", VideoJS: "video.js"} {
		if v[p] = lock.Packages["node_modules/"+pkg].Version; v[p] == "" {
			t.Fatalf("package-lock.json pins no %s", pkg)
		}
	}
	return v
}

// TestPlayToEnd: each player plays an HLS stream to its end through the
// edge, from a page under the product page's CSP; a stream whose
// segments are missing, or an edge that refuses the page's origin, fails
// in each with a fatal error.
func TestPlayToEnd(t *testing.T) {
	stream := makeStream(t)
	st := testenv.S3(t).Store
	players, err := NewPlayers(t)
	if err != nil {
		t.Fatal(err)
	}
	pinned := pinnedVersions(t)
	all := func(string) bool { return true }
	cases := []struct {
		name      string
		files     func(string) bool
		allow     []string
		wantErr   error
		orTimeout bool // ErrTimeout will do for wantErr
		timeout   time.Duration
		elsewhere bool // the media playlists name their segments on another origin
	}{
		{name: "plays to the end", files: all, timeout: time.Minute},
		{name: "missing segments fail", files: func(n string) bool { return strings.HasSuffix(n, ".m3u8") },
			wantErr: ErrFatal, orTimeout: true, timeout: 15 * time.Second},
		{name: "other origin refused by CORS", files: all, allow: []string{"http://elsewhere.test"},
			wantErr: ErrFatal, timeout: 20 * time.Second},
		// The page's policy lets it reach the master's origin only.
		{name: "segments on another origin break the CSP", files: all, elsewhere: true,
			wantErr: ErrCSP, timeout: 20 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prefix := fmt.Sprintf("vod/pl-%x/", rand.Uint64())
			upload(t, st, stream, prefix, c.files)
			url := startEdge(t, edge.Config{AllowOrigins: c.allow}) + "/" + prefix + "master.m3u8"
			if c.elsewhere {
				other := startEdge(t, edge.Config{}) + "/" + prefix
				for _, r := range []string{"270p", "180p"} {
					b, err := os.ReadFile(filepath.Join(stream, r, "index.m3u8"))
					if err != nil {
						t.Fatal(err)
					}
					b = []byte(strings.ReplaceAll(string(b), "seg_", other+r+"/seg_"))
					if err := st.PutBytes(context.Background(), "media", prefix+r+"/index.m3u8", b, store.For("index.m3u8")); err != nil {
						t.Fatal(err)
					}
				}
			}
			var wg sync.WaitGroup
			for p := range playerFiles {
				wg.Go(func() {
					end, err := players.PlayToEnd(t, p, url, EndOptions{Rate: 4, Timeout: c.timeout, Artifacts: t.TempDir()})
					// Players retry failed segments, some for ever (VHS
					// alternates between the renditions): a timeout with
					// no progress is a failure too.
					if c.orTimeout && errors.Is(err, ErrTimeout) {
						err = c.wantErr
					}
					if !errors.Is(err, c.wantErr) {
						t.Errorf("%s: error %v, want %v; %+v", p, err, c.wantErr, end)
						return
					}
					if !strings.Contains(end.Player, pinned[p]) {
						t.Errorf("%s: version %q, want the pinned %s", p, end.Player, pinned[p])
					}
					if c.wantErr != nil {
						if end.CurrentTime > 0.5 || end.AtEnd() {
							t.Errorf("%s: played to %.2fs of a stream it cannot load", p, end.CurrentTime)
						}
						return
					}
					if !end.AtEnd() || end.Duration < 5.5 || end.Duration > 6.5 || !strings.Contains(end.Codecs, "avc1") || end.Height == 0 {
						t.Errorf("%s: at %.2fs of %.2fs playing %q (%dp); want the end of 6 s of H.264", p, end.CurrentTime, end.Duration, end.Codecs, end.Height)
					}
					t.Logf("%s: to the end in %s (ended event %v; %s, %dp, %d stalls)", end.Player, end.Wall.Round(time.Millisecond), end.Ended, end.Codecs, end.Height, end.Stalls)
				})
			}
			wg.Wait()
		})
	}
}
