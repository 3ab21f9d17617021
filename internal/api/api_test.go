package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hlsflow/hlsflow/internal/apigw"
	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// env is the API behind the local adapter on a real HTTP server, over the
// test binary's real S3 with buckets of its own (listings see only this
// test's objects).
type env struct {
	t              testing.TB
	srv            *httptest.Server
	h              *Handler
	lambda         func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) // h as the Lambda runs it
	store          *store.Store
	uploads, media string
}

const testToken = "test-token-0123456789"

// nonBucket matches what may not be in a bucket name.
var nonBucket = regexp.MustCompile(`[^a-z0-9-]+`)

func newEnv(t testing.TB, configure func(*Config)) *env {
	t.Helper()
	s3 := testenv.S3(t)
	slug := strings.Trim(nonBucket.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(slug) > 40 {
		slug = slug[len(slug)-40:]
	}
	suffix := fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)
	e := &env{t: t, store: s3.Store, uploads: "up-" + suffix + "-" + slug, media: "me-" + suffix + "-" + slug}
	e.uploads, e.media = strings.Trim(e.uploads[:min(len(e.uploads), 63)], "-"), strings.Trim(e.media[:min(len(e.media), 63)], "-")
	ctx := context.Background()
	for _, b := range []string{e.uploads, e.media} {
		if err := s3.Store.EnsureBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{Store: s3.Store, UploadsBucket: e.uploads, MediaBucket: e.media, Token: testToken,
		RTMPURL: "rtmp://127.0.0.1:1935/live/", SRTURL: "srt://127.0.0.1:8890"}
	if configure != nil {
		configure(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.h, e.lambda = h, apigw.Serve(h)
	a := apigw.New(lambda.NewHandler(e.lambda))
	a.Logf = t.Logf
	e.srv = httptest.NewServer(a)
	t.Cleanup(e.srv.Close)
	return e
}

// call sends a request to the API and returns the status and body. It
// sends the API token unless header sets Authorization ("" sends none).
func (e *env) call(method, path, body string, header ...string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1] // Go sends req.Host, not a Host header
			continue
		}
		if header[i+1] == "" {
			req.Header.Del(header[i])
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		e.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return resp.StatusCode, b
}

// callJSON is call that expects status want and decodes the body into v.
func (e *env) callJSON(method, path, body string, want int, v any, header ...string) {
	e.t.Helper()
	got, b := e.call(method, path, body, header...)
	if got != want {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, got, b, want)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// put sends body to a presigned URL as a browser or curl would.
// tryPut PUTs body to u and returns the status and body, or the error.
func tryPut(u string, body []byte) (int, string, error) {
	req, err := http.NewRequest(http.MethodPut, u, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func put(t *testing.T, u string, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) video(id string) Video {
	e.t.Helper()
	var v Video
	e.callJSON("GET", "/api/videos/"+id, "", 200, &v)
	return v
}

func TestSingleUpload(t *testing.T) {
	e := newEnv(t, nil)
	data := bytes.Repeat([]byte("hlsflow "), 1000)
	var up Upload
	e.callJSON("POST", "/api/uploads", fmt.Sprintf(`{"filename":"My Clip (1).mp4","size":%d,"contentType":"video/mp4"}`, len(data)), 201, &up)
	if up.Put == nil || up.Multipart != nil {
		t.Fatalf("want a single PUT, got %+v", up)
	}
	if want := catalog.VideoID(up.Key); up.ID != want {
		t.Errorf("id %q, want catalog.VideoID(key) = %q", up.ID, want)
	}
	if !strings.HasSuffix(up.Key, "/My-Clip-1.mp4") || !strings.HasPrefix(up.ID, "my-clip-1-") {
		t.Errorf("key %q / id %q do not read like the file name", up.Key, up.ID)
	}
	u, err := url.Parse(up.Put.URL)
	if err != nil {
		t.Fatal(err)
	}
	if sh := u.Query().Get("X-Amz-SignedHeaders"); !strings.Contains(sh, "content-length") || !strings.Contains(sh, "content-type") {
		t.Fatalf("signed headers %q do not include content-length and content-type", sh)
	}
	if v := e.video(up.ID); v.State != StateUploading || v.Filename != "My Clip (1).mp4" {
		t.Errorf("before the PUT: state %q filename %q, want uploading / My Clip (1).mp4", v.State, v.Filename)
	}

	// S3 itself refuses what was not signed.
	refused := []struct {
		name   string
		body   []byte
		header map[string]string
	}{
		{"other content type", data, map[string]string{"Content-Type": "image/png"}},
		{"no content type", data, nil},
		{"larger body", append(append([]byte{}, data...), 'x'), up.Put.Headers},
		{"smaller body", data[:len(data)-1], up.Put.Headers},
	}
	for _, tt := range refused {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			if code, body := put(t, up.Put.URL, tt.body, tt.header); code != http.StatusForbidden {
				t.Errorf("PUT = %d %s, want 403", code, body)
			}
		})
	}
	if code, body := put(t, up.Put.URL, data, up.Put.Headers); code != 200 {
		t.Fatalf("PUT = %d %s", code, body)
	}
	got, err := e.store.GetBytes(context.Background(), e.uploads, up.Key)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("uploaded object = %d bytes, %v; want %d bytes", len(got), err, len(data))
	}
	if v := e.video(up.ID); v.State != StateQueued || v.Source.Size != int64(len(data)) {
		t.Errorf("after the PUT: state %q size %d, want queued / %d", v.State, v.Source.Size, len(data))
	}

	// The transcoder's status.json wins once it exists.
	ctx := context.Background()
	st := &catalog.Status{ID: up.ID, State: catalog.StateProcessing, Progress: 0.4,
		Source: catalog.Upload{Size: int64(len(data))}}
	if err := catalog.Write(ctx, e.store, e.media, st); err != nil {
		t.Fatal(err)
	}
	if v := e.video(up.ID); v.State != catalog.StateProcessing || v.Progress != 0.4 || v.PlaybackURL != "" {
		t.Errorf("processing: %+v", v)
	}
	st.Download, st.Storyboard = catalog.DownloadKey(up.ID, st.Source), catalog.StoryboardKey(up.ID, st.Source)
	if v := e.video(up.ID); v.DownloadURL != "" {
		t.Errorf("processing: download URL %q", v.DownloadURL)
	}
	st.State, st.Progress, st.Playback, st.Poster = catalog.StateReady, 1, catalog.MasterKey(up.ID), catalog.Prefix(up.ID)+"poster.jpg"
	st.Renditions = []catalog.Rendition{{Name: "360p", Width: 640, Height: 360, Bandwidth: 800000, Codecs: "avc1.64001e,mp4a.40.2"}}
	if err := catalog.Write(ctx, e.store, e.media, st); err != nil {
		t.Fatal(err)
	}
	v := e.video(up.ID)
	if v.State != catalog.StateReady || v.PlaybackURL != "/vod/"+up.ID+"/master.m3u8" ||
		v.PosterURL != "/vod/"+up.ID+"/poster.jpg" || len(v.Renditions) != 1 || v.Filename != "My Clip (1).mp4" {
		t.Errorf("ready: %+v", v)
	}
	if v.StoryboardURL != "/"+st.Storyboard {
		t.Errorf("ready: storyboard URL %q, want /%s", v.StoryboardURL, st.Storyboard)
	}
	if v.DownloadURL != "/"+st.Download || v.Status.Download != st.Download {
		t.Errorf("ready: download URL %q key %q, want /%s", v.DownloadURL, v.Status.Download, st.Download)
	}
	if v.DashURL != "" {
		t.Errorf("ready MPEG-TS video: DASH URL %q", v.DashURL)
	}
	st.Segments, st.DASH = "cmaf", catalog.DASHKey(up.ID)
	if err := catalog.Write(ctx, e.store, e.media, st); err != nil {
		t.Fatal(err)
	}
	if v := e.video(up.ID); v.DashURL != "/vod/"+up.ID+"/manifest.mpd" || v.Segments != "cmaf" {
		t.Errorf("ready CMAF video: DASH URL %q, segments %q", v.DashURL, v.Segments)
	}
	st.State, st.Error, st.Poster = catalog.StateFailed, "the file is not a video", ""
	if err := catalog.Write(ctx, e.store, e.media, st); err != nil {
		t.Fatal(err)
	}
	if v := e.video(up.ID); v.State != catalog.StateFailed || v.Error != "the file is not a video" || v.PlaybackURL != "" || v.PosterURL != "" {
		t.Errorf("failed: %+v", v)
	}
}

func TestPublicURL(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PublicURL = "https://cdn.example.com/" })
	st := &catalog.Status{ID: "clip-000000000001", State: catalog.StateReady, Playback: "vod/clip-000000000001/master.m3u8"}
	if err := catalog.Write(context.Background(), e.store, e.media, st); err != nil {
		t.Fatal(err)
	}
	if v := e.video(st.ID); v.PlaybackURL != "https://cdn.example.com/vod/clip-000000000001/master.m3u8" || v.PosterURL != "" {
		t.Errorf("playback %q poster %q", v.PlaybackURL, v.PosterURL)
	}
}

