/* ufrpc — stcp / sudp / xtcp visitors (see visitor.h). */
#include "client/core/visitor.h"
#include "client/core/xtcp_tunnel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/core/udp_channel.h"
#include "net/prefix.h"
#include "net/pump.h"
#include "net/tcp.h"
#include "proto/auth.h"
#include "proto/byteorder.h"
#include "proto/error.h"
#include "proto/frame.h"
#include "proto/msg.h"
#include "proto/frame_v2.h"

/* 0 in a build without xtcp (UFRPC_WITH_XTCP=OFF, defined for this file by
 * CMakeLists.txt): config/unsupported.c refuses xtcp visitors, and their paths
 * here go (a visitor of that type left over would close its connections). */
#ifndef UFRPC_WITH_XTCP
#define UFRPC_WITH_XTCP 1
#endif

/* ---- sans-I/O -------------------------------------------------------------------- */
static int new_conn_frame(enum ufrpc_wire_version ver, const char *run_id, const char *user,
                          const char *server_user, const char *server_name,
                          const char *secret_key, int64_t timestamp, bool use_encryption,
                          bool use_compression, uint8_t **out, size_t *out_len);

int ufrpc_visitor_new_conn_frame(const char *run_id, const char *user, const char *server_user,
                                 const char *server_name, const char *secret_key,
                                 int64_t timestamp, bool use_encryption, bool use_compression,
                                 uint8_t **out, size_t *out_len)
{
    return new_conn_frame(UFRPC_WIRE_V1, run_id, user, server_user, server_name, secret_key,
                          timestamp, use_encryption, use_compression, out, out_len);
}

static int new_conn_frame(enum ufrpc_wire_version ver, const char *run_id, const char *user,
                          const char *server_user, const char *server_name,
                          const char *secret_key, int64_t timestamp, bool use_encryption,
                          bool use_compression, uint8_t **out, size_t *out_len)
{
    if (server_name == NULL || out == NULL || out_len == NULL)
        return UFRPC_ERR_INVAL;
    const char *u = (server_user != NULL && server_user[0] != '\0') ? server_user : user;
    char key[UFRPC_AUTH_KEY_LEN + 1];
    int rc = ufrpc_auth_key_str(secret_key, timestamp, key);
    if (rc < 0)
        return rc;
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_NEW_VISITOR_CONN);
    struct ufrpc_msg_new_visitor_conn *n = &m.u.new_visitor_conn;
    size_t nl = strlen(server_name) + (u != NULL ? strlen(u) : 0) + 2;
    n->proxy_name = malloc(nl);
    if (n->proxy_name == NULL) {
        rc = UFRPC_ERR_NOMEM;
        goto out;
    }
    if (u != NULL && u[0] != '\0')
        snprintf(n->proxy_name, nl, "%s.%s", u, server_name);
    else
        snprintf(n->proxy_name, nl, "%s", server_name);
    if ((rc = ufrpc_msg_set_str(&n->run_id, run_id)) < 0 ||
        (rc = ufrpc_msg_set_str(&n->sign_key, key)) < 0)
        goto out;
    n->timestamp = timestamp;
    n->use_encryption = use_encryption;
    n->use_compression = use_compression;
    rc = ver == UFRPC_WIRE_V2 ? ufrpc_wire_encode(&m, ver, true, out, out_len)
                              : ufrpc_msg_encode_frame(&m, out, out_len);
out:
    ufrpc_msg_free(&m);
    return rc;
}

/* ---- objects ----------------------------------------------------------------------- */
enum { P_OPEN, P_HS, P_RUN, P_END };

struct witem {
    struct ufrpc_stream_write req;
    uv_buf_t buf;
    struct witem *next;
    struct ufrpc_visitor *v;
    struct vconn *c; /* set when written; valid in the write callback */
    size_t len;
    uint8_t bytes[];
};

struct vconn {
    struct ufrpc_visitor *v;
    struct vconn *next, *prev;
    int sudp;
    int phase;
    int refs; /* open callback pending, timer, owned streams, pump */
    int reason;
    struct ufrpc_stream *user; /* stcp, until the pump takes it */
    struct ufrpc_stream *srv;  /* to frps: raw during the handshake; sudp: wrapped */
    ufrpc_pump_t *pump;
    uv_timer_t timer;
    struct ufrpc_stream_write hw;
    uv_buf_t hb;
    uint8_t *hframe;
    struct ufrpc_wire_reader dec;
};

