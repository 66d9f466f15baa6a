/* ufrpc diagnose's score, verdict and advice (client/cli/diagnose.h): the weights the
 * README documents, partial credit for proxies, latency and throughput, and the
 * advice picked from frps's login errors. The steps themselves run end to end in
 * tests/e2e/diagnose.sh and tests/interop/diagnose.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/cli/diagnose.h"

static void all(struct ufrpc_diag_result *r, enum ufrpc_diag_status st)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < UFRPC_DIAG_NSTEPS; i++)
        r->steps[i].status = st;
    r->rtt_median = 1;
    r->tp_mbps = 100;
}

static void test_all_ok(void **state)
{
    (void)state;
    struct ufrpc_diag_result r;
    all(&r, UFRPC_DIAG_OK);
    ufrpc_diag_score(&r);
    assert_int_equal(r.score, 100);
    assert_string_equal(r.verdict, "excellent");
    r.steps[UFRPC_DIAG_TLS].status = UFRPC_DIAG_SKIPPED; /* TLS off counts as passed */
    ufrpc_diag_score(&r);
    assert_int_equal(r.score, 100);
}

static void test_critical_stops(void **state)
{
    (void)state;
    struct ufrpc_diag_result r;
    all(&r, UFRPC_DIAG_NOT_RUN);
    r.steps[UFRPC_DIAG_DNS].status = UFRPC_DIAG_OK;
    r.steps[UFRPC_DIAG_TCP].status = UFRPC_DIAG_FAIL;
    ufrpc_diag_score(&r);
    assert_int_equal(r.score, 10);
    assert_string_equal(r.verdict, "critical");
    r.steps[UFRPC_DIAG_TCP].status = UFRPC_DIAG_OK;
    r.steps[UFRPC_DIAG_TLS].status = UFRPC_DIAG_OK;
    r.steps[UFRPC_DIAG_LOGIN].status = UFRPC_DIAG_FAIL;
    ufrpc_diag_score(&r);
    assert_int_equal(r.score, 40);
    assert_string_equal(r.verdict, "poor");
}

static void test_partial_credit(void **state)
{
    (void)state;
    struct ufrpc_diag_result r;
    all(&r, UFRPC_DIAG_OK);
    struct ufrpc_diag_proxy px[4] = {{.ok = true}, {.ok = false}, {.ok = true}, {.ok = true}};
    r.proxies = px;
    r.n_proxies = 4;
    r.steps[UFRPC_DIAG_PROXIES].status = UFRPC_DIAG_FAIL;
    ufrpc_diag_score(&r); /* 15 * 3/4 = 11.25 */
    assert_int_equal(r.score, 96);
    r.rtt_median = 250; /* half of 10 */
    r.tp_mbps = 0.5;    /* none of 10 */
    ufrpc_diag_score(&r);
    assert_int_equal(r.score, 81);
    assert_string_equal(r.verdict, "good");
    r.rtt_median = 600; /* none */
    ufrpc_diag_score(&r); /* 65 + 11.25 */
    assert_int_equal(r.score, 76);
    /* frps refused the temporary proxy: latency and throughput count as failed,
     * however good the (stale) figures */
    r.rtt_median = 1;
    r.tp_mbps = 100;
    r.steps[UFRPC_DIAG_LATENCY].status = UFRPC_DIAG_NOT_RUN;
    r.steps[UFRPC_DIAG_THROUGHPUT].status = UFRPC_DIAG_NOT_RUN;
    ufrpc_diag_score(&r);
    assert_int_equal(r.score, 76);
    assert_string_equal(r.verdict, "good");
    r.steps[UFRPC_DIAG_PROXIES].status = UFRPC_DIAG_NOT_RUN;
    ufrpc_diag_score(&r);
    assert_int_equal(r.score, 65);
    assert_string_equal(r.verdict, "fair");
}

static void test_names_and_advice(void **state)
{
    (void)state;
    assert_string_equal(ufrpc_diag_step_name(UFRPC_DIAG_DNS), "dns");
    assert_string_equal(ufrpc_diag_step_name(UFRPC_DIAG_THROUGHPUT), "throughput");
    assert_string_equal(ufrpc_diag_step_name(UFRPC_DIAG_NSTEPS), "?");
    assert_string_equal(ufrpc_diag_status_name(UFRPC_DIAG_FAIL), "FAIL");
    char a[256];
    ufrpc_diag_login_advice("login to the server failed: token in login doesn't match token "
                            "from configuration",
                            a, sizeof a);
    assert_non_null(strstr(a, "check auth.token"));
    ufrpc_diag_login_advice("i/o timeout", a, sizeof a);
    assert_non_null(strstr(a, "bindPort"));
    ufrpc_diag_login_advice("EOF", a, sizeof a);
    assert_non_null(strstr(a, "closed the connection"));
    ufrpc_diag_login_advice("something else", a, sizeof a);
    assert_non_null(strstr(a, "frps's log"));
    ufrpc_diag_login_advice("anything", a, 8); /* truncated, terminated */
    assert_int_equal(strlen(a), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_ok),
        cmocka_unit_test(test_critical_stops),
        cmocka_unit_test(test_partial_credit),
        cmocka_unit_test(test_names_and_advice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
