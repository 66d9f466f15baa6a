/* client/core/alerts.h: each kind fires and resolves on the registry's counters at the
 * clock it is given; [alerts] in the config (defaults, range errors with file:line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/core/alerts.h"
#include "proto/error.h"

struct rec {
    int n;
    struct ufrpc_alert_event last;
    char name[64];
};

static void on_alert(void *ctx, const struct ufrpc_alert_event *e)
{
    struct rec *r = ctx;
    r->n++;
    r->last = *e;
    snprintf(r->name, sizeof r->name, "%s", e->name);
}

static void test_kinds(void **state)
{
    (void)state;
    struct ufrpc_registry *reg;
    assert_int_equal(ufrpc_registry_new(NULL, NULL, NULL, &reg), 0);
    struct ufrpc_tunnel *t;
    ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "web", "tcp", NULL, 0, &t);
    ufrpc_registry_set_state(reg, t, UFRPC_TUNNEL_RUNNING, NULL, 0);
    struct ufrpc_alert_thresholds th = {.threshold = {50, 100, 2, 10}, .min_connections = 4,
                                        .window_ms = 60000};
    struct rec r = {0};
    ufrpc_alerts_eval(&th, reg, 1000, on_alert, &r);
    assert_int_equal(r.n, 0);

    /* error rate: 2 errors in 4 attempts = 50% */
    for (int i = 0; i < 2; i++)
        ufrpc_tunnel_conn_opened(t), ufrpc_tunnel_conn_closed(t);
    ufrpc_tunnel_conn_failed(t, UFRPC_TUNNEL_ERR_LOCAL_DIAL);
    ufrpc_alerts_eval(&th, reg, 2000, on_alert, &r);
    assert_int_equal(r.n, 0); /* 3 attempts: below minConnections */
    ufrpc_tunnel_conn_failed(t, UFRPC_TUNNEL_ERR_LOCAL_DIAL);
    ufrpc_alerts_eval(&th, reg, 3000, on_alert, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.last.kind, UFRPC_ALERT_ERROR_RATE);
    assert_true(r.last.firing);
    assert_true(r.last.value == 50);
    assert_string_equal(r.name, "web");
    /* two windows later the errors are out of the span: resolved */
    ufrpc_alerts_eval(&th, reg, 70000, on_alert, &r);
    assert_int_equal(r.n, 1);
    ufrpc_alerts_eval(&th, reg, 140000, on_alert, &r);
    assert_int_equal(r.n, 2);
    assert_false(r.last.firing);

    /* latency: mean of 50 ms and 250 ms = 150 ms >= 100 */
    ufrpc_tunnel_dial_latency(t, 50000);
    ufrpc_tunnel_dial_latency(t, 250000);
    ufrpc_alerts_eval(&th, reg, 141000, on_alert, &r);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.last.kind, UFRPC_ALERT_LATENCY);
    assert_true(r.last.value == 150);

    /* connections: more than 2 active */
    for (int i = 0; i < 3; i++)
        ufrpc_tunnel_conn_opened(t);
    ufrpc_alerts_eval(&th, reg, 142000, on_alert, &r);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.last.kind, UFRPC_ALERT_CONNECTIONS);
    assert_true(r.last.firing && r.last.value == 3);
    ufrpc_tunnel_conn_closed(t);
    ufrpc_alerts_eval(&th, reg, 143000, on_alert, &r);
    assert_int_equal(r.n, 5);
    assert_false(r.last.firing);

    /* down: 10 s after leaving running; resolved with how long it was down */
    struct ufrpc_alert_view v[8];
    ufrpc_registry_set_state(reg, t, UFRPC_TUNNEL_WAIT_START, NULL, 150000);
    ufrpc_alerts_eval(&th, reg, 150000, on_alert, &r);
    ufrpc_alerts_eval(&th, reg, 159999, on_alert, &r);
    assert_int_equal(r.n, 5);
    ufrpc_alerts_eval(&th, reg, 160000, on_alert, &r);
    assert_int_equal(r.n, 6);
    assert_int_equal(r.last.kind, UFRPC_ALERT_DOWN);
    assert_true(r.last.firing && r.last.value == 10);
    size_t nv = ufrpc_alerts_views(&th, reg, v, 8);
    assert_int_equal(nv, 4); /* 4 kinds on x 1 proxy */
    assert_string_equal(v[3].alert, "down");
    assert_true(v[3].active);
    assert_false(v[2].active);
    ufrpc_registry_set_state(reg, t, UFRPC_TUNNEL_RUNNING, NULL, 165000);
    ufrpc_alerts_eval(&th, reg, 165500, on_alert, &r);
    assert_int_equal(r.n, 7);
    assert_false(r.last.firing);
    assert_true(r.last.value == 15.5);

    /* off kinds never fire; views only for enabled kinds */
    struct ufrpc_alert_thresholds off = {.min_connections = 1, .window_ms = 1000};
    assert_false(ufrpc_alerts_enabled(&off));
    assert_int_equal(ufrpc_alerts_views(&off, reg, v, 8), 0);
    ufrpc_registry_free(reg);
}

