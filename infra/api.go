package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Where functions/api keeps its records in the media bucket.
const (
	uploadRecords = "uploads-meta/*"
	streamRecords = "streams-meta/*"
)

// API is the HTTP API (upload URLs, status) as a Lambda function URL;
// Delivery puts it behind CloudFront at /api/*.
type API struct {
	Function awslambda.Function
	URL      awslambda.FunctionUrl
	Token    awssecretsmanager.Secret // bearer token for creating streams; nil without live
}

// NewAPI creates the api function and its URL. The URL has no IAM auth:
// CloudFront's OAC for Lambda cannot sign request bodies (POST/PUT would need
// the client to send x-amz-content-sha256), and the API authorises its own
// requests anyway.
func NewAPI(scope constructs.Construct, cfg Config, st *Storage) *API {
	s := constructs.NewConstruct(scope, jsii.String("Api"))
	fn := newGoFunction(s, "Function", "api", cfg, goFunctionSpec{
		memory:  cfg.APIMemory,
		timeout: awscdk.Duration_Seconds(jsii.Number(apiTimeoutSeconds)),
		env: map[string]string{
			"UPLOADS_BUCKET": *st.Uploads.BucketName(),
			"MEDIA_BUCKET":   *st.Media.BucketName(),
		},
		description: "Upload URLs and video status.",
	})
	// What functions/api does: presigned single and multipart uploads
	// (signed with this role, so it needs to write sources), HEAD of
	// uploads, its own records in the media bucket (uploads-meta/,
	// streams-meta/), and reading status, playlists and listings back.
	// Nothing under vod/ or live/ is written or deleted.
	for _, g := range []struct {
		sid       string
		actions   []string
		resources []string
	}{
		{"Uploads", []string{"s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}, []string{*st.Uploads.ArnForObjects(jsii.String("*"))}},
		{"ListBuckets", []string{"s3:ListBucket"}, []string{*st.Uploads.BucketArn(), *st.Media.BucketArn()}},
		{"Records", []string{"s3:PutObject", "s3:GetObject", "s3:DeleteObject"}, []string{*st.Media.ArnForObjects(jsii.String(uploadRecords)), *st.Media.ArnForObjects(jsii.String(streamRecords))}},
		{"ReadPlayback", []string{"s3:GetObject"}, []string{*st.Media.ArnForObjects(jsii.String("vod/*")), *st.Media.ArnForObjects(jsii.String("live/*"))}},
	} {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String(g.sid), Actions: jsii.Strings(g.actions...), Resources: jsii.Strings(g.resources...),
		}))
	}
	methods := []awslambda.HttpMethod{awslambda.HttpMethod_GET, awslambda.HttpMethod_POST, awslambda.HttpMethod_PUT}
	url := fn.AddFunctionUrl(&awslambda.FunctionUrlOptions{
		AuthType: awslambda.FunctionUrlAuthType_NONE,
		Cors: &awslambda.FunctionUrlCorsOptions{
			AllowedOrigins: jsii.Strings(cfg.AllowedOrigins...),
			AllowedMethods: &methods,
			AllowedHeaders: jsii.Strings("content-type", "authorization"),
			MaxAge:         awscdk.Duration_Hours(jsii.Number(1)),
		},
	})
	return &API{Function: fn, URL: url}
}
