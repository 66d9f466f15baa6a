/* client/core/xtcp_proxy.c — an xtcp proxy's P2P session. See xtcp_proxy.h. */
#include "client/core/xtcp_proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/core/holepunch.h"
#include "net/kcp.h"
#include "net/mux.h"
#include "net/quic.h"
#include "net/xform_crypt.h"
#include "proto/error.h"
#include "proto/kcp.h"
#include "proto/wire.h"

#define SID_TIMEOUT_MS 10000u
#define RESP_TIMEOUT_MS 5000u /* ExchangeInfo's */
/* quic: the visitor dials right after punching; without a session by then the
 * listener is dropped (frp's Accept would wait as long as the proxy runs) */
#define QUIC_ACCEPT_TIMEOUT_MS 30000u

enum xstate { X_READ_SID, X_PREPARE, X_EXCHANGE, X_PUNCH, X_TUNNEL, X_ENDING };

struct ufrpc_xtcp_proxy {
    struct ufrpc_xtcp_env env;
    char *stun, *user, *name, *wire_name;
    uint8_t key[UFRPC_CFB_KEY_LEN];
    bool disable_assisted;
    enum xstate st;
    struct ufrpc_stream *work;
    struct ufrpc_wire_reader *rd;
    uv_timer_t timer;
    int timer_open;
    ufrpc_holepunch_t *hp;
    char tid[17];
    char *sid;
    ufrpc_mux_t *mux;            /* kcp: the yamux server over KCP */
    ufrpc_quic_listener_t *ql;  /* quic: the QUIC server on the punched socket */
    bool quic;                   /* the visitor's protocol is not "kcp" */
    bool quic_served;            /* the QUIC connection carried a stream */
    ufrpc_workconn_t *wcs;
    int closes; /* stream/mux/timer closes in flight */
    int freed;
    ufrpc_xtcp_proxy_t *next;
};

int ufrpc_xtcp_new_tid(char out[17])
{
    uint8_t r[8];
    if (ufrpc_xform_getrandom(NULL, r, sizeof r) != 0)
        return UFRPC_ERR_CRYPTO;
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
    return 0;
}

void ufrpc_xtcp_behavior_text(const struct ufrpc_nat_detect_behavior *b, char *out, size_t cap)
{
    char ports[256] = "[";
    size_t len = 1;
    for (size_t i = 0; i < b->candidate_ports.n && len + 48 < sizeof ports; i++)
        len += (size_t)snprintf(ports + len, sizeof ports - len, "%s{From:%lld To:%lld}",
                                i ? " " : "", (long long)b->candidate_ports.items[i].from,
                                (long long)b->candidate_ports.items[i].to);
    snprintf(ports + len, sizeof ports - len, "]");
    snprintf(out, cap,
             "{Role:%s Mode:%lld TTL:%lld SendDelayMs:%lld ReadTimeoutMs:%lld CandidatePorts:%s "
             "SendRandomPorts:%lld ListenRandomPorts:%lld}",
             b->role ? b->role : "", (long long)b->mode, (long long)b->ttl,
             (long long)b->send_delay_ms, (long long)b->read_timeout_ms, ports,
             (long long)b->send_random_ports, (long long)b->listen_random_ports);
}

void ufrpc_xtcp_kcp_config(struct ufrpc_kcp_config *c)
{
    ufrpc_kcp_config_frpc(c);
    c->conv = 1;
    c->snd_wnd = 1024;
    c->rcv_wnd = 1024;
}

ufrpc_xtcp_proxy_t *ufrpc_xtcp_proxy_next(const ufrpc_xtcp_proxy_t *x)
{
    return x->next;
}

void ufrpc_xtcp_proxy_set_next(ufrpc_xtcp_proxy_t *x, ufrpc_xtcp_proxy_t *next)
{
    x->next = next;
}