func TestUploadExpired(t *testing.T) {
	now := time.Now()
	e := newEnv(t, func(c *Config) { c.Now = func() time.Time { return now } })
	var up Upload
	e.callJSON("POST", "/api/uploads", `{"filename":"a.mp4","size":10,"contentType":"video/mp4"}`, 201, &up)
	now = now.Add(DefaultURLTTL + time.Minute)
	if v := e.video(up.ID); v.State != catalog.StateFailed || !strings.Contains(v.Error, "expired") {
		t.Errorf("abandoned upload: state %q error %q, want failed / expired", v.State, v.Error)
	}
}

func TestMultipartUpload(t *testing.T) {
	const part = 5 << 20
	e := newEnv(t, func(c *Config) { c.MultipartThreshold, c.PartSize = part, part })
	data := make([]byte, 2*part+1234)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var up Upload
	e.callJSON("POST", "/api/uploads", fmt.Sprintf(`{"filename":"big.mov","size":%d,"contentType":"video/quicktime"}`, len(data)), 201, &up)
	mp := up.Multipart
	if mp == nil || up.Put != nil {
		t.Fatalf("want multipart, got %+v", up)
	}
	if len(mp.Parts) != 3 || mp.Parts[2].Size != 1234 || mp.PartSize != part {
		t.Fatalf("parts %+v, part size %d", mp.Parts, mp.PartSize)
	}
	chunk := func(n int) []byte { return data[(n-1)*part : min(n*part, len(data))] }

	// A part of the wrong size: S3 refuses it from the signed headers.
	// It may reset the connection while the body is still being sent, so
	// the client sees either the 403 or the reset; either way nothing is
	// stored, which the completion below shows (part 1 missing).
	if code, body, err := tryPut(mp.Parts[0].URL, chunk(1)[:part-1]); !errors.Is(err, syscall.ECONNRESET) &&
		(err != nil || code != http.StatusForbidden) {
		t.Errorf("short part 1 = %d %s %v, want 403 or a reset connection", code, body, err)
	}
	var none apiError
	e.callJSON("POST", mp.CompleteURL, "", http.StatusConflict, &none)
	if len(none.Missing) != 3 {
		t.Errorf("after a refused short part: missing %v, want all 3 parts", none.Missing)
	}
	for _, n := range []int{1, 3} {
		if code, body := put(t, mp.Parts[n-1].URL, chunk(n), nil); code != 200 {
			t.Fatalf("part %d = %d %s", n, code, body)
		}
	}
	var missing apiError
	e.callJSON("POST", mp.CompleteURL, "", http.StatusConflict, &missing)
	if len(missing.Missing) != 1 || missing.Missing[0] != 2 || !strings.Contains(missing.Message, "part 2") {
		t.Errorf("incomplete: %+v", missing)
	}
	// A retry of a part (say after a network error) is harmless.
	for _, n := range []int{2, 2} {
		if code, body := put(t, mp.Parts[n-1].URL, chunk(n), nil); code != 200 {
			t.Fatalf("part %d = %d %s", n, code, body)
		}
	}
	var done Completed
	e.callJSON("POST", mp.CompleteURL, "", 200, &done)
	if done.State != StateQueued || done.ID != up.ID {
		t.Errorf("complete: %+v", done)
	}
	got, err := e.store.GetBytes(context.Background(), e.uploads, up.Key)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("assembled object: %d bytes, %v; want %d", len(got), err, len(data))
	}
	info, err := e.store.Head(context.Background(), e.uploads, up.Key)
	if err != nil || info.ContentType != "video/quicktime" {
		t.Errorf("content type %q, %v", info.ContentType, err)
	}
	e.callJSON("POST", mp.CompleteURL, "", 200, &done) // a retried completion
	if v := e.video(up.ID); v.State != StateQueued {
		t.Errorf("state %q, want queued", v.State)
	}
	e.callJSON("DELETE", mp.AbortURL, "", http.StatusConflict, nil)
}

