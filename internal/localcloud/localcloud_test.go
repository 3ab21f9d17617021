package localcloud_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/hlsflow/hlsflow/internal/localcloud"
	"github.com/hlsflow/hlsflow/internal/localcloud/events"
	"github.com/hlsflow/hlsflow/internal/localcloud/lambdas"
	"github.com/hlsflow/hlsflow/internal/store"
)

// One cloud per test binary: versitygw allows one gateway per process.
var (
	once     sync.Once
	cloud    *localcloud.Cloud
	cloudErr error
	dataDir  string
	rec      = &recorder{byKey: map[string][]awsevents.S3EventRecord{}, changed: make(chan struct{})}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cloud != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := cloud.Close(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "close local cloud:", err)
		}
		cancel()
	}
	if dataDir != "" {
		os.RemoveAll(dataDir)
	}
	os.Exit(code)
}

// recorder is the "transcode" stand-in: it records every S3 event it is
// given and fails for keys under fail/.
type recorder struct {
	mu      sync.Mutex
	byKey   map[string][]awsevents.S3EventRecord
	calls   map[string]int
	changed chan struct{}
}

func (r *recorder) handle(_ context.Context, ev awsevents.S3Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	for _, x := range ev.Records {
		k := x.S3.Object.URLDecodedKey
		r.calls[k]++
		if strings.HasPrefix(k, "fail/") {
			return fmt.Errorf("cannot process %s", k)
		}
		r.byKey[k] = append(r.byKey[k], x)
	}
	close(r.changed)
	r.changed = make(chan struct{})
	return nil
}

// wait returns the events for key once there are n, or fails the test.
func (r *recorder) wait(t *testing.T, key string, n int) []awsevents.S3EventRecord {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		got, ch := append([]awsevents.S3EventRecord(nil), r.byKey[key]...), r.changed
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%d events for %q after 30s, want %d", len(got), key, n)
		}
	}
}

func shared(t testing.TB) *localcloud.Cloud {
	t.Helper()
	once.Do(func() {
		dataDir, cloudErr = os.MkdirTemp("", "hlsflow-localcloud-test-")
		if cloudErr != nil {
			return
		}
		cloud, cloudErr = localcloud.Start(context.Background(), localcloud.Config{
			DataDir: dataDir, S3Addr: "127.0.0.1:0",
			AccessKey: "test", SecretKey: "test",
			Backoff: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond},
			Functions: map[string]localcloud.Function{
				"record": {Handler: lambda.NewHandler(rec.handle), Timeout: 10 * time.Second},
				"double": {Handler: lambda.NewHandler(func(n int) (int, error) { return 2 * n, nil })},
			},
			Notifications: []localcloud.Notification{{Bucket: "uploads", Function: "record"}},
			Secrets:       map[string]string{"api-token": "s3cr3t"},
			Queues:        map[string]func(string){"jobs": queued.add},
		})
	})
	if cloudErr != nil {
		t.Fatalf("start local cloud: %v", cloudErr)
	}
	return cloud
}

func awsConfig(c *localcloud.Cloud, secret string) aws.Config {
	return aws.Config{
		Region:       c.Region(),
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKey(), secret, ""),
		BaseEndpoint: aws.String(c.Endpoint()),
	}
}

