package llhls

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/hls"
)

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func newOrigin(t *testing.T, cfg Config) (*Origin, *httptest.Server) {
	t.Helper()
	if cfg.Renditions == nil {
		cfg.Renditions = []string{"480p", "240p"}
	}
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	return o, srv
}

// feed adds n complete segments of parts parts each to every rendition,
// then partial parts of the next.
func feed(o *Origin, n, parts, partial int) {
	for r := range o.rends {
		o.Init(r, []byte("init"))
		for s := range n {
			for p := range parts {
				o.AddPart(r, Part{Duration: 500 * time.Millisecond, Independent: p == 0, Data: fmt.Appendf(nil, "%d/%d/%d", r, s, p)})
			}
			o.AddSegment(r, Segment{URI: fmt.Sprintf("seg_%05d.m4s", s), Duration: time.Duration(parts) * 500 * time.Millisecond,
				PDT: t0.Add(time.Duration(s*parts) * 500 * time.Millisecond)})
		}
		for p := range partial {
			o.AddPart(r, Part{Duration: 500 * time.Millisecond, Independent: p == 0, Data: fmt.Appendf(nil, "%d/%d/%d", r, n, p)})
		}
	}
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestPlaylist(t *testing.T) {
	o, srv := newOrigin(t, Config{})
	feed(o, 5, 4, 2)
	code, body, h := get(t, srv.URL+"/480p/index.m3u8")
	if code != 200 || h.Get("Content-Type") != "application/vnd.apple.mpegurl" {
		t.Fatalf("%d %s\n%s", code, h.Get("Content-Type"), body)
	}
	for _, want := range []string{
		"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500\n",
		"#EXT-X-PART-INF:PART-TARGET=0.500\n",
		"#EXT-X-MAP:URI=\"init_1.mp4\"\n",
		"#EXT-X-PROGRAM-DATE-TIME:2026-12-07T12:00:00.000Z\n",
		// Parts of the three newest segments, and of the one being made.
		"#EXT-X-PART:DURATION=0.500,URI=\"part_2_0.m4s\",INDEPENDENT=YES\n",
		"#EXT-X-PART:DURATION=0.500,URI=\"part_4_3.m4s\"\n#EXTINF:2.000,\nseg_00004.m4s\n",
		"#EXT-X-PART:DURATION=0.500,URI=\"part_5_1.m4s\"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part_5_2.m4s\"\n",
		"#EXT-X-RENDITION-REPORT:URI=\"../240p/index.m3u8\",LAST-MSN=5,LAST-PART=1\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("playlist lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "part_1_") {
		t.Errorf("parts of an old segment are still listed:\n%s", body)
	}
	// A player without LL-HLS reads the full segments.
	pl, err := hls.ParseMedia([]byte(body))
	if err != nil || len(pl.Segments) != 5 || pl.EndList {
		t.Fatalf("as a plain playlist: %v %+v", err, pl)
	}
	// Parts and the initialization section are served from memory; dropped
	// parts are gone.
	for path, want := range map[string]string{"/480p/part_5_1.m4s": "0/5/1", "/240p/part_3_2.m4s": "1/3/2", "/240p/init_1.mp4": "init"} {
		if code, b, _ := get(t, srv.URL+path); code != 200 || b != want {
			t.Errorf("%s: %d %q, want %q", path, code, b, want)
		}
	}
	if code, _, _ := get(t, srv.URL+"/480p/part_1_0.m4s"); code != 404 {
		t.Errorf("a dropped part: %d", code)
	}
	o.End()
	if _, body, _ := get(t, srv.URL+"/480p/index.m3u8"); !strings.HasSuffix(body, "#EXT-X-ENDLIST\n") || strings.Contains(body, "PRELOAD-HINT") {
		t.Errorf("ended playlist:\n%s", body)
	}
}

// TestBlockingReload: a request for the next part is answered as soon as
// the part is added (well within one part duration), and a request for a
// part that does not come gives up with 503 after three target durations.
func TestBlockingReload(t *testing.T) {
	o, srv := newOrigin(t, Config{PartTarget: 200 * time.Millisecond, Target: time.Second})
	feed(o, 2, 5, 1)
	type answer struct {
		code int
		body string
		at   time.Time
	}
	ask := func(query string) chan answer {
		c := make(chan answer, 1)
		go func() {
			code, body, _ := get(t, srv.URL+"/480p/index.m3u8?"+query)
			c <- answer{code, body, time.Now()}
		}()
		return c
	}
	cases := []struct {
		name, query string
		add         func()
		want        string
	}{
		{"next part", "_HLS_msn=2&_HLS_part=1", func() { o.AddPart(0, Part{Duration: 200 * time.Millisecond}) },
			`URI="part_2_1.m4s"`},
		{"next segment", "_HLS_msn=2", func() { o.AddSegment(0, Segment{URI: "seg_00002.m4s", Duration: 400 * time.Millisecond}) },
			"seg_00002.m4s"},
		// Past the last part of a complete segment is part 0 of the next.
		{"past a segment's last part", "_HLS_msn=2&_HLS_part=7", func() { o.AddPart(0, Part{Duration: 200 * time.Millisecond, Independent: true}) },
			`URI="part_3_0.m4s",INDEPENDENT=YES`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ask(tc.query)
			time.Sleep(300 * time.Millisecond)
			select {
			case a := <-c:
				t.Fatalf("answered before the part came: %d\n%s", a.code, a.body)
			default:
			}
			added := time.Now()
			tc.add()
			a := <-c
			if a.code != 200 || !strings.Contains(a.body, tc.want) {
				t.Fatalf("%d, want 200 with %s:\n%s", a.code, tc.want, a.body)
			}
			if d := a.at.Sub(added); d > 200*time.Millisecond {
				t.Errorf("answered %v after the part came; want within a part duration", d)
			}
		})
	}
	t.Run("gives up", func(t *testing.T) {
		start := time.Now()
		code, _, _ := get(t, srv.URL+"/480p/index.m3u8?_HLS_msn=3&_HLS_part=2")
		if d := time.Since(start); code != 503 || d < 3*time.Second || d > 4*time.Second {
			t.Errorf("%d after %v; want 503 after three target durations (3 s)", code, d)
		}
	})
	t.Run("already there", func(t *testing.T) {
		start := time.Now()
		code, body, h := get(t, srv.URL+"/480p/index.m3u8?_HLS_msn=1&_HLS_part=0")
		if code != 200 || time.Since(start) > 100*time.Millisecond || !strings.Contains(body, "seg_00001.m4s") {
			t.Errorf("%d after %v:\n%s", code, time.Since(start), body)
		}
		if h.Get("Cache-Control") != "public, max-age=6" {
			t.Errorf("a blocking reload's answer is cached %q", h.Get("Cache-Control"))
		}
	})
}

