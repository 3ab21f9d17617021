package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"
)

// sender makes the pending deliveries. Deliveries wait in lanes, one per
// endpoint and subject, in the order they were made: only a lane's first
// delivery is attempted, so a later event about a video waits until the
// earlier one is delivered or given up. Lanes of one endpoint share at
// most PerEndpoint attempts at once; other endpoints are not held up.
type sender struct {
	h *Hooks

	mu       sync.Mutex
	lanes    map[string]*lane
	known    map[string]bool // the ids of the deliveries in lanes
	inflight map[string]int  // attempts per endpoint

	wakeC  chan struct{}
	loadC  chan struct{} // Notify: look for stored deliveries now
	cancel context.CancelFunc
	wg     sync.WaitGroup // attempts
	done   chan struct{}  // the loop's end
}

type lane struct {
	items []*item // by id: the order they were made
	busy  bool    // its first item is being attempted
}

type item struct {
	endpoint, id string
	next         time.Time
}

// Start loads the pending deliveries and starts sending them, until
// Close. Emit and Redeliver work without it (another process sends).
func (h *Hooks) Start(ctx context.Context) error {
	s := &sender{h: h, lanes: map[string]*lane{}, known: map[string]bool{},
		inflight: map[string]int{}, wakeC: make(chan struct{}, 1), loadC: make(chan struct{}, 1), done: make(chan struct{})}
	// Deliveries emitted while the pending ones load are added by Emit;
	// the load skips those it finds known.
	if !h.send.CompareAndSwap(nil, s) {
		return errors.New("webhooks: started twice")
	}
	if err := s.load(ctx); err != nil {
		h.send.Store(nil)
		return fmt.Errorf("webhooks: load pending deliveries: %w", err)
	}
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go s.loop(ctx)
	return nil
}

// Close stops the sender: attempts under way are cut off and stay
// pending, to be made again after the next Start.
func (h *Hooks) Close(ctx context.Context) error {
	s := h.send.Load()
	if s == nil || s.cancel == nil {
		return nil
	}
	s.cancel()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// load adds the stored pending deliveries not known yet.
func (s *sender) load(ctx context.Context) error {
	ps, err := s.h.rec.pending(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		s.mu.Lock()
		known := s.known[p[1]]
		s.mu.Unlock()
		if known {
			continue
		}
		d, err := s.h.rec.delivery(ctx, p[0], p[1])
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if d.State == Pending {
			s.add(d)
		}
	}
	return nil
}

func (s *sender) add(d *Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.known[d.ID] {
		return
	}
	s.known[d.ID] = true
	key := d.Endpoint + " " + d.Subject
	l := s.lanes[key]
	if l == nil {
		l = &lane{}
		s.lanes[key] = l
	}
	l.items = append(l.items, &item{endpoint: d.Endpoint, id: d.ID, next: d.Next})
	// A delivery made elsewhere may arrive out of order; the first one is
	// never moved while it is being attempted.
	from := 0
	if l.busy {
		from = 1
	}
	sort.SliceStable(l.items[from:], func(i, j int) bool { return l.items[from+i].id < l.items[from+j].id })
	s.wake()
}

func (s *sender) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.known)
}

func (s *sender) wake() {
	select {
	case s.wakeC <- struct{}{}:
	default:
	}
}

func (s *sender) loop(ctx context.Context) {
	defer close(s.done)
	defer s.wg.Wait()
	poll := time.NewTicker(s.h.cfg.Poll)
	defer poll.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	prune := time.NewTicker(pruneEvery)
	defer prune.Stop()
	for {
		wait := s.dispatch(ctx)
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-s.wakeC:
		case <-timer.C:
		case <-poll.C:
			s.lookFor(ctx)
		case <-s.loadC:
			s.lookFor(ctx)
		case <-prune.C:
			if err := s.h.prune(ctx); err != nil && ctx.Err() == nil {
				s.h.cfg.Log.Warn("webhooks: remove old deliveries", "err", err)
			}
		}
	}
}

// lookFor adds the deliveries another process stored.
func (s *sender) lookFor(ctx context.Context) {
	if err := s.load(ctx); err != nil && ctx.Err() == nil {
		s.h.cfg.Log.Warn("webhooks: look for deliveries", "err", err)
	}
}

// dispatch starts the attempts that are due and returns how long until
// the next one is.
func (s *sender) dispatch(ctx context.Context) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.h.cfg.Now()
	wait := time.Hour
	for _, l := range s.lanes {
		if l.busy || len(l.items) == 0 {
			continue
		}
		it := l.items[0]
		if d := it.next.Sub(now); d > 0 {
			wait = min(wait, d)
			continue
		}
		if s.inflight[it.endpoint] >= s.h.cfg.PerEndpoint {
			continue // an attempt's end wakes the loop
		}
		l.busy = true
		s.inflight[it.endpoint]++
		s.wg.Go(func() { s.attempt(ctx, l, it) })
	}
	return wait
}

