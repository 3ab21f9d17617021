package main

import (
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// nagRule is a cdk-nag AwsSolutions finding accepted on purpose, with the
// reason, written next to the resource it concerns. appliesTo narrows a
// granular acceptance (IAM4, IAM5) to the findings named, so a new
// wildcard or managed policy is still reported; an entry between slashes
// is a regular expression (see objectsIn).
type nagRule struct {
	id, reason string
	appliesTo  []string
}

// objectsIn is the IAM5 finding for a grant on keys matching pattern in a
// bucket of the stack, whatever the hash CDK appends to its logical id:
// objectsIn("StorageMedia", "vod/*") matches
// Resource::<StorageMedia9333CB25.Arn>/vod/*.
func objectsIn(bucketID, pattern string) string {
	return `/^Resource::<` + bucketID + `[0-9A-F]{8}\.Arn>\/` + regexp.QuoteMeta(pattern) + `$/`
}

// lambdaBasicExecution is the IAM4 finding CDK's default function role
// gives: the managed policy that lets a function write its logs.
const lambdaBasicExecution = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"

// nagSuppress records the accepted findings on construct and its children
// as they are now: call it after the grants it covers.
func nagSuppress(construct any, rules ...nagRule) {
	s := make([]*cdknag.NagPackSuppression, len(rules))
	for i, r := range rules {
		s[i] = &cdknag.NagPackSuppression{Id: jsii.String(r.id), Reason: jsii.String(r.reason)}
		if len(r.appliesTo) > 0 {
			a := make([]any, len(r.appliesTo))
			for j, v := range r.appliesTo {
				if strings.HasPrefix(v, "/") {
					a[j] = &cdknag.RegexAppliesTo{Regex: jsii.String(v)}
				} else {
					a[j] = v
				}
			}
			s[i].AppliesTo = &a
		}
	}
	cdknag.NagSuppressions_AddResourceSuppressions(construct, &s, jsii.Bool(true))
}

// checkAwsSolutions runs cdk-nag's AwsSolutions pack on everything in app
// at synth: an unsuppressed error fails `cdk synth`, and the tests fail on
// errors and warnings alike. No report files are written to cdk.out.
func checkAwsSolutions(app awscdk.App) {
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{
		Reports: jsii.Bool(false),
		Verbose: jsii.Bool(true),
	}), nil)
}
