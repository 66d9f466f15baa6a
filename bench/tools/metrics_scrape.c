/* ufrpc-metrics-bench — what one scrape of /metrics, /api/metrics and the dashboard
 * costs the event loop with many proxies (issue 14: < 10 ms for 1000 proxies).
 *
 *   build/bench/tools/ufrpc-metrics-bench [PROXIES (1000)] [SCRAPES (200)]
 *
 * Builds a registry of PROXIES running tcp proxies with every counter set (bytes,
 * connections, errors of each kind, 20 local dial latencies each), then times
 * SCRAPES renderings of each answer as the admin server produces them on the loop
 * (client/core/metrics.c, admin_metrics.c, admin_dashboard.c), and, separately, the
 * /proc read that runs on the thread pool. Also a whole GET /metrics through the
 * admin HTTP session (parse, auth, route, render, response head), /proc included.
 * Prints p50 / p99 / max in ms of CPU time and the answer sizes. A measurement, not
 * a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/admin/admin_internal.h"
#include "client/core/metrics.h"
#include "proto/base64.h"

/* CPU time of this thread: on a shared machine, wall time would count the other
 * processes' turns too (the figures printed are CPU time). */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int n, size_t bytes)
{
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("%-34s p50 %7.3f ms  p99 %7.3f ms  max %7.3f ms  %8zu bytes\n", what, t[n / 2],
           t[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], t[n - 1], bytes);
}

static struct ufrpc_registry *g_reg;
static struct ufrpc_session_metrics g_sess;

static void hook_metrics(void *ctx, struct ufrpc_metrics_src *src)
{
    (void)ctx;
    memset(src, 0, sizeof *src);
    src->reg = g_reg;
    src->sess = &g_sess;
    src->now_ms = 100000;
    src->start_ms = 1;
}

int main(int argc, char **argv)
{
    int np = argc > 1 ? atoi(argv[1]) : 1000, ns = argc > 2 ? atoi(argv[2]) : 200;
    if (np < 1 || ns < 1) {
        fprintf(stderr, "usage: ufrpc-metrics-bench [PROXIES] [SCRAPES]\n");
        return 2;
    }
    if (ufrpc_registry_new(NULL, NULL, NULL, &g_reg) != 0)
        return 1;
    for (int i = 0; i < np; i++) {
        char name[64];
        snprintf(name, sizeof name, "proxy-%04d", i);
        struct ufrpc_tunnel *t;
        if (ufrpc_registry_add(g_reg, UFRPC_TUNNEL_PROXY, name, "tcp", NULL, 0, &t) != 0)
            return 1;
        ufrpc_registry_set_state(g_reg, t, UFRPC_TUNNEL_RUNNING, NULL, 1000);
        for (int k = 0; k < 20; k++) {
            ufrpc_tunnel_conn_opened(t);
            ufrpc_tunnel_dial_latency(t, (uint64_t)(100 + 997 * k * (i + 1) % 50000));
            ufrpc_tunnel_add_bytes(t, 123456789u + (uint64_t)k, 987654321u);
            ufrpc_tunnel_conn_closed(t);
        }
        for (int k = 0; k < UFRPC_TUNNEL_ERR_KINDS; k++)
            ufrpc_tunnel_error(t, (enum ufrpc_tunnel_err_kind)k);
        ufrpc_tunnel_touch(t, 5000);
    }
    g_sess.up = true;
    g_sess.logins = 3;
    ufrpc_latency_observe(&g_sess.ping_rtt, 12000);
    struct ufrpc_proc_stats ps;
    ufrpc_proc_stats_read(&ps);
    struct ufrpc_metrics_src src;
    hook_metrics(NULL, &src);
    src.proc = &ps;

    double *t = calloc((size_t)ns, sizeof *t);
    if (t == NULL)
        return 1;
    size_t bytes = 0;
    printf("ufrpc-metrics-bench: %d proxies, %d scrapes each\n", np, ns);
    for (int i = 0; i < ns; i++) {
        double t0 = now_ms();
        struct ufrpc_promtext w;
        ufrpc_promtext_init(&w, 0);
        if (ufrpc_metrics_prom(&src, &w) != 0)
            return 1;
        char *text = ufrpc_promtext_take(&w, &bytes);
        t[i] = now_ms() - t0;
        free(text);
    }
    report("/metrics (render, on the loop)", t, ns, bytes);
    for (int i = 0; i < ns; i++) {
        double t0 = now_ms();
        struct ufrpc_admin_buf b = {0};
        if (ufrpc_admin_metrics_json(&src, &b) != 0)
            return 1;
        t[i] = now_ms() - t0;
        bytes = b.len;
        ufrpc_admin_buf_free(&b);
    }
    report("/api/metrics (render, on the loop)", t, ns, bytes);
    for (int i = 0; i < ns; i++) {
        double t0 = now_ms();
        struct ufrpc_admin_buf b = {0};
        if (ufrpc_admin_dashboard(&src, &b) != 0)
            return 1;
        t[i] = now_ms() - t0;
        bytes = b.len;
        ufrpc_admin_buf_free(&b);
    }
    report("/ dashboard (render, on the loop)", t, ns, bytes);
    for (int i = 0; i < ns; i++) {
        double t0 = now_ms();
        ufrpc_proc_stats_read(&ps);
        t[i] = now_ms() - t0;
    }
    report("/proc read (thread pool)", t, ns, 0);

    /* a whole request through the HTTP session, as the admin server runs it */
    struct ufrpc_admin_session_cfg cfg = {.user = "admin", .password = "pw",
                                          .hooks = {.metrics = hook_metrics}};
    char req[256], cred[64];
    ufrpc_base64_encode((const uint8_t *)"admin:pw", 8, cred);
    snprintf(req, sizeof req, "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n\r\n",
             cred);
    for (int i = 0; i < ns; i++) {
        double t0 = now_ms();
        struct ufrpc_admin_session *s = ufrpc_admin_session_new(&cfg);
        if (s == NULL)
            return 1;
        ufrpc_admin_session_feed(s, (const uint8_t *)req, strlen(req));
        struct ufrpc_admin_file_job *j = ufrpc_admin_session_take_file_job(s);
        if (j == NULL)
            return 1;
        ufrpc_admin_file_job_run(j);
        ufrpc_admin_session_file_done(s, j);
        uint8_t *out = NULL;
        uint32_t delay;
        if (!ufrpc_admin_session_take_output(s, &out, &bytes, &delay))
            return 1;
        t[i] = now_ms() - t0;
        if (i == 0 && strncmp((const char *)out, "HTTP/1.1 200", 12) != 0) {
            fprintf(stderr, "unexpected answer: %.60s\n", (const char *)out);
            return 1;
        }
        free(out);
        ufrpc_admin_session_free(s);
    }
    report("GET /metrics via the HTTP session", t, ns, bytes);
    free(t);
    ufrpc_registry_free(g_reg);
    return 0;
}
