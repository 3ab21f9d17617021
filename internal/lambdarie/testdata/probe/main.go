// Command probe is a Lambda function for lambdarie's tests: it reports
// what it sees of its sandbox, or fails, sleeps or exits on request.
package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type request struct {
	Require string   `json:"require"` // fail unless this variable is set
	Fail    string   `json:"fail"`    // return this error
	Sleep   string   `json:"sleep"`   // a duration to sleep
	Exit    bool     `json:"exit"`    // exit the process
	Write   []string `json:"write"`   // paths to try writing
	Run     []string `json:"run"`     // a command to run
	Read    string   `json:"read"`    // a file to return
	Alloc   int      `json:"alloc"`   // MiB of memory to fill
	Fill    int      `json:"fill"`    // MiB to write to /tmp/fill
}

type response struct {
	Env      []string        `json:"env"`
	Root     []string        `json:"root"`
	Writable map[string]bool `json:"writable"`
	Output   string          `json:"output"`
	Procs    []string        `json:"procs"` // the processes it can see
	UID      int             `json:"uid"`
}

func handle(ctx context.Context, r request) (*response, error) {
	if r.Require != "" && os.Getenv(r.Require) == "" {
		return nil, errors.New(r.Require + " is not set")
	}
	if r.Fail != "" {
		return nil, errors.New(r.Fail)
	}
	if r.Exit {
		os.Exit(3)
	}
	if r.Alloc > 0 {
		b := make([]byte, r.Alloc<<20)
		for i := range b { // touched, so the pages are really used
			b[i] = byte(i)
		}
		runtime.KeepAlive(b)
	}
	if r.Fill > 0 {
		if err := os.WriteFile("/tmp/fill", make([]byte, r.Fill<<20), 0o644); err != nil {
			return nil, err
		}
		defer os.Remove("/tmp/fill")
	}
	if r.Sleep != "" {
		d, _ := time.ParseDuration(r.Sleep)
		time.Sleep(d)
	}
	resp := &response{Env: os.Environ(), Writable: map[string]bool{}, UID: os.Getuid()}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if p.Name()[0] >= '0' && p.Name()[0] <= '9' {
			comm, _ := os.ReadFile("/proc/" + p.Name() + "/comm")
			resp.Procs = append(resp.Procs, strings.TrimSpace(string(comm)))
		}
	}
	entries, _ := os.ReadDir("/")
	for _, e := range entries {
		resp.Root = append(resp.Root, e.Name())
	}
	for _, p := range r.Write {
		resp.Writable[p] = os.WriteFile(p, []byte("x"), 0o644) == nil
	}
	if r.Read != "" {
		b, err := os.ReadFile(r.Read)
		if err != nil {
			return nil, err
		}
		resp.Output = string(b)
	}
	if len(r.Run) > 0 {
		out, err := exec.CommandContext(ctx, r.Run[0], r.Run[1:]...).CombinedOutput()
		if err != nil {
			return nil, errors.New(strings.TrimSpace(string(out)) + ": " + err.Error())
		}
		resp.Output = string(out)
	}
	return resp, nil
}

func main() { lambda.Start(handle) }
