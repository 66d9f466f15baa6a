/* ufrpc-test-frps — first frame of every connection, control sessions (proxies and the
 * work-connection pool: work.c).
 * Test code, not product (see peer.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_internal.h"
#include "proto/auth.h"
#include "proto/error.h"

#define PEER_VERSION "0.70.1"
#define FIRST_FRAME_TIMEOUT_MS 10000

struct first {
    struct peer *p;
    struct ufrpc_stream *st;
    pmux_t *mux;
    struct ufrpc_frame_decoder dec;
    uv_timer_t timer;
    int done;
};

struct wr {
    struct ufrpc_stream_write w;
    uv_buf_t b;
    struct ctl *c; /* control writes: the control (kept alive by writes_pending) */
    uint8_t data[];
};

static void ctl_close(struct ctl *c, const char *reason);

/* Closes a stream once its last write went out and it is shut down: used after a
 * final error message, which a close right away could cancel. (ufrpc_stream_shutdown
 * needs a callback: net/tcp.c calls it unconditionally.) */
static void on_shutdown_close(struct ufrpc_stream *st, int status)
{
    (void)status;
    ufrpc_stream_close(st, NULL);
}

/* ---- writing --------------------------------------------------------------------- */
static void ctl_maybe_free(struct ctl *c);

static void on_wr_done(struct ufrpc_stream_write *w, int status)
{
    struct wr *r = w->data;
    struct ctl *c = r->c;
    free(r);
    if (c == NULL)
        return;
    c->writes_pending--;
    /* as frps: a control that cannot be written to is finished */
    if (status < 0 && status != UFRPC_ERR_CANCELED && !c->closing)
        ctl_close(c, "write-error");
    ctl_maybe_free(c);
}

static int write_bytes(struct ufrpc_stream *st, const uint8_t *data, size_t len)
{
    struct wr *r = malloc(sizeof *r + len);
    if (r == NULL)
        return UFRPC_ERR_NOMEM;
    memcpy(r->data, data, len);
    r->c = NULL;
    r->b = uv_buf_init((char *)r->data, (unsigned)len);
    r->w.data = r;
    int rc = ufrpc_stream_write(st, &r->w, &r->b, 1, on_wr_done);
    if (rc < 0)
        free(r);
    return rc;
}

int peer_write_frame(struct ufrpc_stream *st, const struct ufrpc_msg *m)
{
    uint8_t *f;
    size_t n;
    int rc = ufrpc_msg_encode_frame(m, &f, &n);
    if (rc < 0)
        return rc;
    rc = write_bytes(st, f, n);
    free(f);
    return rc;
}

/* A refused stream's reads: nothing more is processed; the shutdown callback closes it. */
static void on_refused_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *buf,
                            const uint8_t *data, size_t len)
{
    (void)st;
    (void)status;
    (void)buf;
    (void)data;
    (void)len;
}

void peer_refuse(struct ufrpc_stream *st, const struct ufrpc_msg *m)
{
    /* the first-frame reader's state is gone: later deliveries (an EOF, a TLS
     * error after our shutdown) must not reach it */
    st->data = NULL;
    if (ufrpc_stream_read_start(st, on_refused_read) < 0)
        ufrpc_stream_read_stop(st);
    peer_write_frame(st, m);
    if (ufrpc_stream_shutdown(st, on_shutdown_close) < 0)
        ufrpc_stream_close(st, NULL);
}

const char *peer_ctl_user(const struct ctl *c)
{
    return c->user;
}

const char *peer_ctl_run_id(const struct ctl *c)
{
    return c->run_id;
}

/* Encrypts raw bytes on the control (IV first on the first call). */
static int ctl_send_raw(struct ctl *c, const uint8_t *plain, size_t len)
{
    if (c->stalled || c->closing || c->st == NULL)
        return 0;
    size_t cap = ufrpc_cfb_writer_bound(&c->w, len);
    struct wr *r = malloc(sizeof *r + cap);
    if (r == NULL)
        return UFRPC_ERR_NOMEM;
    size_t out;
    int rc = ufrpc_cfb_writer_write(&c->w, plain, len, r->data, cap, &out);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->b = uv_buf_init((char *)r->data, (unsigned)out);
    r->w.data = r;
    r->c = c;
    rc = ufrpc_stream_write(c->st, &r->w, &r->b, 1, on_wr_done);
    if (rc < 0)
        free(r);
    else
        c->writes_pending++;
    return rc;
}

