package webhooks

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"sync/atomic"
	"time"

	"github.com/hlsflow/hlsflow/internal/store"
)

// Defaults of Config.
const (
	DefaultMaxEndpoints = 10
	DefaultMaxPending   = 10000
	DefaultTimeout      = 10 * time.Second
	DefaultRetryFor     = 25 * time.Hour // "at least a day", with an hour's slack
	DefaultBackoff      = 10 * time.Second
	DefaultMaxBackoff   = time.Hour
	DefaultPerEndpoint  = 4
	DefaultPoll         = 30 * time.Second
	DefaultKeepLog      = 30 * 24 * time.Hour
	pruneEvery          = time.Hour
	// maxResponse bounds what is read of an endpoint's answer (then the
	// connection is dropped).
	maxResponse = 64 << 10
)

// Config configures Hooks. Zero values take the defaults.
type Config struct {
	Store  *store.Store // required
	Bucket string       // the media bucket; required
	// Allow lets endpoints be at these non-public addresses (development,
	// tests); others are refused at registration and on every connection.
	Allow        []netip.Prefix
	MaxEndpoints int // registered endpoints at most
	// MaxPending bounds the deliveries waiting; an event beyond it is
	// dropped with an error (logged): the queue cannot grow for ever
	// behind a dead endpoint.
	MaxPending int
	// Timeout bounds one attempt: connecting, sending, the answer.
	Timeout time.Duration
	// RetryFor is how long a delivery is retried before it is given up.
	RetryFor time.Duration
	// Backoff doubles from Backoff after each failed attempt up to
	// MaxBackoff, the wait drawn at random in its upper half (jitter).
	Backoff, MaxBackoff time.Duration
	// PerEndpoint bounds the attempts in flight to one endpoint, so a
	// hanging endpoint holds at most that many.
	PerEndpoint int
	// Poll is how often the sender looks for deliveries written by
	// another process (an API run elsewhere).
	Poll time.Duration
	// KeepLog is how long a finished delivery's record stays readable in
	// the log; the sender removes older ones (hourly). Default 30 days.
	KeepLog time.Duration
	// SweepAfter is how long a pending delivery goes without an attempt,
	// past its due time, before Sweep takes it for one with no queue
	// message (sweep.go). Default DefaultSweepAfter.
	SweepAfter time.Duration
	// Queue, when set, is told of every delivery stored (on AWS, the SQS
	// queue the webhooks Lambda sends from: sqs.go); without it a sender
	// started here (Start) makes them.
	Queue Queue
	Log   *slog.Logger // default slog.Default()
	Now   func() time.Time
}

// Hooks registers endpoints, emits events as deliveries, and (after
// Start) sends them. Build it with New.
type Hooks struct {
	cfg     Config
	rec     records
	targets Targets
	ids     clock
	client  *http.Client
	send    atomic.Pointer[sender] // nil before Start
}

// New checks cfg and fills in its defaults.
func New(cfg Config) (*Hooks, error) {
	if cfg.Store == nil || cfg.Bucket == "" {
		return nil, errors.New("webhooks: a store and a bucket are required")
	}
	cfg.MaxEndpoints = cmp.Or(cfg.MaxEndpoints, DefaultMaxEndpoints)
	cfg.MaxPending = cmp.Or(cfg.MaxPending, DefaultMaxPending)
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.RetryFor = cmp.Or(cfg.RetryFor, DefaultRetryFor)
	cfg.Backoff = cmp.Or(cfg.Backoff, DefaultBackoff)
	cfg.MaxBackoff = max(cmp.Or(cfg.MaxBackoff, DefaultMaxBackoff), cfg.Backoff)
	cfg.PerEndpoint = cmp.Or(cfg.PerEndpoint, DefaultPerEndpoint)
	cfg.Poll = cmp.Or(cfg.Poll, DefaultPoll)
	cfg.KeepLog = cmp.Or(cfg.KeepLog, DefaultKeepLog)
	cfg.SweepAfter = cmp.Or(cfg.SweepAfter, DefaultSweepAfter)
	cfg.Log = cmp.Or(cfg.Log, slog.Default())
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := Targets{Allow: cfg.Allow}
	return &Hooks{cfg: cfg, rec: records{cfg.Store, cfg.Bucket}, targets: t, client: t.Client(cfg.Timeout)}, nil
}

// ErrLimit is a request beyond a bound (endpoints, queue).
var ErrLimit = errors.New("webhook limit reached")

