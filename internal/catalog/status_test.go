package catalog_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/cost"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestStatusIsPublic pins what status.json may say: the media bucket's
// vod/ is served to anyone, so no bucket name, object key or file name.
// A field added to Status must be added here on purpose.
func TestStatusIsPublic(t *testing.T) {
	// What a job used: function names, counts and dollars, nothing that
	// says where the upload is.
	use := &cost.Usage{S3Puts: 3}
	use.Invocation("transcode", 1024, 2)
	use.Price(cost.USEast1)
	// The per-title plan: sample times, rung names and measures only.
	plan := &catalog.Plan{Version: media.PlanVersion, SampleSeconds: 2, Slices: []media.Span{{Start: 4, Duration: 2}},
		Rungs: []media.RungPlan{{Name: "720p", Mode: media.ModeCRF, CRF: 20, PredictedKbps: 1500, FixedKbps: 3000,
			Complexity: media.Complexity{Rung: "720p"}}}}
	b, err := json.Marshal(catalog.Status{ID: "clip-0123456789ab", Cost: use, Ladder: plan})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	allowed := []string{"id", "state", "progress", "error", "source", "duration", "renditions", "playback", "poster", "updated", "cost", "ladder"}
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		if !slices.Contains(allowed, k) {
			t.Errorf("status.json has field %q, which is not in the public contract", k)
		}
	}
	var c map[string]json.RawMessage
	if err := json.Unmarshal(doc["cost"], &c); err != nil {
		t.Fatalf("cost %s: %v", doc["cost"], err)
	}
	for _, k := range slices.Sorted(maps.Keys(c)) {
		if !slices.Contains([]string{"functions", "s3Puts", "s3Gets", "bytesWritten", "usd", "prices"}, k) {
			t.Errorf("status.json's cost has field %q, which is not in the public contract", k)
		}
	}
	var lad map[string]json.RawMessage
	if err := json.Unmarshal(doc["ladder"], &lad); err != nil {
		t.Fatalf("ladder %s: %v", doc["ladder"], err)
	}
	for _, k := range slices.Sorted(maps.Keys(lad)) {
		if !slices.Contains([]string{"version", "sampleSeconds", "slices", "rungs"}, k) {
			t.Errorf("status.json's ladder has field %q, which is not in the public contract", k)
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

// TestRenditions pins what status.json lists of a ladder, live (audio
// muxed into the video) and on demand (audio separate): the renditions
// with a playlist of their own, video first, frame rates as the master
// writes them (three decimals, so a live 30000/1001 is 29.97 as on demand).
func TestRenditions(t *testing.T) {
	audio := &hls.Rendition{Name: "audio", Codecs: "mp4a.40.2", Bandwidth: 128_000, Channels: 2}
	v := hls.Rendition{Name: "720p", Width: 1280, Height: 720, FrameRate: 30000.0 / 1001, Codecs: "avc1.64001f", Bandwidth: 3_000_000}
	video := catalog.Rendition{Name: "720p", Width: 1280, Height: 720, FrameRate: 29.97, Codecs: "avc1.64001f,mp4a.40.2", Bandwidth: 3_128_000}
	tests := []struct {
		name   string
		ladder hls.Ladder
		want   []catalog.Rendition
	}{
		{"live", hls.Ladder{Video: []hls.Rendition{v}, Audio: audio, MuxedAudio: true}, []catalog.Rendition{video}},
		{"on demand", hls.Ladder{Video: []hls.Rendition{v}, Audio: audio},
			[]catalog.Rendition{video, {Name: "audio", Codecs: "mp4a.40.2", Bandwidth: 128_000}}},
		{"radio", hls.Ladder{Audio: audio, MuxedAudio: true}, []catalog.Rendition{{Name: "audio", Codecs: "mp4a.40.2", Bandwidth: 128_000}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := catalog.Renditions(tt.ladder); !slices.Equal(got, tt.want) {
				t.Errorf("Renditions = %+v, want %+v", got, tt.want)
			}
		})
	}
}
