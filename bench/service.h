/* ufrpc-bench: the local service that tunnels under test forward to.
 *
 * One TCP listener on a loopback address, run by its own thread and libuv loop so
 * that serving and load generation do not share a core. The first byte of each
 * connection picks its role (the load generators in load.c speak the other side):
 *
 *   0x01 SINK    the rest of the stream is segments, each a u32 BE byte count
 *                announced first and then that many bytes, which are discarded and
 *                counted; a zero count ends the stream: the service then answers
 *                16 bytes, bytes counted (u64 big endian) and nanoseconds from the
 *                command byte to the end marker (u64 BE), and closes. An EOF before
 *                the end marker closes without a report. (No half-close: frps ends
 *                both directions of a user connection at the first EOF.)
 *   0x02 SOURCE  followed by a u32 BE duration in ms (at most 3 600 000): the service
 *                writes as fast as the peer reads for that long, then closes.
 *   0x03 ECHO    every byte is echoed back until the peer's EOF.
 *   'A'..'Z'     an HTTP/1.1 request: every request is answered "200 OK" with the
 *                2-byte body "ok"; keep-alive as the request asks.
 * Any other first byte closes the connection. Connections are capped (4096) and
 * none lives longer than two hours. */
#ifndef UFRPC_BENCH_SERVICE_H
#define UFRPC_BENCH_SERVICE_H

#include <stdint.h>

#define UFRPC_BENCH_CMD_SINK 0x01
#define UFRPC_BENCH_CMD_SOURCE 0x02
#define UFRPC_BENCH_CMD_ECHO 0x03
#define UFRPC_BENCH_SINK_REPLY_LEN 16
#define UFRPC_BENCH_SOURCE_MAX_MS 3600000u

typedef struct ufrpc_bench_service ufrpc_bench_service_t;

/* Starts the service on ip:port (port 0 picks one). On success *out owns the
 * service and its thread and *bound_port is the port. Returns 0 or a negative
 * ufrpc error (UFRPC_ERR_ADDR_IN_USE, UFRPC_ERR_NET, UFRPC_ERR_NOMEM). */
int ufrpc_bench_service_start(const char *ip, int port, ufrpc_bench_service_t **out,
                              int *bound_port);

/* Closes every connection, joins the thread and frees svc (NULL is allowed). */
void ufrpc_bench_service_stop(ufrpc_bench_service_t *svc);

#endif
