package restream

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Destination states, as GET /api/streams shows them.
const (
	StateConnecting = "connecting" // ffmpeg started, nothing sent yet
	StateLive       = "live"       // bytes are going out
	StateFailing    = "failing"    // the last attempt failed; waiting to retry
	StateStopped    = "stopped"    // the stream ended
)

// Status is one destination's state; the key is masked.
type Status struct {
	URL          string    `json:"url"`
	Key          string    `json:"key"`
	State        string    `json:"state"`
	LastError    string    `json:"lastError,omitempty"`
	BytesSent    int64     `json:"bytesSent"`
	DroppedBytes int64     `json:"droppedBytes"`
	Attempts     int       `json:"attempts"`
	Since        time.Time `json:"since"`
}

// Config is what a Forwarder needs besides its destinations.
type Config struct {
	FFmpeg string // default "ffmpeg"
	Policy Policy
	// QueueBytes bounds each destination's backlog; past it, new data for
	// that destination is dropped (default 8 MiB, a few seconds of a
	// 1080p feed).
	QueueBytes int
	// StallTimeout: an ffmpeg that sends nothing for this long (a
	// destination that accepts and never answers) is stopped and retried
	// (default 15 s).
	StallTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts, doubled
	// after each failure (defaults 1 s and 60 s).
	MinBackoff, MaxBackoff time.Duration
	// Store, Bucket and Stream, when Store is set, are where the states are
	// reported every ReportEvery (default 5 s) and once at the end.
	Store       *store.Store
	Bucket      string
	Stream      string
	ReportEvery time.Duration
	Log         *slog.Logger
}

// Forwarder forwards one stream to its destinations. Write never blocks.
type Forwarder struct {
	cfg    Config
	dests  []*dest
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool
}

// Start starts forwarding to ds; Close stops it.
func Start(ctx context.Context, cfg Config, ds []Destination) *Forwarder {
	cfg.FFmpeg = cmp.Or(cfg.FFmpeg, "ffmpeg")
	cfg.QueueBytes = cmp.Or(cfg.QueueBytes, 8<<20)
	cfg.StallTimeout = cmp.Or(cfg.StallTimeout, 15*time.Second)
	cfg.MinBackoff = cmp.Or(cfg.MinBackoff, time.Second)
	cfg.MaxBackoff = max(cmp.Or(cfg.MaxBackoff, time.Minute), cfg.MinBackoff)
	cfg.ReportEvery = cmp.Or(cfg.ReportEvery, 5*time.Second)
	cfg.Log = cmp.Or(cfg.Log, slog.Default())
	ctx, cancel := context.WithCancel(ctx)
	f := &Forwarder{cfg: cfg, cancel: cancel}
	for _, d := range ds {
		dd := &dest{d: d}
		dd.st = Status{URL: d.URL, Key: MaskKey(d.Key), State: StateConnecting, Since: time.Now()}
		f.dests = append(f.dests, dd)
		f.wg.Go(func() { f.loop(ctx, dd) })
	}
	if cfg.Store != nil && len(f.dests) > 0 {
		f.wg.Go(func() { f.report(ctx) })
	}
	return f
}

// Write copies b to every destination's queue, or drops it for those
// whose queue is full or that are not connected.
func (f *Forwarder) Write(b []byte) {
	if f == nil || len(b) == 0 || f.closed.Load() {
		return
	}
	for _, d := range f.dests {
		d.offer(b)
	}
}

// Close stops every destination's ffmpeg and reports the final states.
func (f *Forwarder) Close() {
	if f == nil || f.closed.Swap(true) {
		return
	}
	f.cancel()
	f.wg.Wait()
}

// Status returns the destinations' states.
func (f *Forwarder) Status() []Status {
	if f == nil {
		return nil
	}
	out := make([]Status, len(f.dests))
	for i, d := range f.dests {
		out[i] = d.status()
	}
	return out
}

// dest is one destination: the ffmpeg of the current attempt, which
// Write feeds through its bounded stdin queue, and state.
type dest struct {
	d       Destination
	proc    atomic.Pointer[encoder.Process] // nil between attempts
	dropped atomic.Int64                    // by no ffmpeg or by ended attempts

	mu sync.Mutex
	st Status
}

// offer queues b for the current ffmpeg (whose queue drops what is past
// the limit: a lagging destination loses only its own data), or drops it
// when there is none.
func (d *dest) offer(b []byte) {
	if p := d.proc.Load(); p != nil {
		_, _ = p.Write(b)
		return
	}
	d.dropped.Add(int64(len(b)))
}

func (d *dest) status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.st
	s.DroppedBytes = d.dropped.Load()
	if p := d.proc.Load(); p != nil {
		s.DroppedBytes += p.Stats().BytesDropped
	}
	return s
}

