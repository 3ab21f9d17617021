package api

// Abuse tests: what a stranger can do to the API over real HTTP (the local
// API Gateway adapter) on a real S3 server. Every write needs credentials,
// checked before anything else, and a refused request changes nothing.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
)

const part = 5 << 20

// snapshot is everything a request could change: every object of both
// buckets and the multipart uploads in progress.
func (e *env) snapshot() string {
	e.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, bucket := range []string{e.uploads, e.media} {
		keys, err := e.store.List(ctx, bucket, "")
		if err != nil {
			e.t.Fatal(err)
		}
		for _, k := range keys {
			data, err := e.store.GetBytes(ctx, bucket, k)
			if err != nil {
				e.t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s/%s %x\n", bucket, k, data)
		}
	}
	mp, err := e.store.Client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &e.uploads})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, u := range mp.Uploads {
		fmt.Fprintf(&b, "multipart %s %s\n", *u.Key, *u.UploadId)
	}
	return b.String()
}

// refused checks a 401 with a JSON error.
func refused(t *testing.T, code int, body []byte) {
	t.Helper()
	var ae apiError
	if code != http.StatusUnauthorized || json.Unmarshal(body, &ae) != nil || ae.Message == "" {
		t.Errorf("= %d %s, want 401 with a JSON error", code, body)
	}
}

