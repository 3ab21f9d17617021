package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/localcloud"
	"github.com/hlsflow/hlsflow/internal/store"
)

const testSecretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hlsflow-token-AbCdEf"

func writeOutputs(t *testing.T, outputs map[string]string) string {
	t.Helper()
	b, err := json.Marshal(map[string]map[string]string{"Hlsflow": outputs})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "aws-outputs.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func stackOutputs() map[string]string {
	return map[string]string{
		outUploadsBucket: "hlsflow-uploads-x", outMediaBucket: "hlsflow-media-x",
		outCloudFront: "d111111abcdef8.cloudfront.net", outAPITokenSecret: testSecretARN,
		"RtmpUrl": "rtmp://nlb.example:1935/live",
	}
}

// The outputs file: every way it can be wrong is one line naming the
// file and what to do; a good one gives the buckets, edge and region.
func TestReadOutputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	without := func(k string) string {
		o := stackOutputs()
		delete(o, k)
		return writeOutputs(t, o)
	}
	badARN := stackOutputs()
	badARN[outAPITokenSecret] = "not-an-arn"
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing file", filepath.Join(dir, "nope.json"), "does not exist: run `make deploy` first"},
		{"not json", write("bad.json", "{"), "is not a cdk outputs file"},
		{"no stack", write("empty.json", "{}"), "holds 0 stacks"},
		{"two stacks", write("two.json", `{"A":{},"B":{}}`), "holds 2 stacks"},
		{"no uploads bucket", without(outUploadsBucket), "has no " + outUploadsBucket},
		{"no media bucket", without(outMediaBucket), "has no " + outMediaBucket},
		{"no distribution", without(outCloudFront), "has no " + outCloudFront},
		{"bad secret arn", writeOutputs(t, badARN), "is not an ARN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := readOutputs(tc.path)
			if err == nil {
				t.Fatalf("read %+v, want an error", d)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || !strings.Contains(msg, tc.path) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s and saying %q", msg, tc.path, tc.want)
			}
		})
	}

	d, err := readOutputs(writeOutputs(t, stackOutputs()))
	if err != nil {
		t.Fatal(err)
	}
	if d.uploadsBucket != "hlsflow-uploads-x" || d.mediaBucket != "hlsflow-media-x" || d.edge != "https://d111111abcdef8.cloudfront.net" || d.tokenSecret != testSecretARN || d.region != "us-east-1" {
		t.Errorf("read %+v", d)
	}
	d, err = readOutputs(without(outAPITokenSecret))
	if err != nil || d.tokenSecret != "" || d.region != "" {
		t.Errorf("without the token secret: %+v, %v; want no secret and no region", d, err)
	}
}

