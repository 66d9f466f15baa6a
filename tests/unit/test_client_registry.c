/* client/registry: frpc's proxy phases, NewProxy retry timers, names, counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/core/registry.h"
#include "proto/error.h"

struct rec {
    char sent[16][64];
    size_t nsent;
    char closed[16][64];
    size_t nclosed;
    char changes[32][96];
    size_t nchanges;
};

static void on_new(void *ctx, struct ufrpc_tunnel *t)
{
    struct rec *r = ctx;
    snprintf(r->sent[r->nsent++ % 16], 64, "%s", t->wire_name);
}

static void on_close(void *ctx, struct ufrpc_tunnel *t)
{
    struct rec *r = ctx;
    snprintf(r->closed[r->nclosed++ % 16], 64, "%s", t->wire_name);
}

static void on_change(void *ctx, const struct ufrpc_tunnel *t, enum ufrpc_tunnel_state old)
{
    struct rec *r = ctx;
    snprintf(r->changes[r->nchanges++ % 32], 96, "%s:%s->%s", t->name, ufrpc_tunnel_state_name(old),
             ufrpc_tunnel_state_name(t->state));
}

static void test_state_names(void **state)
{
    (void)state;
    assert_string_equal(ufrpc_tunnel_state_name(UFRPC_TUNNEL_NEW), "new");
    assert_string_equal(ufrpc_tunnel_state_name(UFRPC_TUNNEL_WAIT_START), "wait start");
    assert_string_equal(ufrpc_tunnel_state_name(UFRPC_TUNNEL_RUNNING), "running");
    assert_string_equal(ufrpc_tunnel_state_name(UFRPC_TUNNEL_START_ERROR), "start error");
    assert_string_equal(ufrpc_tunnel_state_name(UFRPC_TUNNEL_CHECK_FAILED), "check failed");
    assert_string_equal(ufrpc_tunnel_state_name(UFRPC_TUNNEL_CLOSED), "closed");
}

static void test_names_and_user_prefix(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(ufrpc_registry_wire_name("alice", "web", buf, sizeof buf), 9);
    assert_string_equal(buf, "alice.web");
    assert_int_equal(ufrpc_registry_wire_name("", "web", buf, sizeof buf), 3);
    assert_string_equal(buf, "web");
    assert_int_equal(ufrpc_registry_wire_name("alice", "web", buf, 4), 9); /* truncated */
    assert_string_equal(buf, "ali");
    assert_string_equal(ufrpc_registry_strip_user("alice", "alice.web"), "web");
    assert_string_equal(ufrpc_registry_strip_user("alice", "bob.web"), "bob.web");
    assert_string_equal(ufrpc_registry_strip_user("alice", "alice"), "alice");
    assert_string_equal(ufrpc_registry_strip_user(NULL, "alice.web"), "alice.web");

    struct ufrpc_registry *reg;
    assert_int_equal(ufrpc_registry_new("alice", NULL, NULL, &reg), 0);
    struct ufrpc_tunnel *t;
    assert_int_equal(ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "web", "http", NULL, 0, &t), 0);
    assert_string_equal(t->wire_name, "alice.web");
    assert_int_equal(ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "web", "tcp", NULL, 0, NULL),
                     UFRPC_ERR_CONFIG_DUPLICATE);
    /* a visitor may share a proxy's name */
    assert_int_equal(ufrpc_registry_add(reg, UFRPC_TUNNEL_VISITOR, "web", "stcp", NULL, 0, NULL), 0);
    assert_int_equal(ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "", "tcp", NULL, 0, NULL),
                     UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_registry_count(reg), 2);
    assert_ptr_equal(ufrpc_registry_find(reg, UFRPC_TUNNEL_PROXY, "web"), t);
    assert_int_equal(ufrpc_registry_remove(reg, UFRPC_TUNNEL_PROXY, "web"), 0);
    assert_int_equal(ufrpc_registry_remove(reg, UFRPC_TUNNEL_PROXY, "web"), UFRPC_ERR_NOT_FOUND);
    assert_null(ufrpc_registry_find(reg, UFRPC_TUNNEL_PROXY, "web"));
    assert_non_null(ufrpc_registry_at(reg, 0));
    assert_null(ufrpc_registry_at(reg, 1));
    ufrpc_registry_free(reg);
}

