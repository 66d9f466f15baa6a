/* Supervisor: visitors live with each control (see client/core/supervisor_internal.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/core/proxy_rt.h"
#include "client/core/supervisor_internal.h"
#include "net/xform.h"
#include "proto/error.h"

/* ---- visitors ------------------------------------------------------------- */
struct vis_open {
    ufrpc_sup_t *cl;
    ufrpc_visitor_stream_cb cb;
    void *arg;
};

static void on_visitor_stream(ufrpc_connector_t *c, int status, struct ufrpc_stream *s, void *data)
{
    (void)c;
    struct vis_open *vo = data;
    ufrpc_visitor_stream_cb cb = vo->cb;
    void *arg = vo->arg;
    free(vo);
    cb(arg, status, status == 0 ? s : NULL);
}

static int vis_open_stream(void *data, ufrpc_visitor_stream_cb cb, void *arg)
{
    ufrpc_sup_t *cl = data;
    if (!cl->conn || cl->state != CL_RUNNING)
        return UFRPC_ERR_STATE;
    struct vis_open *vo = malloc(sizeof *vo);
    if (!vo)
        return UFRPC_ERR_NOMEM;
    vo->cl = cl;
    vo->cb = cb;
    vo->arg = arg;
    int rc = ufrpc_connector_connect(cl->conn, on_visitor_stream, vo);
    if (rc)
        free(vo);
    return rc;
}

static const char *vis_run_id(void *data)
{
    return ((ufrpc_sup_t *)data)->run_id;
}

static int vis_wrap(void *data, struct ufrpc_stream *s, bool enc, bool comp, const char *sk,
                    struct ufrpc_stream **out)
{
    (void)data;
    uint8_t key[UFRPC_CFB_KEY_LEN];
    const char *secret = sk ? sk : "";
    int rc = ufrpc_cfb_derive_key((const uint8_t *)secret, strlen(secret), key);
    if (rc) {
        ufrpc_stream_close(s, NULL);
        return rc;
    }
    rc = ufrpc_xform_wrap(s, enc, key, comp, NULL, out);
    memset(key, 0, sizeof key);
    return rc;
}

static ufrpc_visitor_t *vis_lookup(void *data, const char *name)
{
    ufrpc_sup_t *cl = data;
    for (size_t i = 0; i < cl->nvisitors; i++)
        if (strcmp(ufrpc_visitor_name(cl->visitors[i]), name) == 0)
            return cl->visitors[i];
    return NULL;
}

void ufrpc_sup_visitors_nat_hole_resp(ufrpc_sup_t *cl, const struct ufrpc_msg_nat_hole_resp *r)
{
    for (size_t i = 0; i < cl->nvisitors; i++)
        if (ufrpc_visitor_on_nat_hole_resp(cl->visitors[i], r))
            return;
}

static void on_visitor_closed(void *data)
{
    ufrpc_sup_closed_pending(data);
}

static size_t running_index(ufrpc_sup_t *cl, const char *name)
{
    for (size_t i = 0; i < cl->nvisitors; i++)
        if (strcmp(ufrpc_visitor_name(cl->visitors[i]), name) == 0)
            return i;
    return SIZE_MAX;
}

/* frpc starts its visitors with each control and stops them with it; a live reload
 * starts the new and changed ones (those not running). */
void ufrpc_sup_start_visitors(ufrpc_sup_t *cl)
{
    const struct ufrpc_config *cfg = cl->cfg;
    if (cfg->nvisitors == 0)
        return;
    if (cl->capvisitors < cfg->nvisitors + cl->nvisitors) {
        size_t ncap = cfg->nvisitors + cl->nvisitors;
        ufrpc_visitor_t **p = realloc(cl->visitors, ncap * sizeof *p);
        if (!p) {
            UFRPC_LOGE(cl->log, "start visitors: %s", ufrpc_strerror(UFRPC_ERR_NOMEM));
            return;
        }
        cl->visitors = p;
        cl->capvisitors = ncap;
    }
    struct ufrpc_visitor_env env = {
        .loop = cl->loop,
        .log = cl->log,
        .user = cfg->user,
        .open_stream = vis_open_stream,
        .run_id = vis_run_id,
        .wrap = vis_wrap,
        .lookup = vis_lookup,
        .send_msg = ufrpc_sup_send_msg,
        .stun_server = ufrpc_cfg_str(cfg->nat_hole_stun_server),
        .udp_packet_size = cfg->udp_packet_size > 0 ? (size_t)cfg->udp_packet_size : 0,
        .wire = strcmp(ufrpc_cfg_str(cfg->transport.wire_protocol), "v2") == 0 ? UFRPC_WIRE_V2
                                                                              : UFRPC_WIRE_V1,
        .data = cl,
    };
    uint64_t now = ufrpc_sup_now_ms(cl);
    for (size_t i = 0; i < cfg->nvisitors; i++) {
        const struct ufrpc_visitor_config *vc = &cfg->visitors[i];
        if (running_index(cl, vc->name) != SIZE_MAX)
            continue;
        struct ufrpc_tunnel *t = ufrpc_registry_find(cl->reg, UFRPC_TUNNEL_VISITOR, vc->name);
        ufrpc_visitor_t *v = NULL;
        int rc = ufrpc_visitor_start(&env, vc, &v);
        if (rc) {
            UFRPC_LOGW(cl->log, "[%s] start error: %s", vc->name, ufrpc_strerror(rc));
            if (t)
                ufrpc_registry_set_state(cl->reg, t, UFRPC_TUNNEL_START_ERROR, ufrpc_strerror(rc),
                                         now);
            continue;
        }
        UFRPC_LOGI(cl->log, "[%s] start visitor success", vc->name);
        cl->visitors[cl->nvisitors++] = v;
        if (t)
            ufrpc_registry_set_state(cl->reg, t, UFRPC_TUNNEL_RUNNING, NULL, now);
    }
}

