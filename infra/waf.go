package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// rateWindowSeconds is the window the per-address limit counts over (WAF
// allows 60, 120, 300 or 600).
const rateWindowSeconds = 300

// WebACL is the AWS WAF web ACL in front of the distribution.
type WebACL struct {
	ACL awswafv2.CfnWebACL // nil when cfg.WAFACLArn names an existing one
	Arn *string
}

// NewWebACL creates a CLOUDFRONT-scope web ACL with one rule: an address
// that sends more than cfg.WAFRateLimit requests in 5 minutes is blocked
// until it slows down. It bounds what one host can make the API and the
// origin do (and cost); players fetch a segment every few seconds, far
// below the default limit. CLOUDFRONT scope exists only in us-east-1
// (Config.CheckRegion refuses other regions at synth); with
// cfg.WAFACLArn the given ACL is used instead and nothing is created.
func NewWebACL(scope constructs.Construct, cfg Config) *WebACL {
	if cfg.WAFACLArn != "" {
		return &WebACL{Arn: jsii.String(cfg.WAFACLArn)}
	}
	visibility := func(name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true),
			MetricName:               jsii.String(name),
			SampledRequestsEnabled:   jsii.Bool(true),
		}
	}
	acl := awswafv2.NewCfnWebACL(scope, jsii.String("WebAcl"), &awswafv2.CfnWebACLProps{
		Description:      jsii.String("hlsflow: per-address rate limit in front of CloudFront"),
		Scope:            jsii.String("CLOUDFRONT"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: &awswafv2.CfnWebACL_AllowActionProperty{}},
		VisibilityConfig: visibility("hlsflow"),
		Rules: &[]any{&awswafv2.CfnWebACL_RuleProperty{
			Name:     jsii.String("rate-per-address"),
			Priority: jsii.Number(0),
			Action:   &awswafv2.CfnWebACL_RuleActionProperty{Block: &awswafv2.CfnWebACL_BlockActionProperty{}},
			Statement: &awswafv2.CfnWebACL_StatementProperty{
				RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
					Limit:               jsii.Number(float64(cfg.WAFRateLimit)),
					AggregateKeyType:    jsii.String("IP"),
					EvaluationWindowSec: jsii.Number(rateWindowSeconds),
				},
			},
			VisibilityConfig: visibility("hlsflow-rate-per-address"),
		}},
	})
	return &WebACL{ACL: acl, Arn: acl.AttrArn()}
}
