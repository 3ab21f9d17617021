package lambdas

import (
	"context"
	"slices"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"
)

// Instances runs a function as Lambda scales it: each invocation gets an
// instance of its own (an idle one, or one newInstance makes), as many at
// once as requests come. An aws-lambda-go handler (lambda.NewHandler)
// must not be invoked twice at once: the bytes its Invoke returns are its
// pooled response buffer, which its next invocation writes over, so two
// requests at once read each other's responses.
func Instances(newInstance func() lambda.Handler) lambda.Handler {
	return &instances{idle: sync.Pool{New: func() any { return newInstance() }}}
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
