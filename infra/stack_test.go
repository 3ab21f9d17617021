package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// Buckets: nothing public, TLS only, encrypted; ACLs off except on the
// logs bucket, where CloudFront's log delivery needs them.
func TestBucketsArePrivateTLSOnlyAndEncrypted(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  map[string]any
	}{
		{"aws", nil},
		{"local", map[string]any{ctxLocal: "true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := synth(t, tc.ctx)
			buckets := s.ofType("AWS::S3::Bucket")
			if len(buckets) != 3 {
				t.Fatalf("want 3 buckets (uploads, media, logs), got %v", sortedKeys(buckets))
			}
			policies := s.ofType("AWS::S3::BucketPolicy")
			for id, b := range buckets {
				for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
					if get(b.Properties, "PublicAccessBlockConfiguration", k) != true {
						t.Errorf("%s: PublicAccessBlockConfiguration.%s is not true", id, k)
					}
				}
				if alg := get(b.Properties, "BucketEncryption", "ServerSideEncryptionConfiguration", 0, "ServerSideEncryptionByDefault", "SSEAlgorithm"); alg != "AES256" {
					t.Errorf("%s: encryption %v, want AES256", id, alg)
				}
				wantOwner := "BucketOwnerEnforced"
				if strings.HasPrefix(id, "StorageLogs") {
					wantOwner = "BucketOwnerPreferred"
				}
				if o := get(b.Properties, "OwnershipControls", "Rules", 0, "ObjectOwnership"); o != wantOwner {
					t.Errorf("%s: ownership %v, want %s", id, o, wantOwner)
				}
				var denyHTTP, denyOldTLS bool
				var stmts []any
				for _, p := range policies {
					if ref(p.Properties["Bucket"]) != stripHash(id) {
						continue
					}
					for _, st := range list(get(p.Properties, "PolicyDocument", "Statement")) {
						stmts = append(stmts, st)
						if get(st, "Effect") != "Deny" || get(st, "Principal", "AWS") != "*" || get(st, "Action") != "s3:*" {
							continue
						}
						if get(st, "Condition", "Bool", "aws:SecureTransport") == "false" {
							denyHTTP = true
						}
						if fmt.Sprint(get(st, "Condition", "NumericLessThan", "s3:TlsVersion")) == "1.2" {
							denyOldTLS = true
						}
					}
				}
				if !denyHTTP || !denyOldTLS {
					t.Errorf("%s: bucket policy denies plain HTTP=%v, TLS<1.2=%v; want both; statements %v", id, denyHTTP, denyOldTLS, stmts)
				}
			}
		})
	}
}

// Uploads: browsers PUT from the allowed origins; abandoned multipart
// uploads expire; sources expire only when asked.
func TestUploadsCORSAndLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name        string
		ctx         map[string]any
		origins     []any
		expireAfter any
	}{
		{"defaults", nil, []any{"*"}, nil},
		{"origins and expiry", map[string]any{ctxAllowedOrigins: "https://app.example.com, https://admin.example.com/", ctxSourceExpiryDays: "7"},
			[]any{"https://app.example.com", "https://admin.example.com"}, float64(7)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := synth(t, tc.ctx)
			_, up := s.one(t, "AWS::S3::Bucket", "StorageUploads")
			rule := get(up.Properties, "CorsConfiguration", "CorsRules", 0)
			if m := list(get(rule, "AllowedMethods")); !slices.Contains(m, any("PUT")) {
				t.Errorf("uploads CORS methods %v lack PUT", m)
			}
			if o := list(get(rule, "AllowedOrigins")); !slices.Equal(o, tc.origins) {
				t.Errorf("uploads CORS origins %v, want %v", o, tc.origins)
			}
			if e := list(get(rule, "ExposedHeaders")); !slices.Contains(e, any("ETag")) {
				t.Errorf("uploads CORS exposes %v, want ETag (multipart completion needs it)", e)
			}
			var abort, expire any
			for _, r := range list(get(up.Properties, "LifecycleConfiguration", "Rules")) {
				if v := get(r, "AbortIncompleteMultipartUpload", "DaysAfterInitiation"); v != nil {
					abort = v
				}
				if v := get(r, "ExpirationInDays"); v != nil {
					expire = v
				}
			}
			if abort != float64(1) {
				t.Errorf("abandoned multipart uploads expire after %v days, want 1", abort)
			}
			if expire != tc.expireAfter {
				t.Errorf("sources expire after %v days, want %v", expire, tc.expireAfter)
			}
			_, media := s.one(t, "AWS::S3::Bucket", "StorageMedia")
			if get(media.Properties, "CorsConfiguration") != nil {
				t.Error("media bucket has CORS on AWS: playback CORS belongs to CloudFront")
			}
		})
	}
}