struct ufrpc_visitor {
    struct ufrpc_visitor_env env;
    char *name, *user, *server_user, *server_name, *sk, *bind_addr, *fallback_to;
    ufrpc_visitor_type type;
    bool enc, comp;
    int64_t bind_port;
    ufrpc_tcp_listener_t *l;
    uint16_t port;
    uv_udp_t udp;
    uv_timer_t ping;
    uint8_t *rbuf;
    int rbuf_busy;
    struct vconn *conns;
    struct vconn *sess; /* sudp: the one stream */
    /* xtcp */
    ufrpc_xtcp_tunnel_t *xt;     /* protocol kcp with a control to talk to */
    struct xwait *xw_head;       /* user connections waiting for the tunnel */
    size_t nxw;
    uint64_t fallback_timeout_ms;
    uv_timer_t xtimer;           /* the earliest waiting deadline */
    struct witem *pend_head, *pend_tail; /* sudp frames waiting for the stream */
    size_t qbytes; /* sudp frames pending + in flight */
    int handles;   /* listener / udp socket / ping timer not yet closed */
    int closing;
    void (*close_cb)(void *data);
    void *close_data;
    struct ufrpc_visitor_stats st;
};

struct xwait {
    struct xwait *next;
    struct ufrpc_stream *user;
    uint64_t deadline;
};

static void conn_end(struct vconn *c, int reason);
static void sudp_flush(struct ufrpc_visitor *v);

static void visitor_maybe_free(struct ufrpc_visitor *v)
{
    if (!v->closing || v->handles > 0 || v->conns != NULL)
        return;
    while (v->pend_head != NULL) {
        struct witem *w = v->pend_head;
        v->pend_head = w->next;
        free(w);
    }
    if (v->close_cb != NULL)
        v->close_cb(v->close_data);
    free(v->rbuf);
    free(v->name);
    free(v->user);
    free(v->server_user);
    free(v->server_name);
    free(v->sk);
    free(v->bind_addr);
    free(v->fallback_to);
    free(v);
}

static void conn_unref(struct vconn *c)
{
    if (--c->refs > 0)
        return;
    struct ufrpc_visitor *v = c->v;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        v->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    v->st.conns_active--;
    free(c->hframe);
    free(c);
    visitor_maybe_free(v);
}

static void on_timer_closed(uv_handle_t *h)
{
    conn_unref(h->data);
}

static void on_stream_closed(struct ufrpc_stream *s)
{
    conn_unref(s->data);
}

static void conn_end(struct vconn *c, int reason)
{
    if (c->phase == P_END)
        return;
    if (c->phase != P_RUN && reason != UFRPC_ERR_CANCELED)
        c->v->st.conns_failed++;
    c->phase = P_END;
    c->reason = reason;
    if (c->v->sess == c)
        c->v->sess = NULL;
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
    if (c->user != NULL) {
        ufrpc_stream_close(c->user, on_stream_closed);
        c->user = NULL;
    }
    if (c->srv != NULL) {
        ufrpc_stream_close(c->srv, on_stream_closed);
        c->srv = NULL;
    }
    if (c->pump != NULL)
        ufrpc_pump_abort(c->pump);
}

static struct vconn *conn_new(struct ufrpc_visitor *v, int sudp)
{
    struct vconn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->v = v;
    c->sudp = sudp;
    c->phase = P_OPEN;
    uv_timer_init(v->env.loop, &c->timer);
    c->timer.data = c;
    c->refs = 1; /* the timer */
    ufrpc_wire_reader_init(&c->dec, v->env.wire == UFRPC_WIRE_V2 ? UFRPC_WIRE_V2 : UFRPC_WIRE_V1,
                           false);
    c->next = v->conns;
    if (v->conns != NULL)
        v->conns->prev = c;
    v->conns = c;
    v->st.conns_total++;
    v->st.conns_active++;
    return c;
}

/* ---- sudp data path ---- */
static void on_item_written(struct ufrpc_stream_write *req, int status)
{
    struct witem *w = req->data;
    struct ufrpc_visitor *v = w->v;
    struct vconn *c = w->c;
    v->qbytes -= w->len;
    free(w);
    if (status < 0 && c->phase == P_RUN) {
        UFRPC_LOGW(v->env.log, "[%s] sudp: write to the server failed: %s", v->name, ufrpc_strerror(status));
        conn_end(c, status);
    }
}

static void sudp_write_item(struct ufrpc_visitor *v, struct witem *w)
{
    struct vconn *c = v->sess;
    w->c = c;
    w->req.data = w;
    w->buf = uv_buf_init((char *)w->bytes, (unsigned)w->len);
    int rc = ufrpc_stream_write(c->srv, &w->req, &w->buf, 1, on_item_written);
    if (rc < 0) {
        v->qbytes -= w->len;
        free(w);
        conn_end(c, rc);
    }
}

static void sudp_flush(struct ufrpc_visitor *v)
{
    while (v->pend_head != NULL && v->sess != NULL && v->sess->phase == P_RUN) {
        struct witem *w = v->pend_head;
        v->pend_head = w->next;
        if (v->pend_head == NULL)
            v->pend_tail = NULL;
        sudp_write_item(v, w);
    }
}

static void sudp_open(struct ufrpc_visitor *v);

