package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// HlsflowStackProps configures the whole deployment.
type HlsflowStackProps struct {
	awscdk.StackProps
	Config Config
}

// HlsflowStack is the deployed system. Its parts are one construct per file
// in one stack: the media bucket's policy must name the distribution and the
// distribution the bucket, which across stacks would be a dependency cycle.
type HlsflowStack struct {
	awscdk.Stack
	Storage  *Storage
	OnDemand *OnDemand
	Live     *Live     // nil when Local
	API      *API      // nil unless Functions has "api"
	Delivery *Delivery // nil when Local
}

// NewHlsflowStack builds every part the config asks for, and the outputs.
func NewHlsflowStack(scope constructs.Construct, id string, props *HlsflowStackProps) *HlsflowStack {
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	cfg := props.Config
	h := &HlsflowStack{Stack: stack}
	h.Storage = NewStorage(stack, cfg)
	h.OnDemand = NewOnDemand(stack, cfg, h.Storage)
	if !cfg.Local {
		h.Live = NewLive(stack, cfg, h.Storage)
	}
	if cfg.HasFunction("api") {
		h.API = NewAPI(stack, cfg, h.Storage)
		if h.Live != nil {
			// The API issues stream keys (`stream create`) from the same
			// secret the ingest verifies them with.
			h.API.Function.AddEnvironment(jsii.String("STREAM_KEY_SECRET_ARN"), h.Live.StreamSecret.SecretArn(), nil)
			h.Live.StreamSecret.GrantRead(h.API.Function, nil)
			h.API.Function.AddEnvironment(jsii.String("RTMP_URL"), h.Live.RTMPURL(), nil)
			// Creating streams needs a bearer token (functions/api); it is
			// generated here and read by operators from Secrets Manager.
			// Lambda keeps environment variables encrypted at rest.
			h.API.Token = awssecretsmanager.NewSecret(stack, jsii.String("ApiToken"), &awssecretsmanager.SecretProps{
				Description: jsii.String("hlsflow API bearer token for POST /api/streams"),
				GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
					PasswordLength: jsii.Number(40), ExcludePunctuation: jsii.Bool(true),
				},
			})
			h.API.Function.AddEnvironment(jsii.String("API_TOKEN"), h.API.Token.SecretValue().UnsafeUnwrap(), nil)
		}
	}
	if !cfg.Local {
		h.Delivery = NewDelivery(stack, cfg, h.Storage, h.API)
	}
	h.outputs()
	return h
}

func (h *HlsflowStack) outputs() {
	out := func(id, desc string, value *string) {
		awscdk.NewCfnOutput(h.Stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(desc)})
	}
	out("UploadsBucketName", "Bucket that raw uploads go to (presigned PUT)", h.Storage.Uploads.BucketName())
	out("MediaBucketName", "Bucket holding HLS output (vod/ and live/)", h.Storage.Media.BucketName())
	out("DeadLetterQueueUrl", "Upload events that failed every transcode retry", h.OnDemand.DLQ.QueueUrl())
	if d := h.Delivery; d != nil {
		domain := d.Distribution.DistributionDomainName()
		out("CloudFrontDomain", "Playback domain", domain)
		out("VodPlaybackUrlPattern", "Playback URL of an uploaded video", jsii.String(fmt.Sprintf("https://%s/vod/{id}/master.m3u8", *domain)))
		out("LivePlaybackUrlPattern", "Playback URL of a live stream", jsii.String(fmt.Sprintf("https://%s/live/{name}/master.m3u8", *domain)))
		if h.API != nil {
			out("ApiUrl", "The HTTP API through CloudFront", jsii.String(fmt.Sprintf("https://%s/api/", *domain)))
		}
	} else if h.API != nil {
		out("ApiUrl", "The HTTP API (function URL)", h.API.URL.Url())
	}
	if l := h.Live; l != nil {
		dns := *l.LoadBalancer.LoadBalancerDnsName()
		out("RtmpUrl", "Publish with OBS/ffmpeg to this URL plus /{stream key}", l.RTMPURL())
		out("UdpAddress", "Send MPEG-TS over UDP here", jsii.String(fmt.Sprintf("udp://%s:%d", dns, udpPort)))
		out("StreamKeySecretArn", "Secret that stream keys are derived from", l.StreamSecret.SecretArn())
		if h.API != nil && h.API.Token != nil {
			out("ApiTokenSecretArn", "Bearer token for POST /api/streams (aws secretsmanager get-secret-value)", h.API.Token.SecretArn())
		}
	}
}
