/* ufrpc-test-frps — websocket on the bind port, as frps serves it (frp
 * server/service.go v0.70.0: its muxer sends connections whose first 10 bytes
 * are "GET /~!frp" to a websocket listener, whose connections then go through
 * the same TLS sniffing as plain ones). Test code, not product (see peer.h).
 *
 * peer_ws_sniff reads up to the first 10 bytes of a fresh TCP stream, puts them
 * back (unread) and tells whether they were the websocket prefix. A websocket
 * connection gets a server-side upgrade (net/ws.h); the first delivery inside
 * the websocket is then sniffed like frps does (0x17: dropped and TLS; 0x16: TLS;
 * else plaintext) and put back in front with a prefix stream. */
#include <stdlib.h>
#include <string.h>

#include "net/prefix.h"
#include "net/ws.h"
#include "peer.h"
#include "proto/error.h"

static const char prefix[] = "GET /~!frp";
#define PREFIX_LEN (sizeof prefix - 1)

struct wsniff {
    struct peer *p;
    void (*cb)(struct peer *p, struct ufrpc_stream *st, int is_ws);
    uint8_t buf[PREFIX_LEN];
    size_t have;
};

static void sniff_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *rb, const uint8_t *data,
                       size_t len)
{
    struct wsniff *w = st->data;
    (void)rb;
    if (status < 0) {
        ufrpc_stream_close(st, NULL);
        free(w);
        return;
    }
    size_t n = len < PREFIX_LEN - w->have ? len : PREFIX_LEN - w->have;
    memcpy(w->buf + w->have, data, n);
    w->have += n;
    int match = memcmp(w->buf, prefix, w->have) == 0;
    if (match && w->have < PREFIX_LEN)
        return; /* frps waits for all 10 bytes */
    ufrpc_stream_read_stop(st);
    /* everything goes back in one piece: the bytes kept plus what followed them
     * (one unread at a time is what a TCP stream takes) */
    int rc = UFRPC_ERR_NOMEM;
    ufrpc_rbuf_t *all = ufrpc_rbuf_new(w->have + (len - n));
    if (all != NULL) {
        memcpy(all->base, w->buf, w->have);
        memcpy(all->base + w->have, data + n, len - n);
        rc = ufrpc_stream_unread(st, all, all->base, w->have + (len - n));
        ufrpc_rbuf_unref(all);
    }
    struct peer *p = w->p;
    void (*cb)(struct peer *, struct ufrpc_stream *, int) = w->cb;
    free(w);
    st->data = NULL;
    if (rc < 0) {
        ufrpc_stream_close(st, NULL);
        return;
    }
    cb(p, st, match);
}

int peer_ws_sniff(struct peer *p, struct ufrpc_stream *st,
                  void (*cb)(struct peer *p, struct ufrpc_stream *st, int is_ws))
{
    struct wsniff *w = calloc(1, sizeof *w);
    if (w == NULL)
        return UFRPC_ERR_NOMEM;
    w->p = p;
    w->cb = cb;
    st->data = w;
    int rc = ufrpc_stream_read_start(st, sniff_read);
    if (rc < 0)
        free(w);
    return rc;
}

/* ---- inside the websocket -------------------------------------------------------------- */
struct wsconn {
    struct peer *p;
    void (*ready)(struct peer *p, struct ufrpc_stream *st, int kind);
};

static void inner_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *rb, const uint8_t *data,
                       size_t len)
{
    struct wsconn *c = st->data;
    (void)rb;
    if (status < 0) {
        peer_event("ws-closed", "status=%s", ufrpc_errname(status));
        ufrpc_stream_close(st, NULL);
        free(c);
        return;
    }
    if (len == 0)
        return;
    ufrpc_stream_read_stop(st);
    int kind = data[0] == 0x17 ? UFRPC_SNIFF_TLS_0x17
               : data[0] == 0x16 ? UFRPC_SNIFF_TLS
                                 : UFRPC_SNIFF_PLAIN;
    if (kind == UFRPC_SNIFF_TLS_0x17) {
        data++;
        len--;
    }
    struct peer *p = c->p;
    void (*ready)(struct peer *, struct ufrpc_stream *, int) = c->ready;
    free(c);
    st->data = NULL;
    int err;
    struct ufrpc_stream *ps = ufrpc_prefix_stream_new(st, data, len, &err);
    if (ps == NULL)
        return; /* st was closed */
    ready(p, ps, kind);
}

static void start_inner(struct wsconn *c, struct ufrpc_stream *st);

static void on_ws_handshake(struct ufrpc_stream *st, int status)
{
    struct wsconn *c = st->data;
    if (status < 0) {
        char why[256];
        ufrpc_ws_failure_text(st, why, sizeof why);
        peer_event("ws", "ok=0 error=%s why=\"%s\"", ufrpc_errname(status), why);
        ufrpc_stream_close(st, NULL);
        free(c);
        return;
    }
    peer_event("ws", "ok=1");
    start_inner(c, st);
}

/* sniffs the first delivery of st (owned by c) */
static void start_inner(struct wsconn *c, struct ufrpc_stream *st)
{
    st->data = c;
    if (c->p->o.tls == 0) { /* no sniffing at all, as for plain TCP */
        struct peer *p = c->p;
        void (*ready)(struct peer *, struct ufrpc_stream *, int) = c->ready;
        free(c);
        st->data = NULL;
        ready(p, st, UFRPC_SNIFF_PLAIN);
        return;
    }
    if (ufrpc_stream_read_start(st, inner_read) < 0) {
        ufrpc_stream_close(st, NULL);
        free(c);
    }
}

void peer_sniff_inner(struct peer *p, struct ufrpc_stream *st,
                      void (*ready)(struct peer *p, struct ufrpc_stream *st, int kind))
{
    struct wsconn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        ufrpc_stream_close(st, NULL);
        return;
    }
    c->p = p;
    c->ready = ready;
    start_inner(c, st);
}

void peer_ws_accept(struct peer *p, struct ufrpc_stream *st,
                    void (*ready)(struct peer *p, struct ufrpc_stream *st, int kind))
{
    struct wsconn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        ufrpc_stream_close(st, NULL);
        return;
    }
    c->p = p;
    c->ready = ready;
    peer_event("accept-ws", "%s", "");
    int err;
    if (ufrpc_ws_server_new(st, 10000, on_ws_handshake, c, &err) == NULL) {
        peer_event("ws", "ok=0 error=%s", ufrpc_errname(err));
        free(c);
    }
}