/* Queues one frame (UDPPacket from a local user, or Ping). */
static void sudp_enqueue(struct ufrpc_visitor *v, const uint8_t *data, size_t len,
                         const struct sockaddr *from, int ping)
{
    static const uint8_t ping_frame[] = {UFRPC_MSG_PING, 0, 0, 0, 0, 0, 0, 0, 2, '{', '}'};
    size_t max = v->env.sudp_max_queued ? v->env.sudp_max_queued : UFRPC_UDP_DEFAULT_MAX_QUEUED;
    size_t bound = ping ? sizeof ping_frame + 1 : ufrpc_udp_packet_frame_bound(len) + 1;
    struct witem *w = malloc(sizeof *w + bound);
    if (w == NULL) {
        v->st.drop_queue_full++;
        return;
    }
    w->v = v;
    w->next = NULL;
    if (ping && v->env.wire == UFRPC_WIRE_V2) {
        /* v2 Message frame: header (payload 2 + 2), message id, "{}" */
        uint16_t id = ufrpc_frame_v2_msg_id(UFRPC_MSG_PING);
        (void)ufrpc_frame_v2_encode_header(UFRPC_FRAME_V2_MESSAGE, 4, w->bytes);
        ufrpc_put_be16(w->bytes + UFRPC_FRAME_V2_HEADER_LEN, id);
        memcpy(w->bytes + UFRPC_FRAME_V2_HEADER_LEN + 2, "{}", 2);
        w->len = UFRPC_FRAME_V2_HEADER_LEN + 4;
    } else if (ping) {
        memcpy(w->bytes, ping_frame, sizeof ping_frame);
        w->len = sizeof ping_frame;
    } else {
        int rc = ufrpc_udp_packet_encode_wire(v->env.wire, data, len, from, w->bytes, bound,
                                              &w->len);
        if (rc < 0) {
            free(w);
            if (rc == UFRPC_ERR_MSG_TOO_LONG)
                v->st.drop_oversize++;
            else
                v->st.drop_bad_addr++;
            return;
        }
    }
    if (v->qbytes + w->len > max) {
        free(w);
        v->st.drop_queue_full++;
        return;
    }
    v->qbytes += w->len;
    if (!ping) {
        v->st.packets_to_server++;
        v->st.bytes_to_server += len;
    }
    if (v->sess != NULL && v->sess->phase == P_RUN && v->pend_head == NULL) {
        sudp_write_item(v, w);
        return;
    }
    if (v->pend_tail != NULL)
        v->pend_tail->next = w;
    else
        v->pend_head = w;
    v->pend_tail = w;
    if (v->sess == NULL)
        sudp_open(v);
}

static void on_udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ufrpc_visitor *v = h->data;
    (void)suggested;
    if (v->rbuf_busy) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    v->rbuf_busy = 1;
    size_t n = v->env.udp_packet_size ? v->env.udp_packet_size : UFRPC_UDP_DEFAULT_PACKET_SIZE;
    *buf = uv_buf_init((char *)v->rbuf, (unsigned)n);
}

static void on_udp_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *from, unsigned flags)
{
    struct ufrpc_visitor *v = u->data;
    (void)flags;
    if (buf->base == (char *)v->rbuf)
        v->rbuf_busy = 0;
    if (nread < 0) {
        UFRPC_LOGD(v->env.log, "[%s] sudp: local socket error: %s", v->name, uv_strerror((int)nread));
        return;
    }
    if (from == NULL || v->closing)
        return;
    sudp_enqueue(v, (const uint8_t *)buf->base, (size_t)nread, from, 0);
}

static void on_read_timeout(uv_timer_t *t)
{
    struct vconn *c = t->data;
    const struct ufrpc_visitor_env *e = &c->v->env;
    if (c->phase == P_HS)
        UFRPC_LOGW(e->log, "[%s] read NewVisitorConnResp: no answer within %u ms", c->v->name,
                   (unsigned)(e->resp_timeout_ms ? e->resp_timeout_ms : UFRPC_VISITOR_RESP_TIMEOUT_MS));
    else
        UFRPC_LOGI(e->log, "[%s] sudp: no message from the server for %u ms, stream closed", c->v->name,
                   (unsigned)(e->sudp_read_timeout_ms ? e->sudp_read_timeout_ms
                                                      : UFRPC_VISITOR_SUDP_READ_TIMEOUT_MS));
    conn_end(c, UFRPC_ERR_TIMEOUT);
}

static void arm_sudp_timeout(struct vconn *c)
{
    uint32_t ms = c->v->env.sudp_read_timeout_ms ? c->v->env.sudp_read_timeout_ms
                                                 : UFRPC_VISITOR_SUDP_READ_TIMEOUT_MS;
    uv_timer_start(&c->timer, on_read_timeout, ms, 0);
}

