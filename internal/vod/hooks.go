package vod

import (
	"context"

	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// Events receives what happens to videos, for webhooks (*webhooks.Hooks
// fits). Emit stores the event before it returns.
type Events interface {
	Emit(ctx context.Context, typ, subject string, data any) error
}

// emit tells Deps.Events that the job's video was created, became ready or
// failed, with its status.json (public: no bucket, key or file name). An
// event that cannot be stored is logged; the video is not held up. A
// retried job emits again: webhooks are at least once.
func (j *job) emit(ctx context.Context, typ string) {
	if j.events == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTime)
	defer cancel()
	st := *j.st
	if err := j.events.Emit(ctx, typ, webhooks.VideoSubject(j.id), &st); err != nil {
		j.log.Warn("webhook event", "type", typ, "err", err)
	}
}