func TestWritesNeedCredentials(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MultipartThreshold, c.PartSize, c.Keys = part, part, newSigner(t) })
	var victim, other Upload
	e.callJSON("POST", "/api/uploads", fmt.Sprintf(`{"filename":"victim.mp4","size":%d,"contentType":"video/mp4"}`, part+1), 201, &victim)
	e.callJSON("POST", "/api/uploads", `{"filename":"other.mp4","size":10,"contentType":"video/mp4"}`, 201, &other)
	if victim.Secret == "" || other.Secret == "" || victim.Secret == other.Secret {
		t.Fatalf("upload secrets %q and %q: want two different secrets", victim.Secret, other.Secret)
	}
	before := e.snapshot()

	uploadBody := `{"filename":"spam.mp4","size":1000,"contentType":"video/mp4"}`
	routes := []struct{ name, method, path, body string }{
		{"create upload", "POST", "/api/uploads", uploadBody},
		{"complete upload", "POST", victim.Multipart.CompleteURL, ""},
		{"cancel upload", "DELETE", victim.Multipart.AbortURL, ""},
		{"cancel unknown upload", "DELETE", "/api/uploads/nope-000000000000", ""},
		{"complete unknown upload", "POST", "/api/uploads/nope-000000000000/complete", ""},
		{"cancel invalid id", "DELETE", "/api/uploads/..%2Fetc", ""},
		{"create stream", "POST", "/api/streams", `{"name":"pirate"}`},
		{"list videos", "GET", "/api/videos", ""},
		{"get video", "GET", "/api/videos/" + victim.ID, ""},
		{"get unknown video", "GET", "/api/videos/nope-000000000000", ""},
		{"list streams", "GET", "/api/streams", ""},
	}
	creds := []struct{ name, header string }{
		{"none", ""},
		{"empty bearer", "Bearer "},
		{"wrong token", "Bearer " + strings.Repeat("x", len(testToken))},
		{"token prefix", "Bearer " + testToken[:len(testToken)-1]},
		{"token with more", "Bearer " + testToken + "x"},
		{"token in another scheme", "Basic " + testToken},
		{"token without scheme", testToken},
		{"another upload's secret", "Bearer " + other.Secret},
	}
	for _, r := range routes {
		for _, c := range creds {
			t.Run(r.name+"/"+c.name, func(t *testing.T) {
				code, body := e.call(r.method, r.path, r.body, "Authorization", c.header)
				refused(t, code, body)
			})
		}
	}
	// The upload's own secret is for completing or cancelling it, nothing else.
	for _, r := range routes {
		if strings.Contains(r.path, victim.ID) && r.method != "GET" {
			continue
		}
		t.Run(r.name+"/the victim's secret", func(t *testing.T) {
			code, body := e.call(r.method, r.path, r.body, "Authorization", "Bearer "+victim.Secret)
			refused(t, code, body)
		})
	}
	if after := e.snapshot(); after != before {
		t.Errorf("refused requests changed the buckets:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// The token holder gets 404 for an unknown id: only strangers are told
	// nothing about ids.
	e.callJSON("DELETE", "/api/uploads/nope-000000000000", "", http.StatusNotFound, nil)
}

// TestUploadSecret: the secret returned with an upload completes and
// cancels that upload without the API token, and only that upload; the
// record keeps only its hash.
func TestUploadSecret(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MultipartThreshold, c.PartSize = part, part })
	var a, b Upload
	e.callJSON("POST", "/api/uploads", fmt.Sprintf(`{"filename":"a.mp4","size":%d,"contentType":"video/mp4"}`, part+1), 201, &a)
	e.callJSON("POST", "/api/uploads", fmt.Sprintf(`{"filename":"b.mp4","size":%d,"contentType":"video/mp4"}`, part+1), 201, &b)
	for _, up := range []Upload{a, b} {
		rec, err := e.store.GetBytes(context.Background(), e.media, recordKey(up.ID))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(rec), up.Secret) || !strings.Contains(string(rec), secretHash(up.Secret)) {
			t.Errorf("record of %s: %s; want the secret's hash, never the secret", up.ID, rec)
		}
	}
	asA := []string{"Authorization", "Bearer " + a.Secret}

	// b's secret cannot touch a, a's cannot touch b.
	code, body := e.call("DELETE", a.Multipart.AbortURL, "", "Authorization", "Bearer "+b.Secret)
	refused(t, code, body)
	code, body = e.call("DELETE", b.Multipart.AbortURL, "", asA...)
	refused(t, code, body)

	// a's own secret: complete (parts missing, so 409 with the list), then cancel.
	var missing apiError
	e.callJSON("POST", a.Multipart.CompleteURL, "", http.StatusConflict, &missing, asA...)
	if len(missing.Missing) != 2 {
		t.Errorf("complete with the upload's secret: %+v, want 2 missing parts", missing)
	}
	e.callJSON("DELETE", a.Multipart.AbortURL, "", http.StatusOK, nil, asA...)
	if _, err := e.store.GetBytes(context.Background(), e.media, recordKey(a.ID)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("record of the cancelled upload: %v, want gone", err)
	}
	// Cancelled: the secret now opens nothing, and says nothing about it.
	code, body = e.call("DELETE", a.Multipart.AbortURL, "", asA...)
	refused(t, code, body)
	// b is untouched, and its own secret completes it.
	for n, p := range b.Multipart.Parts {
		if code, body := put(t, p.URL, make([]byte, p.Size), nil); code != 200 {
			t.Fatalf("part %d = %d %s", n+1, code, body)
		}
	}
	e.callJSON("POST", b.Multipart.CompleteURL, "", http.StatusOK, nil, "Authorization", "Bearer "+b.Secret)
	if info, err := e.store.Head(context.Background(), e.uploads, b.Key); err != nil || info.Size != part+1 {
		t.Errorf("completed upload: %+v, %v", info, err)
	}
}

// TestBadBodiesWithoutCredentials: garbage or oversized bodies from a
// stranger get 401, not a parse error (nothing is read for them); the
// token holder gets the parse error.
func TestBadBodiesWithoutCredentials(t *testing.T) {
	e := newEnv(t, nil)
	before := e.snapshot()
	big := `{"filename":"` + strings.Repeat("a", maxJSON) + `.mp4","size":1,"contentType":"video/mp4"}`
	huge := strings.Repeat("x", 7<<20) // above the adapter's 6 MiB, as Lambda's payload limit
	tests := []struct {
		name, body       string
		stranger, holder int
	}{
		{"garbage", "\x00\xff{{{not json", 401, 400},
		{"not an object", `[1,2,3]`, 401, 400},
		{"deep nesting", strings.Repeat("[", 10000) + strings.Repeat("]", 10000), 401, 400},
		{"over the JSON limit", big, 401, 413},
		{"over the payload limit", huge, 413, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.call("POST", "/api/uploads", tt.body, "Authorization", "")
			if code != tt.stranger {
				t.Errorf("without the token = %d %s, want %d", code, body, tt.stranger)
			}
			code, body = e.call("POST", "/api/uploads", tt.body)
			if code != tt.holder {
				t.Errorf("with the token = %d %s, want %d", code, body, tt.holder)
			}
		})
	}
	if after := e.snapshot(); after != before {
		t.Errorf("bad bodies changed the buckets:\n%s", after)
	}
}

