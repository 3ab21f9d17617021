package cli

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantPos  []string
		wantWait bool
		wantS3   string
	}{
		{"flags first", []string{"--wait", "a.mp4"}, []string{"a.mp4"}, true, DefaultS3},
		{"flags after", []string{"a.mp4", "--wait", "--s3", "127.0.0.1:1"}, []string{"a.mp4"}, true, "127.0.0.1:1"},
		{"double dash keeps dashes", []string{"--", "--odd.mp4"}, []string{"--odd.mp4"}, false, DefaultS3},
		{"no flags", []string{"x", "y"}, []string{"x", "y"}, false, DefaultS3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Common
			fs := newFlagSet("t", Env{Stderr: &bytes.Buffer{}})
			c.register(fs)
			wait := fs.Bool("wait", false, "")
			pos, err := parse(fs, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pos, tt.wantPos) || *wait != tt.wantWait || c.S3 != tt.wantS3 {
				t.Errorf("got pos=%q wait=%v s3=%q, want %q %v %q", pos, *wait, c.S3, tt.wantPos, tt.wantWait, tt.wantS3)
			}
		})
	}
}

func TestMainExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"no args", nil, 2, ""},
		{"unknown", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"upload without file", []string{"upload"}, 2, "want exactly one FILE"},
		{"upload missing file", []string{"upload", "/nonexistent/x.mp4"}, 1, "open /nonexistent/x.mp4"},
		{"upload a directory", []string{"upload", "."}, 1, "is a directory"},
		{"status bad id", []string{"status", "../etc"}, 1, "is not a video id"},
		{"help flag", []string{"status", "-h"}, 0, ""},
		{"negative edge cache", []string{"up", "--edge-cache-mb", "-5"}, 2, "--edge-cache-mb is -5"},
		{"edge cache not a number", []string{"up", "--edge-cache-mb", "lots"}, 2, "edge-cache-mb"},
		{"segments neither ts nor cmaf", []string{"up", "--segments", "mp4"}, 2, "--segments is \"mp4\"; give ts or cmaf"},
		{"per-title neither on nor off", []string{"up", "--per-title", "maybe"}, 2, "--per-title is \"maybe\"; give on or off"},
		{"udp allow not a network", []string{"up", "--udp-allow", "encoder.example.com"}, 2, "--udp-allow"},
		{"webhook allow not a network", []string{"up", "--webhook-allow", "hooks.example.com"}, 2, "webhook-allow"},
		{"stream create, outputs file missing", []string{"stream", "create", "demo", "--outputs", "/nonexistent/aws-outputs.json"}, 1, "/nonexistent/aws-outputs.json does not exist: run `make deploy` first"},
		{"up has no outputs", []string{"up", "--outputs", "x.json"}, 2, "flag provided but not defined: -outputs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}, tt.args)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, errb.String())
			}
			if !strings.Contains(errb.String(), tt.inStderr) {
				t.Errorf("stderr %q does not contain %q", errb.String(), tt.inStderr)
			}
		})
	}
}

func TestProgressBarInAFileIsLineByLine(t *testing.T) {
	var buf bytes.Buffer
	b := progressBar{w: &buf}
	for _, f := range []float64{0, 0.01, 0.05, 0.12, 0.13, 0.5, 1} {
		b.draw("processing", f)
	}
	b.draw("ready", 1)
	b.done()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// 0% (0.00-0.05 fold together), 10% (0.12, 0.13 fold), 50%, 100%, ready.
	if len(lines) != 5 {
		t.Fatalf("got %d lines, want 5:\n%s", len(lines), buf.String())
	}
	if strings.Contains(buf.String(), "\r") {
		t.Errorf("carriage return written to a non-terminal")
	}
	if !strings.HasSuffix(lines[4], "100% ready") {
		t.Errorf("last line %q", lines[4])
	}
}
