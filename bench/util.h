/* ufrpc-bench: small helpers shared by the bench modules (time, addresses, files).
 * Nothing here keeps state; every output buffer is caller-owned and bounded. */
#ifndef UFRPC_BENCH_UTIL_H
#define UFRPC_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Monotonic clock in nanoseconds (uv_hrtime). */
uint64_t ufrpc_bench_now_ns(void);

/* Finds a currently free TCP port on loopback address ip ("127.0.0.1" or "::1") by
 * binding port 0 and closing the socket again. Returns 0 and *port, or a negative
 * ufrpc error. The port may be taken by someone else before it is used. */
int ufrpc_bench_free_port(const char *ip, int *port);

/* Splits "host:port" or "[v6]:port" into host (NUL-terminated, at most hostlen-1
 * bytes) and port (1..65535). Returns 0 or UFRPC_ERR_INVAL. */
int ufrpc_bench_split_hostport(const char *s, char *host, size_t hostlen, int *port);

/* Resolves host (numeric or a name, blocking getaddrinfo) and port into *out.
 * Returns 0 or UFRPC_ERR_DNS. */
int ufrpc_bench_resolve(const char *host, int port, struct sockaddr_storage *out);

/* True when addr is a loopback address (127/8 or ::1). */
int ufrpc_bench_is_loopback(const struct sockaddr *addr);

/* Writes text to path (created 0600, truncated). Returns 0 or UFRPC_ERR_IO. */
int ufrpc_bench_write_file(const char *path, const char *text);

/* Sleeps ms milliseconds (nanosleep, restarted on EINTR, bounded by ms). */
void ufrpc_bench_sleep_ms(int ms);

/* Bounded snprintf into a fixed buffer; returns UFRPC_ERR_LIMIT on truncation. */
int ufrpc_bench_fmt(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