void ufrpc_sup_stop_visitors(ufrpc_sup_t *cl)
{
    uint64_t now = ufrpc_sup_now_ms(cl);
    for (size_t i = 0; i < cl->nvisitors; i++) {
        cl->pending++;
        ufrpc_visitor_close(cl->visitors[i], on_visitor_closed, cl);
    }
    free(cl->visitors);
    cl->visitors = NULL;
    cl->nvisitors = 0;
    cl->capvisitors = 0;
    for (size_t i = 0; i < ufrpc_registry_count(cl->reg); i++) {
        struct ufrpc_tunnel *t = ufrpc_registry_at(cl->reg, i);
        if (t->kind == UFRPC_TUNNEL_VISITOR && t->state != UFRPC_TUNNEL_CLOSED)
            ufrpc_registry_set_state(cl->reg, t, UFRPC_TUNNEL_NEW, NULL, now);
    }
}

static const struct ufrpc_visitor_config *find_visitor(const struct ufrpc_config *cfg,
                                                       const char *name)
{
    for (size_t k = 0; k < cfg->nvisitors; k++)
        if (strcmp(cfg->visitors[k].name, name) == 0)
            return &cfg->visitors[k];
    return NULL;
}

int ufrpc_sup_diff_visitors(ufrpc_sup_t *cl, const struct ufrpc_config *cfg,
                            struct ufrpc_sup_diff *d)
{
    uint64_t now = ufrpc_sup_now_ms(cl);
    int first = 0;
    for (size_t i = 0; i < ufrpc_registry_count(cl->reg);) {
        struct ufrpc_tunnel *t = ufrpc_registry_at(cl->reg, i);
        if (t->kind != UFRPC_TUNNEL_VISITOR) {
            i++;
            continue;
        }
        const struct ufrpc_visitor_config *vc = find_visitor(cfg, t->name);
        if (vc && ufrpc_visitor_config_equal(t->cfg, vc)) {
            d->unchanged++;
            i++;
            continue;
        }
        size_t r = running_index(cl, t->name);
        if (r != SIZE_MAX) {
            /* closes its listener now, as frpc's visitor.Close() */
            cl->pending++;
            ufrpc_visitor_close(cl->visitors[r], on_visitor_closed, cl);
            cl->visitors[r] = cl->visitors[--cl->nvisitors];
        }
        if (vc) {
            int rc = ufrpc_registry_restart(cl->reg, t, ufrpc_visitor_type_name(vc->type), vc, now);
            if (!rc) {
                ufrpc_sup_names_add(&d->removed_names, t->name);
                ufrpc_sup_names_add(&d->added_names, t->name);
                d->changed++;
                i++;
                continue;
            }
            if (!first)
                first = rc;
        }
        ufrpc_sup_names_add(&d->removed_names, t->name);
        ufrpc_registry_remove(cl->reg, t->kind, t->name);
        d->removed++;
    }
    for (size_t k = 0; k < cfg->nvisitors; k++) {
        const struct ufrpc_visitor_config *vc = &cfg->visitors[k];
        if (ufrpc_registry_find(cl->reg, UFRPC_TUNNEL_VISITOR, vc->name))
            continue;
        int rc = ufrpc_registry_add(cl->reg, UFRPC_TUNNEL_VISITOR, vc->name,
                                    ufrpc_visitor_type_name(vc->type), vc, now, NULL);
        if (rc) {
            if (!first)
                first = rc;
            continue;
        }
        ufrpc_sup_names_add(&d->added_names, vc->name);
        d->added++;
    }
    return first;
}
