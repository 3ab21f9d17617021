package ingest

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/restream"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestRestream: an RTMP publish is forwarded, as it arrives, to the
// stream's destinations: nginx-rtmp receives and plays it back, while a
// destination that refuses is shown failing and the stream's own HLS
// goes on.
func TestRestream(t *testing.T) {
	ng := testenv.StartNginx(t, "")
	e := newEnv(t, func(c *Config) { c.RestreamAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	ctx := context.Background()
	if err := restream.Save(ctx, e.s3, testenv.BucketMedia, "show", []restream.Destination{
		{URL: ng.URL(), Key: "relay-key-0001"},
		{URL: "rtmp://127.0.0.1:1/live", Key: "refused-key-01"},
	}); err != nil {
		t.Fatal(err)
	}
	pub := e.publishRTMP(e.key("show"), 30)
	var states []restream.Status
	e.waitFor("restream live", 30*time.Second, func() bool {
		for _, s := range e.svc.Streams() {
			if s.Name == "show" {
				states = s.Restream
			}
		}
		return len(states) == 2 && states[0].State == restream.StateLive && states[1].State == restream.StateFailing
	})
	codecs, dur, err := ng.Pull("relay-key-0001", 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(codecs, "h264") || !slices.Contains(codecs, "aac") || dur < 2 {
		t.Fatalf("nginx plays back %v, %.1fs", codecs, dur)
	}
	e.waitFor("live master", 30*time.Second, func() bool { return e.get("live/show/master.m3u8") != "" })
	// The ingest reports the states where the API reads them, keys masked.
	e.waitFor("reported states", 15*time.Second, func() bool {
		got, err := restream.LoadStates(ctx, e.s3, testenv.BucketMedia, "show")
		return err == nil && len(got) == 2 && got[0].State == restream.StateLive && got[0].Key == restream.MaskKey("relay-key-0001")
	})
	_ = pub.Process.Kill()
	_ = pub.Wait()
	e.waitRecording("show")
	got, err := restream.LoadStates(ctx, e.s3, testenv.BucketMedia, "show")
	if err != nil || len(got) != 2 || got[0].State != restream.StateStopped {
		t.Errorf("states after the end: %+v %v", got, err)
	}
}
