package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Storage holds the buckets: uploads (raw sources, written by browsers
// through presigned URLs), media (HLS output, read through CloudFront) and
// logs (access logs of the other two and of CloudFront).
type Storage struct {
	Uploads awss3.Bucket
	Media   awss3.Bucket
	Logs    awss3.Bucket
}

// Prefixes of the access logs in the logs bucket.
const (
	uploadsLogPrefix    = "s3/uploads/"
	mediaLogPrefix      = "s3/media/"
	cloudFrontLogPrefix = "cloudfront/"
	vpcLogPrefix        = "vpc/"
)

// NewStorage creates both buckets private, TLS-only and encrypted. Nothing
// in them is ever public: browsers write with presigned URLs and viewers
// read through CloudFront's Origin Access Control.
func NewStorage(scope constructs.Construct, cfg Config) *Storage {
	s := constructs.NewConstruct(scope, jsii.String("Storage"))
	removal := awscdk.RemovalPolicy_RETAIN
	if cfg.RemoveData {
		removal = awscdk.RemovalPolicy_DESTROY
	}
	// Access logs answer "who read or wrote what" after the fact. They
	// expire with the other logs (logRetentionDays). CloudFront's standard
	// logs are delivered with an ACL grant, so this bucket alone keeps ACLs
	// (bucket owner preferred: the objects still belong to the account).
	logProps := privateBucket(removal, &awss3.BucketProps{
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("expire-logs"),
			Expiration: awscdk.Duration_Days(jsii.Number(float64(cfg.LogRetentionDays))),
		}},
	})
	logProps.ObjectOwnership = awss3.ObjectOwnership_BUCKET_OWNER_PREFERRED
	logs := awss3.NewBucket(s, jsii.String("Logs"), logProps)
	nagSuppress(logs, nagRule{id: "AwsSolutions-S1", reason: "this is the access-log bucket; logging it into itself would loop"})
	// Abandoned multipart uploads are invisible but billed; a day is far
	// longer than any presigned upload URL lives.
	abortMultipart := &awss3.LifecycleRule{
		Id:                                  jsii.String("abort-incomplete-multipart"),
		AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
	}
	uploadRules := []*awss3.LifecycleRule{abortMultipart}
	if cfg.SourceExpiryDays > 0 {
		// Sources are only read while transcoding; afterwards they are
		// storage cost, so operators may expire them.
		uploadRules = append(uploadRules, &awss3.LifecycleRule{
			Id:         jsii.String("expire-sources"),
			Expiration: awscdk.Duration_Days(jsii.Number(float64(cfg.SourceExpiryDays))),
		})
	}
	uploads := awss3.NewBucket(s, jsii.String("Uploads"), privateBucket(removal, &awss3.BucketProps{
		LifecycleRules:         &uploadRules,
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String(uploadsLogPrefix),
		Cors: &[]*awss3.CorsRule{{
			// Browsers PUT files (or multipart parts) to presigned URLs and
			// need the ETag of each part to complete a multipart upload.
			AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_PUT, awss3.HttpMethods_POST},
			AllowedOrigins: jsii.Strings(cfg.AllowedOrigins...),
			AllowedHeaders: jsii.Strings("*"),
			ExposedHeaders: jsii.Strings("ETag"),
			MaxAge:         jsii.Number(3600),
		}},
	}))
	mediaProps := &awss3.BucketProps{
		LifecycleRules:         &[]*awss3.LifecycleRule{abortMultipart},
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String(mediaLogPrefix),
	}
	if cfg.Local {
		// Without CloudFront, players read the bucket directly (presigned).
		mediaProps.Cors = &[]*awss3.CorsRule{{
			AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_GET, awss3.HttpMethods_HEAD},
			AllowedOrigins: jsii.Strings(cfg.AllowedOrigins...),
			AllowedHeaders: jsii.Strings("*"),
			ExposedHeaders: jsii.Strings("Content-Length", "Content-Range", "ETag"),
			MaxAge:         jsii.Number(3600),
		}}
	}
	media := awss3.NewBucket(s, jsii.String("Media"), privateBucket(removal, mediaProps))
	return &Storage{Uploads: uploads, Media: media, Logs: logs}
}

// privateBucket adds the settings every bucket shares to props.
func privateBucket(removal awscdk.RemovalPolicy, props *awss3.BucketProps) *awss3.BucketProps {
	props.BlockPublicAccess = awss3.BlockPublicAccess_BLOCK_ALL()
	props.EnforceSSL = jsii.Bool(true)
	props.MinimumTLSVersion = jsii.Number(1.2)
	props.Encryption = awss3.BucketEncryption_S3_MANAGED
	props.ObjectOwnership = awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED
	props.RemovalPolicy = removal
	return props
}