static void test_new_proxy_sent_then_running(void **state)
{
    (void)state;
    struct rec r = {0};
    struct ufrpc_registry *reg;
    assert_int_equal(ufrpc_registry_new(NULL, on_change, &r, &reg), 0);
    struct ufrpc_tunnel *a, *b;
    assert_int_equal(ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "a", "tcp", NULL, 100, &a), 0);
    assert_int_equal(ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "b", "tcp", NULL, 100, &b), 0);
    assert_int_equal(ufrpc_registry_add(reg, UFRPC_TUNNEL_VISITOR, "v", "stcp", NULL, 100, NULL), 0);
    assert_int_equal(ufrpc_registry_next_check_ms(reg, 1000), 1000); /* check at once */
    assert_int_equal(ufrpc_registry_check(reg, 1000, on_new, on_close, &r), 2); /* visitors: none */
    assert_string_equal(r.sent[0], "a");
    assert_string_equal(r.sent[1], "b");
    assert_int_equal(a->state, UFRPC_TUNNEL_WAIT_START);
    assert_int_equal(a->changed_ms, 1000);
    assert_string_equal(r.changes[0], "a:new->wait start");
    assert_int_equal(ufrpc_registry_next_check_ms(reg, 1000), 4000);

    assert_int_equal(ufrpc_registry_on_new_proxy_resp(reg, "a", ":16000", NULL, 1200), 0);
    assert_int_equal(a->state, UFRPC_TUNNEL_RUNNING);
    assert_string_equal(a->remote_addr, ":16000");
    assert_null(a->last_error);
    /* a second answer for a running proxy is ignored */
    assert_int_equal(ufrpc_registry_on_new_proxy_resp(reg, "a", ":1", NULL, 1300), UFRPC_ERR_STATE);
    assert_string_equal(a->remote_addr, ":16000");
    assert_int_equal(ufrpc_registry_on_new_proxy_resp(reg, "zz", NULL, NULL, 1300),
                     UFRPC_ERR_NOT_FOUND);
    /* nothing to resend for a running proxy, however late */
    r.nsent = 0;
    assert_int_equal(ufrpc_registry_check(reg, 10000, on_new, on_close, &r), 0);
    ufrpc_registry_free(reg);
}

/* A reload changed the proxy: a fresh "new" entry (type and cfg replaced, remote
 * address and error cleared, counters kept) that the next check announces again. */
static void test_restart_after_config_change(void **state)
{
    (void)state;
    struct rec r = {0};
    struct ufrpc_registry *reg;
    assert_int_equal(ufrpc_registry_new("u", on_change, &r, &reg), 0);
    int c1 = 1, c2 = 2;
    struct ufrpc_tunnel *a;
    assert_int_equal(ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "a", "tcp", &c1, 100, &a), 0);
    assert_int_equal(ufrpc_registry_check(reg, 1000, on_new, on_close, &r), 1);
    assert_int_equal(ufrpc_registry_on_new_proxy_resp(reg, "a", ":16000", NULL, 1200), 0);
    ufrpc_tunnel_conn_opened(a);
    assert_int_equal(ufrpc_registry_restart(reg, a, "udp", &c2, 1500), 0);
    assert_ptr_equal(ufrpc_registry_find(reg, UFRPC_TUNNEL_PROXY, "a"), a);
    assert_int_equal(a->state, UFRPC_TUNNEL_NEW);
    assert_string_equal(a->type, "udp");
    assert_ptr_equal(a->cfg, &c2);
    assert_null(a->remote_addr);
    assert_null(a->last_error);
    assert_int_equal(a->changed_ms, 1500);
    assert_int_equal(a->c.conns_active, 1);
    assert_string_equal(r.changes[r.nchanges - 1], "a:running->new");
    /* announced again at the next check, though the last one was just made */
    r.nsent = 0;
    assert_int_equal(ufrpc_registry_check(reg, 1600, on_new, on_close, &r), 1);
    assert_string_equal(r.sent[0], "u.a");
    assert_int_equal(ufrpc_registry_restart(reg, NULL, "tcp", &c1, 1700), UFRPC_ERR_INVAL);
    ufrpc_registry_free(reg);
}

static void test_resend_after_20s_without_answer(void **state)
{
    (void)state;
    struct rec r = {0};
    struct ufrpc_registry *reg;
    assert_int_equal(ufrpc_registry_new(NULL, NULL, NULL, &reg), 0);
    struct ufrpc_tunnel *a;
    assert_int_equal(ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "a", "tcp", NULL, 0, &a), 0);
    assert_int_equal(ufrpc_registry_check(reg, 0, on_new, on_close, &r), 1);
    uint64_t now = 0;
    while (now < 20000) {
        now += 3000;
        if (now <= 20000)
            assert_int_equal(ufrpc_registry_check(reg, now, on_new, on_close, &r), 0);
    }
    /* 21 s: more than 20 s since the NewProxy: sent again */
    assert_int_equal(ufrpc_registry_check(reg, 21000, on_new, on_close, &r), 1);
    assert_int_equal(a->last_send_ms, 21000);
    assert_int_equal(r.nsent, 2);
    assert_int_equal(ufrpc_registry_check(reg, 24000, on_new, on_close, &r), 0);
    ufrpc_registry_free(reg);
}

