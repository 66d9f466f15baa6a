/* The supervisor: connect, log in, run, reconnect with frpc's backoff; shutdown, reload.
 * (Split: see client/supervisor_internal.h.) */
#include "client/core/supervisor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/core/heap_trim.h"
#include "client/core/proxy_rt.h"
#include "client/core/supervisor_internal.h"
#include "net/dial_error.h"
#include "proto/error.h"

static void start_attempt(ufrpc_sup_t *cl);
static void session_failed(ufrpc_sup_t *cl);
static void handle_failure(ufrpc_sup_t *cl);
static void drop_oidc(ufrpc_sup_t *cl);

static int uses_oidc(const struct ufrpc_config *cfg)
{
    return strcmp(ufrpc_cfg_str(cfg->auth.method), "oidc") == 0;
}

uint64_t ufrpc_sup_now_ms(ufrpc_sup_t *cl)
{
    return uv_now(cl->loop);
}

/* ---- stopping ------------------------------------------------------------ */

static void maybe_stopped(ufrpc_sup_t *cl)
{
    if (cl->state == CL_STOPPING)
        UFRPC_LOGT(cl->log, "stopping: %d closes pending, work connections %s, %zu udp channels",
                   cl->pending, cl->workconns ? "open" : "none", cl->nchans);
    if (cl->state != CL_STOPPING || cl->pending > 0 || cl->workconns || cl->nchans > 0 ||
        cl->xtcps)
        return;
    cl->state = CL_STOPPED;
    if (cl->on_exit)
        cl->on_exit(cl, cl->exit_code, cl->exit_msg[0] ? cl->exit_msg : NULL, cl->data);
}

void ufrpc_sup_closed_pending(ufrpc_sup_t *cl)
{
    cl->pending--;
    if (cl->pending == 0 && cl->nretired > 0)
        ufrpc_sup_release_retired(cl); /* before maybe_stopped: on_exit may free cl */
    maybe_stopped(cl);
}

static void on_ctl_stream_closed(struct ufrpc_stream *s)
{
    ufrpc_sup_closed_pending(s->data);
}

static void on_connector_closed(void *data)
{
    ufrpc_sup_closed_pending(data);
}

static void on_handle_closed(uv_handle_t *h)
{
    ufrpc_sup_closed_pending(h->data);
}

/* Ends the current login attempt / session (streams, control, connector). */
static void teardown_session(ufrpc_sup_t *cl)
{
    cl->gen++;
    uv_timer_stop(&cl->ctl_timer);
    uv_timer_stop(&cl->fail_timer);
    cl->fail_scheduled = 0;
    if (cl->ctl_stream) {
        struct ufrpc_stream *s = cl->ctl_stream;
        cl->ctl_stream = NULL;
        s->data = cl;
        cl->pending++;
        ufrpc_stream_close(s, on_ctl_stream_closed);
    }
    cl->write_in_flight = 0;
    ufrpc_ctl_free(cl->ctl);
    cl->ctl = NULL;
    ufrpc_sup_stop_visitors(cl);
    cl->m.up = false;
    if (cl->conn) {
        uint64_t streams, stalls;
        ufrpc_connector_mux_stats(cl->conn, &streams, &stalls);
        cl->m.window_stalls_done += stalls;
        ufrpc_connector_t *c = cl->conn;
        cl->conn = NULL;
        cl->pending++;
        ufrpc_connector_close(c, on_connector_closed);
    }
}

static void stop(ufrpc_sup_t *cl, int code, const char *msg)
{
    if (cl->state == CL_STOPPING || cl->state == CL_STOPPED)
        return;
    cl->state = CL_STOPPING;
    cl->pending++; /* guard: nothing below may finish the stop before it returns */
    cl->exit_code = code;
    snprintf(cl->exit_msg, sizeof cl->exit_msg, "%s", msg ? msg : "");
    teardown_session(cl);
    drop_oidc(cl);
    for (ufrpc_workconn_t *w = cl->workconns; w;) {
        ufrpc_workconn_t *next = ufrpc_workconn_next(w);
        ufrpc_workconn_abort(w);
        w = next;
    }
    for (ufrpc_xtcp_proxy_t *x = cl->xtcps; x;) {
        ufrpc_xtcp_proxy_t *next = ufrpc_xtcp_proxy_next(x);
        ufrpc_xtcp_proxy_abort(x);
        x = next;
    }
    for (size_t i = 0; i < ufrpc_registry_count(cl->reg); i++)
        ufrpc_sup_drop_rt(cl, ufrpc_registry_at(cl->reg, i));
    /* copy: closing reports each end asynchronously, but stay safe anyway */
    for (size_t i = cl->nchans; i-- > 0;)
        ufrpc_udp_channel_close(cl->chans[i]);
    uv_timer_stop(&cl->retry_timer);
    ufrpc_sup_alerts_stop(cl);
    cl->pending += 4;
    uv_close((uv_handle_t *)&cl->trim_timer, on_handle_closed);
    uv_close((uv_handle_t *)&cl->ctl_timer, on_handle_closed);
    uv_close((uv_handle_t *)&cl->retry_timer, on_handle_closed);
    uv_close((uv_handle_t *)&cl->fail_timer, on_handle_closed);
    ufrpc_sup_closed_pending(cl); /* the guard */
}

/* ---- control stream I/O ------------------------------------------------------ */
static void on_ctl_timer(uv_timer_t *t);

