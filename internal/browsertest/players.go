package browsertest

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hlsflow/hlsflow/web"
)

// Player is a web player that Players drives: its library comes from
// web/node_modules, pinned in web/package.json and package-lock.json
// (make setup-web installs them), never from a CDN.
type Player string

// The players of the matrix.
const (
	HLSJS   Player = "hls.js"
	Shaka   Player = "shaka"
	VideoJS Player = "video.js"
)

// playerFiles are a player's library under web/node_modules and its
// adapter in players/.
var playerFiles = map[Player]struct{ lib, adapter string }{
	HLSJS:   {"hls.js/dist/hls.min.js", "hlsjs.js"},
	Shaka:   {"shaka-player/dist/shaka-player.compiled.js", "shaka.js"},
	VideoJS: {"video.js/dist/video.min.js", "videojs.js"},
}

//go:embed players/*.js
var playerScripts embed.FS

var playerPage = template.Must(template.New("play").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>hlsflow player test: {{.}}</title></head>
<body>
<video id="v" muted playsinline width="640" height="360"></video>
<script src="/p/harness.js"></script>
<script src="/lib/{{.}}"></script>
<script src="/p/{{.}}/adapter.js"></script>
</body>
</html>
`))

// Ending is what a player did with one stream, as PlayToEnd saw it last.
type Ending struct {
	Player        string        `json:"version"` // name and version
	Playing       bool          `json:"playing"`
	StartTime     float64       `json:"startTime"` // currentTime of the first frame
	CurrentTime   float64       `json:"currentTime"`
	Duration      float64       `json:"duration"` // the media element's; 0 until known
	Ended         bool          `json:"ended"`    // the ended event fired
	Fatal         bool          `json:"fatal"`
	Errors        []HLSError    `json:"errors"` // the player's, fatal or not
	DroppedErrors int           `json:"droppedErrors"`
	Codecs        string        `json:"codecs"` // CODECS of the variant playing (last seen)
	Height        int           `json:"height"` // its picture height
	Rate          float64       `json:"rate"`
	Stalls        int           `json:"stalls"`
	Console       []string      `json:"console,omitempty"`
	CSP           []string      `json:"csp,omitempty"` // violation reports of the page's policy
	Wall          time.Duration `json:"wall"`          // from opening the page to the end
}

// AtEnd reports whether playback reached the end: the ended event, or
// currentTime within half a second of the duration.
func (e Ending) AtEnd() bool {
	return e.Ended || (e.Duration > 0 && e.CurrentTime >= e.Duration-0.5)
}

// EndOptions tune one PlayToEnd.
type EndOptions struct {
	// Rate is the playback rate from the first frame on (Chromium
	// allows up to 16); default 1.
	Rate float64
	// Timeout bounds the whole playback; default 2 minutes.
	Timeout time.Duration
	// Artifacts is where a failed playback leaves its screenshot and
	// state (see Options.Artifacts).
	Artifacts string
	// Hide are codec prefixes ("av01") that the page's Media Source
	// Extensions deny before the player loads, as a browser that cannot
	// decode them would.
	Hide []string
}

// Players is one headless Chromium in which PlayToEnd plays streams in
// hls.js, Shaka Player or video.js, each in a tab of its own, from a page
// on an origin of its own (so the edge's CORS is exercised) under the
// Content-Security-Policy of hlsflow's page (web.ContentSecurityPolicy):
// a violation fails the playback. PlayToEnd may be called from several
// goroutines at once.
type Players struct {
	browser context.Context
	url     string
	libs    map[Player]string

	mu      sync.Mutex
	next    int
	reports map[int][]string // CSP reports by page
}

// NewPlayers starts Chromium and the page's server; both stop when the
// test ends. It fails when a player's library is not installed (run make
// setup-web).
func NewPlayers(t testing.TB) (*Players, error) {
	p := &Players{libs: map[Player]string{}, reports: map[int][]string{}}
	var err error
	for name := range playerFiles {
		if p.libs[name], err = libraryPath(name); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the player page: %w", err)
	}
	srv := &http.Server{Handler: p.handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	p.url = "http://" + ln.Addr().String()
	// Tabs other than the focused one must not be throttled: several
	// play at once.
	tab, stop, err := Launch(t, 800, 600,
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true))
	if err != nil {
		srv.Close()
		<-done
		return nil, err
	}
	t.Cleanup(func() {
		stop()
		srv.Close()
		<-done
	})
	if err := chromedp.Do(tab); err != nil { // starts the browser
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	p.browser = tab
	return p, nil
}

func (p *Players) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /play/{n}", func(w http.ResponseWriter, r *http.Request) {
		player := Player(r.URL.Query().Get("player"))
		if _, ok := playerFiles[player]; !ok {
			http.Error(w, "no such player", http.StatusNotFound)
			return
		}
		src, err := url.Parse(r.URL.Query().Get("src"))
		if err != nil || src.Host == "" {
			http.Error(w, "src must be an absolute URL", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Security-Policy", web.ContentSecurityPolicy(src.Scheme+"://"+src.Host)+"; report-uri /csp-report/"+r.PathValue("n"))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = playerPage.Execute(w, player)
	})
	mux.HandleFunc("GET /p/harness.js", func(w http.ResponseWriter, r *http.Request) {
		p.script(w, "harness.js")
	})
	mux.HandleFunc("GET /p/{player}/adapter.js", func(w http.ResponseWriter, r *http.Request) {
		f, ok := playerFiles[Player(r.PathValue("player"))]
		if !ok {
			http.NotFound(w, r)
			return
		}
		p.script(w, f.adapter)
	})
	mux.HandleFunc("GET /lib/{player}", func(w http.ResponseWriter, r *http.Request) {
		lib, ok := p.libs[Player(r.PathValue("player"))]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		http.ServeFile(w, r, lib)
	})
	mux.HandleFunc("POST /csp-report/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		b, _ := io.ReadAll(io.LimitReader(r.Body, 16<<10))
		p.mu.Lock()
		if len(p.reports[n]) < 20 {
			p.reports[n] = append(p.reports[n], string(b))
		}
		p.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func (p *Players) script(w http.ResponseWriter, name string) {
	b, err := playerScripts.ReadFile("players/" + name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_, _ = w.Write(b)
}

// Errors PlayToEnd returns besides ErrFatal and ErrTimeout.
var ErrCSP = errors.New("the player page broke its Content-Security-Policy")

// PlayToEnd plays src (a master playlist, or a DASH manifest for a
// player that plays DASH) muted in player, in a new tab, at opts.Rate
// from the first frame, until it reaches the end (Ending.AtEnd), a fatal
// error or opts.Timeout. The error is nil only when playback started at
// the beginning and reached the end with no fatal error and no CSP
// violation; on failure a screenshot and the state are saved.
func (p *Players) PlayToEnd(t testing.TB, player Player, src string, opts EndOptions) (Ending, error) {
	t.Helper()
	if opts.Rate <= 0 {
		opts.Rate = 1
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	p.mu.Lock()
	p.next++
	n := p.next
	p.mu.Unlock()
	tab, closeTab := chromedp.NewContext(p.browser)
	defer closeTab()
	var console consoleLog
	if err := chromedp.Listen(tab, console.add); err != nil {
		return Ending{}, fmt.Errorf("open a tab: %w", err)
	}
	q := url.Values{"player": {string(player)}, "src": {src}, "rate": {strconv.FormatFloat(opts.Rate, 'f', -1, 64)}, "hide": opts.Hide}
	start := time.Now()
	if err := chromedp.Do(tab, chromedp.Navigate(fmt.Sprintf("%s/play/%d?%s", p.url, n, q.Encode()))); err != nil {
		return Ending{}, fmt.Errorf("open the %s page: %w", player, err)
	}
	end, err := p.wait(tab, n, opts)
	end.Wall = time.Since(start)
	end.Console = console.lines()
	if err != nil {
		saveArtifacts(t, tab, opts.Artifacts, end)
	}
	return end, err
}

// endedGrace is how long wait waits for the ended event once currentTime
// is within half a second of the duration.
const endedGrace = 2 * time.Second

func (p *Players) wait(tab context.Context, n int, opts EndOptions) (Ending, error) {
	deadline := time.Now().Add(opts.Timeout)
	var atEnd time.Time // when currentTime first reached the end
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		raw, err := chromedp.Run(tab, chromedp.Evaluate[string]("hlsflowState()"))
		if err != nil {
			return Ending{}, fmt.Errorf("read player state: %w", err)
		}
		var e Ending
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return e, fmt.Errorf("decode player state: %w", err)
		}
		p.mu.Lock()
		e.CSP = p.reports[n]
		p.mu.Unlock()
		switch {
		case len(e.CSP) > 0:
			return e, fmt.Errorf("%w: %s", ErrCSP, strings.Join(e.CSP, "; "))
		case e.Fatal:
			// A load the policy blocked fails the player before the
			// browser has sent its report: give the report a moment.
			time.Sleep(time.Second)
			p.mu.Lock()
			e.CSP = p.reports[n]
			p.mu.Unlock()
			if len(e.CSP) > 0 {
				return e, fmt.Errorf("%w: %s", ErrCSP, strings.Join(e.CSP, "; "))
			}
			return e, fmt.Errorf("%w at %.2fs: %s", ErrFatal, e.CurrentTime, describe(e.Errors))
		case e.AtEnd() && e.Playing && e.StartTime < 0.5:
			if atEnd.IsZero() {
				atEnd = time.Now()
			}
			if e.Ended || time.Since(atEnd) > endedGrace {
				return e, nil
			}
		case e.AtEnd():
			return e, fmt.Errorf("at the end (%.2fs of %.2fs) without playing from the start (first frame at %.2fs, playing %v)", e.CurrentTime, e.Duration, e.StartTime, e.Playing)
		case time.Now().After(deadline):
			return e, fmt.Errorf("%w: at %.2fs of %.2fs after %s; errors: %s", ErrTimeout, e.CurrentTime, e.Duration, opts.Timeout, describe(e.Errors))
		}
		<-tick.C
	}
}

// libraryPath is where a player's library is read from: web/node_modules
// (for hls.js, the same copy Play uses).
func libraryPath(player Player) (string, error) {
	if player == HLSJS {
		return HLSJSPath()
	}
	dir, err := webDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "node_modules", filepath.FromSlash(playerFiles[player].lib))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is not installed (run make setup-web): %w", player, err)
	}
	return p, nil
}
