package store

import (
	"context"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Copy copies the object at src to dst within bucket, server-side, with
// its type, caching and other headers; ErrNotFound (wrapped) when src does
// not exist.
func (s *Store) Copy(ctx context.Context, bucket, src, dst string) error {
	from := url.PathEscape(bucket) + "/" + (&url.URL{Path: src}).EscapedPath()
	_, err := s.Client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: &dst, CopySource: &from})
	if err != nil {
		return fmt.Errorf("copy s3://%s/%s to %s: %w", bucket, src, dst, notFound(err))
	}
	return nil
}
