package vod

import (
	"context"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
)

// heartbeatEvery is how often, at least, status.json is written while a
// job encodes; one not refreshed for staleAfter is taken for crashed, and a
// re-delivered event starts it again (see process).
const (
	heartbeatEvery = 10 * time.Second
	staleAfter     = 45 * time.Second
)

// tracker owns a job's status while its encode runs: the encoders report
// progress to it and never touch the status. Its goroutine writes
// status.json when the progress changed, at most every `every`, and at
// least every heartbeatEvery. A slow write never stalls an encoder.
type tracker struct {
	progress   chan float64
	master     chan string // the key of a master playable before the job is done
	quit, done chan struct{}
}

// track starts the tracker of j's status; it stops with stop, or when ctx
// ends (the encode is then being stopped, and its error tells why).
func (j *job) track(ctx context.Context, every time.Duration) *tracker {
	t := &tracker{progress: make(chan float64, 1), master: make(chan string, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		tick := time.NewTicker(j.cfg.Poll)
		defer tick.Stop()
		written, changed := time.Now(), false // the job has just written it
		for {
			select {
			case <-t.quit:
				return
			case <-ctx.Done():
				return
			case p := <-t.progress:
				changed = setProgress(j.st, p) || changed
			case key := <-t.master:
				// Written at once: players may start.
				j.st.Playback, changed, written = key, true, time.Time{}
			case <-tick.C:
			}
			if since := time.Since(written); (!changed || since < every) && since < heartbeatEvery {
				continue
			}
			if err := j.save(ctx); err != nil && ctx.Err() == nil {
				j.log.Warn("write status", "err", err)
			}
			written, changed = time.Now(), false
		}
	}()
	return t
}

// report tells the tracker the encode's progress (0 to 0.99). It never
// blocks: a newer value replaces one not yet taken. One goroutine reports.
func (t *tracker) report(p float64) {
	for {
		select {
		case t.progress <- p:
			return
		default:
		}
		select {
		case <-t.progress:
		default:
		}
	}
}

// playable tells the tracker that the master at key plays, before the
// job is done (progressive publishing): status.json says so in Playback
// while the state is still processing. Never for a replacement, whose
// status's Playback is the ready video's. Called once; it never blocks.
func (t *tracker) playable(key string) {
	select {
	case t.master <- key:
	default:
	}
}

// stop ends the tracker; when it returns, the status is the job's again.
func (t *tracker) stop() {
	close(t.quit)
	<-t.done
}

// setProgress records the progress of the work in st: the replacement's
// when there is one (the video's own stays that of what plays), and says
// whether it changed.
func setProgress(st *catalog.Status, p float64) bool {
	at := &st.Progress
	if st.Replacement != nil {
		at = &st.Replacement.Progress
	}
	if *at == p {
		return false
	}
	*at = p
	return true
}
