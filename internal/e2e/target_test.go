package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
)

// Outputs files shaped as `cdk deploy --outputs-file` writes them for the
// stack in infra/stack.go: the full deployment, and `-c local=true`.
const (
	awsOutputs = `{"Hlsflow": {
  "UploadsBucketName": "hlsflow-uploadsbucket5e5e9b64-abc",
  "MediaBucketName": "hlsflow-mediabucketbcbb02ba-def",
  "DeadLetterQueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/Hlsflow-Dlq",
  "CloudFrontDomain": "d111111abcdef8.cloudfront.net",
  "VodPlaybackUrlPattern": "https://d111111abcdef8.cloudfront.net/vod/{id}/master.m3u8",
  "LivePlaybackUrlPattern": "https://d111111abcdef8.cloudfront.net/live/{name}/master.m3u8",
  "ApiUrl": "https://d111111abcdef8.cloudfront.net/api/",
  "RtmpUrl": "rtmp://hlsfl-ingest-1234.elb.eu-west-1.amazonaws.com:1935/live",
  "UdpAddress": "udp://hlsfl-ingest-1234.elb.eu-west-1.amazonaws.com:9000"
}}`
	localOutputs = `{"Hlsflow": {
  "UploadsBucketName": "hlsflow-uploadsbucket-ls1",
  "MediaBucketName": "hlsflow-mediabucket-ls2",
  "DeadLetterQueueUrl": "http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/Hlsflow-Dlq",
  "ApiUrl": "http://abc.lambda-url.us-east-1.localhost.localstack.cloud:4566/"
}}`
	twoStacks = `{"Hlsflow": {"UploadsBucketName": "u1", "MediaBucketName": "m1", "CloudFrontDomain": "d1.cloudfront.net"},
 "HlsflowStaging": {"UploadsBucketName": "u2", "MediaBucketName": "m2", "CloudFrontDomain": "d2.cloudfront.net"},
 "CDKToolkit": {"BucketName": "cdk-assets"}}`
)

