/* ufrpc — dial failures in Go's words.
 *
 * frpc prints a failed dial as Go's net package words it ("dial tcp
 * 127.0.0.1:8080: connect: connection refused"), and users' scripts and alerting
 * match those lines. This renders a ufrpc dial status the same way, so that every
 * message about a failed dial (server, local service, health check) reads as
 * frpc's. Pure formatting: nothing is kept. */
#ifndef UFRPC_NET_DIAL_ERROR_H
#define UFRPC_NET_DIAL_ERROR_H

#include <stddef.h>
#include <stdint.h>

/* Writes, NUL-terminated and truncated to cap, the text Go's net.Dial("tcp")
 * error would have for dialing host:port with this outcome:
 *   UFRPC_ERR_CONNECT_REFUSED  "dial tcp H:P: connect: connection refused"
 *   UFRPC_ERR_TIMEOUT          "dial tcp H:P: i/o timeout"
 *   UFRPC_ERR_DNS              "dial tcp: lookup H: no such host"
 *   anything else              "dial tcp H:P: <ufrpc_strerror(status)>"
 * H:P is host and port joined as Go's net.JoinHostPort does ("[::1]:80" for an
 * address holding ':'). */
void ufrpc_dial_error_text(const char *host, uint16_t port, int status, char *out, size_t cap);

#endif
