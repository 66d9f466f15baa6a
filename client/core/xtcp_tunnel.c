/* client/core/xtcp_tunnel.c — an xtcp visitor's P2P tunnel. See xtcp_tunnel.h. */
#include "client/core/xtcp_tunnel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/core/holepunch.h"
#include "client/core/xtcp_proxy.h"
#include "net/kcp.h"
#include "net/mux.h"
#include "net/quic.h"
#include "net/quic_lib.h"
#include "proto/auth.h"
#include "proto/error.h"
#include "proto/kcp.h"

#define RESP_TIMEOUT_MS 5000u
#define ATTEMPT_SPACING_MS 10000u

enum tstate { T_IDLE, T_PRECHECK, T_PREPARE, T_EXCHANGE, T_PUNCH, T_UP, T_CLOSING };

struct ufrpc_xtcp_tunnel {
    struct ufrpc_xtcp_tunnel_env env;
    char *name, *stun, *proxy_name, *sk, *protocol;
    uint8_t key[UFRPC_CFB_KEY_LEN];
    enum tstate st;
    uv_timer_t timer; /* response timeouts */
    uv_timer_t retry; /* attempt spacing, keepTunnelOpen checks */
    uv_timer_t defer; /* callbacks out of the caller's stack */
    int handles;
    ufrpc_holepunch_t *hp;
    ufrpc_mux_t *mux;      /* kcp: the tunnel (T_UP) */
    ufrpc_quic_t *quic;    /* quic: the tunnel (handshaking in T_PUNCH, then T_UP) */
    int muxes_closing;
    char tid[17];
    char sid[128];         /* of the current attempt, for log lines */
    uint64_t last_start;   /* loop ms of the last attempt's start; 0 none */
    int kick_pending;      /* a kick waits for the spacing */
    int up_pending;        /* on_up to deliver from the defer timer */
    double tokens;         /* keepTunnelOpen's retry budget */
    uint64_t tokens_at;
    void (*free_cb)(void *data);
    void *free_data;
};

static void maybe_done(ufrpc_xtcp_tunnel_t *t)
{
    if (t->st != T_CLOSING || t->handles > 0 || t->muxes_closing > 0)
        return;
    void (*cb)(void *) = t->free_cb;
    void *data = t->free_data;
    free(t->name);
    free(t->stun);
    free(t->proxy_name);
    if (t->sk)
        memset(t->sk, 0, strlen(t->sk));
    free(t->sk);
    free(t->protocol);
    memset(t->key, 0, sizeof t->key);
    free(t);
    if (cb)
        cb(data);
}

static void on_handle_closed(uv_handle_t *h)
{
    ufrpc_xtcp_tunnel_t *t = h->data;
    t->handles--;
    maybe_done(t);
}

static void on_mux_closed(void *data)
{
    ufrpc_xtcp_tunnel_t *t = data;
    t->muxes_closing--;
    maybe_done(t);
}

static void drop_mux(ufrpc_xtcp_tunnel_t *t)
{
    if (t->quic) {
        ufrpc_quic_t *q = t->quic;
        t->quic = NULL;
        t->muxes_closing++;
        ufrpc_quic_close(q, on_mux_closed, t);
    }
    if (!t->mux)
        return;
    ufrpc_mux_t *m = t->mux;
    t->mux = NULL;
    t->muxes_closing++;
    ufrpc_mux_close(m, on_mux_closed);
}

void ufrpc_xtcp_tunnel_free(ufrpc_xtcp_tunnel_t *t, void (*cb)(void *data), void *data)
{
    if (!t || t->st == T_CLOSING)
        return;
    t->st = T_CLOSING;
    t->free_cb = cb;
    t->free_data = data;
    if (t->hp) {
        ufrpc_holepunch_free(t->hp);
        t->hp = NULL;
    }
    drop_mux(t);
    uv_close((uv_handle_t *)&t->timer, on_handle_closed);
    uv_close((uv_handle_t *)&t->retry, on_handle_closed);
    uv_close((uv_handle_t *)&t->defer, on_handle_closed);
    maybe_done(t);
}

bool ufrpc_xtcp_tunnel_up(const ufrpc_xtcp_tunnel_t *t)
{
    return t->st == T_UP && (t->mux != NULL || t->quic != NULL);
}

static void start_attempt(ufrpc_xtcp_tunnel_t *t);

static void on_retry(uv_timer_t *tm);

