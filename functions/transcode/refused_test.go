package transcode

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hlsflow/hlsflow/internal/chunk"
)

// invokerFunc is an Invoker made of a function (a test fake of the encode
// Lambda's answers).
type invokerFunc func(ctx context.Context, function string, payload []byte) ([]byte, error)

func (f invokerFunc) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	return f(ctx, function, payload)
}

// A chunk whose encode refuses the file itself (here a decompression bomb,
// as the encode Lambda words it) is not tried again, and the uploader reads
// the reason, not "failed 3 times"; a transient failure is still retried.
func TestChunkRefusalIsFinal(t *testing.T) {
	const bomb = `invoke encode: function error Unhandled: encode chunk 2: unsupported input: the picture grows mid-stream to 8192x8192, larger than the size the file declares at its start`
	for _, tc := range []struct {
		name      string
		err       string
		wantCalls int32
		wantMsg   string
	}{
		{"file refused", bomb, 1, "this file cannot be made into a video stream: the picture grows mid-stream to 8192x8192"},
		{"transient", "invoke encode: connection reset by peer", 3, "the video could not be encoded: chunk 2 (from 64 s) failed 3 times"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{EncodeFunction: "encode", ChunkAttempts: 3}
			var calls atomic.Int32
			h.Invoker = invokerFunc(func(context.Context, string, []byte) ([]byte, error) {
				calls.Add(1)
				return nil, errors.New(tc.err)
			})
			h.RetryWait = 1 // as fast as it goes
			_, err := h.encodeWithRetry(context.Background(), chunk.Request{ID: "v", Kind: chunk.KindVideo, Chunk: chunk.Chunk{Index: 2, Start: 64}})
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("%d invocations, want %d", got, tc.wantCalls)
			}
			if msg := userMessage(err); !strings.HasPrefix(msg, tc.wantMsg) {
				t.Errorf("status error %q, want it to start with %q", msg, tc.wantMsg)
			}
		})
	}
}
