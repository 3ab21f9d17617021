package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func lookupFrom(m map[string]any) ContextLookup {
	return func(k string) (any, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// Bad values fail with a message naming the key, the value and what is
// allowed.
func TestBadContextFailsNamingKeyAndAllowed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctx     map[string]any
		key     string
		allowed string
	}{
		{"arch", map[string]any{ctxArch: "arm"}, ctxArch, "one of arm64, x86_64"},
		{"preset", map[string]any{ctxLadderPreset: "superslow"}, ctxLadderPreset, "veryfast"},
		{"memory too big", map[string]any{ctxTranscodeMemory: "20000"}, ctxTranscodeMemory, "128 to 10240"},
		{"memory not a number", map[string]any{ctxEncodeMemory: "lots"}, ctxEncodeMemory, "128 to 10240"},
		{"tmp too small", map[string]any{ctxEphemeralStorage: float64(100)}, ctxEphemeralStorage, "512 to 10240"},
		{"local not a bool", map[string]any{ctxLocal: "yes"}, ctxLocal, "one of true, false"},
		{"signed not a bool", map[string]any{ctxSignedPlayback: "1"}, ctxSignedPlayback, "one of true, false"},
		{"per-title not a bool", map[string]any{ctxPerTitle: "on"}, ctxPerTitle, "one of true, false"},
		{"segment format", map[string]any{ctxSegmentFormat: "fmp4"}, ctxSegmentFormat, "one of ts, cmaf"},
		{"video codecs", map[string]any{ctxVideoCodecs: "h264,vp9"}, ctxVideoCodecs, "h264, hevc, av1"},
		{"low latency not a bool", map[string]any{ctxLowLatency: "on"}, ctxLowLatency, "one of true, false"},
		{"signed without key", map[string]any{ctxSignedPlayback: true}, ctxSigningPublicKey, "PEM public key"},
		{"unknown function", map[string]any{ctxFunctions: "transcode,thumbnail"}, ctxFunctions, "transcode, encode, api"},
		{"no transcode", map[string]any{ctxFunctions: "api"}, ctxFunctions, "includes transcode"},
		{"dvr too short", map[string]any{ctxDVRWindow: "5s"}, ctxDVRWindow, "30s to 24h0m0s"},
		{"dvr not a duration", map[string]any{ctxDVRWindow: "ten minutes"}, ctxDVRWindow, "Go duration"},
		{"origin with path", map[string]any{ctxAllowedOrigins: "https://a.example.com/app"}, ctxAllowedOrigins, "https://app.example.com"},
		{"origin scheme", map[string]any{ctxAllowedOrigins: "ftp://a.example.com"}, ctxAllowedOrigins, "origins like"},
		{"star among origins", map[string]any{ctxAllowedOrigins: "*,https://a.example.com"}, ctxAllowedOrigins, `"*" alone`},
		{"retention", map[string]any{ctxLogRetentionDays: "10"}, ctxLogRetentionDays, "7, 14, 30"},
		{"ingest cpu", map[string]any{ctxIngestCPU: "300"}, ctxIngestCPU, "256, 512, 1024"},
		{"ingest memory for cpu", map[string]any{ctxIngestCPU: "256", ctxIngestMemory: "4096"}, ctxIngestMemory, "512..2048 MiB"},
		{"max below desired", map[string]any{ctxIngestDesiredCount: "3", ctxIngestMaxCount: "2"}, ctxIngestMaxCount, "at least ingestDesiredCount"},
		{"source expiry", map[string]any{ctxSourceExpiryDays: "-1"}, ctxSourceExpiryDays, "0 to 3650"},
		{"empty path", map[string]any{ctxFunctionsDir: ""}, ctxFunctionsDir, "a path"},
		{"negative concurrency", map[string]any{ctxTranscodeConc: "-1"}, ctxTranscodeConc, "0 to 900"},
		{"concurrency beyond the account", map[string]any{ctxEncodeConc: float64(1000)}, ctxEncodeConc, "0 to 900"},
		{"negative quota", map[string]any{ctxDailySourceMinutes: "-5"}, ctxDailySourceMinutes, "0 to 1000000"},
		{"budget without e-mail", map[string]any{ctxBudgetMonthlyUSD: "50"}, ctxBudgetEmail, "an e-mail address when budgetMonthlyUsd"},
		{"bad e-mail", map[string]any{ctxBudgetMonthlyUSD: "50", ctxBudgetEmail: "ops at example"}, ctxBudgetEmail, "an e-mail address"},
		{"waf not a bool", map[string]any{ctxWAF: "on"}, ctxWAF, "one of true, false"},
		{"rate limit too low", map[string]any{ctxWAFRateLimit: "10"}, ctxWAFRateLimit, "100 to 2000000000"},
		{"regional web ACL", map[string]any{ctxWAFACLArn: "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/x/0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f"}, ctxWAFACLArn, "CLOUDFRONT web ACL"},
		{"udp from anywhere", map[string]any{ctxUDPIngestCIDRs: "0.0.0.0/0"}, ctxUDPIngestCIDRs, "IPv4 networks"},
		{"udp wide network", map[string]any{ctxUDPIngestCIDRs: "203.0.113.7/32,10.0.0.0/7"}, ctxUDPIngestCIDRs, "/8 to /32"},
		{"udp ipv6", map[string]any{ctxUDPIngestCIDRs: "2001:db8::/64"}, ctxUDPIngestCIDRs, "IPv4 networks"},
		{"udp garbage", map[string]any{ctxUDPIngestCIDRs: "encoder.example.com"}, ctxUDPIngestCIDRs, "IPv4 networks"},
		{"domain without certificate", map[string]any{ctxDomainName: "video.example.com"}, ctxCertificateARN, "both or neither"},
		{"certificate outside us-east-1", map[string]any{ctxDomainName: "video.example.com", ctxCertificateARN: "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f"}, ctxCertificateARN, "in us-east-1"},
		{"bad domain", map[string]any{ctxDomainName: "https://video.example.com", ctxCertificateARN: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f"}, ctxDomainName, "host name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(lookupFrom(tc.ctx), t.TempDir())
			if err == nil {
				t.Fatal("synth accepted it")
			}
			msg := err.Error()
			if !strings.Contains(msg, "context "+tc.key+"=") || !strings.Contains(msg, tc.allowed) {
				t.Errorf("message %q does not name %s and %q", msg, tc.key, tc.allowed)
			}
		})
	}
}

