/* ufrpc — the reply to an HTTP CONNECT request sent to an HTTP proxy (RFC 9110
 * §9.3.6), parsed sans-I/O and shaped like picohttpparser: the function looks at
 * the bytes received so far, buf[0..len), and returns
 *   > 0              the length of the reply head (status line and header lines
 *                    through the empty line), *status set: bytes after it belong
 *                    to the tunnel;
 *   UFRPC_ERR_AGAIN  no empty line yet: read more and call again with the longer
 *                    buffer (the caller bounds how long it waits and how much it
 *                    keeps);
 *   UFRPC_ERR_PROXY_PROTOCOL  the status line is not "HTTP/1.<d> <3 digits>"
 *                    followed by a space or the line end (known as soon as the
 *                    status line is complete).
 * Pure: nothing is allocated or kept. Used by net/dial.c. */
#ifndef UFRPC_PROTO_HTTP_CONNECT_H
#define UFRPC_PROTO_HTTP_CONNECT_H

#include <stddef.h>
#include <stdint.h>

long ufrpc_http_connect_parse_reply(const uint8_t *buf, size_t len, int *status);

#endif