void ufrpc_xtcp_proxy_unlink(ufrpc_xtcp_proxy_t **head, ufrpc_xtcp_proxy_t *x)
{
    for (ufrpc_xtcp_proxy_t **pp = head; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == x) {
            *pp = x->next;
            return;
        }
    }
}

static void maybe_free(ufrpc_xtcp_proxy_t *x);

static void on_timer_closed(uv_handle_t *h)
{
    ufrpc_xtcp_proxy_t *x = h->data;
    x->closes--;
    maybe_free(x);
}

/* Once ending and everything is closed: on_end, then the memory. */
static void maybe_free(ufrpc_xtcp_proxy_t *x)
{
    if (x->st != X_ENDING || x->closes > 0 || x->wcs || x->mux || x->ql || x->work || x->freed)
        return;
    if (x->timer_open) {
        x->timer_open = 0;
        x->closes++;
        uv_close((uv_handle_t *)&x->timer, on_timer_closed);
        return;
    }
    x->freed = 1;
    void (*cb)(ufrpc_xtcp_proxy_t *, void *) = x->env.on_end;
    if (cb)
        cb(x, x->env.data);
    free(x->rd);
    free(x->stun);
    free(x->user);
    free(x->name);
    free(x->wire_name);
    free(x->sid);
    memset(x->key, 0, sizeof x->key);
    free(x);
}

static void release(ufrpc_xtcp_proxy_t *x)
{
    maybe_free(x);
}

static void on_work_closed(struct ufrpc_stream *s)
{
    ufrpc_xtcp_proxy_t *x = s->data;
    x->closes--;
    release(x);
}

static void close_work(ufrpc_xtcp_proxy_t *x)
{
    if (!x->work)
        return;
    struct ufrpc_stream *s = x->work;
    x->work = NULL;
    s->data = x;
    x->closes++;
    ufrpc_stream_close(s, on_work_closed);
}

static void on_mux_closed(void *data)
{
    ufrpc_xtcp_proxy_t *x = data;
    x->mux = NULL;
    release(x);
}

static void on_ql_closed(void *data)
{
    ufrpc_xtcp_proxy_t *x = data;
    x->ql = NULL;
    release(x);
}

static void end(ufrpc_xtcp_proxy_t *x)
{
    if (x->st == X_ENDING)
        return;
    x->st = X_ENDING;
    uv_timer_stop(&x->timer);
    close_work(x);
    if (x->hp) {
        ufrpc_holepunch_free(x->hp);
        x->hp = NULL;
    }
    for (ufrpc_workconn_t *w = x->wcs; w; w = ufrpc_workconn_next(w))
        ufrpc_workconn_abort(w);
    if (x->mux)
        ufrpc_mux_close(x->mux, on_mux_closed);
    if (x->ql)
        ufrpc_quic_listener_close(x->ql, on_ql_closed, x);
    release(x);
}

void ufrpc_xtcp_proxy_abort(ufrpc_xtcp_proxy_t *x)
{
    if (x)
        end(x);
}

static void on_defer_end(uv_timer_t *t)
{
    end(t->data);
}

/* From inside callbacks of objects end() would free. */
static void end_later(ufrpc_xtcp_proxy_t *x)
{
    if (x->st != X_ENDING)
        uv_timer_start(&x->timer, on_defer_end, 0, 0);
}

static void on_wc_done(ufrpc_workconn_t *w, void *data)
{
    ufrpc_xtcp_proxy_t *x = data;
    ufrpc_workconn_unlink(&x->wcs, w);
    release(x);
}

/* A stream the visitor opened on the tunnel (yamux or QUIC): one user connection,
 * served as a work connection (frp's HandleTCPWorkConnection). */