static void arm_ctl_timer(ufrpc_sup_t *cl)
{
    if (!cl->ctl)
        return;
    uint64_t d = ufrpc_ctl_next_deadline(cl->ctl);
    if (d == UINT64_MAX) {
        uv_timer_stop(&cl->ctl_timer);
        return;
    }
    uint64_t now = ufrpc_sup_now_ms(cl);
    uv_timer_start(&cl->ctl_timer, on_ctl_timer, d > now ? d - now : 0, 0);
}

static void flush(ufrpc_sup_t *cl);
static void on_grace_timer(uv_timer_t *t);

static void grace_check(ufrpc_sup_t *cl)
{
    if (cl->state != CL_GRACE)
        return;
    const uint8_t *p;
    size_t n = 0;
    if (cl->ctl)
        ufrpc_ctl_pending(cl->ctl, &p, &n);
    if (n == 0 && !cl->write_in_flight)
        uv_timer_start(&cl->retry_timer, on_grace_timer, 0, 0); /* not from a callback */
}

static void on_ctl_written(struct ufrpc_stream_write *req, int status)
{
    struct ctl_write *wr = req->data;
    ufrpc_sup_t *cl = wr->cl;
    unsigned gen = wr->gen;
    free(wr);
    if (gen != cl->gen)
        return; /* from a session already torn down */
    cl->write_in_flight = 0;
    if (status < 0) {
        if (cl->ctl)
            ufrpc_ctl_on_eof(cl->ctl, status);
        session_failed(cl);
        return;
    }
    flush(cl);
    grace_check(cl);
}

static void flush(ufrpc_sup_t *cl)
{
    if (!cl->ctl || !cl->ctl_stream || cl->write_in_flight)
        return;
    const uint8_t *p;
    size_t n;
    ufrpc_ctl_pending(cl->ctl, &p, &n);
    if (n == 0)
        return;
    struct ctl_write *wr = malloc(sizeof *wr + n);
    if (!wr) {
        ufrpc_ctl_on_eof(cl->ctl, UFRPC_ERR_NOMEM);
        session_failed(cl);
        return;
    }
    memcpy(wr->buf, p, n);
    ufrpc_ctl_consume(cl->ctl, n);
    wr->cl = cl;
    wr->gen = cl->gen;
    wr->req.data = wr;
    wr->iov = uv_buf_init((char *)wr->buf, (unsigned)n);
    int rc = ufrpc_stream_write(cl->ctl_stream, &wr->req, &wr->iov, 1, on_ctl_written);
    if (rc) {
        free(wr);
        ufrpc_ctl_on_eof(cl->ctl, rc);
        session_failed(cl);
        return;
    }
    cl->write_in_flight = 1;
}

static void on_ctl_timer(uv_timer_t *t)
{
    ufrpc_sup_t *cl = t->data;
    if (!cl->ctl)
        return;
    int rc = ufrpc_ctl_tick(cl->ctl, ufrpc_sup_now_ms(cl));
    flush(cl);
    if (rc < 0) {
        session_failed(cl);
        return;
    }
    arm_ctl_timer(cl);
}

static void on_ctl_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                        size_t len)
{
    (void)buf;
    ufrpc_sup_t *cl = s->data;
    if (!cl->ctl || s != cl->ctl_stream)
        return;
    if (status < 0) {
        ufrpc_ctl_on_eof(cl->ctl, status == UFRPC_ERR_EOF ? 0 : status);
        session_failed(cl);
        return;
    }
    int rc = ufrpc_ctl_feed(cl->ctl, data, len, ufrpc_sup_now_ms(cl));
    if (!cl->ctl)
        return; /* torn down from a callback */
    flush(cl);
    if (rc < 0) {
        session_failed(cl);
        return;
    }
    arm_ctl_timer(cl);
}

/* ---- health checks ------------------------------------------------------------ */
void ufrpc_sup_on_health(void *data, const char *name, int healthy)
{
    ufrpc_sup_t *cl = data;
    struct ufrpc_tunnel *t = ufrpc_registry_find(cl->reg, UFRPC_TUNNEL_PROXY, name);
    if (!t)
        return;
    UFRPC_LOGI(cl->log, "[%s] health check %s", name, healthy ? "success" : "failed");
    ufrpc_registry_set_health(t, healthy);
    if (cl->ctl && cl->state == CL_RUNNING && ufrpc_ctl_state(cl->ctl) == UFRPC_CTL_RUNNING) {
        int rc = ufrpc_ctl_check_proxies(cl->ctl, ufrpc_sup_now_ms(cl));
        flush(cl);
        if (rc < 0)
            session_failed(cl);
    }
}

/* ---- work connections ------------------------------------------------------- */
/* The heap is trimmed once the client is quiet after activity (client/core/heap_trim.h). */
static void on_trim_timer(uv_timer_t *h);

static void arm_trim(ufrpc_sup_t *cl, uint64_t deadline_ms)
{
    if (deadline_ms == UFRPC_HEAP_TRIM_NEVER)
        return;
    uint64_t now = ufrpc_sup_now_ms(cl);
    /* fails only once stop() closed the timer: nothing left to trim for */
    (void)uv_timer_start(&cl->trim_timer, on_trim_timer, deadline_ms > now ? deadline_ms - now : 0,
                         0);
}

static void on_trim_timer(uv_timer_t *h)
{
    ufrpc_sup_t *cl = h->data;
    uint64_t next;
    if (ufrpc_heap_trim_check(&cl->trim, ufrpc_sup_now_ms(cl), ufrpc_heap_trim_free_bytes(), &next)) {
        ufrpc_heap_trim_now();
        UFRPC_LOGT(cl->log, "heap trimmed");
    } else
        arm_trim(cl, next);
}

