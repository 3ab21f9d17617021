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
// (PutObject, CopyObject, CompleteMultipartUpload) and says what was made.
// It reads (and puts back) the small XML result of copies and completions.
func created(resp *http.Response) (events.Created, bool) {
	req := resp.Request
	if resp.StatusCode != http.StatusOK || req == nil {
		return events.Created{}, false
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	if bucket == "" || key == "" {
		return events.Created{}, false
	}
	q := operationQuery(req.URL.Query())
	c := events.Created{
		Bucket: bucket, Key: key,
		Principal: sigv4.AccessKey(req),
		RequestID: resp.Header.Get("X-Amz-Request-Id"),
		HostID:    resp.Header.Get("X-Amz-Id-2"),
		Time:      time.Now(),
	}
	if host, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
		c.SourceIP = host
	}
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
