package vod

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestAcceptGoldenEvents decodes events as AWS sends them (URL-encoded
// keys) and checks which are taken and under what key.
func TestAcceptGoldenEvents(t *testing.T) {
	tests := []struct {
		file, wantKey string
	}{
		{"s3_put_event.json", "phone/my video (1).mp4"},
		{"s3_put_event_nonascii.json", "vacances/été à Zürich — 旅.mov"},
	}
	h := &Pipeline{cfg: Config{MediaBucket: "media", UploadsBucket: "uploads"}, log: slog.Default()}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var ev events.S3Event
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			bucket, key, ok := h.accept(ev.Records[0])
			if !ok || bucket != "uploads" || key != tt.wantKey {
				t.Errorf("accept = %q %q %v, want uploads %q true", bucket, key, ok, tt.wantKey)
			}
		})
	}
}

func TestAcceptFilters(t *testing.T) {
	rec := func(name, bucket, key, decoded string) events.S3EventRecord {
		var r events.S3EventRecord
		r.EventName = name
		r.S3.Bucket.Name = bucket
		r.S3.Object.Key, r.S3.Object.URLDecodedKey = key, decoded
		return r
	}
	tests := []struct {
		name          string
		uploads       string
		r             events.S3EventRecord
		wantOK        bool
		wantKey       string
		wantBucketOut string
	}{
		{"put", "uploads", rec("ObjectCreated:Put", "uploads", "a+b.mp4", "a b.mp4"), true, "a b.mp4", "uploads"},
		{"multipart", "uploads", rec("ObjectCreated:CompleteMultipartUpload", "uploads", "a.mp4", "a.mp4"), true, "a.mp4", "uploads"},
		{"versitygw name", "uploads", rec("s3:ObjectCreated:Put", "uploads", "a.mp4", "a.mp4"), true, "a.mp4", "uploads"},
		{"built in go, key only encoded", "uploads", rec("ObjectCreated:Put", "uploads", "my+video+%281%29.mp4", ""), true, "my video (1).mp4", "uploads"},
		{"delete", "uploads", rec("ObjectRemoved:Delete", "uploads", "a.mp4", "a.mp4"), false, "", ""},
		{"test event", "uploads", rec("s3:TestEvent", "uploads", "", ""), false, "", ""},
		{"other bucket", "uploads", rec("ObjectCreated:Put", "elsewhere", "a.mp4", "a.mp4"), false, "", ""},
		{"own output, any bucket allowed", "", rec("ObjectCreated:Put", "media", "vod/x/master.m3u8", "vod/x/master.m3u8"), false, "", ""},
		{"any bucket allowed", "", rec("ObjectCreated:Put", "elsewhere", "a.mp4", "a.mp4"), true, "a.mp4", "elsewhere"},
		{"folder marker", "uploads", rec("ObjectCreated:Put", "uploads", "dir/", "dir/"), false, "", ""},
		{"bad encoding", "uploads", rec("ObjectCreated:Put", "uploads", "%zz", ""), false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Pipeline{cfg: Config{MediaBucket: "media", UploadsBucket: tt.uploads}, log: slog.Default()}
			bucket, key, ok := h.accept(tt.r)
			if ok != tt.wantOK || key != tt.wantKey || bucket != tt.wantBucketOut {
				t.Errorf("accept = %q %q %v, want %q %q %v", bucket, key, ok, tt.wantBucketOut, tt.wantKey, tt.wantOK)
			}
		})
	}
}