/* A work connection took a user from frps's pool: it may hold buffers until done
 * (the idle ones waiting in the pool hold none, so they do not count). */
static void on_workconn_dispatch(ufrpc_workconn_t *w, void *data)
{
    (void)w;
    ufrpc_sup_t *cl = data;
    ufrpc_heap_trim_opened(&cl->trim, ufrpc_sup_now_ms(cl));
}

static void on_workconn_done(ufrpc_workconn_t *w, void *data)
{
    ufrpc_sup_t *cl = data;
    if (ufrpc_workconn_dispatched(w))
        arm_trim(cl, ufrpc_heap_trim_closed(&cl->trim, ufrpc_sup_now_ms(cl)));
    ufrpc_workconn_unlink(&cl->workconns, w);
    maybe_stopped(cl);
}

static void on_channel_start(ufrpc_udp_channel_t *ch, void *data)
{
    ufrpc_sup_t *cl = data;
    if (cl->nchans == cl->capchans) {
        size_t ncap = cl->capchans ? cl->capchans * 2 : 8;
        ufrpc_udp_channel_t **p = realloc(cl->chans, ncap * sizeof *p);
        if (!p) {
            ufrpc_udp_channel_close(ch); /* cannot track it: end it */
            return;
        }
        cl->chans = p;
        cl->capchans = ncap;
    }
    cl->chans[cl->nchans++] = ch;
}

static void on_channel_end(ufrpc_udp_channel_t *ch, void *data)
{
    ufrpc_sup_t *cl = data;
    for (size_t i = 0; i < cl->nchans; i++) {
        if (cl->chans[i] == ch) {
            cl->chans[i] = cl->chans[--cl->nchans];
            break;
        }
    }
    maybe_stopped(cl);
}

int ufrpc_sup_send_msg(void *data, const struct ufrpc_msg *m)
{
    ufrpc_sup_t *cl = data;
    if (!cl->ctl || cl->state != CL_RUNNING || ufrpc_ctl_state(cl->ctl) != UFRPC_CTL_RUNNING)
        return UFRPC_ERR_STATE;
    int rc = ufrpc_ctl_send(cl->ctl, m);
    if (rc == 0)
        flush(cl);
    return rc;
}

static void on_xtcp_end(ufrpc_xtcp_proxy_t *x, void *data)
{
    ufrpc_sup_t *cl = data;
    ufrpc_xtcp_proxy_unlink(&cl->xtcps, x);
    maybe_stopped(cl);
}

static void on_xtcp(void *data, struct ufrpc_stream *s, const struct ufrpc_msg_start_work_conn *m,
                    const struct ufrpc_proxy_config *pc, const char *name);

static struct ufrpc_workconn_env work_env(ufrpc_sup_t *cl)
{
    struct ufrpc_workconn_env env = {
        .loop = cl->loop,
        .log = cl->log,
        .reg = cl->reg,
        .key = cl->key,
        .udp_packet_size = cl->cfg->udp_packet_size > 0 ? (size_t)cl->cfg->udp_packet_size : 0,
        .wire = strcmp(ufrpc_cfg_str(cl->cfg->transport.wire_protocol), "v2") == 0 ? UFRPC_WIRE_V2
                                                                                 : UFRPC_WIRE_V1,
        .on_done = on_workconn_done,
        .on_channel_start = on_channel_start,
        .on_channel_end = on_channel_end,
        .on_xtcp = on_xtcp,
        .data = cl,
    };
    return env;
}

static void on_xtcp(void *data, struct ufrpc_stream *s, const struct ufrpc_msg_start_work_conn *m,
                    const struct ufrpc_proxy_config *pc, const char *name)
{
    (void)m;
    ufrpc_sup_t *cl = data;
    if (cl->state == CL_STOPPING || cl->state == CL_STOPPED) {
        ufrpc_stream_close(s, NULL);
        return;
    }
    size_t live = 0;
    for (ufrpc_xtcp_proxy_t *x = cl->xtcps; x; x = ufrpc_xtcp_proxy_next(x))
        live++;
    if (live >= UFRPC_SUP_MAX_XTCP_SESSIONS) { /* each holds a UDP socket and a tunnel */
        UFRPC_LOGW(cl->log, "[%s] xtcp: %zu P2P sessions already run, new one refused", name, live);
        ufrpc_stream_close(s, NULL);
        return;
    }
    struct ufrpc_xtcp_env env = {
        .loop = cl->loop,
        .log = cl->log,
        .stun_server = ufrpc_cfg_str(cl->cfg->nat_hole_stun_server),
        .user = cl->cfg->user,
        .send_msg = ufrpc_sup_send_msg,
        .on_end = on_xtcp_end,
        .quic_idle_s = (uint32_t)cl->cfg->transport.quic.max_idle_timeout,
        .quic_keepalive_s = (uint32_t)cl->cfg->transport.quic.keepalive_period,
        .quic_max_streams = (uint32_t)cl->cfg->transport.quic.max_incoming_streams,
        .wenv = work_env(cl),
        .data = cl,
    };
    env.wire = env.wenv.wire;
    ufrpc_xtcp_proxy_t *x = NULL;
    int rc = ufrpc_xtcp_proxy_start(&env, s, pc, name, &x);
    if (rc) {
        UFRPC_LOGE(cl->log, "[%s] xtcp read from workConn error: %s", name, ufrpc_strerror(rc));
        return;
    }
    ufrpc_xtcp_proxy_set_next(x, cl->xtcps);
    cl->xtcps = x;
}

