package main

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
)

// Config is everything the app reads from CDK context, after validation.
// Every field has a default (see defaults and infra/README.md), so an empty
// context synthesises the full production stack.
type Config struct {
	// Local leaves out what LocalStack's free tier cannot create: the
	// CloudFront distribution, the live stack (VPC, ECS, NLB, autoscaling,
	// the stream-key secret, the ingest image) and the FFmpeg layer.
	Local bool
	// Arch is the Lambda and Fargate CPU architecture: "arm64" or "x86_64".
	Arch string
	// LadderPreset is the x264 preset passed to the functions as X264_PRESET.
	LadderPreset string
	// Functions lists the Lambdas to deploy: a subset of allowedFunctions,
	// always including "transcode".
	Functions []string
	// TranscodeMemory, EncodeMemory and APIMemory are Lambda sizes in MB.
	TranscodeMemory, EncodeMemory, APIMemory int
	// EphemeralStorage is /tmp for the ffmpeg functions, in MiB.
	EphemeralStorage int
	// SourceExpiryDays expires uploads that many days after creation;
	// 0 keeps them.
	SourceExpiryDays int
	// LogRetentionDays applies to every log group the app creates.
	LogRetentionDays int
	// AllowedOrigins may PUT to the uploads bucket from a browser and read
	// playback through CloudFront; "*" allows any.
	AllowedOrigins []string
	// SignedPlayback requires CloudFront signed URLs or cookies for media,
	// verified against SigningPublicKey (PEM; the context value may also be
	// a path to a PEM file).
	SignedPlayback bool
	// PublicLibrary lets anyone list the ready videos and live streams
	// through the API (PUBLIC_LIBRARY); off, the library needs the token.
	PublicLibrary    bool
	SigningPublicKey string
	// DVRWindow is how much of a live stream stays in its playlist.
	DVRWindow time.Duration
	// IngestDesiredCount and IngestMaxCount bound the Fargate service;
	// IngestCPU (units) and IngestMemory (MiB) size one task.
	IngestDesiredCount, IngestMaxCount int
	IngestCPU, IngestMemory            int
	// RemoveData deletes the buckets with the stack (they must be empty);
	// by default they are retained.
	RemoveData bool

	// TranscodeConcurrency and EncodeConcurrency are the functions'
	// reserved concurrency: at most that many run at once, whatever is
	// uploaded; 0 reserves nothing (and sets no ceiling).
	TranscodeConcurrency, EncodeConcurrency int
	// DailySourceMinutes is how many minutes of source transcode accepts
	// per UTC day (SOURCE_MINUTES_PER_DAY); 0 turns the quota off.
	DailySourceMinutes int
	// PerTitle plans each upload's ladder from a complexity pass
	// (PER_TITLE); off, every source gets the fixed ladder.
	PerTitle bool
	// SegmentFormat is the on-demand segment container (SEGMENT_FORMAT):
	// "ts" or "cmaf".
	SegmentFormat string
	// VideoCodecs are the video codecs of on-demand ladders
	// (VIDEO_CODECS): h264, and optionally hevc and av1, which the
	// transcoder writes as CMAF (README, "Video codecs").
	VideoCodecs []string
	// LowLatency serves live streams as Low-Latency HLS (LOW_LATENCY=on):
	// the ingest serves the renditions' playlists and parts, CloudFront
	// routes them there (livedelivery.go).
	LowLatency bool
	// BudgetMonthlyUSD, when above 0, creates an AWS Budgets cost budget
	// for the account that mails BudgetEmail at 80 % (actual) and 100 %
	// (forecast).
	BudgetMonthlyUSD int
	BudgetEmail      string
	// WAF puts a web ACL with a per-address rate limit (WAFRateLimit
	// requests per 5 minutes) in front of CloudFront. WAFACLArn uses an
	// existing CLOUDFRONT-scope web ACL instead of creating one, which lets
	// the stack live outside us-east-1.
	WAF          bool
	WAFRateLimit int
	WAFACLArn    string
	// UDPIngestCIDRs are the IPv4 networks that may send MPEG-TS over UDP;
	// empty (the default) leaves UDP ingest out entirely.
	UDPIngestCIDRs []string
	// DomainName and CertificateARN (ACM, us-east-1) give the distribution
	// a custom name, which allows a TLS 1.2 minimum for viewers.
	DomainName     string
	CertificateARN string

	// Paths, absolute after LoadConfig.
	FunctionsDir     string // holds NAME/bootstrap for each function
	LayerZip         string // the FFmpeg layer zip for Arch
	IngestContext    string // Docker build context of the ingest image
	IngestDockerfile string // relative to IngestContext

	// PlaceholderAssets lets the layer zip and the bootstraps be stand-ins
	// (tests, `make destroy`): they need only exist, and the stack gets a
	// rule that makes CloudFormation refuse to deploy it. Off, they must be
	// what Arch runs (assets.go).
	PlaceholderAssets bool
}

