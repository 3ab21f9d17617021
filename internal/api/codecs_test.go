package api

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/catalog"
)

// An upload's codecs reach the transcode through the API's record
// (catalog.ReadOptions); a list the transcoder could not honour is
// refused with a clear 400 and no upload.
func TestUploadCodecs(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for body, want := range map[string][]string{
		`{"filename":"a.mp4","size":10,"contentType":"video/mp4","codecs":["h264","hevc","av1"]}`: {"hevc", "av1"},
		`{"filename":"a.mp4","size":10,"contentType":"video/mp4","codecs":["AV1"]}`:               {"av1"},
		`{"filename":"a.mp4","size":10,"contentType":"video/mp4","codecs":["h264"]}`:              {"h264"},
		`{"filename":"a.mp4","size":10,"contentType":"video/mp4"}`:                                nil,
		`{"filename":"a.mp4","size":10,"contentType":"video/mp4","codecs":[]}`:                    nil,
	} {
		var up Upload
		e.callJSON("POST", "/api/uploads", body, 201, &up)
		o, err := catalog.ReadOptions(ctx, e.store, e.media, up.ID)
		if err != nil || !reflect.DeepEqual(o.Codecs, want) {
			t.Errorf("%s: options %+v, %v; want codecs %v", body, o, err, want)
		}
	}
	before, err := e.store.List(ctx, e.media, recordPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for name, codecs := range map[string]string{
		"unknown":        `["vp9"]`,
		"one bad of two": `["hevc","h266"]`,
		"not a list":     `"hevc,av1"`,
		"a number":       `[1]`,
		"too many":       `["av1","av1","av1","av1","av1","av1","av1","av1","av1"]`,
		"huge name":      `["` + strings.Repeat("a", 5000) + `"]`,
		"format verbs":   `["%s%n%x"]`,
		"flag injection": `["-c:v copy"]`,
	} {
		t.Run(name, func(t *testing.T) {
			code, body := e.call("POST", "/api/uploads", `{"filename":"a.mp4","size":10,"contentType":"video/mp4","codecs":`+codecs+`}`)
			var ae apiError
			if err := json.Unmarshal(body, &ae); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if code != 400 || ae.Field != "codecs" || len(ae.Message) > 200 || strings.Contains(ae.Message, "%!") {
				t.Errorf("= %d field %q %q; want 400 about codecs", code, ae.Field, ae.Message)
			}
			if strings.HasPrefix(codecs, `["`) && !strings.Contains(ae.Message, "want h264, hevc or av1") && name != "too many" {
				t.Errorf("message %q does not say what is accepted", ae.Message)
			}
		})
	}
	// Nothing was recorded for the refused requests.
	if after, _ := e.store.List(ctx, e.media, recordPrefix); len(after) != len(before) {
		t.Errorf("refused uploads left records: %d, then %d", len(before), len(after))
	}
	// The URL form carries them too.
	var up Upload
	e.callJSON("POST", "/api/uploads", `{"url":"https://example.com/a.mp4","codecs":["vp8"]}`, 400, &up)
}