static void on_sudp_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                         size_t len)
{
    struct vconn *c = s->data;
    struct ufrpc_visitor *v = c->v;
    (void)buf;
    if (status < 0) {
        UFRPC_LOGI(v->env.log, "[%s] sudp: stream to the server ended: %s", v->name, ufrpc_strerror(status));
        conn_end(c, status);
        return;
    }
    while (len > 0 && c->phase == P_RUN) {
        size_t used = 0;
        struct ufrpc_frame f;
        int rc = ufrpc_wire_reader_feed(&c->dec, data, len, &used, &f);
        data += used;
        len -= used;
        if (rc == 0)
            break;
        struct ufrpc_udp_in in;
        if (rc > 0)
            rc = ufrpc_udp_packet_decode(&f, &in);
        if (rc < 0) {
            UFRPC_LOGW(v->env.log, "[%s] sudp: bad message from the server: %s", v->name, ufrpc_strerror(rc));
            conn_end(c, rc);
            return;
        }
        arm_sudp_timeout(c);
        if (rc == 0)
            continue; /* Ping */
        if (!in.has_addr) {
            v->st.drop_bad_addr++;
        } else {
            uv_buf_t b = uv_buf_init((char *)in.data, (unsigned)in.len);
            int sr = uv_udp_try_send(&v->udp, &b, 1, (const struct sockaddr *)&in.addr);
            if (sr >= 0) {
                v->st.packets_from_server++;
                v->st.bytes_from_server += in.len;
            } else if (sr == UV_EAGAIN || sr == UV_ENOBUFS) {
                v->st.drop_queue_full++;
            } else {
                v->st.drop_bad_addr++;
            }
        }
        free(in.data);
    }
}

static void on_ping(uv_timer_t *t)
{
    struct ufrpc_visitor *v = t->data;
    if (v->sess != NULL && v->sess->phase == P_RUN)
        sudp_enqueue(v, NULL, 0, NULL, 1);
}

/* ---- handshake ---- */
static void on_pump_done(ufrpc_pump_t *p, int status, const struct ufrpc_pump_stats *st, void *data)
{
    struct vconn *c = data;
    (void)p;
    c->pump = NULL;
    c->v->st.bytes_to_server += st->a_to_b;
    c->v->st.bytes_from_server += st->b_to_a;
    conn_end(c, status);
    conn_unref(c);
}

/* The handshake succeeded: `rest` are bytes that followed NewVisitorConnResp. */
static void hs_complete(struct vconn *c, const uint8_t *rest, size_t rest_len)
{
    struct ufrpc_visitor *v = c->v;
    struct ufrpc_stream *s = c->srv;
    int err = 0;
    uv_timer_stop(&c->timer);
    ufrpc_stream_read_stop(s);
    c->srv = NULL;
    c->refs--; /* the raw stream passes to the layers below (never 0 here: timer) */
    if (rest_len > 0 && (s = ufrpc_prefix_stream_new(s, rest, rest_len, &err)) == NULL) {
        conn_end(c, err);
        return;
    }
    if (v->enc || v->comp) {
        struct ufrpc_stream *w = NULL;
        if (v->env.wrap == NULL) {
            ufrpc_stream_close(s, NULL);
            err = UFRPC_ERR_UNSUPPORTED;
        } else {
            err = v->env.wrap(v->env.data, s, v->enc, v->comp, v->sk, &w);
        }
        if (err < 0) {
            UFRPC_LOGW(v->env.log, "[%s] wrap visitor connection: %s", v->name, ufrpc_strerror(err));
            conn_end(c, err);
            return;
        }
        s = w;
    }
    c->phase = P_RUN;
    if (!c->sudp) {
        struct ufrpc_stream *u = c->user;
        c->user = NULL;
        c->refs--; /* user stream → pump */
        c->refs++; /* pump */
        int rc = ufrpc_pump_start(u, s, v->env.pump_max_buffered, on_pump_done, c, &c->pump);
        if (rc == 0) { /* frpc's io.Join: the first EOF either way ends both */
            ufrpc_pump_end_at_eof(c->pump, u);
            ufrpc_pump_end_at_eof(c->pump, s);
        }
        if (rc < 0) {
            c->pump = NULL;
            c->refs--;
            c->phase = P_HS; /* count it as failed */
            conn_end(c, rc);
        }
        return;
    }
    c->srv = s;
    s->data = c;
    c->refs++;
    ufrpc_wire_reader_init(&c->dec, c->dec.ver, false);
    int rc = ufrpc_stream_read_start(s, on_sudp_read);
    if (rc < 0) {
        conn_end(c, rc);
        return;
    }
    arm_sudp_timeout(c);
    UFRPC_LOGD(v->env.log, "[%s] sudp: stream to the server ready", v->name);
    sudp_flush(v);
}

