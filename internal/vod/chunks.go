package vod

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/hlsflow/hlsflow/internal/chunk"
)

// ChunkEncoder encodes one piece of a video that a Pipeline fans out (a
// chunk of every video rung or of every audio track) and returns the segments
// it put in the media bucket. *Worker does it in this process,
// LambdaEncoder through the encode function.
type ChunkEncoder interface {
	EncodeChunk(ctx context.Context, req chunk.Request) (*chunk.Response, error)
}

var (
	_ ChunkEncoder = (*Worker)(nil)
	_ ChunkEncoder = LambdaEncoder{}
)

// LambdaEncoder invokes Function, a Worker behind the Lambda Invoke API
// (AWS or the local cloud's), synchronously. Build Client from the same
// aws.Config as the store, so AWS_ENDPOINT_URL reaches the local cloud too.
type LambdaEncoder struct {
	Client   *lambda.Client
	Function string
}

// EncodeChunk calls Function with InvocationType RequestResponse; a
// function error is an error carrying its message.
func (l LambdaEncoder) EncodeChunk(ctx context.Context, req chunk.Request) (*chunk.Response, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	out, err := l.Client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(l.Function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", l.Function, err)
	}
	if out.FunctionError != nil {
		// Lambda's error payload is {"errorMessage": …, "errorType": …};
		// the message is what callers (and people) can read.
		var fe struct {
			Message string `json:"errorMessage"`
		}
		msg := string(out.Payload)
		if json.Unmarshal(out.Payload, &fe) == nil && fe.Message != "" {
			msg = fe.Message
		}
		return nil, fmt.Errorf("invoke %s: function error %s: %s", l.Function, aws.ToString(out.FunctionError), msg)
	}
	var res chunk.Response
	if err := json.Unmarshal(out.Payload, &res); err != nil {
		return nil, fmt.Errorf("decode encode response: %w", err)
	}
	return &res, nil
}
