package e2e

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/testenv"
	"github.com/hlsflow/hlsflow/internal/vod"
)

// TestReplacementPlaysThroughout uploads a video, then a longer one under
// the same key (long enough to be encoded in chunks, the path that
// publishes an early master for a first upload), and while the new one is
// processed plays the old one through the edge again and again: the
// master, every playlist and segment it names, all there and all the old
// version's, with status.json still "ready" for it and telling of the
// replacement. Then the new version is ready and plays whole, and the old
// version's files go once the grace is over.
func TestReplacementPlaysThroughout(t *testing.T) {
	const key = "e2e/replaced while watched.mp4"
	id := upload(t, testenv.Media(t, "02_flower_960x540_h264_aac.mp4"), key)
	first := waitDone(t, id, 5*time.Minute)
	if first.State != catalog.StateReady {
		t.Fatalf("first upload: state %s, error %q", first.State, first.Error)
	}
	oldMaster, oldSegs := playThroughEdge(t, catalog.MasterKey(id))
	oldKeys := bucketKeys(t, id)

	upload(t, generatedClip(t, 70, 426, 240), key)
	etag := uploadedETag(t, key)

	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Minute)
	rounds := 0
	var second *catalog.Status
	for second == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the new upload was not ready after 10 min (%d rounds of playing the old one)", rounds)
		}
		st := readStatus(t, id)
		switch {
		case st.Source.ETag == etag && st.State == catalog.StateReady:
			second = st
			continue
		case st.Source.ETag == etag:
			t.Fatalf("while the new upload is processed, status.json says %s for it and nothing plays: %+v", st.State, st)
		case st.State != catalog.StateReady || st.Source != first.Source || st.Playback != first.Playback ||
			st.Poster != first.Poster || !slices.Equal(st.Renditions, first.Renditions):
			t.Fatalf("status.json no longer describes the version that plays: %+v", st)
		case st.Replacement == nil || st.Replacement.Source.ETag != etag:
			time.Sleep(200 * time.Millisecond) // not picked up yet
			continue
		case st.Replacement.State != catalog.StateProcessing:
			t.Fatalf("replacement %+v, want processing", st.Replacement)
		}
		// The bucket's master, not only the edge's cached copy, is the
		// old one: no early master of the new version.
		inBucket, err := sys.Store().GetBytes(ctx, sys.MediaBucket, catalog.MasterKey(id))
		if err != nil {
			t.Fatalf("master while the replacement is processed: %v", err)
		}
		master, segs := playThroughEdge(t, catalog.MasterKey(id))
		if !bytes.Equal(inBucket, oldMaster) || !bytes.Equal(master, oldMaster) || !maps.Equal(segs, oldSegs) {
			if now := readStatus(t, id); now.Source.ETag == etag {
				continue // it switched between the two reads
			}
			t.Fatalf("while the replacement is processed, players get another master than the old one:\nbucket:\n%s\nedge:\n%s", inBucket, master)
		}
		rounds++
	}
	readyAt := time.Now()
	if rounds == 0 {
		t.Fatal("never saw the replacement processing while the old version played")
	}
	t.Logf("played the old version %d times while the new one was processed", rounds)
	if second.Replacement != nil || math.Abs(second.Duration-70) > 1 {
		t.Errorf("ready status of the new version: %+v", second)
	}
	// Right after the switch, a player that got the old master from a
	// cache still finds the old version's files.
	if time.Since(readyAt) < vod.DefaultRetireAfter/2 {
		for k := range oldSegs {
			if _, err := sys.Store().Head(ctx, sys.MediaBucket, k); err != nil {
				t.Errorf("%s of the old version deleted at the switch: %v", k, err)
			}
		}
	}

	newMaster := waitMasterChange(t, id, oldMaster)
	m, err := hls.ParseMaster(newMaster)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Variants) == 0 || m.Variants[0].Height != 240 {
		t.Errorf("new master's variants %+v, want the 240p clip's ladder", m.Variants)
	}
	_, newSegs := playThroughEdge(t, catalog.MasterKey(id))
	for k := range newSegs {
		if oldSegs[k] {
			t.Errorf("segment %s is in both versions", k)
		}
	}
	if d := decodeDuration(t, sys.EdgeURL+"/"+catalog.MasterKey(id)); math.Abs(d-70) > 1 {
		t.Errorf("the new version decodes to %.1f s through the edge, want 70", d)
	}
	waitGone(t, id, oldKeys, readyAt)
	// What is left is the new version's: its files, and the stable
	// index.m3u8 of its renditions only.
	rungs := map[string]bool{}
	for _, v := range m.Variants {
		rungs[path.Dir(v.URI)] = true
	}
	for _, a := range m.Media {
		rungs[path.Dir(a.URI)] = true
	}
	for _, k := range bucketKeys(t, id) {
		rel := strings.TrimPrefix(k, catalog.Prefix(id))
		switch rev := catalog.RevisionOf(k); {
		case rev == second.Source.Revision(), k == catalog.MasterKey(id), k == catalog.StatusKey(id):
		case rev == "" && path.Base(rel) == "index.m3u8" && rungs[path.Dir(rel)]:
		default:
			t.Errorf("%s is left after the replacement", k)
		}
	}
}