static void on_hs_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                       size_t len)
{
    struct vconn *c = s->data;
    struct ufrpc_visitor *v = c->v;
    (void)buf;
    if (status < 0) {
        UFRPC_LOGW(v->env.log, "[%s] read NewVisitorConnResp error: %s", v->name, ufrpc_strerror(status));
        conn_end(c, status);
        return;
    }
    size_t used = 0;
    struct ufrpc_frame f;
    int rc = ufrpc_wire_reader_feed(&c->dec, data, len, &used, &f);
    if (rc == 0)
        return;
    struct ufrpc_msg m;
    /* v1: read as NewVisitorConnResp whatever the type byte (frp ReadMsgInto); v2
     * checks the message id */
    if (rc > 0)
        rc = ufrpc_wire_check_type(c->dec.ver, f.type, UFRPC_MSG_NEW_VISITOR_CONN_RESP);
    if (rc == 0)
        rc = ufrpc_msg_decode(UFRPC_MSG_NEW_VISITOR_CONN_RESP, f.body, f.body_len, &m);
    if (rc < 0) {
        UFRPC_LOGW(v->env.log, "[%s] read NewVisitorConnResp error: %s", v->name, ufrpc_strerror(rc));
        conn_end(c, rc);
        return;
    }
    const char *e = m.u.new_visitor_conn_resp.error;
    if (e != NULL && e[0] != '\0') {
        UFRPC_LOGW(v->env.log, "[%s] start new visitor connection error: %s", v->name, e);
        ufrpc_msg_free(&m);
        conn_end(c, UFRPC_ERR_PROXY_START);
        return;
    }
    ufrpc_msg_free(&m);
    hs_complete(c, data + used, len - used);
}

static void on_hs_written(struct ufrpc_stream_write *req, int status)
{
    struct vconn *c = req->data;
    if (status < 0 && c->phase == P_HS) {
        UFRPC_LOGW(c->v->env.log, "[%s] send NewVisitorConn error: %s", c->v->name, ufrpc_strerror(status));
        conn_end(c, status);
    }
}

static void on_open(void *arg, int status, struct ufrpc_stream *s)
{
    struct vconn *c = arg;
    struct ufrpc_visitor *v = c->v;
    if (c->phase != P_OPEN) { /* ended meanwhile */
        if (s != NULL)
            ufrpc_stream_close(s, NULL);
        conn_unref(c);
        return;
    }
    if (status < 0 || s == NULL) {
        UFRPC_LOGW(v->env.log, "[%s] connect to server error: %s", v->name,
                   ufrpc_strerror(status < 0 ? status : UFRPC_ERR_CONNECT));
        conn_end(c, status < 0 ? status : UFRPC_ERR_CONNECT);
        conn_unref(c);
        return;
    }
    /* the open reference becomes the stream's */
    c->srv = s;
    s->data = c;
    c->phase = P_HS;
    const char *run_id = v->env.run_id != NULL ? v->env.run_id(v->env.data) : NULL;
    int64_t now = v->env.now_s != NULL ? v->env.now_s(v->env.data) : (int64_t)time(NULL);
    size_t flen = 0;
    int rc = new_conn_frame(v->env.wire, run_id, v->user, v->server_user, v->server_name, v->sk,
                            now, v->enc, v->comp, &c->hframe, &flen);
    if (rc == 0) {
        c->hb = uv_buf_init((char *)c->hframe, (unsigned)flen);
        c->hw.data = c;
        rc = ufrpc_stream_write(s, &c->hw, &c->hb, 1, on_hs_written);
    }
    if (rc == 0)
        rc = ufrpc_stream_read_start(s, on_hs_read);
    if (rc < 0) {
        conn_end(c, rc);
        return;
    }
    uv_timer_start(&c->timer, on_read_timeout,
                   v->env.resp_timeout_ms ? v->env.resp_timeout_ms : UFRPC_VISITOR_RESP_TIMEOUT_MS, 0);
}

/* Asks the owner for a stream; the conn holds a reference until on_open. */
static void conn_open(struct vconn *c)
{
    struct ufrpc_visitor *v = c->v;
    c->refs++;
    int rc = v->env.open_stream != NULL ? v->env.open_stream(v->env.data, on_open, c) : UFRPC_ERR_UNSUPPORTED;
    if (rc < 0) {
        UFRPC_LOGW(v->env.log, "[%s] connect to server error: %s", v->name, ufrpc_strerror(rc));
        c->refs--;
        conn_end(c, rc);
    }
}

static void sudp_open(struct ufrpc_visitor *v)
{
    struct vconn *c = conn_new(v, 1);
    if (c == NULL)
        return; /* the pending frames wait for the next datagram */
    v->sess = c;
    conn_open(c);
}

static void stcp_conn(struct ufrpc_visitor *v, struct ufrpc_stream *user)
{
    struct vconn *c = conn_new(v, 0);
    if (c == NULL) {
        v->st.conns_failed++;
        ufrpc_stream_close(user, NULL);
        return;
    }
    c->user = user;
    user->data = c;
    c->refs++;
    conn_open(c);
}

/* The connection goes to fallbackTo (an stcp visitor) or is closed. */
static void xtcp_fallback(struct ufrpc_visitor *v, struct ufrpc_stream *user)
{
    ufrpc_visitor_t *t = NULL;
    if (v->fallback_to != NULL && v->env.lookup != NULL)
        t = v->env.lookup(v->env.data, v->fallback_to);
    if (t != NULL && t != v && t->type == UFRPC_VISITOR_STCP && !t->closing) {
        v->st.fallback_conns++;
        UFRPC_LOGD(v->env.log, "[%s] try to transfer connection to visitor: %s", v->name,
                   v->fallback_to);
        ufrpc_visitor_accept_conn(t, user);
        return;
    }
    v->st.rejected_conns++;
    if (v->fallback_to != NULL)
        UFRPC_LOGE(v->env.log, "[%s] transfer connection to visitor %s error: not a running stcp "
                               "visitor", v->name, v->fallback_to);
    else if (v->xt == NULL)
        UFRPC_LOGW(v->env.log, "[%s] xtcp: no P2P tunnel and no fallbackTo: connection closed",
                   v->name);
    ufrpc_stream_close(user, NULL);
}

