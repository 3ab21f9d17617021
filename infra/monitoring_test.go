package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/metrics"
)

// The dashboard shows every metric the code writes, and the alarms watch
// the failure rate, the dead-letter queue, the ingest's health and spend.
func TestMonitoring(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ctx      map[string]any
		live     bool
		dailyUSD float64
	}{
		{"everything", everything, true, 50.0 / 30},
		{"local", map[string]any{ctxLocal: "true"}, false, defaultDailySpendUSD},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := synth(t, tc.ctx)
			_, rate := s.one(t, "AWS::CloudWatch::Alarm", "MonitoringFailureRateAlarm")
			var expr string
			used := map[string]string{}
			for _, m := range list(rate.Properties["Metrics"]) {
				if e, ok := get(m, "Expression").(string); ok {
					expr = e
				}
				if n, ok := get(m, "MetricStat", "Metric", "MetricName").(string); ok {
					used[get(m, "Id").(string)] = fmt.Sprint(get(m, "MetricStat", "Metric", "Namespace"), "/", n, "/", get(m, "MetricStat", "Stat"))
				}
			}
			if !strings.Contains(expr, "100 * FILL(failed, 0) / started") || used["failed"] != metrics.Namespace+"/JobsFailed/Sum" || used["started"] != metrics.Namespace+"/JobsStarted/Sum" {
				t.Errorf("failure rate: expression %q over %v", expr, used)
			}
			if rate.Properties["Threshold"] != float64(failureRatePercent) || rate.Properties["ComparisonOperator"] != "GreaterThanThreshold" {
				t.Errorf("failure rate alarm %v", rate.Properties)
			}

			_, spend := s.one(t, "AWS::CloudWatch::Alarm", "MonitoringSpendAlarm")
			p := spend.Properties
			if p["Namespace"] != metrics.Namespace || p["MetricName"] != "JobCostUSD" || p["Statistic"] != "Sum" || p["Period"] != float64(86400) {
				t.Errorf("spend alarm %v, want the daily sum of JobCostUSD", p)
			}
			if th, _ := p["Threshold"].(float64); th < tc.dailyUSD-1e-9 || th > tc.dailyUSD+1e-9 {
				t.Errorf("spend threshold %v, want %v a day", p["Threshold"], tc.dailyUSD)
			}

			unhealthy := 0
			for _, a := range s.ofType("AWS::CloudWatch::Alarm") {
				if a.Properties["MetricName"] == "UnHealthyHostCount" && a.Properties["Namespace"] == "AWS/NetworkELB" {
					unhealthy++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tc.live]; unhealthy != want {
				t.Errorf("%d ingest health alarms, want %d", unhealthy, want)
			}

			_, dash := s.one(t, "AWS::CloudWatch::Dashboard", "MonitoringDashboard")
			body, _ := json.Marshal(dash.Properties["DashboardBody"])
			names := []string{"JobsStarted", "JobsReady", "JobsFailed", "GBSeconds", "SourceSeconds", "EncodeSeconds", "TimeToFirstPlayable", "JobCostUSD", "ApproximateNumberOfMessagesVisible"}
			live := []string{"LiveStreams", "IngestBitrate", "PublishLag", "DroppedBytes", "SegmentsDropped"}
			for _, n := range append(names, live...) {
				want := tc.live || !strings.Contains(strings.Join(live, " "), n)
				if got := strings.Contains(string(body), `\"`+n+`\"`); got != want {
					t.Errorf("dashboard shows %s: %v, want %v", n, got, want)
				}
			}
			if !strings.Contains(string(body), `\"`+metrics.Namespace+`\"`) {
				t.Errorf("dashboard does not read namespace %s", metrics.Namespace)
			}
		})
	}
}

// The transcode function charges each job's chunk encodes at the memory
// the encode function is deployed with, and the defaults are the sizes
// the local system charges.
func TestCostMemoryMatchesTheStack(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  map[string]any
		want int
	}{
		{"default", nil, lambdaspec.Encode.MemoryMB},
		{"set", map[string]any{ctxEncodeMemory: "3008"}, 3008},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := synth(t, tc.ctx)
			_, tr := s.one(t, "AWS::Lambda::Function", "OnDemandTranscode")
			_, enc := s.one(t, "AWS::Lambda::Function", "OnDemandEncode")
			if got := get(tr.Properties, "Environment", "Variables", "ENCODE_MEMORY_MB"); got != fmt.Sprint(tc.want) || enc.Properties["MemorySize"] != float64(tc.want) {
				t.Errorf("ENCODE_MEMORY_MB %v, encode memory %v; want both %d", got, enc.Properties["MemorySize"], tc.want)
			}
			if tc.ctx == nil && tr.Properties["MemorySize"] != float64(lambdaspec.Transcode.MemoryMB) {
				t.Errorf("transcode memory %v, want lambdaspec.Transcode.MemoryMB", tr.Properties["MemorySize"])
			}
		})
	}
}
