// Package store is hlsflow's S3 access: clients built from the environment,
// presigned reads for ffmpeg, and uploads that carry the Content-Type and
// Cache-Control each kind of HLS object needs.
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// ErrNotFound is returned when an object or bucket does not exist.
var ErrNotFound = errors.New("not found")

// Store wraps an S3 client with the few operations the pipeline needs.
type Store struct {
	Client    *s3.Client
	Presigner *s3.PresignClient
}

// LoadConfig loads the AWS configuration from the environment. The SDK reads
// AWS_ENDPOINT_URL itself, so the same code reaches AWS, LocalStack or the
// embedded local cloud.
func LoadConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

// New builds a Store from cfg. A custom endpoint (AWS_ENDPOINT_URL or
// AWS_ENDPOINT_URL_S3) means a local S3 server, which wants path-style
// addressing because bucket subdomains of 127.0.0.1 do not resolve.
func New(cfg aws.Config) *Store {
	pathStyle := os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != "" || cfg.BaseEndpoint != nil
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		// Local servers do not all speak the SDK's newer default checksums.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &Store{Client: client, Presigner: s3.NewPresignClient(client)}
}

// FromEnv is LoadConfig followed by New.
func FromEnv(ctx context.Context) (*Store, error) {
	cfg, err := LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	return New(cfg), nil
}

// PresignGet returns a URL that reads bucket/key for ttl without credentials;
// ffmpeg uses it to read sources with HTTP range requests.
func (s *Store) PresignGet(ctx context.Context, bucket, key string, ttl time.Duration) (string, error) {
	req, err := s.Presigner.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign get s3://%s/%s: %w", bucket, key, err)
	}
	return req.URL, nil
}

// Object describes how an uploaded object is served.
type Object struct {
	ContentType  string
	CacheControl string
	// ContentDisposition, when set, is served with the object (a
	// download's "attachment; filename=…").
	ContentDisposition string
}

// For returns the Content-Type and Cache-Control for an HLS output named
// name, using the VOD policies: immutable segments, long-lived playlists.
func For(name string) Object {
	return Object{ContentType: ContentType(name), CacheControl: CacheControlVOD(name)}
}

// PutBytes writes data to bucket/key.
func (s *Store) PutBytes(ctx context.Context, bucket, key string, data []byte, o Object) error {
	return s.put(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), o)
}

// PutFile streams the file at path to bucket/key.
func (s *Store) PutFile(ctx context.Context, bucket, key, path string, o Object) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return s.put(ctx, bucket, key, f, st.Size(), o)
}

func (s *Store) put(ctx context.Context, bucket, key string, body io.ReadSeeker, size int64, o Object) error {
	in := &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: body, ContentLength: &size}
	if o.ContentType != "" {
		in.ContentType = &o.ContentType
	}
	if o.CacheControl != "" {
		in.CacheControl = &o.CacheControl
	}
	if o.ContentDisposition != "" {
		in.ContentDisposition = &o.ContentDisposition
	}
	if _, err := s.Client.PutObject(ctx, in); err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// GetBytes reads a whole (small) object. It returns ErrNotFound, wrapped,
// when the object does not exist.
func (s *Store) GetBytes(ctx context.Context, bucket, key string) ([]byte, error) {
	b, _, err := s.Get(ctx, bucket, key, -1)
	return b, err
}

// Get reads at most limit bytes of an object (all of it when limit < 0)
// and when it was last modified; ErrNotFound (wrapped) when it does not
// exist.
func (s *Store) Get(ctx context.Context, bucket, key string, limit int64) ([]byte, time.Time, error) {
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("get s3://%s/%s: %w", bucket, key, notFound(err))
	}
	defer out.Body.Close()
	var r io.Reader = out.Body
	if limit >= 0 {
		r = io.LimitReader(r, limit)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	return b, aws.ToTime(out.LastModified), nil
}

// Read narrows what Open reads.
type Read struct {
	// Range is an HTTP byte range, e.g. "bytes=0-1023"; "" reads it all.
	Range string
	// IfMatch, when set, reads only the version with this ETag: if the
	// object was replaced since, Open fails rather than mix versions.
	IfMatch string
}

