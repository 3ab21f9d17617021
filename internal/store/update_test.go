package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestLocalS3HonoursConditionalPut: store.Update rests on S3
// refusing a PUT whose If-Match is stale, or whose If-None-Match "*" meets
// an existing object. The local S3 (versitygw) must do as AWS does.
func TestLocalS3HonoursConditionalPut(t *testing.T) {
	env := testenv.S3(t)
	ctx := context.Background()
	key := "conditional-put-check.json"
	put := func(body string, ifMatch, ifNoneMatch *string) (string, error) {
		out, err := env.Store.Client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(testenv.BucketMedia), Key: &key, Body: strings.NewReader(body),
			IfMatch: ifMatch, IfNoneMatch: ifNoneMatch,
		})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.ETag), nil
	}
	first, err := put("1", nil, aws.String("*"))
	if err != nil {
		t.Fatalf("create with If-None-Match *: %v", err)
	}
	if _, err := put("2", nil, aws.String("*")); !store.ConditionFailed(err) {
		t.Errorf("If-None-Match * on an existing object: %v, want 412", err)
	}
	second, err := put("2", aws.String(first), nil)
	if err != nil {
		t.Fatalf("If-Match the current ETag: %v", err)
	}
	if _, err := put("3", aws.String(first), nil); !store.ConditionFailed(err) {
		t.Errorf("If-Match a stale ETag: %v, want 412", err)
	}
	if b, _ := env.Store.GetBytes(ctx, testenv.BucketMedia, key); string(b) != "2" || second == first {
		t.Errorf("object holds %q (ETags %s, %s), want the second write only", b, first, second)
	}
}

// TestUpdateConcurrent: writers updating one object at once lose no
// change, and a change's own error writes nothing.
func TestUpdateConcurrent(t *testing.T) {
	env := testenv.S3(t)
	ctx := context.Background()
	type counter struct{ N int }
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			errs <- store.Update(ctx, env.Store, testenv.BucketMedia, "counter.json", store.Object{}, func(c *counter) error {
				c.N++
				return nil
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	refused := errors.New("no")
	if err := store.Update(ctx, env.Store, testenv.BucketMedia, "counter.json", store.Object{}, func(c *counter) error {
		c.N = 1000
		return refused
	}); !errors.Is(err, refused) {
		t.Errorf("a refusing change: %v", err)
	}
	b, err := env.Store.GetBytes(ctx, testenv.BucketMedia, "counter.json")
	if err != nil || string(b) != `{"N":8}` {
		t.Errorf("counter %s (%v), want {\"N\":8}", b, err)
	}
}