// CloudFront reads the media bucket only through OAC, only GetObject.
func TestCloudFrontUsesOAC(t *testing.T) {
	s := synth(t, nil)
	_, oac := s.one(t, "AWS::CloudFront::OriginAccessControl", "DeliveryDistributionOrigin1S3")
	cfg := oac.Properties["OriginAccessControlConfig"]
	if get(cfg, "SigningBehavior") != "always" || get(cfg, "SigningProtocol") != "sigv4" || get(cfg, "OriginAccessControlOriginType") != "s3" {
		t.Errorf("OAC config %v, want always/sigv4/s3", cfg)
	}
	distID, dist := s.one(t, "AWS::CloudFront::Distribution", "DeliveryDistribution")
	var s3Origins int
	for _, o := range list(get(dist.Properties, "DistributionConfig", "Origins")) {
		if get(o, "S3OriginConfig") == nil {
			continue
		}
		s3Origins++
		if ref(get(o, "DomainName")) != "StorageMedia.RegionalDomainName" {
			t.Errorf("S3 origin %v is not the media bucket", ref(get(o, "DomainName")))
		}
		if get(o, "OriginAccessControlId") == nil {
			t.Error("S3 origin has no OriginAccessControlId")
		}
		if oai := get(o, "S3OriginConfig", "OriginAccessIdentity"); oai != nil && oai != "" {
			t.Errorf("S3 origin uses a legacy OAI %v", oai)
		}
	}
	if s3Origins != 1 {
		t.Errorf("want 1 S3 origin, got %d", s3Origins)
	}

	// The media bucket's policy lets exactly this distribution GetObject,
	// and only playback: the API's records (uploads-meta/, streams-meta/)
	// live in the same bucket.
	_, pol := s.one(t, "AWS::S3::BucketPolicy", "StorageMediaPolicy")
	var cfGrants []string
	for _, st := range list(get(pol.Properties, "PolicyDocument", "Statement")) {
		if get(st, "Effect") != "Allow" {
			continue
		}
		if get(st, "Principal", "Service") != "cloudfront.amazonaws.com" {
			t.Errorf("media bucket policy allows %v to %v", get(st, "Principal"), get(st, "Action"))
			continue
		}
		if src := ref(get(st, "Condition", "StringEquals", "AWS:SourceArn")); !strings.Contains(src, stripHash(distID)) {
			t.Errorf("CloudFront grant is not limited to the distribution: SourceArn %s", src)
		}
		for _, a := range list(get(st, "Action")) {
			for _, r := range list(get(st, "Resource")) {
				cfGrants = append(cfGrants, fmt.Sprintf("%v %s", a, ref(r)))
			}
		}
	}
	slices.Sort(cfGrants)
	if want := []string{"s3:GetObject StorageMedia.Arn/live/*", "s3:GetObject StorageMedia.Arn/vod/*"}; !slices.Equal(cfGrants, want) {
		t.Errorf("CloudFront may %q on the media bucket, want %q (ListBucket would list every video)", cfGrants, want)
	}
	for _, st := range list(get(s.resources[mustOne(t, s, "AWS::S3::BucketPolicy", "StorageUploadsPolicy")].Properties, "PolicyDocument", "Statement")) {
		if get(st, "Effect") == "Allow" {
			t.Errorf("uploads bucket policy allows %v; want only the TLS denies", get(st, "Action"))
		}
	}
}

func mustOne(t *testing.T, s *synthesized, typ, prefix string) string {
	t.Helper()
	id, _ := s.one(t, typ, prefix)
	return id
}

// Cache behaviours: playlists short and compressed, segments long and not
// recompressed, every policy honours the objects' Cache-Control (MinTTL 0),
// CORS on every media path, HTTPS only, HTTP/2 and HTTP/3.
func TestCloudFrontCachingAndCORS(t *testing.T) {
	s := synth(t, map[string]any{ctxAllowedOrigins: "https://player.example.com"})
	_, dist := s.one(t, "AWS::CloudFront::Distribution", "DeliveryDistribution")
	dc := dist.Properties["DistributionConfig"]
	if v := get(dc, "HttpVersion"); v != "http2and3" {
		t.Errorf("HttpVersion %v, want http2and3", v)
	}
	behaviours := map[string]any{"default": get(dc, "DefaultCacheBehavior")}
	for _, b := range list(get(dc, "CacheBehaviors")) {
		behaviours[get(b, "PathPattern").(string)] = b
	}
	for _, tc := range []struct {
		path     string
		policy   string
		compress bool
		defTTL   float64
		maxTTL   float64
	}{
		{"default", "DeliveryObjects", true, 0, 86400},
		{"*.m3u8", "DeliveryPlaylists", true, 1, 86400},
		{"*.ts", "DeliverySegments", false, 86400, 365 * 86400},
		{"*.m4s", "DeliverySegments", false, 86400, 365 * 86400},
		{"*.mp4", "DeliverySegments", false, 86400, 365 * 86400},
		{"*.aac", "DeliverySegments", false, 86400, 365 * 86400},
	} {
		t.Run(tc.path, func(t *testing.T) {
			b := behaviours[tc.path]
			if b == nil {
				t.Fatalf("no cache behaviour for %s (have %v)", tc.path, sortedKeys(behaviours))
			}
			if p := ref(get(b, "CachePolicyId")); p != tc.policy {
				t.Errorf("cache policy %s, want %s", p, tc.policy)
			}
			if get(b, "Compress") != tc.compress {
				t.Errorf("Compress %v, want %v", get(b, "Compress"), tc.compress)
			}
			if get(b, "ViewerProtocolPolicy") != "redirect-to-https" {
				t.Errorf("viewer protocol %v, want redirect-to-https", get(b, "ViewerProtocolPolicy"))
			}
			if p := ref(get(b, "ResponseHeadersPolicyId")); p != "DeliveryHeaders" {
				t.Errorf("response headers policy %s, want DeliveryCors", p)
			}
			if m := list(get(b, "AllowedMethods")); !slices.Contains(m, any("OPTIONS")) || slices.Contains(m, any("PUT")) {
				t.Errorf("allowed methods %v, want GET/HEAD/OPTIONS only", m)
			}
			if get(b, "TrustedKeyGroups") != nil {
				t.Error("media is signed although signedPlayback is false")
			}
			_, pol := s.one(t, "AWS::CloudFront::CachePolicy", tc.policy)
			pc := pol.Properties["CachePolicyConfig"]
			if get(pc, "MinTTL") != float64(0) {
				t.Errorf("MinTTL %v: must be 0 so the object's Cache-Control rules", get(pc, "MinTTL"))
			}
			if get(pc, "DefaultTTL") != tc.defTTL || get(pc, "MaxTTL") != tc.maxTTL {
				t.Errorf("TTL default %v max %v, want %v %v", get(pc, "DefaultTTL"), get(pc, "MaxTTL"), tc.defTTL, tc.maxTTL)
			}
			if gz := get(pc, "ParametersInCacheKeyAndForwardedToOrigin", "EnableAcceptEncodingGzip"); gz != tc.compress {
				t.Errorf("gzip variants cached %v, want %v", gz, tc.compress)
			}
			if q := get(pc, "ParametersInCacheKeyAndForwardedToOrigin", "QueryStringsConfig", "QueryStringBehavior"); q != "none" {
				t.Errorf("query strings %v in the cache key: every signed URL would be a miss", q)
			}
		})
	}
	api := behaviours["/api/*"]
	if api == nil {
		t.Fatal("no /api/* behaviour")
	}
	if p := get(api, "CachePolicyId"); p != "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" { // managed CachingDisabled
		t.Errorf("/api/* cache policy %v, want CachingDisabled", p)
	}
	if get(api, "ViewerProtocolPolicy") != "https-only" {
		t.Errorf("/api/* viewer protocol %v, want https-only", get(api, "ViewerProtocolPolicy"))
	}

	_, rhp := s.one(t, "AWS::CloudFront::ResponseHeadersPolicy", "DeliveryHeaders")
	cors := get(rhp.Properties, "ResponseHeadersPolicyConfig", "CorsConfig")
	if o := get(cors, "AccessControlAllowOrigins", "Items"); !slices.Equal(list(o), []any{"https://player.example.com"}) {
		t.Errorf("CORS origins %v", o)
	}
	for _, h := range []string{"Content-Range", "ETag"} {
		if !slices.Contains(list(get(cors, "AccessControlExposeHeaders", "Items")), any(h)) {
			t.Errorf("CORS does not expose %s", h)
		}
	}
	if !slices.Contains(list(get(cors, "AccessControlAllowHeaders", "Items")), any("Range")) {
		t.Error("CORS does not allow the Range header")
	}
	if get(cors, "OriginOverride") != true {
		t.Error("CORS OriginOverride is not true")
	}
}