/* A stream of the tunnel for user: stcp's wrapping and pump. */
static void xtcp_join(struct ufrpc_visitor *v, struct ufrpc_stream *user, struct ufrpc_stream *s)
{
    struct vconn *c = conn_new(v, 0);
    if (c == NULL) {
        v->st.conns_failed++;
        ufrpc_stream_close(user, NULL);
        ufrpc_stream_close(s, NULL);
        return;
    }
    v->st.p2p_conns++;
    c->user = user;
    user->data = c;
    c->refs++;
    c->srv = s;
    s->data = c;
    c->refs++;
    c->phase = P_HS;
    hs_complete(c, NULL, 0);
}

static void on_xtimer(uv_timer_t *t);

static void xtcp_arm(struct ufrpc_visitor *v)
{
    uint64_t first = UINT64_MAX, now = uv_now(v->env.loop);
    for (struct xwait *w = v->xw_head; w; w = w->next)
        first = w->deadline < first ? w->deadline : first;
    if (first == UINT64_MAX)
        uv_timer_stop(&v->xtimer);
    else
        uv_timer_start(&v->xtimer, on_xtimer, first > now ? first - now : 0, 0);
}

static void on_xtimer(uv_timer_t *t)
{
    struct ufrpc_visitor *v = t->data;
    uint64_t now = uv_now(v->env.loop);
    struct xwait **pp = &v->xw_head;
    while (*pp) {
        struct xwait *w = *pp;
        if (w->deadline > now) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        v->nxw--;
        struct ufrpc_stream *u = w->user;
        free(w);
        UFRPC_LOGE(v->env.log, "[%s] open tunnel error: open tunnel timeout", v->name);
        xtcp_fallback(v, u);
    }
    xtcp_arm(v);
}

/* The tunnel is up: every waiting connection gets its stream. */
static void on_tunnel_up(ufrpc_xtcp_tunnel_t *t, void *data)
{
    struct ufrpc_visitor *v = data;
    while (v->xw_head && ufrpc_xtcp_tunnel_up(t)) {
        struct xwait *w = v->xw_head;
        struct ufrpc_stream *s = NULL;
        if (ufrpc_xtcp_tunnel_open(t, &s) != 0)
            break;
        v->xw_head = w->next;
        v->nxw--;
        struct ufrpc_stream *u = w->user;
        free(w);
        xtcp_join(v, u, s);
    }
    xtcp_arm(v);
}

static bool tunnel_wanted(void *data)
{
    const struct ufrpc_visitor *v = data;
    return v->xw_head != NULL && !v->closing;
}

static void xtcp_conn(struct ufrpc_visitor *v, struct ufrpc_stream *user)
{
    if (v->xt == NULL) {
        xtcp_fallback(v, user);
        return;
    }
    UFRPC_LOGD(v->env.log, "[%s] get a new xtcp user connection", v->name);
    struct ufrpc_stream *s = NULL;
    if (v->xw_head == NULL && ufrpc_xtcp_tunnel_open(v->xt, &s) == 0) {
        xtcp_join(v, user, s);
        return;
    }
    struct xwait *w = v->nxw < UFRPC_VISITOR_XTCP_MAX_WAITING ? malloc(sizeof *w) : NULL;
    if (w == NULL) {
        UFRPC_LOGW(v->env.log, "[%s] open tunnel error: %s user connections already wait for the "
                               "tunnel", v->name, v->nxw ? "too many" : "out of memory:");
        xtcp_fallback(v, user);
        return;
    }
    w->user = user;
    w->deadline = uv_now(v->env.loop) +
                  (v->fallback_to ? v->fallback_timeout_ms : UFRPC_VISITOR_XTCP_OPEN_TIMEOUT_MS);
    struct xwait **pp = &v->xw_head;
    while (*pp)
        pp = &(*pp)->next;
    w->next = NULL;
    *pp = w;
    v->nxw++;
    xtcp_arm(v);
    ufrpc_xtcp_tunnel_kick(v->xt);
}

int ufrpc_visitor_on_nat_hole_resp(ufrpc_visitor_t *v, const struct ufrpc_msg_nat_hole_resp *r)
{
    return v->xt != NULL && !v->closing ? ufrpc_xtcp_tunnel_on_resp(v->xt, r) : 0;
}

