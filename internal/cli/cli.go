// Package cli is the hlsflow command line: it parses subcommands and flags
// and runs them against the local cloud (or any S3-compatible endpoint).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Defaults for the addresses of the local cloud.
const (
	DefaultData = ".hlsflow"
	DefaultS3   = "127.0.0.1:4566"
	DefaultEdge = "127.0.0.1:8080"
	DefaultRTMP = "127.0.0.1:1935"
	DefaultSRT  = "127.0.0.1:8890"
	DefaultUDP  = "127.0.0.1:9000"
)

// DefaultWHIPICE is `up`'s WHIP ICE port (UDP and TCP).
const DefaultWHIPICE = "127.0.0.1:8189"

// errUsage marks errors that come from how the command was called.
var errUsage = errors.New("usage")

// Env is what a command runs with: its output streams and environment.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// Common holds the flags every subcommand takes.
type Common struct {
	Data, S3, Edge, RTMP, SRT, UDP string
	Region                         string
	UploadsBucket                  string
	MediaBucket                    string
	// Outputs names a deployment's outputs file (registerDeployment):
	// the commands then talk to it instead of the local system.
	Outputs string
}

func (c *Common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Data, "data", DefaultData, "data directory of the local cloud")
	fs.StringVar(&c.S3, "s3", DefaultS3, "S3 (and Lambda API) address, host:port or URL")
	fs.StringVar(&c.Edge, "edge", DefaultEdge, "edge (local CDN) address, host:port or URL")
	fs.StringVar(&c.RTMP, "rtmp", DefaultRTMP, "RTMP ingest address")
	fs.StringVar(&c.SRT, "srt", DefaultSRT, "SRT ingest address (UDP)")
	fs.StringVar(&c.UDP, "udp", DefaultUDP, "MPEG-TS over UDP ingest address")
	fs.StringVar(&c.UploadsBucket, "uploads-bucket", "uploads", "bucket that receives uploads")
	fs.StringVar(&c.MediaBucket, "media-bucket", "media", "bucket that holds HLS outputs")
	fs.StringVar(&c.Region, "region", "", "AWS region (default: us-east-1 locally; with --outputs the stack's)")
}

// registerDeployment adds --outputs to the commands that can talk to a
// deployment on AWS.
func (c *Common) registerDeployment(fs *flag.FlagSet) {
	fs.StringVar(&c.Outputs, "outputs", "", "talk to the deployment on AWS whose `cdk deploy --outputs-file` this is (make deploy writes dist/aws-outputs.json), with the SDK's default credentials (AWS_PROFILE, SSO, …) instead of the local system; --s3, --edge, --data and the bucket flags are then ignored")
}

type command struct {
	name, args, help string
	run              func(ctx context.Context, env Env, args []string) error
}

func commands() []command {
	return []command{
		{"up", "", "run the whole system on this machine", runUp},
		{"upload", "FILE [--wait]", "upload a video; prints its id and playback URL", runUpload},
		{"status", "ID", "print a video's status.json", runStatus},
		{"id", "KEY", "print the video id the pipeline gives an upload key", runID},
		{"stream", "create NAME", "create a live stream; prints its secret publish URL", runStream},
	}
}

// Main runs the command line args (without the program name) and returns
// the process exit code.
func Main(ctx context.Context, env Env, args []string) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(env.Stderr, "hlsflow %s: %v\nusage: hlsflow %s %s\n", c.name, err, c.name, c.args)
			return 2
		default:
			fmt.Fprintf(env.Stderr, "hlsflow %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(env.Stderr, "hlsflow: unknown command %q\n", args[0])
	usage(env.Stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "hlsflow — serverless HLS video streaming, run locally or on AWS")
	fmt.Fprintln(w, "\nusage: hlsflow COMMAND [flags]")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %-16s %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w, "\nflags for every command: --data DIR --s3 ADDR --edge ADDR --rtmp ADDR --udp ADDR")
	fmt.Fprintln(w, "upload, status, stream: --outputs dist/aws-outputs.json talks to a deployment on AWS")
	fmt.Fprintln(w, "run `hlsflow COMMAND -h` for a command's flags")
}

// parse parses flags that may come before or after positional arguments
// (`upload FILE --wait` as well as `upload --wait FILE`).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			// An unknown flag or a bad value: the flag package has
			// already printed what is wrong and the flags.
			return nil, fmt.Errorf("%w: %w", errUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func newFlagSet(name string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet("hlsflow "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// httpURL turns "host:port" into "http://host:port" and leaves URLs alone.
func httpURL(addr string) string {
	if strings.Contains(addr, "://") {
		return strings.TrimRight(addr, "/")
	}
	return "http://" + addr
}
