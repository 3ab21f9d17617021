package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/hlsflow/hlsflow/internal/store"
)

// needLocal skips tests of `hlsflow up` itself on other deployments.
func needLocal(t *testing.T) {
	t.Helper()
	if sys.Local == nil {
		t.Skip("tests the local system (hlsflow up) itself")
	}
}

// TestLocalForeignHostRefused: DNS rebinding (a page on another site whose
// name now points at 127.0.0.1) reaches neither the edge's API, page and
// media nor S3; this machine's own names still do.
func TestLocalForeignHostRefused(t *testing.T) {
	needLocal(t)
	edgePort := sys.EdgeURL[strings.LastIndex(sys.EdgeURL, ":"):]
	s3Port := sys.S3Endpoint[strings.LastIndex(sys.S3Endpoint, ":"):]
	for _, c := range []struct{ base, path, port string }{
		{sys.EdgeURL, "/api/videos", edgePort},
		{sys.EdgeURL, "/", edgePort},
		{sys.EdgeURL, "/vod/none/master.m3u8", edgePort},
		{sys.S3Endpoint, "/uploads?list-type=2", s3Port},
	} {
		for _, host := range []string{"rebind.evil.example" + c.port, "evil.example"} {
			req, _ := http.NewRequest(http.MethodGet, c.base+c.path, nil)
			req.Host = host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusMisdirectedRequest || string(b) != "misdirected request\n" {
				t.Errorf("%s%s with Host %s: %d %.100q", c.base, c.path, host, resp.StatusCode, b)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, c.base+c.path, nil)
		req.Host = "localhost" + c.port
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusMisdirectedRequest {
			t.Errorf("%s%s with Host localhost: 421", c.base, c.path)
		}
	}
}

// TestLocalCORSAndPageHeaders: the uploads bucket takes browser uploads
// from the page's own origins only; the API is readable by no other
// origin; media stay readable by players anywhere; the page has its CSP.
func TestLocalCORSAndPageHeaders(t *testing.T) {
	needLocal(t)
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, sys.S3Endpoint+"/uploads/browser/x.mp4", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "PUT")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	edgePort := sys.EdgeURL[strings.LastIndex(sys.EdgeURL, ":"):]
	for _, origin := range []string{sys.EdgeURL, "http://localhost" + edgePort} {
		if got := preflight(origin).Header.Get("Access-Control-Allow-Origin"); got != origin {
			t.Errorf("uploads preflight from the page's origin %s: Allow-Origin %q", origin, got)
		}
	}
	for _, origin := range []string{"http://evil.example", "http://127.0.0.1:1", "null"} {
		if got := preflight(origin).Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("uploads preflight from %s: Allow-Origin %q, want none", origin, got)
		}
	}

	// What a page of another site makes a browser send (a form POST needs
	// no preflight, and test/test are no secret) is refused outright.
	ps, err := s3.NewPresignClient(s3.NewFromConfig(aws.Config{Region: sys.Region, BaseEndpoint: aws.String(sys.S3Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(sys.AccessKey, sys.SecretKey, "")}, func(o *s3.Options) { o.UsePathStyle = true })).
		PresignPutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(sys.UploadsBucket), Key: aws.String("browser/cross-site.mp4")})
	if err != nil {
		t.Fatal(err)
	}
	for _, origin := range []string{"http://evil.example", sys.EdgeURL} {
		req, _ := http.NewRequest(http.MethodPut, ps.URL, strings.NewReader("x"))
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{true: 200, false: 403}[origin == sys.EdgeURL]; resp.StatusCode != want {
			t.Errorf("presigned PUT from a page of %s: %d, want %d", origin, resp.StatusCode, want)
		}
	}

	resp, _ := edgeGet(t, "GET", "/api/videos", map[string]string{"Origin": "http://evil.example"})
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("API answers another origin with Allow-Origin %q", got)
	}
	key := "vod/cors-check/seg_00000.ts"
	if err := sys.Store().PutBytes(context.Background(), sys.MediaBucket, key, []byte("segment"), store.For(key)); err != nil {
		t.Fatal(err)
	}
	resp, _ = edgeGet(t, "GET", "/"+key, map[string]string{"Origin": "http://player.example"})
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("media for a player elsewhere: Allow-Origin %q, want *", got)
	}

	resp, _ = edgeGet(t, "GET", "/", nil)
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "script-src 'self'", "worker-src 'self' blob:", "connect-src 'self' " + sys.EdgeURL + " " + sys.S3Endpoint} {
		if !strings.Contains(csp, want) {
			t.Errorf("page CSP lacks %q: %q", want, csp)
		}
	}
	if strings.Contains(csp, "unsafe") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("page CSP %q, nosniff %q", csp, resp.Header.Get("X-Content-Type-Options"))
	}
}