// Signed playback protects media (not the API) with a trusted key group.
func TestSignedPlayback(t *testing.T) {
	s := synth(t, map[string]any{ctxSignedPlayback: "true", ctxSigningPublicKey: testPublicKey, ctxAllowedOrigins: "https://app.example.com"})
	_, key := s.one(t, "AWS::CloudFront::PublicKey", "Delivery")
	if get(key.Properties, "PublicKeyConfig", "EncodedKey") != testPublicKey {
		t.Error("public key is not the configured PEM")
	}
	kg, _ := s.one(t, "AWS::CloudFront::KeyGroup", "Delivery")
	_, dist := s.one(t, "AWS::CloudFront::Distribution", "DeliveryDistribution")
	dc := dist.Properties["DistributionConfig"]
	check := func(name string, b any, signed bool) {
		groups := list(get(b, "TrustedKeyGroups"))
		if signed && (len(groups) != 1 || ref(groups[0]) != stripHash(kg)) {
			t.Errorf("%s: trusted key groups %v, want the playback key group", name, groups)
		}
		if !signed && len(groups) != 0 {
			t.Errorf("%s: signed, but the API must stay reachable", name)
		}
	}
	check("default", get(dc, "DefaultCacheBehavior"), true)
	for _, b := range list(get(dc, "CacheBehaviors")) {
		p := get(b, "PathPattern").(string)
		// /p/* is checked by the PlaybackToken function (TestPlaybackTokenBehaviours).
		// /whip/* is for publishers, who hold a stream key instead.
		check(p, b, p != "/api/*" && p != "/whip/*" && !strings.HasPrefix(p, "/p/"))
	}
	_, rhp := s.one(t, "AWS::CloudFront::ResponseHeadersPolicy", "DeliveryHeaders")
	if get(rhp.Properties, "ResponseHeadersPolicyConfig", "CorsConfig", "AccessControlAllowCredentials") != true {
		t.Error("signed cookies from another origin need CORS credentials")
	}
}

