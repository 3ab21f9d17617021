package testenv

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hlsflow/hlsflow/internal/localcloud/s3server"
)

// init turns a re-executed test binary into the S3 server process: it
// serves until its stdin closes (the parent test binary ended), then
// removes its data dir and exits without running any test.
func init() {
	dir := os.Getenv(childEnv)
	if dir == "" {
		return
	}
	os.Exit(runChild(dir))
}

func runChild(dir string) int {
	defer os.RemoveAll(dir)
	var srv *s3server.Server
	var err error
	// A port picked free can be taken before the gateway binds it; retry.
	for range 5 {
		var addr string
		addr, err = freePort()
		if err != nil {
			break
		}
		srv, err = s3server.Start(context.Background(), s3server.Config{
			DataDir:   dir,
			Addr:      addr,
			AccessKey: AccessKey,
			SecretKey: SecretKey,
			Region:    Region,
			Buckets:   []string{BucketUploads, BucketMedia},
		})
		if err == nil {
			fmt.Printf("%shttp://%s\n", readyPrefix, addr)
			break
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv s3: %v\n", err)
		return 1
	}

	parentGone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(parentGone)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-parentGone:
	case <-sig:
	case <-srv.Done():
	}
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	return 0
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a free port: %w", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}
