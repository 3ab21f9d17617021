package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/store"
)

func newSigner(t *testing.T) *keys.Signer {
	t.Helper()
	s, err := keys.New([]byte("0123456789abcdef-test-secret"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCreateStream(t *testing.T) {
	signer := newSigner(t)
	e := newEnv(t, func(c *Config) { c.Keys = signer })
	auth := []string{"Authorization", "Bearer " + testToken}
	tests := []struct {
		name       string
		body       string
		header     []string
		wantStatus int
		wantField  string
	}{
		{"no token", `{"name":"studio"}`, []string{"Authorization", ""}, 401, ""},
		{"wrong token", `{"name":"studio"}`, []string{"Authorization", "Bearer nope"}, 401, ""},
		{"wrong scheme", `{"name":"studio"}`, []string{"Authorization", "Basic " + testToken}, 401, ""},
		{"invalid name", `{"name":"Studio One"}`, auth, 400, "name"},
		{"missing name", `{}`, auth, 400, "name"},
		{"name of wrong type", `{"name":3}`, auth, 400, "name"},
		{"created", `{"name":"studio-1"}`, auth, 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.call("POST", "/api/streams", tt.body, tt.header...)
			if code != tt.wantStatus {
				t.Fatalf("= %d %s, want %d", code, body, tt.wantStatus)
			}
			if code != 201 {
				var ae apiError
				if err := json.Unmarshal(body, &ae); err != nil || ae.Message == "" || ae.Field != tt.wantField {
					t.Errorf("error body %s (field want %q): %v", body, tt.wantField, err)
				}
				return
			}
			var cs CreatedStream
			if err := json.Unmarshal(body, &cs); err != nil {
				t.Fatal(err)
			}
			if name, ok := signer.Verify(cs.Key); !ok || name != "studio-1" {
				t.Errorf("key %q does not verify for studio-1", cs.Key)
			}
			if cs.PublishURL != "rtmp://127.0.0.1:1935/live/"+cs.Key || cs.PlaybackURL != "/live/studio-1/master.m3u8" ||
				cs.SRTURL != "srt://127.0.0.1:8890?streamid="+cs.Key {
				t.Errorf("urls: %+v", cs)
			}
		})
	}
}

// TestCreateStreamSRTPassphrase: a passphrase the ingest requires is in
// the SRT URL, escaped, so the URL pastes into ffmpeg as it is.
func TestCreateStreamSRTPassphrase(t *testing.T) {
	signer := newSigner(t)
	e := newEnv(t, func(c *Config) { c.Keys, c.SRTPassphrase = signer, "open sesame&1" })
	code, body := e.call("POST", "/api/streams", `{"name":"cam"}`, "Authorization", "Bearer "+testToken)
	var cs CreatedStream
	if err := json.Unmarshal(body, &cs); code != 201 || err != nil {
		t.Fatalf("= %d %s", code, body)
	}
	if want := "srt://127.0.0.1:8890?streamid=" + cs.Key + "&passphrase=open+sesame%261"; cs.SRTURL != want {
		t.Errorf("srtUrl %q, want %q", cs.SRTURL, want)
	}
}

// TestCreateStreamWHIP: with WHIP, the answer names the stream's WHIP
// endpoint, whose bearer token is the key; without, it has none.
func TestCreateStreamWHIP(t *testing.T) {
	signer := newSigner(t)
	for _, tc := range []struct{ base, viewerHost, want string }{
		{"http://127.0.0.1:8000/whip/", "", "http://127.0.0.1:8000/whip/cam"},
		{"http://127.0.0.1:8000/whip/", "d111.cloudfront.net", "http://127.0.0.1:8000/whip/cam"},
		{"", "d111.cloudfront.net", ""},
		// On AWS a path: the endpoint is on the API's own distribution.
		{"/whip", "d111.cloudfront.net", "https://d111.cloudfront.net/whip/cam"},
		{"/whip", "", ""},
		{"/whip", "evil.example/x?", ""},
		{"/whip", "evil.example@x", ""},
	} {
		e := newEnv(t, func(c *Config) { c.Keys, c.WHIPURL = signer, tc.base })
		header := []string{"Authorization", "Bearer " + testToken}
		if tc.viewerHost != "" {
			header = append(header, ViewerHostHeader, tc.viewerHost)
		}
		code, body := e.call("POST", "/api/streams", `{"name":"cam"}`, header...)
		var cs CreatedStream
		if err := json.Unmarshal(body, &cs); code != 201 || err != nil {
			t.Fatalf("= %d %s", code, body)
		}
		if cs.WHIPURL != tc.want {
			t.Errorf("with WHIPURL %q, viewer host %q: whipUrl %q, want %q", tc.base, tc.viewerHost, cs.WHIPURL, tc.want)
		}
	}
}

func TestCreateStreamNeedsKeysAndAuth(t *testing.T) {
	t.Run("no signer", func(t *testing.T) {
		e := newEnv(t, nil)
		code, body := e.call("POST", "/api/streams", `{"name":"a"}`, "Authorization", "Bearer "+testToken)
		if code != http.StatusNotImplemented {
			t.Errorf("= %d %s, want 501", code, body)
		}
	})
	// An authorizer's verdict in the event counts only where the operator
	// says API Gateway puts it there (TrustAuthorizer). Behind CloudFront
	// with origin access control every request arrives IAM-signed by
	// CloudFront, and locally the Lambda Invoke API takes any event: by
	// default such a request is a stranger's.
	iamEvent := events.APIGatewayV2HTTPRequest{
		RawPath: "/api/streams", Body: `{"name":"a"}`,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/api/streams"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::1:user/x"}},
		},
	}
	for _, tt := range []struct {
		name  string
		token string
		trust bool
		want  int
	}{
		{"authorizer not trusted with a token", testToken, false, 401},
		{"authorizer not trusted without a token", "", false, 401},
		{"authorizer trusted", "", true, 201},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.Token, c.Keys, c.TrustAuthorizer = tt.token, newSigner(t), tt.trust })
			if code, _ := e.call("POST", "/api/streams", `{"name":"a"}`, "Authorization", "Bearer "); code != 401 {
				t.Errorf("empty token accepted: %d", code)
			}
			resp, err := e.lambda(context.Background(), iamEvent)
			if err != nil || resp.StatusCode != tt.want {
				t.Errorf("IAM-authorised request = %d %s, %v; want %d", resp.StatusCode, resp.Body, err, tt.want)
			}
		})
	}
}