// Functions: provided.al2023, the configured architecture, the FFmpeg
// layer on the ffmpeg functions, sizes and environment.
func TestFunctions(t *testing.T) {
	type want struct {
		memory, timeout, tmp float64
		layer                bool
		env                  map[string]string
		reserved             any // ReservedConcurrentExecutions; nil = none
	}
	ffmpegEnv := func(preset string) map[string]string {
		return map[string]string{
			"UPLOADS_BUCKET": "StorageUploads", "MEDIA_BUCKET": "StorageMedia",
			"FFMPEG_PATH": "/opt/bin/ffmpeg", "FFPROBE_PATH": "/opt/bin/ffprobe", "X264_PRESET": preset,
		}
	}
	// The webhooks sender, and the queue its emitters are told.
	sender := want{256, 30, 512, false, map[string]string{"MEDIA_BUCKET": "StorageMedia", "WEBHOOK_QUEUE_URL": "WebhooksDeliveries"}, nil}
	queue := "WebhooksDeliveries"
	for _, tc := range []struct {
		name  string
		ctx   map[string]any
		arch  string
		funcs map[string]want
	}{
		{"defaults", nil, "arm64", map[string]want{
			"OnDemandTranscode": {10240, 900, 2048, true, with(ffmpegEnv("veryfast"),
				"ENCODE_FUNCTION", "OnDemandEncode", "ENCODE_MEMORY_MB", "10240", "PARALLELISM", "10", "SOURCE_MINUTES_PER_DAY", "600",
				"PER_TITLE", "on", "SEGMENT_FORMAT", "ts", "VIDEO_CODECS", "h264", "WEBHOOK_QUEUE_URL", queue), float64(2)},
			"OnDemandEncode": {10240, 900, 2048, true, ffmpegEnv("veryfast"), float64(20)},
			"ApiFunction": {256, 10, 512, false, map[string]string{"UPLOADS_BUCKET": "StorageUploads", "MEDIA_BUCKET": "StorageMedia",
				"STREAM_KEY_SECRET_ARN": "LiveStreamKeySecret", "RTMP_URL": "rtmp://LiveNlb.DNSName:1935/live", "SRT_URL": "srt://LiveNlb.DNSName:8890",
				"WHIP_URL": "/whip", "API_TOKEN_SECRET_ARN": "ApiToken", "FETCH_FUNCTION": "FetchFunction", "WEBHOOK_QUEUE_URL": queue}, nil},
			"FetchFunction":  {512, 900, 512, false, map[string]string{"UPLOADS_BUCKET": "StorageUploads", "MEDIA_BUCKET": "StorageMedia"}, float64(fetchConcurrency)},
			"WebhooksSender": sender,
		}},
		{"x86 small transcode only", map[string]any{ctxArch: "x86_64", ctxFunctions: "transcode", ctxTranscodeMemory: float64(3008), ctxEphemeralStorage: "4096", ctxLadderPreset: "faster",
			ctxTranscodeConc: "0", ctxDailySourceMinutes: "0", ctxPerTitle: "false", ctxSegmentFormat: "cmaf", ctxVideoCodecs: "h264,av1"}, "x86_64", map[string]want{
			"OnDemandTranscode": {3008, 900, 4096, true, with(ffmpegEnv("faster"), "SOURCE_MINUTES_PER_DAY", "0", "PER_TITLE", "off", "SEGMENT_FORMAT", "cmaf", "VIDEO_CODECS", "h264,av1"), nil},
		}},
		{"few encodes, public library, signed playback", map[string]any{ctxTranscodeConc: "3", ctxEncodeConc: "7", ctxDailySourceMinutes: "90",
			ctxPublicLibrary: "true", ctxSignedPlayback: "true", ctxSigningPublicKey: testPublicKey}, "arm64", map[string]want{
			// 7 encodes shared by 3 transcodes: 2 chunks each at once.
			"OnDemandTranscode": {10240, 900, 2048, true, with(ffmpegEnv("veryfast"),
				"ENCODE_FUNCTION", "OnDemandEncode", "ENCODE_MEMORY_MB", "10240", "PARALLELISM", "2", "SOURCE_MINUTES_PER_DAY", "90",
				"PER_TITLE", "on", "SEGMENT_FORMAT", "ts", "VIDEO_CODECS", "h264", "WEBHOOK_QUEUE_URL", queue), float64(3)},
			"OnDemandEncode": {10240, 900, 2048, true, ffmpegEnv("veryfast"), float64(7)},
			"ApiFunction": {256, 10, 512, false, map[string]string{"UPLOADS_BUCKET": "StorageUploads", "MEDIA_BUCKET": "StorageMedia",
				"STREAM_KEY_SECRET_ARN": "LiveStreamKeySecret", "RTMP_URL": "rtmp://LiveNlb.DNSName:1935/live", "SRT_URL": "srt://LiveNlb.DNSName:8890",
				"WHIP_URL": "/whip", "API_TOKEN_SECRET_ARN": "ApiToken", "PUBLIC_LIBRARY": "true", "SIGNED_PLAYBACK": "true", "FETCH_FUNCTION": "FetchFunction",
				// What the API signs playback grants with (playback.go).
				"PLAYBACK_KEY_SECRET_ARN": "ApiFunctionPlaybackSigningKey", "PLAYBACK_TOKEN_SECRET_ARN": "ApiFunctionPlaybackTokenKey",
				"PLAYBACK_KEY_PAIR_ID": "DeliveryPlaybackKey", "WEBHOOK_QUEUE_URL": queue}, nil},
			"FetchFunction":  {512, 900, 512, false, map[string]string{"UPLOADS_BUCKET": "StorageUploads", "MEDIA_BUCKET": "StorageMedia"}, float64(fetchConcurrency)},
			"WebhooksSender": sender,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := synth(t, tc.ctx)
			fns := map[string]resource{}
			for id, r := range s.ofType("AWS::Lambda::Function") {
				if r.Properties["Runtime"] == "provided.al2023" {
					fns[stripHash(id)] = r
				}
			}
			if got, exp := sortedKeys(fns), sortedKeys(tc.funcs); !slices.Equal(got, exp) {
				t.Fatalf("Go functions %v, want %v", got, exp)
			}
			layerID, _ := s.one(t, "AWS::Lambda::LayerVersion", "OnDemandFFmpeg")
			for name, w := range tc.funcs {
				p := fns[name].Properties
				if a := list(p["Architectures"]); !slices.Equal(a, []any{tc.arch}) {
					t.Errorf("%s: architectures %v, want %s", name, a, tc.arch)
				}
				if p["Handler"] != "bootstrap" {
					t.Errorf("%s: handler %v", name, p["Handler"])
				}
				if r := p["ReservedConcurrentExecutions"]; r != w.reserved {
					t.Errorf("%s: reserved concurrency %v, want %v", name, r, w.reserved)
				}
				if p["MemorySize"] != w.memory || p["Timeout"] != w.timeout {
					t.Errorf("%s: memory %v timeout %v, want %v %v", name, p["MemorySize"], p["Timeout"], w.memory, w.timeout)
				}
				if tmp := get(p, "EphemeralStorage", "Size"); tmp != w.tmp && !(tmp == nil && w.tmp == 512) {
					t.Errorf("%s: /tmp %v MiB, want %v", name, tmp, w.tmp)
				}
				layers := list(p["Layers"])
				if hasLayer := len(layers) == 1 && ref(layers[0]) == stripHash(layerID); hasLayer != w.layer {
					t.Errorf("%s: layers %v, want FFmpeg layer: %v", name, layers, w.layer)
				}
				env := map[string]string{}
				vars, _ := get(p, "Environment", "Variables").(map[string]any)
				for k, v := range vars {
					env[k] = strings.TrimSuffix(ref(v), ".Arn")
				}
				for k, v := range w.env {
					if env[k] != v {
						t.Errorf("%s: env %s=%q, want %q", name, k, env[k], v)
					}
				}
				if len(env) != len(w.env) {
					t.Errorf("%s: env %v, want exactly %v", name, env, w.env)
				}
				lg := ref(get(p, "LoggingConfig", "LogGroup"))
				var retention any
				for id, r := range s.ofType("AWS::Logs::LogGroup") {
					if stripHash(id) == lg {
						retention = r.Properties["RetentionInDays"]
					}
				}
				if retention != float64(30) {
					t.Errorf("%s: log group %q retention %v, want 30 days", name, lg, retention)
				}
			}
			_, layer := s.one(t, "AWS::Lambda::LayerVersion", "OnDemandFFmpeg")
			if a := list(layer.Properties["CompatibleArchitectures"]); !slices.Equal(a, []any{tc.arch}) {
				t.Errorf("layer architectures %v, want %s", a, tc.arch)
			}
		})
	}
}

