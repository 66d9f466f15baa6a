/* One work connection: NewWorkConn -> StartWorkConn -> local dial -> pump. */
#include "client/core/workconn.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "client/core/proxy_rt.h"
#include "config/config.h"
#include "net/dial.h"
#include "net/dial_error.h"
#include "net/prefix.h"
#include "net/pump.h"
#include "net/xform.h"
#include "proto/proxyproto.h"
#include "proto/error.h"

enum wstate { W_WAIT_START, W_DIALING, W_PUMPING, W_ENDING };

struct ufrpc_workconn {
    struct ufrpc_workconn_env env;
    enum wstate state;
    struct ufrpc_stream *work;  /* owned until the pump takes it */
    struct ufrpc_stream *local; /* owned until the pump takes it */
    ufrpc_dial_t *dial;
    ufrpc_pump_t *pump;
    /* Only while waiting for StartWorkConn: the v1/v2 frame reader is ~64 KiB (it
     * can hold a whole v2 message) and an idle proxied connection must not keep
     * it (malloc, not calloc: only the bytes a frame fills are touched). */
    struct ufrpc_start_reader *rd;

    struct ufrpc_stream_write nwc_req;
    uv_buf_t nwc_buf; /* the iovec must live until the write callback */
    uint8_t *nwc;     /* NewWorkConn frame while its write is in flight */
    int nwc_pending;

    struct ufrpc_stream_write left_req;
    uv_buf_t left_buf;
    uint8_t *left;    /* PROXY protocol header for the local side */
    size_t left_len;
    int left_pending;

    char name[256];   /* proxy name (user prefix stripped) */
    char local_ip[256];
    uint16_t local_port;
    uint64_t dial_start_ns; /* uv_hrtime() when the local dial started */
    uint64_t rep_in, rep_out; /* pump bytes already added to the tunnel's counters */
    int closes;       /* stream closes in flight */
    int in_end;       /* inside end(): do not free yet */
    uv_timer_t defer; /* runs end() outside stream callbacks */
    int defer_open;   /* the timer handle is initialised and not closed */
    int p2p;          /* an xtcp tunnel stream: p2p_key instead of env.key */
    int dispatched;   /* StartWorkConn arrived (env.on_dispatch was called) */
    uint8_t p2p_key[UFRPC_CFB_KEY_LEN];
    ufrpc_workconn_t *next;
};

void ufrpc_start_reader_init_wire(struct ufrpc_start_reader *r, enum ufrpc_wire_version ver)
{
    ufrpc_wire_reader_init(&r->rd, ver == UFRPC_WIRE_V2 ? UFRPC_WIRE_V2 : UFRPC_WIRE_V1, false);
}

void ufrpc_start_reader_init(struct ufrpc_start_reader *r)
{
    ufrpc_start_reader_init_wire(r, UFRPC_WIRE_V1);
}

int ufrpc_start_reader_feed(struct ufrpc_start_reader *r, const uint8_t *data, size_t len,
                            size_t *consumed, struct ufrpc_msg *out)
{
    struct ufrpc_frame f;
    int rc = ufrpc_wire_reader_feed(&r->rd, data, len, consumed, &f);
    if (rc <= 0)
        return rc;
    /* v1: frp reads the body into StartWorkConn without looking at the type byte */
    rc = ufrpc_wire_check_type(r->rd.ver, f.type, UFRPC_MSG_START_WORK_CONN);
    if (rc)
        return rc;
    rc = ufrpc_msg_decode(UFRPC_MSG_START_WORK_CONN, f.body, f.body_len, out);
    return rc ? rc : 1;
}

int ufrpc_workconn_idle(const ufrpc_workconn_t *w)
{
    return w->state == W_WAIT_START;
}

int ufrpc_workconn_dispatched(const ufrpc_workconn_t *w)
{
    return w->dispatched;
}

ufrpc_workconn_t *ufrpc_workconn_next(const ufrpc_workconn_t *w)
{
    return w->next;
}

void ufrpc_workconn_set_next(ufrpc_workconn_t *w, ufrpc_workconn_t *next)
{
    w->next = next;
}

void ufrpc_workconn_unlink(ufrpc_workconn_t **head, ufrpc_workconn_t *w)
{
    for (ufrpc_workconn_t **pp = head; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            return;
        }
    }
}

