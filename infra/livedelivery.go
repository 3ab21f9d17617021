package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The ingest's HTTP behind CloudFront: the WHIP endpoint, so that a page
// served over HTTPS (and OBS) publishes over HTTPS to the distribution's
// own name while ICE media still goes to the NLB's UDP/TCP ports.

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
	WHIPOrigin awscloudfront.IOrigin
	// WHIPURL is the WHIP endpoint's base through CloudFront
	// (https://{domain}/whip); a publisher adds /{stream name} and sends
	// the stream key as its bearer token.
	WHIPURL *string
}

// NewLiveDelivery adds the /whip/* behaviour to d's distribution and lets
// CloudFront, and only CloudFront, reach the WHIP listener: the stream key
// travels as a bearer token, so the endpoint is not offered over plain
// HTTP to the internet.
func NewLiveDelivery(scope constructs.Construct, cfg Config, d *Delivery, l *Live) *LiveDelivery {
	s := constructs.NewConstruct(scope, jsii.String("LiveDelivery"))
	ld := &LiveDelivery{WHIPURL: whipURL(cfg, d)}
	// The NLB keeps the client's address, so the task sees CloudFront's.
	l.FromCloudFront.AddIngressRule(awsec2.Peer_PrefixList(cloudFrontPrefixListID(s)),
		awsec2.Port_Tcp(jsii.Number(whipPort)), jsii.String("WHIP from CloudFront"), nil)

	ld.WHIPOrigin = awscloudfrontorigins.NewHttpOrigin(l.LoadBalancer.LoadBalancerDnsName(), &awscloudfrontorigins.HttpOriginProps{
		HttpPort:       jsii.Number(whipPort),
		ProtocolPolicy: awscloudfront.OriginProtocolPolicy_HTTP_ONLY,
	})
	// Every method WHIP uses (POST offer, DELETE hang-up, OPTIONS
	// preflight; PATCH answered 405 by the ingest), never cached, and every
	// viewer header but Host: Authorization carries the stream key.
	d.Distribution.AddBehavior(jsii.String(whipPath+"/*"), ld.WHIPOrigin, &awscloudfront.AddBehaviorOptions{
		ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
		AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_ALL(),
		CachePolicy:           awscloudfront.CachePolicy_CACHING_DISABLED(),
		OriginRequestPolicy:   awscloudfront.OriginRequestPolicy_ALL_VIEWER_EXCEPT_HOST_HEADER(),
		ResponseHeadersPolicy: d.APIHeaders,
		Compress:              jsii.Bool(false),
	})
	nagSuppress(d.Distribution, nagRule{id: "AwsSolutions-CFR5", reason: "the ingest's origin is the NLB's plain-HTTP listener (an NLB TCP listener has no certificate); viewers reach CloudFront over HTTPS only, and a CloudFront VPC origin would keep the last leg private (infra/README.md)"})
	return ld
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