static void serve(ufrpc_xtcp_proxy_t *x, struct ufrpc_stream *st)
{
    if (x->st != X_TUNNEL) {
        ufrpc_stream_close(st, NULL);
        return;
    }
    struct ufrpc_workconn_env we = x->env.wenv;
    we.on_done = on_wc_done;
    we.on_channel_start = NULL;
    we.on_channel_end = NULL;
    we.on_xtcp = NULL;
    we.data = x;
    struct ufrpc_msg_start_work_conn sm = {.proxy_name = x->wire_name};
    ufrpc_workconn_t *w = NULL;
    if (ufrpc_workconn_serve(&we, st, &sm, x->key, &w) == 0 && w) {
        ufrpc_workconn_set_next(w, x->wcs);
        x->wcs = w;
    }
}

static void on_accept(ufrpc_mux_t *m, struct ufrpc_stream *st, void *data)
{
    (void)m;
    serve(data, st);
}

static void on_quic_accept(ufrpc_quic_listener_t *l, struct ufrpc_stream *st, void *data)
{
    (void)l;
    ufrpc_xtcp_proxy_t *x = data;
    uv_timer_stop(&x->timer); /* the visitor is there */
    x->quic_served = true;
    serve(x, st);
}

/* frp: "quic accept stream error" (debug) when an established connection ends,
 * "quic accept connection error" (error) when none was made */
static void on_quic_end(ufrpc_quic_listener_t *l, int err, const char *why, void *data)
{
    (void)l;
    ufrpc_xtcp_proxy_t *x = data;
    const char *w = why && why[0] ? why : ufrpc_strerror(err);
    if (x->quic_served)
        UFRPC_LOGD(x->env.log, "[%s] quic accept stream error: %s", x->name, w);
    else
        UFRPC_LOGE(x->env.log, "[%s] quic accept connection error: %s", x->name, w);
    end_later(x);
}

static void on_quic_accept_timeout(uv_timer_t *t)
{
    ufrpc_xtcp_proxy_t *x = t->data;
    if (ufrpc_quic_listener_sessions(x->ql) > 0)
        return; /* connected, no stream yet (keepTunnelOpen): the session's idle timeout rules */
    UFRPC_LOGE(x->env.log, "[%s] quic accept connection error: no QUIC connection from the visitor "
                           "within %u s", x->name, QUIC_ACCEPT_TIMEOUT_MS / 1000);
    end(x);
}

/* frp's listenByQUIC: a QUIC server (ALPN "frp", a generated certificate) on the
 * punched socket for one connection from the visitor; fd is taken. */
static void listen_quic(ufrpc_xtcp_proxy_t *x, uv_os_sock_t fd)
{
    struct ufrpc_quic_listen_opts o = {
        .use_fd = true,
        .fd = fd,
        .idle_timeout_s = x->env.quic_idle_s,
        .keepalive_s = x->env.quic_keepalive_s,
        .max_streams = x->env.quic_max_streams,
        .max_sessions = 1,
    };
    char why[256];
    int rc = ufrpc_quic_listen(x->env.loop, &o, on_quic_accept, on_quic_end, x, &x->ql, why,
                               sizeof why);
    if (rc) {
        x->ql = NULL;
        UFRPC_LOGW(x->env.log, "[%s] dial quic error: %s", x->name, why);
        end_later(x);
        return;
    }
    x->st = X_TUNNEL;
    uv_timer_start(&x->timer, on_quic_accept_timeout, QUIC_ACCEPT_TIMEOUT_MS, 0);
}

static void on_mux_error(ufrpc_mux_t *m, int err, void *data)
{
    (void)m;
    ufrpc_xtcp_proxy_t *x = data;
    UFRPC_LOGE(x->env.log, "[%s] accept connection error: %s", x->name, ufrpc_strerror(err));
    end_later(x);
}

static void send_report(ufrpc_xtcp_proxy_t *x, bool ok)
{
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_NAT_HOLE_REPORT);
    m.u.nat_hole_report.sid = x->sid;
    m.u.nat_hole_report.success = ok;
    x->env.send_msg(x->env.data, &m);
    m.u.nat_hole_report.sid = NULL;
}

