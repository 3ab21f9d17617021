package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrUndecided means CheckS3 did not judge the request; the S3 server will.
var ErrUndecided = errors.New("signature not checked here")

// CheckS3 checks the Authorization-header signature of an S3 request
// without reading its body, by the rules the local S3 server (versitygw)
// applies: the canonical URI is the decoded path encoded again by SigV4's
// rules, exactly the headers the client listed are signed (a listed header
// that is absent counts as empty), and the payload hash is the one in
// x-amz-content-sha256. It returns nil when the signature matches,
// ErrUnknownKey or ErrBadSignature when it cannot, and ErrUndecided for a
// request it does not judge (presigned, no date or payload hash, a scope
// whose date is not the request's): the server decides those.
//
// It lets the front door answer a request that waits for 100 Continue
// before the client sends its body, as S3 does.
func CheckS3(r *http.Request, accessKey, secretKey string) error {
	a, err := Parse(r.Header.Get("Authorization"))
	if err != nil || a.Service != "s3" {
		return ErrUndecided
	}
	if a.AccessKey != accessKey {
		return ErrUnknownKey
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	t, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if payload == "" || err != nil || t.Format("20060102") != a.Date {
		return ErrUndecided
	}
	rawPath, _, _ := strings.Cut(r.RequestURI, "?")
	if strings.Contains(rawPath, "://") || rawPath == "" {
		return ErrUndecided // absolute-form target: not what SDKs send
	}
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		return ErrUndecided
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return ErrUndecided
	}
	for _, v := range query {
		slices.Sort(v)
	}

	names := []string{"host"}
	for _, h := range a.SignedHeaders {
		h = strings.ToLower(h)
		if h != "" && h != "authorization" && !slices.Contains(names, h) {
			names = append(names, h)
		}
	}
	slices.Sort(names)
	var canon strings.Builder
	for _, name := range names {
		canon.WriteString(name)
		canon.WriteByte(':')
		switch name {
		case "host":
			canon.WriteString(collapseSpaces(r.Host))
		case "content-length":
			n := r.Header.Get("Content-Length")
			if n == "" {
				if r.ContentLength < 0 {
					return ErrUndecided
				}
				n = strconv.FormatInt(r.ContentLength, 10)
			}
			canon.WriteString(n)
		default:
			for i, v := range r.Header.Values(name) {
				if i > 0 {
					canon.WriteByte(',')
				}
				canon.WriteString(strings.TrimSpace(collapseSpaces(v)))
			}
		}
		canon.WriteByte('\n')
	}

	creq := strings.Join([]string{
		r.Method,
		escapePath(path),
		strings.ReplaceAll(query.Encode(), "+", "%20"),
		canon.String(),
		strings.Join(names, ";"),
		payload,
	}, "\n")
	scope := a.Date + "/" + a.Region + "/s3/aws4_request"
	toSign := algorithm + "\n" + t.Format("20060102T150405Z") + "\n" + scope + "\n" + hashHex([]byte(creq))
	key := hmacSHA256([]byte("AWS4"+secretKey), a.Date)
	for _, part := range []string{a.Region, "s3", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	want := hexString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(a.Signature)) {
		return ErrBadSignature
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// collapseSpaces trims spaces at both ends and makes each run of spaces
// inside one space, as SigV4 canonical header values are.
func collapseSpaces(s string) string {
	s = strings.Trim(s, " ")
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// escapePath percent-encodes every byte but '/' and the unreserved ones
// (A-Za-z0-9-._~).
func escapePath(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '/':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
