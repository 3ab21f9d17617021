package edge

import (
	"net"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// newS3 returns the test binary's real S3 server (buckets uploads, media).
func newS3(t testing.TB) *testenv.S3Env { return testenv.S3(t) }

// newStore builds a Store for endpoint with the test credentials; rt, when
// set, sees every request the Store makes.
func newStore(t testing.TB, endpoint string, rt http.RoundTripper) *store.Store {
	cfg := newS3(t).Config()
	cfg.BaseEndpoint = aws.String(endpoint)
	if rt != nil {
		cfg.HTTPClient = &http.Client{Transport: rt}
	}
	return store.New(cfg)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