static void maybe_free(ufrpc_workconn_t *w);

static void on_defer_closed(uv_handle_t *h)
{
    ufrpc_workconn_t *w = h->data;
    w->closes--;
    maybe_free(w);
}

static void maybe_free(ufrpc_workconn_t *w)
{
    if (w->state != W_ENDING || w->in_end || w->closes > 0 || w->nwc_pending || w->left_pending ||
        w->dial || w->pump)
        return;
    if (w->defer_open) {
        w->defer_open = 0;
        w->closes++;
        uv_close((uv_handle_t *)&w->defer, on_defer_closed);
        return;
    }
    free(w->nwc);
    free(w->left);
    free(w->rd);
    w->rd = NULL;
    memset(w->p2p_key, 0, sizeof w->p2p_key);
    void (*cb)(ufrpc_workconn_t *, void *) = w->env.on_done;
    void *data = w->env.data;
    w->nwc = w->left = NULL;
    w->closes = -1; /* guard against re-entry */
    if (cb)
        cb(w, data);
    free(w);
}

static void on_stream_closed(struct ufrpc_stream *s)
{
    ufrpc_workconn_t *w = s->data;
    w->closes--;
    maybe_free(w);
}

static void close_stream(ufrpc_workconn_t *w, struct ufrpc_stream **sp)
{
    struct ufrpc_stream *s = *sp;
    if (!s)
        return;
    *sp = NULL;
    s->data = w;
    w->closes++;
    ufrpc_stream_close(s, on_stream_closed);
}

static void end(ufrpc_workconn_t *w)
{
    if (w->state == W_ENDING)
        return;
    w->state = W_ENDING;
    w->in_end = 1;
    if (w->dial)
        ufrpc_dial_cancel(w->dial); /* its callback clears w->dial */
    if (w->pump)
        ufrpc_pump_abort(w->pump);
    close_stream(w, &w->work);
    close_stream(w, &w->local);
    w->in_end = 0;
    maybe_free(w);
}

void ufrpc_workconn_abort(ufrpc_workconn_t *w)
{
    if (w)
        end(w);
}

static void on_defer(uv_timer_t *t)
{
    end(t->data);
}

/* From inside a stream callback: end() runs on the next loop turn, so no stream is
 * closed (and no wrapper freed) under its own callback. */
static void end_later(ufrpc_workconn_t *w)
{
    if (w->state == W_ENDING)
        return;
    uv_timer_start(&w->defer, on_defer, 0, 0);
}

static struct ufrpc_tunnel *tunnel_of(ufrpc_workconn_t *w)
{
    return ufrpc_registry_find(w->env.reg, UFRPC_TUNNEL_PROXY, w->name);
}

void ufrpc_workconn_flush_bytes(ufrpc_workconn_t *w)
{
    if (w->state != W_PUMPING || w->pump == NULL)
        return;
    struct ufrpc_pump_stats st;
    ufrpc_pump_get_stats(w->pump, &st);
    if (st.a_to_b == w->rep_in && st.b_to_a == w->rep_out)
        return;
    ufrpc_tunnel_add_bytes(tunnel_of(w), st.a_to_b - w->rep_in, st.b_to_a - w->rep_out);
    w->rep_in = st.a_to_b;
    w->rep_out = st.b_to_a;
}

static void on_pump_done(ufrpc_pump_t *p, int status, const struct ufrpc_pump_stats *st,
                         void *data)
{
    (void)p;
    ufrpc_workconn_t *w = data;
    w->pump = NULL;
    struct ufrpc_tunnel *t = tunnel_of(w);
    ufrpc_tunnel_add_bytes(t, st->a_to_b - w->rep_in, st->b_to_a - w->rep_out);
    ufrpc_tunnel_conn_closed(t);
    ufrpc_tunnel_touch(t, uv_now(w->env.loop));
    if (status < 0 && status != UFRPC_ERR_EOF && status != UFRPC_ERR_CANCELED) {
        ufrpc_tunnel_error(t, UFRPC_TUNNEL_ERR_TRANSFER);
        UFRPC_LOGT(w->env.log, "[%s] join connections errors: %s", w->name, ufrpc_strerror(status));
    }
    UFRPC_LOGD(w->env.log, "[%s] join connections closed", w->name);
    w->state = W_ENDING;
    maybe_free(w);
}

