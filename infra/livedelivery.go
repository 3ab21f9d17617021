package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/hlsflow/hlsflow/internal/hls"
)

// The ingest's HTTP behind CloudFront: the WHIP endpoint, so that a page
// served over HTTPS (and OBS) publishes over HTTPS to the distribution's
// own name while ICE media still goes to the NLB's UDP/TCP ports; and,
// with lowLatency, the LL-HLS playlists and parts, which only the ingest
// can serve (blocking reloads), as internal/edge routes them locally.
// CloudFront reaches both through a VPC origin (ingestorigin.go): the
// last leg never crosses the internet.

// cloudFrontOriginFacing is the AWS-managed prefix list of the addresses
// CloudFront connects to origins from.
const cloudFrontOriginFacing = "com.amazonaws.global.cloudfront.origin-facing"

// awsCustomResourceFunction is the id CDK gives the stack's one
// AwsCustomResource function.
const awsCustomResourceFunction = "AWS679f53fac002430cb0da5b7982bd2287"

// whipPath is the WHIP endpoint's prefix on the distribution and on the
// ingest (whip.Server's default), so CloudFront forwards paths unchanged.
const whipPath = "/whip"

// LiveDelivery is what CloudFront adds in front of the ingest.
type LiveDelivery struct {
	// Origin is the private way in; WHIPOrigin its WHIP port, which
	// CloudFront calls with FrontSecret in frontSecretHeader.
	Origin      *IngestOrigin
	WHIPOrigin  awscloudfront.IOrigin
	FrontSecret awssecretsmanager.Secret
	// WHIPRequests is what /whip/* forwards: every viewer header
	// (Authorization carries the stream key) and the viewer's address.
	WHIPRequests awscloudfront.OriginRequestPolicy
	// WHIPURL is the WHIP endpoint's base through CloudFront
	// (https://{domain}/whip); a publisher adds /{stream name} and sends
	// the stream key as its bearer token.
	WHIPURL *string
	// LowLatency is the cache policy of the LL-HLS paths; LiveOrigin the
	// origin group (the ingest, then the bucket); nil unless lowLatency.
	LowLatency awscloudfront.CachePolicy
	LiveOrigin awscloudfront.IOrigin
}

// llhlsPatterns are what internal/edge (fromIngest) sends to the ingest:
// a live rendition's playlist, its parts and initialization sections. The
// master playlist, full segments, the DVR window and the recording stay
// on the bucket.
var llhlsPatterns = []struct {
	path     string
	compress bool
}{{"/live/*/index.m3u8", true}, {"/live/*/part_*.m4s", false}, {"/live/*/init_*.mp4", false}}

// fallbackStatus are the ingest's answers on which CloudFront asks the
// bucket instead: the stream is not held by any task (ended: the bucket
// has its final playlist; or not low-latency) or the task is gone.
var fallbackStatus = []float64{404, 500, 502, 503, 504}

// frontSecretHeader is whip.FrontSecretHeader: the header CloudFront
// proves itself with, so that the ingest believes its
// CloudFront-Viewer-Address (the per-publisher cap).
const frontSecretHeader = "X-Hlsflow-Front-Secret"