static void test_start_error_retried_after_30s(void **state)
{
    (void)state;
    struct rec r = {0};
    struct ufrpc_registry *reg;
    assert_int_equal(ufrpc_registry_new("u", NULL, NULL, &reg), 0);
    struct ufrpc_tunnel *a;
    assert_int_equal(ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "a", "tcp", NULL, 0, &a), 0);
    ufrpc_registry_check(reg, 0, on_new, on_close, &r);
    assert_string_equal(r.sent[0], "u.a");
    assert_int_equal(ufrpc_registry_on_new_proxy_resp(reg, "a", "", "port already used", 500),
                     UFRPC_ERR_PROXY_START);
    assert_int_equal(a->state, UFRPC_TUNNEL_START_ERROR);
    assert_string_equal(a->last_error, "port already used");
    assert_null(a->remote_addr);
    assert_int_equal(ufrpc_registry_check(reg, 30500, on_new, on_close, &r), 0);
    assert_int_equal(ufrpc_registry_check(reg, 30501, on_new, on_close, &r), 1);
    assert_int_equal(a->state, UFRPC_TUNNEL_WAIT_START);
    assert_int_equal(ufrpc_registry_on_new_proxy_resp(reg, "a", ":7001", "", 30600), 0);
    assert_null(a->last_error);
    ufrpc_registry_free(reg);
}

static void test_health_check_failure_and_recovery(void **state)
{
    (void)state;
    struct rec r = {0};
    struct ufrpc_registry *reg;
    assert_int_equal(ufrpc_registry_new(NULL, NULL, NULL, &reg), 0);
    struct ufrpc_tunnel *a;
    assert_int_equal(ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "a", "tcp", NULL, 0, &a), 0);
    ufrpc_registry_check(reg, 0, on_new, on_close, &r);
    ufrpc_registry_on_new_proxy_resp(reg, "a", ":1", NULL, 1);
    ufrpc_registry_set_health(a, 0);
    assert_int_equal(ufrpc_registry_check(reg, 3000, on_new, on_close, &r), 0);
    assert_int_equal(r.nclosed, 1);
    assert_string_equal(r.closed[0], "a");
    assert_int_equal(a->state, UFRPC_TUNNEL_CHECK_FAILED);
    /* still failing: no more CloseProxy, no NewProxy */
    assert_int_equal(ufrpc_registry_check(reg, 6000, on_new, on_close, &r), 0);
    assert_int_equal(r.nclosed, 1);
    ufrpc_registry_set_health(a, 1);
    assert_int_equal(ufrpc_registry_check(reg, 9000, on_new, on_close, &r), 1);
    assert_int_equal(a->state, UFRPC_TUNNEL_WAIT_START);
    ufrpc_registry_free(reg);
}

static void test_session_reset_and_close_all(void **state)
{
    (void)state;
    struct rec r = {0};
    struct ufrpc_registry *reg;
    assert_int_equal(ufrpc_registry_new("u", NULL, NULL, &reg), 0);
    struct ufrpc_tunnel *a, *b;
    ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "a", "tcp", NULL, 0, &a);
    ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "b", "udp", NULL, 0, &b);
    ufrpc_registry_check(reg, 0, on_new, on_close, &r);
    ufrpc_registry_on_new_proxy_resp(reg, "a", ":1", NULL, 1);
    ufrpc_tunnel_conn_opened(a);
    ufrpc_tunnel_add_bytes(a, 10, 20);
    ufrpc_registry_session_reset(reg, 50);
    assert_int_equal(a->state, UFRPC_TUNNEL_NEW);
    assert_int_equal(b->state, UFRPC_TUNNEL_NEW);
    assert_null(a->remote_addr);
    assert_int_equal(a->c.bytes_in, 10); /* counters survive a reconnect */
    assert_int_equal(ufrpc_registry_next_check_ms(reg, 60), 60);
    r.nsent = 0;
    assert_int_equal(ufrpc_registry_check(reg, 60, on_new, on_close, &r), 2);

    assert_int_equal(ufrpc_registry_close_all(reg, 70, on_close, &r), 2);
    assert_string_equal(r.closed[0], "u.a");
    assert_string_equal(r.closed[1], "u.b");
    assert_int_equal(a->state, UFRPC_TUNNEL_CLOSED);
    /* closed proxies are never restarted or closed twice */
    assert_int_equal(ufrpc_registry_check(reg, 100000, on_new, on_close, &r), 0);
    assert_int_equal(ufrpc_registry_close_all(reg, 80, on_close, &r), 0);
    ufrpc_registry_session_reset(reg, 90);
    assert_int_equal(a->state, UFRPC_TUNNEL_CLOSED);
    ufrpc_registry_free(reg);
}

