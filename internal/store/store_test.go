package store_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

func TestOpen(t *testing.T) {
	s3 := testenv.S3(t)
	ctx := context.Background()
	key := "store-test/open.txt"
	if err := s3.Store.PutBytes(ctx, testenv.BucketMedia, key, []byte("0123456789"), store.Object{}); err != nil {
		t.Fatal(err)
	}
	info, err := s3.Store.Head(ctx, testenv.BucketMedia, key)
	if err != nil {
		t.Fatal(err)
	}
	read := func(r store.Read) (string, error) {
		body, err := s3.Store.Open(ctx, testenv.BucketMedia, key, r)
		if err != nil {
			return "", err
		}
		defer body.Close()
		b, err := io.ReadAll(body)
		return string(b), err
	}
	for _, tt := range []struct {
		name string
		r    store.Read
		want string
	}{
		{"whole", store.Read{}, "0123456789"},
		{"range", store.Read{Range: "bytes=2-4"}, "234"},
		{"this version", store.Read{Range: "bytes=8-", IfMatch: info.ETag}, "89"},
	} {
		if got, err := read(tt.r); err != nil || got != tt.want {
			t.Errorf("%s: %q %v, want %q", tt.name, got, err, tt.want)
		}
	}
	if got, err := read(store.Read{IfMatch: `"0000"`}); err == nil {
		t.Errorf("another version's ETag read %q", got)
	}
	if _, err := s3.Store.Open(ctx, testenv.BucketMedia, "store-test/none", store.Read{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing object: %v, want ErrNotFound", err)
	}
}