func TestAbortUpload(t *testing.T) {
	const part = 5 << 20
	e := newEnv(t, func(c *Config) { c.MultipartThreshold, c.PartSize = part, part })
	var up Upload
	e.callJSON("POST", "/api/uploads", fmt.Sprintf(`{"filename":"x.mp4","size":%d,"contentType":"video/mp4"}`, part+1), 201, &up)
	if code, body := put(t, up.Multipart.Parts[1].URL, []byte{1}, nil); code != 200 {
		t.Fatalf("part 2 = %d %s", code, body)
	}
	e.callJSON("DELETE", up.Multipart.AbortURL, "", 200, nil)
	e.callJSON("GET", "/api/videos/"+up.ID, "", 404, nil)
	e.callJSON("POST", up.Multipart.CompleteURL, "", 404, nil)
	// S3 refuses the part, possibly by resetting the connection while the
	// body is still being sent.
	if code, _, err := tryPut(up.Multipart.Parts[0].URL, make([]byte, part)); err == nil && code == 200 {
		t.Error("a part of an aborted upload was accepted")
	}

	// A single PUT can be cancelled until the file has arrived.
	var single, sent Upload
	e.callJSON("POST", "/api/uploads", `{"filename":"y.mp4","size":1,"contentType":"video/mp4"}`, 201, &single)
	e.callJSON("DELETE", "/api/uploads/"+single.ID, "", 200, nil)
	e.callJSON("GET", "/api/videos/"+single.ID, "", 404, nil)
	e.callJSON("POST", "/api/uploads", `{"filename":"z.mp4","size":1,"contentType":"video/mp4"}`, 201, &sent)
	if code, body := put(t, sent.Put.URL, []byte("z"), sent.Put.Headers); code != 200 {
		t.Fatalf("PUT = %d %s", code, body)
	}
	e.callJSON("DELETE", "/api/uploads/"+sent.ID, "", http.StatusConflict, nil)
}

