// Package e2e is hlsflow's end-to-end suite. It drives a running system only
// through its public faces — the S3 API, the edge (CDN), ingest ports and
// the CLI — so the same tests run against the embedded local cloud (the
// default: the suite starts `hlsflow up` itself on free ports) and against
// any AWS-compatible deployment named by environment variables.
//
// It is all tests: the harness that starts or finds the system is
// harness_test.go.
package e2e
