/* ufrpc — TCP streams (struct ufrpc_stream over uv_tcp_t), unix-socket streams
 * (the same implementation over uv_pipe_t) and a TCP listener.
 *
 * Stream objects follow net/stream.h: allocated here, freed after their close
 * callback. The listener is allocated by ufrpc_tcp_listen and freed after the
 * callback given to ufrpc_tcp_listener_close. Accepted streams belong to the
 * accept callback's receiver (it must close them).
 *
 * Reads go into 64 KiB refcounted buffers from the stream's own pool
 * (net/stream.h), taken when libuv asks for one and dropped by the stream as soon
 * as the read is delivered: a consumer that took a reference returns it when it
 * is done, so between reads an idle stream holds no buffer, and while consumers
 * hold some the pool keeps up to UFRPC_READ_POOL_FREE returned ones for the next
 * reads. The pool is freed with the stream; buffers consumers still hold then
 * stay valid until their last unref.
 */
#ifndef UFRPC_NET_TCP_H
#define UFRPC_NET_TCP_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "net/stream.h"

/* A TCP stream around a fresh uv_tcp_t (initialised, not connected). NULL with
 * *err set on failure. */
struct ufrpc_stream *ufrpc_tcp_new(uv_loop_t *loop, int *err);
/* The underlying handle, for bind/connect/accept/getpeername. Valid until close.
 * Its `data` field belongs to the stream; use the stream's `data` instead. */
uv_tcp_t *ufrpc_tcp_handle(struct ufrpc_stream *s);
/* True if s was created by ufrpc_tcp_new (so ufrpc_tcp_handle may be called). */
bool ufrpc_stream_is_tcp(const struct ufrpc_stream *s);
/* Connects a unix-socket stream to path. The stream is returned at once (NULL with
 * *err set when it cannot be created); cb runs once with 0 or <0 when the connect
 * ends, never after ufrpc_stream_close(). Reads, writes and buffers behave as for
 * TCP; ufrpc_stream_is_tcp() is false for it. The caller closes it either way. */
typedef void (*ufrpc_pipe_connect_cb)(struct ufrpc_stream *s, int status, void *arg);
struct ufrpc_stream *ufrpc_pipe_connect(uv_loop_t *loop, const char *path,
                                        ufrpc_pipe_connect_cb cb, void *arg, int *err);
/* TCP_NODELAY on/off; keepalive with the given idle seconds, <= 0 disables it. */
int ufrpc_tcp_set_options(struct ufrpc_stream *s, bool nodelay, int keepalive_s);

typedef struct ufrpc_tcp_listener ufrpc_tcp_listener_t;
/* status < 0: accept failed (the listener stays open); conn is NULL then. */
typedef void (*ufrpc_tcp_accept_cb)(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *conn);

/* Listens on ip ("127.0.0.1", "::1", ...) and port (0 = any free port). Accepted
 * connections get TCP_NODELAY. */
ufrpc_tcp_listener_t *ufrpc_tcp_listen(uv_loop_t *loop, const char *ip, uint16_t port,
                                       ufrpc_tcp_accept_cb cb, void *data, int *err);
uint16_t ufrpc_tcp_listener_port(const ufrpc_tcp_listener_t *l);
void *ufrpc_tcp_listener_data(const ufrpc_tcp_listener_t *l);
/* Stops listening; cb (may be NULL) runs when the handle is closed, then l is freed. */
void ufrpc_tcp_listener_close(ufrpc_tcp_listener_t *l, void (*cb)(void *data));

#endif