static void on_left_written(struct ufrpc_stream_write *req, int status)
{
    (void)status; /* a failure surfaces through the pump */
    ufrpc_workconn_t *w = req->data;
    w->left_pending = 0;
    free(w->left);
    w->left = NULL;
    maybe_free(w);
}

static void on_local_dialed(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data)
{
    (void)d;
    ufrpc_workconn_t *w = data;
    w->dial = NULL;
    if (w->state == W_ENDING) {
        if (s) {
            w->local = s;
            close_stream(w, &w->local);
        }
        maybe_free(w);
        return;
    }
    if (status < 0) {
        char why[400];
        ufrpc_dial_error_text(w->local_ip, w->local_port, status, why, sizeof why);
        UFRPC_LOGE(w->env.log, "[%s] connect to local service [%s:%u] error: %s", w->name,
                   w->local_ip, (unsigned)w->local_port, why);
        ufrpc_tunnel_conn_failed(tunnel_of(w), UFRPC_TUNNEL_ERR_LOCAL_DIAL);
        ufrpc_tunnel_touch(tunnel_of(w), uv_now(w->env.loop));
        end(w);
        return;
    }
    w->local = s;
    ufrpc_tunnel_dial_latency(tunnel_of(w), (uv_hrtime() - w->dial_start_ns) / 1000u);
    if (w->left_len > 0) {
        w->left_buf = uv_buf_init((char *)w->left, (unsigned)w->left_len);
        w->left_req.data = w;
        if (ufrpc_stream_write(w->local, &w->left_req, &w->left_buf, 1, on_left_written) == 0)
            w->left_pending = 1;
        else {
            end(w);
            return;
        }
    }
    UFRPC_LOGD(w->env.log, "[%s] join connections, local service %s:%u", w->name, w->local_ip,
               (unsigned)w->local_port);
    struct ufrpc_stream *a = w->work, *b2 = w->local;
    w->work = w->local = NULL;
    w->state = W_PUMPING;
    ufrpc_tunnel_conn_opened(tunnel_of(w));
    ufrpc_tunnel_touch(tunnel_of(w), uv_now(w->env.loop));
    int rc = ufrpc_pump_start(a, b2, w->env.pump_max_buffered, on_pump_done, w, &w->pump);
    if (rc == 0) /* frps has closed both ways when its side ends: so does frpc */
        ufrpc_pump_end_at_eof(w->pump, a);
    if (rc) {
        /* the pump closed both streams; no done callback */
        w->pump = NULL;
        ufrpc_tunnel_conn_closed(tunnel_of(w));
        ufrpc_tunnel_conn_failed(tunnel_of(w), UFRPC_TUNNEL_ERR_WORK_CONN);
        w->state = W_ENDING;
        maybe_free(w);
    }
}

/* "ip:port" or "[ip6]:port" (for plugins: X-Forwarded-For and friends). */
static void join_host_port(const char *ip, unsigned port, char *out, size_t cap)
{
    if (!ip || !ip[0])
        out[0] = '\0';
    else if (strchr(ip, ':'))
        snprintf(out, cap, "[%s]:%u", ip, port);
    else
        snprintf(out, cap, "%s:%u", ip, port);
}

struct udp_ctx {
    struct ufrpc_workconn_env env;
    char name[256];
    enum ufrpc_pp_version pp; /* transport.proxyProtocolVersion */
};

/* "IP" and port of a socket address; 0 or <0. */
static int addr_text(const struct sockaddr *sa, char *ip, size_t cap, uint16_t *port)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        *port = ntohs(a->sin_port);
        return uv_ip4_name(a, ip, cap) == 0 ? 0 : UFRPC_ERR_INVAL;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        *port = ntohs(a->sin6_port);
        return uv_ip6_name(a, ip, cap) == 0 ? 0 : UFRPC_ERR_INVAL;
    }
    return UFRPC_ERR_INVAL;
}

/* udp/sudp with proxyProtocolVersion: the header frpc's Forwarder puts in front of
 * the first datagram to the local service for a new user address (src = the
 * user, dst = the local service). No header when it cannot be built, as frpc. */
