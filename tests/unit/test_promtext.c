/* proto/promtext.h: the Prometheus text writer, checked byte for byte, by the
 * independent checker tests/promcheck.c, and by `promtool check metrics` when
 * Prometheus's promtool is installed (skipped otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <math.h>

#include "promcheck.h"
#include "proto/error.h"
#include "proto/promtext.h"

static void test_counter_and_escapes(void **state)
{
    (void)state;
    struct ufrpc_promtext w;
    ufrpc_promtext_init(&w, 0);
    ufrpc_promtext_family(&w, "ufrpc_x_total", UFRPC_PROM_COUNTER, "a \\ and a\nnewline");
    struct ufrpc_prom_label l[] = {{"name", "a\"b\\c\nd"}, {"type", NULL}};
    ufrpc_promtext_u64(&w, "ufrpc_x_total", l, 2, 18446744073709551615ull);
    ufrpc_promtext_u64(&w, "ufrpc_x_total", NULL, 0, 0);
    assert_int_equal(ufrpc_promtext_error(&w), 0);
    size_t n = 0;
    char *t = ufrpc_promtext_take(&w, &n);
    assert_non_null(t);
    assert_string_equal(t, "# HELP ufrpc_x_total a \\\\ and a\\nnewline\n"
                           "# TYPE ufrpc_x_total counter\n"
                           "ufrpc_x_total{name=\"a\\\"b\\\\c\\nd\",type=\"\"} 18446744073709551615\n"
                           "ufrpc_x_total 0\n");
    assert_int_equal(n, strlen(t));
    char err[200];
    assert_int_equal(promcheck_validate(t, n, err, sizeof err), 0);
    free(t);
    ufrpc_promtext_free(&w);
}

static void test_doubles(void **state)
{
    (void)state;
    char b[40];
    const struct {
        double v;
        const char *s;
    } c[] = {{0, "0"},          {3, "3"},         {0.1, "0.1"},       {0.001, "0.001"},
             {1e21, "1e+21"},   {-2.5, "-2.5"},   {1.0 / 3, "0.333333333333333315"},
             {INFINITY, "+Inf"}, {-INFINITY, "-Inf"}, {NAN, "NaN"}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        ufrpc_promtext_format_double(c[i].v, b, sizeof b);
        if (isnan(c[i].v) || isinf(c[i].v) || i != 6)
            assert_string_equal(b, c[i].s);
        else
            assert_true(strtod(b, NULL) == c[i].v); /* shortest that reads back */
    }
}

static void test_histogram(void **state)
{
    (void)state;
    struct ufrpc_promtext w;
    ufrpc_promtext_init(&w, 0);
    const double bounds[] = {0.005, 0.01, 0.1};
    const uint64_t counts[] = {1, 0, 2, 3}; /* per bucket; 3 above 0.1 */
    struct ufrpc_prom_label l[] = {{"name", "web"}};
    ufrpc_promtext_family(&w, "ufrpc_lat_seconds", UFRPC_PROM_HISTOGRAM, "latency");
    ufrpc_promtext_histogram(&w, "ufrpc_lat_seconds", l, 1, bounds, counts, 3, 1.25);
    ufrpc_promtext_histogram(&w, "ufrpc_lat_seconds", NULL, 0, bounds, counts, 3, 0.5);
    size_t n;
    char *t = ufrpc_promtext_take(&w, &n);
    assert_non_null(t);
    assert_string_equal(t, "# HELP ufrpc_lat_seconds latency\n"
                           "# TYPE ufrpc_lat_seconds histogram\n"
                           "ufrpc_lat_seconds_bucket{name=\"web\",le=\"0.005\"} 1\n"
                           "ufrpc_lat_seconds_bucket{name=\"web\",le=\"0.01\"} 1\n"
                           "ufrpc_lat_seconds_bucket{name=\"web\",le=\"0.1\"} 3\n"
                           "ufrpc_lat_seconds_bucket{name=\"web\",le=\"+Inf\"} 6\n"
                           "ufrpc_lat_seconds_sum{name=\"web\"} 1.25\n"
                           "ufrpc_lat_seconds_count{name=\"web\"} 6\n"
                           "ufrpc_lat_seconds_bucket{le=\"0.005\"} 1\n"
                           "ufrpc_lat_seconds_bucket{le=\"0.01\"} 1\n"
                           "ufrpc_lat_seconds_bucket{le=\"0.1\"} 3\n"
                           "ufrpc_lat_seconds_bucket{le=\"+Inf\"} 6\n"
                           "ufrpc_lat_seconds_sum 0.5\n"
                           "ufrpc_lat_seconds_count 6\n");
    char err[200];
    assert_int_equal(promcheck_validate(t, n, err, sizeof err), 0);
    free(t);

    /* bounds that do not increase */
    ufrpc_promtext_init(&w, 0);
    const double bad[] = {1, 1, 2};
    ufrpc_promtext_histogram(&w, "h", NULL, 0, bad, counts, 3, 0);
    assert_int_equal(ufrpc_promtext_error(&w), UFRPC_ERR_INVAL);
    assert_null(ufrpc_promtext_take(&w, &n));
    assert_int_equal(n, 0);
}

