//go:build cgo

package srt

/*
#cgo LDFLAGS: -lsrt
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <srt/srt.h>
#include <srt/access_control.h>
#include "shim.h"

// hlsflow_srt_bind binds u to an IPv4 or IPv6 address given as bytes.
static int hlsflow_srt_bind(SRTSOCKET u, const unsigned char* ip, int iplen, int port) {
	if (iplen == 4) {
		struct sockaddr_in sa;
		memset(&sa, 0, sizeof sa);
		sa.sin_family = AF_INET;
		sa.sin_port = htons(port);
		memcpy(&sa.sin_addr, ip, 4);
		return srt_bind(u, (struct sockaddr*)&sa, sizeof sa);
	}
	struct sockaddr_in6 sa6;
	memset(&sa6, 0, sizeof sa6);
	sa6.sin6_family = AF_INET6;
	sa6.sin6_port = htons(port);
	memcpy(&sa6.sin6_addr, ip, 16);
	return srt_bind(u, (struct sockaddr*)&sa6, sizeof sa6);
}

static int hlsflow_srt_sockname(SRTSOCKET u, unsigned char ip[16], int* port) {
	struct sockaddr_storage ss;
	int len = sizeof ss;
	if (srt_getsockname(u, (struct sockaddr*)&ss, &len) != 0) {
		return 0;
	}
	return hlsflow_srt_addr((struct sockaddr*)&ss, ip, port);
}

static SRTSOCKET hlsflow_srt_accept(SRTSOCKET lsn, unsigned char ip[16], int* iplen, int* port) {
	struct sockaddr_storage ss;
	int len = sizeof ss;
	SRTSOCKET s = srt_accept(lsn, (struct sockaddr*)&ss, &len);
	if (s != SRT_INVALID_SOCK) {
		*iplen = hlsflow_srt_addr((struct sockaddr*)&ss, ip, port);
	}
	return s;
}

static int hlsflow_srt_setint(SRTSOCKET u, SRT_SOCKOPT opt, int v) {
	return srt_setsockflag(u, opt, &v, sizeof v);
}

static int hlsflow_srt_wait_in(int eid, int64_t ms) {
	SRT_EPOLL_EVENT ev;
	return srt_epoll_uwait(eid, &ev, 1, ms);
}

static int hlsflow_srt_add_in(int eid, SRTSOCKET u) {
	int ev = SRT_EPOLL_IN | SRT_EPOLL_ERR;
	return srt_epoll_add_usock(eid, u, &ev);
}

static int hlsflow_srt_streamid(SRTSOCKET u, char* buf, int size) {
	int len = size;
	if (srt_getsockflag(u, SRTO_STREAMID, buf, &len) != 0) {
		return -1;
	}
	return len;
}
*/
import "C"

import (
	"fmt"
	"net/netip"
	"runtime"
	"time"
	"unsafe"
)

// lastError is libsrt's error of the calling thread's last call. libsrt
// keeps it per thread, and a goroutine may move to another thread between
// two cgo calls: so every function that reads it locks its goroutine to
// its thread first (lockThread).
func lastError(op string) error {
	code := C.srt_getlasterror(nil)
	switch code {
	case C.SRT_EASYNCRCV, C.SRT_ETIMEOUT:
		return errTimeout
	case C.SRT_ECONNLOST, C.SRT_ENOCONN:
		return errConnLost
	}
	return fmt.Errorf("srt %s: %s", op, C.GoString(C.srt_getlasterror_str()))
}

// lockThread keeps the goroutine on its thread until the returned
// function runs.
func lockThread() func() {
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}

func startup() error {
	defer lockThread()()
	if C.srt_startup() < 0 {
		return lastError("startup")
	}
	// libsrt writes its own log lines to stderr; the server logs what
	// matters (refusals, publishers) itself.
	C.srt_setloglevel(C.LOG_CRIT)
	return nil
}

// cleanup releases startup's hold on the library (counted: it is torn
// down with the last server).
func cleanup() { C.srt_cleanup() }

