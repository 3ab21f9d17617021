// Package sigv4 reads and checks AWS Signature Version 4 on requests that
// reach the local cloud's front door: which service a request is signed
// for, whether a Lambda Invoke API request's signature is right (Verify),
// and whether an S3 request's is, before its body is read (CheckS3).
package sigv4

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const algorithm = "AWS4-HMAC-SHA256"

// Errors from Verify; the Invoke API maps them to AWS's error codes.
var (
	ErrMissing       = errors.New("request is not signed") // MissingAuthenticationTokenException
	ErrMalformed     = errors.New("malformed authorization")
	ErrUnknownKey    = errors.New("unknown access key")              // UnrecognizedClientException
	ErrBadSignature  = errors.New("signature does not match")        // InvalidSignatureException
	ErrClockSkew     = errors.New("request time too skewed")         // InvalidSignatureException
	ErrScopeMismatch = errors.New("credential scope does not match") // InvalidSignatureException
)

// Auth is a parsed Authorization header.
type Auth struct {
	AccessKey, Date, Region, Service string
	SignedHeaders                    []string
	Signature                        string
}

// Parse reads an "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=..." header.
func Parse(header string) (Auth, error) {
	rest, ok := strings.CutPrefix(header, algorithm+" ")
	if !ok {
		return Auth{}, ErrMalformed
	}
	var a Auth
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Auth{}, ErrMalformed
		}
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return Auth{}, ErrMalformed
			}
			a.AccessKey, a.Date, a.Region, a.Service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			a.SignedHeaders = strings.Split(v, ";")
		case "Signature":
			a.Signature = v
		}
	}
	if a.AccessKey == "" || a.Signature == "" || len(a.SignedHeaders) == 0 {
		return Auth{}, ErrMalformed
	}
	return a, nil
}

// Service returns the service a request is signed for, from its
// Authorization header or, for presigned URLs, its X-Amz-Credential
// query parameter; "" when it is not signed.
func Service(r *http.Request) string { return credential(r).Service }

// AccessKey returns the access key a request is signed with, found as
// Service finds the service; "" when it is not signed.
func AccessKey(r *http.Request) string { return credential(r).AccessKey }

// credential is the credential scope a request is signed with (only its
// key, date, region and service are set); zero when there is none.
func credential(r *http.Request) Auth {
	if h := r.Header.Get("Authorization"); h != "" {
		a, err := Parse(h)
		if err != nil {
			return Auth{}
		}
		return a
	}
	if c := r.URL.Query().Get("X-Amz-Credential"); c != "" {
		if f := strings.Split(c, "/"); len(f) == 5 {
			return Auth{AccessKey: f[0], Date: f[1], Region: f[2], Service: f[3]}
		}
	}
	return Auth{}
}

// MaxSkew is how far a request's time may be from now, as on AWS.
const MaxSkew = 15 * time.Minute

// Verify checks r's header signature against the one credential pair the
// local cloud knows. body is the request body already read (its SHA-256
// is part of the signature unless x-amz-content-sha256 says otherwise).
// It recomputes the signature with the AWS SDK's own signer over exactly
// the headers the client signed.
func Verify(r *http.Request, body []byte, accessKey, secretKey, region string, now time.Time) (Auth, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return Auth{}, ErrMissing
	}
	a, err := Parse(h)
	if err != nil {
		return Auth{}, err
	}
	if a.AccessKey != accessKey {
		return a, ErrUnknownKey
	}
	if a.Region != region {
		return a, fmt.Errorf("%w: region %q, want %q", ErrScopeMismatch, a.Region, region)
	}
	t, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return a, fmt.Errorf("%w: x-amz-date", ErrMalformed)
	}
	if t.Format("20060102") != a.Date {
		return a, ErrScopeMismatch
	}
	if d := now.Sub(t); d > MaxSkew || d < -MaxSkew {
		return a, ErrClockSkew
	}

	// Rebuild the request with only the signed headers, so the signer
	// signs exactly those.
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	re, err := http.NewRequestWithContext(context.Background(), r.Method, u.String(), nil)
	if err != nil {
		return a, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	re.URL.RawPath, re.URL.Path = r.URL.RawPath, r.URL.Path
	re.Host = r.Host
	for _, name := range a.SignedHeaders {
		switch name {
		case "host":
		case "content-length":
			re.ContentLength = r.ContentLength
			if re.ContentLength < 0 {
				re.ContentLength = int64(len(body))
			}
		default:
			for _, v := range r.Header.Values(name) {
				re.Header.Add(name, v)
			}
		}
	}
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		payloadHash = hashHex(body)
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) {
		// S3 signs the path as sent; other services escape it once more.
		o.DisableURIPathEscaping = a.Service == "s3"
	})
	creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}
	if err := signer.SignHTTP(context.Background(), creds, re, payloadHash, a.Service, a.Region, t); err != nil {
		return a, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	want, err := Parse(re.Header.Get("Authorization"))
	if err != nil {
		return a, err
	}
	if !hmac.Equal([]byte(want.Signature), []byte(a.Signature)) {
		return a, ErrBadSignature
	}
	return a, nil
}