static void test_bad_names_and_limit(void **state)
{
    (void)state;
    struct ufrpc_promtext w;
    const char *names[] = {"", "1abc", "a-b", "a b", "é"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ufrpc_promtext_init(&w, 0);
        ufrpc_promtext_u64(&w, names[i], NULL, 0, 1);
        assert_int_equal(ufrpc_promtext_error(&w), UFRPC_ERR_INVAL);
        ufrpc_promtext_free(&w);
    }
    /* label names: no colon, no reserved __ prefix */
    const char *lnames[] = {"a:b", "__x", "9"};
    for (size_t i = 0; i < sizeof lnames / sizeof lnames[0]; i++) {
        ufrpc_promtext_init(&w, 0);
        struct ufrpc_prom_label l = {lnames[i], "v"};
        ufrpc_promtext_u64(&w, "ok", &l, 1, 1);
        assert_int_equal(ufrpc_promtext_error(&w), UFRPC_ERR_INVAL);
        ufrpc_promtext_free(&w);
    }
    /* a colon is fine in metric names; errors are sticky */
    ufrpc_promtext_init(&w, 0);
    ufrpc_promtext_u64(&w, "a:b_c", NULL, 0, 1);
    assert_int_equal(ufrpc_promtext_error(&w), 0);
    ufrpc_promtext_family(&w, "bad name", UFRPC_PROM_GAUGE, "x");
    ufrpc_promtext_u64(&w, "fine", NULL, 0, 1);
    assert_int_equal(ufrpc_promtext_error(&w), UFRPC_ERR_INVAL);
    ufrpc_promtext_free(&w);
    /* the byte limit */
    ufrpc_promtext_init(&w, 64);
    for (int i = 0; i < 10; i++)
        ufrpc_promtext_u64(&w, "some_metric_name", NULL, 0, 12345);
    assert_int_equal(ufrpc_promtext_error(&w), UFRPC_ERR_LIMIT);
    assert_true(w.len <= 64);
    ufrpc_promtext_free(&w);
}

/* The checker must refuse what the format forbids (so that its "ok" means something). */
static void test_checker_refuses(void **state)
{
    (void)state;
    const char *bad[] = {
        "x 1\n",                                                 /* no TYPE */
        "# TYPE x counter\nx -1\n",                              /* negative counter */
        "# TYPE x gauge\nx{a=\"b} 1\n",                          /* unterminated */
        "# TYPE x gauge\nx{a=\"\\q\"} 1\n",                      /* bad escape */
        "# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n",                /* label twice */
        "# TYPE x gauge\nx 1\nx 2\n",                            /* duplicate */
        "# TYPE x gauge\n# TYPE y gauge\nx 1\ny 1\nx{a=\"1\"} 2\n", /* interleaved */
        "# TYPE x gauge\nx abc\n",                               /* value */
        "# TYPE x gauge\nx 1",                                   /* no final newline */
        "# TYPE x foo\nx 1\n",                                   /* type */
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\n"
        "h_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 1\n", /* not cumulative */
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_count 2\nh_sum 1\n", /* no +Inf */
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\nh_sum 1\n", /* count */
        "# TYPE h histogram\nh 1\n",                                     /* bare */
        "# TYPE x gauge\nx 1\n# HELP x late\n",                          /* HELP late */
    };
    char err[200];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (promcheck_validate(bad[i], strlen(bad[i]), err, sizeof err) == 0)
            fail_msg("checker accepted case %zu: %s", i, bad[i]);
        assert_true(strncmp(err, "line ", 5) == 0);
    }
    const char *good = "# HELP x y\n# TYPE x gauge\nx{a=\"\\\\\\n\\\"\"} +Inf 123\n\n# c\n";
    assert_int_equal(promcheck_validate(good, strlen(good), err, sizeof err), 0);
    double v = 0;
    assert_int_equal(promcheck_value(good, "x{a=\"\\\\\\n\\\"\"}", &v), 0);
    assert_true(isinf(v));
}

/* promtool check metrics, when installed: it reads the text on stdin. */
static void test_promtool(void **state)
{
    (void)state;
    if (system("command -v promtool >/dev/null 2>&1") != 0)
        skip();
    struct ufrpc_promtext w;
    ufrpc_promtext_init(&w, 0);
    const double bounds[] = {0.001, 0.01};
    const uint64_t counts[] = {1, 2, 3};
    struct ufrpc_prom_label l[] = {{"name", "we\"ird\\"}, {"type", "tcp"}};
    ufrpc_promtext_family(&w, "ufrpc_t_bytes_total", UFRPC_PROM_COUNTER, "bytes");
    ufrpc_promtext_u64(&w, "ufrpc_t_bytes_total", l, 2, 42);
    ufrpc_promtext_family(&w, "ufrpc_t_seconds", UFRPC_PROM_HISTOGRAM, "latency");
    ufrpc_promtext_histogram(&w, "ufrpc_t_seconds", l, 2, bounds, counts, 2, 0.5);
    size_t n;
    char *t = ufrpc_promtext_take(&w, &n);
    assert_non_null(t);
    FILE *p = popen("promtool check metrics", "w");
    assert_non_null(p);
    fwrite(t, 1, n, p);
    assert_int_equal(pclose(p), 0);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_escapes), cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_histogram),           cmocka_unit_test(test_bad_names_and_limit),
        cmocka_unit_test(test_checker_refuses),     cmocka_unit_test(test_promtool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