// with returns m plus the key, value pairs in kv.
func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for a, b := range m {
		out[a] = b
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// noResourceForm is the one grant on every resource: an action that has
// no resource-level form, read-only, held to the stack's region.
const noResourceForm = `Allow ec2:DescribeNetworkInterfaces * when {"StringEquals":{"aws:RequestedRegion":{"Ref":"AWS::Region"}}}`

// Least privilege: each role gets exactly these permissions. A new grant
// must be added here on purpose.
func TestLeastPrivilege(t *testing.T) {
	s := synth(t, nil)
	worker := []string{
		"Allow s3:GetObject StorageUploads.Arn/*",
		"Allow s3:ListBucket StorageUploads.Arn",
		"Allow s3:PutObject StorageMedia.Arn/vod/*",
		"Allow s3:GetObject StorageMedia.Arn/vod/*",
		"Allow s3:DeleteObject StorageMedia.Arn/vod/*",
		"Allow s3:AbortMultipartUpload StorageMedia.Arn/vod/*",
		`Allow s3:ListBucket StorageMedia.Arn when {"StringLike":{"s3:prefix":"vod/*"}}`,
	}
	// What every emitter of webhook events may do: the webhook records and
	// the queue of deliveries.
	emitter := []string{
		"Allow s3:GetObject StorageMedia.Arn/webhooks-meta/*",
		"Allow s3:PutObject StorageMedia.Arn/webhooks-meta/*",
		"Allow s3:DeleteObject StorageMedia.Arn/webhooks-meta/*",
		`Allow s3:ListBucket StorageMedia.Arn when {"StringLike":{"s3:prefix":"webhooks-meta/*"}}`,
		"Allow sqs:SendMessage WebhooksDeliveries.Arn",
	}
	for _, tc := range []struct {
		role string
		want []string
	}{
		{"WebhooksSenderServiceRole", []string{
			"Allow s3:GetObject StorageMedia.Arn/webhooks-meta/*",
			"Allow s3:PutObject StorageMedia.Arn/webhooks-meta/*",
			"Allow s3:DeleteObject StorageMedia.Arn/webhooks-meta/*",
			// The sweep: the pending index, and its own queue.
			`Allow s3:ListBucket StorageMedia.Arn when {"StringLike":{"s3:prefix":"webhooks-meta/*"}}`,
			"Allow sqs:SendMessage WebhooksDeliveries.Arn",
			// CDK's grant for the SQS event source.
			"Allow sqs:ReceiveMessage WebhooksDeliveries.Arn",
			"Allow sqs:ChangeMessageVisibility WebhooksDeliveries.Arn",
			"Allow sqs:GetQueueUrl WebhooksDeliveries.Arn",
			"Allow sqs:DeleteMessage WebhooksDeliveries.Arn",
			"Allow sqs:GetQueueAttributes WebhooksDeliveries.Arn",
		}},
		{"OnDemandTranscodeServiceRole", append(slices.Concat(worker, emitter),
			// The video's captions (internal/subtitles).
			"Allow s3:GetObject StorageMedia.Arn/captions-meta/*",
			"Allow s3:PutObject StorageMedia.Arn/captions-meta/*",
			"Allow s3:DeleteObject StorageMedia.Arn/captions-meta/*",
			// CDK's grant for the on-failure destination.
			"Allow sqs:SendMessage OnDemandTranscodeFailures.Arn",
			"Allow sqs:GetQueueAttributes OnDemandTranscodeFailures.Arn",
			"Allow sqs:GetQueueUrl OnDemandTranscodeFailures.Arn",
			"Allow lambda:InvokeFunction OnDemandEncode.Arn",
			"Allow lambda:InvokeFunction OnDemandEncode.Arn:*",
			// The daily source quota's counters (dailySourceMinutes); the
			// unconditional ListBucket makes a day's missing counter a 404.
			"Allow s3:GetObject StorageMedia.Arn/_quota/*",
			"Allow s3:PutObject StorageMedia.Arn/_quota/*",
			"Allow s3:ListBucket StorageMedia.Arn",
		)},
		{"OnDemandEncodeServiceRole", worker},
		{"ApiFunctionServiceRole", append(slices.Clone(emitter),
			"Allow s3:PutObject StorageUploads.Arn/*",
			"Allow s3:GetObject StorageUploads.Arn/*",
			"Allow s3:AbortMultipartUpload StorageUploads.Arn/*",
			"Allow s3:ListMultipartUploadParts StorageUploads.Arn/*",
			"Allow s3:ListBucket StorageUploads.Arn",
			"Allow s3:ListBucket StorageMedia.Arn",
			"Allow s3:PutObject StorageMedia.Arn/uploads-meta/*",
			"Allow s3:GetObject StorageMedia.Arn/uploads-meta/*",
			"Allow s3:DeleteObject StorageMedia.Arn/uploads-meta/*",
			"Allow s3:PutObject StorageMedia.Arn/streams-meta/*",
			"Allow s3:GetObject StorageMedia.Arn/streams-meta/*",
			"Allow s3:DeleteObject StorageMedia.Arn/streams-meta/*",
			"Allow s3:PutObject StorageMedia.Arn/captions-meta/*",
			"Allow s3:GetObject StorageMedia.Arn/captions-meta/*",
			"Allow s3:DeleteObject StorageMedia.Arn/captions-meta/*",
			"Allow s3:PutObject StorageMedia.Arn/clips-meta/*",
			"Allow s3:GetObject StorageMedia.Arn/clips-meta/*",
			"Allow s3:DeleteObject StorageMedia.Arn/clips-meta/*",
			"Allow s3:GetObject StorageMedia.Arn/vod/*",
			"Allow s3:GetObject StorageMedia.Arn/live/*",
			// Instant clips, and captions added to a ready video.
			"Allow s3:PutObject StorageMedia.Arn/vod/*-clip-*/*",
			"Allow s3:DeleteObject StorageMedia.Arn/vod/*-clip-*/*",
			"Allow s3:PutObject StorageMedia.Arn/vod/*/subs/*",
			"Allow s3:DeleteObject StorageMedia.Arn/vod/*/subs/*",
			"Allow s3:PutObject StorageMedia.Arn/vod/*/master.m3u8",
			"Allow s3:PutObject StorageMedia.Arn/vod/*/status.json",
			"Allow secretsmanager:GetSecretValue LiveStreamKeySecret",
			"Allow secretsmanager:DescribeSecret LiveStreamKeySecret",
			"Allow secretsmanager:GetSecretValue ApiToken",
			"Allow secretsmanager:DescribeSecret ApiToken",
			// Uploads from a URL: the first status, then the fetch function.
			"Allow s3:PutObject StorageMedia.Arn/vod/*/status.json",
			"Allow lambda:InvokeFunction FetchFunction.Arn",
			"Allow lambda:InvokeFunction FetchFunction.Arn:*",
		)},
		// The fetch writes the upload and the video's status, nothing else.
		{"FetchFunctionServiceRole", []string{
			"Allow s3:PutObject StorageUploads.Arn/*",
			"Allow s3:GetObject StorageUploads.Arn/*",
			"Allow s3:AbortMultipartUpload StorageUploads.Arn/*",
			"Allow s3:ListBucket StorageUploads.Arn",
			"Allow s3:ListBucket StorageMedia.Arn",
			"Allow s3:PutObject StorageMedia.Arn/vod/*/status.json",
			"Allow s3:GetObject StorageMedia.Arn/vod/*/status.json",
		}},
		// The ingest PUTs live playlists, and recordings under
		// vod/{stream}-{YYYYMMDD}-{HHMMSS}/, never an uploaded video; it
		// reads restream destinations and reports their states.
		{"LiveTaskTaskRole", append(slices.Clone(emitter),
			"Allow s3:PutObject StorageMedia.Arn/live/*",
			"Allow s3:PutObject StorageMedia.Arn/vod/*-????????-??????/*",
			"Allow s3:GetObject StorageMedia.Arn/streams-meta/*.restream.json",
			"Allow s3:PutObject StorageMedia.Arn/streams-meta/*.restream-state.json",
			// Which task holds a low-latency stream (lowLatency, default).
			"Allow s3:GetObject StorageMedia.Arn/streams-meta/*.origin.json",
			"Allow s3:PutObject StorageMedia.Arn/streams-meta/*.origin.json",
			"Allow s3:DeleteObject StorageMedia.Arn/streams-meta/*.origin.json",
			// Its own public IP for WHIP (internal/taskip): no
			// resource-level form, so held to the stack's region.
			noResourceForm,
		)},
	} {
		t.Run(tc.role, func(t *testing.T) {
			roleID, role := s.one(t, "AWS::IAM::Role", tc.role)
			got := s.grants(stripHash(roleID))
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("grants:\n got %q\nwant %q", got, want)
			}
			for _, g := range got {
				if g != noResourceForm && (strings.HasSuffix(g, " *") || strings.Contains(g, " * ") || strings.Contains(g, ":* ")) {
					t.Errorf("wildcard grant %q", g)
				}
			}
			// Only the basic execution role (logs) may be attached as managed.
			for _, m := range list(role.Properties["ManagedPolicyArns"]) {
				if !strings.Contains(ref(m), "AWSLambdaBasicExecutionRole") {
					t.Errorf("managed policy %s", ref(m))
				}
			}
		})
	}
}

