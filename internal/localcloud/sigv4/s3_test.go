package sigv4

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// s3Request is a request signed by the SDK's S3 signer, as a server
// receives it.
func s3Request(t *testing.T, target, secret string, header map[string]string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPut, "http://127.0.0.1:4566"+target, strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	err = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: "test", SecretAccessKey: secret}, r, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.RequestURI = target
	r.Header.Set("Content-Length", "4")
	return r
}

func TestCheckS3(t *testing.T) {
	targets := []string{
		"/uploads/plain.mp4",
		"/uploads/my%20video%20%281%29.mp4",
		"/uploads/vid%C3%A9o%2B1.mp4?partNumber=2&uploadId=a%2Fb",
		"/uploads?list-type=2&prefix=a%20b&delimiter=%2F",
		"/uploads/a//b.mp4?x-id=PutObject",
	}
	hdr := map[string]string{"X-Amz-Meta-Note": "  two  spaces ", "Content-Type": "video/mp4"}
	for _, target := range targets {
		if err := CheckS3(s3Request(t, target, "right", hdr), "test", "right"); err != nil {
			t.Errorf("%s, right secret: %v", target, err)
		}
		if err := CheckS3(s3Request(t, target, "wrong", hdr), "test", "right"); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s, wrong secret: %v, want ErrBadSignature", target, err)
		}
	}
	r := s3Request(t, "/uploads/x", "right", nil)
	if err := CheckS3(r, "other", "right"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key: %v", err)
	}
	r = s3Request(t, "/uploads/x", "right", nil)
	r.Header.Set("X-Amz-Meta-Note", "changed after signing")
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=", "SignedHeaders=x-amz-meta-note;", 1))
	if err := CheckS3(r, "test", "right"); !errors.Is(err, ErrBadSignature) {
		t.Errorf("header changed after signing: %v", err)
	}
	unsigned, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:4566/uploads/x", nil)
	unsigned.RequestURI = "/uploads/x"
	if err := CheckS3(unsigned, "test", "right"); !errors.Is(err, ErrUndecided) {
		t.Errorf("unsigned: %v, want ErrUndecided", err)
	}
	r = s3Request(t, "/uploads/x", "right", nil)
	r.Header.Del("X-Amz-Content-Sha256")
	if err := CheckS3(r, "test", "right"); !errors.Is(err, ErrUndecided) {
		t.Errorf("no payload hash: %v, want ErrUndecided", err)
	}
}
