package catalog_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestStatusIsPublic pins what status.json may say: the media bucket's
// vod/ is served to anyone, so no bucket name, object key or file name.
// A field added to Status must be added here on purpose.
func TestStatusIsPublic(t *testing.T) {
	b, err := json.Marshal(catalog.Status{ID: "clip-0123456789ab"})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	allowed := []string{"id", "state", "progress", "error", "source", "duration", "renditions", "playback", "poster", "updated"}
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		if !slices.Contains(allowed, k) {
			t.Errorf("status.json has field %q, which is not in the public contract", k)
		}
	}
	var src map[string]json.RawMessage
	if err := json.Unmarshal(doc["source"], &src); err != nil {
		t.Fatalf("source %s: %v", doc["source"], err)
	}
	for _, k := range slices.Sorted(maps.Keys(src)) {
		if k != "size" && k != "etag" {
			t.Errorf("status.json's source has field %q; only size and etag are public", k)
		}
	}
}

// TestWriteKeepsSourcePrivate writes the status of a real upload as the
// transcoder does and reads the stored object back: where the upload is
// and what it was called are not in it, and what identifies the upload
// (size, ETag, so its revision) survives the round trip.
func TestWriteKeepsSourcePrivate(t *testing.T) {
	env := testenv.S3(t)
	ctx := context.Background()
	src := catalog.Source{Bucket: "private-uploads-bucket", Key: "20260101T000000Z-0a1b2c3d/Holiday Secret.mp4",
		Upload: catalog.Upload{Size: 1234, ETag: "9b2cf535f27731c974343645a3985328"}}
	id := catalog.VideoID(src.Key)
	if err := catalog.Write(ctx, env.Store, testenv.BucketMedia, &catalog.Status{ID: id, State: catalog.StateProcessing, Source: src.Upload}); err != nil {
		t.Fatal(err)
	}
	raw, err := env.Store.GetBytes(ctx, testenv.BucketMedia, catalog.StatusKey(id))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{src.Bucket, "Holiday", "Secret", "0a1b2c3d", `"bucket"`, `"key"`} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("status.json holds %q:\n%s", secret, raw)
		}
	}
	st, err := catalog.Read(ctx, env.Store, testenv.BucketMedia, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Source != src.Upload || st.Source.Revision() != src.Revision() {
		t.Errorf("read back source %+v, want %+v", st.Source, src.Upload)
	}
}