static void test_config(void **state)
{
    (void)state;
    const char *ok = "serverAddr = \"x\"\n[alerts]\ndownSeconds = 30\n"
                     "webhookURL = \"https://u:secret@hooks.example/a?b=c\"\n";
    struct ufrpc_cfg_diag d;
    ufrpc_cfg_diag_init(&d);
    struct ufrpc_config *cfg = NULL;
    assert_int_equal(ufrpc_config_load_buffer(ok, strlen(ok), "a.toml", NULL, &cfg, &d), 0);
    struct ufrpc_alert_thresholds th;
    ufrpc_alerts_from_config(cfg, &th);
    assert_int_equal(th.threshold[UFRPC_ALERT_DOWN], 30);
    assert_int_equal(th.threshold[UFRPC_ALERT_ERROR_RATE], 0);
    assert_int_equal(th.min_connections, 5);
    assert_int_equal(th.window_ms, 60000);
    assert_true(cfg->alerts.present);
    ufrpc_config_free(cfg);
    ufrpc_cfg_diag_free(&d);
    /* absent: off, and left out of dumps (frpc must be able to read them) */
    ufrpc_cfg_diag_init(&d);
    const char *none = "serverAddr = \"x\"\n";
    assert_int_equal(ufrpc_config_load_buffer(none, strlen(none), "c.toml", NULL, &cfg, &d), 0);
    assert_false(cfg->alerts.present);
    ufrpc_alerts_from_config(cfg, &th);
    assert_false(ufrpc_alerts_enabled(&th));
    char *dump = NULL;
    size_t dl = 0;
    FILE *mf = open_memstream(&dump, &dl);
    assert_int_equal(ufrpc_config_dump(cfg, mf, true), 0);
    fclose(mf);
    assert_null(strstr(dump, "alerts"));
    free(dump);
    ufrpc_config_free(cfg);
    ufrpc_cfg_diag_free(&d);

    const char *bad = "serverAddr = \"x\"\n[alerts]\nerrorRatePercent = 101\n"
                      "webhookURL = \"ftp://x\"\n";
    ufrpc_cfg_diag_init(&d);
    assert_true(ufrpc_config_load_buffer(bad, strlen(bad), "b.toml", NULL, &cfg, &d) < 0);
    assert_int_equal(d.errors, 2);
    assert_int_equal(d.items[0].err.line, 3);
    assert_non_null(strstr(d.items[0].err.msg, "alerts.errorRatePercent"));
    assert_int_equal(d.items[1].err.line, 4);
    assert_non_null(strstr(d.items[1].err.msg, "alerts.webhookURL"));
    ufrpc_cfg_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_kinds), cmocka_unit_test(test_config)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