// awsEnv points the SDK's default chain at a temporary shared config and
// credentials file whose profile "deploy" has keys and an S3 endpoint,
// and clears everything else the chain would read first.
func awsEnv(t *testing.T, endpoint, access, secret string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(cfg, []byte("[profile deploy]\nregion = us-east-1\nendpoint_url = "+endpoint+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(creds, []byte("[deploy]\naws_access_key_id = "+access+"\naws_secret_access_key = "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_DEFAULT_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", cfg)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_PROFILE", "deploy")
}

// With --outputs, upload and status use the SDK's default chain (here a
// profile named by AWS_PROFILE) and the stack's buckets, never the data
// dir's keys; without it, the data dir's keys and never the environment's.
func TestOutputsUseTheDefaultChain(t *testing.T) {
	const access, secretKey = "AKIADEPLOYTEST000001", "deploy-secret-0123456789abcdefghijklmnop"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cloud, err := localcloud.Start(ctx, localcloud.Config{
		DataDir: t.TempDir(), S3Addr: "127.0.0.1:0", AccessKey: access, SecretKey: secretKey,
		Region: "us-east-1", Buckets: []string{"dep-uploads", "dep-media"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close(context.Background())
	outputs := stackOutputs()
	outputs[outUploadsBucket], outputs[outMediaBucket] = "dep-uploads", "dep-media"
	outFile := writeOutputs(t, outputs)
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	if err := os.WriteFile(clip, []byte("deployment upload"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A data dir with other keys, which the deployment must not use.
	data := t.TempDir()
	if err := writeCredentials(filepath.Join(data, CredentialsFileName), "LOCALKEY", "local-secret", false); err != nil {
		t.Fatal(err)
	}
	admin := store.New(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(cloud.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider(access, secretKey, "")})
	stored := func(bucket, key string) string {
		out, err := admin.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
		if err != nil {
			return "error: " + err.Error()
		}
		defer out.Body.Close()
		b, _ := io.ReadAll(out.Body)
		return string(b)
	}

	awsEnv(t, cloud.Endpoint(), access, secretKey)
	out, errOut, code := runMain(t, nil, "upload", clip, "--outputs", outFile, "--key", "dep/clip.mp4", "--data", data)
	if code != 0 {
		t.Fatalf("upload --outputs: exit %d\n%s", code, errOut)
	}
	if got := stored("dep-uploads", "dep/clip.mp4"); got != "deployment upload" {
		t.Errorf("uploads bucket holds %q", got)
	}
	id := catalog.VideoID("dep/clip.mp4")
	if want := "playback: https://d111111abcdef8.cloudfront.net/" + catalog.MasterKey(id); !strings.Contains(out, want) {
		t.Errorf("stdout %q lacks %q", out, want)
	}
	_, errOut, code = runMain(t, nil, "status", id, "--outputs", outFile)
	if code != 1 || !strings.Contains(errOut, "nothing at s3://dep-media/") {
		t.Errorf("status of a video not yet transcoded: exit %d, %q; want it looked up in the stack's media bucket", code, errOut)
	}

	// The same profile with a wrong secret: refused, so the profile's keys
	// were the ones used.
	awsEnv(t, cloud.Endpoint(), access, "wrong-secret-0123456789abcdefghijklmnop")
	if _, errOut, code := runMain(t, nil, "upload", clip, "--outputs", outFile, "--key", "dep/wrong.mp4"); code != 1 || !strings.Contains(errOut, "403") && !strings.Contains(errOut, "SignatureDoesNotMatch") {
		t.Errorf("upload with the profile's wrong secret: exit %d, %q", code, errOut)
	}

	// No credentials anywhere in the chain: one clear line.
	awsEnv(t, cloud.Endpoint(), access, secretKey)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	_, errOut, code = runMain(t, nil, "status", id, "--outputs", outFile)
	if code != 1 || !strings.Contains(errOut, "no AWS credentials from the SDK's default chain") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("no credentials: exit %d, %q; want one line", code, errOut)
	}

	// Without --outputs: the data dir's keys, never the environment's,
	// even when those are the ones S3 accepts.
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ACCESS_KEY_ID", access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secretKey)
	_, errOut, code = runMain(t, nil, "upload", clip, "--s3", cloud.Endpoint(), "--data", data, "--uploads-bucket", "dep-uploads", "--key", "dep/local.mp4")
	if code != 1 || !strings.Contains(errOut, "403") && !strings.Contains(errOut, "InvalidAccessKeyId") {
		t.Errorf("local upload with the data dir's other keys: exit %d, %q; want S3 to refuse them", code, errOut)
	}
	if err := writeCredentials(filepath.Join(data, CredentialsFileName), access, secretKey, true); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	if _, errOut, code := runMain(t, nil, "upload", clip, "--s3", cloud.Endpoint(), "--data", data, "--uploads-bucket", "dep-uploads", "--key", "dep/local.mp4"); code != 0 {
		t.Errorf("local upload with other keys in the environment: exit %d, %q", code, errOut)
	}
	if got := stored("dep-uploads", "dep/local.mp4"); got != "deployment upload" {
		t.Errorf("local upload stored %q", got)
	}
}

// The API token of a deployment: --token, HLSFLOW_TOKEN, else the stack's
// secret read from Secrets Manager with the default chain.
func TestDeploymentToken(t *testing.T) {
	const stored = "token-from-secrets-manager-0123456789"
	var gotTarget, gotID string
	sm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotTarget = r.Header.Get("X-Amz-Target")
		var in struct{ SecretId string }
		json.NewDecoder(r.Body).Decode(&in)
		gotID = in.SecretId
		if !strings.Contains(r.Header.Get("Authorization"), "Credential=AKIADEPLOYTEST000002/") {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"__type":"UnrecognizedClientException","message":"wrong key"}`))
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(map[string]string{"ARN": in.SecretId, "SecretString": stored + "\n"})
	}))
	defer sm.Close()
	awsEnv(t, "http://127.0.0.1:1", "AKIADEPLOYTEST000002", "secret")
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", sm.URL)
	d, err := readOutputs(writeOutputs(t, stackOutputs()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	noEnv := Env{Getenv: func(string) string { return "" }}

	tok, err := deploymentToken(ctx, noEnv, "", d, "")
	if err != nil || tok != stored {
		t.Fatalf("token %q, %v; want the secret's value", tok, err)
	}
	if gotTarget != "secretsmanager.GetSecretValue" || gotID != testSecretARN {
		t.Errorf("asked %q for %q", gotTarget, gotID)
	}
	gotID = ""
	if tok, err := deploymentToken(ctx, noEnv, "flag-token", d, ""); err != nil || tok != "flag-token" || gotID != "" {
		t.Errorf("--token: %q, %v, asked for %q", tok, err, gotID)
	}
	envTok := Env{Getenv: func(k string) string {
		if k == "HLSFLOW_TOKEN" {
			return "env-token"
		}
		return ""
	}}
	if tok, err := deploymentToken(ctx, envTok, "", d, ""); err != nil || tok != "env-token" || gotID != "" {
		t.Errorf("HLSFLOW_TOKEN: %q, %v, asked for %q", tok, err, gotID)
	}
	awsEnv(t, "http://127.0.0.1:1", "AKIAOTHERKEY00000000", "secret")
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", sm.URL)
	if _, err := deploymentToken(ctx, noEnv, "", d, ""); err == nil || !strings.Contains(err.Error(), "--token") {
		t.Errorf("refused by Secrets Manager: %v; want an error saying --token is the way round", err)
	}
	d.tokenSecret = ""
	if _, err := deploymentToken(ctx, noEnv, "", d, ""); err == nil || !strings.Contains(err.Error(), "has no "+outAPITokenSecret) {
		t.Errorf("no secret in the outputs: %v", err)
	}
}