// TestHintedPartIsHeld: the part to come is held until it exists; parts
// further ahead are not found at once.
func TestHintedPartIsHeld(t *testing.T) {
	o, srv := newOrigin(t, Config{})
	feed(o, 1, 4, 1)
	c := make(chan string, 1)
	go func() {
		code, body, _ := get(t, srv.URL+"/480p/part_1_1.m4s")
		c <- fmt.Sprint(code, " ", body)
	}()
	time.Sleep(200 * time.Millisecond)
	o.AddPart(0, Part{Duration: 500 * time.Millisecond, Data: []byte("late")})
	if got := <-c; got != "200 late" {
		t.Errorf("hinted part: %s", got)
	}
	start := time.Now()
	if code, _, _ := get(t, srv.URL+"/480p/part_1_3.m4s"); code != 404 || time.Since(start) > 100*time.Millisecond {
		t.Errorf("a part two ahead: %d after %v; want 404 at once", code, time.Since(start))
	}
}

// TestHostileRequests: malformed or far-ahead requests are refused at
// once and hold nothing.
func TestHostileRequests(t *testing.T) {
	o, srv := newOrigin(t, Config{})
	feed(o, 3, 4, 1) // the newest is part 0 of segment 3
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/480p/index.m3u8?_HLS_part=1", 400},
		{"/480p/index.m3u8?_HLS_msn=6", 400},
		{"/480p/index.m3u8?_HLS_msn=3&_HLS_part=4", 400},
		{"/480p/index.m3u8?_HLS_msn=-1", 400},
		{"/480p/index.m3u8?_HLS_msn=abc", 400},
		{"/480p/index.m3u8?_HLS_msn=99999999999999999999999", 400},
		{"/480p/index.m3u8?_HLS_msn=3&_HLS_part=x", 400},
		{"/480p/index.m3u8?_HLS_skip=maybe", 400},
		{"/1080p/index.m3u8", 404},
		{"/480p/part_x_1.m4s", 404},
		{"/480p/part_1.m4s", 404},
		{"/480p/part_1_-1.m4s", 404},
		{"/480p/../240p/index.m3u8", 404},
		{"/480p/seg_00001.m4s", 404},
		{"/", 404},
	} {
		start := time.Now()
		if code, body, _ := get(t, srv.URL+tc.path); code != tc.code || time.Since(start) > 200*time.Millisecond {
			t.Errorf("%s: %d after %v, want %d at once: %s", tc.path, code, time.Since(start), tc.code, body)
		}
	}
	resp, err := http.Post(srv.URL+"/480p/index.m3u8", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("POST: %d", resp.StatusCode)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.waiters != 0 {
		t.Errorf("%d requests still held", o.waiters)
	}
}

