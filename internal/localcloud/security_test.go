package localcloud_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hlsflow/hlsflow/internal/store"
)

// TestForeignHostRefused: the front door answers only for its own names
// (DNS rebinding): a page whose domain points at 127.0.0.1 gets 421 for
// S3, presigned URLs and the Invoke API alike, and nothing is stored or run.
func TestForeignHostRefused(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	good := store.New(awsConfig(c, c.SecretKey()))
	port := c.Endpoint()[strings.LastIndex(c.Endpoint(), ":"):]

	ps, err := s3.NewPresignClient(s3.NewFromConfig(awsConfig(c, c.SecretKey()), func(o *s3.Options) { o.UsePathStyle = true })).
		PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String("rebind/presigned.txt")})
	if err != nil {
		t.Fatal(err)
	}
	signed := func(method, url, service string) *http.Request {
		req, _ := http.NewRequest(method, url, strings.NewReader("21"))
		req.Host = "rebind.evil.example" + port
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		creds := aws.Credentials{AccessKeyID: c.AccessKey(), SecretAccessKey: c.SecretKey()}
		if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" }).
			SignHTTP(ctx, creds, req, "UNSIGNED-PAYLOAD", service, c.Region(), time.Now()); err != nil {
			t.Fatal(err)
		}
		return req
	}
	presigned, _ := http.NewRequest(http.MethodPut, ps.URL, strings.NewReader("x"))
	presigned.Host = "rebind.evil.example" + port
	anonymous, _ := http.NewRequest(http.MethodGet, c.Endpoint()+"/media/", nil)
	anonymous.Host = "rebind.evil.example" + port
	for name, req := range map[string]*http.Request{
		"signed put": signed(http.MethodPut, c.Endpoint()+"/uploads/rebind/signed.txt", "s3"),
		"presigned":  presigned,
		"anonymous":  anonymous,
		"invoke":     signed(http.MethodPost, c.Endpoint()+"/2015-03-31/functions/record/invocations", "lambda"),
		"no port": func() *http.Request {
			r := signed(http.MethodGet, c.Endpoint()+"/uploads", "s3")
			r.Host = "evil.example"
			return r
		}(),
		"ip of other": func() *http.Request {
			r := signed(http.MethodGet, c.Endpoint()+"/uploads", "s3")
			r.Host = "198.51.100.7" + port
			return r
		}(),
	} {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest || string(b) != "misdirected request\n" {
			t.Errorf("%s for a foreign host: %d %q", name, resp.StatusCode, b)
		}
	}
	for _, key := range []string{"rebind/presigned.txt", "rebind/signed.txt"} {
		if _, err := good.Head(ctx, "uploads", key); err == nil {
			t.Errorf("%s stored through a foreign host", key)
		}
	}
	// Its own names still work, for the SDK and for presigned URLs.
	for _, host := range []string{"localhost" + port, "127.0.0.1" + port} {
		cfg := awsConfig(c, c.SecretKey())
		cfg.BaseEndpoint = aws.String("http://" + host)
		if err := store.New(cfg).PutBytes(ctx, "uploads", "rebind/own-"+host, []byte("x"), store.Object{}); err != nil {
			t.Errorf("put through %s: %v", host, err)
		}
	}
	resp, err := http.DefaultClient.Do(func() *http.Request {
		r, _ := http.NewRequest(http.MethodPut, ps.URL, strings.NewReader("x"))
		return r
	}())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("presigned put through its own host: %d", resp.StatusCode)
	}
}

// TestDataPrivate: what the cloud keeps (objects, metadata) is in
// directories only its user can open.
func TestDataPrivate(t *testing.T) {
	c := shared(t)
	for _, dir := range []string{c.DataDir(), filepath.Join(c.DataDir(), "s3")} {
		st, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o700 {
			t.Errorf("%s has mode %v, want 0700", dir, st.Mode().Perm())
		}
	}
}

// TestOtherSitesFormPostRefused: a page on another site can make a browser
// POST a form to the local S3 without any CORS preflight, and test/test
// are no secret: such a request (it carries the site's Origin) is refused
// and stores nothing; the same form without a browser's Origin works.
func TestOtherSitesFormPostRefused(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	st := store.New(awsConfig(c, c.SecretKey()))
	for _, origin := range []string{"http://evil.example", "null", ""} {
		key := "cross-site/form-" + cmp.Or(origin, "none")
		post, err := s3.NewPresignClient(st.Client).PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, v := range post.Values {
			mw.WriteField(k, v)
		}
		fw, _ := mw.CreateFormFile("file", "page.html")
		fw.Write([]byte("<script>alert(1)</script>"))
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, post.URL, &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_, herr := st.Head(ctx, "uploads", key)
		switch {
		case origin != "" && (resp.StatusCode != http.StatusForbidden || !errors.Is(herr, store.ErrNotFound)):
			t.Errorf("form POST from %s: %d, head: %v", origin, resp.StatusCode, herr)
		case origin == "" && (resp.StatusCode/100 != 2 || herr != nil):
			t.Errorf("form POST without Origin: %d, head: %v", resp.StatusCode, herr)
		}
	}
}