// TestFailedReplacementKeepsPlaying: a broken file uploaded over a ready
// video leaves it playing through the edge, status.json ready for it and
// saying why the replacement failed, and nothing of the broken upload in
// the bucket. `hlsflow upload --wait` of the broken file fails at once and
// says the previous version still plays.
func TestFailedReplacementKeepsPlaying(t *testing.T) {
	flower, err := os.ReadFile(testenv.Media(t, "02_flower_960x540_h264_aac.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, key, wantErr string
		data               []byte
		cli                bool
	}{
		{"text renamed mp4", "e2e/replaced by text.mp4", "cannot be made into a video stream", []byte("minutes of the meeting, not a video\n"), true},
		// The moov is at the start: the file claims 5 s and decodes half.
		{"truncated mp4", "e2e/replaced by half.mp4", "damaged or incomplete", flower[:len(flower)/2], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := upload(t, testenv.Media(t, "04_iphone4s_portrait_rot90.mov"), tt.key)
			first := waitDone(t, id, 5*time.Minute)
			if first.State != catalog.StateReady {
				t.Fatalf("first upload: state %s, error %q", first.State, first.Error)
			}
			oldMaster, oldSegs := playThroughEdge(t, catalog.MasterKey(id))
			oldKeys := bucketKeys(t, id)

			broken := writeFile(t, "broken.mp4", tt.data)
			if tt.cli && sys.Local != nil {
				out, errOut, code := hlsflow(t, "upload", broken, "--wait", "--key", tt.key)
				if code == 0 || !strings.Contains(errOut, "previous version still plays") || !strings.Contains(errOut, tt.wantErr) {
					t.Errorf("upload --wait of a broken replacement: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
				}
			} else {
				upload(t, broken, tt.key)
			}
			etag := uploadedETag(t, tt.key)
			st := waitReplacementFailed(t, id, first, etag)
			if !strings.Contains(st.Replacement.Error, tt.wantErr) || st.Replacement.Source.Size != int64(len(tt.data)) {
				t.Errorf("replacement %+v, want failed with %q", st.Replacement, tt.wantErr)
			}
			master, segs := playThroughEdge(t, catalog.MasterKey(id))
			if !bytes.Equal(master, oldMaster) || !maps.Equal(segs, oldSegs) {
				t.Errorf("after the failed replacement the edge serves another master:\n%s", master)
			}
			if got := bucketKeys(t, id); !slices.Equal(got, oldKeys) {
				t.Errorf("the failed replacement changed the bucket:\n got %v\nwant %v", got, oldKeys)
			}
		})
	}
}

// waitReplacementFailed polls status.json until the replacement by the
// upload with etag failed, checking all along that first still plays.
func waitReplacementFailed(t *testing.T, id string, first *catalog.Status, etag string) *catalog.Status {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		st := readStatus(t, id)
		if st.State != catalog.StateReady || st.Source != first.Source || st.Playback != first.Playback {
			t.Fatalf("status.json no longer describes the version that plays: %+v", st)
		}
		if r := st.Replacement; r != nil && r.Source.ETag == etag && r.State == catalog.StateFailed {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed replacement after 5 min; status %+v", st)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func readStatus(t *testing.T, id string) *catalog.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := catalog.Read(ctx, sys.Store(), sys.MediaBucket, id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// uploadedETag is the ETag of the object now at key in the uploads bucket,
// as the transcoder records it.
func uploadedETag(t *testing.T, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := sys.Store().Head(ctx, sys.UploadsBucket, key)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Trim(info.ETag, `"`)
}

func bucketKeys(t *testing.T, id string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	keys, err := sys.Store().List(ctx, sys.MediaBucket, catalog.Prefix(id))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// waitMasterChange waits until the edge serves another master than old,
// within the master's max-age, and returns it.
func waitMasterChange(t *testing.T, id string, old []byte) []byte {
	t.Helper()
	resp, _ := edgeGet(t, "GET", catalog.MasterKey(id), nil)
	maxAge := cacheMaxAge(t, resp.Header.Get("Cache-Control"))
	deadline := time.Now().Add(time.Duration(maxAge+5) * time.Second)
	for {
		body := mustEdge(t, catalog.MasterKey(id))
		if !bytes.Equal(body, old) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("the edge still serves the old master %d s after the new version was ready (max-age %d)", maxAge+5, maxAge)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitGone waits until none of the old version's revisioned files (old
// keys, as listed when it played) is left in the bucket, which the
// transcoder does vod.DefaultRetireAfter after the switch.
func waitGone(t *testing.T, id string, oldKeys []string, readyAt time.Time) {
	t.Helper()
	deadline := readyAt.Add(vod.DefaultRetireAfter + time.Minute)
	for {
		left := map[string]bool{}
		for _, k := range bucketKeys(t, id) {
			left[k] = true
		}
		var still []string
		for _, k := range oldKeys {
			if left[k] && catalog.RevisionOf(k) != "" {
				still = append(still, k)
			}
		}
		if len(still) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s after the new version was ready, the old version's files are still there: %v", time.Since(readyAt).Round(time.Second), still)
		}
		time.Sleep(time.Second)
	}
}

// generatedClip makes an H.264/AAC clip of ffmpeg's test patterns.
func generatedClip(t *testing.T, seconds, w, h int) string {
	t.Helper()
	out := t.TempDir() + "/clip.mp4"
	cmd := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=25", w, h),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", fmt.Sprint(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-c:a", "aac", "-shortest", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make a %d s clip: %v %s", seconds, err, b)
	}
	return out
}