// TestNoTokenConfigured: a server with no token refuses every write, even
// one with a bearer header, and shows no library unless it is public.
func TestNoTokenConfigured(t *testing.T) {
	for _, public := range []bool{false, true} {
		t.Run(fmt.Sprintf("public library %v", public), func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.Token, c.Keys, c.PublicLibrary = "", newSigner(t), public })
			for _, bearer := range []string{"", "Bearer ", "Bearer " + testToken} {
				code, body := e.call("POST", "/api/uploads", `{"filename":"a.mp4","size":1,"contentType":"video/mp4"}`, "Authorization", bearer)
				refused(t, code, body)
				code, body = e.call("POST", "/api/streams", `{"name":"a"}`, "Authorization", bearer)
				refused(t, code, body)
			}
			want := http.StatusUnauthorized
			if public {
				want = http.StatusOK
			}
			if code, body := e.call("GET", "/api/videos", "", "Authorization", ""); code != want {
				t.Errorf("GET /api/videos = %d %s, want %d", code, body, want)
			}
			if keys, _ := e.store.List(context.Background(), e.media, ""); len(keys) != 0 {
				t.Errorf("refused writes left %v", keys)
			}
		})
	}
}

// TestTokenSource: the token is asked of TokenSource (a rotated secret
// works at once, the static Token no longer does), only for requests that
// carry a credential; a source that fails refuses with 503.
func TestTokenSource(t *testing.T) {
	var calls atomic.Int32
	current := "rotated-token-0123456789"
	var fail atomic.Bool
	e := newEnv(t, func(c *Config) {
		c.TokenSource = func(ctx context.Context) (string, error) {
			calls.Add(1)
			if fail.Load() {
				return "", errors.New("secrets manager: connection refused")
			}
			return current, nil
		}
	})
	body := `{"filename":"a.mp4","size":1,"contentType":"video/mp4"}`
	code, resp := e.call("POST", "/api/uploads", body) // the static testToken
	refused(t, code, resp)
	e.callJSON("POST", "/api/uploads", body, http.StatusCreated, nil, "Authorization", "Bearer "+current)

	n := calls.Load()
	code, resp = e.call("POST", "/api/uploads", body, "Authorization", "")
	refused(t, code, resp)
	if calls.Load() != n {
		t.Error("a request without credentials made the API read the token")
	}

	fail.Store(true)
	before := e.snapshot()
	code, resp = e.call("POST", "/api/uploads", body, "Authorization", "Bearer "+current)
	if code != http.StatusServiceUnavailable || strings.Contains(string(resp), "connection refused") {
		t.Errorf("token source failing = %d %s, want 503 without the cause", code, resp)
	}
	if e.snapshot() != before {
		t.Error("a request refused for want of the token changed the buckets")
	}
	fail.Store(false)
	current = ""
	code, resp = e.call("POST", "/api/uploads", body, "Authorization", "Bearer ")
	refused(t, code, resp)
}

