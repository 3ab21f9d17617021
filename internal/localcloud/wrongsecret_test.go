package localcloud_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/hlsflow/hlsflow/internal/store"
)

// TestWrongSecretPutGets403 pins S3's answer to a PUT signed with a wrong
// secret: 403 SignatureDoesNotMatch, whatever the body size and whether
// or not the client waits for 100 Continue. The gateway answers such a PUT
// before reading its body and closes the connection; the front door used
// to lose that answer to the write error and say 503 ServiceUnavailable,
// which SDKs retry as an outage. Each case runs several times: it was a
// race.
func TestWrongSecretPutGets403(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	good := store.New(awsConfig(c, c.SecretKey()))
	sizes := []int{10, 1 << 20, 8 << 20}
	const rounds = 4

	t.Run("curl", func(t *testing.T) {
		curl, err := exec.LookPath("curl")
		if err != nil {
			t.Skip("curl not installed")
		}
		status := regexp.MustCompile(`(?m)^HTTP/1\.1 (\d{3})`)
		for _, size := range sizes {
			file := filepath.Join(t.TempDir(), "body")
			if err := os.WriteFile(file, bytes.Repeat([]byte{'v'}, size), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, expect := range []string{"Expect: 100-continue", "Expect:"} {
				for i := range rounds {
					key := fmt.Sprintf("denied/curl-%d-%t-%d", size, expect != "Expect:", i)
					out, err := exec.Command(curl, "-sS", "-i", "-T", file, "--aws-sigv4", "aws:amz:"+c.Region()+":s3",
						"--user", c.AccessKey()+":wrong-secret", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
						"-H", expect, c.Endpoint()+"/uploads/"+key).CombinedOutput()
					if err != nil {
						t.Fatalf("curl: %v\n%s", err, out)
					}
					codes := status.FindAllSubmatch(out, -1)
					final := string(codes[len(codes)-1][1])
					if final != "403" || !bytes.Contains(out, []byte("<Code>SignatureDoesNotMatch</Code>")) {
						t.Fatalf("%d bytes, %q, round %d: final status %s\n%.600s", size, expect, i, final, out)
					}
					if _, err := good.Head(ctx, "uploads", key); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("object %s exists after a refused put: %v", key, err)
					}
				}
			}
		}
	})

	// A client that waits for 100 Continue is answered without sending
	// its body, as S3 does; one that does not wait gets the same answer.
	t.Run("net/http", func(t *testing.T) {
		for _, wait := range []time.Duration{5 * time.Second, 0} {
			key := fmt.Sprintf("denied/nethttp-%s", wait)
			body := &countingReader{r: bytes.NewReader(bytes.Repeat([]byte{'v'}, 8<<20))}
			req, err := http.NewRequest(http.MethodPut, c.Endpoint()+"/uploads/"+key, body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = 8 << 20
			req.Header.Set("Expect", "100-continue")
			req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			creds := aws.Credentials{AccessKeyID: c.AccessKey(), SecretAccessKey: "wrong-secret"}
			if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).
				SignHTTP(ctx, creds, req, "UNSIGNED-PAYLOAD", "s3", c.Region(), time.Now()); err != nil {
				t.Fatal(err)
			}
			tr := &http.Transport{ExpectContinueTimeout: wait}
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatalf("wait %s: %v", wait, err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			tr.CloseIdleConnections()
			if resp.StatusCode != http.StatusForbidden || !bytes.Contains(msg, []byte("<Code>SignatureDoesNotMatch</Code>")) {
				t.Errorf("wait %s: %d %s", wait, resp.StatusCode, msg)
			}
			if wait > 0 && body.n > 0 {
				t.Errorf("a client waiting for 100 Continue was made to send %d bytes of a refused body", body.n)
			}
			if _, err := good.Head(ctx, "uploads", key); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("object %s exists after a refused put: %v", key, err)
			}
		}
	})

	// The SDK sends Expect: 100-continue for bodies over 2 MiB, and does
	// not wait for it (net/http waits only for HTTP/1.1 requests, and the
	// SDK's do not say which protocol they are).
	t.Run("sdk", func(t *testing.T) {
		bad := s3.NewFromConfig(awsConfig(c, "wrong-secret"), func(o *s3.Options) {
			o.UsePathStyle = true
			o.RetryMaxAttempts = 1 // a 503 must not hide behind a retry
		})
		for _, size := range sizes {
			for i := range rounds {
				key := fmt.Sprintf("denied/sdk-%d-%d", size, i)
				_, err := bad.PutObject(ctx, &s3.PutObjectInput{
					Bucket: aws.String("uploads"), Key: aws.String(key),
					Body: bytes.NewReader(bytes.Repeat([]byte{'v'}, size)), ContentLength: aws.Int64(int64(size)),
				})
				var re interface{ HTTPStatusCode() int }
				var ae smithy.APIError
				if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden ||
					!errors.As(err, &ae) || ae.ErrorCode() != "SignatureDoesNotMatch" {
					t.Fatalf("%d bytes, round %d: %v, want 403 SignatureDoesNotMatch", size, i, err)
				}
				if _, err := good.Head(ctx, "uploads", key); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("object %s exists after a refused put: %v", key, err)
				}
			}
		}
	})
}

