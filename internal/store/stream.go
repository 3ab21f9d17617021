package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// minPartSize is S3's smallest part (but the last).
const minPartSize = 5 << 20

// PutStream writes r, of a length not known in advance, to bucket/key
// holding one part of partSize bytes in memory at a time: a body that
// fits in one part is one PUT, a longer one a multipart upload (aborted
// when anything fails, so no object appears and no parts are left
// behind). The object exists only once the whole of r is stored.
func (s *Store) PutStream(ctx context.Context, bucket, key string, r io.Reader, contentType string, partSize int64) (int64, error) {
	partSize = max(partSize, minPartSize)
	buf := make([]byte, partSize)
	n, err := io.ReadFull(r, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		// All of it in one part.
		return int64(n), s.put(ctx, bucket, key, bytes.NewReader(buf[:n]), int64(n), Object{ContentType: contentType})
	}
	if err != nil {
		return 0, err
	}
	id, err := s.CreateMultipart(ctx, bucket, key, contentType)
	if err != nil {
		return 0, err
	}
	total, err := s.streamParts(ctx, bucket, key, id, r, buf, n)
	if err != nil {
		// Leave nothing half made, even when ctx is what ended.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if aerr := s.AbortMultipart(actx, bucket, key, id); aerr != nil && !errors.Is(aerr, ErrNoSuchUpload) {
			err = errors.Join(err, aerr)
		}
		return total, err
	}
	return total, nil
}

// streamParts uploads buf[:n] as part 1, then the rest of r part by part,
// and completes the upload.
func (s *Store) streamParts(ctx context.Context, bucket, key, id string, r io.Reader, buf []byte, n int) (int64, error) {
	var parts []Part
	var total int64
	for num := int32(1); ; num++ {
		out, err := s.Client.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: &key, UploadId: &id,
			PartNumber: aws.Int32(num), Body: bytes.NewReader(buf[:n]), ContentLength: aws.Int64(int64(n))})
		if err != nil {
			return total, fmt.Errorf("upload part %d of s3://%s/%s: %w", num, bucket, key, err)
		}
		parts = append(parts, Part{Number: num, Size: int64(n), ETag: aws.ToString(out.ETag)})
		total += int64(n)
		n, err = io.ReadFull(r, buf)
		if err == io.EOF {
			break
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			return total, err
		}
		if num+1 > maxPartsPerUpload {
			return total, fmt.Errorf("put s3://%s/%s: more than %d parts", bucket, key, maxPartsPerUpload)
		}
	}
	return total, s.CompleteMultipart(ctx, bucket, key, id, parts)
}

// maxPartsPerUpload is S3's limit.
const maxPartsPerUpload = 10000