func TestTargetFromEnv(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	aws := file("aws.json", awsOutputs)
	local := file("local.json", localOutputs)
	two := file("two.json", twoStacks)
	cases := []struct {
		name    string
		env     map[string]string
		want    *Target // nil with wantErr "" means: the suite starts its own system
		wantErr string  // a part of the error
	}{
		{name: "nothing set: embedded local cloud", env: nil},
		{name: "AWS_ENDPOINT_URL alone selects nothing", env: map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566"}},
		{
			name: "full deployment outputs",
			env:  map[string]string{EnvOutputs: aws, "AWS_REGION": "eu-west-1"},
			want: &Target{
				EdgeURL: "https://d111111abcdef8.cloudfront.net", UploadsBucket: "hlsflow-uploadsbucket5e5e9b64-abc", MediaBucket: "hlsflow-mediabucketbcbb02ba-def",
				Region: "eu-west-1", RTMPAddr: "hlsfl-ingest-1234.elb.eu-west-1.amazonaws.com:1935", UDPAddr: "hlsfl-ingest-1234.elb.eu-west-1.amazonaws.com:9000",
			},
		},
		{
			name: "CloudFrontDomain alone gives https playback",
			env:  map[string]string{EnvOutputs: file("cf.json", `{"S": {"UploadsBucketName": "u", "MediaBucketName": "m", "CloudFrontDomain": "dx.cloudfront.net"}}`)},
			want: &Target{EdgeURL: "https://dx.cloudfront.net", UploadsBucket: "u", MediaBucket: "m", Region: "us-east-1"},
		},
		{
			name: "LocalStack local=true: playback is the media bucket path-style on the endpoint",
			env: map[string]string{EnvOutputs: local, "AWS_ENDPOINT_URL": "http://localhost:4566/", "AWS_DEFAULT_REGION": "us-east-1",
				"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
			want: &Target{
				S3Endpoint: "http://localhost:4566", EdgeURL: "http://localhost:4566/hlsflow-mediabucket-ls2",
				UploadsBucket: "hlsflow-uploadsbucket-ls1", MediaBucket: "hlsflow-mediabucket-ls2", Region: "us-east-1", AccessKey: "test", SecretKey: "test",
			},
		},
		{
			name: "suite endpoint wins over the SDK's",
			env: map[string]string{EnvOutputs: local, EnvS3Endpoint: "http://127.0.0.1:4599", "AWS_ENDPOINT_URL_S3": "http://s3.other:1",
				"AWS_ENDPOINT_URL": "http://other:2"},
			want: &Target{
				S3Endpoint: "http://127.0.0.1:4599", EdgeURL: "http://127.0.0.1:4599/hlsflow-mediabucket-ls2",
				UploadsBucket: "hlsflow-uploadsbucket-ls1", MediaBucket: "hlsflow-mediabucket-ls2", Region: "us-east-1",
			},
		},
		{
			name: "variables win over the outputs file",
			env: map[string]string{EnvOutputs: aws, EnvEdgeURL: "http://cdn.example/", EnvMedia: "mine", EnvRTMP: "127.0.0.1:1935",
				"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000"},
			want: &Target{
				S3Endpoint: "http://127.0.0.1:9000", EdgeURL: "http://cdn.example", UploadsBucket: "hlsflow-uploadsbucket5e5e9b64-abc", MediaBucket: "mine",
				Region: "us-east-1", RTMPAddr: "127.0.0.1:1935", UDPAddr: "hlsfl-ingest-1234.elb.eu-west-1.amazonaws.com:9000",
			},
		},
		{
			name: "variables alone",
			env:  map[string]string{EnvS3Endpoint: "http://127.0.0.1:4566", EnvEdgeURL: "http://127.0.0.1:8080", EnvUploads: "uploads", EnvMedia: "media"},
			want: &Target{S3Endpoint: "http://127.0.0.1:4566", EdgeURL: "http://127.0.0.1:8080", UploadsBucket: "uploads", MediaBucket: "media", Region: "us-east-1"},
		},
		{
			name: "stack chosen among several",
			env:  map[string]string{EnvOutputs: two, EnvStack: "HlsflowStaging"},
			want: &Target{EdgeURL: "https://d2.cloudfront.net", UploadsBucket: "u2", MediaBucket: "m2", Region: "us-east-1"},
		},
		{name: "several stacks, none chosen", env: map[string]string{EnvOutputs: two}, wantErr: "Hlsflow, HlsflowStaging all have UploadsBucketName: set HLSFLOW_E2E_STACK"},
		{name: "chosen stack absent", env: map[string]string{EnvOutputs: aws, EnvStack: "Nope"}, wantErr: `no stack "Nope"`},
		{name: "local=true outputs without an endpoint", env: map[string]string{EnvOutputs: local}, wantErr: "incomplete: set HLSFLOW_E2E_EDGE_URL"},
		{name: "endpoint only", env: map[string]string{EnvS3Endpoint: "http://127.0.0.1:4566"}, wantErr: "set HLSFLOW_E2E_EDGE_URL, HLSFLOW_E2E_UPLOADS_BUCKET, HLSFLOW_E2E_MEDIA_BUCKET"},
		{name: "outputs file missing", env: map[string]string{EnvOutputs: filepath.Join(dir, "absent.json")}, wantErr: "read cdk outputs"},
		{name: "outputs file not JSON", env: map[string]string{EnvOutputs: file("bad.json", "Outputs:\n UploadsBucketName = x\n")}, wantErr: "bad.json"},
		{name: "no stack with buckets", env: map[string]string{EnvOutputs: file("toolkit.json", `{"CDKToolkit": {"BucketName": "x"}}`)}, wantErr: "no stack has an output ending in UploadsBucketName"},
		{
			name:    "playback pattern of another shape",
			env:     map[string]string{EnvOutputs: file("pattern.json", `{"S": {"UploadsBucketName": "u", "MediaBucketName": "m", "VodPlaybackUrlPattern": "https://x/{id}.m3u8"}}`)},
			wantErr: "does not end in /vod/{id}/master.m3u8",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := TargetFromEnv(func(k string) string { return c.env[k] })
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (c.want == nil) {
				t.Fatalf("target %+v, want %+v", got, c.want)
			}
			if got != nil && *got != *c.want {
				t.Errorf("target\n got %+v\nwant %+v", *got, *c.want)
			}
		})
	}
}

// TestOutputNamesMatchTheStack keeps the suite and the CDK app in step: a
// renamed output in infra/stack.go would otherwise leave the suite without
// its buckets or playback base only when someone deploys.
func TestOutputNamesMatchTheStack(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "infra", "stack.go"))
	if err != nil {
		t.Skipf("infra/stack.go not readable: %v", err)
	}
	for _, name := range []string{outUploads, outMedia, outVODPattern, outCloudFront, outRTMPURL, outUDP} {
		if !strings.Contains(string(src), `"`+name+`"`) {
			t.Errorf("infra/stack.go has no output %q that the suite reads", name)
		}
	}
	if !strings.Contains(string(src), vodPatternTail) {
		t.Errorf("infra/stack.go's VOD playback pattern does not end in %s", vodPatternTail)
	}
}