// Register adds an endpoint for url and returns it with its secret.
func (h *Hooks) Register(ctx context.Context, url string) (Endpoint, error) {
	if err := h.targets.CheckURL(ctx, url); err != nil {
		return Endpoint{}, err
	}
	eps, err := h.rec.endpoints(ctx)
	if err != nil {
		return Endpoint{}, err
	}
	if len(eps) >= h.cfg.MaxEndpoints {
		return Endpoint{}, fmt.Errorf("%w: at most %d endpoints", ErrLimit, h.cfg.MaxEndpoints)
	}
	e := Endpoint{ID: newID("wh_"), URL: url, Secret: newID("whsec_"), Created: h.cfg.Now().UTC()}
	if err := h.rec.putJSON(ctx, endpointKey(e.ID), e); err != nil {
		return Endpoint{}, err
	}
	return e, nil
}

// Endpoints lists the registered endpoints, without their secrets.
func (h *Hooks) Endpoints(ctx context.Context) ([]Endpoint, error) {
	eps, err := h.rec.endpoints(ctx)
	for i := range eps {
		eps[i].Secret = ""
	}
	return eps, err
}

// Delete removes an endpoint; its pending deliveries are given up.
func (h *Hooks) Delete(ctx context.Context, id string) error {
	if _, err := h.rec.endpoint(ctx, id); err != nil {
		return err
	}
	if err := h.cfg.Store.DeleteKeys(ctx, h.cfg.Bucket, []string{endpointKey(id)}); err != nil {
		return err
	}
	h.poke()
	return nil
}

// maxListed bounds a delivery log answer.
const maxListed = 100

// Deliveries returns endpoint id's latest deliveries, newest first.
func (h *Hooks) Deliveries(ctx context.Context, id string) ([]*Delivery, error) {
	if _, err := h.rec.endpoint(ctx, id); err != nil {
		return nil, err
	}
	keys, err := h.cfg.Store.List(ctx, h.cfg.Bucket, Prefix+"deliveries/"+id+"/")
	if err != nil {
		return nil, err
	}
	sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	out := []*Delivery{}
	for _, k := range keys[:min(len(keys), maxListed)] {
		var d Delivery
		if err := h.rec.getJSON(ctx, k, &d); err != nil {
			continue
		}
		out = append(out, &d)
	}
	return out, nil
}

// Redeliver sends a delivery's event to its endpoint again, as a new
// delivery (after the subject's pending ones).
func (h *Hooks) Redeliver(ctx context.Context, endpoint, id string) (*Delivery, error) {
	if _, err := h.rec.endpoint(ctx, endpoint); err != nil {
		return nil, err
	}
	old, err := h.rec.delivery(ctx, endpoint, id)
	if err != nil {
		return nil, err
	}
	d := h.delivery(endpoint, old.EventID, old.Type, old.Subject, old.Body)
	if err := h.enqueue(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// Emit records event typ about subject (VideoSubject, StreamSubject) with
// data, its object's public fields, as one delivery to each endpoint.
// When it returns nil the deliveries are stored and will be made.
func (h *Hooks) Emit(ctx context.Context, typ, subject string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", typ, err)
	}
	ev := Event{ID: newID("evt_"), Type: typ, Created: h.cfg.Now().UTC(), Data: raw}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", typ, err)
	}
	eps, err := h.rec.endpoints(ctx)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", typ, err)
	}
	var errs []error
	for _, e := range eps {
		if err := h.enqueue(ctx, h.delivery(e.ID, ev.ID, typ, subject, body)); err != nil {
			errs = append(errs, fmt.Errorf("webhook %s to %s: %w", typ, e.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (h *Hooks) delivery(endpoint, event, typ, subject string, body []byte) *Delivery {
	now := h.cfg.Now().UTC()
	return &Delivery{ID: h.ids.deliveryID(now), Endpoint: endpoint, EventID: event, Type: typ, Subject: subject,
		State: Pending, Created: now, Next: now, Attempts: []Attempt{}, Body: body}
}

// enqueue stores d as pending and tells the sender.
func (h *Hooks) enqueue(ctx context.Context, d *Delivery) error {
	s := h.send.Load()
	if s != nil && s.count() >= h.cfg.MaxPending {
		return fmt.Errorf("%w: %d deliveries waiting", ErrLimit, h.cfg.MaxPending)
	}
	if err := h.rec.save(ctx, d); err != nil {
		return err
	}
	if q := h.cfg.Queue; q != nil {
		if err := q.Send(ctx, d); err != nil {
			return fmt.Errorf("queue delivery %s: %w", d.ID, err)
		}
	}
	if s != nil {
		s.add(d)
	}
	return nil
}

// Notify tells a started sender that another process stored a delivery
// (hlsflow up --functions zip: the zipped functions' message on the local
// cloud's queue): it looks for it now rather than at its next Poll. It
// never blocks.
func (h *Hooks) Notify() {
	if s := h.send.Load(); s != nil {
		select {
		case s.loadC <- struct{}{}:
		default:
		}
	}
}

func (h *Hooks) poke() {
	if s := h.send.Load(); s != nil {
		s.wake()
	}
}
