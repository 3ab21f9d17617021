// Package browsertest plays HLS streams in a real browser for tests: Debian's
// Chromium, headless, driven by chromedp, loads a page with hls.js (from
// web/node_modules) from an origin of its own, plays a master playlist muted
// and reports how far playback got and what hls.js complained about.
// Players (players.go) plays streams to their end in hls.js, Shaka Player
// or video.js.
package browsertest

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Options tune one Play.
type Options struct {
	// MinTime is how many seconds playback must advance from where it
	// began (0 for on-demand, near the live edge for live); default 4.
	MinTime float64
	// Timeout bounds the whole playback; default 60s.
	Timeout time.Duration
	// HlsConfig is passed to new Hls(config), to shorten retries say.
	HlsConfig map[string]any
	// Sample, when set, keeps playing that long once MinTime is reached,
	// reading the latency every second into Result.Latencies.
	Sample time.Duration
	// Artifacts is where a failed Play leaves its screenshot and state;
	// default $HLSFLOW_ARTIFACTS, else a new directory under os.TempDir.
	Artifacts string
	// Subtitles shows the first subtitles track (its cues then appear in
	// Result.Cues); AudioTrack, when not nil, switches to that audio track
	// once playback has advanced a second.
	Subtitles  bool
	AudioTrack *int
}

// Track is an audio or subtitles track as hls.js lists it.
type Track struct {
	Name    string `json:"name"`
	Lang    string `json:"lang"`
	Default bool   `json:"default"`
}

// Cue is a cue of the video's text tracks.
type Cue struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Text  string  `json:"text"`
}

// Level is a variant of the master playlist as hls.js parsed it.
type Level struct {
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Bitrate int    `json:"bitrate"`
	Codecs  string `json:"codecs"`
}

// HLSError is one ERROR event of hls.js (or a media element error).
type HLSError struct {
	Type    string `json:"type"`
	Details string `json:"details"`
	Fatal   bool   `json:"fatal"`
	URL     string `json:"url"`
	Code    int    `json:"code"` // HTTP status, when a load failed
	Reason  string `json:"reason"`
}

// Result is what the browser saw.
type Result struct {
	Version       string     `json:"version"`   // hls.js version
	Live          bool       `json:"live"`      // the media playlist had no ENDLIST
	Playing       bool       `json:"playing"`   // playback started
	StartTime     float64    `json:"startTime"` // currentTime when playback started
	CurrentTime   float64    `json:"currentTime"`
	Levels        []Level    `json:"levels"`
	Played        []int      `json:"played"` // heights of the levels switched to, in order
	Errors        []HLSError `json:"errors"`
	DroppedErrors int        `json:"droppedErrors"` // errors past the first 200
	Fatal         bool       `json:"fatal"`
	Ended         bool       `json:"ended"`
	Console       []string   `json:"console"`    // console errors and exceptions of the page
	Screenshot    string     `json:"screenshot"` // path, when a failure saved one
	// Tracks: hls.audioTracks, hls.audioTrack, the ids of every
	// AUDIO_TRACK_SWITCHED, hls.subtitleTracks, the text tracks' cues,
	// hls.subtitleTrack and each text track as "mode:label".
	AudioTracks    []Track  `json:"audioTracks"`
	AudioTrack     int      `json:"audioTrack"`
	AudioSwitched  []int    `json:"audioSwitched"`
	SubtitleTracks []Track  `json:"subtitleTracks"`
	Cues           []Cue    `json:"cues"`
	SubtitleTrack  int      `json:"subtitleTrack"`
	TextTracks     []string `json:"textTracks"`
	// Latency is now less hls.playingDate (the program date time of the
	// frame shown) in seconds, -1 without one; Latencies are its samples
	// (Options.Sample). Stalls counts the times playback waited for data
	// after it began.
	Latency   float64   `json:"latency"`
	Latencies []float64 `json:"-"`
	Stalls    int       `json:"stalls"`
}

// Advanced is how far playback got from where it began, in seconds.
func (r Result) Advanced() float64 {
	if !r.Playing {
		return 0
	}
	return r.CurrentTime - r.StartTime
}

// Heights returns the heights of the levels hls.js saw, in playlist order.
func (r Result) Heights() []int {
	h := make([]int, len(r.Levels))
	for i, l := range r.Levels {
		h[i] = l.Height
	}
	return h
}

// FatalErrors returns the fatal errors only.
func (r Result) FatalErrors() []HLSError {
	var out []HLSError
	for _, e := range r.Errors {
		if e.Fatal {
			out = append(out, e)
		}
	}
	return out
}