// Every upload triggers transcode asynchronously; after the retries the
// event lands in the DLQ, whose depth has an alarm.
func TestUploadNotificationRetriesAndDLQ(t *testing.T) {
	s := synth(t, nil)
	fn := mustOne(t, s, "AWS::Lambda::Function", "OnDemandTranscode")
	queue := mustOne(t, s, "AWS::SQS::Queue", "OnDemandTranscodeFailures")
	matches(t, "S3 notification", func() {
		s.tmpl.HasResourceProperties(jsii.String("Custom::S3BucketNotifications"), &map[string]any{
			"BucketName": map[string]any{"Ref": mustOne(t, s, "AWS::S3::Bucket", "StorageUploads")},
			"NotificationConfiguration": map[string]any{
				"LambdaFunctionConfigurations": []any{map[string]any{
					"Events":            []any{"s3:ObjectCreated:*"},
					"LambdaFunctionArn": map[string]any{"Fn::GetAtt": []any{fn, "Arn"}},
				}},
			},
		})
	})
	matches(t, "S3 may invoke transcode", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), &map[string]any{
			"Action":       "lambda:InvokeFunction",
			"Principal":    "s3.amazonaws.com",
			"FunctionName": map[string]any{"Fn::GetAtt": []any{fn, "Arn"}},
			"SourceArn":    map[string]any{"Fn::GetAtt": []any{mustOne(t, s, "AWS::S3::Bucket", "StorageUploads"), "Arn"}},
		})
	})
	matches(t, "async retries and on-failure DLQ", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), &map[string]any{
			"FunctionName":             map[string]any{"Ref": fn},
			"MaximumRetryAttempts":     float64(transcodeRetries),
			"MaximumEventAgeInSeconds": float64(maxEventAgeHours * 3600),
			"DestinationConfig": map[string]any{
				"OnFailure": map[string]any{"Destination": map[string]any{"Fn::GetAtt": []any{queue, "Arn"}}},
			},
		})
	})
	matches(t, "DLQ encrypted", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), &map[string]any{"SqsManagedSseEnabled": true})
	})
	matches(t, "DLQ depth alarm", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
			"MetricName":         "ApproximateNumberOfMessagesVisible",
			"Namespace":          "AWS/SQS",
			"Threshold":          float64(1),
			"ComparisonOperator": "GreaterThanOrEqualToThreshold",
			"Dimensions": []any{map[string]any{
				"Name":  "QueueName",
				"Value": map[string]any{"Fn::GetAtt": []any{queue, "QueueName"}},
			}},
		})
	})
}

