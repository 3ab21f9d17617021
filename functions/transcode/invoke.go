package transcode

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Invoker runs a function synchronously and returns its JSON result; a
// function error is an error. LambdaInvoker does it through the Lambda
// Invoke API (AWS or the local cloud); localcloud.Cloud's Invoke and
// tests calling a handler in-process fit too.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// LambdaInvoker is an Invoker over the SDK's Lambda client (build it from
// the same aws.Config as the store, so AWS_ENDPOINT_URL reaches the local
// cloud's Invoke API too).
type LambdaInvoker struct{ Client *lambda.Client }

var _ Invoker = LambdaInvoker{}

// Invoke calls function with InvocationType RequestResponse.
func (l LambdaInvoker) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	out, err := l.Client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", function, err)
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
		return nil, fmt.Errorf("invoke %s: function error %s: %s", function, aws.ToString(out.FunctionError), msg)
	}
	return out.Payload, nil
}
