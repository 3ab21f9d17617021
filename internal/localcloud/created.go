package localcloud

import (
	"bytes"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/localcloud/events"
	"github.com/hlsflow/hlsflow/internal/localcloud/sigv4"
)

// maxResultBody bounds the XML result of a copy or a multipart completion
// read for its ETag; S3's are a few hundred bytes.
const maxResultBody = 1 << 20

// created recognises, from S3's response, a request that created an object
// (PutObject, CopyObject, CompleteMultipartUpload, a browser form POST) and
// says what was made. It reads (and puts back) the small XML result of
// copies and completions.
func created(resp *http.Response) (events.Created, bool) {
	req := resp.Request
	if req == nil {
		return events.Created{}, false
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	q := operationQuery(req.URL.Query())
	if req.Method == http.MethodPost && bucket != "" && key == "" && len(q) == 0 {
		return formPost(resp, bucket)
	}
	if resp.StatusCode != http.StatusOK || bucket == "" || key == "" {
		return events.Created{}, false
	}
	c := newCreated(resp, bucket, key)
	switch {
	case req.Method == http.MethodPut && len(q) == 0 && req.Header.Get("X-Amz-Copy-Source") != "":
		c.EventName = "s3:ObjectCreated:Copy"
	case req.Method == http.MethodPut && len(q) == 0:
		c.EventName = "s3:ObjectCreated:Put"
		c.ETag = resp.Header.Get("ETag")
		return c, true
	case req.Method == http.MethodPost && len(q) == 1 && q.Has("uploadId"):
		c.EventName = "s3:ObjectCreated:CompleteMultipartUpload"
	default:
		return events.Created{}, false
	}
	// S3 may answer 200 with an <Error> body for these two.
	etag, ok := resultETag(resp)
	if !ok {
		return events.Created{}, false
	}
	c.ETag = etag
	return c, true
}

func newCreated(resp *http.Response, bucket, key string) events.Created {
	c := events.Created{
		Bucket: bucket, Key: key,
		Principal: sigv4.AccessKey(resp.Request),
		RequestID: resp.Header.Get("X-Amz-Request-Id"),
		HostID:    resp.Header.Get("X-Amz-Id-2"),
		Time:      time.Now(),
	}
	if host, _, err := net.SplitHostPort(resp.Request.RemoteAddr); err == nil {
		c.SourceIP = host
	}
	return c
}

// formPost reads what a browser form upload (POST to the bucket, the key a
// form field) created. The key is not in the URL, so it comes from the
// answer: the Location of the object (204, 200, 201), or the key, bucket
// and etag S3 adds to the success_action_redirect URL (303). The form's
// policy, not a signed header, carries the access key.
func formPost(resp *http.Response, bucket string) (events.Created, bool) {
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return events.Created{}, false
	}
	var key, etag string
	switch resp.StatusCode {
	case http.StatusNoContent, http.StatusOK, http.StatusCreated:
		// {scheme}://{host}/{bucket}/{url.PathEscape(key)}
		esc, ok := strings.CutPrefix(loc.EscapedPath(), "/"+bucket+"/")
		if !ok {
			return events.Created{}, false
		}
		if key, err = url.PathUnescape(esc); err != nil {
			return events.Created{}, false
		}
		etag = resp.Header.Get("ETag")
	case http.StatusSeeOther:
		q := loc.Query()
		if q.Get("bucket") != bucket {
			return events.Created{}, false
		}
		key, etag = q.Get("key"), q.Get("etag")
	default:
		return events.Created{}, false
	}
	if key == "" {
		return events.Created{}, false
	}
	c := newCreated(resp, bucket, key)
	c.EventName = "s3:ObjectCreated:Post"
	c.ETag = etag
	return c, true
}

// operationQuery drops the query parameters that do not name an operation:
// a presigned URL's X-Amz-* and the SDKs' x-id.
func operationQuery(q url.Values) url.Values {
	for k := range q {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-") || k == "x-id" {
			delete(q, k)
		}
	}
	return q
}

// resultETag reads the ETag of a CopyObjectResult or a
// CompleteMultipartUploadResult, and reports false for an <Error>.
func resultETag(resp *http.Response) (string, bool) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResultBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return "", false
	}
	var result struct {
		XMLName xml.Name
		ETag    string `xml:"ETag"`
	}
	if err := xml.Unmarshal(body, &result); err != nil || result.XMLName.Local == "Error" {
		return "", false
	}
	return result.ETag, true
}