static int udp_pp_prefix(void *data, const struct sockaddr *user, const struct sockaddr *local,
                         uint8_t *out, size_t cap)
{
    struct udp_ctx *u = data;
    char sip[64], dip[64];
    uint16_t sport, dport;
    size_t n = 0;
    if (addr_text(user, sip, sizeof sip, &sport) < 0 ||
        addr_text(local, dip, sizeof dip, &dport) < 0 ||
        ufrpc_proxyproto_build_udp(u->pp, sip, sport, dip, dport, out, cap, &n) < 0)
        return 0;
    return (int)n;
}

static void on_udp_closed(ufrpc_udp_channel_t *ch, int reason,
                          const struct ufrpc_udp_channel_stats *st, void *data)
{
    struct udp_ctx *u = data;
    struct ufrpc_tunnel *t = ufrpc_registry_find(u->env.reg, UFRPC_TUNNEL_PROXY, u->name);
    if (t) {
        ufrpc_tunnel_add_bytes(t, st->bytes_in, st->bytes_out);
        ufrpc_tunnel_conn_closed(t);
        ufrpc_tunnel_touch(t, uv_now(u->env.loop));
        struct ufrpc_proxy_rt *rt = t->rt;
        if (rt && rt->udp == ch)
            rt->udp = NULL;
    }
    UFRPC_LOGD(u->env.log, "[%s] udp channel closed: %s", u->name, ufrpc_strerror(reason));
    if (u->env.on_channel_end)
        u->env.on_channel_end(ch, u->env.data);
    free(u);
}

/* Hands the wrapped stream s to a udp/sudp message channel. */
static void start_udp(ufrpc_workconn_t *w, struct ufrpc_tunnel *t, struct ufrpc_stream *s)
{
    const struct ufrpc_proxy_config *pc = t->cfg;
    struct ufrpc_proxy_rt *rt = t->rt;
    struct udp_ctx *u = calloc(1, sizeof *u);
    if (!u) {
        ufrpc_stream_close(s, NULL);
        ufrpc_tunnel_conn_failed(t, UFRPC_TUNNEL_ERR_WORK_CONN);
        return;
    }
    u->env = w->env;
    snprintf(u->name, sizeof u->name, "%s", w->name);
    if (pc->type == UFRPC_PROXY_UDP && rt && rt->udp) {
        /* frpc keeps one channel per udp proxy: the new one replaces the old */
        ufrpc_udp_channel_close(rt->udp);
        rt->udp = NULL;
    }
    struct ufrpc_udp_channel_opts o = {
        .loop = w->env.loop,
        .log = w->env.log,
        .name = w->name,
        .local_ip = pc->local_ip && pc->local_ip[0] ? pc->local_ip : "127.0.0.1",
        .local_port = (uint16_t)pc->local_port,
        .packet_size = w->env.udp_packet_size,
        .wire = w->env.wire,
        .first_prefix = NULL,
        .on_close = on_udp_closed,
        .data = u,
    };
    u->pp = ufrpc_proxyproto_version(pc->transport.proxy_protocol_version);
    if (u->pp != UFRPC_PP_NONE)
        o.first_prefix = udp_pp_prefix;
    ufrpc_udp_channel_t *ch = NULL;
    int rc = ufrpc_udp_channel_start(&o, s, NULL, 0, &ch);
    if (rc) {
        UFRPC_LOGE(w->env.log, "[%s] start udp channel error: %s", w->name, ufrpc_strerror(rc));
        ufrpc_tunnel_conn_failed(t, UFRPC_TUNNEL_ERR_WORK_CONN);
        free(u);
        return;
    }
    ufrpc_tunnel_conn_opened(t);
    if (pc->type == UFRPC_PROXY_UDP && rt)
        rt->udp = ch;
    if (w->env.on_channel_start)
        w->env.on_channel_start(ch, w->env.data);
}

/* StartWorkConn arrived (reading stopped): dispatch to the proxy. rest = the bytes
 * that came after it in the same delivery. */