int ufrpc_visitor_accept_conn(ufrpc_visitor_t *v, struct ufrpc_stream *user)
{
    if (user == NULL)
        return UFRPC_ERR_INVAL;
    if (v->closing) {
        ufrpc_stream_close(user, NULL);
        return UFRPC_ERR_CLOSED;
    }
    switch (v->type) {
    case UFRPC_VISITOR_STCP:
        stcp_conn(v, user);
        return 0;
    case UFRPC_VISITOR_XTCP:
        if (!UFRPC_WITH_XTCP)
            break;
        xtcp_conn(v, user);
        return 0;
    default: break;
    }
    ufrpc_stream_close(user, NULL);
    return UFRPC_ERR_UNSUPPORTED;
}

static void on_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *conn)
{
    struct ufrpc_visitor *v = ufrpc_tcp_listener_data(l);
    if (status < 0) {
        UFRPC_LOGW(v->env.log, "[%s] accept error: %s", v->name, ufrpc_strerror(status));
        return;
    }
    UFRPC_LOGD(v->env.log, "[%s] new %s user connection", v->name, ufrpc_visitor_type_name(v->type));
    ufrpc_visitor_accept_conn(v, conn);
}

/* ---- lifecycle ---- */
static char *dup_or_null(const char *s, int *fail)
{
    if (s == NULL || s[0] == '\0')
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *fail = 1;
    return d;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct ufrpc_visitor *v = h->data;
    v->handles--;
    visitor_maybe_free(v);
}

static void on_listener_closed(void *data)
{
    struct ufrpc_visitor *v = data;
    v->handles--;
    visitor_maybe_free(v);
}

int ufrpc_visitor_start(const struct ufrpc_visitor_env *env, const struct ufrpc_visitor_config *cfg,
                        ufrpc_visitor_t **out)
{
    if (env == NULL || cfg == NULL || out == NULL || env->loop == NULL || cfg->server_name == NULL ||
        cfg->bind_port > 65535 || cfg->type >= UFRPC_VISITOR__COUNT)
        return UFRPC_ERR_INVAL;
    struct ufrpc_visitor *v = calloc(1, sizeof *v);
    if (v == NULL)
        return UFRPC_ERR_NOMEM;
    int fail = 0, rc;
    v->env = *env;
    v->type = cfg->type;
    v->enc = cfg->transport.use_encryption;
    v->comp = cfg->transport.use_compression;
    v->bind_port = cfg->bind_port;
    v->name = strdup(cfg->name != NULL ? cfg->name : "");
    v->user = dup_or_null(env->user, &fail);
    v->server_user = dup_or_null(cfg->server_user, &fail);
    v->server_name = strdup(cfg->server_name);
    v->sk = strdup(cfg->secret_key != NULL ? cfg->secret_key : "");
    v->bind_addr = strdup(cfg->bind_addr != NULL ? cfg->bind_addr : "127.0.0.1");
    v->fallback_to = dup_or_null(cfg->fallback_to, &fail);
    if (fail || v->name == NULL || v->server_name == NULL || v->sk == NULL || v->bind_addr == NULL) {
        rc = UFRPC_ERR_NOMEM;
        goto fail;
    }
    if (v->type == UFRPC_VISITOR_SUDP) {
        size_t n = env->udp_packet_size ? env->udp_packet_size : UFRPC_UDP_DEFAULT_PACKET_SIZE;
        if (n > 65536)
            v->env.udp_packet_size = n = 65536;
        if ((v->rbuf = malloc(n)) == NULL) {
            rc = UFRPC_ERR_NOMEM;
            goto fail;
        }
        struct sockaddr_storage ss;
        if (v->bind_port < 0 || ufrpc_udp_addr_parse(v->bind_addr, v->bind_port, NULL, &ss) < 0) {
            rc = UFRPC_ERR_INVAL;
            goto fail;
        }
        if ((rc = uv_udp_init(env->loop, &v->udp)) < 0) {
            rc = ufrpc_net_uv_err(rc);
            goto fail;
        }
        v->udp.data = v;
        v->handles++;
        rc = uv_udp_bind(&v->udp, (const struct sockaddr *)&ss, 0);
        if (rc == 0)
            rc = uv_udp_recv_start(&v->udp, on_udp_alloc, on_udp_recv);
        if (rc < 0) {
            rc = ufrpc_net_uv_err(rc);
            goto fail_handles;
        }
        int len = sizeof ss;
        if (uv_udp_getsockname(&v->udp, (struct sockaddr *)&ss, &len) == 0)
            v->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
        uv_timer_init(env->loop, &v->ping);
        v->ping.data = v;
        v->handles++;
        if (env->sudp_ping_interval_ms > 0)
            uv_timer_start(&v->ping, on_ping, env->sudp_ping_interval_ms, env->sudp_ping_interval_ms);
    } else if (v->bind_port >= 0) {
        v->l = ufrpc_tcp_listen(env->loop, v->bind_addr, (uint16_t)v->bind_port, on_accept, v, &rc);
        if (v->l == NULL)
            goto fail;
        v->handles++;
        v->port = ufrpc_tcp_listener_port(v->l);
    }
    if (UFRPC_WITH_XTCP && v->type == UFRPC_VISITOR_XTCP) {
        const char *proto = cfg->protocol && cfg->protocol[0] ? cfg->protocol : "quic";
        v->fallback_timeout_ms = cfg->fallback_timeout_ms > 0 ? (uint64_t)cfg->fallback_timeout_ms : 1000;
        uv_timer_init(env->loop, &v->xtimer);
        v->xtimer.data = v;
        v->handles++;
        if (env->send_msg != NULL) {
            const char *u = v->server_user ? v->server_user : v->user;
            char pn[512];
            if (u != NULL && u[0] != '\0')
                snprintf(pn, sizeof pn, "%s.%s", u, v->server_name);
            else
                snprintf(pn, sizeof pn, "%s", v->server_name);
            struct ufrpc_xtcp_tunnel_env te = {
                .loop = env->loop,
                .log = env->log,
                .name = v->name,
                .stun_server = env->stun_server,
                .proxy_name = pn,
                .secret_key = v->sk,
                .protocol = proto,
                .disable_assisted = cfg->disable_assisted_addrs,
                .keep_open = cfg->keep_tunnel_open,
                .max_retries_an_hour = cfg->max_retries_an_hour,
                .min_retry_interval_s = cfg->min_retry_interval,
                .send_msg = env->send_msg,
                .send_data = env->data,
                .now_s = env->now_s,
                .on_up = on_tunnel_up,
                .wanted = tunnel_wanted,
                .data = v,
            };
            rc = ufrpc_xtcp_tunnel_new(&te, &v->xt);
            if (rc) {
                v->xt = NULL;
                UFRPC_LOGW(env->log, "[%s] xtcp tunnel: %s", v->name, ufrpc_strerror(rc));
            }
        }
        if (v->xt == NULL)
            UFRPC_LOGW(env->log, "[%s] xtcp visitor: no P2P tunnel (protocol [%s]); %s%s%s", v->name, proto,
                       v->fallback_to != NULL ? "connections go to fallbackTo visitor [" : "connections will be closed",
                       v->fallback_to != NULL ? v->fallback_to : "", v->fallback_to != NULL ? "]" : "");
        else
            UFRPC_LOGI(env->log, "[%s] xtcp visitor started, listening on %s:%u", v->name, v->bind_addr,
                       (unsigned)v->port);
    } else if (v->type == UFRPC_VISITOR_STCP && v->l == NULL)
        UFRPC_LOGI(env->log, "[%s] stcp visitor started without a listener (bindPort %lld): "
                             "reachable only as an xtcp visitor's fallbackTo",
                   v->name, (long long)v->bind_port);
    else
        UFRPC_LOGI(env->log, "[%s] %s visitor started, listening on %s:%u", v->name,
                   ufrpc_visitor_type_name(v->type), v->bind_addr, (unsigned)v->port);
    *out = v;
    return 0;
fail_handles:
    /* only the UDP socket can be open here */
    v->closing = 1;
    uv_close((uv_handle_t *)&v->udp, on_handle_closed);
    return rc;
fail:
    v->closing = 1;
    visitor_maybe_free(v);
    return rc;
}