static void on_punched(ufrpc_holepunch_t *h, int status, const char *err, void *data)
{
    ufrpc_xtcp_proxy_t *x = data;
    if (status < 0) {
        UFRPC_LOGW(x->env.log, "[%s] make hole error: %s", x->name, err);
        send_report(x, false);
        end_later(x);
        return;
    }
    UFRPC_LOGI(x->env.log, "[%s] establishing nat hole connection successful, sid [%s], remoteAddr [%s]",
               x->name, x->sid, ufrpc_holepunch_peer_text(h));
    send_report(x, true);
    uv_os_sock_t fd;
    struct sockaddr_storage peer;
    int rc = ufrpc_holepunch_take(h, &fd, &peer);
    ufrpc_holepunch_free(x->hp);
    x->hp = NULL;
    if (rc == 0 && x->quic) {
        listen_quic(x, fd);
        return;
    }
    struct ufrpc_stream *k = NULL;
    if (rc == 0) {
        struct ufrpc_kcp_config kc;
        ufrpc_xtcp_kcp_config(&kc);
        k = ufrpc_kcp_connect_fd(x->env.loop, fd, (const struct sockaddr *)&peer, &kc, &rc);
    }
    if (!k) {
        UFRPC_LOGW(x->env.log, "[%s] create kcp connection from udp connection error: %s", x->name,
                   ufrpc_strerror(rc));
        end_later(x);
        return;
    }
    struct ufrpc_yamux_config yc;
    ufrpc_yamux_config_default(&yc);
    yc.keepalive_interval_ms = 10000;
    struct ufrpc_mux_callbacks cbs = {.on_accept = on_accept, .on_error = on_mux_error};
    rc = ufrpc_mux_new(x->env.loop, k, UFRPC_YAMUX_SERVER, &yc, &cbs, x, &x->mux);
    if (rc) {
        x->mux = NULL;
        UFRPC_LOGE(x->env.log, "[%s] create mux session error: %s", x->name, ufrpc_strerror(rc));
        end_later(x);
        return;
    }
    x->st = X_TUNNEL;
}

int ufrpc_xtcp_proxy_on_resp(ufrpc_xtcp_proxy_t *x, const struct ufrpc_msg_nat_hole_resp *r)
{
    if (x->st != X_EXCHANGE || !r->transaction_id || strcmp(r->transaction_id, x->tid) != 0)
        return 0;
    uv_timer_stop(&x->timer);
    if (r->error && r->error[0]) {
        UFRPC_LOGW(x->env.log, "[%s] nathole exchange info error: natHoleRespMsg get error info: %s",
                   x->name, r->error);
        end_later(x);
        return 1;
    }
    if (r->candidate_addrs.n == 0) {
        UFRPC_LOGW(x->env.log, "[%s] nathole exchange info error: natHoleRespMsg get empty candidate "
                               "addresses", x->name);
        end_later(x);
        return 1;
    }
    char cand[512], assi[512], beh[600];
    ufrpc_holepunch_strv_text(&r->candidate_addrs, cand, sizeof cand);
    ufrpc_holepunch_strv_text(&r->assisted_addrs, assi, sizeof assi);
    ufrpc_xtcp_behavior_text(&r->detect_behavior, beh, sizeof beh);
    UFRPC_LOGI(x->env.log, "[%s] get natHoleRespMsg, sid [%s], protocol [%s], candidate address %s, "
                           "assisted address %s, detectBehavior: %s",
               x->name, r->sid ? r->sid : "", r->protocol ? r->protocol : "", cand, assi, beh);
    x->quic = !r->protocol || strcmp(r->protocol, "kcp") != 0; /* frp: anything else is quic */
    x->st = X_PUNCH;
    int rc = ufrpc_holepunch_punch(x->hp, r, x->key);
    if (rc) {
        UFRPC_LOGW(x->env.log, "[%s] make hole error: %s", x->name, ufrpc_strerror(rc));
        send_report(x, false);
        end_later(x);
    }
    return 1;
}

