package vod

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"github.com/hlsflow/hlsflow/internal/browsertest"
	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// offGridSource makes a 22 s source of size (WxH) at 179/6 fps (29.83, the
// bottles clip's rate) with a tone: with 8 s chunks after a 4 s first one,
// the chunk starts at 4 s and 20 s fall between two frames, and the one at
// 12 s on a frame.
func offGridSource(t *testing.T, size string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "offgrid.mp4")
	cmd := exec.Command("ffmpeg", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size="+size+":rate=179/6", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "22", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make source: %v: %s", err, b)
	}
	return out
}

// chunkTap is a ChunkEncoder that passes requests on and keeps the
// responses, or changes them first (alter).
type chunkTap struct {
	next  ChunkEncoder
	alter func(chunk.Request, *chunk.Response)
	mu    sync.Mutex
	got   map[int]*chunk.Response // video chunks by index
}

func (r *chunkTap) EncodeChunk(ctx context.Context, req chunk.Request) (*chunk.Response, error) {
	res, err := r.next.EncodeChunk(ctx, req)
	if err != nil || req.Kind != chunk.KindVideo {
		return res, err
	}
	if r.alter != nil {
		r.alter(req, res)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got = map[int]*chunk.Response{}
	}
	r.got[req.Chunk.Index] = res
	return res, nil
}

// chunkedRun transcodes path through the fan-out (chunks of 8 s after a
// first of 4) in format f, through rec when set.
func chunkedRun(t *testing.T, path, key string, f media.SegmentFormat, rec *chunkTap) *catalog.Status {
	t.Helper()
	h := newTranscoder(t)
	h.cfg.SegmentFormat = f
	if rec != nil {
		rec.next = h.chunks
		h.chunks = rec
	}
	uploadFile(t, st, key, path)
	if err := h.Handle(context.Background(), putEvent(t, key)); err != nil {
		t.Fatal(err)
	}
	return readStatus(t, st, catalog.VideoID(key))
}

// Chunks of a source whose frames do not fall on the chunk boundaries
// join without a repeated or backward DTS (ffmpeg said "non monotonically
// increasing dts" at each join, from a duplicated frame) and without a
// frame more or less than the source has.
func TestChunkedJoinsOffTheFrameGrid(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes")
	}
	src := offGridSource(t, "320x180")
	s := chunkedRun(t, src, "offgrid/ts.mp4", media.TS, nil)
	if s.State != catalog.StateReady {
		t.Fatalf("state %s (%s)", s.State, s.Error)
	}
	if s.Segments != "ts" || s.DASH != "" {
		t.Errorf("status segments %q, dash %q; want ts and none", s.Segments, s.DASH)
	}
	dir := download(t, st, s.ID)
	if _, err := os.Stat(filepath.Join(dir, "manifest.mpd")); err == nil {
		t.Error("an MPEG-TS video has a DASH manifest")
	}
	m := parseMasterFile(t, filepath.Join(dir, "master.m3u8"))
	want := countFrames(t, src)
	for _, v := range m.Variants {
		path := filepath.Join(dir, filepath.FromSlash(v.URI))
		// At -v error, where a repeated DTS shows. (ffmpeg's warning that
		// each chunk's last packet is "corrupt" stays: every chunk's
		// MPEG-TS continuity counters start at 0, which ffmpeg's HLS
		// demuxer, reading the segments as one stream, reports; the
		// packet is decoded, as the frame count shows.)
		decodeAll(t, path)
		if got := countFrames(t, path); got != want {
			t.Errorf("%s: %d frames, the source has %d", v.URI, got, want)
		}
	}
}

// countFrames is the number of video frames ffprobe decodes from path.
func countFrames(t *testing.T, path string) int {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-protocol_whitelist", "file", "-select_streams", "v:0", "-count_frames",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	f := strings.Fields(strings.ReplaceAll(string(out), ",", " "))
	if len(f) == 0 {
		t.Fatalf("ffprobe %s: no frame count", path)
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatalf("ffprobe %s: %q", path, out)
	}
	return n
}