uint16_t ufrpc_visitor_port(const ufrpc_visitor_t *v)
{
    return v->port;
}

const char *ufrpc_visitor_name(const ufrpc_visitor_t *v)
{
    return v->name;
}

ufrpc_visitor_type ufrpc_visitor_get_type(const ufrpc_visitor_t *v)
{
    return v->type;
}

void ufrpc_visitor_get_stats(const ufrpc_visitor_t *v, struct ufrpc_visitor_stats *st)
{
    *st = v->st;
}

void ufrpc_visitor_close(ufrpc_visitor_t *v, void (*cb)(void *data), void *data)
{
    if (v == NULL || v->closing)
        return;
    v->closing = 1;
    v->close_cb = cb;
    v->close_data = data;
    if (v->l != NULL) {
        ufrpc_tcp_listener_close(v->l, on_listener_closed);
        v->l = NULL;
    }
    if (v->type == UFRPC_VISITOR_SUDP) {
        uv_close((uv_handle_t *)&v->udp, on_handle_closed);
        uv_close((uv_handle_t *)&v->ping, on_handle_closed);
    }
    if (UFRPC_WITH_XTCP && v->type == UFRPC_VISITOR_XTCP) {
        while (v->xw_head) {
            struct xwait *w = v->xw_head;
            v->xw_head = w->next;
            ufrpc_stream_close(w->user, NULL);
            free(w);
        }
        v->nxw = 0;
        uv_close((uv_handle_t *)&v->xtimer, on_handle_closed);
        if (v->xt != NULL) {
            v->handles++;
            ufrpc_xtcp_tunnel_free(v->xt, on_listener_closed, v);
            v->xt = NULL;
        }
    }
    for (struct vconn *c = v->conns; c != NULL; c = c->next)
        conn_end(c, UFRPC_ERR_CANCELED);
    visitor_maybe_free(v);
}
