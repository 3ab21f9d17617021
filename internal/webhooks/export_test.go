package webhooks

import "context"

// Prune runs the sender's removal of old delivery records now.
func (h *Hooks) Prune(ctx context.Context) error { return h.prune(ctx) }