// Every problem is reported at once, not one per run.
func TestBadContextReportsAll(t *testing.T) {
	_, err := LoadConfig(lookupFrom(map[string]any{ctxArch: "sparc", ctxLocal: "maybe", ctxAPIMemory: "0"}), t.TempDir())
	if err == nil {
		t.Fatal("accepted")
	}
	for _, k := range []string{ctxArch, ctxLocal, ctxAPIMemory} {
		if !strings.Contains(err.Error(), "context "+k+"=") {
			t.Errorf("%q does not mention %s", err, k)
		}
	}
}

// Values arrive as strings from -c and as JSON types from cdk.json; both
// work, and unset keys take the defaults.
func TestContextTypesAndDefaults(t *testing.T) {
	root := t.TempDir()
	c, err := LoadConfig(lookupFrom(map[string]any{
		ctxLocal: true, ctxTranscodeMemory: float64(3008), ctxArch: "x86_64", ctxAllowedOrigins: "https://a.example.com/",
		ctxDVRWindow: "90s", ctxFunctions: "transcode, api,transcode",
	}), root)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Local || c.TranscodeMemory != 3008 || c.Arch != "x86_64" || c.DVRWindow != 90*time.Second {
		t.Errorf("parsed %+v", c)
	}
	if !slices.Equal(c.Functions, []string{"transcode", "api"}) {
		t.Errorf("functions %v, want [transcode api]", c.Functions)
	}
	if !slices.Equal(c.AllowedOrigins, []string{"https://a.example.com"}) {
		t.Errorf("origins %v", c.AllowedOrigins)
	}
	if c.LayerZip != filepath.Join(root, "dist/layers/ffmpeg-x86_64.zip") {
		t.Errorf("layer zip %s: {arch} not filled in or not under the root", c.LayerZip)
	}
	d, err := LoadConfig(lookupFrom(nil), root)
	if err != nil {
		t.Fatal(err)
	}
	if d.Local || d.Arch != "arm64" || d.LadderPreset != "veryfast" || d.TranscodeMemory != 10240 || d.EphemeralStorage != 2048 || d.DVRWindow != 10*time.Minute {
		t.Errorf("defaults %+v", d)
	}
	if d.FunctionsDir != filepath.Join(root, "dist", "functions") || d.IngestContext != root {
		t.Errorf("default paths %s %s", d.FunctionsDir, d.IngestContext)
	}
}