// NewLiveDelivery adds the /whip/* behaviour to d's distribution and lets
// CloudFront, and only CloudFront, reach the WHIP listener, through a VPC
// origin: the stream key travels as a bearer token, so the endpoint is
// offered neither to the internet nor over it.
//
// With lowLatency it also adds the LL-HLS behaviours (called before the
// *.m3u8 and segment behaviours, which their paths also match): media
// builds the media behaviour options (CORS, signed playback) and bucket
// is the media bucket's origin, the fallback.
func NewLiveDelivery(scope constructs.Construct, cfg Config, d *Delivery, l *Live, bucket awscloudfront.IOrigin,
	media func(awscloudfront.CachePolicy, bool) *awscloudfront.AddBehaviorOptions) *LiveDelivery {
	s := constructs.NewConstruct(scope, jsii.String("LiveDelivery"))
	ld := &LiveDelivery{WHIPURL: whipURL(cfg, d)}
	ld.Origin = newIngestOrigin(s, cfg, l, cloudFrontPrefixListID(s))

	// The secret CloudFront adds to every WHIP request: generated at
	// deploy, it reaches CloudFront as a dynamic reference (resolved by
	// CloudFormation, never in the template or cdk.out) and the task
	// through ECS's secrets (never in the task definition).
	ld.FrontSecret = awssecretsmanager.NewSecret(s, jsii.String("FrontSecret"), &awssecretsmanager.SecretProps{
		Description: jsii.String("hlsflow: the header CloudFront proves itself to the WHIP endpoint with"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(48),
			ExcludePunctuation: jsii.Bool(true),
		},
	})
	nagSuppress(ld.FrontSecret, nagRule{id: "AwsSolutions-SMG4", reason: "rotated by the operator with a deploy, which hands the new value to CloudFront and the tasks together (infra/README.md, Rotating secrets); until then a mismatch only counts publishers by the origin NLB's address"})
	l.Service.TaskDefinition().DefaultContainer().AddSecret(jsii.String("WHIP_FRONT_SECRET"), awsecs.Secret_FromSecretsManager(ld.FrontSecret, nil))

	ld.WHIPOrigin = awscloudfrontorigins.VpcOrigin_WithNetworkLoadBalancer(ld.Origin.LoadBalancer, &awscloudfrontorigins.VpcOriginWithEndpointProps{
		HttpPort:       jsii.Number(whipPort),
		ProtocolPolicy: awscloudfront.OriginProtocolPolicy_HTTP_ONLY,
		CustomHeaders:  &map[string]*string{frontSecretHeader: ld.FrontSecret.SecretValue().UnsafeUnwrap()},
	})
	ld.WHIPRequests = awscloudfront.NewOriginRequestPolicy(s, jsii.String("WhipRequests"), &awscloudfront.OriginRequestPolicyProps{
		Comment:             jsii.String("hlsflow WHIP: every viewer header (Authorization: the stream key) and the viewer's address"),
		HeaderBehavior:      awscloudfront.OriginRequestHeaderBehavior_All(jsii.String("CloudFront-Viewer-Address")),
		QueryStringBehavior: awscloudfront.OriginRequestQueryStringBehavior_None(),
		CookieBehavior:      awscloudfront.OriginRequestCookieBehavior_None(),
	})
	// Every method WHIP uses (POST offer, DELETE hang-up, OPTIONS
	// preflight; PATCH answered 405 by the ingest), never cached.
	d.Distribution.AddBehavior(jsii.String(whipPath+"/*"), ld.WHIPOrigin, &awscloudfront.AddBehaviorOptions{
		ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
		AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_ALL(),
		CachePolicy:           awscloudfront.CachePolicy_CACHING_DISABLED(),
		OriginRequestPolicy:   ld.WHIPRequests,
		ResponseHeadersPolicy: d.APIHeaders,
		Compress:              jsii.Bool(false),
	})
	if cfg.LowLatency {
		ld.addLowLatency(s, d, bucket, media)
	}
	return ld
}

// addLowLatency routes the LL-HLS paths to the ingest's origin listener,
// falling back to the bucket.
func (ld *LiveDelivery) addLowLatency(s constructs.Construct, d *Delivery, bucket awscloudfront.IOrigin,
	media func(awscloudfront.CachePolicy, bool) *awscloudfront.AddBehaviorOptions) {
	// MinTtl 0 and a default of 0: the ingest's Cache-Control decides (a
	// blocking reload's answer for 6 s, a part for longer, a plain reload
	// not at all); MaxTtl caps what a wrong header could pin.
	ld.LowLatency = awscloudfront.NewCachePolicy(s, jsii.String("LowLatency"), &awscloudfront.CachePolicyProps{
		Comment:                    jsii.String("hlsflow LL-HLS from the ingest: honour Cache-Control, the LL-HLS query strings in the key"),
		MinTtl:                     awscdk.Duration_Seconds(jsii.Number(0)),
		DefaultTtl:                 awscdk.Duration_Seconds(jsii.Number(0)),
		MaxTtl:                     awscdk.Duration_Minutes(jsii.Number(1)),
		EnableAcceptEncodingGzip:   jsii.Bool(true),
		EnableAcceptEncodingBrotli: jsii.Bool(true),
		QueryStringBehavior:        awscloudfront.CacheQueryStringBehavior_AllowList(*jsii.Strings(hls.LowLatencyQuery...)...), // as internal/edge forwards them,
		HeaderBehavior:             awscloudfront.CacheHeaderBehavior_None(),
		CookieBehavior:             awscloudfront.CacheCookieBehavior_None(),
	})
	ingest := awscloudfrontorigins.VpcOrigin_WithNetworkLoadBalancer(ld.Origin.LoadBalancer, &awscloudfrontorigins.VpcOriginWithEndpointProps{
		HttpPort:       jsii.Number(liveOriginPort),
		ProtocolPolicy: awscloudfront.OriginProtocolPolicy_HTTP_ONLY,
		// A task that is gone fails fast, so the bucket answers soon.
		ConnectionTimeout:  awscdk.Duration_Seconds(jsii.Number(2)),
		ConnectionAttempts: jsii.Number(1),
		// More than a blocking reload's longest hold (3 targets, 6 s).
		ReadTimeout: awscdk.Duration_Seconds(jsii.Number(15)),
	})
	ld.LiveOrigin = awscloudfrontorigins.NewOriginGroup(&awscloudfrontorigins.OriginGroupProps{
		PrimaryOrigin:       ingest,
		FallbackOrigin:      bucket,
		FallbackStatusCodes: jsii.Numbers(fallbackStatus...),
	})
	for _, p := range llhlsPatterns {
		d.Distribution.AddBehavior(jsii.String(p.path), ld.LiveOrigin, media(ld.LowLatency, p.compress))
	}
}