static void test_set_user_renames_wire_names(void **state)
{
    (void)state;
    struct ufrpc_registry *reg;
    assert_int_equal(ufrpc_registry_new(NULL, NULL, NULL, &reg), 0);
    struct ufrpc_tunnel *a;
    ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "a", "tcp", NULL, 0, &a);
    assert_string_equal(a->wire_name, "a");
    assert_int_equal(ufrpc_registry_set_user(reg, "bob"), 0);
    assert_string_equal(a->wire_name, "bob.a");
    assert_string_equal(ufrpc_registry_user(reg), "bob");
    assert_int_equal(ufrpc_registry_set_user(reg, ""), 0);
    assert_string_equal(a->wire_name, "a");
    ufrpc_registry_free(reg);
}

static void test_counters(void **state)
{
    (void)state;
    struct ufrpc_registry *reg;
    assert_int_equal(ufrpc_registry_new(NULL, NULL, NULL, &reg), 0);
    struct ufrpc_tunnel *a;
    ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "a", "tcp", NULL, 0, &a);
    ufrpc_tunnel_conn_opened(a);
    ufrpc_tunnel_conn_opened(a);
    ufrpc_tunnel_conn_closed(a);
    ufrpc_tunnel_add_bytes(a, 5, 7);
    ufrpc_tunnel_add_bytes(a, 1, 1);
    ufrpc_tunnel_error(a, UFRPC_TUNNEL_ERR_TRANSFER);
    ufrpc_tunnel_conn_failed(a, UFRPC_TUNNEL_ERR_LOCAL_DIAL);
    ufrpc_tunnel_conn_failed(a, UFRPC_TUNNEL_ERR_LOCAL_DIAL);
    ufrpc_tunnel_error(a, UFRPC_TUNNEL_ERR_KINDS); /* not a kind: ignored */
    ufrpc_tunnel_dial_latency(a, 700);     /* 0.0007 s: the 0.001 bucket */
    ufrpc_tunnel_dial_latency(a, 3000000); /* 3 s: the 5 s bucket */
    ufrpc_tunnel_touch(a, 1234);
    assert_int_equal(a->c.conns_active, 1);
    assert_int_equal(a->c.conns_total, 2);
    assert_int_equal(a->c.bytes_in, 6);
    assert_int_equal(a->c.bytes_out, 8);
    assert_int_equal(a->c.errors, 3);
    assert_int_equal(a->c.conns_failed, 2);
    assert_int_equal(a->c.errors_by_kind[UFRPC_TUNNEL_ERR_LOCAL_DIAL], 2);
    assert_int_equal(a->c.errors_by_kind[UFRPC_TUNNEL_ERR_TRANSFER], 1);
    assert_string_equal(ufrpc_tunnel_err_kind_name(UFRPC_TUNNEL_ERR_LOCAL_DIAL), "local_dial");
    assert_int_equal(a->c.dial.count, 2);
    assert_int_equal(a->c.dial.sum_us, 3000700);
    assert_int_equal(a->c.dial.counts[1], 1);
    assert_int_equal(a->c.dial.counts[12], 1);
    assert_int_equal(a->c.last_activity_ms, 1234);
    /* half the observations at or below ~0.001 s (inside the first non-empty bucket) */
    double q = ufrpc_latency_quantile(&a->c.dial, 0.5);
    assert_true(q > 0.0005 && q <= 0.001);
    assert_true(ufrpc_latency_quantile(&a->c.dial, 0.99) > 2.5);
    ufrpc_tunnel_conn_closed(a);
    ufrpc_tunnel_conn_closed(a); /* never below zero */
    assert_int_equal(a->c.conns_active, 0);
    ufrpc_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_names_and_user_prefix),
        cmocka_unit_test(test_new_proxy_sent_then_running),
        cmocka_unit_test(test_restart_after_config_change),
        cmocka_unit_test(test_resend_after_20s_without_answer),
        cmocka_unit_test(test_start_error_retried_after_30s),
        cmocka_unit_test(test_health_check_failure_and_recovery),
        cmocka_unit_test(test_session_reset_and_close_all),
        cmocka_unit_test(test_set_user_renames_wire_names),
        cmocka_unit_test(test_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
