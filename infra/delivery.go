package main

import (
	_ "embed"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudfront"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Delivery is the CloudFront distribution in front of the media bucket (and
// the API at /api/*).
type Delivery struct {
	Distribution awscloudfront.Distribution
	// Playlists, Segments and Objects are the cache policies of *.m3u8,
	// media segments and everything else (status.json).
	Playlists, Segments, Objects awscloudfront.CachePolicy
	// Headers adds CORS and the security headers to media responses;
	// APIHeaders only the security headers (the function URL does CORS).
	Headers, APIHeaders awscloudfront.ResponseHeadersPolicy
	// APIRequest runs on every /api/* request (apirequest.js).
	APIRequest awscloudfront.Function
	KeyGroup   awscloudfront.KeyGroup // nil unless SignedPlayback
	// PublicKey is the playback key in KeyGroup; nil unless SignedPlayback.
	PublicKey awscloudfront.PublicKey
	// PlaybackToken checks path tokens on /p/* and TokenKeys holds its
	// keys (playback.go); nil unless SignedPlayback.
	PlaybackToken awscloudfront.Function
	TokenKeys     awscloudfront.KeyValueStore
	WebACL        *WebACL // nil unless cfg.WAF
	// Live routes to the ingest (livedelivery.go); nil without live.
	Live *LiveDelivery
}

// apiRequestJS keeps the viewer's Authorization header from CloudFront's
// signature and refuses bodies CloudFront cannot sign; see its comment.
//
//go:embed apirequest.js
var apiRequestJS string

// Security headers on every response. Nothing CloudFront serves is a page
// (media, status.json and the API's JSON), so the policy forbids all
// content and framing: an HTML object that reached vod/ could run nothing.
const (
	contentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
	hstsSeconds           = 2 * 365 * 24 * 3600
)

// segmentPatterns are the path patterns served with the long-lived segment
// policy: MPEG-TS and fMP4 segments, init segments and audio-only segments.
var segmentPatterns = []string{"*.ts", "*.m4s", "*.mp4", "*.aac"}

// NewDelivery creates the distribution. Every cache policy has MinTtl 0 so
// the objects' own Cache-Control decides (the uploader sets short max-age on
// playlists and immutable on segments); the defaults apply only to objects
// without one.
func NewDelivery(scope constructs.Construct, cfg Config, st *Storage, api *API, live *Live) *Delivery {
	s := constructs.NewConstruct(scope, jsii.String("Delivery"))
	d := &Delivery{}

	d.Playlists = awscloudfront.NewCachePolicy(s, jsii.String("Playlists"), &awscloudfront.CachePolicyProps{
		Comment:    jsii.String("hlsflow playlists: honour Cache-Control, short default, compressed"),
		MinTtl:     awscdk.Duration_Seconds(jsii.Number(0)),
		DefaultTtl: awscdk.Duration_Seconds(jsii.Number(1)),
		MaxTtl:     awscdk.Duration_Days(jsii.Number(1)),
		// Compressed and plain copies are cached apart.
		EnableAcceptEncodingGzip:   jsii.Bool(true),
		EnableAcceptEncodingBrotli: jsii.Bool(true),
		QueryStringBehavior:        awscloudfront.CacheQueryStringBehavior_None(),
		HeaderBehavior:             awscloudfront.CacheHeaderBehavior_None(),
		CookieBehavior:             awscloudfront.CacheCookieBehavior_None(),
	})
	d.Segments = awscloudfront.NewCachePolicy(s, jsii.String("Segments"), &awscloudfront.CachePolicyProps{
		Comment:    jsii.String("hlsflow segments: honour Cache-Control, long default, never recompressed"),
		MinTtl:     awscdk.Duration_Seconds(jsii.Number(0)),
		DefaultTtl: awscdk.Duration_Days(jsii.Number(1)),
		MaxTtl:     awscdk.Duration_Days(jsii.Number(365)),
		// Segments are already compressed video; CloudFront answers Range
		// requests for them from one cached copy.
		EnableAcceptEncodingGzip:   jsii.Bool(false),
		EnableAcceptEncodingBrotli: jsii.Bool(false),
		QueryStringBehavior:        awscloudfront.CacheQueryStringBehavior_None(),
		HeaderBehavior:             awscloudfront.CacheHeaderBehavior_None(),
		CookieBehavior:             awscloudfront.CacheCookieBehavior_None(),
	})
	d.Objects = awscloudfront.NewCachePolicy(s, jsii.String("Objects"), &awscloudfront.CachePolicyProps{
		Comment:                    jsii.String("hlsflow other objects (status.json): honour Cache-Control, no default caching"),
		MinTtl:                     awscdk.Duration_Seconds(jsii.Number(0)),
		DefaultTtl:                 awscdk.Duration_Seconds(jsii.Number(0)),
		MaxTtl:                     awscdk.Duration_Days(jsii.Number(1)),
		EnableAcceptEncodingGzip:   jsii.Bool(true),
		EnableAcceptEncodingBrotli: jsii.Bool(true),
		QueryStringBehavior:        awscloudfront.CacheQueryStringBehavior_None(),
		HeaderBehavior:             awscloudfront.CacheHeaderBehavior_None(),
		CookieBehavior:             awscloudfront.CacheCookieBehavior_None(),
	})

	// Players on other origins (hls.js uses fetch/XHR) need CORS, and read
	// Content-Range and ETag; signed cookies need credentials, which CORS
	// allows only with named origins.
	allowAny := len(cfg.AllowedOrigins) == 1 && cfg.AllowedOrigins[0] == "*"
	d.Headers = awscloudfront.NewResponseHeadersPolicy(s, jsii.String("Headers"), &awscloudfront.ResponseHeadersPolicyProps{
		Comment: jsii.String("hlsflow playback: CORS and security headers"),
		CorsBehavior: &awscloudfront.ResponseHeadersCorsBehavior{
			AccessControlAllowOrigins:     jsii.Strings(cfg.AllowedOrigins...),
			AccessControlAllowMethods:     jsii.Strings("GET", "HEAD", "OPTIONS"),
			AccessControlAllowHeaders:     jsii.Strings("Range", "Origin", "Accept", "Accept-Encoding"),
			AccessControlExposeHeaders:    jsii.Strings("Content-Length", "Content-Range", "Content-Type", "ETag", "Accept-Ranges"),
			AccessControlAllowCredentials: jsii.Bool(cfg.SignedPlayback && !allowAny),
			AccessControlMaxAge:           awscdk.Duration_Days(jsii.Number(1)),
			OriginOverride:                jsii.Bool(true),
		},
		SecurityHeadersBehavior: securityHeaders(),
	})
	d.APIHeaders = awscloudfront.NewResponseHeadersPolicy(s, jsii.String("ApiHeaders"), &awscloudfront.ResponseHeadersPolicyProps{
		Comment:                 jsii.String("hlsflow API: security headers"),
		SecurityHeadersBehavior: securityHeaders(),
	})

	var trusted *[]interfacesawscloudfront.IKeyGroupRef
	if cfg.SignedPlayback {
		d.PublicKey = awscloudfront.NewPublicKey(s, jsii.String("PlaybackKey"), &awscloudfront.PublicKeyProps{
			EncodedKey: jsii.String(cfg.SigningPublicKey),
			Comment:    jsii.String("verifies hlsflow signed playback URLs and cookies"),
		})
		d.KeyGroup = awscloudfront.NewKeyGroup(s, jsii.String("PlaybackKeys"), &awscloudfront.KeyGroupProps{
			Items: &[]interfacesawscloudfront.IPublicKeyRef{d.PublicKey},
		})
		trusted = &[]interfacesawscloudfront.IKeyGroupRef{d.KeyGroup}
	}

	// The origin sees the media bucket as imported, so CDK does not grant
	// the distribution the whole bucket: the API keeps its records there
	// (uploads-meta/, streams-meta/), and only vod/ and live/ are for
	// viewers. The grant is added below, GetObject only: with ListBucket a
	// request for "/" would list every video.
	originBucket := awss3.Bucket_FromBucketAttributes(s, jsii.String("MediaOrigin"), &awss3.BucketAttributes{
		BucketArn:                st.Media.BucketArn(),
		BucketRegionalDomainName: st.Media.BucketRegionalDomainName(),
	})
	origin := awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(originBucket, &awscloudfrontorigins.S3BucketOriginWithOACProps{
		OriginAccessLevels: &[]awscloudfront.AccessLevel{awscloudfront.AccessLevel_READ},
	})
	awscdk.Annotations_Of(s).AcknowledgeWarning(jsii.String("@aws-cdk/aws-cloudfront-origins:updateImportedBucketPolicyOac"),
		jsii.String("the media bucket policy is written by NewDelivery, limited to vod/ and live/"))
	media := func(policy awscloudfront.CachePolicy, compress bool) *awscloudfront.AddBehaviorOptions {
		return &awscloudfront.AddBehaviorOptions{
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_GET_HEAD_OPTIONS(),
			CachedMethods:         awscloudfront.CachedMethods_CACHE_GET_HEAD_OPTIONS(),
			CachePolicy:           policy,
			ResponseHeadersPolicy: d.Headers,
			Compress:              jsii.Bool(compress),
			TrustedKeyGroups:      trusted,
		}
	}
	def := media(d.Objects, true)
	props := &awscloudfront.DistributionProps{
		Comment: jsii.String("hlsflow playback"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:                origin,
			ViewerProtocolPolicy:  def.ViewerProtocolPolicy,
			AllowedMethods:        def.AllowedMethods,
			CachedMethods:         def.CachedMethods,
			CachePolicy:           def.CachePolicy,
			ResponseHeadersPolicy: def.ResponseHeadersPolicy,
			Compress:              def.Compress,
			TrustedKeyGroups:      def.TrustedKeyGroups,
		},
		HttpVersion: awscloudfront.HttpVersion_HTTP2_AND_3,
		EnableIpv6:  jsii.Bool(true),
		PriceClass:  awscloudfront.PriceClass_PRICE_CLASS_100,
		// Standard logs: who fetched what, from where (README.md, costs).
		EnableLogging: jsii.Bool(true),
		LogBucket:     st.Logs,
		LogFilePrefix: jsii.String(cloudFrontLogPrefix),
	}
	if cfg.DomainName != "" {
		// With its own certificate the distribution can refuse TLS < 1.2;
		// on *.cloudfront.net CloudFront's certificate allows TLSv1.
		props.DomainNames = jsii.Strings(cfg.DomainName)
		props.Certificate = awscertificatemanager.Certificate_FromCertificateArn(s, jsii.String("Certificate"), jsii.String(cfg.CertificateARN))
		props.MinimumProtocolVersion = awscloudfront.SecurityPolicyProtocol_TLS_V1_2_2021
	}
	if cfg.WAF {
		d.WebACL = NewWebACL(s, cfg)
		props.WebAclId = d.WebACL.Arn
	}
	d.Distribution = awscloudfront.NewDistribution(s, jsii.String("Distribution"), props)
	// Findings accepted on purpose, each with its reason.
	accepted := []nagRule{{id: "AwsSolutions-CFR1", reason: "video is for every country; the operator can add a geo restriction if a licence needs one"}}
	if cfg.DomainName == "" {
		accepted = append(accepted, nagRule{id: "AwsSolutions-CFR4", reason: "no domainName/certificateArn given: CloudFront's default *.cloudfront.net certificate forces the TLSv1 security policy; set both for TLSv1.2_2021 (infra/README.md)"})
	}
	if !cfg.WAF {
		accepted = append(accepted, nagRule{id: "AwsSolutions-CFR2", reason: "the operator turned the web ACL off (-c waf=false)"})
	}
	nagSuppress(d.Distribution, accepted...)
	// Added one by one, not as a map, so their order (CloudFront's
	// precedence) is the same on every synth.
	if api != nil {
		d.APIRequest = awscloudfront.NewFunction(s, jsii.String("ApiRequest"), &awscloudfront.FunctionProps{
			Comment: jsii.String("hlsflow /api/*: keep the viewer's Authorization, require the body hash"),
			Code:    awscloudfront.FunctionCode_FromInline(jsii.String(apiRequestJS)),
			Runtime: awscloudfront.FunctionRuntime_JS_2_0(),
		})
		// The function URL takes only requests CloudFront signed for this
		// distribution (AWS_IAM + origin access control); CDK adds the
		// lambda:InvokeFunctionUrl and lambda:InvokeFunction permissions
		// for cloudfront.amazonaws.com limited to this distribution.
		apiOrigin := awscloudfrontorigins.FunctionUrlOrigin_WithOriginAccessControl(api.URL, nil)
		d.Distribution.AddBehavior(jsii.String("/api/*"), apiOrigin, &awscloudfront.AddBehaviorOptions{
			ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
			AllowedMethods:       awscloudfront.AllowedMethods_ALLOW_ALL(),
			CachePolicy:          awscloudfront.CachePolicy_CACHING_DISABLED(),
			// The function URL must see its own host, not the viewer's.
			OriginRequestPolicy:   awscloudfront.OriginRequestPolicy_ALL_VIEWER_EXCEPT_HOST_HEADER(),
			ResponseHeadersPolicy: d.APIHeaders,
			FunctionAssociations: &[]*awscloudfront.FunctionAssociation{{
				Function:  d.APIRequest,
				EventType: awscloudfront.FunctionEventType_VIEWER_REQUEST,
			}},
		})
	}
	st.Media.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudFrontReadsPlayback"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudfront.amazonaws.com"), nil)},
		Actions:    jsii.Strings("s3:GetObject"),
		Resources: jsii.Strings(*st.Media.ArnForObjects(jsii.String("vod/*")),
			*st.Media.ArnForObjects(jsii.String("live/*"))),
		Conditions: &map[string]any{"StringEquals": map[string]any{"AWS:SourceArn": d.Distribution.DistributionArn()}},
	}))
	if cfg.SignedPlayback {
		// Before *.m3u8 and the segments, which /p/… paths also match.
		addTokenBehaviours(s, d, origin, media)
	}
	if live != nil {
		// Before *.m3u8 and the segments, which LL-HLS paths also match.
		d.Live = NewLiveDelivery(scope, cfg, d, live, origin, media)
	}
	d.Distribution.AddBehavior(jsii.String("*.m3u8"), origin, media(d.Playlists, true))
	for _, p := range segmentPatterns {
		d.Distribution.AddBehavior(jsii.String(p), origin, media(d.Segments, false))
	}
	return d
}

// securityHeaders are the headers every response carries: HSTS (two
// years), nosniff, no framing, a CSP that allows nothing, no referrer to
// other origins.
func securityHeaders() *awscloudfront.ResponseSecurityHeadersBehavior {
	return &awscloudfront.ResponseSecurityHeadersBehavior{
		StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
			AccessControlMaxAge: awscdk.Duration_Seconds(jsii.Number(hstsSeconds)),
			IncludeSubdomains:   jsii.Bool(true),
			Override:            jsii.Bool(true),
		},
		ContentTypeOptions: &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)},
		FrameOptions: &awscloudfront.ResponseHeadersFrameOptions{
			FrameOption: awscloudfront.HeadersFrameOption_DENY, Override: jsii.Bool(true),
		},
		ContentSecurityPolicy: &awscloudfront.ResponseHeadersContentSecurityPolicy{
			ContentSecurityPolicy: jsii.String(contentSecurityPolicy), Override: jsii.Bool(true),
		},
		ReferrerPolicy: &awscloudfront.ResponseHeadersReferrerPolicy{
			ReferrerPolicy: awscloudfront.HeadersReferrerPolicy_STRICT_ORIGIN_WHEN_CROSS_ORIGIN, Override: jsii.Bool(true),
		},
	}
}
