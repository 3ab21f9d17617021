package vod

import (
	"context"
	"net/http/httptest"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/browsertest"
	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/edge"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
)

// While the third chunk (from 12 s) is still encoding, the first ones are playable: a
// master whose every playlist exists, EVENT playlists without ENDLIST that
// list only segments already in the bucket, and progress in status.json.
// When the last chunk is in, the playlists become VOD with ENDLIST. With
// CMAF, each early playlist's EXT-X-MAP names an init segment already in
// the bucket.
func TestProgressivePublishing(t *testing.T) {
	for _, f := range []media.SegmentFormat{media.TS, media.CMAF} {
		t.Run(string(f), func(t *testing.T) { progressivePublishing(t, f) })
	}
}

func progressivePublishing(t *testing.T, format media.SegmentFormat) {
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free()
	faults.setHold(func(r chunk.Request) <-chan struct{} {
		if r.Kind == chunk.KindVideo && r.Chunk.Index == 2 {
			return release
		}
		return nil
	})
	defer faults.setHold(nil)

	key := "progressive-" + string(format) + ".mp4"
	id := catalog.VideoID(key)
	type outcome struct {
		s   *catalog.Status
		err error
	}
	done := make(chan outcome, 1)
	h := newTranscoder(t)
	h.cfg.SegmentFormat = format
	go func() {
		s, err := runTranscode(h, key)
		done <- outcome{s, err}
	}()

	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if _, err := st.Head(ctx, "media", catalog.MasterKey(id)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			free()
			t.Fatal("no master while the last chunk was held")
		}
		time.Sleep(100 * time.Millisecond)
	}
	data, err := st.GetBytes(ctx, "media", catalog.MasterKey(id))
	if err != nil {
		t.Fatal(err)
	}
	master, err := hls.ParseMaster(data)
	if err != nil {
		t.Fatal(err)
	}
	uris := []string{master.Media[0].URI}
	for _, v := range master.Variants {
		uris = append(uris, v.URI)
	}
	for _, uri := range uris {
		p := getPlaylist(t, catalog.Prefix(id)+uri)
		if p.Type != hls.TypeEvent || p.EndList {
			t.Errorf("%s while encoding: type %q endlist %v, want EVENT without ENDLIST", uri, p.Type, p.EndList)
		}
		if len(p.Segments) == 0 {
			t.Errorf("%s lists no segments", uri)
			continue
		}
		if m := p.Segments[0].Map; format == media.CMAF {
			if m == nil {
				t.Errorf("%s while encoding: no EXT-X-MAP", uri)
			} else if _, err := st.Head(ctx, "media", catalog.Prefix(id)+path.Dir(uri)+"/"+m.URI); err != nil {
				t.Errorf("%s names init segment %s, which is not in the bucket: %v", uri, m.URI, err)
			}
		}
		for _, s := range p.Segments {
			if _, err := st.Head(ctx, "media", catalog.Prefix(id)+path.Dir(uri)+"/"+s.URI); err != nil {
				t.Errorf("%s lists %s, which is not in the bucket: %v", uri, s.URI, err)
			}
		}
		// Audio too: it is chunked like the video, a frame longer at most.
		if p.Duration().Seconds() > 12.03 {
			t.Errorf("%s lists %.1f s while the chunk from 12 s is held", uri, p.Duration().Seconds())
		}
	}
	s := waitPlayback(t, id)
	if s.State != catalog.StateProcessing || s.Progress <= 0 || s.Progress >= 1 || s.Playback != catalog.MasterKey(id) {
		t.Errorf("status while encoding: %s progress %.2f playback %q, want processing between 0 and 1, playable at %s",
			s.State, s.Progress, s.Playback, catalog.MasterKey(id))
	}

	free()
	out := <-done
	if out.err != nil {
		t.Fatal(out.err)
	}
	final := out.s
	if final.State != catalog.StateReady {
		t.Fatalf("state %s (%s), want ready", final.State, final.Error)
	}
	for _, uri := range uris {
		if p := getPlaylist(t, catalog.Prefix(id)+uri); p.Type != hls.TypeVOD || !p.EndList {
			t.Errorf("%s when ready: type %q endlist %v, want VOD with ENDLIST", uri, p.Type, p.EndList)
		}
	}
}

var stallAt = regexp.MustCompile(`(?:@|seeking from )(\d+(?:\.\d+)?)`)

