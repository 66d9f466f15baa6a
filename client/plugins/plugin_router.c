/* ufrpc — the path router: an http proxy's `routes` (a ufrpc extension), served
 * by the HTTP forwarder (client/plugins/plugin_fwd.c) with a per-request pick: see
 * client/plugins/plugin.h for the behaviour, proto/http_route.h for the rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/plugins/hs.h"
#include "proto/error.h"
#include "proto/http_route.h"

const uint32_t ufrpc_route_latency_bounds_ms[UFRPC_ROUTE_LATENCY_BUCKETS - 1] = {
    1, 5, 25, 100, 500, 2500, 10000};

struct route_rt {
    const struct ufrpc_cfg_route *cfg;
    char *prefix; /* stripPrefix: the location without trailing '/'; else NULL */
    struct ufrpc_route_stats st;
};

struct router {
    size_t n;
    const char **locs; /* the n locations, for ufrpc_http_route_match */
    struct route_rt *r;
    struct ufrpc_route_stats unmatched;
};

static void router_destroy(ufrpc_plugin_t *p)
{
    struct router *rt = p->impl;
    if (rt == NULL)
        return;
    for (size_t i = 0; i < rt->n; i++)
        free(rt->r[i].prefix);
    free(rt->r);
    free(rt->locs);
    free(rt);
    p->impl = NULL;
}

static int router_create(ufrpc_plugin_t *p, char *reason, size_t cap)
{
    const struct ufrpc_cfg_routes *rs = p->routes;
    struct router *rt = calloc(1, sizeof *rt);
    if (rt != NULL) {
        rt->locs = calloc(rs->len, sizeof *rt->locs);
        rt->r = calloc(rs->len, sizeof *rt->r);
    }
    if (rt == NULL || rt->locs == NULL || rt->r == NULL)
        goto nomem;
    p->impl = rt; /* router_destroy frees what is there from now on */
    for (size_t i = 0; i < rs->len; i++) {
        const struct ufrpc_cfg_route *c = &rs->items[i];
        if (c->location == NULL || c->location[0] != '/' || c->local_port < 1 ||
            c->local_port > 65535) {
            snprintf(reason, cap, "router: route %zu is invalid (location \"%s\", localPort %lld)",
                     i, c->location != NULL ? c->location : "", (long long)c->local_port);
            router_destroy(p);
            return UFRPC_ERR_INVAL;
        }
        rt->r[i].cfg = c;
        rt->locs[i] = c->location;
        rt->n = i + 1;
        if (c->strip_prefix) {
            size_t pl = ufrpc_http_route_prefix_len(c->location);
            rt->r[i].prefix = strndup(c->location, pl);
            if (rt->r[i].prefix == NULL) {
                router_destroy(p);
                snprintf(reason, cap, "router: out of memory");
                return UFRPC_ERR_NOMEM;
            }
        }
    }
    return 0;
nomem:
    if (rt != NULL) {
        free(rt->locs);
        free(rt->r);
    }
    free(rt);
    snprintf(reason, cap, "router: out of memory");
    return UFRPC_ERR_NOMEM;
}

/* Answers a request the router does not forward; the connection stays open
 * unless the request asked for an upgrade (its bytes that follow are not HTTP). */
static void refuse(struct hs *h, struct router *rt, int status, const char *reason, const char *body)
{
    rt->unmatched.requests++;
    rt->unmatched.status[status / 100 - 1]++;
    bool close = h->parser.upgrade != 0;
    ufrpc_hs_simple_response(h, status, reason, NULL, body, close);
}