// Live: NLB TCP 1935 (RTMP), UDP 8890 (SRT) and (with udpIngestCidrs) UDP
// 9000 to the Fargate service, health checks on the ingest's health port, no NAT gateway, a
// graceful stop.
func TestLiveIngest(t *testing.T) {
	s := synth(t, map[string]any{ctxIngestDesiredCount: "2", ctxIngestMaxCount: "4", ctxDVRWindow: "30m", ctxUDPIngestCIDRs: "203.0.113.7/32"})
	_, svc := s.one(t, "AWS::ECS::Service", "LiveService")
	if svc.Properties["LaunchType"] != "FARGATE" || svc.Properties["DesiredCount"] != float64(2) {
		t.Errorf("service launch %v desired %v, want FARGATE 2", svc.Properties["LaunchType"], svc.Properties["DesiredCount"])
	}
	if get(svc.Properties, "NetworkConfiguration", "AwsvpcConfiguration", "AssignPublicIp") != "ENABLED" {
		t.Error("tasks have no public IP: without NAT they could not reach S3")
	}
	svcTargets := map[float64]string{}
	for _, lb := range list(svc.Properties["LoadBalancers"]) {
		if get(lb, "ContainerName") != ingestContainer {
			t.Errorf("load balancer targets container %v", get(lb, "ContainerName"))
		}
		svcTargets[get(lb, "ContainerPort").(float64)] = ref(get(lb, "TargetGroupArn"))
	}
	listeners := s.ofType("AWS::ElasticLoadBalancingV2::Listener")
	if len(listeners) != 7 {
		t.Errorf("want 7 listeners, got %v", sortedKeys(listeners))
	}
	for _, tc := range []struct {
		port     float64
		protocol string
	}{{rtmpPort, "TCP"}, {srtPort, "UDP"}, {udpPort, "UDP"}, {whipPort, "TCP"}, {whipICEPort, "UDP"}, {whipICETCPPort, "TCP"}, {liveOriginPort, "TCP"}} {
		t.Run(fmt.Sprintf("%s %v", tc.protocol, tc.port), func(t *testing.T) {
			var tg string
			for _, l := range listeners {
				if l.Properties["Port"] == tc.port {
					if l.Properties["Protocol"] != tc.protocol {
						t.Errorf("listener %v protocol %v, want %s", tc.port, l.Properties["Protocol"], tc.protocol)
					}
					tg = ref(get(l.Properties, "DefaultActions", 0, "TargetGroupArn"))
				}
			}
			if tg == "" {
				t.Fatalf("no listener on %v", tc.port)
			}
			if svcTargets[tc.port] != tg {
				t.Errorf("listener %v forwards to %s, but the service registers port %v with %q", tc.port, tg, tc.port, svcTargets[tc.port])
			}
			_, g := s.one(t, "AWS::ElasticLoadBalancingV2::TargetGroup", tg)
			p := g.Properties
			if p["Protocol"] != tc.protocol || p["TargetType"] != "ip" || p["Port"] != tc.port {
				t.Errorf("target group %v %v %v, want %s ip %v", p["Protocol"], p["TargetType"], p["Port"], tc.protocol, tc.port)
			}
			if p["HealthCheckPort"] != "8081" || p["HealthCheckPath"] != "/healthz" || p["HealthCheckProtocol"] != "HTTP" {
				t.Errorf("health check %v %v %v, want HTTP 8081 /healthz", p["HealthCheckProtocol"], p["HealthCheckPort"], p["HealthCheckPath"])
			}
		})
	}
	matches(t, "internet-facing NLB", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::LoadBalancer"), &map[string]any{"Type": "network", "Scheme": "internet-facing"})
	})
	matches(t, "no NAT gateway", func() { s.tmpl.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(0)) })
	// Public subnets for the tasks and the NLB; the isolated ones hold
	// only the private origin (TestIngestPrivateOrigin).
	for id, sn := range s.ofType("AWS::EC2::Subnet") {
		if isolated := subnetTag(s, id, "aws-cdk:subnet-type") == "Isolated"; sn.Properties["MapPublicIpOnLaunch"] != !isolated {
			t.Errorf("subnet %s: public %v, isolated %v", id, sn.Properties["MapPublicIpOnLaunch"], isolated)
		}
	}

	_, task := s.one(t, "AWS::ECS::TaskDefinition", "LiveTask")
	if a := get(task.Properties, "RuntimePlatform", "CpuArchitecture"); a != "ARM64" {
		t.Errorf("task architecture %v, want ARM64", a)
	}
	c := get(task.Properties, "ContainerDefinitions", 0)
	if get(c, "StopTimeout") != float64(stopTimeoutSeconds) {
		t.Errorf("stop timeout %v, want %d s to finalise streams", get(c, "StopTimeout"), stopTimeoutSeconds)
	}
	env := map[string]string{}
	for _, e := range list(get(c, "Environment")) {
		env[get(e, "Name").(string)] = ref(get(e, "Value"))
	}
	for k, v := range map[string]string{"MEDIA_BUCKET": "StorageMedia", "DVR_WINDOW": "30m0s", "RTMP_ADDR": ":1935", "SRT_ADDR": ":8890", "UDP_ADDR": ":9000", "HEALTH_ADDR": ":8081", "STOP_TIMEOUT": "100s", "UDP_ALLOW": "203.0.113.7/32",
		"WHIP_ADDR": ":8080", "WHIP_ICE_ADDR": ":8189", "WHIP_ICE_TCP_ADDR": ":8190", "WHIP_PUBLIC_HOST": "LiveNlb.DNSName",
		"WHIP_PUBLIC_IPS": "ecs", "WEBHOOK_QUEUE_URL": "WebhooksDeliveries", "LOW_LATENCY": "on", "LIVE_ADDR": ":8082", "LIVE_ORIGIN_URL": "ecs"} {
		if env[k] != v {
			t.Errorf("ingest env %s=%q, want %q", k, env[k], v)
		}
	}
	secrets := list(get(c, "Secrets"))
	if len(env) != 17 {
		t.Errorf("ingest env %v has more than the expected variables", env)
	}
	if len(secrets) != 2 || get(secrets[0], "Name") != "STREAM_KEY_SECRET" || ref(get(secrets[0], "ValueFrom")) != "LiveStreamKeySecret" ||
		get(secrets[1], "Name") != "WHIP_FRONT_SECRET" || ref(get(secrets[1], "ValueFrom")) != "LiveDeliveryFrontSecret" {
		t.Errorf("ingest secrets %v, want STREAM_KEY_SECRET from the stream-key secret and WHIP_FRONT_SECRET from the front secret", secrets)
	}
	matches(t, "autoscaling bounds", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalableTarget"), &map[string]any{"MinCapacity": float64(2), "MaxCapacity": float64(4)})
	})
	matches(t, "outputs", func() {
		for _, o := range []string{"RtmpUrl", "SrtUrl", "WhipUrl", "UdpAddress", "CloudFrontDomain", "VodPlaybackUrlPattern", "LivePlaybackUrlPattern", "UploadsBucketName", "MediaBucketName", "ApiUrl", "ApiTokenSecretArn", "StreamKeySecretArn"} {
			s.tmpl.HasOutput(jsii.String(o), &map[string]any{})
		}
	})
}

