// Package events turns object creations the local cloud's front door sees
// succeed into the S3 event JSON that AWS delivers to Lambda, and hands each
// event to the function a notification configuration names, as an async
// invocation.
//
// The events are not taken from versitygw's own webhook: in v1.8.0 it builds
// the event from request buffers that the HTTP server reuses for the next
// request, so under concurrent load an event could name another key, and an
// upload would never be processed.
package events

import (
	"encoding/json"
	"fmt"
	"strings"

	awsevents "github.com/aws/aws-lambda-go/events"
)

// Record is one normalised event and what notification filters match on.
type Record struct {
	Bucket, Key, EventName string // EventName as AWS names it: "ObjectCreated:Put"
	Event                  awsevents.S3Event
}

// EncodeKey encodes an object key as S3 event notifications do: form
// encoding (Java's URLEncoder, which S3 uses) with "/" left as is. Spaces
// become "+", a literal "+" becomes "%2B", non-ASCII bytes are
// percent-encoded; letters, digits and "-_.*" stay. aws-lambda-go's
// S3Object.URLDecodedKey (url.QueryUnescape) reverses it.
func EncodeKey(key string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(key) + len(key)/4)
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '.', c == '*', c == '/':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// Marshal encodes ev as AWS sends it. aws-lambda-go's types add an empty
// "urlDecodedKey" (its own convenience field, filled on decoding) and an
// empty "versionId" for unversioned buckets; AWS sends neither.
func Marshal(ev awsevents.S3Event) ([]byte, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode s3 event: %w", err)
	}
	var generic struct {
		Records []map[string]any `json:"Records"`
	}
	if err := json.Unmarshal(b, &generic); err != nil {
		return nil, fmt.Errorf("encode s3 event: %w", err)
	}
	for _, r := range generic.Records {
		s3, _ := r["s3"].(map[string]any)
		obj, _ := s3["object"].(map[string]any)
		delete(obj, "urlDecodedKey")
		if v, _ := obj["versionId"].(string); v == "" {
			delete(obj, "versionId")
		}
	}
	b, err = json.Marshal(generic)
	if err != nil {
		return nil, fmt.Errorf("encode s3 event: %w", err)
	}
	return b, nil
}