/* An attempt ended without a tunnel: back to idle (a pending kick waits for the
 * spacing). */
static void attempt_over(ufrpc_xtcp_tunnel_t *t)
{
    uv_timer_stop(&t->timer);
    if (t->hp) {
        ufrpc_holepunch_free(t->hp);
        t->hp = NULL;
    }
    t->st = T_IDLE;
    if (t->kick_pending || (t->env.wanted && t->env.wanted(t->env.data)))
        ufrpc_xtcp_tunnel_kick(t);
}

static void on_defer(uv_timer_t *tm)
{
    ufrpc_xtcp_tunnel_t *t = tm->data;
    if (t->up_pending) {
        t->up_pending = 0;
        if (t->st == T_UP && t->env.on_up)
            t->env.on_up(t, t->env.data);
    }
}

void ufrpc_xtcp_tunnel_kick(ufrpc_xtcp_tunnel_t *t)
{
    if (t->st != T_IDLE) {
        if (t->st != T_UP && t->st != T_CLOSING)
            t->kick_pending = 0; /* the running attempt answers it */
        return;
    }
    uint64_t now = uv_now(t->env.loop);
    if (t->last_start && now < t->last_start + ATTEMPT_SPACING_MS) {
        t->kick_pending = 1;
        uv_timer_start(&t->retry, on_retry, t->last_start + ATTEMPT_SPACING_MS - now,
                       t->env.keep_open ? (uint64_t)t->env.min_retry_interval_s * 1000u : 0);
        return;
    }
    t->kick_pending = 0;
    start_attempt(t);
}

/* keepTunnelOpen's limiter: maxRetriesAnHour tokens, refilled evenly over the hour. */
static bool take_token(ufrpc_xtcp_tunnel_t *t)
{
    uint64_t now = uv_now(t->env.loop);
    double max = (double)(t->env.max_retries_an_hour > 0 ? t->env.max_retries_an_hour : 8);
    t->tokens += (double)(now - t->tokens_at) * max / 3600000.0;
    t->tokens_at = now;
    if (t->tokens > max)
        t->tokens = max;
    if (t->tokens < 1.0)
        return false;
    t->tokens -= 1.0;
    return true;
}

static void on_retry(uv_timer_t *tm)
{
    ufrpc_xtcp_tunnel_t *t = tm->data;
    if (t->st == T_CLOSING)
        return;
    if (t->kick_pending) {
        ufrpc_xtcp_tunnel_kick(t);
        return;
    }
    if (!t->env.keep_open)
        return;
    UFRPC_LOGD(t->env.log, "[%s] keepTunnelOpenWorker try to check tunnel...", t->name);
    if (ufrpc_xtcp_tunnel_up(t)) {
        UFRPC_LOGD(t->env.log, "[%s] keepTunnelOpenWorker check success", t->name);
        return;
    }
    UFRPC_LOGW(t->env.log, "[%s] keepTunnelOpenWorker get tunnel connection error: no tunnel session",
               t->name);
    if (take_token(t))
        ufrpc_xtcp_tunnel_kick(t);
}

static void on_mux_error(ufrpc_mux_t *m, int err, void *data)
{
    (void)m;
    ufrpc_xtcp_tunnel_t *t = data;
    UFRPC_LOGW(t->env.log, "[%s] xtcp tunnel closed: %s", t->name, ufrpc_strerror(err));
    if (t->st == T_UP) {
        drop_mux(t);
        t->st = T_IDLE;
    }
}

static void tunnel_ready(ufrpc_xtcp_tunnel_t *t)
{
    uv_timer_stop(&t->timer);
    t->st = T_UP;
    t->kick_pending = 0;
    t->up_pending = 1;
    uv_timer_start(&t->defer, on_defer, 0, 0);
}

static void on_quic_connected(ufrpc_quic_t *q, int status, void *data)
{
    ufrpc_xtcp_tunnel_t *t = data;
    if (t->st == T_CLOSING || q != t->quic)
        return;
    if (status < 0) {
        UFRPC_LOGW(t->env.log, "[%s] init tunnel session error: dial quic error: %s", t->name,
                   ufrpc_quic_error_text(q));
        drop_mux(t);
        attempt_over(t);
        return;
    }
    tunnel_ready(t);
}