static int router_pick(struct hs *h, void *data, struct fwd_route *out, char *buf, size_t cap)
{
    struct router *rt = data;
    const char *url = hs_str(h, h->head.url_off);
    size_t path_len = 0;
    long n = ufrpc_http_route_normalize(url, h->head.url_len, buf, cap, &path_len);
    if (n == UFRPC_ERR_LIMIT) {
        ufrpc_pl_pconn_fail(&h->base, UFRPC_ERR_LIMIT, "request target over %u bytes",
                            (unsigned)cap);
        refuse(h, rt, 414, "URI Too Long", "414 request target too long\n");
        return -1;
    }
    if (n < 0) {
        ufrpc_pl_pconn_fail(&h->base, UFRPC_ERR_HTTP,
                            "request target refused (not a path, bad escape or dot segment)");
        refuse(h, rt, 400, "Bad Request", "400 bad request target\n");
        return -1;
    }
    long i = ufrpc_http_route_match(rt->locs, rt->n, buf, path_len);
    if (i < 0) {
        refuse(h, rt, 404, "Not Found", "404 no route for this path\n");
        return -1;
    }
    struct route_rt *r = &rt->r[i];
    out->index = i;
    out->host = r->cfg->local_ip != NULL ? r->cfg->local_ip : "127.0.0.1";
    out->port = (uint16_t)r->cfg->local_port;
    out->host_rewrite = r->cfg->host_header_rewrite;
    out->prefix = r->prefix;
    if (r->prefix != NULL) {
        /* strip in place: the result is never longer than the target */
        char tmp[UFRPC_HTTP_ROUTE_MAX_TARGET];
        long m = ufrpc_http_route_strip(r->cfg->location, buf, (size_t)n, tmp, sizeof tmp);
        if (m < 0) {
            refuse(h, rt, 400, "Bad Request", "400 bad request target\n");
            return -1;
        }
        memcpy(buf, tmp, (size_t)m + 1);
        n = m;
    }
    out->target = buf;
    out->target_len = (size_t)n;
    return 0;
}

static void router_done(void *data, long index, int status, uint64_t bytes_in, uint64_t bytes_out,
                        uint64_t usec)
{
    struct router *rt = data;
    struct ufrpc_route_stats *st =
        index >= 0 && (size_t)index < rt->n ? &rt->r[index].st : &rt->unmatched;
    st->requests++;
    st->bytes_in += bytes_in;
    st->bytes_out += bytes_out;
    if (status >= 100 && status < 600)
        st->status[status / 100 - 1]++;
    else
        st->no_status++;
    if (status <= 0)
        return; /* not timed: no answer */
    st->latency_count++;
    st->latency_sum_us += usec;
    size_t b = 0;
    while (b < UFRPC_ROUTE_LATENCY_BUCKETS - 1 && usec > ufrpc_route_latency_bounds_ms[b] * 1000ull)
        b++;
    st->latency_le_ms[b]++;
}

static const struct fwd_router router_hooks = {
    .pick = router_pick,
    .done = router_done,
};

static int router_handle(ufrpc_plugin_t *p, struct ufrpc_stream *work, const char *src,
                         const uint8_t *pp, size_t pp_len)
{
    (void)pp; /* PROXY protocol headers are not sent to routed services */
    (void)pp_len;
    struct fwd_opts o = {
        .xfwd = 1, /* frps set X-Forwarded-For/Host/Proto: keep them */
        .router = &router_hooks,
        .router_data = p->impl,
    };
    void *ctx = ufrpc_pl_fwd_ctx_new(&o);
    if (ctx == NULL) {
        ufrpc_stream_close(work, NULL);
        return UFRPC_ERR_NOMEM;
    }
    return ufrpc_hs_start(p, work, &ufrpc_pl_fwd_handler, ctx, src, false);
}

const struct plugin_type ufrpc_pl_type_router = {
    .type = UFRPC_PLUGIN_NONE,
    .create = router_create,
    .handle = router_handle,
    .destroy = router_destroy,
};

size_t ufrpc_plugin_route_count(const ufrpc_plugin_t *p)
{
    if (p == NULL || p->routes == NULL || p->impl == NULL)
        return 0;
    return ((const struct router *)p->impl)->n;
}

int ufrpc_plugin_route_stats(const ufrpc_plugin_t *p, size_t i, const char **location,
                             struct ufrpc_route_stats *out)
{
    size_t n = ufrpc_plugin_route_count(p);
    if (p == NULL || p->routes == NULL || p->impl == NULL || i > n)
        return UFRPC_ERR_INVAL;
    const struct router *rt = p->impl;
    if (location != NULL)
        *location = i < n ? rt->r[i].cfg->location : NULL;
    *out = i < n ? rt->r[i].st : rt->unmatched;
    return 0;
}