int ctl_send(struct ctl *c, const struct ufrpc_msg *m)
{
    uint8_t *f;
    size_t n;
    int rc = ufrpc_msg_encode_frame(m, &f, &n);
    if (rc < 0)
        return rc;
    rc = ctl_send_raw(c, f, n);
    free(f);
    return rc;
}

void ctl_req_work_conn(struct ctl *c)
{
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_REQ_WORK_CONN);
    ctl_send(c, &m);
}

struct ctl *peer_find_ctl(struct peer *p, const char *run_id)
{
    for (struct ctl *c = p->ctls; c != NULL; c = c->next)
        if (!c->closing && strcmp(c->run_id, run_id) == 0)
            return c;
    return NULL;
}

/* ---- control ----------------------------------------------------------------------------------- */
static void handle_ctl_frame(struct ctl *c, const struct ufrpc_frame *f)
{
    struct peer *p = c->p;
    struct ufrpc_msg m;
    int rc = ufrpc_msg_decode(f->type, f->body, f->body_len, &m);
    if (rc < 0) {
        peer_event("bad-message", "run_id=%s type=%s error=%s", c->run_id,
                   ufrpc_frame_type_name(f->type), ufrpc_errname(rc));
        ctl_close(c, "bad-message");
        return;
    }
    switch (f->type) {
    case UFRPC_MSG_NEW_PROXY:
        work_new_proxy(c, &m);
        break;
    case UFRPC_MSG_CLOSE_PROXY:
        peer_event("close-proxy", "run_id=%s name=%s", c->run_id,
                   m.u.close_proxy.proxy_name ? m.u.close_proxy.proxy_name : "");
        work_close_proxy(c, m.u.close_proxy.proxy_name);
        break;
    case UFRPC_MSG_NAT_HOLE_VISITOR:
        peer_nathole_visitor(c, &m);
        break;
    case UFRPC_MSG_NAT_HOLE_CLIENT:
        peer_nathole_client(c, &m);
        break;
    case UFRPC_MSG_NAT_HOLE_REPORT:
        peer_nathole_report(c, &m);
        break;
    case UFRPC_MSG_PING: {
        c->pings++;
        c->last_ping_ms = uv_now(p->loop);
        struct ufrpc_msg r;
        ufrpc_msg_init(&r, UFRPC_MSG_PONG);
        if (p->o.auth_heartbeats &&
            !ufrpc_auth_verify(p->o.token, m.u.ping.timestamp, m.u.ping.privilege_key))
            ufrpc_msg_set_str(&r.u.pong.error,
                              "token in heartbeat doesn't match token from configuration");
        peer_event("ping", "run_id=%s n=%llu", c->run_id, (unsigned long long)c->pings);
        ctl_send(c, &r);
        ufrpc_msg_free(&r);
        break;
    }
    default:
        peer_event("unexpected-message", "run_id=%s type=%s", c->run_id,
                   ufrpc_frame_type_name(f->type));
        break;
    }
    ufrpc_msg_free(&m);
}

static void ctl_feed_cipher(struct ctl *c, const uint8_t *data, size_t len)
{
    uint8_t *plain = malloc(len ? len : 1);
    if (plain == NULL) {
        ctl_close(c, "nomem");
        return;
    }
    size_t n;
    ufrpc_cfb_reader_decrypt(&c->r, data, len, plain, &n);
    size_t off = 0;
    while (off < n && !c->closing) {
        size_t used;
        struct ufrpc_frame f;
        int rc = ufrpc_frame_decoder_feed(&c->dec, plain + off, n - off, &used, &f);
        off += used;
        if (rc < 0) {
            peer_event("bad-frame", "run_id=%s error=%s", c->run_id, ufrpc_errname(rc));
            ctl_close(c, "bad-frame");
            break;
        }
        if (rc == 1)
            handle_ctl_frame(c, &f);
    }
    free(plain);
}

