package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// TestWebhooks: the deliveries go through an encrypted, TLS-only FIFO
// queue with a dead-letter queue and an alarm on it; the sender takes one
// message at a time with batch item failures, and every role touches the
// webhook records only; the emitters are told the queue.
func TestWebhooks(t *testing.T) {
	s := synth(t, nil)
	queue, q := s.one(t, "AWS::SQS::Queue", "WebhooksDeliveries")
	dlq, d := s.one(t, "AWS::SQS::Queue", "WebhooksFailures")
	for name, r := range map[string]resource{"deliveries": q, "dead letters": d} {
		if r.Properties["FifoQueue"] != true || r.Properties["SqsManagedSseEnabled"] != true {
			t.Errorf("%s queue: %v", name, r.Properties)
		}
	}
	if ref(get(q.Properties, "RedrivePolicy", "deadLetterTargetArn")) != stripHash(dlq)+".Arn" ||
		get(q.Properties, "RedrivePolicy", "maxReceiveCount") != float64(webhookReceives) {
		t.Errorf("redrive: %v", q.Properties["RedrivePolicy"])
	}
	fn := mustOne(t, s, "AWS::Lambda::Function", "WebhooksSender")
	matches(t, "event source", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), &map[string]any{
			"FunctionName":          map[string]any{"Ref": fn},
			"EventSourceArn":        map[string]any{"Fn::GetAtt": []any{queue, "Arn"}},
			"BatchSize":             float64(1),
			"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
		})
	})
	matches(t, "TLS only", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), &map[string]any{
			"Queues": []any{map[string]any{"Ref": dlq}},
		})
	})
	matches(t, "alarm on the dead letters", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
			"MetricName": "ApproximateNumberOfMessagesVisible", "Namespace": "AWS/SQS", "Threshold": float64(1),
			"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": []any{dlq, "QueueName"}}}},
		})
	})
	_, media := s.one(t, "AWS::S3::Bucket", "StorageMedia")
	found := false
	for _, r := range list(get(media.Properties, "LifecycleConfiguration", "Rules")) {
		if get(r, "Prefix") == "webhooks-meta/deliveries/" && get(r, "ExpirationInDays") == float64(webhookLogDays) && get(r, "Status") == "Enabled" {
			found = true
		}
	}
	if !found {
		t.Errorf("no expiry of the delivery log in %v", get(media.Properties, "LifecycleConfiguration"))
	}
	for _, role := range []string{"WebhooksSenderServiceRole", "OnDemandTranscodeServiceRole", "ApiFunctionServiceRole", "LiveTaskTaskRole"} {
		var mine []string
		for _, g := range s.grants(role) {
			if strings.Contains(g, "webhooks-meta") || strings.Contains(g, "sqs:") && strings.Contains(g, "Webhooks") {
				mine = append(mine, g)
			}
			if strings.Contains(g, "s3:") && strings.Contains(g, "StorageMedia.Arn/*") {
				t.Errorf("%s: the whole media bucket: %s", role, g)
			}
		}
		if len(mine) == 0 {
			t.Errorf("%s: no webhook grants in %q", role, s.grants(role))
		}
	}
	sender := s.grants("WebhooksSenderServiceRole")
	if !slices.Contains(sender, "Allow s3:PutObject StorageMedia.Arn/webhooks-meta/*") {
		t.Errorf("sender grants: %q", sender)
	}
	// The sweep: it sends to its own queue alone.
	for _, g := range sender {
		if strings.Contains(g, "sqs:SendMessage") && !strings.HasSuffix(g, " "+stripHash(queue)+".Arn") {
			t.Errorf("sender sends to another queue: %s", g)
		}
	}
	if !slices.ContainsFunc(sender, func(g string) bool { return strings.Contains(g, "sqs:SendMessage") }) {
		t.Errorf("the sweep cannot queue: %q", sender)
	}
	sweepRule(t, s, fn)
	for _, id := range []string{"OnDemandTranscode", "ApiFunction"} {
		_, r := s.one(t, "AWS::Lambda::Function", id)
		if ref(get(r.Properties, "Environment", "Variables", "WEBHOOK_QUEUE_URL")) != stripHash(queue) {
			t.Errorf("%s: WEBHOOK_QUEUE_URL %v", id, get(r.Properties, "Environment", "Variables", "WEBHOOK_QUEUE_URL"))
		}
	}
}

// sweepRule: a schedule every webhookSweepMinutes invokes the sender with
// the sweep's input; the function lets that rule alone invoke it; an
// alarm watches the function's errors.
func sweepRule(t *testing.T, s *synthesized, fn string) {
	t.Helper()
	rule, r := s.one(t, "AWS::Events::Rule", "WebhooksSweep")
	if r.Properties["ScheduleExpression"] != fmt.Sprintf("rate(%d minutes)", webhookSweepMinutes) || r.Properties["State"] != "ENABLED" {
		t.Errorf("sweep schedule: %v", r.Properties)
	}
	targets := list(r.Properties["Targets"])
	if len(targets) != 1 || ref(get(targets[0], "Arn")) != stripHash(fn)+".Arn" {
		t.Fatalf("sweep targets: %v", targets)
	}
	var in map[string]string
	if err := json.Unmarshal([]byte(fmt.Sprint(get(targets[0], "Input"))), &in); err != nil || !maps.Equal(in, webhooks.SweepInput) {
		t.Errorf("sweep input %v: %v", get(targets[0], "Input"), err)
	}
	matches(t, "the rule's permission", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), &map[string]any{
			"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com",
			"FunctionName": map[string]any{"Fn::GetAtt": []any{fn, "Arn"}},
			"SourceArn":    map[string]any{"Fn::GetAtt": []any{rule, "Arn"}},
		})
	})
	matches(t, "alarm on failed sweeps", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
			"MetricName": "Errors", "Namespace": "AWS/Lambda", "Threshold": float64(3), "Period": float64(3 * 60 * webhookSweepMinutes),
			"Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": map[string]any{"Ref": fn}}},
		})
	})
}