// A chunked CMAF encode joins its chunks under one init segment per rung:
// every chunk returned the same bytes, which is what was published; the
// fragments' decode times (tfdt) continue across the joins; every
// rendition decodes to the end, with every frame, and plays in hls.js
// past the first joins.
func TestChunkedCMAF(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes")
	}
	src := offGridSource(t, "854x480") // two rungs
	tap := &chunkTap{}
	s := chunkedRun(t, src, "offgrid/cmaf.mp4", media.CMAF, tap)
	if s.State != catalog.StateReady {
		t.Fatalf("state %s (%s)", s.State, s.Error)
	}
	if len(tap.got) < 3 {
		t.Fatalf("%d video chunks, want 3", len(tap.got))
	}
	dir := download(t, st, s.ID)
	rev := s.Source.Revision()
	m := parseMasterFile(t, filepath.Join(dir, "master.m3u8"))
	want := countFrames(t, src)
	uris := []string{}
	for _, v := range m.Variants {
		uris = append(uris, v.URI)
	}
	for _, md := range m.Media {
		uris = append(uris, md.URI)
	}
	for _, uri := range uris {
		path := filepath.Join(dir, filepath.FromSlash(uri))
		name := filepath.Dir(filepath.FromSlash(uri))
		p := parseMediaFile(t, path)
		if p.Segments[0].Map == nil || p.Segments[0].Map.URI != media.InitName(rev) {
			t.Fatalf("%s: EXT-X-MAP %+v, want %s", uri, p.Segments[0].Map, media.InitName(rev))
		}
		init, err := os.ReadFile(filepath.Join(dir, name, media.InitName(rev)))
		if err != nil {
			t.Fatal(err)
		}
		if name != media.AudioName {
			for i, res := range tap.got {
				if !bytes.Equal(res.Inits[name], init) {
					t.Errorf("%s: chunk %d's init segment (%d bytes) is not the published one (%d bytes)", name, i, len(res.Inits[name]), len(init))
				}
			}
		}
		var segs []string
		for _, sg := range p.Segments {
			if !strings.HasSuffix(sg.URI, ".m4s") {
				t.Errorf("%s lists %s", uri, sg.URI)
			}
			segs = append(segs, filepath.Join(dir, name, sg.URI))
		}
		checkTFDT(t, uri, segs)
		decodeClean(t, path)
		if name != media.AudioName {
			if got := countFrames(t, path); got != want {
				t.Errorf("%s: %d frames, the source has %d", uri, got, want)
			}
		}
	}
	checkMPD(t, dir, s)
	// Past the first join (4 s) and into the second chunk.
	playPast(t, dir, 6)
}

// checkTFDT reads the fragments of segs in order and checks that each
// one's base media decode time is where the one before ended.
func checkTFDT(t *testing.T, what string, segs []string) {
	t.Helper()
	var next uint64
	var frags int
	for i, path := range segs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var parts fmp4.Parts
		if err := parts.Unmarshal(b); err != nil {
			t.Fatalf("%s segment %d: %v", what, i, err)
		}
		for _, p := range parts {
			for _, tr := range p.Tracks {
				if frags > 0 && tr.BaseTime != next {
					t.Errorf("%s segment %d: tfdt %d, the fragment before ended at %d", what, i, tr.BaseTime, next)
				}
				next = tr.BaseTime
				for _, s := range tr.Samples {
					next += uint64(s.Duration)
				}
				frags++
			}
		}
	}
	if frags == 0 {
		t.Errorf("%s: no fragments", what)
	}
}

