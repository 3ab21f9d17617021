package media

import (
	"fmt"
	"os"
	"strings"
)

// CAFileEnv names a PEM bundle of the certificate authorities ffmpeg and
// ffprobe trust for https inputs, overriding the system bundles below.
const CAFileEnv = "HLSFLOW_CA_FILE"

// caBundles are where systems keep their CA bundle: Amazon Linux (Lambda's
// provided.al2023), then Debian/Ubuntu, then Alpine and others.
var caBundles = []string{
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/ssl/cert.pem",
}

// caFile returns the CA bundle for verifying https inputs, or "" if there
// is none.
func caFile() string {
	if f := os.Getenv(CAFileEnv); f != "" {
		return f
	}
	for _, f := range caBundles {
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
			return f
		}
	}
	return ""
}

// tlsArgs are the input options that make ffmpeg and ffprobe check the
// server's certificate and name for an https input: FFmpeg does not by
// default, and the layer's TLS library has no CA store of its own. An
// https input with no bundle to check against is an error, never an
// unverified read.
func tlsArgs(input string) ([]string, error) {
	if !strings.HasPrefix(input, "https://") {
		return nil, nil
	}
	ca := caFile()
	if ca == "" {
		return nil, fmt.Errorf("no CA bundle to verify %s against (looked for %s; set %s)",
			redactQuery(input), strings.Join(caBundles, ", "), CAFileEnv)
	}
	if _, err := os.Stat(ca); err != nil {
		return nil, fmt.Errorf("CA bundle for https inputs: %w", err)
	}
	return []string{"-tls_verify", "1", "-ca_file", ca}, nil
}

// redactQuery drops a URL's query: a presigned URL's signature belongs in
// no log line.
func redactQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// CAFile returns the CA bundle ffmpeg verifies TLS servers against
// (HLSFLOW_CA_FILE, else the system's), or "" if there is none.
func CAFile() string { return caFile() }
