//go:build cgo

#include <string.h>
#include <netinet/in.h>
#include "shim.h"
#include "_cgo_export.h"

// listen_cb runs on libsrt's receiving thread for every caller's
// handshake, before the connection exists; 0 accepts, -1 rejects.
static int listen_cb(void* opaque, SRTSOCKET ns, int hsversion, const struct sockaddr* peer, const char* streamid) {
	return hlsflowSRTListen((uintptr_t)opaque, ns, hsversion, (struct sockaddr*)peer, (char*)streamid);
}

// The server is named by a number, not a pointer: Go memory may not be
// kept by C.
int hlsflow_srt_listen_callback(SRTSOCKET lsn, uintptr_t id) {
	return srt_listen_callback(lsn, listen_cb, (void*)id);
}

// hlsflow_srt_addr copies an IPv4 or IPv6 socket address out; it returns
// the address length (4 or 16), 0 for another family.
int hlsflow_srt_addr(const struct sockaddr* sa, unsigned char ip[16], int* port) {
	if (sa == NULL) {
		return 0;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in* in = (const struct sockaddr_in*)sa;
		memcpy(ip, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
		return 4;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6* in6 = (const struct sockaddr_in6*)sa;
		memcpy(ip, &in6->sin6_addr, 16);
		*port = ntohs(in6->sin6_port);
		return 16;
	}
	return 0;
}