// TestLocalStoredXSSNotServed: whoever can write to the media bucket
// cannot publish a page on the edge's origin (where the page keeps the API
// token): HTML, SVG and script objects go out as downloads.
func TestLocalStoredXSSNotServed(t *testing.T) {
	needLocal(t)
	ctx := context.Background()
	for name, ctype := range map[string]string{"evil.html": "text/html", "poster-x.jpg": "image/svg+xml", "a.js": "text/javascript", "feed.xml": "application/xml"} {
		key := "vod/xss-check/" + name
		if err := sys.Store().PutBytes(ctx, sys.MediaBucket, key, []byte("<script>fetch('/api/videos')</script>"), store.Object{ContentType: ctype}); err != nil {
			t.Fatal(err)
		}
		resp, _ := edgeGet(t, "GET", "/"+key, nil)
		h := resp.Header
		if resp.StatusCode != http.StatusOK || h.Get("Content-Type") != "application/octet-stream" ||
			h.Get("Content-Disposition") != "attachment" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s stored as %s: %d, type %q, disposition %q, nosniff %q", name, ctype, resp.StatusCode,
				h.Get("Content-Type"), h.Get("Content-Disposition"), h.Get("X-Content-Type-Options"))
		}
	}
}

// TestLocalWrongSecretPutIs403: a PUT signed with a wrong secret gets
// S3's 403, not 503 (which SDKs retry as an outage), whether or not the
// client sends Expect: 100-continue, for small and large bodies; nothing
// is stored.
func TestLocalWrongSecretPutIs403(t *testing.T) {
	needLocal(t)
	ctx := context.Background()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	for _, size := range []int{100, 1 << 20, 6 << 20} {
		file := writeFile(t, "body.bin", bytes.Repeat([]byte{'x'}, size))
		for _, expect := range []string{"Expect: 100-continue", "Expect:"} {
			for i := range 3 {
				key := fmt.Sprintf("denied/curl-%d-%d-%d", size, len(expect), i)
				out, err := exec.Command(curl, "-sS", "-i", "-T", file, "--aws-sigv4", "aws:amz:"+sys.Region+":s3",
					"--user", sys.AccessKey+":wrong-secret", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-H", expect,
					sys.S3Endpoint+"/"+sys.UploadsBucket+"/"+key).CombinedOutput()
				codes := regexp.MustCompile(`(?m)^HTTP/1\.1 (\d{3})`).FindAllStringSubmatch(string(out), -1)
				if err != nil || len(codes) == 0 || codes[len(codes)-1][1] != "403" || !bytes.Contains(out, []byte("<Code>SignatureDoesNotMatch</Code>")) {
					t.Fatalf("curl -T %d bytes, %q: %v\n%.400s", size, expect, err, out)
				}
				if _, err := sys.Store().Head(ctx, sys.UploadsBucket, key); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s stored: %v", key, err)
				}
			}
		}
		cfg := aws.Config{Region: sys.Region, BaseEndpoint: aws.String(sys.S3Endpoint),
			Credentials: credentials.NewStaticCredentialsProvider(sys.AccessKey, "wrong-secret", "")}
		bad := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true; o.RetryMaxAttempts = 1 })
		key := fmt.Sprintf("denied/sdk-%d", size)
		_, err := bad.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(sys.UploadsBucket), Key: aws.String(key),
			Body: bytes.NewReader(bytes.Repeat([]byte{'x'}, size)), ContentLength: aws.Int64(int64(size))})
		var ae smithy.APIError
		var re interface{ HTTPStatusCode() int }
		if !errors.As(err, &ae) || ae.ErrorCode() != "SignatureDoesNotMatch" || !errors.As(err, &re) || re.HTTPStatusCode() != 403 {
			t.Errorf("SDK put of %d bytes with a wrong secret: %v", size, err)
		}
		if _, err := sys.Store().Head(ctx, sys.UploadsBucket, key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s stored: %v", key, err)
		}
	}
}

// TestLocalDataPrivate: the data folder and what is in it are for this
// user only.
func TestLocalDataPrivate(t *testing.T) {
	needLocal(t)
	checkPrivate(t, sys.Local.DataDir)
}

func checkPrivate(t *testing.T, data string) {
	t.Helper()
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(data); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("data dir %s: %v %v, want 0700", data, st.Mode().Perm(), err)
	}
	for _, e := range entries {
		st, err := os.Stat(filepath.Join(data, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case e.IsDir() && st.Mode().Perm() != 0o700:
			t.Errorf("%s: mode %v, want 0700", e.Name(), st.Mode().Perm())
		case !e.IsDir() && st.Mode().Perm()&0o077 != 0:
			t.Errorf("%s: mode %v, readable by others", e.Name(), st.Mode().Perm())
		}
	}
}

