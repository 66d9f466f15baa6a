/* ufrpc — HTTP/1.1 server side shared by the http_proxy, static_file and
 * http*2http* plugins (internal to client/plugin*.c).
 *
 * One struct hs per downstream connection (the work stream, or TLS over it).
 * Requests are parsed with llhttp one at a time (pipelined bytes wait in the
 * pending input, bounded by one read delivery); the request head is collected
 * into a buffer of at most UFRPC_PLUGIN_MAX_HEAD bytes and UFRPC_PLUGIN_MAX_HEADERS
 * fields (more: 431 and close). Garbage: 400 and close, with a logged reason.
 *
 * The handler (struct hs_handler) sees: the head (it may pause parsing and resume
 * later), body pieces (decoded; slices of refcounted read buffers valid during
 * the call, take a reference to keep them), the end of the request, CONNECT/upgrade.
 * It answers with ufrpc_hs_write() and ends the exchange with ufrpc_hs_response_done().
 *
 * Lifetime: the hs is freed after the downstream stream, its timer, the
 * upstream stream (fwd) and every write callback referencing it are gone
 * (refcount `refs`); handler->destroy runs just before the free.
 */
#ifndef UFRPC_CLIENT_PLUGIN_HTTP_H
#define UFRPC_CLIENT_PLUGIN_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/plugins/plugin_internal.h"
#include "llhttp.h"
#include "proto/http_reqhead.h"

/* Max bytes in flight towards either side before reading the other stops. */
#define HS_MAX_INFLIGHT (256u * 1024u)

struct hs;

enum { HS_CONTINUE = 0, HS_PAUSE = 1, HS_NO_BODY_ERROR = -1 };

struct hs_handler {
    /* Head complete. HS_CONTINUE: go on with the body; HS_PAUSE: stop parsing
     * until ufrpc_hs_resume(); <0: the handler has ended the connection (ufrpc_hs_fail/close). */
    int (*on_head)(struct hs *h);
    void (*on_body)(struct hs *h, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len);
    void (*on_end)(struct hs *h); /* request fully received */
    /* CONNECT accepted by llhttp: the bytes after the head are pending input.
     * NULL: 400 and close. */
    void (*on_connect)(struct hs *h);
    /* true: after a non-CONNECT upgrade request (Upgrade + Connection: upgrade)
     * the bytes that follow stay pending and parsing stops; the handler takes
     * them with ufrpc_hs_detach (101) or ends the connection after its response.
     * false: those bytes are dropped and the connection ends after the response. */
    bool upgrades;
    /* The connection is going away (close the upstream; called once). */
    void (*on_teardown)(struct hs *h);
    /* Downstream writes drained below the bound (resume upstream reading). */
    void (*on_drain)(struct hs *h);
    /* Release handler state (hs->ctx); called once, right before the free. */
    void (*destroy)(struct hs *h);
};

struct hs {
    struct pconn base;
    const struct hs_handler *handler;
    void *ctx; /* handler state */
    struct ufrpc_stream *down;
    uv_timer_t timer;
    unsigned refs;
    llhttp_t parser;
    llhttp_settings_t settings;
    /* pending input: a slice of a read buffer not parsed yet */
    ufrpc_rbuf_t *in_buf;
    const uint8_t *in_data;
    size_t in_len;
    ufrpc_rbuf_t *cur_buf; /* buffer being parsed (for on_body references) */
    /* request head: target and fields (UFRPC_PLUGIN_MAX_HEAD bytes, _HEADERS fields) */
    struct ufrpc_http_reqhead head;
    bool head_done, req_done, resp_done, resp_started;
    bool req_keep_alive;
    bool paused;   /* handler paused parsing (HS_PAUSE) */
    bool closing;  /* teardown started */
    bool shutting; /* graceful: shutdown then close */
    bool down_eof;
    bool down_reading;
    bool tls;        /* downstream is TLS (https2*) */
    bool must_close; /* end the connection after this exchange */
    bool in_drive;
    bool poke; /* run the parser once more although no input is pending */
    struct {   /* ufrpc_hs_delayed_response */
        int status;
        bool close;
        const char *reason, *extra, *body;
    } delayed;
    int head_error; /* HTTP status to answer a head we refused (431) */
    char src_addr[80];
    struct ufrpc_stream *up; /* handler's upstream (for backpressure checks) */
};

/* Starts serving `down` (already TLS-wrapped if need be). Takes ownership. */
int ufrpc_hs_start(ufrpc_plugin_t *p, struct ufrpc_stream *down, const struct hs_handler *handler,
                   void *ctx, const char *src_addr, bool tls);

