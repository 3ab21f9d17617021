package events

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
)

var update = flag.Bool("update", false, "rewrite golden files")

// created is a PUT of key as the front door reports it.
func created(event, bucket, key string) Created {
	return Created{
		EventName: event, Bucket: bucket, Key: key,
		ETag: `"9b2cf535f27731c974343645a3985328"`, Size: 1234,
		Principal: "test", SourceIP: "127.0.0.1", RequestID: "REQ1", HostID: "HOST1",
		Time: time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC),
	}
}

func TestNormalizeGolden(t *testing.T) {
	cases := []struct {
		name, event, key, wantEncoded string
	}{
		{"spaces", "s3:ObjectCreated:Put", "my holiday video.mp4", "my+holiday+video.mp4"},
		{"parens", "s3:ObjectCreated:Put", "clips/take (2).mov", "clips/take+%282%29.mov"},
		{"non_ascii", "s3:ObjectCreated:CompleteMultipartUpload", "vidéos/über 1.mp4", "vid%C3%A9os/%C3%BCber+1.mp4"},
		{"literal_plus", "s3:ObjectCreated:Put", "a+b c.mp4", "a%2Bb+c.mp4"},
		{"punctuation", "s3:ObjectCreated:Copy", "x/y~z*&=%,:@.ts", "x/y%7Ez*%26%3D%25%2C%3A%40.ts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recv := NewReceiver(Config{})
			recv.seq.Store(0x0A1B2C3D4E5F6788) // a fixed sequencer for the golden file
			rec := recv.record(created(tc.event, "uploads", tc.key))
			compact, err := Marshal(rec.Event)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := json.Indent(&buf, compact, "", "  "); err != nil {
				t.Fatal(err)
			}
			got := append(buf.Bytes(), '\n')
			golden := filepath.Join("testdata", tc.name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("event differs from %s:\n%s", golden, got)
			}

			// What a Go Lambda sees after aws-lambda-go decodes the event.
			var ev awsevents.S3Event
			if err := json.Unmarshal(want, &ev); err != nil {
				t.Fatal(err)
			}
			r := ev.Records[0]
			if r.S3.Object.Key != tc.wantEncoded {
				t.Errorf("key %q, want %q", r.S3.Object.Key, tc.wantEncoded)
			}
			if r.S3.Object.URLDecodedKey != tc.key {
				t.Errorf("URLDecodedKey %q, want %q", r.S3.Object.URLDecodedKey, tc.key)
			}
			if want := tc.event[len("s3:"):]; r.EventName != want {
				t.Errorf("eventName %q, want %q", r.EventName, want)
			}
			if r.EventVersion != "2.1" || r.EventSource != "aws:s3" || r.S3.Bucket.Arn != "arn:aws:s3:::uploads" {
				t.Errorf("version/source/arn = %q/%q/%q", r.EventVersion, r.EventSource, r.S3.Bucket.Arn)
			}
			if bytes.Contains(want, []byte("urlDecodedKey")) || bytes.Contains(want, []byte("versionId")) {
				t.Error("event carries fields AWS does not send (urlDecodedKey, empty versionId)")
			}
			if r.S3.Object.ETag != "9b2cf535f27731c974343645a3985328" || r.S3.Object.Size != 1234 {
				t.Errorf("etag/size = %q/%d", r.S3.Object.ETag, r.S3.Object.Size)
			}
		})
	}
}

func TestNotificationMatches(t *testing.T) {
	rec := func(bucket, key, event string) Record {
		return Record{Bucket: bucket, Key: key, EventName: event}
	}
	cases := []struct {
		name string
		n    Notification
		r    Record
		want bool
	}{
		{"default events take any create", Notification{Bucket: "uploads"}, rec("uploads", "a.mp4", "ObjectCreated:Put"), true},
		{"other bucket", Notification{Bucket: "uploads"}, rec("media", "a.mp4", "ObjectCreated:Put"), false},
		{"removal is not a create", Notification{Bucket: "uploads"}, rec("uploads", "a.mp4", "ObjectRemoved:Delete"), false},
		{"exact event", Notification{Bucket: "uploads", Events: []string{"s3:ObjectCreated:CompleteMultipartUpload"}}, rec("uploads", "a", "ObjectCreated:CompleteMultipartUpload"), true},
		{"exact event mismatch", Notification{Bucket: "uploads", Events: []string{"s3:ObjectCreated:CompleteMultipartUpload"}}, rec("uploads", "a", "ObjectCreated:Put"), false},
		{"prefix", Notification{Bucket: "uploads", Prefix: "in/"}, rec("uploads", "in/a.mp4", "ObjectCreated:Put"), true},
		{"prefix mismatch", Notification{Bucket: "uploads", Prefix: "in/"}, rec("uploads", "out/a.mp4", "ObjectCreated:Put"), false},
		{"suffix on encoded key", Notification{Bucket: "uploads", Suffix: "+1.mp4"}, rec("uploads", "take 1.mp4", "ObjectCreated:Put"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.n.Matches(tc.r); got != tc.want {
				t.Errorf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}