// UDP source networks are normalised: a plain address is /32, host bits
// are cleared, duplicates go.
func TestUDPIngestCIDRsNormalised(t *testing.T) {
	c, err := LoadConfig(lookupFrom(map[string]any{ctxUDPIngestCIDRs: " 203.0.113.7, 198.51.100.9/24,203.0.113.7/32"}), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"203.0.113.7/32", "198.51.100.0/24"}; !slices.Equal(c.UDPIngestCIDRs, want) {
		t.Errorf("CIDRs %q, want %q", c.UDPIngestCIDRs, want)
	}
	d, err := LoadConfig(lookupFrom(nil), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if d.UDPIngestCIDRs != nil || !d.WAF || d.TranscodeConcurrency != 2 || d.EncodeConcurrency != 20 || d.DailySourceMinutes != 600 || d.BudgetMonthlyUSD != 0 || !d.PerTitle || d.SegmentFormat != "ts" || !slices.Equal(d.VideoCodecs, []string{"h264"}) || !d.LowLatency {
		t.Errorf("defaults %+v: want no UDP, WAF on, concurrency 2/20, 600 minutes a day, no budget, TS segments, low latency", d)
	}
}

// A web ACL for CloudFront exists only in us-east-1: a stack elsewhere
// must bring its own ACL or none, and synth says so.
func TestWebACLNeedsUSEast1(t *testing.T) {
	const arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/shared/0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f"
	for _, tc := range []struct {
		name, region string
		ctx          map[string]any
		wantErr      bool
	}{
		{"us-east-1", "us-east-1", nil, false},
		{"unknown region", "", nil, false},
		{"eu-west-1", "eu-west-1", nil, true},
		{"eu-west-1 without waf", "eu-west-1", map[string]any{ctxWAF: "false"}, false},
		{"eu-west-1 with a shared ACL", "eu-west-1", map[string]any{ctxWAFACLArn: arn}, false},
		{"eu-west-1 local", "eu-west-1", map[string]any{ctxLocal: "true"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(lookupFrom(tc.ctx), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			err = c.CheckRegion(tc.region)
			if (err != nil) != tc.wantErr {
				t.Fatalf("CheckRegion(%q) = %v, want error %v", tc.region, err, tc.wantErr)
			}
			if err != nil {
				for _, w := range []string{"us-east-1", tc.region, "-c waf=false", "wafAclArn"} {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%q does not mention %q", err, w)
					}
				}
			}
		})
	}
}

// A missing build names the make target that produces it.
func TestMissingAssetsNameTheMakeTarget(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct {
		name  string
		ctx   map[string]any
		wants []string
	}{
		{"aws", nil, []string{"function transcode", "function api", "make build-functions", "make layer ARCH=arm64", "services/ingest/Dockerfile"}},
		{"local needs no layer or image", map[string]any{ctxLocal: "true", ctxFunctions: "transcode"}, []string{"function transcode", "make build-functions"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(lookupFrom(tc.ctx), root)
			if err != nil {
				t.Fatal(err)
			}
			err = c.CheckAssets()
			if err == nil {
				t.Fatal("missing assets accepted")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not mention %q", err, w)
				}
			}
			if c.Local && (strings.Contains(err.Error(), "layer") || strings.Contains(err.Error(), "Dockerfile")) {
				t.Errorf("local mode asks for the layer or image: %q", err)
			}
		})
	}
	c, err := LoadConfig(lookupFrom(baseContext()), root)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckAssets(); err != nil {
		t.Errorf("placeholder assets rejected: %v", err)
	}
}

// cdk.json documents the defaults; it must not drift from the code.
func TestCdkJSONMatchesDefaults(t *testing.T) {
	b, err := os.ReadFile("cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	p := parser{lookup: lookupFrom(doc.Context)}
	for k := range defaults {
		if _, ok := doc.Context[k]; !ok {
			t.Errorf("cdk.json lacks %s", k)
			continue
		}
		if got := p.str(k); got != defaults[k] {
			t.Errorf("cdk.json %s=%q, code default %q", k, got, defaults[k])
		}
	}
	for k := range doc.Context {
		if _, ok := defaults[k]; !ok && !strings.HasPrefix(k, "@aws-cdk") {
			t.Errorf("cdk.json has unknown context %s", k)
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for k := range defaults {
		if !strings.Contains(string(readme), "`"+k+"`") {
			t.Errorf("README.md does not document %s", k)
		}
	}
}

// The app's entry point: bad context stops it before anything is
// synthesised; good context writes the template.
func TestRunSynthesizesOrRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctx     map[string]any
		region  string
		wantErr string
	}{
		{"bad arch", map[string]any{ctxArch: "sparc"}, "", `context arch="sparc" is invalid: allowed one of arm64, x86_64`},
		{"missing bootstrap", map[string]any{ctxFunctionsDir: t.TempDir()}, "", "make build-functions"},
		{"web ACL outside us-east-1", nil, "eu-central-1", "accepts only in us-east-1"},
		{"stand-in layer without the opt-in", map[string]any{ctxPlaceholderAssets: "false"}, "", "is not a readable zip (a placeholder?): zip: not a valid zip file: run `make layer ARCH=arm64`"},
		{"ok", nil, "us-east-1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CDK_DEFAULT_REGION", tc.region)
			ctx := baseContext()
			for k, v := range tc.ctx {
				ctx[k] = v
			}
			out := t.TempDir()
			err := run(awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(out)}))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("run: %v, want an error with %q", err, tc.wantErr)
				}
				if _, serr := os.Stat(filepath.Join(out, stackName+".template.json")); serr == nil {
					t.Error("a template was written despite the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(out, stackName+".template.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "AWS::CloudFront::Distribution") {
				t.Error("template has no distribution")
			}
		})
	}
}