// TestLibraryVisibility: the library is the token holder's unless it is
// public; a stranger reading a public library sees ready videos and
// published streams only, with no file name, bucket or key.
func TestLibraryVisibility(t *testing.T) {
	ctx := context.Background()
	setup := func(e *env) (ready, busy, uploading string) {
		t.Helper()
		// A ready video put in the bucket without the API (no record).
		if err := e.store.PutBytes(ctx, e.uploads, "cli/Secret Holiday.mp4", []byte("x"), store.Object{ContentType: "video/mp4"}); err != nil {
			t.Fatal(err)
		}
		ready = catalog.VideoID("cli/Secret Holiday.mp4")
		if err := catalog.Write(ctx, e.store, e.media, &catalog.Status{ID: ready, State: catalog.StateReady,
			Playback: catalog.MasterKey(ready), Poster: catalog.Prefix(ready) + "poster-00000000.jpg", Source: catalog.Upload{Size: 1}}); err != nil {
			t.Fatal(err)
		}
		// One uploaded through the API and being processed, one still uploading.
		var up Upload
		e.callJSON("POST", "/api/uploads", `{"filename":"Private Draft.mp4","size":1,"contentType":"video/mp4"}`, 201, &up)
		if code, body := put(t, up.Put.URL, []byte("y"), up.Put.Headers); code != 200 {
			t.Fatalf("PUT = %d %s", code, body)
		}
		if err := catalog.Write(ctx, e.store, e.media, &catalog.Status{ID: up.ID, State: catalog.StateProcessing,
			Progress: 0.5, Source: catalog.Upload{Size: 1}}); err != nil {
			t.Fatal(err)
		}
		var pending Upload
		e.callJSON("POST", "/api/uploads", `{"filename":"Unfinished.mp4","size":1,"contentType":"video/mp4"}`, 201, &pending)
		e.callJSON("POST", "/api/streams", `{"name":"idle-studio"}`, 201, nil)
		return ready, up.ID, pending.ID
	}
	private := []string{"Secret", "Holiday", "Private", "Draft", "Unfinished", "cli/", `"source"`, `"filename"`, "idle-studio"}

	t.Run("default token only", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Keys = newSigner(t) })
		ready, busy, _ := setup(e)
		for _, p := range []string{"/api/videos", "/api/videos/" + ready, "/api/streams"} {
			code, body := e.call("GET", p, "", "Authorization", "")
			refused(t, code, body)
		}
		// The token holder sees everything, with the source of each video
		// (status.json no longer has it).
		var v Video
		e.callJSON("GET", "/api/videos/"+busy, "", 200, &v)
		if v.Source == nil || v.Source.Bucket != e.uploads || !strings.HasSuffix(v.Source.Key, "/Private-Draft.mp4") || v.Filename != "Private Draft.mp4" {
			t.Errorf("token holder's view of a video being processed: source %+v filename %q", v.Source, v.Filename)
		}
		var list VideoList
		e.callJSON("GET", "/api/videos", "", 200, &list)
		var names []string
		for _, v := range list.Videos {
			if v.Source == nil || v.Source.Key == "" || v.Source.Bucket != e.uploads {
				t.Errorf("token holder's listing of %s: source %+v", v.ID, v.Source)
			}
			names = append(names, v.Filename)
		}
		slices.Sort(names)
		if want := []string{"Private Draft.mp4", "Secret Holiday.mp4", "Unfinished.mp4"}; !slices.Equal(names, want) {
			t.Errorf("token holder's listing: %v, want %v", names, want)
		}
	})

	t.Run("public library", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Keys, c.PublicLibrary = newSigner(t), true })
		ready, busy, uploading := setup(e)
		if err := e.store.PutBytes(ctx, e.media, "live/on-air/master.m3u8", []byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n360p/index.m3u8\n"), store.For("live/on-air/master.m3u8")); err != nil {
			t.Fatal(err)
		}
		if err := e.store.PutBytes(ctx, e.media, "live/on-air/360p/index.m3u8", []byte("#EXTM3U\n"), store.For("live/on-air/360p/index.m3u8")); err != nil {
			t.Fatal(err)
		}
		code, body := e.call("GET", "/api/videos", "", "Authorization", "")
		var list VideoList
		if code != 200 || json.Unmarshal(body, &list) != nil {
			t.Fatalf("GET /api/videos = %d %s", code, body)
		}
		if len(list.Videos) != 1 || list.Videos[0].ID != ready || list.Videos[0].PlaybackURL == "" {
			t.Errorf("public listing %s, want only the ready video, with its playback URL", body)
		}
		code, one := e.call("GET", "/api/videos/"+ready, "", "Authorization", "")
		if code != 200 {
			t.Errorf("public GET of a ready video = %d %s", code, one)
		}
		code, streams := e.call("GET", "/api/streams", "", "Authorization", "")
		if code != 200 || !strings.Contains(string(streams), "on-air") {
			t.Errorf("public streams = %d %s, want on-air listed", code, streams)
		}
		for _, b := range [][]byte{body, one, streams} {
			for _, p := range append(private, e.uploads, e.media) {
				if strings.Contains(string(b), p) {
					t.Errorf("a stranger sees %q in %s", p, b)
				}
			}
		}
		for _, id := range []string{busy, uploading} {
			if code, body := e.call("GET", "/api/videos/"+id, "", "Authorization", ""); code != 404 {
				t.Errorf("public GET of a video in progress = %d %s, want 404", code, body)
			}
		}
		// A wrong token is refused, not shown the public view.
		code, body = e.call("GET", "/api/videos", "", "Authorization", "Bearer wrong")
		refused(t, code, body)
		// The token holder still sees it all.
		var all VideoList
		e.callJSON("GET", "/api/videos", "", 200, &all)
		if len(all.Videos) != 3 {
			t.Errorf("token holder sees %d videos, want 3", len(all.Videos))
		}
	})
}

