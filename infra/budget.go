package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbudgets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Budget thresholds, in percent of the monthly amount.
const (
	budgetActualPercent   = 80
	budgetForecastPercent = 100
)

// NewBudget creates a monthly cost budget of cfg.BudgetMonthlyUSD that
// mails cfg.BudgetEmail when actual spend passes 80 % and when the
// forecast passes 100 %. It covers the whole account: a budget filtered by
// the project tag would need that tag activated for cost allocation first,
// and would miss untagged costs. An alarm only: nothing is stopped (the
// reserved concurrency and the daily source quota are the hard limits).
func NewBudget(scope constructs.Construct, cfg Config) awsbudgets.CfnBudget {
	notify := func(kind string, percent float64) *awsbudgets.CfnBudget_NotificationWithSubscribersProperty {
		return &awsbudgets.CfnBudget_NotificationWithSubscribersProperty{
			Notification: &awsbudgets.CfnBudget_NotificationProperty{
				NotificationType:   jsii.String(kind),
				ComparisonOperator: jsii.String("GREATER_THAN"),
				Threshold:          jsii.Number(percent),
				ThresholdType:      jsii.String("PERCENTAGE"),
			},
			Subscribers: &[]any{&awsbudgets.CfnBudget_SubscriberProperty{
				SubscriptionType: jsii.String("EMAIL"),
				Address:          jsii.String(cfg.BudgetEmail),
			}},
		}
	}
	return awsbudgets.NewCfnBudget(scope, jsii.String("Budget"), &awsbudgets.CfnBudgetProps{
		Budget: &awsbudgets.CfnBudget_BudgetDataProperty{
			BudgetType: jsii.String("COST"),
			TimeUnit:   jsii.String("MONTHLY"),
			BudgetLimit: &awsbudgets.CfnBudget_SpendProperty{
				Amount: jsii.Number(float64(cfg.BudgetMonthlyUSD)),
				Unit:   jsii.String("USD"),
			},
		},
		NotificationsWithSubscribers: &[]any{
			notify("ACTUAL", budgetActualPercent),
			notify("FORECASTED", budgetForecastPercent),
		},
	})
}