static void on_nat_hole_resp(void *ctx, const struct ufrpc_msg_nat_hole_resp *r)
{
    ufrpc_sup_t *cl = ctx;
    for (ufrpc_xtcp_proxy_t *x = cl->xtcps; x; x = ufrpc_xtcp_proxy_next(x))
        if (ufrpc_xtcp_proxy_on_resp(x, r))
            return;
    ufrpc_sup_visitors_nat_hole_resp(cl, r);
}

static void on_work_stream(ufrpc_connector_t *c, int status, struct ufrpc_stream *s, void *data)
{
    ufrpc_sup_t *cl = data;
    if (status < 0) {
        if (status != UFRPC_ERR_CANCELED)
            UFRPC_LOGW(cl->log, "start new connection to server error: %s", ufrpc_strerror(status));
        return;
    }
    if (c != cl->conn || !cl->ctl) {
        ufrpc_stream_close(s, NULL);
        return;
    }
    struct ufrpc_msg nwc;
    int rc = ufrpc_ctl_build_new_work_conn(cl->ctl, &nwc);
    if (rc) {
        UFRPC_LOGW(cl->log, "error during NewWorkConn authentication: %s", ufrpc_strerror(rc));
        ufrpc_stream_close(s, NULL);
        return;
    }
    struct ufrpc_workconn_env env = work_env(cl);
    env.on_dispatch = on_workconn_dispatch; /* (not xtcp's tunnels: their on_done is their own) */
    ufrpc_workconn_t *w = NULL;
    rc = ufrpc_workconn_start(&env, s, &nwc, &w);
    ufrpc_msg_free(&nwc);
    if (rc) {
        UFRPC_LOGW(cl->log, "work connection write to server error: %s", ufrpc_strerror(rc));
        return;
    }
    ufrpc_workconn_set_next(w, cl->workconns);
    cl->workconns = w;
}

static void on_req_work_conn(void *ctx)
{
    ufrpc_sup_t *cl = ctx;
    if (!cl->conn || cl->state != CL_RUNNING)
        return;
    int rc = ufrpc_connector_connect(cl->conn, on_work_stream, cl);
    if (rc)
        UFRPC_LOGW(cl->log, "start new connection to server error: %s", ufrpc_strerror(rc));
}

static void on_pong(void *ctx, uint64_t rtt_ms)
{
    ufrpc_sup_t *cl = ctx;
    ufrpc_latency_observe(&cl->m.ping_rtt, rtt_ms * 1000u);
}

static void on_login(void *ctx, const char *run_id)
{
    ufrpc_sup_t *cl = ctx;
    snprintf(cl->run_id, sizeof cl->run_id, "%s", run_id);
    ufrpc_log_set_prefix(cl->log, 0, cl->run_id);
    UFRPC_LOGI(cl->log, "login to server success, get run id [%s]", cl->run_id);
    /* frpc's control start (UpdateAll of every proxy and visitor) logs these */
    struct ufrpc_sup_names pn = {.len = 0}, vn = {.len = 0};
    for (size_t i = 0; i < cl->cfg->nproxies; i++)
        ufrpc_sup_names_add(&pn, cl->cfg->proxies[i].name);
    for (size_t i = 0; i < cl->cfg->nvisitors; i++)
        ufrpc_sup_names_add(&vn, cl->cfg->visitors[i].name);
    if (pn.len)
        UFRPC_LOGI(cl->log, "proxy added: [%s]", pn.buf);
    if (vn.len)
        UFRPC_LOGI(cl->log, "visitor added: [%s]", vn.buf);
    cl->state = CL_RUNNING;
    cl->ever_logged_in = 1;
    cl->logins++;
    cl->m.logins++;
    cl->m.up = true;
    cl->m.up_since_ms = ufrpc_sup_now_ms(cl);
    ufrpc_latency_observe(&cl->m.login, (uv_hrtime() - cl->attempt_ns) / 1000u);
    ufrpc_sup_start_visitors(cl);
}

/* ---- attempts, failures, backoff --------------------------------------------- */
static void on_retry_timer(uv_timer_t *t)
{
    start_attempt(t->data);
}

static void schedule_attempt(ufrpc_sup_t *cl, uint64_t delay_ms)
{
    cl->state = CL_WAITING;
    uv_timer_start(&cl->retry_timer, on_retry_timer, delay_ms, 0);
}

static void attempt_failed(ufrpc_sup_t *cl, int code, const char *text)
{
    cl->m.login_failures[ufrpc_session_cause_of(code)]++;
    UFRPC_LOGW(cl->log, "connect to server error: %s", text);
    teardown_session(cl);
    if (!cl->ever_logged_in && cl->cfg->login_fail_exit) {
        char msg[1300];
        snprintf(msg, sizeof msg,
                 "login to the server failed: %s. With loginFailExit enabled, no additional "
                 "retries will be attempted",
                 text);
        stop(cl, 1, msg);
        return;
    }
    uint64_t delay = ufrpc_backoff_failed(&cl->login_bo, ufrpc_sup_now_ms(cl), ufrpc_sup_rand01, cl);
    UFRPC_LOGD(cl->log, "next login attempt in %llu ms", (unsigned long long)delay);
    schedule_attempt(cl, delay);
}

