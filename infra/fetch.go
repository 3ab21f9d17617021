package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
)

// statusObjects are the videos' status documents (internal/catalog).
const statusObjects = "vod/*/status.json"

// fetchConcurrency bounds the fetches running at once (and what they
// cost); more wait in Lambda's async queue.
const fetchConcurrency = 5

// Fetch is the fetch function: uploads from a URL (internal/fetch),
// invoked asynchronously by the API.
type Fetch struct {
	Function awslambda.Function
}

// NewFetch creates the fetch function and lets api start it. It runs
// outside any VPC: it reaches the internet and no private network of the
// deployment's; internal/safefetch's deny list is what keeps it from the
// metadata endpoint (169.254.169.254) and the runtime API on loopback.
// A fetch records its own failures in the video's status, so Lambda does
// not retry it.
func NewFetch(scope constructs.Construct, cfg Config, st *Storage, api *API) *Fetch {
	s := constructs.NewConstruct(scope, jsii.String("Fetch"))
	fn := newGoFunction(s, "Function", lambdaspec.Fetch.Name, cfg, goFunctionSpec{
		memory:   lambdaspec.Fetch.MemoryMB,
		reserved: fetchConcurrency,
		timeout:  seconds(lambdaspec.Fetch.Timeout),
		env: map[string]string{
			lambdaspec.UploadsBucket: *st.Uploads.BucketName(),
			lambdaspec.MediaBucket:   *st.Media.BucketName(),
		},
		description: "Fetches an upload from a public URL into the uploads bucket.",
		async: &awslambda.EventInvokeConfigOptions{
			RetryAttempts: jsii.Number(0),
			MaxEventAge:   awscdk.Duration_Hours(jsii.Number(1)),
		},
	})
	// Write (one PUT or multipart) and HEAD any upload; read and write the
	// videos' status documents, nothing else of the media bucket.
	for _, g := range []struct {
		sid       string
		actions   []string
		resources []string
	}{
		{"WriteUploads", []string{"s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"}, []string{*st.Uploads.ArnForObjects(jsii.String("*"))}},
		// Without ListBucket a missing key answers 403 instead of 404.
		{"ListBuckets", []string{"s3:ListBucket"}, []string{*st.Uploads.BucketArn(), *st.Media.BucketArn()}},
		{"Status", []string{"s3:PutObject", "s3:GetObject"}, []string{*st.Media.ArnForObjects(jsii.String(statusObjects))}},
	} {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String(g.sid), Actions: jsii.Strings(g.actions...), Resources: jsii.Strings(g.resources...),
		}))
	}
	nagSuppress(fn, nagRule{id: "AwsSolutions-IAM5", reason: "object keys under a prefix are the narrowest S3 resource: any upload (its key is made by the API), and each video's status.json",
		appliesTo: []string{objectsIn("StorageUploads", "*"), objectsIn("StorageMedia", statusObjects)}})

	// The API writes the first status and invokes the function.
	api.Function.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("StartFetch"), Actions: jsii.Strings("s3:PutObject"),
		Resources: jsii.Strings(*st.Media.ArnForObjects(jsii.String(statusObjects))),
	}))
	fn.GrantInvoke(api.Function)
	api.Function.AddEnvironment(jsii.String(lambdaspec.FetchFunction), fn.FunctionName(), nil)
	nagSuppress(api.Function, nagRule{id: "AwsSolutions-IAM5", reason: "each video's status.json (a fetch's first status), and CDK's grantInvoke: the fetch function and its versions (ARN:*)",
		appliesTo: []string{objectsIn("StorageMedia", statusObjects), `/^Resource::<FetchFunction[0-9A-F]{8}\.Arn>:\*$/`}})
	return &Fetch{Function: fn}
}
