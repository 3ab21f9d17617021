package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hlsflow/hlsflow/internal/store"
)

// Endpoint is a registered receiver. Its secret signs its deliveries and
// is shown once, when it is registered.
type Endpoint struct {
	ID      string    `json:"id"`
	URL     string    `json:"url"`
	Secret  string    `json:"secret,omitempty"`
	Created time.Time `json:"created"`
}

// The states of a delivery.
const (
	Pending   = "pending"
	Delivered = "delivered"
	GivenUp   = "failed" // retried for Config.RetryFor, or its endpoint deleted
)

// Delivery is one event on its way to one endpoint, with its log.
type Delivery struct {
	ID       string          `json:"id"`
	Endpoint string          `json:"endpoint"`
	EventID  string          `json:"eventId"`
	Type     string          `json:"type"`
	Subject  string          `json:"subject"`
	State    string          `json:"state"`
	Created  time.Time       `json:"created"`
	Next     time.Time       `json:"next,omitzero"` // of a pending delivery: its next attempt
	Attempts []Attempt       `json:"attempts"`
	Body     json.RawMessage `json:"body"` // the event, as signed and sent
}

// Attempt is one POST of a delivery.
type Attempt struct {
	At       time.Time `json:"at"`
	Status   int       `json:"status,omitempty"` // the HTTP status answered; 0: none
	Error    string    `json:"error,omitempty"`
	Duration float64   `json:"seconds"`
}

// maxAttemptsLogged bounds a delivery's log; the first attempts and the
// latest are kept.
const maxAttemptsLogged = 50

func (d *Delivery) log(a Attempt) {
	d.Attempts = append(d.Attempts, a)
	if n := len(d.Attempts); n > maxAttemptsLogged {
		d.Attempts = append(d.Attempts[:10], d.Attempts[n-(maxAttemptsLogged-10):]...)
	}
}

func endpointKey(id string) string     { return Prefix + "endpoints/" + id + ".json" }
func deliveryKey(ep, id string) string { return Prefix + "deliveries/" + ep + "/" + id + ".json" }
func pendingKey(ep, id string) string  { return Prefix + "pending/" + ep + "/" + id }
func validID(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) == 0 || len(rest) > 64 {
		return false
	}
	for _, c := range rest {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ErrNotFound is an endpoint or delivery that does not exist.
var ErrNotFound = errors.New("not found")

// records reads and writes the bucket's webhook records.
type records struct {
	store  *store.Store
	bucket string
}

func (r records) putJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return r.store.PutBytes(ctx, r.bucket, key, b, store.Object{ContentType: "application/json"})
}

func (r records) getJSON(ctx context.Context, key string, v any) error {
	b, err := r.store.GetBytes(ctx, r.bucket, key)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	return nil
}

func (r records) endpoints(ctx context.Context) ([]Endpoint, error) {
	keys, err := r.store.List(ctx, r.bucket, Prefix+"endpoints/")
	if err != nil {
		return nil, err
	}
	var out []Endpoint
	for _, k := range keys {
		var e Endpoint
		if err := r.getJSON(ctx, k, &e); errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		} else if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

func (r records) endpoint(ctx context.Context, id string) (Endpoint, error) {
	var e Endpoint
	if !validID("wh_", id) {
		return e, ErrNotFound
	}
	return e, r.getJSON(ctx, endpointKey(id), &e)
}

func (r records) delivery(ctx context.Context, ep, id string) (*Delivery, error) {
	if !validID("wh_", ep) || !validID("dlv_", id) {
		return nil, ErrNotFound
	}
	var d Delivery
	return &d, r.getJSON(ctx, deliveryKey(ep, id), &d)
}

// save writes d and keeps the pending index in step: the marker exists
// while d is pending.
func (r records) save(ctx context.Context, d *Delivery) error {
	if err := r.putJSON(ctx, deliveryKey(d.Endpoint, d.ID), d); err != nil {
		return err
	}
	if d.State == Pending {
		return r.store.PutBytes(ctx, r.bucket, pendingKey(d.Endpoint, d.ID), nil, store.Object{})
	}
	return r.store.DeleteKeys(ctx, r.bucket, []string{pendingKey(d.Endpoint, d.ID)})
}

// pending lists the pending deliveries' (endpoint, id), oldest first.
func (r records) pending(ctx context.Context) ([][2]string, error) {
	keys, err := r.store.List(ctx, r.bucket, Prefix+"pending/")
	if err != nil {
		return nil, err
	}
	out := make([][2]string, 0, len(keys))
	for _, k := range keys {
		ep, id := path.Split(strings.TrimPrefix(k, Prefix+"pending/"))
		out = append(out, [2]string{strings.TrimSuffix(ep, "/"), id})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][1] < out[j][1] })
	return out, nil
}

// clock hands out delivery ids that sort in the order they were made,
// within a process: time first, then a counter.
type clock struct {
	mu   sync.Mutex
	last int64
}

func (c *clock) deliveryID(now time.Time) string {
	c.mu.Lock()
	n := max(now.UnixNano(), c.last+1)
	c.last = n
	c.mu.Unlock()
	return fmt.Sprintf("dlv_%016x%s", n, newID("")[:16])
}