static void on_ctl_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *buf,
                        const uint8_t *data, size_t len)
{
    struct ctl *c = st->data;
    (void)buf;
    if (c->closing)
        return;
    if (status < 0) {
        ctl_close(c, status == UFRPC_ERR_EOF ? "eof" : ufrpc_errname(status));
        return;
    }
    ctl_feed_cipher(c, data, len);
}

/* A closed control is freed once its timers are closed and no write of it is
 * pending (write callbacks run, with UFRPC_ERR_CANCELED at the latest, after the
 * stream's close). */
static void ctl_maybe_free(struct ctl *c)
{
    if (c->closing && c->handles == 0 && c->writes_pending == 0) {
        ufrpc_cfb_writer_free(&c->w);
        ufrpc_cfb_reader_free(&c->r);
        free(c);
    }
}

static void on_ctl_handle_closed(uv_handle_t *h)
{
    struct ctl *c = h->data;
    c->handles--;
    ctl_maybe_free(c);
}

static void ctl_close(struct ctl *c, const char *reason)
{
    if (c->closing)
        return;
    c->closing = 1;
    struct peer *p = c->p;
    for (struct ctl **pp = &p->ctls; *pp != NULL; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    peer_event("control-closed", "run_id=%s reason=%s pings=%llu", c->run_id, reason,
               (unsigned long long)c->pings);
    work_ctl_closed(c);
    if (c->st != NULL) {
        ufrpc_stream_close(c->st, NULL);
        c->st = NULL;
    }
    uv_close((uv_handle_t *)&c->fault_timer, on_ctl_handle_closed);
    uv_close((uv_handle_t *)&c->hb_timer, on_ctl_handle_closed);
}

static void ctl_fault(struct ctl *c, int kind)
{
    switch (kind) {
    case 1:
        peer_event("fault", "run_id=%s kind=drop", c->run_id);
        ctl_close(c, "fault-drop");
        break;
    case 2: {
        /* an unknown type byte: frpc's reader fails with ErrMsgType */
        static const uint8_t bad[] = {0xff, 0, 0, 0, 0, 0, 0, 0, 2, '{', '}'};
        peer_event("fault", "run_id=%s kind=corrupt", c->run_id);
        ctl_send_raw(c, bad, sizeof bad);
        break;
    }
    case 3:
        peer_event("fault", "run_id=%s kind=stall", c->run_id);
        c->stalled = 1;
        if (c->mux != NULL)
            pmux_stall(c->mux);
        else if (c->st != NULL)
            ufrpc_stream_read_stop(c->st);
        break;
    case 4:
        peer_event("fault", "run_id=%s kind=kill", c->run_id);
        if (c->mux != NULL)
            pmux_kill(c->mux);
        ctl_close(c, "fault-kill");
        break;
    default:
        break;
    }
}

static void on_fault_timer(uv_timer_t *t)
{
    struct ctl *c = t->data;
    ctl_fault(c, c->fault_kind);
}

static void on_hb_timer(uv_timer_t *t)
{
    struct ctl *c = t->data;
    uint64_t now = uv_now(c->p->loop);
    if (!c->stalled && now - c->last_ping_ms > (uint64_t)c->p->o.heartbeat_timeout_s * 1000)
        ctl_close(c, "heartbeat-timeout");
}

void peer_fault_all(struct peer *p, const char *what)
{
    int kind = strcmp(what, "drop") == 0      ? 1
               : strcmp(what, "corrupt") == 0 ? 2
               : strcmp(what, "stall") == 0   ? 3
               : strcmp(what, "kill") == 0    ? 4
                                              : 0;
    struct ctl *c = p->ctls;
    while (c != NULL) {
        struct ctl *next = c->next;
        ctl_fault(c, kind);
        c = next;
    }
}

static void login(struct peer *p, struct ufrpc_stream *st, pmux_t *mux, struct ufrpc_msg_login *lg,
                  const uint8_t *rest, size_t rest_len)
{
    const char *err = NULL;
    if (p->o.oidc_token != NULL) { /* frps auth.method oidc: the token itself */
        if (lg->privilege_key == NULL || strcmp(lg->privilege_key, p->o.oidc_token) != 0)
            err = "invalid OIDC token in login";
    } else if (!ufrpc_auth_verify(p->o.token, lg->timestamp, lg->privilege_key)) {
        err = "token in login doesn't match token from configuration";
    }
    if (p->o.refuse_login)
        err = "token in login doesn't match token from configuration";
    if (err != NULL) {
        peer_event("login-refused", "user=%s error=\"%s\"", lg->user ? lg->user : "", err);
        if (p->o.close_without_resp) {
            ufrpc_stream_close(st, NULL);
            return;
        }
        struct ufrpc_msg r;
        ufrpc_msg_init(&r, UFRPC_MSG_LOGIN_RESP);
        ufrpc_msg_set_str(&r.u.login_resp.version, PEER_VERSION);
        ufrpc_msg_set_str(&r.u.login_resp.error, err);
        peer_refuse(st, &r);
        ufrpc_msg_free(&r);
        return;
    }
    struct ctl *c = calloc(1, sizeof *c);
    if (c == NULL) {
        ufrpc_stream_close(st, NULL);
        return;
    }
    c->p = p;
    c->st = st;
    c->mux = mux;
    snprintf(c->user, sizeof c->user, "%s", lg->user ? lg->user : "");
    if (lg->run_id != NULL && *lg->run_id) {
        snprintf(c->run_id, sizeof c->run_id, "%s", lg->run_id);
        struct ctl *old = peer_find_ctl(p, c->run_id);
        if (old != NULL)
            ctl_close(old, "replaced");
    } else {
        uint8_t rnd[8];
        peer_rng(NULL, rnd, sizeof rnd);
        for (int i = 0; i < 8; i++)
            snprintf(c->run_id + 2 * i, 3, "%02x", rnd[i]);
    }
    c->pool_count = (int)lg->pool_count;
    if (c->pool_count > p->o.max_pool_count)
        c->pool_count = p->o.max_pool_count;
    if (c->pool_count < 0)
        c->pool_count = 0;
    ufrpc_frame_decoder_init(&c->dec);
    ufrpc_cfb_writer_init_rng(&c->w, p->key, peer_rng, NULL);
    ufrpc_cfb_reader_init(&c->r, p->key);
    uv_timer_init(p->loop, &c->fault_timer);
    uv_timer_init(p->loop, &c->hb_timer);
    c->fault_timer.data = c;
    c->hb_timer.data = c;
    c->handles = 2;
    c->last_ping_ms = uv_now(p->loop);
    c->next = p->ctls;
    p->ctls = c;
    p->logins++;

    struct ufrpc_msg r;
    ufrpc_msg_init(&r, UFRPC_MSG_LOGIN_RESP);
    ufrpc_msg_set_str(&r.u.login_resp.version, PEER_VERSION);
    ufrpc_msg_set_str(&r.u.login_resp.run_id, c->run_id);
    peer_write_frame(st, &r);
    ufrpc_msg_free(&r);
    peer_event("login", "run_id=%s user=%s version=%s hostname=%s os=%s arch=%s pool_count=%d "
               "mux=%d n=%llu", c->run_id, lg->user ? lg->user : "",
               lg->version ? lg->version : "", lg->hostname ? lg->hostname : "",
               lg->os ? lg->os : "", lg->arch ? lg->arch : "", c->pool_count, mux != NULL,
               (unsigned long long)p->logins);
    for (int i = 0; i < c->pool_count; i++)
        ctl_req_work_conn(c);

    st->data = c;
    if (ufrpc_stream_read_start(st, on_ctl_read) < 0) {
        ctl_close(c, "read-failed");
        return;
    }
    if (rest_len > 0)
        ctl_feed_cipher(c, rest, rest_len);
    if (c->closing)
        return;
    if (p->o.drop_after_ms > 0) {
        c->fault_kind = 1;
        uv_timer_start(&c->fault_timer, on_fault_timer, (uint64_t)p->o.drop_after_ms, 0);
    } else if (p->o.corrupt_after_ms > 0) {
        c->fault_kind = 2;
        uv_timer_start(&c->fault_timer, on_fault_timer, (uint64_t)p->o.corrupt_after_ms, 0);
    } else if (p->o.stall_after_ms > 0) {
        c->fault_kind = 3;
        uv_timer_start(&c->fault_timer, on_fault_timer, (uint64_t)p->o.stall_after_ms, 0);
    }
    if (p->o.heartbeat_timeout_s > 0)
        uv_timer_start(&c->hb_timer, on_hb_timer, 1000, 1000);
}

/* ---- first frame of a new connection / stream ------------------------------------------ */
static void on_first_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Reading is not stopped here: the next owner switches the callback with
 * read_start or closes the stream. (Stopping and restarting a TCP stream from
 * inside a read callback that delivers pushed-back bytes fails with UV_EALREADY
 * in net/tcp.c's tcp_deliver_pre.) */
static void first_done(struct first *f)
{
    f->done = 1;
    uv_close((uv_handle_t *)&f->timer, on_first_timer_closed);
}

static void on_first_timeout(uv_timer_t *t)
{
    struct first *f = t->data;
    peer_event("first-frame-timeout", "%s", "");
    ufrpc_stream_close(f->st, NULL);
    first_done(f);
}

static void on_first_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *buf,
                          const uint8_t *data, size_t len)
{
    struct first *f = st->data;
    (void)buf;
    if (f->done)
        return;
    if (status < 0) {
        ufrpc_stream_close(st, NULL);
        first_done(f);
        return;
    }
    size_t used;
    struct ufrpc_frame fr;
    int rc = ufrpc_frame_decoder_feed(&f->dec, data, len, &used, &fr);
    if (rc == 0)
        return;
    struct peer *p = f->p;
    pmux_t *mux = f->mux;
    if (rc < 0) {
        peer_event("bad-first-frame", "error=%s", ufrpc_errname(rc));
        ufrpc_stream_close(st, NULL);
        first_done(f);
        return;
    }
    struct ufrpc_msg m;
    rc = ufrpc_msg_decode(fr.type, fr.body, fr.body_len, &m);
    uint8_t type = fr.type;
    first_done(f);
    st->data = NULL;
    if (rc < 0) {
        peer_event("bad-first-frame", "type=%s error=%s", ufrpc_frame_type_name(type),
                   ufrpc_errname(rc));
        ufrpc_stream_close(st, NULL);
        return;
    }
    switch (type) {
    case UFRPC_MSG_LOGIN:
        login(p, st, mux, &m.u.login, data + used, len - used);
        break;
    case UFRPC_MSG_NEW_WORK_CONN:
        if (len > used) {
            peer_event("bad-work-conn", "extra=%zu", len - used);
            ufrpc_stream_close(st, NULL);
        } else {
            work_register(p, st, &m);
        }
        break;
    case UFRPC_MSG_NEW_VISITOR_CONN:
        peer_visitor_conn(p, st, &m, data + used, len - used);
        break;
    default:
        peer_event("unexpected-first-frame", "type=%s", ufrpc_frame_type_name(type));
        ufrpc_stream_close(st, NULL);
        break;
    }
    ufrpc_msg_free(&m);
}

void peer_conn_new(struct peer *p, struct ufrpc_stream *st, void *mux)
{
    struct first *f = calloc(1, sizeof *f);
    if (f == NULL) {
        ufrpc_stream_close(st, NULL);
        return;
    }
    f->p = p;
    f->st = st;
    f->mux = mux;
    ufrpc_frame_decoder_init(&f->dec);
    uv_timer_init(p->loop, &f->timer);
    f->timer.data = f;
    st->data = f;
    if (ufrpc_stream_read_start(st, on_first_read) < 0) {
        ufrpc_stream_close(st, NULL);
        first_done(f);
        return;
    }
    uv_timer_start(&f->timer, on_first_timeout, FIRST_FRAME_TIMEOUT_MS, 0);
}