// A browser plays the chunked ladder through the edge across the joins at
// 4 s and 12 s (chunks 0-4, 4-12, 12-20, 20-24) without stalling.
func TestBrowserPlaysAcrossJoins(t *testing.T) {
	if testing.Short() {
		t.Skip("plays 20 s in a browser")
	}
	s := seamlessLadder(t)
	if s.State != catalog.StateReady {
		t.Fatalf("state %s (%s), want ready", s.State, s.Error)
	}
	e, err := edge.New(edge.Config{Store: st, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	res, err := browsertest.Play(t, srv.URL+"/"+s.Playback, browsertest.Options{MinTime: 20, Timeout: 90 * time.Second})
	if err != nil {
		t.Fatalf("play: %v (errors %+v)", err, res.Errors)
	}
	for _, e := range res.Errors {
		if !strings.Contains(e.Details, "Stall") && !strings.Contains(e.Details, "Hole") && !strings.Contains(e.Details, "Nudge") {
			continue
		}
		// At the very start hls.js may stall while Chromium starts decoding
		// on this shared machine, or skip the fraction of a second before
		// the first video frame; what must not happen is a stall or jump
		// later, at a join. hls.js writes the position as "@12.3" (stalls)
		// or "seeking from 12.3" (holes).
		if at := stallAt.FindStringSubmatch(e.Reason); at != nil {
			if pos, _ := strconv.ParseFloat(at[1], 64); pos < 1 {
				t.Logf("start-up %s (not at a join): %s", e.Details, e.Reason)
				continue
			}
		}
		t.Errorf("playback stalled or jumped: %+v", e)
	}
	if res.Advanced() < 20 {
		t.Errorf("playback advanced %.1f s, want 20 (across the joins at 4 and 12 s)", res.Advanced())
	}
}

// waitPlayback reads video id's status until it names a playback (status.json
// follows the master within a write), or for 10 s.
func waitPlayback(t *testing.T, id string) *catalog.Status {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		s, err := catalog.Read(context.Background(), st, "media", id)
		if err != nil {
			t.Fatal(err)
		}
		if s.Playback != "" || time.Now().After(deadline) {
			return s
		}
	}
}

// As soon as the first chunk is in, video and audio, the master plays:
// while every later chunk (from 4 s) is held back, ffmpeg reads the
// master through the edge and decodes the first chunk's picture and
// sound, and status.json says where to play it.
func TestPlayableAfterFirstChunk(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free()
	faults.setHold(func(r chunk.Request) <-chan struct{} {
		if r.Chunk.Index >= 1 {
			return release
		}
		return nil
	})
	defer faults.setHold(nil)

	key := "early.mp4"
	id := catalog.VideoID(key)
	done := make(chan error, 1)
	h := newTranscoder(t)
	go func() {
		_, err := runTranscode(h, key)
		done <- err
	}()
	ctx := context.Background()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if _, err := st.Head(ctx, "media", catalog.MasterKey(id)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			free()
			t.Fatal("no master while the chunks after the first were held")
		}
	}
	if s := waitPlayback(t, id); s.State != catalog.StateProcessing || s.Playback != catalog.MasterKey(id) {
		t.Errorf("status after the first chunk: %s, playback %q; want processing, playable at %s", s.State, s.Playback, catalog.MasterKey(id))
	}
	e, err := edge.New(edge.Config{Store: st, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "early.ts")
	// An EVENT playlist is read as live: from its first segment, and no
	// further than what is listed (-t), or ffmpeg would wait for more.
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(rctx, "ffmpeg", "-v", "error", "-y", "-live_start_index", "0", "-i", srv.URL+"/"+catalog.MasterKey(id),
		"-t", "3.5", "-map", "0:v:0", "-map", "0:a:0", "-c", "copy", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg read of the early master: %v: %s", err, b)
	}
	for _, c := range []struct {
		stream string
		min    float64
	}{{"v", 3.4 * sourceFPS}, {"a", 3.4 * 48000 / 1024}} {
		if n := len(packets(t, out, c.stream, "")); float64(n) < c.min {
			t.Errorf("the early master gave %d %s packets, want %.0f or more (3.5 s)", n, c.stream, c.min)
		}
	}
	free()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := waitPlayback(t, id); s.State != catalog.StateReady {
		t.Errorf("state %s (%s), want ready", s.State, s.Error)
	}
}
