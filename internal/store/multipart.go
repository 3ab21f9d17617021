package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// ErrNoSuchUpload is returned (wrapped) for a multipart upload that no
// longer exists: completed, aborted or expired.
var ErrNoSuchUpload = errors.New("no such multipart upload")

// Presign says how long a presigned URL works and, when Endpoint is set,
// the S3 address it names in place of the store's (one the client can
// reach).
type Presign struct {
	TTL      time.Duration
	Endpoint string
}

func (p Presign) options() []func(*s3.PresignOptions) {
	return []func(*s3.PresignOptions){s3.WithPresignExpires(p.TTL), func(o *s3.PresignOptions) {
		if p.Endpoint != "" {
			o.ClientOptions = append(o.ClientOptions, func(o *s3.Options) { o.BaseEndpoint = &p.Endpoint })
		}
	}}
}

// PresignPut returns a URL that PUTs exactly size bytes of contentType to
// bucket/key: both are signed, so S3 refuses any other body.
func (s *Store) PresignPut(ctx context.Context, bucket, key, contentType string, size int64, p Presign) (string, error) {
	req, err := s.Presigner.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket: &bucket, Key: &key, ContentType: &contentType, ContentLength: &size,
	}, p.options()...)
	if err != nil {
		return "", fmt.Errorf("presign put s3://%s/%s: %w", bucket, key, err)
	}
	return req.URL, nil
}

// CreateMultipart starts a multipart upload of contentType to bucket/key
// and returns its id.
func (s *Store) CreateMultipart(ctx context.Context, bucket, key, contentType string) (string, error) {
	out, err := s.Client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &bucket, Key: &key, ContentType: &contentType,
	})
	if err != nil {
		return "", fmt.Errorf("create multipart upload s3://%s/%s: %w", bucket, key, err)
	}
	return aws.ToString(out.UploadId), nil
}

// PresignPart returns a URL that PUTs part number n, of exactly size
// bytes, of the multipart upload uploadID.
func (s *Store) PresignPart(ctx context.Context, bucket, key, uploadID string, n int32, size int64, p Presign) (string, error) {
	req, err := s.Presigner.PresignUploadPart(ctx, &s3.UploadPartInput{
		Bucket: &bucket, Key: &key, UploadId: &uploadID, PartNumber: &n, ContentLength: &size,
	}, p.options()...)
	if err != nil {
		return "", fmt.Errorf("presign part %d of s3://%s/%s: %w", n, bucket, key, err)
	}
	return req.URL, nil
}

// Part is an uploaded part of a multipart upload.
type Part struct {
	Number int32
	Size   int64
	ETag   string
}

// ListParts returns the parts uploaded so far, or ErrNoSuchUpload (wrapped).
func (s *Store) ListParts(ctx context.Context, bucket, key, uploadID string) ([]Part, error) {
	var parts []Part
	in := &s3.ListPartsInput{Bucket: &bucket, Key: &key, UploadId: &uploadID}
	for {
		out, err := s.Client.ListParts(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list parts of s3://%s/%s: %w", bucket, key, noSuchUpload(err))
		}
		for _, p := range out.Parts {
			parts = append(parts, Part{Number: aws.ToInt32(p.PartNumber), Size: aws.ToInt64(p.Size), ETag: aws.ToString(p.ETag)})
		}
		if !aws.ToBool(out.IsTruncated) || out.NextPartNumberMarker == nil || len(out.Parts) == 0 {
			return parts, nil
		}
		in.PartNumberMarker = out.NextPartNumberMarker
	}
}

// CompleteMultipart joins parts, in ascending order, into the object.
func (s *Store) CompleteMultipart(ctx context.Context, bucket, key, uploadID string, parts []Part) error {
	done := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		done[i] = types.CompletedPart{PartNumber: aws.Int32(p.Number), ETag: aws.String(p.ETag)}
	}
	if _, err := s.Client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &bucket, Key: &key, UploadId: &uploadID, MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	}); err != nil {
		return fmt.Errorf("complete multipart upload s3://%s/%s: %w", bucket, key, noSuchUpload(err))
	}
	return nil
}

// AbortMultipart discards a multipart upload and its parts; one that no
// longer exists gives ErrNoSuchUpload (wrapped).
func (s *Store) AbortMultipart(ctx context.Context, bucket, key, uploadID string) error {
	if _, err := s.Client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: &bucket, Key: &key, UploadId: &uploadID,
	}); err != nil {
		return fmt.Errorf("abort multipart upload s3://%s/%s: %w", bucket, key, noSuchUpload(err))
	}
	return nil
}

// noSuchUpload marks S3's NoSuchUpload, which the SDK does not model as a
// type for every operation.
func noSuchUpload(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchUpload" {
		return fmt.Errorf("%w: %w", ErrNoSuchUpload, err)
	}
	return err
}
