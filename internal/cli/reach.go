package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
	"time"
)

// reachTimeout bounds the check: a local listener answers in microseconds;
// a firewalled remote address would otherwise hang the command.
const reachTimeout = 3 * time.Second

// checkReachable dials addr (host:port or URL) once, so a command that
// needs a running system says at once, in one line, that nothing is there
// — rather than after the SDK's retries, in its error chain. flag is the
// command-line flag that sets the address, what names the service.
func checkReachable(ctx context.Context, what, flag, addr string) error {
	hp, err := dialAddr(addr)
	if err != nil {
		return fmt.Errorf("%w: --%s %q: %v", errUsage, flag, addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", hp)
	if err == nil {
		conn.Close()
		return nil
	}
	why := "nothing answers"
	if !errors.Is(err, syscall.ECONNREFUSED) {
		why = "cannot connect (" + shortNetError(err) + ")"
	}
	return fmt.Errorf("%s at %s (%s): start the local system with `make up` (or `hlsflow up`) in the hlsflow folder, or pass --%s with the address it listens on",
		why, hp, what, flag)
}

// dialAddr turns a flag value into the host:port to dial.
func dialAddr(addr string) (string, error) {
	u, err := url.Parse(httpURL(addr))
	if err != nil || u.Host == "" {
		return "", errors.New("not a host:port or URL")
	}
	if u.Port() != "" {
		return u.Host, nil
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443"), nil
	}
	return net.JoinHostPort(u.Hostname(), "80"), nil
}

// shortNetError drops the "dial tcp 1.2.3.4:5:" prefix a *net.OpError adds.
func shortNetError(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}
