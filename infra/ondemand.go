package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3notifications"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
)

// Where the FFmpeg layer puts its binaries (layers unpack under /opt).
// These, the functions' timeouts and their default memory come from
// internal/lambdaspec, which `hlsflow up --functions zip` reads too.
const (
	layerFFmpeg  = lambdaspec.LayerFFmpeg
	layerFFprobe = lambdaspec.LayerFFprobe
)

const (
	// Async invokes of transcode are retried this often before the event
	// goes to the dead-letter queue, and dropped after maxEventAgeHours.
	transcodeRetries = 2
	maxEventAgeHours = 6
	// maxParallelism is transcode's own default number of chunks encoded
	// at once (functions/transcode PARALLELISM).
	maxParallelism = 10
)

// quotaPrefix is where transcode keeps its per-day count of source minutes
// in the media bucket (functions/transcode, SOURCE_MINUTES_PER_DAY).
const quotaPrefix = "_quota/"

// OnDemand is the VOD pipeline: the functions, the FFmpeg layer and the
// dead-letter queue of failed uploads.
type OnDemand struct {
	Transcode awslambda.Function
	Encode    awslambda.Function // nil unless cfg has "encode"
	Layer     awslambda.LayerVersion
	DLQ       awssqs.Queue
	DLQAlarm  awscloudwatch.Alarm
}

// NewOnDemand wires ObjectCreated on the uploads bucket to the transcode
// function, with retries, an SQS dead-letter queue and an alarm on it.
func NewOnDemand(scope constructs.Construct, cfg Config, st *Storage) *OnDemand {
	s := constructs.NewConstruct(scope, jsii.String("OnDemand"))
	o := &OnDemand{}

	o.DLQ = awssqs.NewQueue(s, jsii.String("TranscodeFailures"), &awssqs.QueueProps{
		// Long enough to look at failures after a weekend.
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
	})
	nagSuppress(o.DLQ, nagRule{id: "AwsSolutions-SQS3", reason: "this queue is the dead-letter queue: transcode's on-failure destination"})
	o.DLQAlarm = awscloudwatch.NewAlarm(s, jsii.String("TranscodeFailuresAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("An upload failed to transcode after all retries; its event is in the dead-letter queue."),
		Metric: o.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(5)),
			Statistic: jsii.String("Maximum"),
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})

	var layers []awslambda.ILayerVersion
	ffmpegEnv := map[string]string{
		"UPLOADS_BUCKET": *st.Uploads.BucketName(),
		"MEDIA_BUCKET":   *st.Media.BucketName(),
		"X264_PRESET":    cfg.LadderPreset,
	}
	if !cfg.Local {
		o.Layer = awslambda.NewLayerVersion(s, jsii.String("FFmpeg"), &awslambda.LayerVersionProps{
			Description:             jsii.String("ffmpeg and ffprobe in /opt/bin (layers/ffmpeg)"),
			Code:                    awslambda.Code_FromAsset(jsii.String(cfg.LayerZip), nil),
			CompatibleArchitectures: &[]awslambda.Architecture{lambdaArch(cfg.Arch)},
			CompatibleRuntimes:      &[]awslambda.Runtime{awslambda.Runtime_PROVIDED_AL2023()},
		})
		layers = append(layers, o.Layer)
		ffmpegEnv["FFMPEG_PATH"] = layerFFmpeg
		ffmpegEnv["FFPROBE_PATH"] = layerFFprobe
	}

	if cfg.Arch == "arm64" && slices.Contains(cfg.VideoCodecs, "av1") {
		// SVT-AV1 1.4.1 (the layer's, Debian's) has no arm64 SIMD code:
		// AV1 rungs cost several times their x86_64 CPU there.
		awscdk.Annotations_Of(s).AddWarningV2(jsii.String("hlsflow:av1-arm64"), jsii.String(
			"hlsflow: videoCodecs has av1 on arm64 functions, where the layer's SVT-AV1 has no SIMD code and AV1 rungs cost several times their x86_64 CPU: deploy with -c arch=x86_64 for AV1"), nil)
	}

	if cfg.HasFunction("encode") {
		o.Encode = newGoFunction(s, "Encode", "encode", cfg, goFunctionSpec{
			memory: cfg.EncodeMemory, tmp: cfg.EphemeralStorage, reserved: cfg.EncodeConcurrency,
			timeout: seconds(lambdaspec.Encode.Timeout),
			env:     ffmpegEnv, layers: layers,
			description: "Encodes one chunk of a source for the transcode fan-out.",
		})
		grantFFmpegWorker(o.Encode, st)
		ffmpegEnv["ENCODE_FUNCTION"] = *o.Encode.FunctionName()
		// What each job's cost in status.json charges the chunk encodes at.
		ffmpegEnv[lambdaspec.EncodeMemory] = strconv.Itoa(cfg.EncodeMemory)
		if p := parallelism(cfg); p > 0 {
			ffmpegEnv["PARALLELISM"] = strconv.Itoa(p)
		}
	}
	// Checked by transcode before any encode starts; "0" is off.
	ffmpegEnv["SOURCE_MINUTES_PER_DAY"] = strconv.Itoa(cfg.DailySourceMinutes)
	ffmpegEnv[lambdaspec.PerTitle] = map[bool]string{true: "on", false: "off"}[cfg.PerTitle]
	ffmpegEnv[lambdaspec.SegmentFormat] = cfg.SegmentFormat
	ffmpegEnv[lambdaspec.VideoCodecs] = strings.Join(cfg.VideoCodecs, ",")

	o.Transcode = newGoFunction(s, "Transcode", "transcode", cfg, goFunctionSpec{
		memory: cfg.TranscodeMemory, tmp: cfg.EphemeralStorage, reserved: cfg.TranscodeConcurrency,
		timeout: seconds(lambdaspec.Transcode.Timeout),
		env:     ffmpegEnv, layers: layers,
		description: "Turns an upload into HLS in the media bucket.",
		async: &awslambda.EventInvokeConfigOptions{
			RetryAttempts: jsii.Number(transcodeRetries),
			MaxEventAge:   awscdk.Duration_Hours(jsii.Number(maxEventAgeHours)),
			OnFailure:     awslambdadestinations.NewSqsDestination(o.DLQ),
		},
	})
	grantFFmpegWorker(o.Transcode, st)
	grantCaptions(o.Transcode, st)
	if cfg.DailySourceMinutes > 0 {
		grantQuota(o.Transcode, st)
	}
	if o.Encode != nil {
		o.Encode.GrantInvoke(o.Transcode)
		nagSuppress(o.Transcode, nagRule{id: "AwsSolutions-IAM5", reason: "CDK's grantInvoke: the encode function and its versions or aliases (ARN:*), nothing else",
			appliesTo: []string{`/^Resource::<OnDemandEncode[0-9A-F]{8}\.Arn>:\*$/`}})
	}
	st.Uploads.AddEventNotification(awss3.EventType_OBJECT_CREATED, awss3notifications.NewLambdaDestination(o.Transcode))
	return o
}