func (s *sender) attempt(ctx context.Context, l *lane, it *item) {
	done, next := s.h.attempt(ctx, it.endpoint, it.id)
	s.mu.Lock()
	s.inflight[it.endpoint]--
	l.busy = false
	if done {
		l.items = l.items[1:]
		delete(s.known, it.id)
		if len(l.items) == 0 {
			for k, v := range s.lanes {
				if v == l {
					delete(s.lanes, k)
				}
			}
		}
	} else {
		it.next = next
	}
	s.mu.Unlock()
	s.wake()
}

// attempt makes one attempt of a delivery and records it. It returns
// whether the delivery is finished (delivered, given up, gone) or when to
// try again.
func (h *Hooks) attempt(ctx context.Context, endpoint, id string) (bool, time.Time) {
	log := h.cfg.Log.With("endpoint", endpoint, "delivery", id)
	if ctx.Err() != nil {
		return false, time.Time{} // stopping
	}
	d, err := h.rec.delivery(ctx, endpoint, id)
	if errors.Is(err, ErrNotFound) {
		return true, time.Time{}
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, time.Time{}
		}
		log.Warn("webhooks: read delivery", "err", err)
		return false, h.cfg.Now().Add(h.backoff(1))
	}
	if d.State != Pending {
		return true, time.Time{}
	}
	start := h.cfg.Now()
	a := Attempt{At: start.UTC()}
	e, err := h.rec.endpoint(ctx, endpoint)
	switch {
	case errors.Is(err, ErrNotFound):
		a.Error = "the endpoint was deleted"
		d.State = GivenUp
	case err != nil:
		log.Warn("webhooks: read endpoint", "err", err)
		return false, start.Add(h.backoff(1))
	default:
		a.Status, err = h.post(ctx, e, d.Body, d.Type)
		if ctx.Err() != nil {
			return false, time.Time{} // stopping: still pending, sent again after a restart
		}
		a.Duration = h.cfg.Now().Sub(start).Seconds()
		switch {
		case err != nil:
			a.Error = err.Error()
		case a.Status < 200 || a.Status > 299:
			a.Error = fmt.Sprintf("the endpoint answered %d", a.Status)
		default:
			d.State = Delivered
		}
	}
	d.log(a)
	d.Next = time.Time{}
	if d.State == Pending {
		if start.Sub(d.Created) >= h.cfg.RetryFor {
			d.State = GivenUp
		} else {
			d.Next = start.Add(h.backoff(len(d.Attempts))).UTC()
		}
	}
	if err := h.rec.save(ctx, d); err != nil {
		// The outcome is lost: tried again (at least once, maybe twice).
		log.Warn("webhooks: record attempt", "err", err)
		return false, start.Add(h.backoff(1))
	}
	if d.State == GivenUp {
		log.Warn("webhooks: delivery given up", "type", d.Type, "attempts", len(d.Attempts), "err", a.Error)
	}
	return d.State != Pending, d.Next
}

// post sends body to e, signed, and returns the status it answered. At
// most maxResponse bytes of the answer are read.
func (h *Hooks) post(ctx context.Context, e Endpoint, body []byte, typ string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("bad endpoint URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hlsflow-webhooks/1")
	req.Header.Set("Hlsflow-Event", typ)
	req.Header.Set(SignatureHeader, Sign(e.Secret, h.cfg.Now(), body))
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, attemptError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return resp.StatusCode, fmt.Errorf("the endpoint answered %d: redirects are not followed", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// attemptError says what went wrong without the endpoint's URL (which
// may hold a token).
func attemptError(err error) error {
	var ue interface{ Timeout() bool }
	var op *net.OpError
	switch {
	case errors.Is(err, ErrTarget):
		return errors.New("refused: the endpoint resolves to a non-public address")
	case errors.As(err, &ue) && ue.Timeout():
		return errors.New("timed out")
	case errors.As(err, &op) && op.Err != nil:
		return fmt.Errorf("connection failed: %s %v", op.Op, op.Err) // e.g. "dial connect: connection refused"
	}
	return errors.New("connection failed")
}

// prune removes the records of finished deliveries last written more
// than KeepLog ago, so the log does not grow for ever.
func (h *Hooks) prune(ctx context.Context) error {
	pending, err := h.rec.pending(ctx)
	if err != nil {
		return err
	}
	waiting := map[string]bool{}
	for _, p := range pending {
		waiting[deliveryKey(p[0], p[1])] = true
	}
	objs, err := h.cfg.Store.Objects(ctx, h.cfg.Bucket, Prefix+"deliveries/")
	if err != nil {
		return err
	}
	var old []string
	cut := h.cfg.Now().Add(-h.cfg.KeepLog)
	for _, o := range objs {
		if o.LastModified.Before(cut) && !waiting[o.Key] {
			old = append(old, o.Key)
		}
	}
	return h.cfg.Store.DeleteKeys(ctx, h.cfg.Bucket, old)
}

// backoff is the wait after n failed attempts: Backoff doubled n-1
// times, at most MaxBackoff, drawn in its upper half.
func (h *Hooks) backoff(n int) time.Duration {
	d := h.cfg.Backoff
	for i := 1; i < n && d < h.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, h.cfg.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}
