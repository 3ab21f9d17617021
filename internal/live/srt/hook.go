//go:build cgo

package srt

/*
#include <string.h>
#include <srt/srt.h>
#include "shim.h"
*/
import "C"

import "unsafe"

// hlsflowSRTListen is libsrt's listen callback (shim.c): the server of id
// decides on the caller before its connection is set up. It lives in a
// file of its own because a cgo file that exports may declare C but not
// define it.
//
//export hlsflowSRTListen
func hlsflowSRTListen(id C.uintptr_t, ns C.SRTSOCKET, hsVersion C.int, peer *C.struct_sockaddr, streamid *C.char) C.int {
	var ip [16]byte
	var port C.int
	n := C.hlsflow_srt_addr(peer, (*C.uchar)(unsafe.Pointer(&ip[0])), &port)
	var sid string
	if streamid != nil {
		sid = C.GoStringN(streamid, C.int(C.strnlen(streamid, maxStreamID+1)))
	}
	if code := onCaller(uintptr(id), int(hsVersion), addrPort(ip[:n], int(port)), sid); code != 0 {
		reject(sock(ns), code)
		return -1
	}
	return 0
}
