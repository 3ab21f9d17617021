// Command infra is the hlsflow CDK app: `make synth` writes the CloudFormation
// templates to cdk.out/ (offline, no Docker, no credentials) and
// `make deploy` deploys them. Context values (cdk.json, -c key=value) choose
// the options; see README.md.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// stackName is the CloudFormation stack's name.
const stackName = "Hlsflow"

func main() {
	err := run(awscdk.NewApp(nil))
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hlsflow infra:", err)
		os.Exit(1)
	}
}

// run validates the app's context and assets, synthesises the stack into
// the app's output directory, and checks what it wrote there.
func run(app awscdk.App) error {
	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	root, err := repoRoot(wd)
	if err != nil {
		return err
	}
	cfg, err := LoadConfig(appContext(app), root)
	if err != nil {
		return err
	}
	if err := cfg.CheckAssets(); err != nil {
		return err
	}
	// The CDK CLI passes the target region of the deploy here.
	if err := cfg.CheckRegion(os.Getenv("CDK_DEFAULT_REGION")); err != nil {
		return err
	}
	checkAwsSolutions(app)
	NewHlsflowStack(app, stackName, &HlsflowStackProps{
		StackProps: awscdk.StackProps{Description: jsii.String("hlsflow: serverless HLS video (on-demand and live)")},
		Config:     cfg,
	})
	// Dashboards, event source mappings and rules take no tags in
	// CloudFormation's resource specification the template is checked
	// against (infra/cfnschema).
	awscdk.Tags_Of(app).Add(jsii.String("project"), jsii.String("hlsflow"), &awscdk.TagProps{
		ExcludeResourceTypes: jsii.Strings("AWS::CloudWatch::Dashboard", "AWS::Lambda::EventSourceMapping", "AWS::Events::Rule"),
	})
	return checkAssembly(*app.Synth(nil).Directory())
}

// appContext reads context values from the app's tree (cdk.json and -c).
func appContext(app awscdk.App) ContextLookup {
	return func(key string) (any, bool) {
		v := app.Node().TryGetContext(jsii.String(key))
		return v, v != nil
	}
}

// repoRoot walks up from dir to the folder holding go.mod; default paths
// (dist/, services/ingest) are relative to it.
func repoRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("find repository root: no go.mod above " + dir)
		}
	}
}