static void session_lost(ufrpc_sup_t *cl, int code, const char *text)
{
    cl->m.reconnects[ufrpc_session_cause_of(code)]++;
    UFRPC_LOGW(cl->log, "connection to server closed: %s", text);
    teardown_session(cl);
    /* the session's buffers (stream windows: up to 6 MiB each) go with it */
    arm_trim(cl, ufrpc_heap_trim_session_lost(&cl->trim, ufrpc_sup_now_ms(cl)));
    ufrpc_registry_session_reset(cl->reg, ufrpc_sup_now_ms(cl));
    cl->deaths++;
    struct ufrpc_backoff_opts lo = ufrpc_backoff_login_opts(20000);
    ufrpc_backoff_init(&cl->login_bo, &lo);
    uint64_t delay = 0;
    if (cl->deaths > 1)
        delay = ufrpc_backoff_failed(&cl->session_bo, ufrpc_sup_now_ms(cl), ufrpc_sup_rand01, cl);
    schedule_attempt(cl, delay);
}

static void on_fail_timer(uv_timer_t *t)
{
    ufrpc_sup_t *cl = t->data;
    cl->fail_scheduled = 0;
    handle_failure(cl);
}

/* Called from stream callbacks: tearing the session down there would close streams
 * from inside their own callbacks, so the work runs on the next loop turn. */
static void session_failed(ufrpc_sup_t *cl)
{
    if (cl->fail_scheduled || cl->state == CL_STOPPING || cl->state == CL_STOPPED)
        return;
    cl->fail_scheduled = 1;
    uv_timer_start(&cl->fail_timer, on_fail_timer, 0, 0);
}

static void handle_failure(ufrpc_sup_t *cl)
{
    char text[600];
    int code = cl->ctl ? ufrpc_ctl_error_code(cl->ctl) : UFRPC_ERR_CLOSED;
    snprintf(text, sizeof text, "%s",
             cl->ctl && ufrpc_ctl_error(cl->ctl)[0] ? ufrpc_ctl_error(cl->ctl) : ufrpc_strerror(code));
    if (cl->state == CL_CONNECTING)
        attempt_failed(cl, code, text);
    else if (cl->state == CL_RUNNING)
        session_lost(cl, code, text);
    else if (cl->state == CL_GRACE)
        stop(cl, 0, NULL);
}

/* Go's wording for the common dial failures, so that log watchers match frpc's lines. */
static void describe_dial_error(ufrpc_sup_t *cl, int status, char *out, size_t cap)
{
    const char *addr = ufrpc_connector_address(cl->conn);
    if (ufrpc_connector_describe_tls(cl->conn, status, out, cap) == 0)
        return;
    if (status == UFRPC_ERR_TLS_HANDSHAKE || status == UFRPC_ERR_TLS_VERIFY ||
        status == UFRPC_ERR_TLS) {
        snprintf(out, cap, "tls: %s (%s)", ufrpc_strerror(status), addr);
        return;
    }
    ufrpc_dial_error_text(ufrpc_cfg_str(cl->cfg->server_addr), (uint16_t)cl->cfg->server_port,
                          status, out, cap);
}

/* The connection to frps (dial, TLS, the first stream) failed with status. */
static void dial_failed(ufrpc_sup_t *cl, int status)
{
    char text[1100];
    describe_dial_error(cl, status, text, sizeof text);
    attempt_failed(cl, status, text);
}

static void on_ctl_stream(ufrpc_connector_t *c, int status, struct ufrpc_stream *s, void *data)
{
    ufrpc_sup_t *cl = data;
    if (c != cl->conn) {
        if (s)
            ufrpc_stream_close(s, NULL);
        return;
    }
    if (status < 0) {
        dial_failed(cl, status);
        return;
    }
    cl->ctl_stream = s;
    s->data = cl;
    struct ufrpc_ctl_opts o = {0};
    o.cfg = cl->cfg;
    o.reg = cl->reg;
    o.log = cl->log;
    o.token = cl->token;
    memcpy(o.key, cl->key, sizeof o.key);
    o.hostname = cl->hostname;
    o.prev_run_id = cl->run_id;
    o.rng = mbedtls_ctr_drbg_random;
    o.rng_ctx = &cl->drbg;
    o.cb.on_login = on_login;
    o.cb.on_req_work_conn = on_req_work_conn;
    o.cb.on_pong = on_pong;
    o.cb.on_nat_hole_resp = on_nat_hole_resp;
    o.cb_ctx = cl;
    int rc = ufrpc_ctl_new(&o, &cl->ctl);
    if (!rc && cl->oidc_token != NULL && uses_oidc(cl->cfg))
        rc = ufrpc_ctl_set_oidc_token(cl->ctl, cl->oidc_token);
    if (!rc)
        rc = ufrpc_ctl_start(cl->ctl, ufrpc_sup_now_ms(cl));
    if (!rc)
        rc = ufrpc_stream_read_start(s, on_ctl_read);
    if (rc) {
        attempt_failed(cl, rc, ufrpc_strerror(rc));
        return;
    }
    flush(cl);
    arm_ctl_timer(cl);
}

static void on_open(ufrpc_connector_t *c, int status, void *data)
{
    ufrpc_sup_t *cl = data;
    if (c != cl->conn)
        return;
    if (status < 0) {
        dial_failed(cl, status);
        return;
    }
    int rc = ufrpc_connector_connect(c, on_ctl_stream, cl);
    if (rc)
        attempt_failed(cl, rc, ufrpc_strerror(rc));
}