/* Head accessors (valid until the next request starts). */
const char *ufrpc_hs_method(struct hs *h); /* "GET" */
int ufrpc_hs_method_id(struct hs *h);      /* llhttp_method_t */
/* Case-insensitive header lookup; value pointer and length, NULL if absent. */
const char *ufrpc_hs_header(struct hs *h, const char *name, size_t *len);
/* True when the plugin asks no httpUser/httpPassword, or when the request's header
 * (Authorization, Proxy-Authorization) carries them (Basic). */
bool ufrpc_hs_auth_ok(struct hs *h, const char *header);
static inline const char *hs_str(const struct hs *h, uint32_t off)
{
    return ufrpc_http_reqhead_str(&h->head, off);
}

/* Writes response bytes downstream (by reference when buf != NULL). 0 or <0. */
int ufrpc_hs_write(struct hs *h, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len);
/* A complete small response: status line, extra header lines (each ending in
 * CRLF, may be NULL), Content-Length of body. close: adds Connection: close and
 * ends the connection after it. */
void ufrpc_hs_simple_response(struct hs *h, int status, const char *reason,
                              const char *extra_headers, const char *body, bool close);
/* ufrpc_hs_simple_response after delay_ms (failed authentication: frpc waits
 * 200 ms), parsing paused meanwhile and resumed after it. The strings must stay
 * valid until then (string literals). Returns HS_PAUSE, for on_head to return. */
int ufrpc_hs_delayed_response(struct hs *h, uint32_t delay_ms, int status, const char *reason,
                              const char *extra_headers, const char *body, bool close);
/* The response is complete; keep_alive false ends the connection after it. */
void ufrpc_hs_response_done(struct hs *h, bool keep_alive);
/* Resumes parsing after HS_PAUSE. */
void ufrpc_hs_resume(struct hs *h);
/* Re-evaluates reading after upstream writes drained. */
void ufrpc_hs_kick(struct hs *h);
/* Ends the connection now (reason logged when non-NULL). */
void ufrpc_hs_fail(struct hs *h, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Graceful end: after queued writes. */
void ufrpc_hs_end(struct hs *h);
/* True while downstream has too much queued (fwd stops reading upstream). */
bool ufrpc_hs_down_congested(const struct hs *h);
/* Reference counting for callbacks that point at h. */
void ufrpc_hs_ref(struct hs *h);
void ufrpc_hs_unref(struct hs *h);

/* Takes the downstream stream out of h (for CONNECT tunnels) with the pending
 * bytes (*buf referenced for the caller, may be NULL when none); h then goes
 * away without closing it. */
struct ufrpc_stream *ufrpc_hs_detach(struct hs *h, ufrpc_rbuf_t **buf, const uint8_t **data,
                                     size_t *len);

/* Per-request routing for the forwarder (the path router, client/plugins/plugin_router.c):
 * pick() runs for every request head, before anything is sent upstream. */
struct fwd_route {
    long index;            /* the route's index (for done()), -1: none */
    const char *host;      /* local service; borrowed, stable while the plugin lives */
    uint16_t port;
    const char *target;    /* request-target to send (valid during the pick/on_head call) */
    size_t target_len;
    const char *host_rewrite; /* NULL: the Host as received */
    const char *prefix;       /* stripped prefix: X-Forwarded-Prefix and the response
                                 head rewrite (proto/http_route.h); NULL: none */
};
struct fwd_router {
    /* 0: *out filled. <0: no route; pick has answered the request with
     * ufrpc_hs_simple_response (keep-alive) and its body is dropped. `buf`
     * (cap bytes) may hold out->target. */
    int (*pick)(struct hs *h, void *data, struct fwd_route *out, char *buf, size_t cap);
    /* One exchange ended: final status (0 when none was seen), request bytes from
     * the user (head and body), response bytes to the user, microseconds from the
     * head to the end of the response (or the 101). index as picked (-1: none). */
    void (*done)(void *data, long index, int status, uint64_t bytes_in, uint64_t bytes_out,
                 uint64_t usec);
};

/* The forwarder (client/plugins/plugin_fwd.c) */
struct fwd_opts {
    const char *target_host; /* NULL: per request from the absolute URI (http_proxy) */
    uint16_t target_port;
    bool tls;                 /* upstream TLS (http2https, https2https) */
    const char *host_rewrite; /* hostHeaderRewrite */
    const struct ufrpc_cfg_map *set_headers;
    int xfwd;        /* 0 drop X-Forwarded-*, 1 keep, 2 set (https2*) */
    bool proxy_mode; /* http_proxy: drop Proxy-* headers, absolute URI */
    const struct fwd_router *router; /* NULL: one fixed target */
    void *router_data;
};
extern const struct hs_handler ufrpc_pl_fwd_handler;
extern const struct hs_handler ufrpc_pl_http_proxy_handler; /* fwd ctx with proxy_mode */
/* ctx for ufrpc_pl_fwd_handler: */
void *ufrpc_pl_fwd_ctx_new(const struct fwd_opts *o);

#endif