// TestSignedPlayback: where the CDN wants signed URLs, the API hands out
// no unsigned playback, poster or live URL, to anyone.
func TestSignedPlayback(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SignedPlayback, c.PublicLibrary, c.Keys = true, true, newSigner(t) })
	ctx := context.Background()
	id := "clip-000000000001"
	if err := catalog.Write(ctx, e.store, e.media, &catalog.Status{ID: id, State: catalog.StateReady,
		Playback: catalog.MasterKey(id), Poster: catalog.Prefix(id) + "poster-00000000.jpg"}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutBytes(ctx, e.media, "live/on-air/master.m3u8", []byte("#EXTM3U\n"), store.For("live/on-air/master.m3u8")); err != nil {
		t.Fatal(err)
	}
	for _, auth := range []string{"", "Bearer " + testToken} {
		for _, p := range []string{"/api/videos", "/api/videos/" + id, "/api/streams"} {
			code, body := e.call("GET", p, "", "Authorization", auth)
			if code != 200 || strings.Contains(string(body), "Url") {
				t.Errorf("GET %s (auth %q) = %d %s, want no URL", p, auth, code, body)
			}
		}
	}
	code, body := e.call("POST", "/api/streams", `{"name":"studio"}`)
	if code != 201 || strings.Contains(string(body), "playbackUrl") || !strings.Contains(string(body), "publishUrl") {
		t.Errorf("create stream = %d %s, want the publish URL and no playback URL", code, body)
	}
}

// TestUnauthorizedHeader: a 401 says how to authenticate.
func TestUnauthorizedHeader(t *testing.T) {
	e := newEnv(t, nil)
	req, err := http.NewRequest("GET", e.srv.URL+"/api/videos", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("= %d, WWW-Authenticate %q; want 401 and Bearer", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// TestBehindCloudFront: on AWS CloudFront signs every request to the
// function URL, so Authorization holds its SigV4 signature and the event
// an IAM authorizer context that says nothing about the viewer; the
// viewer's own Authorization arrives as X-Hlsflow-Authorization
// (infra/apirequest.js). Only that counts.
func TestBehindCloudFront(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Keys = newSigner(t) })
	sigv4 := "AWS4-HMAC-SHA256 Credential=ASIA000/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00"
	event := func(forwarded string) events.APIGatewayV2HTTPRequest {
		h := map[string]string{"authorization": sigv4, "content-type": "application/json"}
		if forwarded != "" {
			h["x-hlsflow-authorization"] = forwarded
		}
		return events.APIGatewayV2HTTPRequest{RawPath: "/api/streams", Body: `{"name":"cf"}`, Headers: h,
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/api/streams"},
				Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
					IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:sts::1:assumed-role/cloudfront"}},
			}}
	}
	for _, tt := range []struct {
		name, forwarded string
		want            int
	}{
		{"no viewer credentials", "", 401},
		{"wrong token", "Bearer wrong", 401},
		{"the token", "Bearer " + testToken, 201},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.lambda(context.Background(), event(tt.forwarded))
			if err != nil || resp.StatusCode != tt.want {
				t.Errorf("= %d %s, %v; want %d", resp.StatusCode, resp.Body, err, tt.want)
			}
		})
	}
	// Through the local adapter too: the forwarded header wins over
	// whatever Authorization says.
	code, body := e.call("GET", "/api/videos", "", "Authorization", sigv4, ForwardedAuthorization, "Bearer "+testToken)
	if code != 200 {
		t.Errorf("GET /api/videos with the forwarded token = %d %s", code, body)
	}
}
