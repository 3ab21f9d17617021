package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/live/restream"
	"github.com/hlsflow/hlsflow/internal/store"
)

// DestinationsRequest is the body of PUT /api/streams/{name}/destinations:
// the stream's whole list of restream destinations. A destination sent
// without its key keeps the key it had under the same URL.
type DestinationsRequest struct {
	Destinations []restream.Destination `json:"destinations"`
}

// Destination is a restream destination as the API shows it: the key
// masked.
type Destination struct {
	URL string `json:"url"`
	Key string `json:"key"`
}

// destinationsStream checks the operator and the stream name, and that the
// stream was created.
func (h *Handler) destinationsStream(r *request, what string) (string, error) {
	if err := h.requireOperator(r, what); err != nil {
		return "", err
	}
	name := r.PathValue("name")
	if !catalog.ValidID(name) {
		return "", notFound("no stream %q", name)
	}
	_, _, err := h.cfg.Store.Get(r.Context(), h.cfg.MediaBucket, streamRecordPrefix+name+".json", 1)
	if errors.Is(err, store.ErrNotFound) {
		return "", notFound("no stream %q: create it first (POST /api/streams)", name)
	}
	return name, err
}

func masked(ds []restream.Destination) map[string]any {
	out := make([]Destination, len(ds))
	for i, d := range ds {
		out[i] = Destination{URL: d.URL, Key: restream.MaskKey(d.Key)}
	}
	return map[string]any{"destinations": out}
}

func (h *Handler) getDestinations(r *request) (*response, error) {
	name, err := h.destinationsStream(r, "reading restream destinations")
	if err != nil {
		return nil, err
	}
	ds, err := restream.Load(r.Context(), h.cfg.Store, h.cfg.MediaBucket, name)
	if err != nil {
		return nil, err
	}
	return reply(http.StatusOK, masked(ds))
}

func (h *Handler) putDestinations(r *request) (*response, error) {
	name, err := h.destinationsStream(r, "setting restream destinations")
	if err != nil {
		return nil, err
	}
	var in DestinationsRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if len(in.Destinations) > restream.MaxDestinations {
		return nil, badField("destinations", "at most %d destinations", restream.MaxDestinations)
	}
	old, err := restream.Load(r.Context(), h.cfg.Store, h.cfg.MediaBucket, name)
	if err != nil {
		return nil, err
	}
	policy := restream.Policy{Allow: h.cfg.RestreamAllow}
	seen := map[string]bool{}
	for i := range in.Destinations {
		d := &in.Destinations[i]
		field := fmt.Sprintf("destinations[%d]", i)
		if d.Key == "" {
			for _, o := range old {
				if o.URL == d.URL {
					d.Key = o.Key
				}
			}
		}
		if err := policy.Check(r.Context(), *d); err != nil {
			return nil, badField(field, "%s", err.Error())
		}
		if seen[d.Target()] {
			return nil, badField(field, "the same URL and key twice")
		}
		seen[d.Target()] = true
	}
	if err := restream.Save(r.Context(), h.cfg.Store, h.cfg.MediaBucket, name, in.Destinations); err != nil {
		return nil, err
	}
	return reply(http.StatusOK, masked(in.Destinations))
}
