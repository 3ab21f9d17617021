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
	"slices"
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
	// codec is what the CODECS played at the end must start with where
	// the master has a variant of it; elsewhere (MPEG-TS, or a ladder
	// without such rungs) H.264's "avc1".
	codec string
	// hide are codecs the page's Media Source Extensions deny (a browser
	// that cannot decode them); the row plays only videos whose master
	// has them.
	hide []string
}

// playerMatrix: a DASH manifest or a codec rung is one more line, such as
// {player: browsertest.Shaka, manifest: "manifest.mpd", only: media.CMAF}
// (with the stack's setting for a codec in matrixEnv). Where Chromium
// decodes AV1, each player picks the AV1 variant of a mixed master or
// MPD (video.js configured as the README says); with AV1 hidden, H.264.
var playerMatrix = []playerRow{
	{player: browsertest.HLSJS, manifest: "master.m3u8", codec: "av01"},
	{player: browsertest.Shaka, manifest: "master.m3u8", codec: "av01"},
	{player: browsertest.VideoJS, manifest: "master.m3u8", codec: "av01"},
	{player: browsertest.Shaka, manifest: "manifest.mpd", only: media.CMAF, codec: "av01"},
	{player: browsertest.HLSJS, manifest: "master.m3u8", only: media.CMAF, codec: "avc1", hide: []string{"av01"}},
}

// matrixEnv is the transcoder's settings for the matrix beyond the
// stack's fast ones (ultrafast, 540p and 480p at most), by segment
// format: CMAF ladders get AV1 rungs next to H.264 (HEVC's are tested
// in internal/vod; Chromium's MSE does not decode HEVC without the
// platform's decoder).
var matrixEnv = map[media.SegmentFormat]map[string]string{
	media.CMAF: {lambdaspec.VideoCodecs: "h264,av1"},
}

// matrixRate is the playback rate: the clips add up to three minutes.
const matrixRate = 8

func TestPlayerMatrix(t *testing.T) {
	start := time.Now()
	clips := matrixClips(t)
	for _, format := range []media.SegmentFormat{media.TS, media.CMAF} {
		t.Run(string(format), func(t *testing.T) {
			env := map[string]string{lambdaspec.SegmentFormat: string(format)}
			maps.Copy(env, matrixEnv[format])
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
			var av1 []string
			for _, c := range clips {
				t.Run(filepath.Base(c), func(t *testing.T) {
					if sys.playEverywhere(t, players, format, catalog.VideoID("matrix/"+filepath.Base(c)))["av01"] {
						av1 = append(av1, filepath.Base(c))
					}
				})
			}
			// The AV1 rows test something: the high-motion clip (540p,
			// 30 fps: whole frames per segment) gets AV1 rungs in CMAF.
			t.Logf("masters with AV1 variants: %v", av1)
			if hasAV1 := slices.ContainsFunc(av1, func(n string) bool { return strings.HasPrefix(n, "high_motion") }); hasAV1 != (format == media.CMAF) {
				t.Errorf("in %s the high-motion clip's master has AV1 variants: %v, want %v", format, hasAV1, format == media.CMAF)
			}
		})
	}
	t.Logf("player matrix: %d clips × %d formats × %d players in %s", len(clips), 2, len(playerMatrix), time.Since(start).Round(time.Second))
}

// playEverywhere waits for the video, then plays it in every row of the
// matrix at once and decodes it with ffmpeg. It returns the video codecs
// (sample entries, such as "avc1") of the master's variants.
func (s *stack) playEverywhere(t *testing.T, players *browsertest.Players, format media.SegmentFormat, id string) map[string]bool {
	st := s.waitReady(t, id, 4*time.Minute)
	prefix := s.url + "/" + catalog.Prefix(id)
	shortest, longest, offers := renditions(t, s.url+"/"+st.Playback, format, st.Duration)
	var wg sync.WaitGroup
	for _, row := range playerMatrix {
		if row.only != "" && row.only != format {
			continue
		}
		if len(row.hide) > 0 && !slices.ContainsFunc(row.hide, func(c string) bool { return offers[c] }) {
			continue // nothing to hide: the rows above play this master
		}
		want := row.codec
		if !offers[want] {
			want = "avc1"
		}
		wg.Go(func() {
			src := prefix + row.manifest
			end, err := players.PlayToEnd(t, row.player, src, browsertest.EndOptions{
				Rate: matrixRate, Timeout: time.Minute + time.Duration(st.Duration/matrixRate*float64(time.Second)),
				Artifacts: os.Getenv("HLSFLOW_ARTIFACTS"), Hide: row.hide,
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
			if !strings.HasPrefix(end.Codecs, want) {
				t.Errorf("%s %s (hiding %v): plays %q, want %s", row.player, row.manifest, row.hide, end.Codecs, want)
			}
			t.Logf("%s %s%s: to %.2f of %.2f s in %s (ended event %v, %s %dp, %d stalls, %d non-fatal errors)",
				end.Player, row.manifest, hiding(row.hide), end.CurrentTime, end.Duration, end.Wall.Round(time.Millisecond),
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
	return offers
}

func hiding(codecs []string) string {
	if len(codecs) == 0 {
		return ""
	}
	return " without " + strings.Join(codecs, ",")
}

// renditions reads the master and its media playlists (variants and
// EXT-X-MEDIA renditions), checks that the longest lasts the video's
// duration and that the segments are in the format asked for, and
// returns the shortest and longest lengths in seconds and the video
// codecs (sample entries) of the variants.
func renditions(t *testing.T, master string, format media.SegmentFormat, duration float64) (shortest, longest float64, videoCodecs map[string]bool) {
	t.Helper()
	m, err := hls.ParseMaster([]byte(get(t, master)))
	if err != nil || len(m.Variants) == 0 {
		t.Fatalf("master %s: %v (%d variants)", master, err, len(m.Variants))
	}
	var uris []string
	videoCodecs = map[string]bool{}
	for _, v := range m.Variants {
		uris = append(uris, v.URI)
		for c := range strings.SplitSeq(v.Codecs, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.HasPrefix(c, "mp4a") {
				videoCodecs[c[:min(4, len(c))]] = true
			}
		}
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
	return shortest, longest, videoCodecs
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
