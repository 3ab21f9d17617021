package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbudgets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
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
	Fetch    *Fetch    // nil unless Functions has "api" and "fetch"
	Webhooks *Webhooks // nil unless Functions has "webhooks"
	Delivery *Delivery // nil when Local
	// LiveDelivery puts the ingest's HTTP (WHIP) behind the distribution;
	// nil when Local.
	LiveDelivery *LiveDelivery
	Monitor      *Monitoring
	Budget       awsbudgets.CfnBudget // nil unless budgetMonthlyUsd > 0
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
			h.API.Function.AddEnvironment(jsii.String(lambdaspec.SRTURL), h.Live.SRTURL(), nil)
		}
		if cfg.HasFunction("fetch") {
			h.Fetch = NewFetch(stack, cfg, h.Storage, h.API)
		}
	}
	if cfg.HasFunction("webhooks") {
		h.Webhooks = NewWebhooks(stack, cfg, h.Storage)
		h.Webhooks.Emitter(h.OnDemand.Transcode)
		if h.API != nil {
			h.Webhooks.Emitter(h.API.Function)
		}
		if h.Live != nil {
			h.Live.Service.TaskDefinition().DefaultContainer().AddEnvironment(jsii.String(lambdaspec.WebhookQueue), h.Webhooks.Queue.QueueUrl())
			h.Webhooks.EmitterRole(h.Live.TaskRole)
		}
	}
	if !cfg.Local {
		h.Delivery = NewDelivery(stack, cfg, h.Storage, h.API, h.Live)
		h.LiveDelivery = h.Delivery.Live
		if h.API != nil && h.LiveDelivery != nil {
			// Publishers (the page, OBS) reach WHIP over HTTPS through
			// CloudFront, not the NLB's plain HTTP. A path: the API
			// completes it with the host the client used (its own
			// distribution's), as naming the distribution here would be a
			// dependency cycle (the distribution names the API).
			h.API.Function.AddEnvironment(jsii.String(lambdaspec.WHIPURL), jsii.String(whipPath), nil)
		}
		if cfg.SignedPlayback && h.API != nil {
			h.API.Playback = grantPlaybackSigning(h.API, h.Delivery)
		}
		if cfg.BudgetMonthlyUSD > 0 {
			h.Budget = NewBudget(stack, cfg)
		}
	}
	h.Monitor = NewMonitoring(stack, cfg, h.OnDemand, h.Live)
	if cfg.PlaceholderAssets {
		refuseDeploy(stack)
	}
	h.acceptCDKInternals()
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
			out("ApiUrl", "The HTTP API through CloudFront (the function URL itself takes only CloudFront's signed requests)", jsii.String(fmt.Sprintf("https://%s/api/", *domain)))
		}
	} else if h.API != nil {
		out("ApiUrl", "The HTTP API (function URL)", h.API.URL.Url())
	}
	if l := h.Live; l != nil {
		dns := *l.LoadBalancer.LoadBalancerDnsName()
		out("RtmpUrl", "Publish with OBS/ffmpeg to this URL plus /{stream key}", l.RTMPURL())
		out("SrtUrl", "Publish over SRT to this address plus ?streamid={stream key}", l.SRTURL())
		if ld := h.LiveDelivery; ld != nil {
			out("WhipUrl", "Publish over WHIP (WebRTC) to this URL plus /{stream name}, the stream key as bearer token", ld.WHIPURL)
		}
		if l.UDPListener != nil {
			out("UdpAddress", "Send MPEG-TS over UDP here (from udpIngestCidrs only)", jsii.String(fmt.Sprintf("udp://%s:%d", dns, udpPort)))
		}
		out("StreamKeySecretArn", "Secret that stream keys are derived from", l.StreamSecret.SecretArn())
	}
	if w := h.Webhooks; w != nil {
		out("WebhookDeadLetterQueueUrl", "Webhook deliveries the sender function failed on every time", w.DLQ.QueueUrl())
	}
	out("DashboardName", "CloudWatch dashboard of the jobs, their cost and the live ingest", h.Monitor.Dashboard.DashboardName())
	if h.API != nil && h.API.Playback != nil {
		out("PlaybackSigningKeySecretArn", "Put the PEM private key of the CloudFront key pair here (signed playback)", h.API.Playback.SigningKey.SecretArn())
		out("PlaybackTokenKeySecretArn", "The current path-token key: copy it to PlaybackTokenKeysArn under its kid", h.API.Playback.TokenKey.SecretArn())
		out("PlaybackTokenKeysArn", "Key value store of the PlaybackToken function: path-token keys by kid", h.Delivery.TokenKeys.KeyValueStoreArn())
	}
	if h.API != nil && h.API.Token != nil {
		out("ApiTokenSecretArn", "The API's bearer token (aws secretsmanager get-secret-value --secret-id ...)", h.API.Token.SecretArn())
	}
}

// acceptCDKInternals records the cdk-nag findings on what CDK itself adds
// to the stack (the custom resource that configures the uploads bucket's
// notifications), which the app does not write and cannot change.
func (h *HlsflowStack) acceptCDKInternals() {
	for _, c := range *h.Stack.Node().Children() {
		id := *c.Node().Id()
		if strings.HasPrefix(id, "BucketNotificationsHandler") {
			nagSuppress(c,
				nagRule{id: "AwsSolutions-IAM4", reason: "CDK's bucket-notification custom resource uses the AWS-managed basic execution role for its logs"},
				nagRule{id: "AwsSolutions-IAM5", reason: "CDK's bucket-notification custom resource needs s3:PutBucketNotification, which has no narrower resource form than CDK writes"})
		}
	}
}
