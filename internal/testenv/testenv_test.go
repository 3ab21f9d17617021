package testenv_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

func TestRepoRootAndMedia(t *testing.T) {
	root := testenv.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("RepoRoot %s has no go.mod: %v", root, err)
	}
	p := testenv.Media(t, "14_t_rex_roar_audio_only.mp3")
	if !filepath.IsAbs(p) {
		t.Errorf("Media path %q is not absolute", p)
	}
	if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
		t.Errorf("Media path %s: %v", p, err)
	}
}

func TestS3(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.S3(t)
	if again := testenv.S3(t); again != env {
		t.Errorf("second S3 call started another server: %s vs %s", again.Endpoint, env.Endpoint)
	}
	if now, _ := os.Getwd(); now != wd {
		t.Errorf("starting S3 changed the working directory from %s to %s", wd, now)
	}
	ctx := context.Background()

	for _, bucket := range []string{testenv.BucketUploads, testenv.BucketMedia} {
		t.Run("roundtrip/"+bucket, func(t *testing.T) {
			key := t.Name() + "/a b+(c).txt"
			want := []byte("hello " + bucket)
			if err := env.Store.PutBytes(ctx, bucket, key, want, store.For(key)); err != nil {
				t.Fatal(err)
			}
			got, err := env.Store.GetBytes(ctx, bucket, key)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
			info, err := env.Store.Head(ctx, bucket, key)
			if err != nil {
				t.Fatal(err)
			}
			if info.Size != int64(len(want)) {
				t.Errorf("head size %d, want %d", info.Size, len(want))
			}
		})
	}

	t.Run("wrong secret is refused and stores nothing", func(t *testing.T) {
		cfg := env.Config()
		cfg.Credentials = credentials.NewStaticCredentialsProvider(env.AccessKey, "wrong", "")
		bad := store.New(cfg)
		key := t.Name() + "/x"
		err := bad.PutBytes(ctx, testenv.BucketUploads, key, []byte("x"), store.Object{})
		var re interface{ HTTPStatusCode() int }
		if !errors.As(err, &re) || re.HTTPStatusCode() != 403 {
			t.Fatalf("put with wrong secret: got %v, want HTTP 403", err)
		}
		if _, err := env.Store.Head(ctx, testenv.BucketUploads, key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("object stored despite wrong secret: head = %v", err)
		}
	})

	t.Run("environment", func(t *testing.T) {
		env.Setenv(t)
		s, err := store.FromEnv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		key := t.Name() + "/env"
		if err := s.PutBytes(ctx, testenv.BucketMedia, key, []byte("1"), store.Object{}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Store.Head(ctx, testenv.BucketMedia, key); err != nil {
			t.Error(err)
		}
	})
}
