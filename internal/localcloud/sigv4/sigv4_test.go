package sigv4

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name, header string
		want         Auth
		wantErr      bool
	}{
		{"ok", "AWS4-HMAC-SHA256 Credential=AK/20261126/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
			Auth{AccessKey: "AK", Date: "20261126", Region: "us-east-1", Service: "lambda", SignedHeaders: []string{"host", "x-amz-date"}, Signature: "abc"}, false},
		{"v2 signature", "AWS AK:sig", Auth{}, true},
		{"short scope", "AWS4-HMAC-SHA256 Credential=AK/20261126/lambda/aws4_request, SignedHeaders=host, Signature=abc", Auth{}, true},
		{"no signature", "AWS4-HMAC-SHA256 Credential=AK/20261126/us-east-1/s3/aws4_request, SignedHeaders=host", Auth{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.header)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && (got.AccessKey != tc.want.AccessKey || got.Service != tc.want.Service || got.Region != tc.want.Region ||
				got.Signature != tc.want.Signature || len(got.SignedHeaders) != len(tc.want.SignedHeaders)) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func signed(t *testing.T, service, secret string, at time.Time, body []byte) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:4566/2015-03-31/functions/f%3A1/invocations?Qualifier=x", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-Amz-Invocation-Type", "Event")
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: secret},
		r, hashHex(body), service, "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	// What a server sees: an unsigned header added by a proxy on the way.
	r.Header.Set("User-Agent", "changed")
	r.Header.Set("X-Forwarded-For", "127.0.0.1")
	return r
}

func TestVerify(t *testing.T) {
	now := time.Now()
	body := []byte(`{"a":1}`)
	cases := []struct {
		name    string
		req     *http.Request
		body    []byte
		wantErr error
	}{
		{"valid", signed(t, "lambda", "test", now, body), body, nil},
		{"wrong secret", signed(t, "lambda", "nope", now, body), body, ErrBadSignature},
		{"body changed", signed(t, "lambda", "test", now, body), []byte(`{"a":2}`), ErrBadSignature},
		{"too old", signed(t, "lambda", "test", now.Add(-time.Hour), body), body, ErrClockSkew},
		{"unsigned", func() *http.Request { r, _ := http.NewRequest("POST", "http://x/", nil); return r }(), nil, ErrMissing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.req, tc.body, "test", "test", "us-east-1", now)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("got %v, want %v", err, tc.wantErr)
			}
		})
	}
	if got := Service(signed(t, "lambda", "test", now, body)); got != "lambda" {
		t.Errorf("Service = %q, want lambda", got)
	}
}