static void on_resp_timeout(uv_timer_t *t)
{
    ufrpc_xtcp_proxy_t *x = t->data;
    UFRPC_LOGW(x->env.log, "[%s] nathole exchange info error: get natHoleRespMsg error: "
                           "context deadline exceeded", x->name);
    end(x);
}

static void on_prepared(ufrpc_holepunch_t *h, int status, const char *err, void *data)
{
    ufrpc_xtcp_proxy_t *x = data;
    if (status < 0) {
        UFRPC_LOGW(x->env.log, "[%s] nathole prepare error: %s", x->name, err);
        end_later(x);
        return;
    }
    char ma[512], aa[512];
    ufrpc_holepunch_strv_text(ufrpc_holepunch_mapped(h), ma, sizeof ma);
    ufrpc_holepunch_strv_text(ufrpc_holepunch_assisted(h), aa, sizeof aa);
    UFRPC_LOGI(x->env.log, "[%s] nathole prepare success, nat type: %s, behavior: %s, addresses: %s, "
                           "assistedAddresses: %s",
               x->name, ufrpc_holepunch_nat_type(h), ufrpc_holepunch_behavior(h), ma, aa);
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_NAT_HOLE_CLIENT);
    int rc = ufrpc_xtcp_new_tid(x->tid);
    m.u.nat_hole_client.transaction_id = x->tid;
    m.u.nat_hole_client.proxy_name = x->wire_name;
    m.u.nat_hole_client.sid = x->sid;
    m.u.nat_hole_client.mapped_addrs = *ufrpc_holepunch_mapped(h);
    m.u.nat_hole_client.assisted_addrs = *ufrpc_holepunch_assisted(h);
    if (rc == 0)
        rc = x->env.send_msg(x->env.data, &m);
    memset(&m.u, 0, sizeof m.u); /* all borrowed */
    if (rc) {
        UFRPC_LOGW(x->env.log, "[%s] nathole exchange info error: %s", x->name, ufrpc_strerror(rc));
        end_later(x);
        return;
    }
    UFRPC_LOGT(x->env.log, "[%s] nathole exchange info start", x->name);
    x->st = X_EXCHANGE;
    uv_timer_start(&x->timer, on_resp_timeout, RESP_TIMEOUT_MS, 0);
}

static void on_sid_timeout(uv_timer_t *t)
{
    ufrpc_xtcp_proxy_t *x = t->data;
    UFRPC_LOGE(x->env.log, "[%s] xtcp read from workConn error: %s", x->name,
               ufrpc_strerror(UFRPC_ERR_TIMEOUT));
    end(x);
}

static void got_sid(ufrpc_xtcp_proxy_t *x, const char *sid)
{
    free(x->rd);
    x->rd = NULL;
    uv_timer_stop(&x->timer);
    x->sid = strdup(sid);
    if (!x->sid) {
        UFRPC_LOGE(x->env.log, "[%s] xtcp read from workConn error: %s", x->name,
                   ufrpc_strerror(UFRPC_ERR_NOMEM));
        end_later(x);
        return;
    }
    UFRPC_LOGT(x->env.log, "[%s] nathole prepare start", x->name);
    struct ufrpc_holepunch_cbs cbs = {.on_prepared = on_prepared, .on_punched = on_punched};
    int rc = ufrpc_holepunch_start(x->env.loop, x->env.log, x->name, x->stun, x->disable_assisted,
                                   &cbs, x, &x->hp);
    if (rc) {
        x->hp = NULL;
        UFRPC_LOGW(x->env.log, "[%s] nathole prepare error: %s", x->name, ufrpc_strerror(rc));
        end_later(x);
        return;
    }
    x->st = X_PREPARE;
}

