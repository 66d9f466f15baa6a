/* client/core/metrics.h: the /metrics exposition of a registry and session counters,
 * checked by tests/promcheck.c and value by value; /proc stats of this process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/core/metrics.h"
#include "promcheck.h"
#include "proto/error.h"

static double val(const char *text, const char *series)
{
    double v = -12345;
    if (promcheck_value(text, series, &v) != 0)
        fail_msg("no series %s", series);
    return v;
}

static void test_render(void **state)
{
    (void)state;
    struct ufrpc_registry *reg;
    assert_int_equal(ufrpc_registry_new(NULL, NULL, NULL, &reg), 0);
    struct ufrpc_tunnel *a, *b, *v;
    assert_int_equal(ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "web", "tcp", NULL, 0, &a), 0);
    assert_int_equal(ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "we\"ird\\", "http", NULL, 0, &b), 0);
    assert_int_equal(ufrpc_registry_add(reg, UFRPC_TUNNEL_VISITOR, "vis", "stcp", NULL, 0, &v), 0);
    ufrpc_registry_set_state(reg, a, UFRPC_TUNNEL_RUNNING, NULL, 1000);
    ufrpc_tunnel_conn_opened(a);
    ufrpc_tunnel_conn_opened(a);
    ufrpc_tunnel_conn_closed(a);
    ufrpc_tunnel_add_bytes(a, 300, 4000);
    ufrpc_tunnel_conn_failed(a, UFRPC_TUNNEL_ERR_LOCAL_DIAL);
    ufrpc_tunnel_dial_latency(a, 2000);
    ufrpc_tunnel_touch(a, 5000);

    struct ufrpc_session_metrics sm = {0};
    sm.logins = 2;
    sm.up = true;
    sm.reconnects[UFRPC_CAUSE_HEARTBEAT] = 1;
    sm.login_failures[ufrpc_session_cause_of(UFRPC_ERR_CONNECT_REFUSED)] = 3;
    ufrpc_latency_observe(&sm.ping_rtt, 12000);
    sm.window_stalls_done = 4;
    struct ufrpc_proc_stats ps;
    ufrpc_proc_stats_read(&ps);
    struct ufrpc_alert_view al = {"down", "web", true, 12};
    struct ufrpc_metrics_src src = {.reg = reg, .sess = &sm, .yamux_streams = 3,
                                    .window_stalls = 1, .work_pool = 2, .proc = &ps,
                                    .alerts = &al, .nalerts = 1, .now_ms = 11000,
                                    .start_ms = 500};
    struct ufrpc_promtext w;
    ufrpc_promtext_init(&w, 0);
    assert_int_equal(ufrpc_metrics_prom(&src, &w), 0);
    size_t n;
    char *t = ufrpc_promtext_take(&w, &n);
    assert_non_null(t);
    char err[300];
    if (promcheck_validate(t, n, err, sizeof err) != 0)
        fail_msg("%s\n%s", err, t);
#define A "{name=\"web\",type=\"tcp\"}"
    assert_true(val(t, "ufrpc_proxy_bytes_in_total" A) == 300);
    assert_true(val(t, "ufrpc_proxy_bytes_out_total" A) == 4000);
    assert_true(val(t, "ufrpc_proxy_connections_total" A) == 2);
    assert_true(val(t, "ufrpc_proxy_connections_active" A) == 1);
    assert_true(val(t, "ufrpc_proxy_connections_failed_total" A) == 1);
    assert_true(val(t, "ufrpc_proxy_errors_total{name=\"web\",type=\"tcp\",kind=\"local_dial\"}") == 1);
    assert_true(val(t, "ufrpc_proxy_errors_total{name=\"web\",type=\"tcp\",kind=\"start\"}") == 0);
    assert_true(val(t, "ufrpc_proxy_local_dial_seconds_bucket{name=\"web\",type=\"tcp\",le=\"0.001\"}") == 0);
    assert_true(val(t, "ufrpc_proxy_local_dial_seconds_bucket{name=\"web\",type=\"tcp\",le=\"0.0025\"}") == 1);
    assert_true(val(t, "ufrpc_proxy_local_dial_seconds_sum" A) == 0.002);
    assert_true(val(t, "ufrpc_proxy_up" A) == 1);
    assert_true(val(t, "ufrpc_proxy_up{name=\"we\\\"ird\\\\\",type=\"http\"}") == 0);
    assert_true(val(t, "ufrpc_proxy_state{name=\"web\",type=\"tcp\",state=\"running\"}") == 1);
    assert_true(val(t, "ufrpc_proxy_uptime_seconds" A) == 10);
    assert_true(val(t, "ufrpc_proxy_last_activity_seconds" A) == 6);
    assert_true(val(t, "ufrpc_proxy_last_activity_seconds{name=\"we\\\"ird\\\\\",type=\"http\"}") == -1);
    assert_null(strstr(t, "\"vis\"")); /* visitors are not proxies */
    assert_true(val(t, "ufrpc_session_up") == 1);
    assert_true(val(t, "ufrpc_session_logins_total") == 2);
    assert_true(val(t, "ufrpc_session_reconnects_total{cause=\"heartbeat\"}") == 1);
    assert_true(val(t, "ufrpc_session_login_failures_total{cause=\"dial\"}") == 3);
    assert_true(val(t, "ufrpc_session_ping_rtt_seconds_count") == 1);
    assert_true(val(t, "ufrpc_session_ping_rtt_seconds_sum") == 0.012);
    assert_true(val(t, "ufrpc_session_yamux_streams") == 3);
    assert_true(val(t, "ufrpc_session_yamux_window_stalls_total") == 5);
    assert_true(val(t, "ufrpc_session_work_pool") == 2);
    assert_true(val(t, "ufrpc_process_uptime_seconds") == 10.5);
    assert_true(val(t, "ufrpc_process_resident_memory_bytes") > 100000);
    assert_true(val(t, "ufrpc_process_open_fds") >= 3);
    assert_true(val(t, "ufrpc_process_cpu_seconds_total") > 0);
    assert_true(val(t, "ufrpc_alert_active{alert=\"down\",name=\"web\"}") == 1);
    free(t);
    ufrpc_registry_free(reg);
}

static void test_causes(void **state)
{
    (void)state;
    assert_string_equal(ufrpc_session_cause_name(ufrpc_session_cause_of(UFRPC_ERR_TLS_VERIFY)), "tls");
    assert_string_equal(ufrpc_session_cause_name(ufrpc_session_cause_of(UFRPC_ERR_LOGIN)), "login");
    assert_string_equal(ufrpc_session_cause_name(ufrpc_session_cause_of(UFRPC_ERR_EOF)), "closed");
    assert_string_equal(ufrpc_session_cause_name(ufrpc_session_cause_of(UFRPC_ERR_DNS)), "dial");
    assert_string_equal(ufrpc_session_cause_name(ufrpc_session_cause_of(UFRPC_ERR_NOMEM)), "other");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_render), cmocka_unit_test(test_causes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