// listen opens a live-mode listener on addr that asks the server of id
// about every caller.
func listen(addr netip.AddrPort, o options, id uintptr) (sock, error) {
	defer lockThread()()
	s := C.srt_create_socket()
	if s < 0 {
		return -1, lastError("socket")
	}
	fail := func(op string) (sock, error) {
		err := lastError(op)
		C.srt_close(s)
		return -1, err
	}
	// Options set on the listener are inherited by every accepted socket.
	if C.hlsflow_srt_setint(s, C.SRTO_LATENCY, C.int(o.latency.Milliseconds())) != 0 {
		return fail("latency")
	}
	if o.passphrase != "" {
		p := C.CString(o.passphrase)
		defer C.free(unsafe.Pointer(p))
		if C.srt_setsockflag(s, C.SRTO_PASSPHRASE, unsafe.Pointer(p), C.int(len(o.passphrase))) != 0 {
			return fail("passphrase")
		}
	}
	if C.hlsflow_srt_setint(s, C.SRTO_RCVTIMEO, C.int(o.poll.Milliseconds())) != 0 {
		return fail("receive timeout")
	}
	// accept must not block: the poller says when a caller waits, and
	// one that left in between makes accept fail at once. Accepted
	// sockets are made blocking again (accept).
	if C.hlsflow_srt_setint(s, C.SRTO_RCVSYN, 0) != 0 {
		return fail("non-blocking")
	}
	ip := addr.Addr().AsSlice()
	if C.hlsflow_srt_bind(s, (*C.uchar)(unsafe.Pointer(&ip[0])), C.int(len(ip)), C.int(addr.Port())) != 0 {
		return fail("bind " + addr.String())
	}
	if C.hlsflow_srt_listen_callback(s, C.uintptr_t(id)) != 0 {
		return fail("listen callback")
	}
	if C.srt_listen(s, C.int(o.backlog)) != 0 {
		return fail("listen")
	}
	return sock(s), nil
}

// sockName is the address s is bound to.
func sockName(s sock) (netip.AddrPort, error) {
	defer lockThread()()
	var ip [16]byte
	var port C.int
	n := C.hlsflow_srt_sockname(C.SRTSOCKET(s), (*C.uchar)(unsafe.Pointer(&ip[0])), &port)
	if n == 0 {
		return netip.AddrPort{}, lastError("sockname")
	}
	return addrPort(ip[:n], int(port)), nil
}

func addrPort(ip []byte, port int) netip.AddrPort {
	a, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(a.Unmap(), uint16(port))
}

// poller waits for callers on a listener.
type poller C.int

func newPoller(lsn sock) (poller, error) {
	defer lockThread()()
	eid := C.srt_epoll_create()
	if eid < 0 {
		return -1, lastError("epoll")
	}
	if C.hlsflow_srt_add_in(eid, C.SRTSOCKET(lsn)) != 0 {
		err := lastError("epoll add")
		C.srt_epoll_release(eid)
		return -1, err
	}
	return poller(eid), nil
}

// wait reports whether a caller is waiting to be accepted, waiting at most
// d.
func (p poller) wait(d time.Duration) bool {
	return C.hlsflow_srt_wait_in(C.int(p), C.int64_t(d.Milliseconds())) > 0
}

func (p poller) release() { C.srt_epoll_release(C.int(p)) }

// accept takes a connected caller off lsn.
func accept(lsn sock) (sock, netip.AddrPort, error) {
	defer lockThread()()
	var ip [16]byte
	var n, port C.int
	s := C.hlsflow_srt_accept(C.SRTSOCKET(lsn), (*C.uchar)(unsafe.Pointer(&ip[0])), &n, &port)
	if s < 0 {
		return -1, netip.AddrPort{}, lastError("accept")
	}
	// Receiving blocks for at most the receive timeout the listener set.
	if C.hlsflow_srt_setint(s, C.SRTO_RCVSYN, 1) != 0 {
		err := lastError("blocking")
		C.srt_close(s)
		return -1, netip.AddrPort{}, err
	}
	return sock(s), addrPort(ip[:n], int(port)), nil
}

// recv reads one message into b; errTimeout when none came within the
// socket's receive timeout (the listener's poll), errConnLost when the
// peer is gone.
func recv(s sock, b []byte) (int, error) {
	defer lockThread()()
	n := C.srt_recvmsg(C.SRTSOCKET(s), (*C.char)(unsafe.Pointer(&b[0])), C.int(len(b)))
	if n < 0 {
		return 0, lastError("receive")
	}
	return int(n), nil
}

// streamID is the streamid the caller of s sent.
func streamID(s sock) string {
	var buf [maxStreamID + 1]C.char
	n := C.hlsflow_srt_streamid(C.SRTSOCKET(s), &buf[0], C.int(len(buf)))
	if n <= 0 {
		return ""
	}
	return C.GoStringN(&buf[0], n)
}

func closeSock(s sock) { C.srt_close(C.SRTSOCKET(s)) }

// reject sets the reason a caller refused in the listen callback is told.
func reject(s sock, code int) { C.srt_setrejectreason(C.SRTSOCKET(s), C.int(code)) }