static void dispatch(ufrpc_workconn_t *w, const struct ufrpc_msg_start_work_conn *m,
                     const uint8_t *rest, size_t rest_len)
{
    if (!w->dispatched) {
        w->dispatched = 1;
        if (w->env.on_dispatch)
            w->env.on_dispatch(w, w->env.data);
    }
    if (m->error && m->error[0]) {
        UFRPC_LOGE(w->env.log, "StartWorkConn contains error: %s", m->error);
        end_later(w);
        return;
    }
    const char *name = ufrpc_registry_strip_user(ufrpc_registry_user(w->env.reg),
                                                 ufrpc_cfg_str(m->proxy_name));
    snprintf(w->name, sizeof w->name, "%s", name);
    struct ufrpc_tunnel *t = tunnel_of(w);
    if (!t || t->state != UFRPC_TUNNEL_RUNNING || !t->cfg) {
        UFRPC_LOGD(w->env.log, "[%s] no running proxy for this work connection, close it", name);
        end_later(w);
        return;
    }
    const struct ufrpc_proxy_config *pc = t->cfg;
    struct ufrpc_proxy_rt *rt = t->rt;
    const char *why = NULL;
    if (pc->type == UFRPC_PROXY_XTCP && !w->p2p) {
        if (w->env.on_xtcp) {
            struct ufrpc_stream *s = w->work;
            int err = 0;
            w->work = NULL;
            if (rest_len > 0 && !(s = ufrpc_prefix_stream_new(s, rest, rest_len, &err))) {
                UFRPC_LOGE(w->env.log, "[%s] wrap work connection: %s", name, ufrpc_strerror(err));
            } else {
                w->env.on_xtcp(w->env.data, s, m, pc, name);
            }
            end_later(w);
            return;
        }
        why = "xtcp is not supported in this build";
    } else if ((pc->plugin.type != UFRPC_PLUGIN_NONE || pc->routes.len > 0) && !(rt && rt->plugin))
        why = pc->routes.len > 0 ? "its router could not be started"
                                 : "its plugin could not be started";
    else if (pc->transport.use_encryption && !w->env.key && !w->p2p)
        why = "no encryption key";
    if (why) {
        UFRPC_LOGE(w->env.log, "[%s] handle work connection: %s", name, why);
        ufrpc_tunnel_conn_failed(t, UFRPC_TUNNEL_ERR_WORK_CONN);
        end_later(w);
        return;
    }
    UFRPC_LOGD(w->env.log, "[%s] start a new work connection, src %s:%u", name,
               ufrpc_cfg_str(m->src_addr), (unsigned)m->src_port);
    UFRPC_LOGT(w->env.log, "[%s] handle tcp work connection, useEncryption: %s, useCompression: %s",
               name, pc->transport.use_encryption ? "true" : "false",
               pc->transport.use_compression ? "true" : "false");

    /* PROXY protocol header for the local side, when configured. A header that
     * cannot be built (frps sent an address that is not an IP literal) refuses
     * the connection: passing it on without the header would show the local
     * service frpc's address as the client's. w->work still owns the stream. */
    enum ufrpc_pp_version ppv = ufrpc_proxyproto_version(pc->transport.proxy_protocol_version);
    uint8_t pp[UFRPC_PP_MAX_LEN];
    size_t pplen = 0;
    if (ufrpc_proxyproto_wanted(ppv, m->src_addr, m->src_port)) {
        int pe = ufrpc_proxyproto_build(ppv, m->src_addr, m->src_port, m->dst_addr, m->dst_port,
                                        pp, sizeof pp, &pplen);
        if (pe != 0) {
            UFRPC_LOGE(w->env.log,
                       "[%s] build proxy protocol header for src %s dst %s: %s, refuse the "
                       "work connection",
                       name, ufrpc_cfg_str(m->src_addr), ufrpc_cfg_str(m->dst_addr),
                       ufrpc_strerror(pe));
            end_later(w);
            return;
        }
    }

    /* the stream: leftover bytes first, then frpc's wrapping */
    struct ufrpc_stream *s = w->work;
    w->work = NULL;
    int err = 0;
    if (rest_len > 0) {
        s = ufrpc_prefix_stream_new(s, rest, rest_len, &err);
        if (!s) {
            UFRPC_LOGE(w->env.log, "[%s] wrap work connection: %s", name, ufrpc_strerror(err));
            ufrpc_tunnel_conn_failed(t, UFRPC_TUNNEL_ERR_WORK_CONN);
            end_later(w);
            return;
        }
    }
    err = ufrpc_xform_wrap(s, pc->transport.use_encryption, w->p2p ? w->p2p_key : w->env.key,
                           pc->transport.use_compression, rt ? rt->limiter : NULL, &s);
    if (err) {
        UFRPC_LOGE(w->env.log, "[%s] wrap work connection: %s", name, ufrpc_strerror(err));
        ufrpc_tunnel_conn_failed(t, UFRPC_TUNNEL_ERR_WORK_CONN);
        end_later(w);
        return;
    }

    if (pc->plugin.type != UFRPC_PLUGIN_NONE || pc->routes.len > 0) { /* plugin or router */
        char src[300], dst[300];
        join_host_port(m->src_addr, m->src_port, src, sizeof src);
        join_host_port(m->dst_addr, m->dst_port, dst, sizeof dst);
        struct ufrpc_plugin_conn_info info = {
            .src_addr = src[0] ? src : NULL,
            .dst_addr = dst[0] ? dst : NULL,
            .proxy_protocol_header = pplen ? pp : NULL,
            .proxy_protocol_header_len = pplen,
        };
        UFRPC_LOGD(w->env.log, "[%s] handle by plugin: %s", name, ufrpc_plugin_name(rt->plugin));
        ufrpc_tunnel_conn_opened(t);
        ufrpc_tunnel_conn_closed(t); /* the plugin keeps its own counters */
        ufrpc_tunnel_touch(t, uv_now(w->env.loop));
        if (ufrpc_plugin_handle(rt->plugin, s, &info) != 0)
            ufrpc_tunnel_conn_failed(t, UFRPC_TUNNEL_ERR_PLUGIN);
        end_later(w);
        return;
    }
    if (pc->type == UFRPC_PROXY_UDP || pc->type == UFRPC_PROXY_SUDP) {
        start_udp(w, t, s);
        end_later(w);
        return;
    }

    w->work = s;
    if (pplen > 0) {
        w->left = malloc(pplen);
        if (!w->left) {
            UFRPC_LOGE(w->env.log, "[%s] keep proxy protocol header: %s", name,
                       ufrpc_strerror(UFRPC_ERR_NOMEM));
            ufrpc_tunnel_conn_failed(t, UFRPC_TUNNEL_ERR_WORK_CONN);
            end_later(w);
            return;
        }
        memcpy(w->left, pp, pplen);
        w->left_len = pplen;
    }
    snprintf(w->local_ip, sizeof w->local_ip, "%s",
             pc->local_ip && pc->local_ip[0] ? pc->local_ip : "127.0.0.1");
    w->local_port = (uint16_t)pc->local_port;
    struct ufrpc_dial_opts o = {
        .host = w->local_ip,
        .port = w->local_port,
        .timeout_ms = w->env.local_dial_timeout_ms ? w->env.local_dial_timeout_ms : 10000,
    };
    w->dial_start_ns = uv_hrtime();
    int rc = ufrpc_dial(w->env.loop, &o, on_local_dialed, w, &w->dial);
    if (rc) {
        w->dial = NULL;
        char dial_why[400];
        ufrpc_dial_error_text(w->local_ip, w->local_port, rc, dial_why, sizeof dial_why);
        UFRPC_LOGE(w->env.log, "[%s] connect to local service [%s:%u] error: %s", name, w->local_ip,
                   (unsigned)w->local_port, dial_why);
        ufrpc_tunnel_conn_failed(t, UFRPC_TUNNEL_ERR_LOCAL_DIAL);
        end_later(w);
    }
}

