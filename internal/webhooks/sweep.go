package webhooks

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/store"
)

// DefaultSweepAfter is Config.SweepAfter's default: far longer than a
// queued message waits for the sender function, and longer than SQS's
// five-minute deduplication window, so a message sent again by the sweep
// is not dropped as a duplicate of one that never arrived.
const DefaultSweepAfter = 15 * time.Minute

// Sweep queues again the pending deliveries no queue message carries: the
// process that stored one failed to send its message (and could only log
// it), or the message was lost to the dead-letter queue. It is for a
// Hooks with a Queue (on AWS the stack runs it every few minutes in the
// webhooks Lambda); a local sender finds its pending deliveries itself.
//
// A queued message is attempted at its delivery's due time (Next), so a
// delivery whose due time and latest record write (its pending marker's
// time, rewritten by every attempt and by the sweep itself) are both more
// than SweepAfter ago has no message. One exception: a later delivery in
// the same FIFO group waits behind an earlier one; it is left alone while
// another pending delivery of its endpoint and subject is not stale.
// Sweeping twice in a row sends nothing twice: the first rewrites the
// marker, and the message's deduplication id is the delivery's. A
// message sent twice all the same is harmless: the sender makes only
// pending deliveries, and a group's messages one after the other.
//
// It returns how many it queued again.
func (h *Hooks) Sweep(ctx context.Context) (int, error) {
	if h.cfg.Queue == nil {
		return 0, errors.New("webhooks: sweep: no queue")
	}
	marks, err := h.cfg.Store.Objects(ctx, h.cfg.Bucket, Prefix+"pending/")
	if err != nil {
		return 0, fmt.Errorf("webhooks: sweep: %w", err)
	}
	now := h.cfg.Now()
	stale := func(written, due time.Time) bool {
		return now.Sub(written) > h.cfg.SweepAfter && now.Sub(due) > h.cfg.SweepAfter
	}
	// The endpoints with a marker not written for SweepAfter: only their
	// records are read.
	type mark struct {
		endpoint, id string
		written      time.Time
	}
	byEndpoint := map[string][]mark{}
	suspect := map[string]bool{}
	for _, o := range marks {
		ep, id, ok := strings.Cut(strings.TrimPrefix(o.Key, Prefix+"pending/"), "/")
		if !ok || !validID("wh_", ep) || !validID("dlv_", id) {
			continue // not ours
		}
		byEndpoint[ep] = append(byEndpoint[ep], mark{ep, id, o.LastModified})
		if now.Sub(o.LastModified) > h.cfg.SweepAfter {
			suspect[ep] = true
		}
	}
	var errs []error
	queued := 0
	for ep := range suspect {
		// The endpoint's pending deliveries by lane, in the order made.
		type entry struct {
			d       *Delivery
			written time.Time
		}
		lanes := map[string][]entry{}
		for _, m := range byEndpoint[ep] {
			d, err := h.rec.delivery(ctx, m.endpoint, m.id)
			switch {
			case errors.Is(err, ErrNotFound) || err == nil && d.State != Pending:
				// Finished (or removed) as the sweep touched its marker:
				// the marker goes.
				if now.Sub(m.written) > h.cfg.SweepAfter {
					if err := h.cfg.Store.DeleteKeys(ctx, h.cfg.Bucket, []string{pendingKey(m.endpoint, m.id)}); err != nil {
						errs = append(errs, err)
					}
				}
				continue
			case err != nil:
				errs = append(errs, err)
				continue
			}
			lanes[d.Subject] = append(lanes[d.Subject], entry{d, m.written})
		}
		for _, lane := range lanes {
			if !allStale(lane, func(e entry) bool { return stale(e.written, e.d.Next) }) {
				continue // the lane moves: its messages are queued
			}
			sort.Slice(lane, func(i, j int) bool { return lane[i].d.ID < lane[j].d.ID })
			for _, e := range lane {
				if err := h.requeue(ctx, e.d); err != nil {
					errs = append(errs, err)
					continue
				}
				queued++
			}
		}
	}
	if queued > 0 {
		h.cfg.Log.Warn("webhooks: deliveries without a queue message queued again", "deliveries", queued)
	}
	if err := errors.Join(errs...); err != nil {
		return queued, fmt.Errorf("webhooks: sweep: %w", err)
	}
	return queued, nil
}

func allStale[T any](xs []T, stale func(T) bool) bool {
	for _, x := range xs {
		if !stale(x) {
			return false
		}
	}
	return true
}

// requeue marks d as swept now (its pending marker, not its record, which
// the sender may be writing) and sends its message again.
func (h *Hooks) requeue(ctx context.Context, d *Delivery) error {
	if err := h.cfg.Store.PutBytes(ctx, h.cfg.Bucket, pendingKey(d.Endpoint, d.ID), nil, store.Object{}); err != nil {
		return err
	}
	if err := h.cfg.Queue.Send(ctx, d); err != nil {
		return fmt.Errorf("queue delivery %s: %w", d.ID, err)
	}
	return nil
}
