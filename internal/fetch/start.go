package fetch

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Starter starts fetches for the API: the video's status says processing
// from the moment its id is handed out, then the fetch function is
// invoked asynchronously (InvocationType Event), on AWS as in hlsflow up.
type Starter struct {
	Store                      *store.Store
	UploadsBucket, MediaBucket string
	Client                     *lambda.Client
	Function                   string
}

// Start starts fetching url into key, the upload of video id. The
// processing status is written before the invocation, so a fetch that
// fails at once cannot be overwritten by it.
func (s Starter) Start(ctx context.Context, id, key, url string) error {
	req := Request{ID: id, Key: key, URL: url}
	if err := Check(req); err != nil {
		return err
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("fetch request: %w", err)
	}
	if err := catalog.Write(ctx, s.Store, s.MediaBucket, &catalog.Status{ID: id, State: catalog.StateProcessing}); err != nil {
		return err
	}
	_, err = s.Client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String(s.Function), InvocationType: types.InvocationTypeEvent, Payload: payload,
	})
	if err != nil {
		err = fmt.Errorf("invoke %s: %w", s.Function, err)
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if merr := MarkFailed(mctx, s.Store, s.UploadsBucket, s.MediaBucket, req, "the fetch could not be started; try again"); merr != nil {
			return fmt.Errorf("%w (and %w)", err, merr)
		}
		return err
	}
	return nil
}
