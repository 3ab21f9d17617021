package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
)

// Where the API (internal/api) keeps its records in the media bucket.
const (
	uploadRecords  = "uploads-meta/*"
	streamRecords  = "streams-meta/*"
	captionRecords = "captions-meta/*" // captions as sent (internal/subtitles)
	clipRecords    = "clips-meta/*"    // marks that list clips (internal/api)
	clipObjects    = "vod/*-clip-*/*"  // a clip's files (internal/clip)
)

// API is the HTTP API (upload URLs, status) as a Lambda function URL;
// Delivery puts it behind CloudFront at /api/*.
type API struct {
	Function awslambda.Function
	URL      awslambda.FunctionUrl
	// Token is the API's bearer token, generated in Secrets Manager; the
	// function reads it at run time (API_TOKEN_SECRET_ARN). nil with Local,
	// whose LocalStack has no Secrets Manager.
	Token awssecretsmanager.Secret
	// Playback are the keys the API signs playback grants with; nil
	// unless signedPlayback (playback.go).
	Playback *PlaybackSecrets
}

// NewAPI creates the api function, its URL and its token. On AWS the URL
// takes only IAM-signed requests: CloudFront signs them (origin access
// control, in delivery.go), so a direct call to the URL is refused by
// Lambda before the function runs. Local (LocalStack, no CloudFront) keeps
// an open URL, as nothing could sign for it.
func NewAPI(scope constructs.Construct, cfg Config, st *Storage) *API {
	s := constructs.NewConstruct(scope, jsii.String("Api"))
	fn := newGoFunction(s, "Function", "api", cfg, goFunctionSpec{
		memory:  cfg.APIMemory,
		timeout: seconds(lambdaspec.API.Timeout),
		env: map[string]string{
			"UPLOADS_BUCKET": *st.Uploads.BucketName(),
			"MEDIA_BUCKET":   *st.Media.BucketName(),
		},
		description: "Upload URLs and video status.",
	})
	// What the API (internal/api) does: presigned single and multipart uploads
	// (signed with this role, so it needs to write sources), HEAD of
	// uploads, its own records in the media bucket (uploads-meta/,
	// streams-meta/), and reading status, playlists and listings back.
	// Under vod/ it writes only clips (their own folders) and, for captions
	// added to a ready video, its subtitles, master and status.
	for _, g := range []struct {
		sid       string
		actions   []string
		resources []string
	}{
		{"Uploads", []string{"s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}, []string{*st.Uploads.ArnForObjects(jsii.String("*"))}},
		{"ListBuckets", []string{"s3:ListBucket"}, []string{*st.Uploads.BucketArn(), *st.Media.BucketArn()}},
		{"Records", []string{"s3:PutObject", "s3:GetObject", "s3:DeleteObject"}, []string{*st.Media.ArnForObjects(jsii.String(uploadRecords)), *st.Media.ArnForObjects(jsii.String(streamRecords)),
			*st.Media.ArnForObjects(jsii.String(captionRecords)), *st.Media.ArnForObjects(jsii.String(clipRecords))}},
		{"ReadPlayback", []string{"s3:GetObject"}, []string{*st.Media.ArnForObjects(jsii.String("vod/*")), *st.Media.ArnForObjects(jsii.String("live/*"))}},
		// Instant clips: a new video of copies, under its own folder.
		{"Clips", []string{"s3:PutObject", "s3:DeleteObject"}, []string{*st.Media.ArnForObjects(jsii.String(clipObjects))}},
		// Captions added to a ready video: its subtitles, master and status.
		{"Captions", []string{"s3:PutObject", "s3:DeleteObject"}, []string{*st.Media.ArnForObjects(jsii.String("vod/*/subs/*"))}},
		{"CaptionsMaster", []string{"s3:PutObject"}, []string{*st.Media.ArnForObjects(jsii.String("vod/*/master.m3u8")), *st.Media.ArnForObjects(jsii.String("vod/*/status.json"))}},
	} {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String(g.sid), Actions: jsii.Strings(g.actions...), Resources: jsii.Strings(g.resources...),
		}))
	}
	nagSuppress(fn, nagRule{id: "AwsSolutions-IAM5", reason: "object keys under a prefix are the narrowest S3 resource: presigned uploads to any key, the API's records, and reading playback",
		appliesTo: []string{objectsIn("StorageUploads", "*"), objectsIn("StorageMedia", uploadRecords), objectsIn("StorageMedia", streamRecords),
			objectsIn("StorageMedia", captionRecords), objectsIn("StorageMedia", clipRecords),
			objectsIn("StorageMedia", "vod/*"), objectsIn("StorageMedia", "live/*"), objectsIn("StorageMedia", clipObjects),
			objectsIn("StorageMedia", "vod/*/subs/*"), objectsIn("StorageMedia", "vod/*/master.m3u8"), objectsIn("StorageMedia", "vod/*/status.json")}})
	auth := awslambda.FunctionUrlAuthType_AWS_IAM
	if cfg.Local {
		auth = awslambda.FunctionUrlAuthType_NONE
	}
	methods := []awslambda.HttpMethod{awslambda.HttpMethod_GET, awslambda.HttpMethod_POST, awslambda.HttpMethod_PUT, awslambda.HttpMethod_DELETE}
	url := fn.AddFunctionUrl(&awslambda.FunctionUrlOptions{
		AuthType: auth,
		Cors: &awslambda.FunctionUrlCorsOptions{
			AllowedOrigins: jsii.Strings(cfg.AllowedOrigins...),
			AllowedMethods: &methods,
			// x-amz-content-sha256: the body hash CloudFront's signature
			// needs on POST and PUT (README.md, "The API behind CloudFront").
			AllowedHeaders: jsii.Strings("content-type", "authorization", "x-amz-content-sha256"),
			MaxAge:         awscdk.Duration_Hours(jsii.Number(1)),
		},
	})
	a := &API{Function: fn, URL: url}
	// What the API shows strangers follows the stack's choices: nothing
	// without the token unless the library is public, and no unsigned
	// playback URL when the CDN only serves signed requests.
	if cfg.PublicLibrary {
		fn.AddEnvironment(jsii.String("PUBLIC_LIBRARY"), jsii.String("true"), nil)
	}
	if cfg.SignedPlayback {
		fn.AddEnvironment(jsii.String("SIGNED_PLAYBACK"), jsii.String("true"), nil)
	}
	if !cfg.Local {
		// Only the ARN reaches the function: its environment (readable with
		// lambda:GetFunctionConfiguration) holds no secret, and a rotated
		// value is picked up within internal/secret's cache time.
		a.Token = awssecretsmanager.NewSecret(s, jsii.String("Token"), &awssecretsmanager.SecretProps{
			Description: jsii.String("hlsflow API bearer token (uploads, streams, the library)"),
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
				PasswordLength: jsii.Number(40), ExcludePunctuation: jsii.Bool(true),
			},
		})
		nagSuppress(a.Token, nagRule{id: "AwsSolutions-SMG4", reason: "rotated by the operator (infra/README.md, Rotating secrets): a new value needs no redeploy, and an automatic rotation would lock out every client holding the token"})
		a.Token.GrantRead(fn, nil)
		fn.AddEnvironment(jsii.String("API_TOKEN_SECRET_ARN"), a.Token.SecretArn(), nil)
	}
	return a
}