static void on_quic_error(ufrpc_quic_t *q, int err, void *data)
{
    ufrpc_xtcp_tunnel_t *t = data;
    if (q != t->quic)
        return;
    UFRPC_LOGW(t->env.log, "[%s] xtcp tunnel closed: %s", t->name,
               ufrpc_quic_error_text(q)[0] ? ufrpc_quic_error_text(q) : ufrpc_strerror(err));
    if (t->st == T_UP) {
        drop_mux(t);
        t->st = T_IDLE;
    }
}

static void on_punched(ufrpc_holepunch_t *h, int status, const char *err, void *data)
{
    ufrpc_xtcp_tunnel_t *t = data;
    if (status < 0) {
        UFRPC_LOGW(t->env.log, "[%s] make hole error: %s", t->name, err);
        attempt_over(t);
        return;
    }
    UFRPC_LOGI(t->env.log, "[%s] establishing nat hole connection successful, sid [%s], remoteAddr [%s]",
               t->name, t->sid, ufrpc_holepunch_peer_text(h));
    uv_os_sock_t fd;
    struct sockaddr_storage peer;
    int rc = ufrpc_holepunch_take(h, &fd, &peer);
    ufrpc_holepunch_free(t->hp);
    t->hp = NULL;
    if (rc == 0 && strcmp(t->protocol, "kcp") != 0) { /* frp: anything else is quic */
        /* frp's QUICTunnelSession: QUIC (ALPN "frp", no verification) to the peer from
         * the punched socket; one stream per user connection */
        char ip[64];
        const char *pt = ufrpc_holepunch_peer_text(h);
        const char *colon = strrchr(pt, ':');
        snprintf(ip, sizeof ip, "%.*s", colon ? (int)(colon - pt) : 0, pt);
        struct ufrpc_quic_opts qo = {
            .host = ip,
            .port = ntohs(((struct sockaddr_in *)&peer)->sin_port),
            .idle_timeout_s = 30,
            .keepalive_s = 10,
            .use_fd = true,
            .fd = fd,
        };
        rc = ufrpc_quic_connect(t->env.loop, &qo, on_quic_connected, on_quic_error, t, &t->quic);
        if (rc) {
            t->quic = NULL;
            UFRPC_LOGW(t->env.log, "[%s] init tunnel session error: dial quic error: %s", t->name,
                       rc == UFRPC_ERR_UNSUPPORTED ? ufrpc_quic_lib_error() : ufrpc_strerror(rc));
            attempt_over(t);
        }
        return; /* T_PUNCH until the handshake ends */
    }
    struct ufrpc_stream *k = NULL;
    if (rc == 0) {
        struct ufrpc_kcp_config kc;
        ufrpc_xtcp_kcp_config(&kc);
        k = ufrpc_kcp_connect_fd(t->env.loop, fd, (const struct sockaddr *)&peer, &kc, &rc);
    }
    if (!k) {
        UFRPC_LOGW(t->env.log, "[%s] init tunnel session error: create kcp connection from udp "
                               "connection error: %s", t->name, ufrpc_strerror(rc));
        attempt_over(t);
        return;
    }
    struct ufrpc_yamux_config yc;
    ufrpc_yamux_config_default(&yc);
    yc.keepalive_interval_ms = 10000;
    struct ufrpc_mux_callbacks cbs = {.on_error = on_mux_error};
    rc = ufrpc_mux_new(t->env.loop, k, UFRPC_YAMUX_CLIENT, &yc, &cbs, t, &t->mux);
    if (rc) {
        t->mux = NULL;
        UFRPC_LOGW(t->env.log, "[%s] init tunnel session error: initial client session error: %s",
                   t->name, ufrpc_strerror(rc));
        attempt_over(t);
        return;
    }
    tunnel_ready(t);
}

static void on_resp_timeout(uv_timer_t *tm)
{
    ufrpc_xtcp_tunnel_t *t = tm->data;
    UFRPC_LOGW(t->env.log, "[%s] %s error: get natHoleRespMsg error: context deadline exceeded",
               t->name, t->st == T_PRECHECK ? "nathole precheck" : "nathole exchange info");
    attempt_over(t);
}

static int64_t now_s(ufrpc_xtcp_tunnel_t *t)
{
    return t->env.now_s ? t->env.now_s(t->env.send_data) : (int64_t)time(NULL);
}

