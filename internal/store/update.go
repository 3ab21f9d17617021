package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// ErrUpdateContended is returned by Update when other writers kept winning.
var ErrUpdateContended = errors.New("too many concurrent writers")

// updateAttempts bounds Update's read-modify-write rounds.
const updateAttempts = 25

// Update changes the JSON object at bucket/key (at most 64 MiB) as one
// step among concurrent writers: it reads it into a fresh *T (zero when
// the object does not exist), calls change, and writes the result only
// if nobody wrote in between — If-Match the ETag read, If-None-Match "*"
// for a new object — reading and deciding again, after a short random
// wait, when another writer won. change returning an error (its own, to
// refuse) ends Update with that error and writes nothing.
func Update[T any](ctx context.Context, s *Store, bucket, key string, o Object, change func(v *T) error) error {
	for attempt := 1; ; attempt++ {
		v, etag, err := readJSON[T](ctx, s, bucket, key)
		if err != nil {
			return err
		}
		if err := change(v); err != nil {
			return err
		}
		body, err := json.Marshal(v)
		if err != nil {
			return err
		}
		in := &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
			ContentType: aws.String("application/json"), CacheControl: &o.CacheControl}
		if etag != "" {
			in.IfMatch = &etag
		} else {
			in.IfNoneMatch = aws.String("*")
		}
		_, err = s.Client.PutObject(ctx, in)
		switch {
		case err == nil:
			return nil
		case !ConditionFailed(err):
			return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
		case attempt == updateAttempts:
			return fmt.Errorf("update s3://%s/%s: %w", bucket, key, ErrUpdateContended)
		}
		// At random, so that the contenders spread out.
		wait := time.Duration(attempt) * time.Duration(20+rand.IntN(40)) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// readJSON reads bucket/key into a new *T with its ETag ("" and a zero T
// when it does not exist).
func readJSON[T any](ctx context.Context, s *Store, bucket, key string) (*T, string, error) {
	v := new(T)
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err = notFound(err); errors.Is(err, ErrNotFound) {
		return v, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, 64<<20))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		return nil, "", fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	return v, aws.ToString(out.ETag), nil
}

// ConditionFailed says whether a conditional PUT lost to another writer:
// 412 Precondition Failed, or 409 ConditionalRequestConflict when S3 saw
// both writes at once.
func ConditionFailed(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreConditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusPreconditionFailed || re.HTTPStatusCode() == http.StatusConflict)
}
