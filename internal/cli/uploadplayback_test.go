package cli

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/localcloud"
	"github.com/hlsflow/hlsflow/internal/store"
)

// TestUploadSignedPlayback: upload asks the local API whether playback is
// signed. Unsigned (501), it prints the edge's URL as before; signed, it
// prints no bare /vod/ URL (it would get 403) but how to get a grant, and
// with --wait the URL the API grants once the video is ready. A refused
// token or an answer that is not the API's is said, never taken for a
// URL.
func TestUploadSignedPlayback(t *testing.T) {
	const access, secretKey = "AKIAUPLOADPLAYBACK01", "upload-secret-0123456789abcdefghijklmnop"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cloud, err := localcloud.Start(ctx, localcloud.Config{
		DataDir: t.TempDir(), S3Addr: "127.0.0.1:0", AccessKey: access, SecretKey: secretKey,
		Region: "us-east-1", Buckets: []string{"uploads", "media"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close(context.Background())
	data := t.TempDir()
	if err := writeCredentials(filepath.Join(data, CredentialsFileName), access, secretKey, false); err != nil {
		t.Fatal(err)
	}
	token, err := loadOrCreateToken(filepath.Join(data, tokenFileName))
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("a video, as far as this test goes")
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	if err := os.WriteFile(clip, content, 0o600); err != nil {
		t.Fatal(err)
	}

	// The API: answers what answer says, and records the requests.
	var answer atomic.Value
	var mu sync.Mutex
	var asked []string
	var then [][2]string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		a := answer.Load().([2]string)
		if len(then) > 0 {
			answer.Store(then[0]) // the next request's answer
			then = then[1:]
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(map[string]int{"501": 501, "409": 409, "401": 401, "200": 200, "500": 500}[a[0]])
		_, _ = w.Write([]byte(a[1]))
	}))
	defer api.Close()
	edge := strings.TrimPrefix(api.URL, "http://")
	upload := func(key string, extra ...string) (string, string, int) {
		t.Helper()
		return runMain(t, nil, append([]string{"upload", clip, "--s3", cloud.Endpoint(), "--edge", edge, "--data", data, "--key", key, "--timeout", "20s"}, extra...)...)
	}
	bare := func(id string) string { return "playback: " + api.URL + "/" + catalog.MasterKey(id) }

	answer.Store([2]string{"501", `{"error":"signed playback is not configured on this server"}`})
	out, errOut, code := upload("pb/unsigned.mp4")
	id := catalog.VideoID("pb/unsigned.mp4")
	if code != 0 || !strings.Contains(out, bare(id)) || errOut != "" {
		t.Errorf("unsigned: exit %d, %q, %q; want the bare URL", code, out, errOut)
	}
	mu.Lock()
	if want := "POST /api/videos/" + id + "/playback Bearer " + token; len(asked) != 1 || asked[0] != want {
		t.Errorf("asked %q, want %q", asked, want)
	}
	mu.Unlock()

	answer.Store([2]string{"409", `{"error":"video is processing, not ready to play"}`})
	out, errOut, code = upload("pb/signed.mp4")
	id = catalog.VideoID("pb/signed.mp4")
	if code != 0 || strings.Contains(out, "/vod/") || !strings.Contains(out, "playback: signed") || !strings.Contains(out, "/api/videos/"+id+"/playback") {
		t.Errorf("signed: exit %d, %q, %q; want how to get a grant and no bare URL", code, out, errOut)
	}

	answer.Store([2]string{"401", `{"error":"missing or wrong API token"}`})
	out, errOut, code = upload("pb/refused.mp4")
	if code != 0 || !strings.Contains(errOut, "refused the API token") || !strings.Contains(errOut, "needs a grant") {
		t.Errorf("token refused: exit %d, %q, %q; want the bare URL and a warning", code, out, errOut)
	}

	// --wait: the video ready (its status.json about this very upload),
	// the granted URL is printed.
	s := store.New(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(cloud.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider(access, secretKey, "")})
	sum := md5.Sum(content)
	id = catalog.VideoID("pb/ready.mp4")
	if err := catalog.Write(ctx, s, "media", &catalog.Status{ID: id, State: catalog.StateReady,
		Source: catalog.Upload{Size: int64(len(content)), ETag: hex.EncodeToString(sum[:])}}); err != nil {
		t.Fatal(err)
	}
	granted := api.URL + "/p/grant-token/vod/" + id + "/master.m3u8"
	answer.Store([2]string{"409", `{"error":"not ready"}`})
	mu.Lock()
	then = [][2]string{{"200", `{"url":"` + granted + `","expires":"2030-01-02T03:04:05Z","cookies":[]}`}}
	mu.Unlock()
	out, errOut, code = upload("pb/ready.mp4", "--wait")
	if code != 0 || !strings.Contains(out, "playback: "+granted+"\n") || !strings.Contains(out, "expires:  2030-01-02T03:04:05Z") || strings.Contains(out, bare(id)) {
		t.Errorf("--wait, signed: exit %d, %q, %q; want the granted URL", code, out, errOut)
	}

	// A grant the API will not give, or an answer that is not one: an
	// error, not a URL.
	for _, a := range [][2]string{{"500", `{"error":"boom"}`}, {"200", `{"url":""}`}, {"200", `<html>`}} {
		p := uploadPlayback{signed: true, base: api.URL, token: token}
		answer.Store(a)
		var o, e strings.Builder
		err := p.printGranted(ctx, Env{Stdout: &o, Stderr: &e, Getenv: func(string) string { return "" }}, &Common{}, &target{}, "", id)
		if err == nil || o.Len() != 0 || !strings.Contains(err.Error(), "no playback grant") {
			t.Errorf("API answering %s %s: %v, printed %q", a[0], a[1], err, o.String())
		}
	}
}

// TestDeploymentSignedPlayback: a stack with signedPlayback outputs its
// signing key's secret; upload then prints how to get a grant, not the
// bare CloudFront URL, and asks nothing of the network to know it.
func TestDeploymentSignedPlayback(t *testing.T) {
	for _, signed := range []bool{false, true} {
		outputs := stackOutputs()
		if signed {
			outputs[outSigningKey] = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hlsflow-signing-AbCdEf"
		}
		d, err := readOutputs(writeOutputs(t, outputs))
		if err != nil {
			t.Fatal(err)
		}
		tg := &target{edge: d.edge, deployment: d}
		p := playbackOf(context.Background(), Env{}, &Common{}, tg, "", "v-1")
		var o strings.Builder
		p.printEarly(Env{Stdout: &o, Stderr: &o}, tg, "v-1", false)
		if bareURL := strings.Contains(o.String(), "playback: https://d111111abcdef8.cloudfront.net/"+catalog.MasterKey("v-1")); p.signed != signed || bareURL == signed {
			t.Errorf("signed %v: %+v printed %q", signed, p, o.String())
		}
	}
}