static void on_prepared(ufrpc_holepunch_t *h, int status, const char *err, void *data)
{
    ufrpc_xtcp_tunnel_t *t = data;
    if (status < 0) {
        UFRPC_LOGW(t->env.log, "[%s] nathole prepare error: %s", t->name, err);
        attempt_over(t);
        return;
    }
    char ma[512], aa[512];
    ufrpc_holepunch_strv_text(ufrpc_holepunch_mapped(h), ma, sizeof ma);
    ufrpc_holepunch_strv_text(ufrpc_holepunch_assisted(h), aa, sizeof aa);
    UFRPC_LOGI(t->env.log, "[%s] nathole prepare success, nat type: %s, behavior: %s, addresses: %s, "
                           "assistedAddresses: %s",
               t->name, ufrpc_holepunch_nat_type(h), ufrpc_holepunch_behavior(h), ma, aa);
    int64_t ts = now_s(t);
    char sign[UFRPC_AUTH_KEY_LEN + 1];
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_NAT_HOLE_VISITOR);
    int rc = ufrpc_xtcp_new_tid(t->tid);
    if (rc == 0)
        rc = ufrpc_auth_key_str(t->sk, ts, sign);
    struct ufrpc_msg_nat_hole_visitor *v = &m.u.nat_hole_visitor;
    v->transaction_id = t->tid;
    v->proxy_name = t->proxy_name;
    v->protocol = t->protocol;
    v->sign_key = sign;
    v->timestamp = ts;
    v->mapped_addrs = *ufrpc_holepunch_mapped(h);
    v->assisted_addrs = *ufrpc_holepunch_assisted(h);
    if (rc == 0)
        rc = t->env.send_msg(t->env.send_data, &m);
    memset(&m.u, 0, sizeof m.u); /* all borrowed */
    if (rc) {
        UFRPC_LOGW(t->env.log, "[%s] nathole exchange info error: %s", t->name, ufrpc_strerror(rc));
        attempt_over(t);
        return;
    }
    UFRPC_LOGT(t->env.log, "[%s] nathole exchange info start", t->name);
    t->st = T_EXCHANGE;
    uv_timer_start(&t->timer, on_resp_timeout, RESP_TIMEOUT_MS, 0);
}

int ufrpc_xtcp_tunnel_on_resp(ufrpc_xtcp_tunnel_t *t, const struct ufrpc_msg_nat_hole_resp *r)
{
    if ((t->st != T_PRECHECK && t->st != T_EXCHANGE) || !r->transaction_id ||
        strcmp(r->transaction_id, t->tid) != 0)
        return 0;
    uv_timer_stop(&t->timer);
    if (t->st == T_PRECHECK) {
        if (r->error && r->error[0]) {
            UFRPC_LOGW(t->env.log, "[%s] nathole precheck error: %s", t->name, r->error);
            attempt_over(t);
            return 1;
        }
        UFRPC_LOGT(t->env.log, "[%s] nathole prepare start", t->name);
        struct ufrpc_holepunch_cbs cbs = {.on_prepared = on_prepared, .on_punched = on_punched};
        int rc = ufrpc_holepunch_start(t->env.loop, t->env.log, t->name, t->stun,
                                       t->env.disable_assisted, &cbs, t, &t->hp);
        if (rc) {
            t->hp = NULL;
            UFRPC_LOGW(t->env.log, "[%s] nathole prepare error: %s", t->name, ufrpc_strerror(rc));
            attempt_over(t);
            return 1;
        }
        t->st = T_PREPARE;
        return 1;
    }
    if (r->error && r->error[0]) {
        UFRPC_LOGW(t->env.log, "[%s] nathole exchange info error: natHoleRespMsg get error info: %s",
                   t->name, r->error);
        attempt_over(t);
        return 1;
    }
    if (r->candidate_addrs.n == 0) {
        UFRPC_LOGW(t->env.log, "[%s] nathole exchange info error: natHoleRespMsg get empty candidate "
                               "addresses", t->name);
        attempt_over(t);
        return 1;
    }
    char cand[512], assi[512], beh[600];
    ufrpc_holepunch_strv_text(&r->candidate_addrs, cand, sizeof cand);
    ufrpc_holepunch_strv_text(&r->assisted_addrs, assi, sizeof assi);
    ufrpc_xtcp_behavior_text(&r->detect_behavior, beh, sizeof beh);
    UFRPC_LOGI(t->env.log, "[%s] get natHoleRespMsg, sid [%s], protocol [%s], candidate address %s, "
                           "assisted address %s, detectBehavior: %s",
               t->name, r->sid ? r->sid : "", r->protocol ? r->protocol : "", cand, assi, beh);
    snprintf(t->sid, sizeof t->sid, "%s", r->sid ? r->sid : "");
    t->st = T_PUNCH;
    int rc = ufrpc_holepunch_punch(t->hp, r, t->key);
    if (rc) {
        UFRPC_LOGW(t->env.log, "[%s] make hole error: %s", t->name, ufrpc_strerror(rc));
        attempt_over(t);
    }
    return 1;
}