// TestRightSecretWithContinue: the front door judges the signature of a
// request that waits for 100 Continue itself; it must agree with the
// gateway on every key a client may sign, with the SDK's signer (which
// leaves Expect unsigned) and with curl's (which signs it), and with
// query parameters, or right uploads would be refused.
func TestRightSecretWithContinue(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	good := store.New(awsConfig(c, c.SecretKey()))
	keys := []string{
		"continue/plain.bin",
		"continue/my video (1).mp4",
		"continue/vidéo+1 ~!$'*,;=@:.mp4",
		"continue/100% done?&x=1#.mp4",
		"continue/a//b.mp4",
		"continue/UPPER lower nbsp.mp4",
	}
	for _, wrong := range []bool{false, true} {
		for i, key := range keys {
			secret := c.SecretKey()
			if wrong {
				secret = "wrong-secret"
				key = strings.Replace(key, "continue/", "continue-denied/", 1)
			}
			body := []byte(fmt.Sprintf("body %d of %s", i, key))
			u := c.Endpoint() + "/uploads/" + escapeKey(key) + "?x-id=PutObject"
			req, err := http.NewRequest(http.MethodPut, u, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Expect", "100-continue")
			req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			req.Header.Set("X-Amz-Meta-Note", "  two  spaces ")
			creds := aws.Credentials{AccessKeyID: c.AccessKey(), SecretAccessKey: secret}
			if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).
				SignHTTP(ctx, creds, req, "UNSIGNED-PAYLOAD", "s3", c.Region(), time.Now()); err != nil {
				t.Fatal(err)
			}
			tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatalf("%q: %v", key, err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			tr.CloseIdleConnections()
			_, herr := good.Head(ctx, "uploads", key)
			switch {
			case !wrong && (resp.StatusCode != http.StatusOK || herr != nil):
				t.Errorf("right secret, %q: %d %s; head: %v", key, resp.StatusCode, msg, herr)
			case wrong && (resp.StatusCode != http.StatusForbidden || !bytes.Contains(msg, []byte("<Code>SignatureDoesNotMatch</Code>")) || !errors.Is(herr, store.ErrNotFound)):
				t.Errorf("wrong secret, %q: %d %s; head: %v", key, resp.StatusCode, msg, herr)
			}
		}
	}

	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	file := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(file, bytes.Repeat([]byte{'c'}, 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	key := "continue/curl signed (expect).bin"
	out, err := exec.Command(curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T", file,
		"--aws-sigv4", "aws:amz:"+c.Region()+":s3", "--user", c.AccessKey()+":"+c.SecretKey(),
		"-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-H", "Expect: 100-continue",
		c.Endpoint()+"/uploads/"+escapeKey(key)).CombinedOutput()
	if err != nil || string(out) != "200" {
		t.Fatalf("curl with the right secret: %v %s", err, out)
	}
	if _, err := good.Head(ctx, "uploads", key); err != nil {
		t.Errorf("curl's upload is not stored: %v", err)
	}
}

// escapeKey encodes a key for a path as the SDK does.
func escapeKey(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

type countingReader struct {
	r *bytes.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// endless is a body that never ends; n counts what was read of it.
type endless struct{ n atomic.Int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'v'
	}
	e.n.Add(int64(len(p)))
	return len(p), nil
}

// TestWrongSecretEndlessBodyIsBounded: a PUT signed with a wrong secret
// that sends a body without end, not waiting for 100 Continue, is read
// for at most the front door's drain limit (32 MiB) and then answered or
// cut off: the server never takes an endless body.
func TestWrongSecretEndlessBodyIsBounded(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	body := &endless{}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.Endpoint()+"/uploads/denied/endless", io.NopCloser(body))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1 // chunked: no length to refuse it by
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	creds := aws.Credentials{AccessKeyID: c.AccessKey(), SecretAccessKey: "wrong-secret"}
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).
		SignHTTP(ctx, creds, req, "UNSIGNED-PAYLOAD", "s3", c.Region(), time.Now()); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: time.Minute}).Do(req)
	if err == nil {
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !bytes.Contains(msg, []byte("<Code>SignatureDoesNotMatch</Code>")) {
			t.Errorf("endless wrong-secret PUT: %d %s", resp.StatusCode, msg)
		}
	} else if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		t.Fatalf("the server kept reading an endless body: %v after %d bytes", err, body.n.Load())
	}
	// The drain's 32 MiB, plus what socket buffers and the transport hold.
	if n := body.n.Load(); n > 48<<20 {
		t.Errorf("the client got to send %d MiB of a refused body", n>>20)
	}
	if _, err := store.New(awsConfig(c, c.SecretKey())).Head(ctx, "uploads", "denied/endless"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("object exists after a refused endless put: %v", err)
	}
}