func TestWrongCredentialsStoreNothing(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	good := store.New(awsConfig(c, c.SecretKey()))

	t.Run("sdk", func(t *testing.T) {
		key := "denied/sdk.txt"
		bad := store.New(awsConfig(c, "wrong"))
		err := bad.PutBytes(ctx, "uploads", key, []byte("x"), store.Object{})
		var re interface{ HTTPStatusCode() int }
		if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
			t.Fatalf("put with wrong secret: %v, want 403", err)
		}
		if _, err := good.Head(ctx, "uploads", key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("object exists after a refused put: %v", err)
		}
	})
	t.Run("raw signed request", func(t *testing.T) {
		key := "denied/raw.txt"
		body := []byte("raw body")
		req, err := http.NewRequest(http.MethodPut, c.Endpoint()+"/uploads/"+key, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		creds := aws.Credentials{AccessKeyID: c.AccessKey(), SecretAccessKey: "wrong"}
		if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).
			SignHTTP(ctx, creds, req, "UNSIGNED-PAYLOAD", "s3", c.Region(), time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403", resp.StatusCode)
		}
		if _, err := good.Head(ctx, "uploads", key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("object exists after a refused put: %v", err)
		}
	})
	// An access key the cloud does not know: 403 InvalidAccessKeyId, as
	// S3 answers, for the SDK, a HEAD and a presigned URL alike.
	t.Run("unknown access key", func(t *testing.T) {
		key := "denied/unknown-key.txt"
		cfg := awsConfig(c, c.SecretKey())
		cfg.Credentials = credentials.NewStaticCredentialsProvider("nobody", c.SecretKey(), "")
		bad := store.New(cfg)
		err := bad.PutBytes(ctx, "uploads", key, []byte("x"), store.Object{})
		var re interface{ HTTPStatusCode() int }
		var ae smithy.APIError
		if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden ||
			!errors.As(err, &ae) || ae.ErrorCode() != "InvalidAccessKeyId" {
			t.Fatalf("put with an unknown access key: %v, want 403 InvalidAccessKeyId", err)
		}
		if _, err := good.Head(ctx, "uploads", key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("object exists after a refused put: %v", err)
		}
		if _, err := bad.Head(ctx, "uploads", key); !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
			t.Errorf("head with an unknown access key: %v, want 403", err)
		}
		ps, err := s3.NewPresignClient(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })).
			PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPut, ps.URL, strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "<Code>InvalidAccessKeyId</Code>") {
			t.Errorf("presigned put with an unknown access key: %d %s", resp.StatusCode, body)
		}
		if _, err := good.Head(ctx, "uploads", key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("object exists after a refused presigned put: %v", err)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, c.Endpoint()+"/uploads/denied/anon.txt", strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", resp.StatusCode)
		}
	})
}

func TestPutDeliversAWSEvent(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	st := store.New(awsConfig(c, c.SecretKey()))
	cases := []struct{ name, key, encoded string }{
		{"spaces and parens", "events/my video (1).mp4", "events/my+video+%281%29.mp4"},
		{"plus and accents", "events/vidéo+1.mp4", "events/vid%C3%A9o%2B1.mp4"},
		{"percent and query chars", "events/100% done?&x=1#.mp4", "events/100%25+done%3F%26x%3D1%23.mp4"},
		{"double slash", "events/a//b.mp4", "events/a//b.mp4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte("not really a video: " + tc.key)
			if err := st.PutBytes(ctx, "uploads", tc.key, body, store.Object{}); err != nil {
				t.Fatal(err)
			}
			info, err := st.Head(ctx, "uploads", tc.key)
			if err != nil {
				t.Fatal(err)
			}
			r := rec.wait(t, tc.key, 1)[0]
			if r.EventName != "ObjectCreated:Put" || r.EventSource != "aws:s3" || r.EventVersion != "2.1" || r.AWSRegion != c.Region() {
				t.Errorf("name/source/version/region = %q/%q/%q/%q", r.EventName, r.EventSource, r.EventVersion, r.AWSRegion)
			}
			o := r.S3.Object
			if o.Key != tc.encoded {
				t.Errorf("key %q, want %q", o.Key, tc.encoded)
			}
			if o.Size != int64(len(body)) || o.ETag != strings.Trim(info.ETag, `"`) {
				t.Errorf("size/etag = %d/%q, want %d/%q", o.Size, o.ETag, len(body), info.ETag)
			}
			if r.S3.Bucket.Name != "uploads" || r.S3.Bucket.Arn != "arn:aws:s3:::uploads" {
				t.Errorf("bucket %q arn %q", r.S3.Bucket.Name, r.S3.Bucket.Arn)
			}
		})
	}
}