// Errors Play returns, wrapped with details.
var (
	ErrFatal   = errors.New("fatal playback error")
	ErrTimeout = errors.New("playback did not reach the wanted time")
	ErrEnded   = errors.New("stream ended before the wanted time")
)

//go:embed page.html
var pageHTML []byte

// pollEvery is how often the page's state is read.
const pollEvery = 200 * time.Millisecond

// Play loads masterURL in a fresh headless Chromium, plays it muted and
// waits until playback has advanced opts.MinTime seconds from where it
// began, a fatal error, the end of the stream or opts.Timeout. The error is
// nil only when playback advanced MinTime with no fatal error; the Result is filled in either way, and
// on failure a screenshot is saved and its path logged.
func Play(t testing.TB, masterURL string, opts Options) (Result, error) {
	t.Helper()
	if opts.MinTime <= 0 {
		opts.MinTime = 4
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	hlsJS, err := HLSJSPath()
	if err != nil {
		return Result{}, err
	}
	pageURL, stopPage, err := servePage(hlsJS)
	if err != nil {
		return Result{}, err
	}
	defer stopPage()

	tab, stop, err := Launch(t, 800, 600)
	if err != nil {
		return Result{}, err
	}
	defer stop()

	var console consoleLog
	if err := chromedp.Listen(tab, console.add); err != nil {
		return Result{}, fmt.Errorf("start chromium: %w", err)
	}
	if _, err := chromedp.Run(tab, chromedp.Navigate(pageURL)); err != nil {
		return Result{}, fmt.Errorf("open test page %s: %w", pageURL, err)
	}
	cfg, err := json.Marshal(opts.HlsConfig)
	if err != nil {
		return Result{}, fmt.Errorf("hls.js config: %w", err)
	}
	src, err := json.Marshal(masterURL)
	if err != nil {
		return Result{}, err
	}
	tracks := map[string]any{"subtitles": opts.Subtitles}
	if opts.AudioTrack != nil {
		tracks["audioTrack"] = *opts.AudioTrack
	}
	tr, err := json.Marshal(tracks)
	if err != nil {
		return Result{}, err
	}
	if _, err := chromedp.Run(tab, chromedp.Evaluate[chromedp.Void](
		fmt.Sprintf("hlsflowStart(%s, %s, %s)", src, cfg, tr))); err != nil {
		return Result{}, fmt.Errorf("start hls.js: %w", err)
	}

	res, playErr := waitPlayback(tab, opts)
	res.Console = console.lines()
	if playErr != nil {
		res.Screenshot = saveArtifacts(t, tab, opts.Artifacts, res)
	}
	return res, playErr
}

// waitPlayback polls the page until playback reaches opts.MinTime or fails.
func waitPlayback(tab context.Context, opts Options) (Result, error) {
	deadline := time.Now().Add(opts.Timeout)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var res Result
	for {
		raw, err := chromedp.Run(tab, chromedp.Evaluate[string]("hlsflowState()"))
		if err != nil {
			return res, fmt.Errorf("read player state: %w", err)
		}
		res = Result{}
		if err := json.Unmarshal([]byte(raw), &res); err != nil {
			return res, fmt.Errorf("decode player state: %w", err)
		}
		switch {
		case res.Advanced() >= opts.MinTime && !res.Fatal && opts.Sample > 0:
			return sample(tab, opts.Sample)
		case res.Advanced() >= opts.MinTime && !res.Fatal:
			return res, nil
		case res.Fatal:
			return res, fmt.Errorf("%w at %.2fs: %s", ErrFatal, res.CurrentTime, describe(res.FatalErrors()))
		case res.Ended:
			return res, fmt.Errorf("%w: advanced %.2fs, wanted %.2fs", ErrEnded, res.Advanced(), opts.MinTime)
		case time.Now().After(deadline):
			return res, fmt.Errorf("%w: advanced %.2fs (at %.2fs) in %s, wanted %.2fs; errors: %s",
				ErrTimeout, res.Advanced(), res.CurrentTime, opts.Timeout, opts.MinTime, describe(res.Errors))
		}
		<-tick.C
	}
}

// sample reads the player's state every second for d, collecting the
// latency; a fatal error ends it.
func sample(tab context.Context, d time.Duration) (Result, error) {
	var (
		res       Result
		latencies []float64
	)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
		raw, err := chromedp.Run(tab, chromedp.Evaluate[string]("hlsflowState()"))
		if err != nil {
			return res, fmt.Errorf("read player state: %w", err)
		}
		res = Result{}
		if err := json.Unmarshal([]byte(raw), &res); err != nil {
			return res, fmt.Errorf("decode player state: %w", err)
		}
		if res.Fatal {
			return res, fmt.Errorf("%w at %.2fs: %s", ErrFatal, res.CurrentTime, describe(res.FatalErrors()))
		}
		if res.Latency >= 0 {
			latencies = append(latencies, res.Latency)
		}
	}
	res.Latencies = latencies
	return res, nil
}