static void on_work_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                         size_t len)
{
    (void)buf;
    ufrpc_xtcp_proxy_t *x = s->data;
    if (x->st != X_READ_SID)
        return;
    if (status < 0) {
        UFRPC_LOGE(x->env.log, "[%s] xtcp read from workConn error: %s", x->name,
                   ufrpc_strerror(status));
        end_later(x);
        return;
    }
    while (len > 0) {
        size_t used = 0;
        struct ufrpc_frame f;
        int rc = ufrpc_wire_reader_feed(x->rd, data, len, &used, &f);
        data += used;
        len -= used;
        if (rc == 0)
            continue;
        struct ufrpc_msg m;
        if (rc == 1)
            rc = ufrpc_wire_check_type(x->env.wire, f.type, UFRPC_MSG_NAT_HOLE_SID);
        if (rc == 1 || rc == 0)
            rc = ufrpc_msg_decode(UFRPC_MSG_NAT_HOLE_SID, f.body, f.body_len, &m);
        if (rc < 0) {
            UFRPC_LOGE(x->env.log, "[%s] xtcp read from workConn error: %s", x->name,
                       ufrpc_strerror(rc));
            end_later(x);
            return;
        }
        ufrpc_stream_read_stop(s);
        x->st = X_PREPARE; /* no more reads */
        got_sid(x, m.u.nat_hole_sid.sid ? m.u.nat_hole_sid.sid : "");
        ufrpc_msg_free(&m);
        /* frp closes the work connection once the sid is read */
        if (x->work) {
            struct ufrpc_stream *w = x->work;
            x->work = NULL;
            w->data = x;
            x->closes++;
            ufrpc_stream_close(w, on_work_closed);
        }
        return;
    }
}

int ufrpc_xtcp_proxy_start(const struct ufrpc_xtcp_env *env, struct ufrpc_stream *s,
                           const struct ufrpc_proxy_config *pc, const char *name,
                           ufrpc_xtcp_proxy_t **out)
{
    *out = NULL;
    ufrpc_xtcp_proxy_t *x = calloc(1, sizeof *x);
    if (!x) {
        ufrpc_stream_close(s, NULL);
        return UFRPC_ERR_NOMEM;
    }
    x->env = *env;
    enum ufrpc_wire_version ver = env->wire == UFRPC_WIRE_V2 ? UFRPC_WIRE_V2 : UFRPC_WIRE_V1;
    x->env.wire = ver;
    x->stun = strdup(env->stun_server ? env->stun_server : "");
    x->user = strdup(env->user ? env->user : "");
    x->name = strdup(name ? name : "");
    size_t wl = strlen(x->user ? x->user : "") + strlen(name ? name : "") + 2;
    x->wire_name = malloc(wl);
    x->rd = malloc(ufrpc_wire_reader_size(ver));
    x->disable_assisted = pc->disable_assisted_addrs;
    const char *sk = pc->secret_key ? pc->secret_key : "";
    int rc = ufrpc_cfb_derive_key((const uint8_t *)sk, strlen(sk), x->key);
    if (!x->stun || !x->user || !x->name || !x->wire_name || !x->rd || rc) {
        free(x->stun);
        free(x->user);
        free(x->name);
        free(x->wire_name);
        free(x->rd);
        free(x);
        ufrpc_stream_close(s, NULL);
        return rc ? rc : UFRPC_ERR_NOMEM;
    }
    if (x->user[0])
        snprintf(x->wire_name, wl, "%s.%s", x->user, x->name);
    else
        snprintf(x->wire_name, wl, "%s", x->name);
    ufrpc_wire_reader_init(x->rd, ver, false);
    uv_timer_init(env->loop, &x->timer);
    x->timer.data = x;
    x->timer_open = 1;
    x->work = s;
    s->data = x;
    x->st = X_READ_SID;
    rc = ufrpc_stream_read_start(s, on_work_read);
    if (rc) {
        UFRPC_LOGE(x->env.log, "[%s] xtcp read from workConn error: %s", x->name, ufrpc_strerror(rc));
        end_later(x);
    } else {
        uv_timer_start(&x->timer, on_sid_timeout, SID_TIMEOUT_MS, 0);
    }
    *out = x;
    return 0;
}