func TestListStreams(t *testing.T) {
	now := time.Now()
	signer := newSigner(t)
	e := newEnv(t, func(c *Config) { c.Keys = signer; c.Now = func() time.Time { return now } })
	ctx := context.Background()
	var created CreatedStream
	e.callJSON("POST", "/api/streams", `{"name":"idle-one"}`, 201, &created, "Authorization", "Bearer "+testToken)
	e.callJSON("POST", "/api/streams", `{"name":"on-air"}`, 201, nil, "Authorization", "Bearer "+testToken)

	master := "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n360p/index.m3u8\n"
	media := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg0.ts\n"
	write := func(key, body string) {
		t.Helper()
		if err := e.store.PutBytes(ctx, e.media, key, []byte(body), store.For(key)); err != nil {
			t.Fatal(err)
		}
	}
	write("live/on-air/master.m3u8", master)
	write("live/on-air/360p/index.m3u8", media)
	write("live/done/master.m3u8", master)
	write("live/done/360p/index.m3u8", media+"#EXT-X-ENDLIST\n")
	write("live/starting/360p/index.m3u8", media) // no master yet: not listed

	list := func() map[string]LiveStream {
		t.Helper()
		code, body := e.call("GET", "/api/streams", "")
		if code != 200 {
			t.Fatalf("GET /api/streams = %d %s", code, body)
		}
		if strings.Contains(string(body), created.Key) || strings.Contains(string(body), "key") {
			t.Fatalf("stream list shows a key: %s", body)
		}
		var out struct{ Streams []LiveStream }
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		m := map[string]LiveStream{}
		for _, s := range out.Streams {
			m[s.Name] = s
		}
		return m
	}
	got := list()
	want := map[string]string{"idle-one": StreamIdle, "on-air": StreamLive, "done": StreamEnded}
	if len(got) != len(want) {
		t.Errorf("streams %v, want %v", got, want)
	}
	for name, state := range want {
		if got[name].State != state {
			t.Errorf("%s: state %q, want %q", name, got[name].State, state)
		}
	}
	if got["on-air"].PlaybackURL != "/live/on-air/master.m3u8" || got["idle-one"].PlaybackURL != "" {
		t.Errorf("playback urls: %+v", got)
	}
	now = now.Add(time.Minute)
	if s := list()["on-air"]; s.State != StreamStalled {
		t.Errorf("a playlist unchanged for a minute: state %q, want stalled", s.State)
	}
}