// lowLatencyGrants turns LL-HLS on in the task: LOW_LATENCY, the origin
// listener (LIVE_ADDR), each task's own address for the others
// (LIVE_ORIGIN_URL=ecs: from the task metadata at start), and the records
// of who holds which stream.
func lowLatencyGrants(task awsecs.FargateTaskDefinition, cfg Config, st *Storage, c awsecs.ContainerDefinition) {
	if !cfg.LowLatency {
		return
	}
	c.AddEnvironment(jsii.String("LOW_LATENCY"), jsii.String("on"))
	c.AddEnvironment(jsii.String("LIVE_ADDR"), jsii.String(fmt.Sprintf(":%d", liveOriginPort)))
	c.AddEnvironment(jsii.String("LIVE_ORIGIN_URL"), jsii.String("ecs")) // ingest.OriginFromECS
	task.AddToTaskRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("LiveOrigins"),
		Actions:   jsii.Strings("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
		Resources: jsii.Strings(*st.Media.ArnForObjects(jsii.String(liveOriginPattern))),
	}))
}

// cloudFrontPrefixListID looks the managed prefix list's id up at deploy
// time: it differs per region, and a synth-time lookup would need the
// account and region fixed in the app.
func cloudFrontPrefixListID(s constructs.Construct) *string {
	call := &customresources.AwsSdkCall{
		Service: jsii.String("EC2"),
		Action:  jsii.String("describeManagedPrefixLists"),
		Parameters: map[string]any{
			"Filters": []map[string]any{{"Name": "prefix-list-name", "Values": []string{cloudFrontOriginFacing}}},
		},
		PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String(cloudFrontOriginFacing)),
		OutputPaths:        jsii.Strings("PrefixLists.0.PrefixListId"),
	}
	cr := customresources.NewAwsCustomResource(s, jsii.String("CloudFrontPrefixList"), &customresources.AwsCustomResourceProps{
		OnCreate:            call,
		OnUpdate:            call,
		Policy:              customresources.AwsCustomResourcePolicy_FromSdkCalls(&customresources.SdkCallsPolicyOptions{Resources: customresources.AwsCustomResourcePolicy_ANY_RESOURCE()}),
		InstallLatestAwsSdk: jsii.Bool(false),
	})
	nagSuppress(cr, nagRule{id: "AwsSolutions-IAM5", reason: "ec2:DescribeManagedPrefixLists has no resource-level form",
		appliesTo: []string{"Resource::*"}})
	// The function CDK runs the call with, one per stack.
	if fn := awscdk.Stack_Of(s).Node().TryFindChild(jsii.String(awsCustomResourceFunction)); fn != nil {
		nagSuppress(fn, nagRule{id: "AwsSolutions-IAM4", reason: "CDK's AwsCustomResource function uses the AWS-managed basic execution role for its logs",
			appliesTo: []string{lambdaBasicExecution}})
	}
	return cr.GetResponseField(jsii.String("PrefixLists.0.PrefixListId"))
}

// whipURL is LiveDelivery.WHIPURL: on domainName when the operator set
// one, else on the distribution's own name.
func whipURL(cfg Config, d *Delivery) *string {
	host := cfg.DomainName
	if host == "" {
		host = *d.Distribution.DistributionDomainName()
	}
	return jsii.String(fmt.Sprintf("https://%s%s", host, whipPath))
}