// playPast plays a downloaded output's master in hls.js past seconds.
func playPast(t *testing.T, dir string, seconds float64) {
	t.Helper()
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Content-Type", store.ContentType(r.URL.Path))
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	res, err := browsertest.Play(t, srv.URL+"/master.m3u8", browsertest.Options{MinTime: seconds, Artifacts: t.TempDir()})
	if err != nil {
		t.Fatalf("hls.js playback: %v; result %+v", err, res)
	}
	if len(res.Levels) == 0 || len(res.FatalErrors()) > 0 {
		t.Errorf("hls.js saw levels %+v, fatal errors %+v", res.Levels, res.FatalErrors())
	}
	t.Logf("hls.js %s played to %.1f s, levels %v", res.Version, res.CurrentTime, res.Heights())
}

// A chunk whose init segment differs from the others' (forced here: a
// byte of chunk 1's changed on its way back) fails the video with a
// reason, and no playlist ever names a join of the two.
func TestChunkedCMAFRefusesDifferentInit(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes")
	}
	tap := &chunkTap{alter: func(r chunk.Request, res *chunk.Response) {
		if r.Chunk.Index != 1 {
			return
		}
		for name, b := range res.Inits {
			c := bytes.Clone(b)
			c[len(c)-1] ^= 1
			res.Inits[name] = c
		}
	}}
	s := chunkedRun(t, offGridSource(t, "320x180"), "offgrid/mismatch.mp4", media.CMAF, tap)
	if s.State != catalog.StateFailed || !strings.Contains(s.Error, "init segments differ") {
		t.Fatalf("state %s (%q), want failed for differing init segments", s.State, s.Error)
	}
	for _, k := range listKeys(t, st, s.ID) {
		if !strings.HasSuffix(k, ".m3u8") {
			continue
		}
		b, err := st.GetBytes(context.Background(), "media", k)
		if err != nil {
			t.Fatal(err)
		}
		// Chunk 0 may have been published early (EVENT), never chunk 1.
		if bytes.Contains(b, []byte(segmentName(true, s.Source.Revision(), 1))) {
			t.Errorf("%s lists chunk 1's segment after its init was refused:\n%s", k, b)
		}
	}
}

// checkMPD checks the DASH manifest of a downloaded CMAF video: status.json
// names it, it parses, lists every rendition of the master with its
// codecs, its segment template resolves to exactly the files the media
// playlists list (all downloaded, so all in the bucket), and ffmpeg's
// DASH demuxer reads it to the end without an error.
func checkMPD(t *testing.T, dir string, s *catalog.Status) {
	t.Helper()
	if s.Segments != "cmaf" || s.DASH != catalog.DASHKey(s.ID) {
		t.Fatalf("status segments %q, dash %q; want cmaf and %s", s.Segments, s.DASH, catalog.DASHKey(s.ID))
	}
	m := readMPD(t, filepath.Join(dir, "manifest.mpd"))
	master := parseMasterFile(t, filepath.Join(dir, "master.m3u8"))
	want := map[string]string{} // rendition → its codecs
	for _, v := range master.Variants {
		want[filepath.Dir(v.URI)], _, _ = strings.Cut(v.Codecs, ",")
	}
	for _, md := range master.Media {
		want[filepath.Dir(md.URI)] = ""
	}
	got := map[string]bool{}
	for _, set := range m.Sets {
		for _, r := range set.Reps {
			got[r.ID] = true
			if c, ok := want[r.ID]; !ok || (c != "" && c != r.Codecs) {
				t.Errorf("MPD representation %s (codecs %q): the master has %q", r.ID, r.Codecs, c)
			}
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(r.Template.Init))); err != nil {
				t.Errorf("%s: initialization %s: %v", r.ID, r.Template.Init, err)
			}
			var files []string
			n := r.Template.StartNumber
			for _, s := range r.Template.S {
				for range s.R + 1 {
					files = append(files, strings.Replace(r.Template.Media, "$Number%05d$", fmt.Sprintf("%05d", n), 1))
					n++
				}
			}
			p := parseMediaFile(t, filepath.Join(dir, r.ID, media.PlaylistName(s.Source.Revision())))
			if len(files) != len(p.Segments) {
				t.Errorf("%s: %d segments in the MPD, %d in the playlist", r.ID, len(files), len(p.Segments))
				continue
			}
			for i, f := range files {
				if f != r.ID+"/"+p.Segments[i].URI {
					t.Errorf("%s: MPD segment %d is %s, the playlist's %s", r.ID, i, f, p.Segments[i].URI)
				}
				if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f))); err != nil {
					t.Errorf("%s: %v", r.ID, err)
				}
			}
		}
	}
	if m.Type != "static" || len(got) != len(want) {
		t.Errorf("MPD type %q with representations %v; the master has %v", m.Type, got, want)
	}
	decodeClean(t, filepath.Join(dir, "manifest.mpd"))
}