// TestSuiteAgainstExternalEndpoint runs part of this suite as a user with
// a deployment would: a separate `hlsflow up` stands in for the deployment,
// a CDK-outputs file describes it, and `go test` is given only that file,
// the S3 endpoint and credentials. (The stand-in keeps the local bucket
// names: `hlsflow up` cannot serve other names yet.)
func TestSuiteAgainstExternalEndpoint(t *testing.T) {
	if sys.Local == nil {
		t.Skip("the suite already runs against an external target")
	}
	if testing.Short() {
		t.Skip("-short: skips a second run of the VOD tests")
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ext, err := StartLocalWith(ctx, root, dir, LocalOptions{Bin: sys.Local.Bin})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := ext.Local.Stop(30 * time.Second); err != nil {
			t.Errorf("stop external hlsflow up: %v", err)
		}
	}()

	outputs := map[string]map[string]string{"Hlsflow": {
		outUploads:           ext.UploadsBucket,
		outMedia:             ext.MediaBucket,
		outVODPattern:        ext.EdgeURL + vodPatternTail,
		"DeadLetterQueueUrl": "http://127.0.0.1:1/000000000000/Hlsflow-Dlq",
	}}
	b, err := json.MarshalIndent(outputs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(dir, "outputs.json")
	if err := os.WriteFile(outFile, b, 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("go", "test", "-count=1", "-v", "-timeout", "5m", "-run", "^(TestVODThroughEdge|TestBadUploadsFail)$", "./internal/e2e")
	cmd.Dir = root
	cmd.Env = append(withoutSuiteEnv(os.Environ()),
		EnvOutputs+"="+outFile,
		"AWS_ENDPOINT_URL="+ext.S3Endpoint,
		"AWS_ACCESS_KEY_ID="+ext.AccessKey,
		"AWS_SECRET_ACCESS_KEY="+ext.SecretKey,
		"AWS_REGION="+ext.Region,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("suite against %s: %v\n%s\n--- external hlsflow up log ---\n%s", ext.S3Endpoint, err, out, ext.Local.Log())
	}
	for _, name := range []string{"TestVODThroughEdge", "TestBadUploadsFail"} {
		if !strings.Contains(string(out), "--- PASS: "+name+" ") {
			t.Errorf("%s did not run and pass:\n%s", name, out)
		}
	}
	// The child could pass against a system of its own; the external
	// system's log proves it transcoded the child's uploads.
	log := ext.Local.Log()
	for _, c := range vodCases {
		re := regexp.MustCompile(`msg=ready .*\bid=` + regexp.QuoteMeta(catalog.VideoID(c.key)) + ` bucket=` + regexp.QuoteMeta(ext.UploadsBucket) + ` `)
		if !re.MatchString(log) {
			t.Errorf("the external system did not transcode %q from %s; its log:\n%s", c.key, ext.UploadsBucket, log)
		}
	}
	// The suite cleans up after itself on a shared target. (ctx bounded
	// the start; the child suite may well have outlasted it.)
	listCtx, cancelList := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelList()
	for _, bucket := range []string{ext.UploadsBucket, ext.MediaBucket} {
		keys, err := ext.Store().List(listCtx, bucket, "")
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		if len(keys) > 0 {
			t.Errorf("the suite left %d objects in %s: %s", len(keys), bucket, fmt.Sprint(keys))
		}
	}
}

// withoutSuiteEnv drops variables that would point the child suite
// elsewhere than the outputs file says.
func withoutSuiteEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "HLSFLOW_E2E_") || strings.HasPrefix(k, "AWS_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func TestZipArgs(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	if args, err := ZipArgs(env(nil)); args != nil || err != nil {
		t.Errorf("unset: %v, %v", args, err)
	}
	if _, err := ZipArgs(env(map[string]string{EnvFunctions: "zip", EnvRIE: "r"})); err == nil {
		t.Error("zip without the functions and the layer: no error")
	}
	if _, err := ZipArgs(env(map[string]string{EnvFunctions: "docker"})); err == nil {
		t.Error("an unknown mode: no error")
	}
	args, err := ZipArgs(env(map[string]string{EnvFunctions: "zip", EnvFunctionsDir: "f", EnvLayerZip: "l", EnvRIE: "r"}))
	if want := "--functions zip --functions-dir f --layer l --rie r"; err != nil || strings.Join(args, " ") != want {
		t.Errorf("args %q, %v; want %q", args, err, want)
	}
}
