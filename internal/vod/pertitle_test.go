package vod

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// recorder passes requests on to the test's chunk encoder and keeps them.
type recorder struct {
	next ChunkEncoder
	mu   sync.Mutex
	reqs []chunk.Request
}

func (r *recorder) EncodeChunk(ctx context.Context, req chunk.Request) (*chunk.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	return r.next.EncodeChunk(ctx, req)
}

// TestPerTitleSameDecisionsChunkedAndSingle transcodes one source with a
// per-title ladder twice, fanned out in chunks and with one ffmpeg, and
// checks that both made the same decisions: the plans in status.json, the
// ladder in every chunk's work order, and what x264 says it did (the
// options it writes into the stream) in every chunk's first segment of
// every rung. A worker planning on its own would differ from the job's
// plan in the work order or in the streams.
func TestPerTitleSameDecisionsChunkedAndSingle(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes")
	}
	setup(t)
	rec := &recorder{next: chunks}
	chunked, err := New(Config{MediaBucket: "media", UploadsBucket: "uploads", ChunkSeconds: 8, Parallelism: 2,
		RetryWait: 10 * time.Millisecond, Preset: "superfast", PerTitle: true}, Deps{Store: st, Chunks: rec, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	single, err := New(Config{MediaBucket: "media", UploadsBucket: "uploads", Preset: "superfast", PerTitle: true},
		Deps{Store: st, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	// A real camera clip of a still scene: per-title gives it capped CRF.
	clip := testenv.Media(t, "11_bottles_640x360_noaudio.mp4")
	run := func(h *Pipeline, key string) *catalog.Status {
		uploadFile(t, st, key, clip)
		if err := h.Handle(context.Background(), s3Event(t, "ObjectCreated:Put", "uploads", key)); err != nil {
			t.Fatal(err)
		}
		return readStatus(t, st, catalog.VideoID(key))
	}
	a := run(chunked, "pertitle-chunked.mp4")
	b := run(single, "pertitle-single.mp4")
	for _, s := range []*catalog.Status{a, b} {
		if s.State != catalog.StateReady || s.Ladder == nil || s.Ladder.Version != media.PlanVersion || len(s.Ladder.Rungs) == 0 {
			t.Fatalf("%s: state %s (%s), plan %+v: want ready with a plan", s.ID, s.State, s.Error, s.Ladder)
		}
	}
	if !reflect.DeepEqual(decisions(a.Ladder), decisions(b.Ladder)) {
		t.Errorf("chunked decided %v, single %v", decisions(a.Ladder), decisions(b.Ladder))
	}
	t.Logf("plan: %v", decisions(a.Ladder))
	if len(rec.reqs) < 3 {
		t.Fatalf("%d chunk requests: the source was not fanned out", len(rec.reqs))
	}
	want := keptCRFs(a.Ladder)
	crf := false
	for _, c := range want {
		crf = crf || c > 0
	}
	if !crf {
		t.Errorf("no rung was given a CRF: %v", decisions(a.Ladder))
	}
	for _, r := range rec.reqs {
		got := map[string]float64{}
		for _, rg := range r.Ladder.Video {
			got[rg.Name] = rg.CRF
		}
		if r.Kind == chunk.KindVideo && !reflect.DeepEqual(got, want) {
			t.Errorf("chunk %d was asked for %v, the plan is %v", r.Chunk.Index, got, want)
		}
	}
	for _, s := range []*catalog.Status{a, b} {
		dir := download(t, st, s.ID)
		if s == a {
			playInBrowser(t, dir)
		}
		for name, crf := range want {
			// Both decode without an error: the chunked one's joins
			// too, although this clip's 29.83 fps frames do not fall on
			// the chunk boundaries (chunk.Span).
			decodeAll(t, filepath.Join(dir, name, media.PlaylistName(s.Source.Revision())))
			for _, enc := range x264Settings(t, filepath.Join(dir, name)) {
				if crf > 0 && (enc["rc"] != "crf" || enc["crf"] != strconv.FormatFloat(crf, 'f', 1, 64)) ||
					crf == 0 && enc["rc"] != "abr" {
					t.Errorf("%s %s: x264 ran with rc=%s crf=%s, the plan says crf %g", s.ID, name, enc["rc"], enc["crf"], crf)
				}
			}
		}
	}
}

// decisions are a plan's modes and CRFs by rung.
func decisions(p *catalog.Plan) []string {
	var d []string
	for _, r := range p.Rungs {
		d = append(d, r.Name+":"+r.Mode+":"+strconv.FormatFloat(r.CRF, 'f', -1, 64))
	}
	return d
}

// keptCRFs are the CRFs of the rungs a plan encodes (0: fixed bitrate).
func keptCRFs(p *catalog.Plan) map[string]float64 {
	m := map[string]float64{}
	for _, r := range p.Rungs {
		if r.Mode != media.ModeDropped {
			m[r.Name] = r.CRF
		}
	}
	return m
}

var x264Info = regexp.MustCompile(`x264 - core [^\x00]*`)

// x264Settings reads the options x264 writes at the start of each encode
// (an SEI) from the segments of a rendition folder: one map per encode.
func x264Settings(t *testing.T, dir string) []map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".ts") {
			continue
		}
		// The elementary stream: in the segment, MPEG-TS packet headers
		// cut the SEI every 184 bytes.
		b, err := exec.Command("ffmpeg", "-v", "error", "-i", filepath.Join(dir, e.Name()), "-map", "0:v:0", "-c", "copy", "-f", "h264", "pipe:1").Output()
		if err != nil {
			t.Fatal(err)
		}
		m := x264Info.Find(b)
		if m == nil {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(string(m)) {
			if k, v, ok := strings.Cut(f, "="); ok {
				kv[k] = v
			}
		}
		out = append(out, kv)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no x264 settings in any segment", dir)
	}
	return out
}

// A complexity pass that fails (here its ffmpeg is refused by a wrapper)
// costs the video nothing: it is made with the fixed ladder, and
// status.json has no plan.
func TestPerTitlePassFailureKeepsFixedLadder(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes")
	}
	h, env := newHandler(t)
	wrapper := filepath.Join(t.TempDir(), "ffmpeg")
	script := "#!/bin/sh\ncase \"$*\" in *ssim=1*) echo 'refused' >&2; exit 1;; esac\nexec " + h.cfg.FFmpeg + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	h.cfg.FFmpeg, h.cfg.PerTitle = wrapper, true
	key := t.Name() + "/flower.mp4"
	uploadFile(t, env.Store, key, testenv.Media(t, "02_flower_960x540_h264_aac.mp4"))
	if err := h.Handle(context.Background(), putEvent(t, key)); err != nil {
		t.Fatal(err)
	}
	s := readStatus(t, env.Store, catalog.VideoID(key))
	if s.State != catalog.StateReady || s.Ladder != nil || len(s.Renditions) < 2 {
		t.Fatalf("state %s (%s), plan %+v, renditions %d: want ready with the fixed ladder and no plan", s.State, s.Error, s.Ladder, len(s.Renditions))
	}
	noChildren(t)
}
