package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/hlsflow/hlsflow/internal/metrics"
)

// Alarm thresholds. The spend alarm's daily amount is a thirtieth of the
// budget when there is one.
const (
	failureRatePercent   = 20 // of the jobs started in an hour
	defaultDailySpendUSD = 5  // of the jobs' own cost (status.json), per day
)

// Monitoring is what an operator watches: a dashboard of the metrics the
// functions and the ingest write as EMF (namespace metrics.Namespace), and
// alarms on the failure rate, the dead-letter queue, an unhealthy ingest
// and the jobs' spend.
type Monitoring struct {
	Dashboard      awscloudwatch.Dashboard
	FailureRate    awscloudwatch.Alarm
	Spend          awscloudwatch.Alarm
	IngestUnhealth awscloudwatch.Alarm // nil without the live stack
}

// emf is a metric the code writes (internal/vod, internal/live/ingest),
// summed or averaged over period.
func emf(name, stat string, period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(metrics.Namespace), MetricName: jsii.String(name),
		Statistic: jsii.String(stat), Period: period,
	})
}

// NewMonitoring builds the dashboard and the alarms; live may be nil.
func NewMonitoring(scope constructs.Construct, cfg Config, od *OnDemand, live *Live) *Monitoring {
	s := constructs.NewConstruct(scope, jsii.String("Monitoring"))
	m := &Monitoring{}
	hour, day, five := awscdk.Duration_Hours(jsii.Number(1)), awscdk.Duration_Days(jsii.Number(1)), awscdk.Duration_Minutes(jsii.Number(5))

	rate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Label:      jsii.String("failed jobs, % of started"),
		Expression: jsii.String("IF(started > 0, 100 * FILL(failed, 0) / started, 0)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"started": emf("JobsStarted", "Sum", hour), "failed": emf("JobsFailed", "Sum", hour),
		},
		Period: hour,
	})
	m.FailureRate = awscloudwatch.NewAlarm(s, jsii.String("FailureRateAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(fmt.Sprintf("More than %d %% of the on-demand jobs started in an hour failed (retried ones included); the JobsFailed metric's Reason dimension says why.", failureRatePercent)),
		Metric:           rate, Threshold: jsii.Number(failureRatePercent), EvaluationPeriods: jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})

	daily := float64(defaultDailySpendUSD)
	if cfg.BudgetMonthlyUSD > 0 {
		daily = float64(cfg.BudgetMonthlyUSD) / 30
	}
	m.Spend = awscloudwatch.NewAlarm(s, jsii.String("SpendAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(fmt.Sprintf("The on-demand jobs of the last day cost more than $%.2f at the published Lambda and S3 request prices (the cost each status.json records).", daily)),
		Metric:           emf("JobCostUSD", "Sum", day), Threshold: jsii.Number(daily), EvaluationPeriods: jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})

	jobs := awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
		Title: jsii.String("On-demand jobs"), Width: jsii.Number(12),
		Left: &[]awscloudwatch.IMetric{emf("JobsStarted", "Sum", five), emf("JobsReady", "Sum", five), emf("JobsFailed", "Sum", five)},
	})
	usage := awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
		Title: jsii.String("Usage: GB-seconds, source and encode seconds"), Width: jsii.Number(12),
		Left:  &[]awscloudwatch.IMetric{emf("GBSeconds", "Sum", hour)},
		Right: &[]awscloudwatch.IMetric{emf("SourceSeconds", "Sum", hour), emf("EncodeSeconds", "Sum", hour)},
	})
	cost := awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
		Title: jsii.String("Jobs' cost (USD) and time to first playable (s)"), Width: jsii.Number(12),
		Left:  &[]awscloudwatch.IMetric{emf("JobCostUSD", "Sum", day)},
		Right: &[]awscloudwatch.IMetric{emf("TimeToFirstPlayable", "p90", hour)},
	})
	dlq := awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
		Title: jsii.String("Dead-letter queue depth"), Width: jsii.Number(12),
		Left: &[]awscloudwatch.IMetric{od.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")})},
	})
	alarms := []interfacesawscloudwatch.IAlarmRef{m.FailureRate, m.Spend, od.DLQAlarm}
	rows := [][]awscloudwatch.IWidget{{jobs, usage}, {cost, dlq}}

	if live != nil {
		m.IngestUnhealth = awscloudwatch.NewAlarm(s, jsii.String("IngestUnhealthyAlarm"), &awscloudwatch.AlarmProps{
			AlarmDescription: jsii.String("An ingest task has failed the load balancer's health check for 3 minutes: publishers cannot connect."),
			Metric: live.RTMPTargets.Metrics().UnHealthyHostCount(&awscloudwatch.MetricOptions{
				Period: awscdk.Duration_Minutes(jsii.Number(1)), Statistic: jsii.String("Maximum"),
			}),
			Threshold: jsii.Number(1), EvaluationPeriods: jsii.Number(3),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		alarms = append(alarms, m.IngestUnhealth)
		minute := awscdk.Duration_Minutes(jsii.Number(1))
		rows = append(rows, []awscloudwatch.IWidget{
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
				Title: jsii.String("Live streams and ingest bitrate (kbit/s)"), Width: jsii.Number(12),
				Left:  &[]awscloudwatch.IMetric{emf("LiveStreams", "Maximum", minute)},
				Right: &[]awscloudwatch.IMetric{emf("IngestBitrate", "Average", minute)},
			}),
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
				Title: jsii.String("Publish lag (ms), dropped input (bytes) and segments"), Width: jsii.Number(12),
				Left:  &[]awscloudwatch.IMetric{emf("PublishLag", "p90", minute)},
				Right: &[]awscloudwatch.IMetric{emf("DroppedBytes", "Sum", minute), emf("SegmentsDropped", "Sum", minute)},
			}),
		})
	}
	m.Dashboard = awscloudwatch.NewDashboard(s, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Days(jsii.Number(7)),
	})
	m.Dashboard.AddWidgets(awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title: jsii.String("Alarms"), Alarms: &alarms, Width: jsii.Number(24),
	}))
	for _, r := range rows {
		m.Dashboard.AddWidgets(r...)
	}
	return m
}
