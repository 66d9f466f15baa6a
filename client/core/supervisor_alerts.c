/* client/core/supervisor_alerts.c — the client's alerts: client/core/alerts.h evaluated every
 * second on the loop, each change logged ("[NAME] alert down firing: 12 s
 * (threshold 10 s)", warn; "... resolved ...", info) and posted to the webhook. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "client/core/supervisor_internal.h"
#include "proto/error.h"

#define ALERT_TICK_MS 1000u

static void post(ufrpc_sup_t *cl, const struct ufrpc_alert_event *e)
{
    json_object *o = json_object_new_object();
    if (o == NULL)
        return;
    json_object_object_add(o, "alert", json_object_new_string(ufrpc_alert_kind_name(e->kind)));
    json_object_object_add(o, "name", json_object_new_string(e->name));
    json_object_object_add(o, "status", json_object_new_string(e->firing ? "firing" : "resolved"));
    json_object_object_add(o, "value", json_object_new_double(e->value));
    json_object_object_add(o, "threshold", json_object_new_double(e->threshold));
    json_object_object_add(o, "unit", json_object_new_string(e->unit));
    json_object_object_add(o, "run_id", json_object_new_string(cl->run_id));
    json_object_object_add(o, "time", json_object_new_int64((int64_t)time(NULL)));
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    if (s != NULL)
        (void)ufrpc_webhook_post(cl->webhook, s, strlen(s)); /* a full queue is logged there */
    json_object_put(o);
}

static void on_alert(void *ctx, const struct ufrpc_alert_event *e)
{
    ufrpc_sup_t *cl = ctx;
    char v[40], th[40];
    ufrpc_promtext_format_double(e->value, v, sizeof v);
    ufrpc_promtext_format_double(e->threshold, th, sizeof th);
    if (e->firing)
        UFRPC_LOGW(cl->log, "[%s] alert %s firing: %s %s (threshold %s %s)", e->name,
                   ufrpc_alert_kind_name(e->kind), v, e->unit, th, e->unit);
    else
        UFRPC_LOGI(cl->log, "[%s] alert %s resolved: %s %s (threshold %s %s)", e->name,
                   ufrpc_alert_kind_name(e->kind), v, e->unit, th, e->unit);
    if (cl->webhook != NULL)
        post(cl, e);
}

static void on_tick(uv_timer_t *t)
{
    ufrpc_sup_t *cl = t->data;
    ufrpc_alerts_eval(&cl->alert_th, cl->reg, ufrpc_sup_now_ms(cl), on_alert, cl);
}

int ufrpc_sup_alerts_apply(ufrpc_sup_t *cl)
{
    struct ufrpc_alert_thresholds th;
    ufrpc_alerts_from_config(cl->cfg, &th);
    const char *url = ufrpc_cfg_str(cl->cfg->alerts.webhook_url);
    if (strcmp(url, cl->webhook_url ? cl->webhook_url : "") != 0) {
        ufrpc_webhook_free(cl->webhook);
        cl->webhook = NULL;
        free(cl->webhook_url);
        cl->webhook_url = NULL;
        if (url[0] != '\0') {
            int rc = ufrpc_webhook_new(cl->loop, url, cl->log, &cl->webhook);
            cl->webhook_url = rc == 0 ? strdup(url) : NULL;
            if (rc == 0 && cl->webhook_url == NULL)
                rc = UFRPC_ERR_NOMEM;
            if (rc != 0) {
                UFRPC_LOGE(cl->log, "alerts.webhookURL: %s", ufrpc_strerror(rc));
                ufrpc_webhook_free(cl->webhook);
                cl->webhook = NULL;
            }
        }
    }
    cl->alert_th = th;
    if (!ufrpc_alerts_enabled(&th)) {
        if (cl->alert_timer_open)
            uv_timer_stop(&cl->alert_timer);
        return 0;
    }
    if (!cl->alert_timer_open) {
        if (uv_timer_init(cl->loop, &cl->alert_timer) != 0)
            return UFRPC_ERR_IO;
        cl->alert_timer.data = cl;
        cl->alert_timer_open = 1;
    }
    uv_timer_start(&cl->alert_timer, on_tick, ALERT_TICK_MS, ALERT_TICK_MS);
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    ufrpc_sup_closed_pending(h->data);
}

void ufrpc_sup_alerts_stop(ufrpc_sup_t *cl)
{
    ufrpc_webhook_free(cl->webhook);
    cl->webhook = NULL;
    free(cl->webhook_url);
    cl->webhook_url = NULL;
    free(cl->alert_views);
    cl->alert_views = NULL;
    cl->alert_views_cap = 0;
    if (cl->alert_timer_open) {
        cl->alert_timer_open = 0;
        cl->pending++;
        uv_close((uv_handle_t *)&cl->alert_timer, on_timer_closed);
    }
}

void ufrpc_sup_alerts_views(ufrpc_sup_t *cl, const struct ufrpc_alert_view **out, size_t *n)
{
    size_t need = ufrpc_alerts_views(&cl->alert_th, cl->reg, cl->alert_views, cl->alert_views_cap);
    if (need > cl->alert_views_cap) {
        struct ufrpc_alert_view *v = realloc(cl->alert_views, need * sizeof *v);
        if (v == NULL) {
            need = cl->alert_views_cap; /* the views that fit */
        } else {
            cl->alert_views = v;
            cl->alert_views_cap = need;
            need = ufrpc_alerts_views(&cl->alert_th, cl->reg, v, need);
        }
    }
    *out = cl->alert_views;
    *n = need;
}