func describe(errs []HLSError) string {
	if len(errs) == 0 {
		return "none"
	}
	var parts []string
	for i, e := range errs {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(errs)-i))
			break
		}
		s := e.Type + "/" + e.Details
		if e.Code != 0 {
			s += fmt.Sprintf(" (HTTP %d)", e.Code)
		}
		if e.URL != "" {
			s += " " + e.URL
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// servePage serves the test page and hls.js on a loopback port of its own,
// so the player's origin differs from the edge's and CORS is exercised.
func servePage(hlsJS string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen for test page: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(pageHTML)
	})
	mux.HandleFunc("GET /hls.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		http.ServeFile(w, r, hlsJS)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	stop := func() {
		srv.Close()
		<-done
	}
	return "http://" + ln.Addr().String() + "/", stop, nil
}

// consoleLog keeps the page's console errors and uncaught exceptions.
type consoleLog struct {
	mu  sync.Mutex
	buf []string
}

func (c *consoleLog) add(ev any) {
	var line string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeWarning {
			return
		}
		var args []string
		for _, a := range ev.Args {
			if a.Value != nil {
				args = append(args, string(a.Value))
			} else {
				args = append(args, a.Description)
			}
		}
		line = string(ev.Type) + ": " + strings.Join(args, " ")
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		if d == nil {
			return
		}
		line = "exception: " + d.Text
		if d.Exception != nil {
			line += " " + d.Exception.Description
		}
	default:
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.buf) < 100 {
		c.buf = append(c.buf, line)
	}
}

func (c *consoleLog) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.buf...)
}

// userDataDir returns a fresh Chromium profile directory inside t.TempDir.
// Chromium's helpers may still write there briefly after it exits, so it is
// removed with retries before t.TempDir's own cleanup runs.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// saveArtifacts writes a screenshot and the player state of a failed Play
// and returns the screenshot's path ("" if it could not be taken).
func saveArtifacts(t testing.TB, tab context.Context, dir string, res any) string {
	t.Helper()
	if dir == "" {
		dir = os.Getenv("HLSFLOW_ARTIFACTS")
	}
	var err error
	if dir == "" {
		dir, err = os.MkdirTemp("", "hlsflow-artifacts-")
	} else {
		dir = filepath.Join(dir, unsafeName.ReplaceAllString(t.Name(), "_"))
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		t.Logf("browsertest: no artefacts dir: %v", err)
		return ""
	}
	stamp := time.Now().Format("150405.000")
	state, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "play-"+stamp+".json"), state, 0o644); err != nil {
		t.Logf("browsertest: save state: %v", err)
	}
	sctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("browsertest: screenshot: %v", err)
		return ""
	}
	path := filepath.Join(dir, "play-"+stamp+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("browsertest: save screenshot: %v", err)
		return ""
	}
	t.Logf("browsertest: playback failed; screenshot and state in %s", dir)
	return path
}

// startDir is the working directory at start, before anything (an embedded
// S3 server, say) changes it.
var startDir, _ = os.Getwd()

// HLSJSPath finds hls.js in web/node_modules of the repository (or of
// $HLSFLOW_WEB_DIR), else the copy the page vendors in web/static/vendor.
func HLSJSPath() (string, error) {
	web, err := webDir()
	if err != nil {
		return "", fmt.Errorf("find hls.js: %w", err)
	}
	p := filepath.Join(web, "node_modules", "hls.js", "dist", "hls.min.js")
	_, err = os.Stat(p)
	if err == nil {
		return p, nil
	}
	// The page's committed copy, pinned to the same version (the web
	// package's tests check that), keeps a fresh clone testable.
	if vendored := filepath.Join(web, "static", "vendor", "hls.min.js"); fileExists(vendored) {
		return vendored, nil
	}
	return "", fmt.Errorf("find hls.js (run make setup-web): %w", err)
}

// webDir is $HLSFLOW_WEB_DIR, else the repository's web/, where
// package.json pins the players and npm ci installs them.
func webDir() (string, error) {
	if web := os.Getenv("HLSFLOW_WEB_DIR"); web != "" {
		return web, nil
	}
	for dir := startDir; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "web"), nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod above %s", startDir)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ChromiumPath returns $HLSFLOW_CHROMIUM, or chromium from PATH.
func ChromiumPath() (string, error) {
	if p := os.Getenv("HLSFLOW_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("find chromium: not on PATH (run make setup-web)")
}
