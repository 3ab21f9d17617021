// C side of the binding: libsrt calls C function pointers, which cannot
// be Go functions, so these trampolines sit between.
#include <stdint.h>
#include <srt/srt.h>

int hlsflow_srt_listen_callback(SRTSOCKET lsn, uintptr_t id);
int hlsflow_srt_addr(const struct sockaddr* sa, unsigned char ip[16], int* port);