static void on_conn_error(ufrpc_connector_t *c, int err, void *data)
{
    ufrpc_sup_t *cl = data;
    if (c != cl->conn)
        return;
    UFRPC_LOGD(cl->log, "session error: %s", ufrpc_strerror(err));
    /* the control stream reports the failure too; make sure the session ends */
    if (cl->ctl)
        ufrpc_ctl_on_eof(cl->ctl, err);
    session_failed(cl);
}

static void connect_now(ufrpc_sup_t *cl)
{
    int rc = ufrpc_connector_new(cl->loop, cl->cfg, cl->tls, cl->log, on_conn_error, cl, &cl->conn);
    if (!rc) {
        rc = ufrpc_connector_open(cl->conn, on_open);
    }
    if (rc)
        attempt_failed(cl, rc, ufrpc_strerror(rc));
}

/* auth.method = "oidc": the token arrived (or not) for this attempt. frpc gets it
 * inside the login loop, so a failure is a failed login attempt (retried). */
static void on_oidc_token(void *data, int status, const char *token, const char *err)
{
    ufrpc_sup_t *cl = data;
    if (cl->state != CL_CONNECTING)
        return;
    if (status < 0) {
        attempt_failed(cl, status, err && err[0] ? err : ufrpc_strerror(status));
        return;
    }
    ufrpc_sup_wipe_free(cl->oidc_token);
    cl->oidc_token = strdup(token);
    if (cl->oidc_token == NULL) {
        attempt_failed(cl, UFRPC_ERR_NOMEM, ufrpc_strerror(UFRPC_ERR_NOMEM));
        return;
    }
    connect_now(cl);
}

static void start_attempt(ufrpc_sup_t *cl)
{
    if (cl->state == CL_STOPPING || cl->state == CL_STOPPED || cl->state == CL_GRACE)
        return;
    cl->state = CL_CONNECTING;
    cl->attempt_ns = uv_hrtime();
    UFRPC_LOGI(cl->log, "try to connect to server...");
    if (!uses_oidc(cl->cfg)) {
        connect_now(cl);
        return;
    }
    int rc = 0;
    char err[300] = "";
    if (cl->oidc == NULL)
        rc = ufrpc_oidc_new(cl->loop, cl->cfg, &cl->oidc, err, sizeof err);
    if (rc == 0)
        rc = ufrpc_oidc_get(cl->oidc, on_oidc_token, cl);
    if (rc)
        attempt_failed(cl, rc, err[0] ? err : ufrpc_strerror(rc));
}

/* Drops the OIDC fetcher (stop, or new auth settings on reload). */
static void drop_oidc(ufrpc_sup_t *cl)
{
    ufrpc_oidc_free(cl->oidc);
    cl->oidc = NULL;
    ufrpc_sup_wipe_free(cl->oidc_token);
    cl->oidc_token = NULL;
}

/* ---- public API --------------------------------------------------------------- */

/* Frees what ufrpc_sup_new set up before the registry (credentials wiped, the TLS
 * context, the random generator, the config), then cl itself. */
static void free_owned(ufrpc_sup_t *cl)
{
    ufrpc_sup_wipe_free(cl->exec_token);
    free(cl->exec_sig);
    ufrpc_sup_wipe_free(cl->token);
    ufrpc_tls_ctx_free(cl->tls);
    mbedtls_ctr_drbg_free(&cl->drbg);
    mbedtls_entropy_free(&cl->entropy);
    memset(cl->key, 0, sizeof cl->key);
    ufrpc_config_free(cl->cfg);
    free(cl);
}

int ufrpc_sup_new(const struct ufrpc_sup_opts *opts, ufrpc_sup_t **out)
{
    if (!opts || !out || !opts->loop || !opts->cfg) {
        if (opts)
            ufrpc_config_free(opts->cfg);
        return UFRPC_ERR_INVAL;
    }
    *out = NULL;
    ufrpc_sup_t *cl = calloc(1, sizeof *cl);
    if (!cl) {
        ufrpc_config_free(opts->cfg);
        return UFRPC_ERR_NOMEM;
    }
    cl->loop = opts->loop;
    cl->start_ms = uv_now(opts->loop);
    cl->cfg = opts->cfg;
    cl->log = opts->log;
    cl->on_exit = opts->on_exit;
    cl->on_tunnel = opts->on_tunnel;
    cl->data = opts->data;
    if (opts->hostname)
        snprintf(cl->hostname, sizeof cl->hostname, "%s", opts->hostname);
    else if (gethostname(cl->hostname, sizeof cl->hostname - 1) != 0)
        cl->hostname[0] = '\0';
    mbedtls_entropy_init(&cl->entropy);
    mbedtls_ctr_drbg_init(&cl->drbg);
    static const char pers[] = "ufrpc client";
    int rc = mbedtls_ctr_drbg_seed(&cl->drbg, mbedtls_entropy_func, &cl->entropy,
                                   (const unsigned char *)pers, sizeof pers - 1)
                 ? UFRPC_ERR_CRYPTO
                 : 0;
    if (!rc)
        rc = ufrpc_registry_new(cl->cfg->user, ufrpc_sup_on_reg_change, cl, &cl->reg);
    if (!rc)
        rc = ufrpc_sup_sync_registry(cl, cl->cfg);
    if (!rc && opts->exec_token != NULL && !(cl->exec_token = strdup(opts->exec_token)))
        rc = UFRPC_ERR_NOMEM;
    if (!rc)
        rc = ufrpc_sup_setup_crypto(cl, cl->cfg, &cl->token, &cl->tls, cl->key);
    if (!rc && (uv_timer_init(cl->loop, &cl->ctl_timer) || uv_timer_init(cl->loop, &cl->retry_timer) ||
                uv_timer_init(cl->loop, &cl->fail_timer) || uv_timer_init(cl->loop, &cl->trim_timer)))
        rc = UFRPC_ERR_IO; /* (uv_timer_init cannot fail on a valid loop) */
    if (rc) {
        for (size_t i = 0; i < ufrpc_registry_count(cl->reg); i++) {
            struct ufrpc_tunnel *t = ufrpc_registry_at(cl->reg, i);
            ufrpc_proxy_rt_close(t->rt, NULL, NULL);
            t->rt = NULL;
        }
        ufrpc_registry_free(cl->reg);
        free_owned(cl);
        return rc;
    }
    cl->ctl_timer.data = cl;
    cl->retry_timer.data = cl;
    cl->fail_timer.data = cl;
    cl->trim_timer.data = cl;
    ufrpc_heap_trim_init(&cl->trim);
    struct ufrpc_backoff_opts lo = ufrpc_backoff_login_opts(10000);
    ufrpc_backoff_init(&cl->login_bo, &lo);
    struct ufrpc_backoff_opts so = ufrpc_backoff_session_opts();
    ufrpc_backoff_init(&cl->session_bo, &so);
    *out = cl;
    return 0;
}

