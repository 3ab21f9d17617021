package lambdas

import (
	"context"
	"slices"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"
)

// NewHandler is lambda.NewHandler(handler) run as Lambda scales a
// function: each invocation gets an instance of its own (an idle one, or
// a new one), as many at once as requests come. One aws-lambda-go handler
// must not be invoked twice at once: the bytes its Invoke returns are its
// pooled response buffer, which its next invocation writes over, so two
// requests at once would read each other's responses.
func NewHandler(handler any) lambda.Handler {
	return &instances{idle: sync.Pool{New: func() any { return lambda.NewHandler(handler) }}}
}

type instances struct {
	idle sync.Pool // of lambda.Handler
}

func (p *instances) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	h := p.idle.Get().(lambda.Handler)
	defer p.idle.Put(h)
	out, err := h.Invoke(ctx, payload)
	// A copy: the instance's next invocation reuses out's memory.
	return slices.Clone(out), err
}