// Open streams an object's body, or returns ErrNotFound (wrapped) when it
// does not exist. The caller closes the body.
func (s *Store) Open(ctx context.Context, bucket, key string, r Read) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: &bucket, Key: &key}
	if r.Range != "" {
		in.Range = &r.Range
	}
	if r.IfMatch != "" {
		in.IfMatch = &r.IfMatch
	}
	out, err := s.Client.GetObject(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, notFound(err))
	}
	return out.Body, nil
}

// Info is what HEAD tells about an object.
type Info struct {
	Size         int64
	ETag         string
	ContentType  string
	CacheControl string
	LastModified time.Time
	// ContentDisposition is the object's stored Content-Disposition.
	ContentDisposition string
}

// Head returns an object's metadata, or ErrNotFound (wrapped).
func (s *Store) Head(ctx context.Context, bucket, key string) (Info, error) {
	out, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return Info{}, fmt.Errorf("head s3://%s/%s: %w", bucket, key, notFound(err))
	}
	return Info{
		Size:         aws.ToInt64(out.ContentLength),
		ETag:         aws.ToString(out.ETag),
		ContentType:  aws.ToString(out.ContentType),
		CacheControl: aws.ToString(out.CacheControl),
		LastModified: aws.ToTime(out.LastModified),

		ContentDisposition: aws.ToString(out.ContentDisposition),
	}, nil
}

// List returns the keys under prefix, in S3's order.
func (s *Store) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	objs, err := s.Objects(ctx, bucket, prefix)
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = o.Key
	}
	return keys, err
}

// Listed is an object as a listing shows it.
type Listed struct {
	Key          string
	Size         int64
	LastModified time.Time
}

// Objects lists the objects under prefix, in S3's order.
func (s *Store) Objects(ctx context.Context, bucket, prefix string) ([]Listed, error) {
	var objs []Listed
	p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, notFound(err))
		}
		for _, o := range page.Contents {
			objs = append(objs, Listed{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), LastModified: aws.ToTime(o.LastModified)})
		}
	}
	return objs, nil
}

// Dirs returns the names of the "folders" directly under prefix (which
// ends in "/"): the key parts up to the next "/", in S3's order.
func (s *Store) Dirs(ctx context.Context, bucket, prefix string) ([]string, error) {
	var names []string
	delim := "/"
	p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix, Delimiter: &delim})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, notFound(err))
		}
		for _, cp := range page.CommonPrefixes {
			names = append(names, strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/"))
		}
	}
	return names, nil
}

// DeleteKeys removes keys from bucket, a thousand per request.
func (s *Store) DeleteKeys(ctx context.Context, bucket string, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		ids := make([]types.ObjectIdentifier, n)
		for i, k := range keys[:n] {
			ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		out, err := s.Client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &bucket, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return fmt.Errorf("delete %d objects in s3://%s: %w", n, bucket, err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("delete s3://%s/%s: %s", bucket, aws.ToString(e.Key), aws.ToString(e.Message))
		}
		keys = keys[n:]
	}
	return nil
}

// AllowBrowserUploads sets bucket's CORS rule for pages that upload
// straight to it with presigned URLs: PUT (and GET, HEAD) from origins
// only, any header, exposing ETag (completing a multipart upload needs
// each part's). A page on another site cannot read or write the bucket
// through a visitor's browser. On AWS the CDK app sets the same rule.
func (s *Store) AllowBrowserUploads(ctx context.Context, bucket string, origins []string) error {
	_, err := s.Client.PutBucketCors(ctx, &s3.PutBucketCorsInput{
		Bucket: aws.String(bucket),
		CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{{
			AllowedMethods: []string{"PUT", "GET", "HEAD"},
			AllowedOrigins: origins,
			AllowedHeaders: []string{"*"},
			ExposeHeaders:  []string{"ETag"},
			MaxAgeSeconds:  aws.Int32(3600),
		}}},
	})
	if err != nil {
		return fmt.Errorf("set CORS on bucket %s: %w", bucket, err)
	}
	return nil
}

// EnsureBucket creates bucket unless it exists already.
func (s *Store) EnsureBucket(ctx context.Context, bucket string) error {
	if _, err := s.Client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err == nil {
		return nil
	}
	_, err := s.Client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	return nil
}

// notFound marks S3's not-found answers with ErrNotFound: typed ones, and
// the codes of servers whose answers the SDK does not type.
func notFound(err error) error {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var nsb *types.NoSuchBucket
	var api smithy.APIError
	if errors.As(err, &nsk) || errors.As(err, &nf) || errors.As(err, &nsb) ||
		(errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound")) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}