// TestCopyObject: a copy inside the bucket (aws s3 cp/mv s3://… s3://…)
// stores the bytes and sends ObjectCreated:Copy, and a part copied from
// another object completes a multipart upload, as on S3.
func TestCopyObject(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	st := store.New(awsConfig(c, c.SecretKey()))
	data := make([]byte, 6<<20)
	rand.Read(data)
	src := "copy/source clip.mp4"
	if err := st.PutBytes(ctx, "uploads", src, data, store.Object{}); err != nil {
		t.Fatal(err)
	}
	dst := "copy/copied clip.mp4"
	if _, err := st.Client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: aws.String("uploads"), Key: aws.String(dst),
		CopySource: aws.String("uploads/" + url.PathEscape(src)),
	}); err != nil {
		t.Fatalf("copy object: %v", err)
	}
	if got, err := st.GetBytes(ctx, "uploads", dst); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("copied object: %d bytes, equal %v (%v)", len(got), bytes.Equal(got, data), err)
	}
	if ev := rec.wait(t, dst, 1)[0]; ev.EventName != "ObjectCreated:Copy" || ev.S3.Object.Key != "copy/copied+clip.mp4" {
		t.Errorf("copy event %q key %q, want ObjectCreated:Copy", ev.EventName, ev.S3.Object.Key)
	}

	// Multipart copy: the source's first 5 MiB as part 1, the rest as part 2.
	mp := "copy/multipart copy.mp4"
	cm, err := st.Client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("uploads"), Key: aws.String(mp)})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, rng := range []string{fmt.Sprintf("bytes=0-%d", 5<<20-1), fmt.Sprintf("bytes=%d-%d", 5<<20, len(data)-1)} {
		n := aws.Int32(int32(i + 1))
		out, err := st.Client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
			Bucket: aws.String("uploads"), Key: aws.String(mp), UploadId: cm.UploadId, PartNumber: n,
			CopySource: aws.String("uploads/" + url.PathEscape(src)), CopySourceRange: aws.String(rng),
		})
		if err != nil {
			t.Fatalf("upload part copy %s: %v", rng, err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: n})
	}
	if _, err := st.Client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String("uploads"), Key: aws.String(mp), UploadId: cm.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := st.GetBytes(ctx, "uploads", mp); err != nil || !bytes.Equal(got, data) {
		t.Errorf("multipart copy: %d bytes, equal %v (%v)", len(got), bytes.Equal(got, data), err)
	}
}

// TestEventsOnlyForCreatedObjects: requests that do not create an object
// (a part, a tag, a failed or refused PUT, a delete, a completion that S3
// rejects) send no event; a presigned PUT, as the web page makes, does.
func TestEventsOnlyForCreatedObjects(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	st := store.New(awsConfig(c, c.SecretKey()))
	bucket := aws.String("uploads")

	// Multipart: a part, then a completion naming a part that was never sent.
	mp := "none/multipart.bin"
	cm, err := st.Client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bucket, Key: aws.String(mp)})
	if err != nil {
		t.Fatal(err)
	}
	part, err := st.Client.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: aws.String(mp), UploadId: cm.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(make([]byte, 5<<20))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bucket, Key: aws.String(mp), UploadId: cm.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{ETag: part.ETag, PartNumber: aws.Int32(1)}, {ETag: aws.String(`"00000000000000000000000000000000"`), PartNumber: aws.Int32(2)},
		}}})
	if err == nil {
		t.Fatal("completion with a missing part succeeded")
	}
	// A refused PUT (wrong secret), a tag on an object, a delete.
	bad := store.New(awsConfig(c, "wrong"))
	if err := bad.PutBytes(ctx, "uploads", "none/refused.txt", []byte("x"), store.Object{}); err == nil {
		t.Fatal("put with a wrong secret succeeded")
	}
	tagged := "none/tagged.txt"
	if err := st.PutBytes(ctx, "uploads", tagged, []byte("x"), store.Object{}); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, tagged, 1)
	if _, err := st.Client.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: bucket, Key: aws.String(tagged),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String(tagged)}); err != nil {
		t.Fatal(err)
	}

	// A presigned PUT: the marker whose event says the others are through.
	presigned := "none/presigned marker.txt"
	ps, err := s3.NewPresignClient(st.Client).PresignPutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(presigned)})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, ps.URL, strings.NewReader("marker"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("presigned put: %s", resp.Status)
	}
	ev := rec.wait(t, presigned, 1)[0]
	if ev.EventName != "ObjectCreated:Put" || ev.S3.Object.Size != 6 || ev.RequestParameters.SourceIPAddress != "127.0.0.1" ||
		ev.PrincipalID.PrincipalID != "AWS:"+c.AccessKey() {
		t.Errorf("presigned put event: name %q size %d source %q principal %q", ev.EventName, ev.S3.Object.Size,
			ev.RequestParameters.SourceIPAddress, ev.PrincipalID.PrincipalID)
	}
	// Events are asynchronous: give stray ones a moment, then count.
	time.Sleep(200 * time.Millisecond)
	for _, k := range []string{mp, "none/refused.txt"} {
		rec.mu.Lock()
		n := len(rec.byKey[k])
		rec.mu.Unlock()
		if n != 0 {
			t.Errorf("%d events for %s, want none", n, k)
		}
	}
	if n := len(rec.wait(t, tagged, 1)); n != 1 {
		t.Errorf("%d events for %s (put, tag, delete), want 1", n, tagged)
	}
}

