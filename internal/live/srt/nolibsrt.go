//go:build !cgo

package srt

import (
	"errors"
	"net/netip"
	"time"
)

// Without cgo there is no libsrt: the server does not start, and
// everything else builds (a CGO_ENABLED=0 build of the ingest runs RTMP
// and UDP).
var errNoCgo = errors.New("srt: this program was built without cgo, so without libsrt")

func startup() error { return errNoCgo }
func cleanup()       {}

func listen(netip.AddrPort, options, uintptr) (sock, error) { return -1, errNoCgo }
func sockName(sock) (netip.AddrPort, error)                 { return netip.AddrPort{}, errNoCgo }
func accept(sock) (sock, netip.AddrPort, error)             { return -1, netip.AddrPort{}, errNoCgo }
func recv(sock, []byte) (int, error)                        { return 0, errNoCgo }
func streamID(sock) string                                  { return "" }
func closeSock(sock)                                        {}

type poller int

func newPoller(sock) (poller, error)   { return -1, errNoCgo }
func (poller) wait(time.Duration) bool { return false }
func (poller) release()                {}
