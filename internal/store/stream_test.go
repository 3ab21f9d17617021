package store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	s3api "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

func TestPutStream(t *testing.T) {
	s3 := testenv.S3(t)
	ctx := context.Background()
	const part = 5 << 20
	data := make([]byte, 2*part+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, size := range []int{0, 10, part, 2*part + 123} {
		key := "stream-test/" + string(rune('a'+size%26)) + ".bin"
		n, err := s3.Store.PutStream(ctx, testenv.BucketMedia, key, bytes.NewReader(data[:size]), "video/mp4", part)
		if err != nil || n != int64(size) {
			t.Fatalf("size %d: stored %d, %v", size, n, err)
		}
		got, err := s3.Store.GetBytes(ctx, testenv.BucketMedia, key)
		if err != nil || !bytes.Equal(got, data[:size]) {
			t.Errorf("size %d: read back %d bytes, %v", size, len(got), err)
		}
	}
}

// A body that fails after a part or more leaves no object and no
// multipart upload behind.
func TestPutStreamFailure(t *testing.T) {
	s3 := testenv.S3(t)
	ctx := context.Background()
	const part = 5 << 20
	boom := errors.New("source broke")
	key := "stream-test/broken.bin"
	r := io.MultiReader(bytes.NewReader(make([]byte, part+10)), errReader{boom})
	if _, err := s3.Store.PutStream(ctx, testenv.BucketMedia, key, r, "video/mp4", part); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the body's error", err)
	}
	if _, err := s3.Store.Head(ctx, testenv.BucketMedia, key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an object was left: %v", err)
	}
	out, err := s3.Store.Client.ListMultipartUploads(ctx, &s3api.ListMultipartUploadsInput{Bucket: ptr(testenv.BucketMedia), Prefix: ptr(key)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 0 {
		t.Errorf("%d multipart uploads left", len(out.Uploads))
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func ptr(s string) *string { return &s }