// testMPD is what the tests read of a DASH manifest.
type testMPD struct {
	Type string `xml:"type,attr"`
	Sets []struct {
		ContentType string `xml:"contentType,attr"`
		Reps        []struct {
			ID       string `xml:"id,attr"`
			Codecs   string `xml:"codecs,attr"`
			Width    int    `xml:"width,attr"`
			Template struct {
				Init        string `xml:"initialization,attr"`
				Media       string `xml:"media,attr"`
				StartNumber int    `xml:"startNumber,attr"`
				S           []struct {
					D int64 `xml:"d,attr"`
					R int   `xml:"r,attr"`
				} `xml:"SegmentTimeline>S"`
			} `xml:"SegmentTemplate"`
		} `xml:"Representation"`
	} `xml:"Period>AdaptationSet"`
}

// readMPD reads the DASH manifest at path.
func readMPD(t *testing.T, path string) testMPD {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m testMPD
	if err := xml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	return m
}

// decodeClean decodes every stream of path (a playlist or an MPD) with
// ffmpeg; any warning (a non-monotonic DTS, a corrupt packet) fails.
func decodeClean(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "warning", "-protocol_whitelist", "file", "-i", path, "-map", "0", "-f", "null", "-").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("decode %s: %v %s", path, err, out)
	}
}

// What a chunk encode returns for its init segments is checked before any
// of it is kept: one per rendition for CMAF, bounded, the same bytes from
// every chunk; none for MPEG-TS.
func TestCheckInit(t *testing.T) {
	init := bytes.Repeat([]byte{1}, 700)
	other := bytes.Clone(init)
	other[100] = 2
	video := func(i int) chunk.Request {
		return chunk.Request{Kind: chunk.KindVideo, Chunk: chunk.Chunk{Index: i}}
	}
	newFanout := func(cmaf bool) *fanout {
		return &fanout{job: &job{id: "v"}, cmaf: cmaf, inits: map[string]initSeg{}}
	}
	f := newFanout(true)
	if err := f.checkInit(video(1), "480p", init); err != nil {
		t.Fatalf("first init refused: %v", err)
	}
	if err := f.checkInit(video(0), "480p", bytes.Clone(init)); err != nil {
		t.Errorf("same bytes refused: %v", err)
	}
	err := f.checkInit(video(2), "480p", other)
	if userMessage(err) == "" || !strings.Contains(err.Error(), "chunk 2's 480p init segment") || !strings.Contains(err.Error(), "chunk 1's") {
		t.Errorf("differing init: %v (message %q), want a refusal naming both chunks", err, userMessage(err))
	}
	for name, c := range map[string]struct {
		cmaf bool
		init []byte
	}{
		"none for CMAF":   {true, nil},
		"empty":           {true, []byte{}},
		"too large":       {true, make([]byte, maxInitBytes+1)},
		"one for MPEG-TS": {false, init},
	} {
		if err := newFanout(c.cmaf).checkInit(video(0), "480p", c.init); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := newFanout(false).checkInit(video(0), "480p", nil); err != nil {
		t.Errorf("MPEG-TS without init: %v", err)
	}
}