static void on_work_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                         const uint8_t *data, size_t len)
{
    (void)buf;
    ufrpc_workconn_t *w = s->data;
    if (w->state != W_WAIT_START)
        return;
    if (status < 0) {
        UFRPC_LOGT(w->env.log, "work connection closed before response StartWorkConn message: %s",
                   ufrpc_strerror(status));
        end_later(w);
        return;
    }
    while (len > 0) {
        size_t used = 0;
        struct ufrpc_msg m;
        int rc = ufrpc_start_reader_feed(w->rd, data, len, &used, &m);
        data += used;
        len -= used;
        if (rc < 0) {
            UFRPC_LOGT(w->env.log, "work connection: bad StartWorkConn: %s", ufrpc_strerror(rc));
            end_later(w);
            return;
        }
        if (rc == 0)
            continue;
        ufrpc_stream_read_stop(s);
        free(w->rd); /* m owns its strings: the reader is done */
        w->rd = NULL;
        w->state = W_DIALING; /* no more reads here, whatever dispatch decides */
        dispatch(w, &m.u.start_work_conn, data, len);
        ufrpc_msg_free(&m);
        return;
    }
}

static void on_nwc_written(struct ufrpc_stream_write *req, int status)
{
    ufrpc_workconn_t *w = req->data;
    w->nwc_pending = 0;
    free(w->nwc);
    w->nwc = NULL;
    if (status < 0 && w->state == W_WAIT_START) {
        UFRPC_LOGW(w->env.log, "work connection write to server error: %s", ufrpc_strerror(status));
        end_later(w);
        return;
    }
    maybe_free(w);
}