// TestPresignedPostEvent uploads with a presigned POST (an HTML form, as
// browser upload libraries do) and wants ObjectCreated:Post, whichever
// success status the form asks for.
func TestPresignedPostEvent(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	st := store.New(awsConfig(c, c.SecretKey()))
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, status := range []string{"", "200", "201", "303"} {
		t.Run("status "+cmp.Or(status, "default"), func(t *testing.T) {
			key := "post/form upload (" + cmp.Or(status, "204") + ").mp4"
			field, value := "success_action_status", status
			if status == "303" {
				field, value = "success_action_redirect", "http://example.test/done?from=form"
			}
			post, err := s3.NewPresignClient(st.Client).PresignPostObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String("uploads"), Key: aws.String(key),
			}, func(o *s3.PresignPostOptions) {
				if status != "" { // every form field must be in the policy
					o.Conditions = append(o.Conditions, map[string]string{field: value})
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			for k, v := range post.Values {
				mw.WriteField(k, v)
			}
			if status != "" {
				mw.WriteField(field, value)
			}
			fw, _ := mw.CreateFormFile("file", "clip.mp4")
			fw.Write([]byte("form upload body"))
			mw.Close()
			req, _ := http.NewRequest(http.MethodPost, post.URL, &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("presigned POST: %s %s", resp.Status, out)
			}
			ev := rec.wait(t, key, 1)[0]
			if ev.EventName != "ObjectCreated:Post" || ev.S3.Object.Size != int64(len("form upload body")) ||
				ev.S3.Object.Key != events.EncodeKey(key) || ev.S3.Object.ETag == "" || ev.PrincipalID.PrincipalID != "AWS:"+c.AccessKey() {
				t.Errorf("event %q key %q size %d etag %q principal %q", ev.EventName, ev.S3.Object.Key, ev.S3.Object.Size,
					ev.S3.Object.ETag, ev.PrincipalID.PrincipalID)
			}
		})
	}
}

// TestConcurrentUploadsEachGetTheirEvent puts many objects at once into
// both buckets: every upload gets exactly one event, naming its own key,
// size and ETag. (versitygw's own webhook could name another request's key
// under such load; the front door's events cannot.)
func TestConcurrentUploadsEachGetTheirEvent(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	st := store.New(awsConfig(c, c.SecretKey()))
	const n = 40
	etags := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("concurrent/clip %02d.mp4", i)
			body := bytes.Repeat([]byte{byte(i)}, 1000+i)
			out, err := st.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String(key), Body: bytes.NewReader(body)})
			if err != nil {
				t.Errorf("put %s: %v", key, err)
				return
			}
			etags[i] = strings.Trim(aws.ToString(out.ETag), `"`)
			// Segments written to the media bucket at the same time.
			if err := st.PutBytes(ctx, "media", fmt.Sprintf("vod/concurrent/seg_%05d.ts", i), body, store.Object{}); err != nil {
				t.Errorf("put segment: %v", err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		key := fmt.Sprintf("concurrent/clip %02d.mp4", i)
		evs := rec.wait(t, key, 1)
		if len(evs) != 1 || evs[0].S3.Object.Size != int64(1000+i) || evs[0].S3.Object.ETag != etags[i] ||
			evs[0].S3.Object.Key != fmt.Sprintf("concurrent/clip+%02d.mp4", i) {
			t.Errorf("%s: %d events, first %+v; want one, size %d, etag %s", key, len(evs), evs[0].S3.Object, 1000+i, etags[i])
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for k := range rec.byKey {
		if strings.HasPrefix(k, "vod/") || (strings.HasPrefix(k, "concurrent/") && !strings.HasPrefix(k, "concurrent/clip ")) {
			t.Errorf("event for %q, which no upload made", k)
		}
	}
}

func TestMultipartUploadOneEvent(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	st := store.New(awsConfig(c, c.SecretKey()))
	key := "events/multipart big.bin"
	const part = 5 << 20
	data := make([]byte, 3*part)
	rand.Read(data)
	// Three parts through the multipart API, as the SDK's upload managers
	// and the aws CLI send large files.
	cm, err := st.Client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("uploads"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i := range 3 {
		n := int32(i + 1)
		out, err := st.Client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String("uploads"), Key: aws.String(key), UploadId: cm.UploadId,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(data[i*part : (i+1)*part]),
		})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
	}
	if _, err := st.Client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String("uploads"), Key: aws.String(key), UploadId: cm.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetBytes(ctx, "uploads", key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes that differ from the %d uploaded", len(got), len(data))
	}
	rec.wait(t, key, 1)
	// Parts must not produce events of their own: give strays time to come.
	time.Sleep(time.Second)
	evs := rec.wait(t, key, 1)
	if len(evs) != 1 {
		t.Fatalf("got %d events for one multipart upload, want 1", len(evs))
	}
	if evs[0].EventName != "ObjectCreated:CompleteMultipartUpload" || evs[0].S3.Object.Size != int64(len(data)) {
		t.Errorf("event %q size %d", evs[0].EventName, evs[0].S3.Object.Size)
	}
}

func TestFailingHandlerIsDeadLettered(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	st := store.New(awsConfig(c, c.SecretKey()))
	key := "fail/broken video.mp4"
	if err := st.PutBytes(ctx, "uploads", key, []byte("x"), store.Object{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(c.DeadLetterDir(), "*-record-*.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var d lambdas.DeadLetter
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var ev awsevents.S3Event
			if err := json.Unmarshal(d.Event, &ev); err != nil || len(ev.Records) != 1 {
				t.Fatalf("dead letter event: %v", err)
			}
			if ev.Records[0].S3.Object.URLDecodedKey != key {
				continue
			}
			if d.Attempts != 3 || d.Error == nil || !strings.Contains(d.Error.Message, "cannot process") {
				t.Errorf("dead letter attempts %d error %+v", d.Attempts, d.Error)
			}
			rec.mu.Lock()
			calls := rec.calls[key]
			rec.mu.Unlock()
			if calls != 3 {
				t.Errorf("handler called %d times, want 3 (1 + 2 retries)", calls)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter for %q in %s", key, c.DeadLetterDir())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestInvokeAPIOnS3Port(t *testing.T) {
	c := shared(t)
	cases := []struct {
		name, secret string
		wantErr      bool
	}{{"right secret", c.SecretKey(), false}, {"wrong secret", "wrong", true}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lc := awslambda.NewFromConfig(awsConfig(c, tc.secret), func(o *awslambda.Options) { o.RetryMaxAttempts = 1 })
			out, err := lc.Invoke(context.Background(), &awslambda.InvokeInput{FunctionName: aws.String("double"), Payload: []byte("21")})
			if tc.wantErr {
				if err == nil {
					t.Fatal("invoke with wrong secret succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(out.Payload) != "42" || out.FunctionError != nil {
				t.Errorf("payload %s function error %v", out.Payload, aws.ToString(out.FunctionError))
			}
		})
	}
}

func TestAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	_, err = localcloud.Start(context.Background(), localcloud.Config{DataDir: t.TempDir(), S3Addr: addr})
	want := "listen " + addr + ": address already in use"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestAWSCLI(t *testing.T) {
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not installed")
	}
	c := shared(t)
	file := filepath.Join(t.TempDir(), "hello world.txt")
	if err := os.WriteFile(file, []byte("hello from the aws CLI"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", c.Endpoint()}, args...)...)
		cmd.Env = append(environWithoutAWS(), c.Environ()...)
		cmd.Env = append(cmd.Env, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("s3", "cp", file, "s3://uploads/cli/hello world.txt")
	if out := run("s3", "ls", "s3://uploads/cli/"); !strings.Contains(out, "hello world.txt") {
		t.Errorf("aws s3 ls does not list the upload:\n%s", out)
	}
	r := rec.wait(t, "cli/hello world.txt", 1)[0]
	if r.S3.Object.Key != "cli/hello+world.txt" {
		t.Errorf("event key %q", r.S3.Object.Key)
	}
}

// TestRclone uses rclone, a third S3 client with its own signing and
// multipart code, unchanged against the local cloud: a small upload, a
// multipart one, listing and reading back, each with the event AWS sends.
func TestRclone(t *testing.T) {
	rclone, err := exec.LookPath("rclone")
	if err != nil {
		t.Skip("rclone not installed (make setup installs it)")
	}
	c := shared(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "rclone.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(rclone, append([]string{"--config", conf}, args...)...)
		// Only the remote below configures it: rclone 1.60 also reads
		// AWS_* variables, and fails on some (AWS_CA_BUNDLE).
		cmd.Env = append(environWithoutAWS(),
			"RCLONE_CONFIG_LOCAL_TYPE=s3",
			"RCLONE_CONFIG_LOCAL_PROVIDER=Other",
			"RCLONE_CONFIG_LOCAL_ENDPOINT="+c.Endpoint(),
			"RCLONE_CONFIG_LOCAL_ACCESS_KEY_ID="+c.AccessKey(),
			"RCLONE_CONFIG_LOCAL_SECRET_ACCESS_KEY="+c.SecretKey(),
			"RCLONE_CONFIG_LOCAL_REGION="+c.Region(),
			"RCLONE_CONFIG_LOCAL_FORCE_PATH_STYLE=true",
		)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("rclone %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	small := filepath.Join(dir, "small clip.txt")
	if err := os.WriteFile(small, []byte("hello from rclone"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 12<<20+12345)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	bigFile := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(bigFile, big, 0o644); err != nil {
		t.Fatal(err)
	}

	run("copyto", small, "local:uploads/rclone/small clip.txt")
	if ev := rec.wait(t, "rclone/small clip.txt", 1)[0]; ev.EventName != "ObjectCreated:Put" || ev.S3.Object.Key != "rclone/small+clip.txt" {
		t.Errorf("small upload: event %q key %q", ev.EventName, ev.S3.Object.Key)
	}
	// 5 MiB parts: three parts, so a multipart upload.
	run("copyto", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", bigFile, "local:uploads/rclone/big.bin")
	if ev := rec.wait(t, "rclone/big.bin", 1)[0]; ev.EventName != "ObjectCreated:CompleteMultipartUpload" || ev.S3.Object.Size != int64(len(big)) {
		t.Errorf("multipart upload: event %q size %d, want CompleteMultipartUpload of %d", ev.EventName, ev.S3.Object.Size, len(big))
	}
	if got := run("lsf", "local:uploads/rclone/"); got != "big.bin\nsmall clip.txt\n" {
		t.Errorf("rclone lsf: %q", got)
	}
	if got := run("cat", "local:uploads/rclone/small clip.txt"); got != "hello from rclone" {
		t.Errorf("rclone cat: %q", got)
	}
	// rclone compares sizes and its stored MD5 with the local files.
	run("check", "--one-way", dir, "local:uploads/rclone/", "--exclude", "rclone.conf")
	back := filepath.Join(dir, "back.bin")
	run("copyto", "local:uploads/rclone/big.bin", back)
	if got, err := os.ReadFile(back); err != nil || !bytes.Equal(got, big) {
		t.Errorf("big.bin read back: %d bytes, equal %v (%v)", len(got), bytes.Equal(got, big), err)
	}
}

// environWithoutAWS is this process's environment less the AWS_*
// variables, so that a client sees only the local cloud's settings.
func environWithoutAWS() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}

// BenchmarkUpReady measures how long Start takes until an upload is
// accepted; it prints "up_ready_s: SECONDS" (the mean) for make bench.
// Run it alone (-run '^$'): it needs the process's one gateway.
func BenchmarkUpReady(b *testing.B) {
	if cloud != nil {
		b.Skip("the shared test cloud holds this process's gateway; run with -run '^$'")
	}
	var total time.Duration
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		start := time.Now()
		c, err := localcloud.Start(context.Background(), localcloud.Config{DataDir: dir, S3Addr: "127.0.0.1:0", AccessKey: "test", SecretKey: "test"})
		if err != nil {
			b.Fatal(err)
		}
		st := store.New(awsConfig(c, "test"))
		for {
			err := st.PutBytes(context.Background(), "uploads", "ready.txt", []byte("x"), store.Object{})
			if err == nil {
				break
			}
			if time.Since(start) > 30*time.Second {
				b.Fatalf("not ready after 30s: %v", err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		total += time.Since(start)
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := c.Close(ctx); err != nil {
			b.Fatal(err)
		}
		cancel()
		b.StartTimer()
	}
	mean := total.Seconds() / float64(b.N)
	b.ReportMetric(mean, "up_ready_s")
	fmt.Printf("up_ready_s: %.3f\n", mean)
}