static void start_attempt(ufrpc_xtcp_tunnel_t *t)
{
    t->last_start = uv_now(t->env.loop);
    UFRPC_LOGT(t->env.log, "[%s] makeNatHole start", t->name);
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_NAT_HOLE_VISITOR);
    int rc = ufrpc_xtcp_new_tid(t->tid);
    m.u.nat_hole_visitor.transaction_id = t->tid;
    m.u.nat_hole_visitor.proxy_name = t->proxy_name;
    m.u.nat_hole_visitor.pre_check = true;
    if (rc == 0)
        rc = t->env.send_msg(t->env.send_data, &m);
    memset(&m.u, 0, sizeof m.u);
    if (rc) {
        UFRPC_LOGW(t->env.log, "[%s] nathole precheck error: %s", t->name, ufrpc_strerror(rc));
        t->st = T_IDLE;
        return;
    }
    t->st = T_PRECHECK;
    uv_timer_start(&t->timer, on_resp_timeout, RESP_TIMEOUT_MS, 0);
}

int ufrpc_xtcp_tunnel_open(ufrpc_xtcp_tunnel_t *t, struct ufrpc_stream **out)
{
    *out = NULL;
    if (!ufrpc_xtcp_tunnel_up(t)) {
        ufrpc_xtcp_tunnel_kick(t);
        return UFRPC_ERR_STATE;
    }
    int rc = t->quic ? ufrpc_quic_open_stream(t->quic, out) : ufrpc_mux_open(t->mux, out);
    if (rc) {
        UFRPC_LOGW(t->env.log, "[%s] get tunnel connection error: %s", t->name, ufrpc_strerror(rc));
        drop_mux(t);
        t->st = T_IDLE;
        ufrpc_xtcp_tunnel_kick(t);
    }
    return rc;
}

static char *dup0(const char *s)
{
    return strdup(s ? s : "");
}

int ufrpc_xtcp_tunnel_new(const struct ufrpc_xtcp_tunnel_env *env, ufrpc_xtcp_tunnel_t **out)
{
    *out = NULL;
    ufrpc_xtcp_tunnel_t *t = calloc(1, sizeof *t);
    if (!t)
        return UFRPC_ERR_NOMEM;
    t->env = *env;
    t->name = dup0(env->name);
    t->stun = dup0(env->stun_server);
    t->proxy_name = dup0(env->proxy_name);
    t->sk = dup0(env->secret_key);
    t->protocol = dup0(env->protocol);
    int rc = t->sk ? ufrpc_cfb_derive_key((const uint8_t *)t->sk, strlen(t->sk), t->key)
                   : UFRPC_ERR_NOMEM;
    if (rc || !t->name || !t->stun || !t->proxy_name || !t->protocol) {
        free(t->name);
        free(t->stun);
        free(t->proxy_name);
        free(t->sk);
        free(t->protocol);
        free(t);
        return rc ? rc : UFRPC_ERR_NOMEM;
    }
    t->env.name = t->env.stun_server = t->env.proxy_name = t->env.secret_key = t->env.protocol = NULL;
    uv_timer_init(env->loop, &t->timer);
    uv_timer_init(env->loop, &t->retry);
    uv_timer_init(env->loop, &t->defer);
    t->timer.data = t->retry.data = t->defer.data = t;
    t->handles = 3;
    t->tokens = (double)(env->max_retries_an_hour > 0 ? env->max_retries_an_hour : 8);
    t->tokens_at = uv_now(env->loop);
    if (env->keep_open) {
        uint64_t iv = (uint64_t)(env->min_retry_interval_s > 0 ? env->min_retry_interval_s : 90) * 1000u;
        t->env.min_retry_interval_s = (int64_t)(iv / 1000u);
        t->kick_pending = 1; /* the worker's first attempt, from the loop */
        uv_timer_start(&t->retry, on_retry, 0, iv);
    }
    *out = t;
    return 0;
}