// ingestDesiredCount=0 parks live ingest: no task runs and nothing starts
// one (no scalable target whose minimum would keep a task), whatever
// ingestMaxCount says; 1 keeps autoscaling from 1 to the ceiling.
func TestIngestZeroMeansZero(t *testing.T) {
	for _, tc := range []struct {
		desired, max string
		wantTasks    float64
		wantMin      any // nil: no scalable target
	}{
		{"0", "2", 0, nil},
		{"0", "50", 0, nil},
		{"1", "2", 1, float64(1)},
	} {
		t.Run(tc.desired+"-"+tc.max, func(t *testing.T) {
			s := synth(t, map[string]any{ctxIngestDesiredCount: tc.desired, ctxIngestMaxCount: tc.max})
			_, svc := s.one(t, "AWS::ECS::Service", "LiveService")
			if d := svc.Properties["DesiredCount"]; d != tc.wantTasks {
				t.Errorf("service desired count %v, want %v", d, tc.wantTasks)
			}
			targets := s.ofType("AWS::ApplicationAutoScaling::ScalableTarget")
			var minCap any
			for _, st := range targets {
				minCap = st.Properties["MinCapacity"]
			}
			if len(targets) > 1 || minCap != tc.wantMin {
				t.Errorf("scalable targets %v, minimum %v; want minimum %v", sortedKeys(targets), minCap, tc.wantMin)
			}
			if tc.wantMin == nil && len(s.ofType("AWS::ApplicationAutoScaling::ScalingPolicy")) != 0 {
				t.Error("a parked service has a scaling policy")
			}
		})
	}
}

// local=true leaves out exactly what LocalStack's free tier cannot create.
func TestLocalSwitchDropsExactly(t *testing.T) {
	full := synth(t, nil)
	local := synth(t, map[string]any{ctxLocal: "true"})
	count := func(s *synthesized) map[string]int {
		n := map[string]int{}
		for _, r := range s.resources {
			n[r.Type]++
		}
		return n
	}
	fc, lc := count(full), count(local)
	var dropped []string
	for typ := range fc {
		if lc[typ] == 0 {
			dropped = append(dropped, typ)
		}
	}
	slices.Sort(dropped)
	wantDropped := []string{
		"AWS::ApplicationAutoScaling::ScalableTarget", "AWS::ApplicationAutoScaling::ScalingPolicy",
		"AWS::CloudFront::CachePolicy", "AWS::CloudFront::Distribution", "AWS::CloudFront::Function", "AWS::CloudFront::OriginAccessControl",
		"AWS::CloudFront::OriginRequestPolicy", "AWS::CloudFront::ResponseHeadersPolicy", "AWS::CloudFront::VpcOrigin",
		"AWS::EC2::FlowLog", "AWS::EC2::InternetGateway", "AWS::EC2::Route", "AWS::EC2::RouteTable", "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress",
		"AWS::EC2::Subnet", "AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::VPC", "AWS::EC2::VPCGatewayAttachment",
		"AWS::ECS::Cluster", "AWS::ECS::Service", "AWS::ECS::TaskDefinition",
		"AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ElasticLoadBalancingV2::TargetGroup",
		"AWS::Lambda::LayerVersion", "AWS::SecretsManager::Secret", "AWS::WAFv2::WebACL", "Custom::AWS",
	}
	if !slices.Equal(dropped, wantDropped) {
		t.Errorf("local drops:\n got %q\nwant %q", dropped, wantDropped)
	}
	for typ, n := range lc {
		if fc[typ] == 0 {
			t.Errorf("local adds %s", typ)
		}
		_ = n
	}
	// The ingest's health alarm goes with the live stack; every other
	// alarm stays.
	fc["AWS::CloudWatch::Alarm"] -= len(slices.DeleteFunc(slices.Collect(maps.Keys(full.ofType("AWS::CloudWatch::Alarm"))),
		func(id string) bool { return !strings.HasPrefix(id, "MonitoringIngestUnhealthy") }))
	for _, typ := range []string{"AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::SQS::Queue", "AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard", "AWS::Lambda::EventInvokeConfig", "Custom::S3BucketNotifications", "AWS::Lambda::Url"} {
		if lc[typ] != fc[typ] {
			t.Errorf("local has %d %s, full has %d: it must keep them", lc[typ], typ, fc[typ])
		}
	}
	fn := func(s *synthesized) map[string]any {
		_, r := s.one(t, "AWS::Lambda::Function", "OnDemandTranscode")
		return r.Properties
	}
	if l := fn(local)["Layers"]; l != nil {
		t.Errorf("local transcode still has layers %v", l)
	}
	if v := get(fn(local), "Environment", "Variables", "FFMPEG_PATH"); v != nil {
		t.Errorf("local transcode FFMPEG_PATH=%v points into a layer that is not there", v)
	}
	matches(t, "local outputs the function URL", func() {
		local.tmpl.HasOutput(jsii.String("ApiUrl"), &map[string]any{"Value": assertions.Match_ObjectLike(&map[string]any{"Fn::GetAtt": assertions.Match_AnyValue()})})
	})
}

// testPublicKey is enough of a PEM public key for the stack's check and
// CloudFront's key resource (CDK does not parse it).
const testPublicKey = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----"

// TestAV1OnArm64Warns: AV1 rungs on arm64 functions get a synth warning
// that says to deploy x86_64; AV1 on x86_64 and H.264 on arm64 none.
func TestAV1OnArm64Warns(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  map[string]any
		warn bool
	}{
		{"av1 arm64", map[string]any{ctxSegmentFormat: "cmaf", ctxVideoCodecs: "h264,av1"}, true},
		{"defaults", nil, false},
		{"av1 x86_64", map[string]any{ctxArch: "x86_64", ctxFunctions: "transcode", ctxTranscodeMemory: float64(3008), ctxEphemeralStorage: "4096", ctxLadderPreset: "faster",
			ctxTranscodeConc: "0", ctxDailySourceMinutes: "0", ctxPerTitle: "false", ctxSegmentFormat: "cmaf", ctxVideoCodecs: "h264,av1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(synth(t, tc.ctx).own, "\n")
			if has := strings.Contains(got, "arch=x86_64 for AV1"); has != tc.warn {
				t.Errorf("warnings %q, want the AV1 one: %v", got, tc.warn)
			}
		})
	}
}