int ufrpc_sup_start(ufrpc_sup_t *cl)
{
    if (!cl || cl->state != CL_IDLE)
        return UFRPC_ERR_STATE;
    int rc = ufrpc_sup_alerts_apply(cl);
    if (rc)
        return rc;
    start_attempt(cl);
    return 0;
}

static void on_grace_timer(uv_timer_t *t)
{
    stop(t->data, 0, NULL);
}

void ufrpc_sup_shutdown(ufrpc_sup_t *cl)
{
    if (!cl || cl->state == CL_STOPPING || cl->state == CL_STOPPED || cl->state == CL_GRACE)
        return;
    if (cl->state == CL_RUNNING && cl->ctl && ufrpc_ctl_state(cl->ctl) == UFRPC_CTL_RUNNING) {
        int n = ufrpc_ctl_close_proxies(cl->ctl, ufrpc_sup_now_ms(cl));
        if (n > 0) {
            UFRPC_LOGD(cl->log, "sent CloseProxy for %d proxies", n);
            cl->state = CL_GRACE;
            uv_timer_stop(&cl->ctl_timer);
            uv_timer_start(&cl->retry_timer, on_grace_timer, SHUTDOWN_GRACE_MS, 0);
            flush(cl);
            grace_check(cl);
            return;
        }
    }
    stop(cl, 0, NULL);
}

/* Live reload (the common part is unchanged): frpc's UpdateAllConfigurer. The session,
 * run id, unchanged proxies (their work connections, pumps, udp channels, plugins,
 * health checks) and unchanged visitors are untouched; removed and changed proxies get
 * CloseProxy, changed and added ones NewProxy (by the proxy check, health permitting);
 * changed and removed visitors are closed, new and changed ones started. Not logged in
 * (connecting, waiting to retry): the registry is updated and the next login
 * announces it. Takes new_cfg. */
static int reload_live(ufrpc_sup_t *cl, struct ufrpc_config *new_cfg)
{
    int live = cl->state == CL_RUNNING && cl->ctl && ufrpc_ctl_state(cl->ctl) == UFRPC_CTL_RUNNING;
    struct ufrpc_sup_diff dp = {0}, dv = {0};
    int rc = ufrpc_sup_diff_proxies(cl, new_cfg, live, &dp);
    int rc2 = ufrpc_sup_diff_visitors(cl, new_cfg, &dv);
    if (!rc)
        rc = rc2;
    struct ufrpc_config *old = cl->cfg;
    cl->cfg = new_cfg;
    if (cl->ctl)
        ufrpc_ctl_set_cfg(cl->ctl, new_cfg);
    if (cl->conn)
        ufrpc_connector_set_cfg(cl->conn, new_cfg);
    ufrpc_sup_retire(cl, old); /* unchanged entries and their runtimes point into it */
    /* frpc's lines (proxy_manager.go / visitor_manager.go UpdateAll) */
    if (dp.removed_names.len)
        UFRPC_LOGI(cl->log, "proxy removed: [%s]", dp.removed_names.buf);
    if (dp.added_names.len)
        UFRPC_LOGI(cl->log, "proxy added: [%s]", dp.added_names.buf);
    if (dv.removed_names.len)
        UFRPC_LOGI(cl->log, "visitor removed: [%s]", dv.removed_names.buf);
    if (dv.added_names.len)
        UFRPC_LOGI(cl->log, "visitor added: [%s]", dv.added_names.buf);
    UFRPC_LOGI(cl->log,
               "reload: %zu proxies added, %zu removed, %zu changed, %zu unchanged; %zu visitors "
               "added, %zu removed, %zu changed, %zu unchanged (%s)",
               dp.added, dp.removed, dp.changed, dp.unchanged, dv.added, dv.removed, dv.changed,
               dv.unchanged, live ? "applied to the running session" : "for the next login");
    if (cl->state == CL_RUNNING)
        ufrpc_sup_start_visitors(cl);
    if (live) {
        int crc = ufrpc_ctl_check_proxies(cl->ctl, ufrpc_sup_now_ms(cl));
        flush(cl);
        if (crc < 0)
            session_failed(cl);
        else
            arm_ctl_timer(cl);
    }
    ufrpc_sup_release_retired(cl);
    return rc;
}