// Context keys, their defaults and their allowed values; README.md's table
// documents the same list.
const (
	ctxLocal              = "local"
	ctxArch               = "arch"
	ctxLadderPreset       = "ladderPreset"
	ctxFunctions          = "functions"
	ctxTranscodeMemory    = "transcodeMemory"
	ctxEncodeMemory       = "encodeMemory"
	ctxAPIMemory          = "apiMemory"
	ctxEphemeralStorage   = "ephemeralStorage"
	ctxSourceExpiryDays   = "sourceExpiryDays"
	ctxLogRetentionDays   = "logRetentionDays"
	ctxAllowedOrigins     = "allowedOrigins"
	ctxSignedPlayback     = "signedPlayback"
	ctxPublicLibrary      = "publicLibrary"
	ctxSigningPublicKey   = "signingPublicKey"
	ctxDVRWindow          = "dvrWindow"
	ctxIngestDesiredCount = "ingestDesiredCount"
	ctxIngestMaxCount     = "ingestMaxCount"
	ctxIngestCPU          = "ingestCpu"
	ctxIngestMemory       = "ingestMemory"
	ctxRemoveData         = "removeData"
	ctxTranscodeConc      = "transcodeConcurrency"
	ctxEncodeConc         = "encodeConcurrency"
	ctxDailySourceMinutes = "dailySourceMinutes"
	ctxPerTitle           = "perTitle"
	ctxSegmentFormat      = "segmentFormat"
	ctxVideoCodecs        = "videoCodecs"
	ctxLowLatency         = "lowLatency"
	ctxBudgetMonthlyUSD   = "budgetMonthlyUsd"
	ctxBudgetEmail        = "budgetEmail"
	ctxWAF                = "waf"
	ctxWAFRateLimit       = "wafRateLimit"
	ctxWAFACLArn          = "wafAclArn"
	ctxUDPIngestCIDRs     = "udpIngestCidrs"
	ctxDomainName         = "domainName"
	ctxCertificateARN     = "certificateArn"
	ctxFunctionsDir       = "functionsDir"
	ctxLayerZip           = "layerZip"
	ctxIngestContext      = "ingestContext"
	ctxIngestDockerfile   = "ingestDockerfile"
	ctxPlaceholderAssets  = "placeholderAssets"
)

// maxReserved bounds reserved concurrency: AWS keeps at least 100 of an
// account's executions unreserved, and the default account limit is 1000.
const maxReserved = 900

// wafRegion is the only region where CLOUDFRONT-scope web ACLs exist.
const wafRegion = "us-east-1"

