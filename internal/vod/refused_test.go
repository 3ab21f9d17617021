package vod

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hlsflow/hlsflow/internal/chunk"
)

// chunkFunc is a ChunkEncoder made of a function (a test fake of the
// encode function's answers, or a wrapper around a Worker).
type chunkFunc func(ctx context.Context, r chunk.Request) (*chunk.Response, error)

func (f chunkFunc) EncodeChunk(ctx context.Context, r chunk.Request) (*chunk.Response, error) {
	return f(ctx, r)
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
			var calls atomic.Int32
			fail := chunkFunc(func(context.Context, chunk.Request) (*chunk.Response, error) {
				calls.Add(1)
				return nil, errors.New(tc.err)
			})
			// RetryWait 1 ns: as fast as it goes.
			p := &Pipeline{cfg: Config{ChunkAttempts: 3, RetryWait: 1}, chunks: fail, log: slog.Default()}
			j := &job{Pipeline: p, log: p.log}
			_, err := j.encodeWithRetry(context.Background(), chunk.Request{ID: "v", Kind: chunk.KindVideo, Chunk: chunk.Chunk{Index: 2, Start: 64}})
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("%d invocations, want %d", got, tc.wantCalls)
			}
			if msg := userMessage(err); !strings.HasPrefix(msg, tc.wantMsg) {
				t.Errorf("status error %q, want it to start with %q", msg, tc.wantMsg)
			}
		})
	}
}
