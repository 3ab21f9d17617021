package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// Webhooks keeps the operator's webhook endpoints and their delivery logs
// (*webhooks.Hooks fits).
type Webhooks interface {
	Register(ctx context.Context, url string) (webhooks.Endpoint, error)
	Endpoints(ctx context.Context) ([]webhooks.Endpoint, error)
	Delete(ctx context.Context, id string) error
	Deliveries(ctx context.Context, id string) ([]*webhooks.Delivery, error)
	Redeliver(ctx context.Context, endpoint, delivery string) (*webhooks.Delivery, error)
}

// WebhookRequest registers an endpoint.
type WebhookRequest struct {
	URL string `json:"url"`
}

// webhooksFor checks that webhooks are on and r is the operator's.
func (h *Handler) webhooksFor(r *request, what string) (Webhooks, error) {
	if err := h.requireOperator(r, what); err != nil {
		return nil, err
	}
	if h.cfg.Webhooks == nil {
		return nil, notFound("webhooks are not enabled on this server")
	}
	return h.cfg.Webhooks, nil
}

// webhookError turns the webhooks package's refusals into answers.
func webhookError(err error) error {
	switch {
	case errors.Is(err, webhooks.ErrTarget):
		return badField("url", "%s", err.Error())
	case errors.Is(err, webhooks.ErrLimit):
		return &apiError{Status: http.StatusConflict, Message: err.Error()}
	case errors.Is(err, webhooks.ErrNotFound):
		return notFound("no such webhook or delivery")
	}
	return err
}

func (h *Handler) createWebhook(r *request) (*response, error) {
	wh, err := h.webhooksFor(r, "registering a webhook")
	if err != nil {
		return nil, err
	}
	var in WebhookRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if in.URL == "" {
		return nil, badField("url", "url is required")
	}
	e, err := wh.Register(r.Context(), in.URL)
	if err != nil {
		return nil, webhookError(err)
	}
	return reply(http.StatusCreated, e)
}

func (h *Handler) listWebhooks(r *request) (*response, error) {
	wh, err := h.webhooksFor(r, "listing webhooks")
	if err != nil {
		return nil, err
	}
	eps, err := wh.Endpoints(r.Context())
	if err != nil {
		return nil, err
	}
	if eps == nil {
		eps = []webhooks.Endpoint{}
	}
	return reply(http.StatusOK, map[string]any{"webhooks": eps})
}

func (h *Handler) deleteWebhook(r *request) (*response, error) {
	wh, err := h.webhooksFor(r, "deleting a webhook")
	if err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	if err := wh.Delete(r.Context(), id); err != nil {
		return nil, webhookError(err)
	}
	return reply(http.StatusOK, map[string]string{"id": id, "state": "deleted"})
}

func (h *Handler) listDeliveries(r *request) (*response, error) {
	wh, err := h.webhooksFor(r, "reading webhook deliveries")
	if err != nil {
		return nil, err
	}
	ds, err := wh.Deliveries(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, webhookError(err)
	}
	return reply(http.StatusOK, map[string]any{"deliveries": ds})
}

func (h *Handler) redeliver(r *request) (*response, error) {
	wh, err := h.webhooksFor(r, "redelivering a webhook event")
	if err != nil {
		return nil, err
	}
	d, err := wh.Redeliver(r.Context(), r.PathValue("id"), r.PathValue("delivery"))
	if err != nil {
		return nil, webhookError(err)
	}
	return reply(http.StatusAccepted, d)
}