// upRun is an `hlsflow up` a test starts for itself.
type upRun struct {
	cmd      *exec.Cmd
	mu       sync.Mutex
	out      bytes.Buffer
	done     chan error
	s3, edge string
}

func (u *upRun) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.out.Write(p)
}

func (u *upRun) output() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.out.String()
}

// startUp runs `hlsflow up` on free ports with data and extra args, its
// environment holding env too, and returns once its banner is out.
func startUp(t *testing.T, data string, env []string, args ...string) *upRun {
	t.Helper()
	ports, err := freePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	udp, err := freeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	srt, err := freeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	whip, err := freeUDPTCPPort() // ICE: UDP, and TCP on the same number
	if err != nil {
		t.Fatal(err)
	}
	u := &upRun{done: make(chan error, 1), s3: ports[0], edge: ports[1]}
	u.cmd = exec.Command(sys.Local.Bin, append([]string{"up", "--data", data, "--s3", ports[0], "--edge", ports[1], "--rtmp", ports[2], "--udp", udp, "--srt", srt, "--whip-ice", whip}, args...)...)
	u.cmd.Env = append(os.Environ(), env...)
	u.cmd.Stdout, u.cmd.Stderr = u, u
	u.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := u.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { u.done <- u.cmd.Wait() }()
	t.Cleanup(func() { u.stop(t) })
	deadline := time.After(90 * time.Second)
	for !strings.Contains(u.output(), "stop with Ctrl-C") {
		select {
		case err := <-u.done:
			u.done <- err
			t.Fatalf("hlsflow up %v exited: %v\n%s", args, err, u.output())
		case <-deadline:
			t.Fatalf("hlsflow up %v not up after 90 s:\n%s", args, u.output())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return u
}

func (u *upRun) stop(t *testing.T) {
	_ = u.cmd.Process.Signal(os.Interrupt)
	select {
	case <-u.done:
	case <-time.After(40 * time.Second):
		_ = syscall.Kill(-u.cmd.Process.Pid, syscall.SIGKILL)
		<-u.done
		t.Errorf("hlsflow up did not stop on Ctrl-C")
	}
	u.done <- nil
}

var bannerCreds = regexp.MustCompile(`AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)`)

func (u *upRun) credentials(t *testing.T) (string, string) {
	t.Helper()
	m := bannerCreds.FindStringSubmatch(u.output())
	if m == nil {
		t.Fatalf("no credentials in the banner:\n%s", u.output())
	}
	return m[1], m[2]
}

// A user's real AWS keys in the environment: never used nor printed.
var userKeys = []string{"AWS_ACCESS_KEY_ID=AKIAUSERSREALKEY0000", "AWS_SECRET_ACCESS_KEY=users-real-secret-never-to-print"}

func (u *upRun) checkNoUserKeys(t *testing.T) {
	t.Helper()
	if out := u.output(); strings.Contains(out, "AKIAUSERSREALKEY0000") || strings.Contains(out, "users-real-secret-never-to-print") {
		t.Errorf("hlsflow up printed the AWS keys of the environment:\n%s", out)
	}
}

func localStore(endpoint, access, secret string) *store.Store {
	return store.New(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://" + endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(access, secret, "")})
}

// TestLocalLoopbackCredentials: on loopback `hlsflow up` serves test/test
// (LocalStack's convention) even when the environment holds other keys,
// and saves no credentials file.
func TestLocalLoopbackCredentials(t *testing.T) {
	needLocal(t)
	data := t.TempDir()
	u := startUp(t, data, userKeys)
	u.checkNoUserKeys(t)
	if a, s := u.credentials(t); a != "test" || s != "test" {
		t.Errorf("loopback credentials %s/%s, want test/test", a, s)
	}
	if err := localStore(u.s3, "test", "test").PutBytes(context.Background(), "uploads", "loopback/ok.txt", []byte("x"), store.Object{}); err != nil {
		t.Errorf("put with test/test: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "credentials")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a credentials file was saved on loopback: %v", err)
	}
}

// TestLocalLANCredentials: with --lan, S3 and the Invoke API get random
// credentials, saved 0600 in the data dir and reused at the next start;
// the well-known test/test open nothing, and a forged event or authorizer
// context sent to the Invoke API with wrong keys runs nothing. An existing
// data folder is made private.
func TestLocalLANCredentials(t *testing.T) {
	needLocal(t)
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(filepath.Join(data, "queue"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	u := startUp(t, data, userKeys, "--lan")
	u.checkNoUserKeys(t)
	access, secret := u.credentials(t)
	if access == "test" || secret == "test" || len(secret) < 32 {
		t.Fatalf("--lan credentials %s/%s", access, secret)
	}
	st, err := os.Stat(filepath.Join(data, "credentials"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, want mode 0600", err)
	}
	if b, _ := os.ReadFile(filepath.Join(data, "credentials")); !bytes.Contains(b, []byte(secret)) {
		t.Errorf("the credentials file does not hold the printed secret")
	}
	checkPrivate(t, data)

	// The printed keys work, on loopback and by this machine's name.
	good := localStore(u.s3, access, secret)
	if err := good.PutBytes(ctx, "uploads", "lan/ok.txt", []byte("x"), store.Object{}); err != nil {
		t.Fatalf("put with the printed credentials: %v", err)
	}
	// The well-known ones open nothing.
	err = localStore(u.s3, "test", "test").PutBytes(ctx, "uploads", "lan/test-test.txt", []byte("x"), store.Object{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidAccessKeyId" {
		t.Errorf("put with test/test: %v, want InvalidAccessKeyId", err)
	}
	if _, err := good.Head(ctx, "uploads", "lan/test-test.txt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("test/test stored an object: %v", err)
	}

	// A forged S3 event for transcode: with the right keys it runs (its
	// log names the key), with wrong ones it is refused and runs nothing.
	lambdaWith := func(access, secret string) *lambdasvc.Client {
		return lambdasvc.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://" + u.s3),
			Credentials: credentials.NewStaticCredentialsProvider(access, secret, "")}, func(o *lambdasvc.Options) { o.RetryMaxAttempts = 1 })
	}
	forged := func(access, secret, key string) error {
		ev, err := json.Marshal(events.S3Event{Records: []events.S3EventRecord{{EventSource: "aws:s3", EventName: "ObjectCreated:Put",
			S3: events.S3Entity{Bucket: events.S3Bucket{Name: "uploads"}, Object: events.S3Object{Key: key, URLDecodedKey: key, Size: 1}}}}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = lambdaWith(access, secret).Invoke(ctx, &lambdasvc.InvokeInput{FunctionName: aws.String("transcode"), Payload: ev})
		return err
	}
	for _, c := range []struct{ name, access, secret, code string }{
		{"test-test", "test", "test", "UnrecognizedClientException"},
		{"wrong-secret", access, "wrong-secret", "InvalidSignatureException"},
	} {
		err := forged(c.access, c.secret, "forged/"+c.name+".mp4")
		var re interface{ HTTPStatusCode() int }
		if !errors.As(err, &ae) || ae.ErrorCode() != c.code || !errors.As(err, &re) || re.HTTPStatusCode() != 403 {
			t.Errorf("invoke with %s: %v, want 403 %s", c.name, err, c.code)
		}
		// An authorizer context forged into an API event is refused alike.
		out, err := lambdaWith(c.access, c.secret).Invoke(ctx, &lambdasvc.InvokeInput{FunctionName: aws.String("api"), Payload: []byte(
			`{"version":"2.0","routeKey":"POST /api/streams","rawPath":"/api/streams","body":"{\"name\":\"forged\"}",` +
				`"requestContext":{"http":{"method":"POST","path":"/api/streams"},"authorizer":{"lambda":{"admin":true}}}}`)})
		if err == nil {
			t.Errorf("api invoked with %s: %s", c.name, out.Payload)
		}
	}
	if err := forged(access, secret, "forged/right-keys.mp4"); err != nil {
		t.Fatalf("invoke with the right keys: %v", err)
	}
	// Its log line comes through a pipe: give it a moment.
	for wait := time.Now().Add(10 * time.Second); !strings.Contains(u.output(), "key=forged/right-keys.mp4"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(wait) {
			t.Fatalf("the invocation with the right keys left no trace: the checks below would prove nothing\n%s", u.output())
		}
	}
	log := u.output()
	for _, name := range []string{"test-test", "wrong-secret"} {
		if strings.Contains(log, "key=forged/"+name+".mp4") {
			t.Errorf("a refused invocation (%s) ran", name)
		}
	}

	// The next start, with or without --lan, serves the same keys.
	u.stop(t)
	u2 := startUp(t, data, userKeys, "--lan")
	if a, s := u2.credentials(t); a != access || s != secret {
		t.Errorf("restart with --lan: %s/%s, want the saved %s/%s", a, s, access, secret)
	}
	u2.stop(t)
	u3 := startUp(t, data, nil)
	if a, s := u3.credentials(t); a != access || s != secret {
		t.Errorf("restart on loopback: %s/%s, want the saved %s/%s", a, s, access, secret)
	}
}
