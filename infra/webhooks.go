package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

const (
	// webhookReceives bounds how often one delivery's message is handed
	// to the sender before it goes to the dead-letter queue: far more
	// than the attempts of a day of capped backoff (the function gives a
	// delivery up itself after webhooks.DefaultRetryFor), so only a
	// message the function keeps failing on gets there.
	webhookReceives = 100
	// webhookRetentionDays keeps a delivery queued longer than it is
	// retried.
	webhookRetentionDays = 2
	// webhookLogDays is how long the delivery log is kept
	// (webhooks.DefaultKeepLog).
	webhookLogDays = 30
	// webhookSweepMinutes is how often the sweep looks for deliveries
	// whose message was never sent (webhooks.Hooks.Sweep): well within
	// webhooks.DefaultSweepAfter, so one is sent at most that long late.
	webhookSweepMinutes = 5
)

// Webhooks sends the webhook events: the functions that emit them store
// each delivery in the media bucket (webhooks-meta/) and queue it on a
// FIFO queue, grouped by endpoint and video or stream, so SQS keeps their
// order; the sender function makes one attempt per message and sets the
// message's visibility to the backoff when it fails. A message that keeps
// failing goes to a dead-letter queue, which raises an alarm. A
// delivery stored whose message could not be sent (the emitter can only
// log it) is queued again by the sweep, which a schedule runs in the
// sender function; sweeps failing for a quarter of an hour raise an
// alarm.
type Webhooks struct {
	Queue      awssqs.Queue
	DLQ        awssqs.Queue
	Function   awslambda.Function
	DLQAlarm   awscloudwatch.Alarm
	Sweep      awsevents.Rule
	SweepAlarm awscloudwatch.Alarm
	st         *Storage
}

// NewWebhooks creates the queues, the sender and the alarm.
func NewWebhooks(scope constructs.Construct, cfg Config, st *Storage) *Webhooks {
	s := constructs.NewConstruct(scope, jsii.String("Webhooks"))
	w := &Webhooks{st: st}
	w.DLQ = awssqs.NewQueue(s, jsii.String("Failures"), &awssqs.QueueProps{
		Fifo:            jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
	})
	nagSuppress(w.DLQ, nagRule{id: "AwsSolutions-SQS3", reason: "this queue is the dead-letter queue of the webhook deliveries"})
	timeout := seconds(lambdaspec.Webhooks.Timeout)
	w.Queue = awssqs.NewQueue(s, jsii.String("Deliveries"), &awssqs.QueueProps{
		Fifo: jsii.Bool(true),
		// Lambda wants at least the function's timeout; six times it, as
		// AWS advises, leaves room for the poller's retries.
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * lambdaspec.Webhooks.Timeout.Seconds())),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(webhookRetentionDays)),
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{MaxReceiveCount: jsii.Number(webhookReceives), Queue: w.DLQ},
	})
	w.Function = newGoFunction(s, "Sender", lambdaspec.Webhooks.Name, cfg, goFunctionSpec{
		memory: lambdaspec.Webhooks.MemoryMB, timeout: timeout,
		env: map[string]string{
			lambdaspec.MediaBucket:  *st.Media.BucketName(),
			lambdaspec.WebhookQueue: *w.Queue.QueueUrl(),
		},
		description: "Sends webhook deliveries, signed, to the operator's endpoints.",
	})
	// One message at a time: a failure then holds up only its own group.
	w.Function.AddEventSource(awslambdaeventsources.NewSqsEventSource(w.Queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize: jsii.Number(1), ReportBatchItemFailures: jsii.Bool(true),
	}))
	// The records, and for the sweep their listing and the queue.
	for _, st := range w.statements() {
		w.Function.AddToRolePolicy(st)
	}
	w.Sweep = awsevents.NewRule(s, jsii.String("Sweep"), &awsevents.RuleProps{
		Description: jsii.String("Queues again the webhook deliveries whose message was never sent."),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(webhookSweepMinutes))),
	})
	// The target adds the function's permission for this rule alone.
	w.Sweep.AddTarget(awseventstargets.NewLambdaFunction(w.Function, &awseventstargets.LambdaFunctionProps{
		Event: awsevents.RuleTargetInput_FromObject(webhooks.SweepInput),
	}))
	nagSuppress(w.Function, nagRule{id: "AwsSolutions-IAM5", reason: "the webhook records, under webhooks-meta/ only",
		appliesTo: []string{objectsIn("StorageMedia", webhooks.Prefix+"*")}})
	// The delivery log is kept as long as the local sender keeps it; a
	// delivery is queued for two days at most, so none expires pending.
	st.Media.AddLifecycleRule(&awss3.LifecycleRule{
		Id:         jsii.String("WebhookDeliveryLog"),
		Prefix:     jsii.String(webhooks.Prefix + "deliveries/"),
		Expiration: awscdk.Duration_Days(jsii.Number(webhookLogDays)),
	})
	w.DLQAlarm = awscloudwatch.NewAlarm(s, jsii.String("FailuresAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("A webhook delivery's message failed in the sender function every time it was received; it is in the dead-letter queue."),
		Metric: w.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(5)),
			Statistic: jsii.String("Maximum"),
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	// The sender's SQS batches report failures without failing, so the
	// function's errors are failed sweeps (or crashes): as many as there
	// are sweeps in a quarter of an hour.
	w.SweepAlarm = awscloudwatch.NewAlarm(s, jsii.String("SweepAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("The webhooks function failed 3 times in a quarter of an hour: its sweeps (every 5 minutes) fail, or it crashes, so deliveries whose message was never sent are not queued again. Its log says why."),
		Metric: w.Function.MetricErrors(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(3 * webhookSweepMinutes)),
			Statistic: jsii.String("Sum"),
		}),
		Threshold:          jsii.Number(3),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	return w
}

// Emitter lets a function store and queue deliveries (and, for the API,
// keep the endpoints): the webhook records in the media bucket, listing
// them, and sending to the queue.
func (w *Webhooks) Emitter(fn awslambda.Function) {
	fn.AddEnvironment(jsii.String(lambdaspec.WebhookQueue), w.Queue.QueueUrl(), nil)
	for _, st := range w.statements() {
		fn.AddToRolePolicy(st)
	}
	nagSuppress(fn, nagRule{id: "AwsSolutions-IAM5", reason: "the webhook records, under webhooks-meta/ only",
		appliesTo: []string{objectsIn("StorageMedia", webhooks.Prefix+"*")}})
}

// EmitterRole is Emitter for the ingest task, whose environment is set
// by the caller.
func (w *Webhooks) EmitterRole(role awsiam.IRole) {
	for _, st := range w.statements() {
		role.AddToPrincipalPolicy(st)
	}
	nagSuppress(role, nagRule{id: "AwsSolutions-IAM5", reason: "the webhook records, under webhooks-meta/ only",
		appliesTo: []string{objectsIn("StorageMedia", webhooks.Prefix+"*")}})
}

func (w *Webhooks) statements() []awsiam.PolicyStatement {
	return []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("WebhookRecords"),
			Actions:   jsii.Strings("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
			Resources: jsii.Strings(*w.st.Media.ArnForObjects(jsii.String(webhooks.Prefix + "*"))),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("ListWebhookRecords"),
			Actions:    jsii.Strings("s3:ListBucket"),
			Resources:  jsii.Strings(*w.st.Media.BucketArn()),
			Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": webhooks.Prefix + "*"}},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("QueueWebhooks"),
			Actions:   jsii.Strings("sqs:SendMessage"),
			Resources: jsii.Strings(*w.Queue.QueueArn()),
		}),
	}
}