// grantFFmpegWorker gives a function exactly what transcoding needs: read
// sources; write, read back (status.json), list and delete (clean-up of a
// failed or retried job) VOD output. Nothing under live/ or the API's
// records.
func grantFFmpegWorker(fn awslambda.Function, st *Storage) {
	for _, g := range []struct {
		sid       string
		actions   []string
		resource  *string
		condition map[string]any
	}{
		{"ReadUploads", []string{"s3:GetObject"}, st.Uploads.ArnForObjects(jsii.String("*")), nil},
		// Without ListBucket a missing key answers 403 instead of 404.
		{"ListUploads", []string{"s3:ListBucket"}, st.Uploads.BucketArn(), nil},
		{"WriteVOD", []string{"s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}, st.Media.ArnForObjects(jsii.String("vod/*")), nil},
		{"ListVOD", []string{"s3:ListBucket"}, st.Media.BucketArn(), map[string]any{"StringLike": map[string]any{"s3:prefix": "vod/*"}}},
	} {
		props := &awsiam.PolicyStatementProps{Sid: jsii.String(g.sid), Actions: jsii.Strings(g.actions...), Resources: &[]*string{g.resource}}
		if g.condition != nil {
			props.Conditions = &g.condition
		}
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(props))
	}
	nagSuppress(fn, nagRule{id: "AwsSolutions-IAM5", reason: "object keys under a prefix are the narrowest S3 resource: any upload (its key is the client's), and the VOD outputs vod/{id}/...",
		appliesTo: []string{objectsIn("StorageUploads", "*"), objectsIn("StorageMedia", "vod/*")}})
}

// parallelism is how many chunks one transcode encodes at once when both
// functions have reserved concurrency: encode's share per transcode, so
// that the running transcodes together never ask for more encodes than
// may run (which Lambda would throttle). 0 leaves transcode's default.
func parallelism(cfg Config) int {
	if cfg.TranscodeConcurrency == 0 || cfg.EncodeConcurrency == 0 {
		return 0
	}
	return min(maxParallelism, max(1, cfg.EncodeConcurrency/cfg.TranscodeConcurrency))
}

// grantQuota lets transcode keep its daily counter of source minutes: read
// and write under _quota/ only. ListBucket on the media bucket makes the
// first read of a day's (missing) counter answer 404 rather than 403.
func grantQuota(fn awslambda.Function, st *Storage) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("DailyQuota"),
		Actions:   jsii.Strings("s3:GetObject", "s3:PutObject"),
		Resources: jsii.Strings(*st.Media.ArnForObjects(jsii.String(quotaPrefix + "*"))),
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("QuotaNotFound"),
		Actions:   jsii.Strings("s3:ListBucket"),
		Resources: jsii.Strings(*st.Media.BucketArn()),
	}))
	nagSuppress(fn, nagRule{id: "AwsSolutions-IAM5", reason: "the daily counters, one object per day under _quota/",
		appliesTo: []string{objectsIn("StorageMedia", quotaPrefix+"*")}})
}

// grantCaptions lets transcode keep a video's captions (internal/subtitles):
// those sent through the API, read to publish them with the video, and
// those extracted from the source, written and replaced.
func grantCaptions(fn awslambda.Function, st *Storage) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("Captions"),
		Actions:   jsii.Strings("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
		Resources: jsii.Strings(*st.Media.ArnForObjects(jsii.String(captionRecords))),
	}))
	nagSuppress(fn, nagRule{id: "AwsSolutions-IAM5", reason: "each video's captions, under captions-meta/{id}/",
		appliesTo: []string{objectsIn("StorageMedia", captionRecords)}})
}

// seconds is a function timeout as CDK takes it.
func seconds(d time.Duration) awscdk.Duration {
	return awscdk.Duration_Seconds(jsii.Number(d.Seconds()))
}

// goFunctionSpec is what differs between the Go functions.
type goFunctionSpec struct {
	memory, tmp int
	reserved    int // reserved concurrency; 0 = none
	timeout     awscdk.Duration
	env         map[string]string
	layers      []awslambda.ILayerVersion
	description string
	async       *awslambda.EventInvokeConfigOptions
}

// newGoFunction creates a provided.al2023 function from
// {FunctionsDir}/{name}/bootstrap, with its own log group so retention
// is set without the LogRetention custom resource.
func newGoFunction(scope constructs.Construct, id, name string, cfg Config, spec goFunctionSpec) awslambda.Function {
	logs := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     retentionDays(cfg.LogRetentionDays),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	env := make(map[string]*string, len(spec.env))
	for k, v := range spec.env {
		env[k] = jsii.String(v)
	}
	props := &awslambda.FunctionProps{
		Description:   jsii.String(spec.description),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  lambdaArch(cfg.Arch),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(fmt.Sprintf("%s/%s", cfg.FunctionsDir, name)), nil),
		MemorySize:    jsii.Number(float64(spec.memory)),
		Timeout:       spec.timeout,
		Environment:   &env,
		LogGroup:      logs,
		RecursiveLoop: awslambda.RecursiveLoop_TERMINATE,
	}
	if len(spec.layers) > 0 {
		props.Layers = &spec.layers
	}
	if spec.reserved > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(float64(spec.reserved))
	}
	if spec.tmp > 0 {
		props.EphemeralStorageSize = awscdk.Size_Mebibytes(jsii.Number(float64(spec.tmp)))
	}
	if spec.async != nil {
		props.RetryAttempts = spec.async.RetryAttempts
		props.MaxEventAge = spec.async.MaxEventAge
		props.OnFailure = spec.async.OnFailure
	}
	fn := awslambda.NewFunction(scope, jsii.String(id), props)
	nagSuppress(fn, nagRule{id: "AwsSolutions-IAM4", reason: "CDK's default function role: the AWS-managed basic execution policy, which only lets the function write its logs",
		appliesTo: []string{lambdaBasicExecution}})
	return fn
}

func lambdaArch(arch string) awslambda.Architecture {
	if arch == "x86_64" {
		return awslambda.Architecture_X86_64()
	}
	return awslambda.Architecture_ARM_64()
}

// retentionDays maps a validated day count (allowedRetention) to CDK's enum.
func retentionDays(days int) awslogs.RetentionDays {
	m := map[int]awslogs.RetentionDays{
		1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
		7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
		60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
		150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
		400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
		1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
		2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
		3653: awslogs.RetentionDays_TEN_YEARS,
	}
	if r, ok := m[days]; ok {
		return r
	}
	return awslogs.RetentionDays_ONE_MONTH
}