var (
	emailPattern       = regexp.MustCompile(`^[^@\s,]+@[^@\s,]+\.[^@\s,]+$`)
	webACLPattern      = regexp.MustCompile(`^arn:aws:wafv2:us-east-1:[0-9]{12}:global/webacl/[A-Za-z0-9_-]{1,128}/[0-9a-f-]{36}$`)
	certificatePattern = regexp.MustCompile(`^arn:aws:acm:us-east-1:[0-9]{12}:certificate/[0-9a-f-]{36}$`)
	domainPattern      = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

var (
	allowedArchs     = []string{"arm64", "x86_64"}
	allowedPresets   = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"}
	allowedFunctions = []string{"transcode", "encode", "api", "fetch", "webhooks"}
	allowedBools     = []string{"true", "false"}
	// CloudWatch Logs accepts only these retention periods.
	allowedRetention = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
	// Fargate CPU units and, per CPU, the memory range in MiB.
	fargateMemory = map[int][2]int{256: {512, 2048}, 512: {1024, 4096}, 1024: {2048, 8192}, 2048: {4096, 16384}, 4096: {8192, 30720}}
)

// defaults are the values used when a context key is absent. Memory, /tmp
// and counts are explained in README.md ("Sizing").
var defaults = map[string]string{
	ctxLocal:              "false",
	ctxArch:               "arm64",
	ctxLadderPreset:       "veryfast",
	ctxFunctions:          "transcode,encode,api,fetch,webhooks",
	ctxTranscodeMemory:    strconv.Itoa(lambdaspec.Transcode.MemoryMB),
	ctxEncodeMemory:       strconv.Itoa(lambdaspec.Encode.MemoryMB),
	ctxAPIMemory:          strconv.Itoa(lambdaspec.API.MemoryMB),
	ctxEphemeralStorage:   strconv.Itoa(lambdaspec.Transcode.TmpMB),
	ctxSourceExpiryDays:   "0",
	ctxLogRetentionDays:   "30",
	ctxAllowedOrigins:     "*",
	ctxSignedPlayback:     "false",
	ctxPublicLibrary:      "false",
	ctxSigningPublicKey:   "",
	ctxDVRWindow:          "10m",
	ctxIngestDesiredCount: "1",
	ctxIngestMaxCount:     "2",
	ctxIngestCPU:          "4096",
	ctxIngestMemory:       "8192",
	ctxRemoveData:         "false",
	ctxTranscodeConc:      "2",
	ctxEncodeConc:         "20",
	ctxDailySourceMinutes: "600",
	ctxPerTitle:           "true",
	ctxSegmentFormat:      "ts",
	ctxVideoCodecs:        "h264",
	ctxLowLatency:         "true",
	ctxBudgetMonthlyUSD:   "0",
	ctxBudgetEmail:        "",
	ctxWAF:                "true",
	ctxWAFRateLimit:       "3000",
	ctxWAFACLArn:          "",
	ctxUDPIngestCIDRs:     "",
	ctxDomainName:         "",
	ctxCertificateARN:     "",
	ctxFunctionsDir:       "dist/functions",
	ctxLayerZip:           "dist/layers/ffmpeg-{arch}.zip",
	ctxIngestContext:      ".",
	ctxIngestDockerfile:   "services/ingest/Dockerfile",
	ctxPlaceholderAssets:  "false",
}

// ContextLookup returns a context value and whether it was set. CDK hands
// back strings for -c values and JSON types for cdk.json values.
type ContextLookup func(key string) (any, bool)

// LoadConfig reads and validates every context value; paths are resolved
// against root (the repository root). All problems are reported together,
// each naming the key and what it allows.
func LoadConfig(lookup ContextLookup, root string) (Config, error) {
	p := parser{lookup: lookup}
	c := Config{
		Local:              p.boolean(ctxLocal),
		Arch:               p.oneOf(ctxArch, allowedArchs),
		LadderPreset:       p.oneOf(ctxLadderPreset, allowedPresets),
		Functions:          p.subset(ctxFunctions, allowedFunctions),
		TranscodeMemory:    p.intIn(ctxTranscodeMemory, 128, 10240),
		EncodeMemory:       p.intIn(ctxEncodeMemory, 128, 10240),
		APIMemory:          p.intIn(ctxAPIMemory, 128, 10240),
		EphemeralStorage:   p.intIn(ctxEphemeralStorage, 512, 10240),
		SourceExpiryDays:   p.intIn(ctxSourceExpiryDays, 0, 3650),
		LogRetentionDays:   p.intOneOf(ctxLogRetentionDays, allowedRetention),
		AllowedOrigins:     p.origins(ctxAllowedOrigins),
		SignedPlayback:     p.boolean(ctxSignedPlayback),
		PublicLibrary:      p.boolean(ctxPublicLibrary),
		SigningPublicKey:   strings.TrimSpace(p.str(ctxSigningPublicKey)),
		DVRWindow:          p.duration(ctxDVRWindow, 30*time.Second, 24*time.Hour),
		IngestDesiredCount: p.intIn(ctxIngestDesiredCount, 0, 50),
		IngestMaxCount:     p.intIn(ctxIngestMaxCount, 1, 50),
		IngestCPU:          p.intOneOf(ctxIngestCPU, []int{256, 512, 1024, 2048, 4096}),
		IngestMemory:       p.intIn(ctxIngestMemory, 512, 30720),
		RemoveData:         p.boolean(ctxRemoveData),

		TranscodeConcurrency: p.intIn(ctxTranscodeConc, 0, maxReserved),
		EncodeConcurrency:    p.intIn(ctxEncodeConc, 0, maxReserved),
		DailySourceMinutes:   p.intIn(ctxDailySourceMinutes, 0, 1_000_000),
		PerTitle:             p.boolean(ctxPerTitle),
		SegmentFormat:        p.oneOf(ctxSegmentFormat, []string{"ts", "cmaf"}),
		VideoCodecs:          p.subset(ctxVideoCodecs, []string{"h264", "hevc", "av1"}),
		LowLatency:           p.boolean(ctxLowLatency),
		BudgetMonthlyUSD:     p.intIn(ctxBudgetMonthlyUSD, 0, 1_000_000),
		BudgetEmail:          strings.TrimSpace(p.str(ctxBudgetEmail)),
		WAF:                  p.boolean(ctxWAF),
		WAFRateLimit:         p.intIn(ctxWAFRateLimit, 100, 2_000_000_000),
		WAFACLArn:            strings.TrimSpace(p.str(ctxWAFACLArn)),
		UDPIngestCIDRs:       p.cidrs(ctxUDPIngestCIDRs),
		DomainName:           strings.ToLower(strings.TrimSpace(p.str(ctxDomainName))),
		CertificateARN:       strings.TrimSpace(p.str(ctxCertificateARN)),
		PlaceholderAssets:    p.boolean(ctxPlaceholderAssets),
	}
	if c.BudgetEmail != "" && !emailPattern.MatchString(c.BudgetEmail) {
		p.fail(ctxBudgetEmail, c.BudgetEmail, "an e-mail address such as ops@example.com")
	} else if c.BudgetMonthlyUSD > 0 && c.BudgetEmail == "" {
		p.fail(ctxBudgetEmail, c.BudgetEmail, "an e-mail address when "+ctxBudgetMonthlyUSD+" is above 0")
	}
	if c.WAFACLArn != "" && !webACLPattern.MatchString(c.WAFACLArn) {
		p.fail(ctxWAFACLArn, c.WAFACLArn, "empty, or the ARN of a CLOUDFRONT web ACL (arn:aws:wafv2:us-east-1:ACCOUNT:global/webacl/NAME/ID)")
	}
	if c.DomainName != "" && !domainPattern.MatchString(c.DomainName) {
		p.fail(ctxDomainName, c.DomainName, "empty, or a host name such as video.example.com")
	}
	if c.CertificateARN != "" && !certificatePattern.MatchString(c.CertificateARN) {
		p.fail(ctxCertificateARN, c.CertificateARN, "empty, or an ACM certificate ARN in us-east-1 (arn:aws:acm:us-east-1:ACCOUNT:certificate/ID), as CloudFront requires")
	}
	if (c.DomainName == "") != (c.CertificateARN == "") {
		p.fail(ctxCertificateARN, c.CertificateARN, "set together with "+ctxDomainName+" (both or neither)")
	}
	if c.Functions != nil && !slices.Contains(c.Functions, "transcode") {
		p.fail(ctxFunctions, strings.Join(c.Functions, ","), "a list that includes transcode (from "+strings.Join(allowedFunctions, ", ")+")")
	}
	if c.IngestMaxCount < c.IngestDesiredCount {
		p.fail(ctxIngestMaxCount, strconv.Itoa(c.IngestMaxCount), "a number at least "+ctxIngestDesiredCount+" ("+strconv.Itoa(c.IngestDesiredCount)+")")
	}
	if r, ok := fargateMemory[c.IngestCPU]; ok && (c.IngestMemory < r[0] || c.IngestMemory > r[1]) {
		p.fail(ctxIngestMemory, strconv.Itoa(c.IngestMemory), fmt.Sprintf("%d..%d MiB for %s %d", r[0], r[1], ctxIngestCPU, c.IngestCPU))
	}
	if k := c.SigningPublicKey; k != "" && !strings.Contains(k, "-----BEGIN") {
		// Not PEM text: a path to a PEM file, as multi-line -c values are awkward.
		if !filepath.IsAbs(k) {
			k = filepath.Join(root, k)
		}
		b, err := os.ReadFile(k)
		if err != nil {
			p.fail(ctxSigningPublicKey, c.SigningPublicKey, "PEM text or a readable PEM file ("+err.Error()+")")
		}
		c.SigningPublicKey = strings.TrimSpace(string(b))
	}
	if c.SignedPlayback && !c.Local && !strings.Contains(c.SigningPublicKey, "BEGIN PUBLIC KEY") {
		p.fail(ctxSigningPublicKey, abbreviate(c.SigningPublicKey), "a PEM public key (-----BEGIN PUBLIC KEY-----) when "+ctxSignedPlayback+" is true")
	}

	abs := func(key string) string {
		v := strings.ReplaceAll(p.str(key), "{arch}", c.Arch)
		if v == "" {
			p.fail(key, v, "a path")
			return ""
		}
		if filepath.IsAbs(v) {
			return v
		}
		return filepath.Join(root, v)
	}
	c.FunctionsDir = abs(ctxFunctionsDir)
	c.LayerZip = abs(ctxLayerZip)
	c.IngestContext = abs(ctxIngestContext)
	c.IngestDockerfile = p.str(ctxIngestDockerfile)
	if len(p.errs) > 0 {
		return Config{}, errors.Join(p.errs...)
	}
	return c, nil
}

// CreatesWebACL reports whether the stack makes its own web ACL, which
// CloudFront accepts only from us-east-1.
func (c Config) CreatesWebACL() bool { return !c.Local && c.WAF && c.WAFACLArn == "" }

// CheckRegion refuses a deploy the stack cannot survive: a web ACL for
// CloudFront exists only in us-east-1, so a stack elsewhere must use an
// existing one (wafAclArn) or none. region is the deploy's region as the
// CDK CLI passes it (CDK_DEFAULT_REGION); empty when unknown, then
// CloudFormation refuses the ACL at deploy instead.
func (c Config) CheckRegion(region string) error {
	if region == "" || region == wafRegion || !c.CreatesWebACL() {
		return nil
	}
	return fmt.Errorf("context %s=true creates a CloudFront web ACL, which AWS WAF accepts only in %s, but the stack would deploy to %s: deploy to %s, or set -c %s=ARN of a web ACL made there, or -c %s=false", ctxWAF, wafRegion, region, wafRegion, ctxWAFACLArn, ctxWAF)
}

// HasFunction reports whether the named Lambda is deployed.
func (c Config) HasFunction(name string) bool { return slices.Contains(c.Functions, name) }

// parser collects every invalid value instead of stopping at the first.
type parser struct {
	lookup ContextLookup
	errs   []error
}

func (p *parser) fail(key, got, allowed string) {
	p.errs = append(p.errs, fmt.Errorf("context %s=%q is invalid: allowed %s", key, got, allowed))
}

// str returns the value as text, or the default when unset.
func (p *parser) str(key string) string {
	v, ok := p.lookup(key)
	if !ok || v == nil {
		return defaults[key]
	}
	switch v := v.(type) {
	case string:
		return v
	case float64: // JSON numbers from cdk.json
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

func (p *parser) boolean(key string) bool {
	v := strings.ToLower(strings.TrimSpace(p.str(key)))
	if !slices.Contains(allowedBools, v) {
		p.fail(key, v, "one of "+strings.Join(allowedBools, ", "))
	}
	return v == "true"
}

func (p *parser) oneOf(key string, allowed []string) string {
	v := strings.TrimSpace(p.str(key))
	if !slices.Contains(allowed, v) {
		p.fail(key, v, "one of "+strings.Join(allowed, ", "))
	}
	return v
}

func (p *parser) subset(key string, allowed []string) []string {
	raw := p.str(key)
	var out []string
	for _, v := range strings.Split(raw, ",") {
		v = strings.TrimSpace(v)
		if !slices.Contains(allowed, v) {
			p.fail(key, raw, "a comma-separated list of "+strings.Join(allowed, ", "))
			return nil
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func (p *parser) intIn(key string, lo, hi int) int {
	raw := strings.TrimSpace(p.str(key))
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		p.fail(key, raw, fmt.Sprintf("a whole number from %d to %d", lo, hi))
	}
	return n
}

func (p *parser) intOneOf(key string, allowed []int) int {
	raw := strings.TrimSpace(p.str(key))
	n, err := strconv.Atoi(raw)
	if err != nil || !slices.Contains(allowed, n) {
		s := make([]string, len(allowed))
		for i, a := range allowed {
			s[i] = strconv.Itoa(a)
		}
		p.fail(key, raw, "one of "+strings.Join(s, ", "))
	}
	return n
}

func (p *parser) duration(key string, lo, hi time.Duration) time.Duration {
	raw := strings.TrimSpace(p.str(key))
	d, err := time.ParseDuration(raw)
	if err != nil || d < lo || d > hi {
		p.fail(key, raw, fmt.Sprintf("a Go duration from %s to %s (e.g. 10m)", lo, hi))
	}
	return d
}

// origins accepts "*" or a comma-separated list of http(s) origins without
// paths, as both S3 CORS and CloudFront compare them literally.
func (p *parser) origins(key string) []string {
	raw := p.str(key)
	var out []string
	for _, o := range strings.Split(raw, ",") {
		o = strings.TrimSpace(o)
		if o == "*" {
			out = append(out, o)
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			p.fail(key, raw, `"*" or a comma-separated list of origins like https://app.example.com`)
			return nil
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	if len(out) > 1 && slices.Contains(out, "*") {
		p.fail(key, raw, `"*" alone, or a list of origins without "*"`)
		return nil
	}
	return out
}

// cidrs accepts an empty value or a comma-separated list of IPv4 networks
// (a.b.c.d/n, n from 8 to 32; a plain address is taken as /32). 0.0.0.0/0
// and other very wide networks are refused: they would let anyone claim a
// UDP stream, which is what the list is there to prevent.
func (p *parser) cidrs(key string) []string {
	raw := strings.TrimSpace(p.str(key))
	if raw == "" {
		return nil
	}
	var out []string
	for _, v := range strings.Split(raw, ",") {
		v = strings.TrimSpace(v)
		if !strings.Contains(v, "/") {
			v += "/32"
		}
		pfx, err := netip.ParsePrefix(v)
		if err != nil || !pfx.Addr().Is4() || pfx.Bits() < 8 {
			p.fail(key, raw, "empty, or a comma-separated list of IPv4 networks such as 203.0.113.7/32 (prefix /8 to /32)")
			return nil
		}
		if n := pfx.Masked().String(); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func abbreviate(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}