// TestWaitersAreBounded: past MaxWaiters held requests, more are refused
// with 503 at once; the end of the stream answers those held.
func TestWaitersAreBounded(t *testing.T) {
	o, srv := newOrigin(t, Config{MaxWaiters: 4, Target: 10 * time.Second})
	feed(o, 1, 4, 0)
	var wg sync.WaitGroup
	codes := make(chan int, 4)
	for range 4 {
		wg.Go(func() {
			code, _, _ := get(t, srv.URL+"/480p/index.m3u8?_HLS_msn=2")
			codes <- code
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		o.mu.Lock()
		n := o.waiters
		o.mu.Unlock()
		if n == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests held, want 4", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if code, _, _ := get(t, srv.URL+"/480p/index.m3u8?_HLS_msn=2"); code != 503 || time.Since(start) > 200*time.Millisecond {
		t.Errorf("the fifth held request: %d after %v; want 503 at once", code, time.Since(start))
	}
	o.End()
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("a held request got %d at the end of the stream", c)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no renditions":          {},
		"repeated name":          {Renditions: []string{"a", "a"}},
		"part as long as target": {Renditions: []string{"a"}, PartTarget: 2 * time.Second, Target: 2 * time.Second},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestReconnect: a new encoder run's parts are not listed until its first
// segment is complete, which then starts with a discontinuity and the
// run's own initialization section.
func TestReconnect(t *testing.T) {
	o, srv := newOrigin(t, Config{Renditions: []string{"480p"}})
	feed(o, 2, 4, 0)
	o.Discontinuity()
	o.Init(0, []byte("second run"))
	o.AddPart(0, Part{Duration: 500 * time.Millisecond, Independent: true, Data: []byte("p")})
	if _, body, _ := get(t, srv.URL+"/480p/index.m3u8"); strings.Contains(body, "part_2_0") || strings.Contains(body, "init_2") {
		t.Errorf("the new run shows before its first segment is whole:\n%s", body)
	}
	o.AddSegment(0, Segment{URI: "seg_00002.m4s", Duration: 500 * time.Millisecond})
	_, body, _ := get(t, srv.URL+"/480p/index.m3u8")
	if !strings.Contains(body, "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init_2.mp4\"\n") {
		t.Errorf("no discontinuity and new map before the new run:\n%s", body)
	}
	for path, want := range map[string]string{"/480p/init_1.mp4": "init", "/480p/init_2.mp4": "second run"} {
		if code, b, _ := get(t, srv.URL+path); code != 200 || b != want {
			t.Errorf("%s: %d %q", path, code, b)
		}
	}
}
