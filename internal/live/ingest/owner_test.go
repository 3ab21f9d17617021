package ingest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/live/feed"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestOwnerUnderConcurrency drives the service as its listeners do, from
// many goroutines at once: publishers race for the same names and for
// different ones, each claiming, starting a real ffmpeg, writing, leaving
// and coming back within a short reconnect grace or after it, some
// leaving before they start; GET /streams and /healthz are polled all along; and Close
// runs in the middle of it. Never may two publishers hold a name at once;
// every stream that was set up must be finalised exactly once; Close must
// return in time; and no goroutine or ffmpeg may survive the service.
func TestOwnerUnderConcurrency(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.RTMPAddr, c.UDPAddr = "", "" // the test is the listener
		c.Grace = 40 * time.Millisecond
		c.MaxRungs = 1
		c.StatsLog = 50 * time.Millisecond // the owner logs stats while busy
	})
	info := feed.Info{Width: 320, Height: 240, FPS: 25, VideoCodec: "h264"}
	null := make([]byte, 7*188) // MPEG-TS null packets
	for i := 0; i < len(null); i += 188 {
		null[i], null[i+1], null[i+2], null[i+3] = 0x47, 0x1f, 0xff, 0x10
	}
	// Four publishers race for each name but the last, whose one
	// publisher often comes back after the grace.
	const names, runsEach = 4, 3
	racers := [names]int{4, 4, 4, 1}
	var (
		holders        [names]atomic.Int32
		starts, refusd atomic.Int64
		wg             sync.WaitGroup
	)
	for n := range names {
		name := fmt.Sprintf("race%d", n)
		for i := range racers[n] {
			wg.Go(func() {
				for runs := 0; runs < runsEach; {
					f, err := e.svc.Claim(name, fmt.Sprintf("racer-%d", i))
					switch {
					case errors.Is(err, feed.ErrClosed):
						return
					case errors.Is(err, feed.ErrBusy):
						refusd.Add(1)
						time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
						continue
					case err != nil:
						t.Errorf("claim %s: %v", name, err)
						return
					}
					if h := holders[n].Add(1); h != 1 {
						t.Errorf("%d publishers hold %s at once", h, name)
					}
					_, _ = f.Write(null)  // before Start: dropped
					if rand.IntN(4) > 0 { // the others leave before starting
						if err := f.Start(info); err != nil {
							t.Errorf("start %s: %v", name, err)
						} else {
							starts.Add(1)
						}
						_, _ = f.Write(null)
						time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
						_, _ = f.Write(null)
					}
					holders[n].Add(-1)
					f.End(nil)
					runs++
					// Back within the grace, or after it: a new stream.
					time.Sleep(time.Duration(rand.IntN(80)) * time.Millisecond)
				}
			})
		}
	}
	stopPolls := make(chan struct{})
	var polls sync.WaitGroup
	polls.Go(func() {
		for {
			select {
			case <-stopPolls:
				return
			default:
			}
			for _, path := range []string{"/streams", "/healthz"} {
				if res, err := http.Get("http://" + e.svc.HTTPAddr() + path); err == nil {
					res.Body.Close()
				}
			}
			for _, st := range e.svc.Streams() {
				if st.Runs < 1 || !strings.HasPrefix(st.Name, "race") {
					t.Errorf("stream state %+v", st)
				}
			}
		}
	})

	// Close in the thick of it.
	e.waitFor("publishers to get going", 30*time.Second, func() bool { return starts.Load() >= 2*names })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	closing := time.Now()
	if err := e.svc.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if took := time.Since(closing); took > 21*time.Second {
		t.Errorf("Close took %v", took)
	}
	wg.Wait()
	close(stopPolls)
	polls.Wait()

	if _, err := e.svc.Claim("race0", "late"); !errors.Is(err, feed.ErrClosed) {
		t.Errorf("claim after Close: %v, want ErrClosed", err)
	}
	if st := e.svc.Streams(); len(st) != 0 {
		t.Errorf("streams after Close: %+v", st)
	}
	if err := e.svc.Close(context.Background()); err == nil {
		t.Error("a second Close succeeded")
	}

	// Each stream set up by its first run is finalised once: a second
	// Finish would fail ("already finished") and be logged as a failure.
	log := e.log.String()
	setups := len(regexp.MustCompile(`msg="live: transcoding" stream=race\d run=1 `).FindAllString(log, -1))
	finals := strings.Count(log, `msg="live: stream ended; recording ready" stream=race`)
	if setups == 0 || finals != setups || strings.Contains(log, "finalising recording failed") {
		t.Errorf("%d streams set up, %d finalised (want as many), failures logged: %v", setups, finals,
			strings.Contains(log, "finalising recording failed"))
	}
	keys, err := e.s3.List(context.Background(), testenv.BucketMedia, "vod/race")
	if err != nil {
		t.Fatal(err)
	}
	recordings := 0
	for _, k := range keys {
		if !strings.HasSuffix(k, "/status.json") {
			continue
		}
		recordings++
		id := strings.TrimSuffix(strings.TrimPrefix(k, "vod/"), "/status.json")
		if st, err := catalog.Read(context.Background(), e.s3, testenv.BucketMedia, id); err != nil ||
			st.State == catalog.StateProcessing {
			t.Errorf("recording %s left unfinished: %+v, %v", id, st, err)
		}
	}
	if recordings == 0 {
		t.Error("no recording")
	}
	t.Logf("%d starts, %d refused claims, %d streams, %d recordings", starts.Load(), refusd.Load(), setups, recordings)
	e.checkClean()
}