/* A work connection over s with env, its defer timer open (ufrpc_workconn_start,
 * _serve; args_ok: their arguments were valid). On failure s (if any) is closed
 * and *out is NULL: UFRPC_ERR_INVAL, UFRPC_ERR_NOMEM, UFRPC_ERR_IO. */
static int workconn_new(const struct ufrpc_workconn_env *env, struct ufrpc_stream *s,
                        bool args_ok, ufrpc_workconn_t **out)
{
    *out = NULL;
    if (!args_ok) {
        if (s)
            ufrpc_stream_close(s, NULL);
        return UFRPC_ERR_INVAL;
    }
    ufrpc_workconn_t *w = calloc(1, sizeof *w);
    if (!w) {
        ufrpc_stream_close(s, NULL);
        return UFRPC_ERR_NOMEM;
    }
    w->env = *env;
    if (uv_timer_init(env->loop, &w->defer) != 0) {
        free(w);
        ufrpc_stream_close(s, NULL);
        return UFRPC_ERR_IO;
    }
    w->defer.data = w;
    w->defer_open = 1;
    w->work = s;
    s->data = w;
    *out = w;
    return 0;
}

int ufrpc_workconn_start(const struct ufrpc_workconn_env *env, struct ufrpc_stream *s,
                         const struct ufrpc_msg *new_work_conn, ufrpc_workconn_t **out)
{
    if (out)
        *out = NULL;
    ufrpc_workconn_t *w;
    int rc = workconn_new(env, s, env && s && new_work_conn, &w);
    if (rc)
        return rc;
    enum ufrpc_wire_version ver = env->wire == UFRPC_WIRE_V2 ? UFRPC_WIRE_V2 : UFRPC_WIRE_V1;
    size_t n = 0;
    rc = UFRPC_ERR_NOMEM;
    /* only the decoder of this version (v1: 10 KiB instead of the union's 64 KiB),
     * held until StartWorkConn arrives */
    if ((w->rd = malloc(offsetof(struct ufrpc_start_reader, rd) + ufrpc_wire_reader_size(ver))) !=
        NULL) {
        ufrpc_start_reader_init_wire(w->rd, ver);
        rc = ver == UFRPC_WIRE_V2 ? ufrpc_wire_encode(new_work_conn, ver, true, &w->nwc, &n)
                                  : ufrpc_msg_encode_frame(new_work_conn, &w->nwc, &n);
    }
    if (!rc) {
        w->nwc_buf = uv_buf_init((char *)w->nwc, (unsigned)n);
        w->nwc_req.data = w;
        rc = ufrpc_stream_write(s, &w->nwc_req, &w->nwc_buf, 1, on_nwc_written);
        if (!rc)
            w->nwc_pending = 1;
    }
    if (!rc)
        rc = ufrpc_stream_read_start(s, on_work_read);
    if (rc) {
        if (!w->nwc_pending) {
            free(w->nwc);
            w->nwc = NULL;
        }
        /* close without on_done: the caller learns the failure from rc */
        w->env.on_done = NULL;
        end(w);
        return rc;
    }
    if (out)
        *out = w;
    return 0;
}

int ufrpc_workconn_serve(const struct ufrpc_workconn_env *env, struct ufrpc_stream *s,
                         const struct ufrpc_msg_start_work_conn *m,
                         const uint8_t key[UFRPC_CFB_KEY_LEN], ufrpc_workconn_t **out)
{
    if (out)
        *out = NULL;
    ufrpc_workconn_t *w;
    int rc = workconn_new(env, s, env && m, &w);
    if (rc)
        return rc;
    w->p2p = 1;
    memcpy(w->p2p_key, key, sizeof w->p2p_key);
    w->state = W_DIALING;
    dispatch(w, m, NULL, 0);
    if (out)
        *out = w; /* valid until on_done, which never runs from inside this call */
    return 0;
}
