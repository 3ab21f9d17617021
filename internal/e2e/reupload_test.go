package e2e

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestReuploadReplacesVideo uploads a video, plays it through the edge (so
// its master, playlists and segments are cached there), uploads a different
// video under the same key, and checks that once the new one is ready,
// players get the new video within the playlists' max-age: segment names
// change with the upload (segments are cached for a year), no old segment
// or poster is left in the bucket, and every segment served is the new one.
func TestReuploadReplacesVideo(t *testing.T) {
	const key = "e2e/replace me.mp4"
	id := upload(t, testenv.Media(t, "02_flower_960x540_h264_aac.mp4"), key)
	first := waitDone(t, id, 5*time.Minute)
	if first.State != catalog.StateReady {
		t.Fatalf("first upload: state %s, error %q", first.State, first.Error)
	}
	oldMaster, oldSegs := playThroughEdge(t, catalog.MasterKey(id))
	if resp, _ := edgeGet(t, http.MethodGet, first.Poster, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("poster %s: %s", first.Poster, resp.Status)
	}

	upload(t, testenv.Media(t, "07_bbb_vp9_opus.webm"), key)
	second := waitReplaced(t, id, first.Source.ETag, 5*time.Minute)
	if second.State != catalog.StateReady {
		t.Fatalf("second upload: state %s, error %q", second.State, second.Error)
	}
	if second.Poster == first.Poster {
		t.Errorf("poster key %q did not change with the upload", second.Poster)
	}

	// The edge (or CloudFront) may serve the old master until its max-age
	// has passed; no longer.
	resp, _ := edgeGet(t, http.MethodGet, catalog.MasterKey(id), nil)
	maxAge := cacheMaxAge(t, resp.Header.Get("Cache-Control"))
	if maxAge > 60 {
		t.Fatalf("master.m3u8 Cache-Control %q: a replaced video would play stale for %d s", resp.Header.Get("Cache-Control"), maxAge)
	}
	deadline := time.Now().Add(time.Duration(maxAge+5) * time.Second)
	for {
		_, body := edgeGet(t, http.MethodGet, catalog.MasterKey(id), nil)
		if !bytes.Equal(body, oldMaster) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the edge still serves the old master %d s after the new video was ready (max-age %d)", maxAge+5, maxAge)
		}
		time.Sleep(500 * time.Millisecond)
	}

	_, newSegs := playThroughEdge(t, catalog.MasterKey(id))
	for p := range newSegs {
		if oldSegs[p] {
			t.Errorf("segment %s has the same URL in both uploads: caches would serve the old one", p)
		}
	}
	// Everything the first upload made goes from the bucket, once players
	// that got its master just before the switch are served.
	old := []string{first.Poster}
	for k := range oldSegs {
		old = append(old, k)
	}
	waitGone(t, id, old, time.Now())
	// The new ladder is the second video's (320x180: one rung).
	var top int
	m, err := hls.ParseMaster(mustEdge(t, catalog.MasterKey(id)))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range m.Variants {
		top = max(top, v.Height)
	}
	if top != 180 {
		t.Errorf("new master's highest rung is %dp, want the second video's 180p", top)
	}
}

// playThroughEdge fetches a master, its playlists and every segment through
// the edge as a player would, checks each segment against the bucket, and
// returns the master and the set of segment keys.
func playThroughEdge(t *testing.T, masterKey string) ([]byte, map[string]bool) {
	t.Helper()
	master := mustEdge(t, masterKey)
	m, err := hls.ParseMaster(master)
	if err != nil {
		t.Fatalf("parse %s: %v", masterKey, err)
	}
	var lists []string
	for _, v := range m.Variants {
		lists = append(lists, resolve(masterKey, v.URI))
	}
	for _, a := range m.Media {
		lists = append(lists, resolve(masterKey, a.URI))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	segs := map[string]bool{}
	for _, l := range lists {
		p, err := hls.ParseMedia(mustEdge(t, l))
		if err != nil {
			t.Fatalf("parse %s: %v", l, err)
		}
		for _, s := range p.Segments {
			k := resolve(l, s.URI)
			segs[k] = true
			got := mustEdge(t, k)
			want, err := sys.Store().GetBytes(ctx, sys.MediaBucket, k)
			if err != nil {
				t.Fatalf("segment %s listed but not in the bucket: %v", k, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("edge serves %s with other bytes than the bucket holds (%d vs %d bytes)", k, len(got), len(want))
			}
		}
	}
	return master, segs
}

func mustEdge(t *testing.T, p string) []byte {
	t.Helper()
	resp, body := edgeGet(t, http.MethodGet, p, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s through the edge: %s", p, resp.Status)
	}
	return body
}

// waitReplaced waits until status.json describes an upload other than the
// one with ETag old, ready or failed.
func waitReplaced(t *testing.T, id, old string, timeout time.Duration) *catalog.Status {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := waitDone(t, id, time.Until(deadline))
		if st.Source.ETag != old {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("video %s still shows the first upload after %s", id, timeout)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

var maxAgeRE = regexp.MustCompile(`(?:^|[,\s])max-age=(\d+)`)

func cacheMaxAge(t *testing.T, cc string) int {
	t.Helper()
	m := maxAgeRE.FindStringSubmatch(cc)
	if m == nil || strings.Contains(cc, "immutable") {
		t.Fatalf("Cache-Control %q has no max-age, or says immutable", cc)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
