package web_test

// The player matrix (issue 18): every shared clip with a picture, and a
// synthetic high-motion one, uploaded through the running system in each
// segment format, plays to the end in each web player of the matrix in
// headless Chromium and decodes with ffmpeg.

import (
	"context"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/browsertest"
	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// playerRow is one row of the matrix: a player on one of a video's
// manifests.
type playerRow struct {
	player   browsertest.Player
	manifest string              // under the video's prefix
	only     media.SegmentFormat // "" in every segment format
	codec    string              // what the CODECS played at the end start with ("" any)
}

// playerMatrix: a DASH manifest or a codec rung is one more line, such as
// {player: browsertest.Shaka, manifest: "manifest.mpd", only: media.CMAF}
// or {player: browsertest.HLSJS, manifest: "master.m3u8", codec: "av01"}
// (with the stack's setting for it in matrixEnv).
var playerMatrix = []playerRow{
	{player: browsertest.HLSJS, manifest: "master.m3u8"},
	{player: browsertest.Shaka, manifest: "master.m3u8"},
	{player: browsertest.VideoJS, manifest: "master.m3u8"},
	{player: browsertest.Shaka, manifest: "manifest.mpd", only: media.CMAF},
}

// matrixEnv is the transcoder's settings for the matrix beyond the
// stack's fast ones (ultrafast, 540p and 480p at most).
var matrixEnv = map[string]string{}

// matrixRate is the playback rate: the clips add up to three minutes.
const matrixRate = 8

func TestPlayerMatrix(t *testing.T) {
	start := time.Now()
	clips := matrixClips(t)
	for _, format := range []media.SegmentFormat{media.TS, media.CMAF} {
		t.Run(string(format), func(t *testing.T) {
			env := map[string]string{lambdaspec.SegmentFormat: string(format)}
			maps.Copy(env, matrixEnv)
			sys := newStack(t, options{env: env})
			players, err := browsertest.NewPlayers(t)
			if err != nil {
				t.Fatal(err)
			}
			// Every upload at once: the system encodes the later ones
			// while the first ones play.
			for _, c := range clips {
				if err := sys.store.PutFile(context.Background(), sys.uploads, "matrix/"+filepath.Base(c), c, store.Object{ContentType: "application/octet-stream"}); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range clips {
				t.Run(filepath.Base(c), func(t *testing.T) {
					sys.playEverywhere(t, players, format, catalog.VideoID("matrix/"+filepath.Base(c)))
				})
			}
		})
	}
	t.Logf("player matrix: %d clips × %d formats × %d players in %s", len(clips), 2, len(playerMatrix), time.Since(start).Round(time.Second))
}

// playEverywhere waits for the video, then plays it in every row of the
// matrix at once and decodes it with ffmpeg.
func (s *stack) playEverywhere(t *testing.T, players *browsertest.Players, format media.SegmentFormat, id string) {
	st := s.waitReady(t, id, 4*time.Minute)
	prefix := s.url + "/" + catalog.Prefix(id)
	shortest, longest := renditions(t, s.url+"/"+st.Playback, format, st.Duration)
	var wg sync.WaitGroup
	for _, row := range playerMatrix {
		if row.only != "" && row.only != format {
			continue
		}
		wg.Go(func() {
			src := prefix + row.manifest
			end, err := players.PlayToEnd(t, row.player, src, browsertest.EndOptions{
				Rate: matrixRate, Timeout: time.Minute + time.Duration(st.Duration/matrixRate*float64(time.Second)),
				Artifacts: os.Getenv("HLSFLOW_ARTIFACTS"),
			})
			if err != nil {
				t.Errorf("%s %s: %v\n%+v", row.player, row.manifest, err, end)
				return
			}
			// Nothing cut off: the player's duration is its renditions'.
			// Where audio outlasts the picture (10_bbb_trailer), Shaka
			// ends with the shortest, hls.js and video.js with the longest.
			if end.Duration < shortest-1 || end.Duration > longest+1 {
				t.Errorf("%s %s: duration %.2f s, the renditions last %.2f to %.2f s", row.player, row.manifest, end.Duration, shortest, longest)
			}
			if !strings.HasPrefix(end.Codecs, row.codec) {
				t.Errorf("%s %s: plays %q, want %s", row.player, row.manifest, end.Codecs, row.codec)
			}
			t.Logf("%s %s: to %.2f of %.2f s in %s (ended event %v, %s %dp, %d stalls, %d non-fatal errors)",
				end.Player, row.manifest, end.CurrentTime, end.Duration, end.Wall.Round(time.Millisecond),
				end.Ended, end.Codecs, end.Height, end.Stalls, len(end.Errors))
		})
	}
	wg.Go(func() {
		// Every rendition decodes without an error.
		out, err := exec.Command(media.FFmpegPath(), "-v", "error", "-nostdin", "-i", s.url+"/"+st.Playback,
			"-map", "0:v", "-map", "0:a?", "-f", "null", "-").CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("ffmpeg decode of %s: %v\n%s", st.Playback, err, out)
		}
	})
	wg.Wait()
}

// renditions reads the master and its media playlists (variants and
// EXT-X-MEDIA renditions), checks that the longest lasts the video's
// duration and that the segments are in the format asked for, and
// returns the shortest and longest lengths in seconds.
func renditions(t *testing.T, master string, format media.SegmentFormat, duration float64) (shortest, longest float64) {
	t.Helper()
	m, err := hls.ParseMaster([]byte(get(t, master)))
	if err != nil || len(m.Variants) == 0 {
		t.Fatalf("master %s: %v (%d variants)", master, err, len(m.Variants))
	}
	var uris []string
	for _, v := range m.Variants {
		uris = append(uris, v.URI)
	}
	for _, r := range m.Media {
		if r.URI != "" {
			uris = append(uris, r.URI)
		}
	}
	base := master[:strings.LastIndex(master, "/")+1]
	want := format == media.CMAF
	shortest = math.Inf(1)
	for _, u := range uris {
		p, err := hls.ParseMedia([]byte(get(t, base+u)))
		if err != nil || len(p.Segments) == 0 {
			t.Fatalf("%s: %v (%d segments)", u, err, len(p.Segments))
		}
		if fmp4 := p.Segments[0].Map != nil; fmp4 != want {
			t.Errorf("%s (%.1f s) in %s mode: fMP4 segments %v, want %v", u, duration, format, fmp4, want)
		}
		d := p.Duration().Seconds()
		shortest, longest = min(shortest, d), max(longest, d)
	}
	if longest < duration-1 || longest > duration+1 {
		t.Errorf("%s: the longest rendition lasts %.2f s, the video %.2f s", master, longest, duration)
	}
	return shortest, longest
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// matrixClips are the repository's clips that have a picture, and a
// synthetic high-motion one made here.
func matrixClips(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(t), "testdata", "media")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var clips []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() || e.Name() == "README.md" {
			continue
		}
		out, err := exec.Command(media.FFprobePath(), "-v", "error", "-select_streams", "v", "-show_entries", "stream=codec_type", "-of", "csv=p=0", p).Output()
		if err != nil {
			t.Fatalf("ffprobe %s: %v", p, err)
		}
		if strings.Contains(string(out), "video") {
			clips = append(clips, p)
		}
	}
	if len(clips) < 10 {
		t.Fatalf("found %d clips with video in %s, want the 10 shared ones", len(clips), dir)
	}
	return append(clips, highMotionClip(t))
}

// highMotionClip is 4 s of a scrolling test pattern under strong temporal
// noise: every block changes every frame, the worst case for the encoder
// and for the players' buffers (high bitrate per rung).
func highMotionClip(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "high_motion.mp4")
	out, err := exec.Command(media.FFmpegPath(), "-v", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=960x540:rate=30:duration=4",
		"-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000:duration=4",
		"-vf", "scroll=horizontal=0.031:vertical=0.017,noise=alls=40:allf=t+u",
		"-c:v", "libx264", "-preset", "ultrafast", "-qp", "20", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-shortest", p).CombinedOutput()
	if err != nil {
		t.Fatalf("make the high-motion clip: %v\n%s", err, out)
	}
	return p
}