// redact masks the key in msg: ffmpeg's errors name the URL it was given.
func (d *dest) redact(msg string) string {
	msg = strings.ReplaceAll(msg, d.d.Target(), d.d.URL+"/"+MaskKey(d.d.Key))
	if len(d.d.Key) >= 4 {
		msg = strings.ReplaceAll(msg, d.d.Key, MaskKey(d.d.Key))
	}
	return msg
}

func (d *dest) set(fn func(*Status)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fn(&d.st)
}

// loop connects, forwards until the attempt fails, waits and tries again,
// until ctx ends.
func (f *Forwarder) loop(ctx context.Context, d *dest) {
	backoff := f.cfg.MinBackoff
	log := f.cfg.Log.With("stream", f.cfg.Stream, "destination", d.d.URL)
	for ctx.Err() == nil {
		d.set(func(s *Status) { s.Attempts++; s.State, s.Since = StateConnecting, time.Now() })
		wasLive, err := f.attempt(ctx, d)
		if ctx.Err() != nil {
			break
		}
		if wasLive {
			backoff = f.cfg.MinBackoff // it worked for a while: a fresh drop
		}
		msg := "destination ended the connection"
		if err != nil {
			msg = d.redact(err.Error())
			msg = msg[:min(len(msg), 300)]
		}
		log.Warn("restream: destination failed; retrying", "err", msg, "in", backoff)
		d.set(func(s *Status) { s.State, s.LastError, s.Since = StateFailing, msg, time.Now() })
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, f.cfg.MaxBackoff)
	}
	d.set(func(s *Status) { s.State, s.Since = StateStopped, time.Now() })
}

// attempt runs one ffmpeg for d until it exits, stalls or ctx ends; it
// reports whether bytes went out.
func (f *Forwarder) attempt(ctx context.Context, d *dest) (wasLive bool, err error) {
	pin, err := f.pin(ctx, d.d, d.status().Attempts)
	if err != nil {
		return false, err
	}
	defer pin.close()
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	// ffmpeg's progress says how much went out; nothing more for
	// StallTimeout (a destination that accepts and never answers, or
	// stops reading) ends the attempt.
	before := d.status().BytesSent
	var sent int64 // only OnProgress touches it
	progressed := make(chan struct{}, 1)
	p, err := encoder.Start(actx, encoder.Options{
		FFmpeg: f.cfg.FFmpeg, Args: encoder.RelayArgs(pin.target, f.cfg.StallTimeout, pin.protocol...),
		Stdin: true, StdinBuffer: f.cfg.QueueBytes,
		Log: f.cfg.Log.With("stream", f.cfg.Stream, "destination", d.d.URL),
		OnProgress: func(pr encoder.Progress) {
			if pr.Bytes <= sent {
				return
			}
			sent = pr.Bytes
			select {
			case progressed <- struct{}{}:
			default:
			}
			d.set(func(s *Status) {
				if s.State != StateLive {
					s.State, s.Since, s.LastError = StateLive, time.Now(), ""
				}
				s.BytesSent = before + pr.Bytes
			})
		},
	})
	if err != nil {
		return false, err
	}
	d.proc.Store(p)
	var stalled atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTimer(f.cfg.StallTimeout)
		defer t.Stop()
		for {
			select {
			case <-actx.Done():
				return
			case <-progressed:
				t.Reset(f.cfg.StallTimeout)
			case <-t.C:
				stalled.Store(true)
				p.Kill()
				return
			}
		}
	})
	werr := p.Wait(context.Background())
	d.proc.Store(nil)
	st := p.Stats()
	d.dropped.Add(st.BytesDropped)
	cancel()
	wg.Wait()
	wasLive = st.Bytes > 0
	switch {
	case ctx.Err() != nil:
		return wasLive, nil
	case stalled.Load():
		return wasLive, fmt.Errorf("destination took nothing for %s", f.cfg.StallTimeout)
	case pin.relayErr() != nil:
		return wasLive, fmt.Errorf("rtmps to %s: %w", pin.addr, pin.relayErr())
	case werr != nil:
		// ffmpeg names the URL it was given: show the destination's, and
		// the address it was reaching.
		msg := strings.ReplaceAll(werr.Error(), pin.target, d.d.Target())
		return wasLive, fmt.Errorf("%s (at %s)", msg, pin.addr)
	}
	return wasLive, nil
}

// report writes the states every ReportEvery and once at the end.
func (f *Forwarder) report(ctx context.Context) {
	t := time.NewTicker(f.cfg.ReportEvery)
	defer t.Stop()
	write := func(ctx context.Context) {
		if err := saveStates(ctx, f.cfg.Store, f.cfg.Bucket, f.cfg.Stream, f.Status()); err != nil {
			f.cfg.Log.Warn("restream: report states", "stream", f.cfg.Stream, "err", err)
		}
	}
	for {
		select {
		case <-t.C:
			write(ctx)
		case <-ctx.Done():
			for _, d := range f.dests { // the loops are ending too
				d.set(func(s *Status) { s.State = StateStopped })
			}
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			write(wctx)
			cancel()
			return
		}
	}
}