func TestErrors(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxUploadSize = 1 << 20 })
	var single Upload
	e.callJSON("POST", "/api/uploads", `{"filename":"a.mp4","size":10,"contentType":"video/mp4"}`, 201, &single)
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantField                string
		wantIn                   string
	}{
		{"malformed json", "POST", "/api/uploads", `{"filename":`, 400, "", "not valid JSON"},
		{"not an object", "POST", "/api/uploads", `[1]`, 400, "", "JSON object"},
		{"empty body", "POST", "/api/uploads", ``, 400, "", "empty"},
		{"trailing data", "POST", "/api/uploads", `{"filename":"a.mp4","size":1,"contentType":"video/mp4"} {}`, 400, "", "after the JSON"},
		{"size of wrong type", "POST", "/api/uploads", `{"filename":"a.mp4","size":"big","contentType":"video/mp4"}`, 400, "size", "number"},
		{"unknown field", "POST", "/api/uploads", `{"filename":"a.mp4","size":1,"contentType":"video/mp4","bucket":"x"}`, 400, "bucket", "unknown"},
		{"missing filename", "POST", "/api/uploads", `{"size":1,"contentType":"video/mp4"}`, 400, "filename", "required"},
		{"zero size", "POST", "/api/uploads", `{"filename":"a.mp4","size":0,"contentType":"video/mp4"}`, 400, "size", "more than 0"},
		{"too large", "POST", "/api/uploads", `{"filename":"a.mp4","size":2097152,"contentType":"video/mp4"}`, 413, "size", "1.0 MiB"},
		{"missing type", "POST", "/api/uploads", `{"filename":"a.mp4","size":1}`, 400, "contentType", "required"},
		{"wrong type", "POST", "/api/uploads", `{"filename":"a.exe","size":1,"contentType":"application/x-msdownload"}`, 415, "contentType", "not a video type"},
		{"unknown video", "GET", "/api/videos/nope-000000000000", "", 404, "", "no video"},
		{"invalid id", "GET", "/api/videos/..%2Fetc", "", 404, "", "no video"},
		{"wrong method", "PUT", "/api/videos", "", 405, "", "GET"},
		{"unknown route", "GET", "/api/nothing", "", 404, "", "no such API route"},
		{"complete unknown", "POST", "/api/uploads/nope-000000000000/complete", "", 404, "", "no upload"},
		{"complete a single put", "POST", "/api/uploads/" + single.ID + "/complete", "", 409, "", "single PUT"},
		{"abort unknown", "DELETE", "/api/uploads/nope-000000000000", "", 404, "", "no upload"},
		{"bad limit", "GET", "/api/videos?limit=0", "", 400, "limit", "1 to 100"},
		{"bad cursor", "GET", "/api/videos?cursor=zzz", "", 400, "cursor", "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.call(tt.method, tt.path, tt.body)
			var ae apiError
			if err := json.Unmarshal(body, &ae); err != nil {
				t.Fatalf("body %s is not a JSON error: %v", body, err)
			}
			if code != tt.wantStatus || ae.Field != tt.wantField || !strings.Contains(ae.Message, tt.wantIn) {
				t.Errorf("= %d field %q %q; want %d field %q containing %q", code, ae.Field, ae.Message, tt.wantStatus, tt.wantField, tt.wantIn)
			}
		})
	}
}