int ufrpc_sup_reload(ufrpc_sup_t *cl, struct ufrpc_config *new_cfg)
{
    if (!cl || !new_cfg) {
        ufrpc_config_free(new_cfg);
        return UFRPC_ERR_INVAL;
    }
    if (cl->state == CL_STOPPING || cl->state == CL_STOPPED || cl->state == CL_GRACE) {
        ufrpc_config_free(new_cfg);
        return UFRPC_ERR_STATE;
    }
    ufrpc_tls_ctx_t *tls = NULL;
    char *token = NULL;
    uint8_t key[UFRPC_CFB_KEY_LEN];
    int rc = ufrpc_sup_setup_crypto(cl, new_cfg, &token, &tls, key);
    if (!rc)
        rc = ufrpc_sup_retire_reserve(cl);
    if (rc) {
        ufrpc_sup_wipe_free(token);
        ufrpc_tls_ctx_free(tls);
        memset(key, 0, sizeof key);
        ufrpc_config_free(new_cfg);
        return rc;
    }
    /* frpc applies only proxies and visitors on reload; ufrpc also applies the rest,
     * by logging in again, but only when the rest changed (the resolved token too:
     * auth.tokenSource may name a file whose content changed) */
    if (ufrpc_config_common_equal(cl->cfg, new_cfg) && strcmp(token, cl->token) == 0) {
        ufrpc_sup_wipe_free(token); /* equal: the ones in use stay */
        ufrpc_tls_ctx_free(tls);
        memset(key, 0, sizeof key);
        rc = reload_live(cl, new_cfg);
        (void)ufrpc_sup_alerts_apply(cl); /* logs its own failure */
        if (!rc)
            UFRPC_LOGI(cl->log, "success reload conf");
        return rc;
    }
    UFRPC_LOGI(cl->log, "reload: server settings changed, reconnecting (%zu proxies, %zu visitors)",
               new_cfg->nproxies, new_cfg->nvisitors);
    teardown_session(cl);
    drop_oidc(cl); /* its settings may have changed: made anew for the next attempt */
    uv_timer_stop(&cl->retry_timer);
    if (strcmp(ufrpc_cfg_str(new_cfg->user), ufrpc_cfg_str(cl->cfg->user)) != 0) {
        rc = ufrpc_registry_set_user(cl->reg, new_cfg->user);
        if (rc) {
            ufrpc_sup_wipe_free(token);
            ufrpc_tls_ctx_free(tls);
            ufrpc_config_free(new_cfg);
            schedule_attempt(cl, 0); /* the session was torn down: log in again as before */
            return rc;
        }
    }
    rc = ufrpc_sup_sync_registry(cl, new_cfg);
    ufrpc_registry_session_reset(cl->reg, ufrpc_sup_now_ms(cl));
    ufrpc_tls_ctx_free(cl->tls);
    cl->tls = tls;
    ufrpc_sup_wipe_free(cl->token);
    cl->token = token;
    memcpy(cl->key, key, sizeof key);
    memset(key, 0, sizeof key);
    ufrpc_sup_retire(cl, cl->cfg); /* closing runtimes and the connector may still read it */
    cl->cfg = new_cfg;
    struct ufrpc_backoff_opts lo = ufrpc_backoff_login_opts(20000);
    ufrpc_backoff_init(&cl->login_bo, &lo);
    schedule_attempt(cl, 0);
    ufrpc_sup_release_retired(cl);
    (void)ufrpc_sup_alerts_apply(cl); /* logs its own failure */
    if (!rc)
        UFRPC_LOGI(cl->log, "success reload conf");
    return rc;
}

void ufrpc_sup_free(ufrpc_sup_t *cl)
{
    if (!cl)
        return;
    for (size_t i = 0; i < ufrpc_registry_count(cl->reg); i++)
        ufrpc_registry_at(cl->reg, i)->rt = NULL; /* closed by stop(); never stopped: leaked
                                                      handles would still be on the loop */
    ufrpc_registry_free(cl->reg);
    ufrpc_sup_free_retired(cl);
    free(cl->chans);
    free(cl->alert_views);
    free_owned(cl);
}

struct ufrpc_registry *ufrpc_sup_registry(ufrpc_sup_t *cl)
{
    return cl ? cl->reg : NULL;
}

const struct ufrpc_config *ufrpc_sup_config(const ufrpc_sup_t *cl)
{
    return cl ? cl->cfg : NULL;
}

const char *ufrpc_sup_run_id(const ufrpc_sup_t *cl)
{
    return cl ? cl->run_id : "";
}

unsigned ufrpc_sup_login_count(const ufrpc_sup_t *cl)
{
    return cl ? cl->logins : 0;
}

void ufrpc_sup_metrics(ufrpc_sup_t *cl, struct ufrpc_metrics_src *out)
{
    memset(out, 0, sizeof *out);
    out->reg = cl->reg;
    out->sess = &cl->m;
    ufrpc_connector_mux_stats(cl->conn, &out->yamux_streams, &out->window_stalls);
    for (ufrpc_workconn_t *w = cl->workconns; w; w = ufrpc_workconn_next(w)) {
        out->work_pool += (uint64_t)ufrpc_workconn_idle(w);
        ufrpc_workconn_flush_bytes(w); /* live traffic of long connections */
    }
    out->now_ms = ufrpc_sup_now_ms(cl);
    out->start_ms = cl->start_ms;
    ufrpc_sup_alerts_views(cl, &out->alerts, &out->nalerts);
}
