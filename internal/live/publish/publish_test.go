package publish

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

var rends = []hls.Rendition{
	{Name: "480p", Width: 640, Height: 480, Bandwidth: 1_400_000, Codecs: "avc1.64001e,mp4a.40.2", FrameRate: 30},
	{Name: "360p", Width: 480, Height: 360, Bandwidth: 900_000, Codecs: "avc1.4d401e,mp4a.40.2", FrameRate: 30},
}

// segFile writes a stand-in segment; the publisher treats segments as
// opaque files.
func segFile(t *testing.T, dir string, n int) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("s%d.ts", n))
	if err := os.WriteFile(p, []byte(fmt.Sprintf("segment %d", n)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func get(t *testing.T, s *store.Store, key string) []byte {
	t.Helper()
	b, err := s.GetBytes(context.Background(), testenv.BucketMedia, key)
	if err != nil {
		return nil
	}
	return b
}

func TestPublishWindowOrderAndRecording(t *testing.T) {
	s3 := testenv.S3(t)
	dir := t.TempDir()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	id := RecordingID("desk", start)
	p, err := New(Config{Store: s3.Store, Bucket: testenv.BucketMedia, Stream: "desk", RecordingID: id,
		Ladder: hls.Ladder{Video: rends}, DVRWindow: 5 * time.Second, Started: start})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, err := catalog.Read(context.Background(), s3.Store, testenv.BucketMedia, id); err != nil || st.State != catalog.StateProcessing {
		t.Fatalf("status at start: %+v, %v", st, err)
	}
	const n = 6
	for i := range n {
		if i == 3 {
			p.Discontinuity()
		}
		for r := range rends {
			p.Add(Segment{Rung: r, Path: segFile(t, dir, i*10+r), Duration: 2 * time.Second, Ready: time.Now()})
		}
		// Every playlist seen names only segments already in S3.
		deadline := time.Now().Add(10 * time.Second)
		for {
			pl := get(t, s3.Store, "live/desk/480p/index.m3u8")
			if pl != nil {
				m, err := hls.ParseMedia(pl)
				if err != nil {
					t.Fatal(err)
				}
				for _, sg := range m.Segments {
					key := path.Join("live/desk/480p", sg.URI)
					if _, err := s3.Store.Head(context.Background(), testenv.BucketMedia, key); err != nil {
						t.Fatalf("playlist names %s before it exists: %v", key, err)
					}
				}
				if m.MediaSequence+uint64(len(m.Segments)) == uint64(i+1) {
					if len(m.Segments) > 2 {
						t.Errorf("window of 5 s holds %d segments of 2 s", len(m.Segments))
					}
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("segment %d not published", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := p.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	live, err := hls.ParseMedia(get(t, s3.Store, "live/desk/360p/index.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	if !live.EndList || live.MediaSequence != n-2 || live.DiscontinuitySequence != 1 {
		t.Errorf("final live playlist: endlist %v, sequence %d, discontinuity sequence %d",
			live.EndList, live.MediaSequence, live.DiscontinuitySequence)
	}
	vod, err := hls.ParseMedia(get(t, s3.Store, "vod/"+id+"/360p/index.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	if len(vod.Segments) != n || !vod.EndList || vod.Type != hls.TypeVOD || !vod.Segments[3].Discontinuity {
		t.Errorf("recording playlist: %d segments, endlist %v, type %q", len(vod.Segments), vod.EndList, vod.Type)
	}
	for i, sg := range vod.Segments {
		if got := string(get(t, s3.Store, "vod/"+id+"/360p/"+sg.URI)); got != fmt.Sprintf("segment %d", i*10+1) {
			t.Errorf("segment %d holds %q", i, got)
		}
		if sg.ProgramDateTime.IsZero() {
			t.Errorf("segment %d has no program date time", i)
		}
	}
	if _, err := hls.ParseMaster(get(t, s3.Store, "vod/"+id+"/master.m3u8")); err != nil {
		t.Error(err)
	}
	st, err := catalog.Read(context.Background(), s3.Store, testenv.BucketMedia, id)
	if err != nil || st.State != catalog.StateReady || st.Duration != 12 || len(st.Renditions) != 2 {
		t.Errorf("final status %+v, %v", st, err)
	}
	seg, err := s3.Store.Head(context.Background(), testenv.BucketMedia, "vod/"+id+"/480p/seg_00000.ts")
	if err != nil || seg.CacheControl != store.CacheImmutable || seg.ContentType != "video/mp2t" {
		t.Errorf("segment headers %+v, %v", seg, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("%d local segments left behind", len(left))
	}
}

// TestSlowS3DoesNotBlock points the publisher at a server that accepts
// connections and never answers: Add must stay non-blocking, and the
// bounded queue must overflow with a count rather than grow.
func TestSlowS3DoesNotBlock(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	slow := store.New(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://" + ln.Addr().String()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	dir := t.TempDir()
	p, err := New(Config{Store: slow, Bucket: "media", Stream: "slow", RecordingID: "slow-1", Ladder: hls.Ladder{Video: rends[:1]},
		MaxPending: 3, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Start would block on the status write; the workers are what matter.
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Go(func() { p.work(0) })
	start := time.Now()
	for i := range 20 {
		p.Add(Segment{Rung: 0, Path: segFile(t, dir, i), Duration: 2 * time.Second, Ready: time.Now()})
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Add blocked for %v", d)
	}
	st := p.Stats()
	if st.Overflows < 15 || st.Pending > 3 {
		t.Errorf("stats %+v: want the queue bounded at 3 with overflows counted", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := p.Finish(ctx); err == nil || !strings.Contains(err.Error(), "slow") && !errors.Is(err, context.DeadlineExceeded) {
		t.Logf("finish: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) > 1 {
		t.Errorf("%d local segments left behind", len(left))
	}
}