func TestListVideos(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	// A video uploaded without the API (the CLI writes straight to S3).
	if err := e.store.PutBytes(ctx, e.uploads, "cli/first.mp4", []byte("x"), store.Object{ContentType: "video/mp4"}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, name := range []string{"second.mp4", "third.mp4"} {
		// S3 times have one-second resolution: space the uploads so their
		// order is the order of creation.
		time.Sleep(1100 * time.Millisecond)
		var up Upload
		e.callJSON("POST", "/api/uploads", fmt.Sprintf(`{"filename":%q,"size":1,"contentType":"video/mp4"}`, name), 201, &up)
		ids = append(ids, up.ID)
		if i == 0 {
			if code, body := put(t, up.Put.URL, []byte("y"), up.Put.Headers); code != 200 {
				t.Fatalf("PUT = %d %s", code, body)
			}
		}
	}
	first := catalog.VideoID("cli/first.mp4")
	if err := catalog.Write(ctx, e.store, e.media, &catalog.Status{ID: first, State: catalog.StateReady,
		Source: catalog.Upload{Size: 1}}); err != nil {
		t.Fatal(err)
	}
	want := []struct{ id, state string }{{ids[1], StateUploading}, {ids[0], StateQueued}, {first, "ready"}}

	var all VideoList
	e.callJSON("GET", "/api/videos", "", 200, &all)
	if len(all.Videos) != 3 || all.Next != "" {
		t.Fatalf("list: %d videos, next %q", len(all.Videos), all.Next)
	}
	var paged []Video
	cur := ""
	for range 4 {
		var page VideoList
		e.callJSON("GET", "/api/videos?limit=1&cursor="+cur, "", 200, &page)
		paged = append(paged, page.Videos...)
		if cur = page.Next; cur == "" {
			break
		}
	}
	for _, list := range [][]Video{all.Videos, paged} {
		if len(list) != len(want) {
			t.Fatalf("got %d videos, want %d", len(list), len(want))
		}
		for i, w := range want {
			if list[i].ID != w.id || string(list[i].State) != w.state {
				t.Errorf("video %d = %s %s, want %s %s", i, list[i].ID, list[i].State, w.id, w.state)
			}
		}
	}
}
