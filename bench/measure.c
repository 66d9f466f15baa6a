/* ufrpc-bench: one run of every scenario against one endpoint. See bench.h.
 *
 * Order matters for the peak-RSS figures (VmHWM only grows): idle first, then the
 * held idle connections, then latency, throughput and http; the figure after load
 * is the peak of the whole session. */
#include "bench/bench.h"

#include <stdlib.h>
#include <string.h>

#include "bench/load.h"
#include "bench/proc.h"
#include "bench/stats.h"
#include "bench/util.h"
#include "proto/error.h"

struct mctx {
    uv_loop_t *loop;
    const ufrpc_bench_opts_t *o;
    const ufrpc_bench_endpoint_t *ep;
    ufrpc_bench_results_t *r;
    ufrpc_bench_progress_t *prog;
    ufrpc_bench_alive_fn alive;
    void *alive_arg;
    const char *dead; /* why the session ended early, or NULL */
    int failed;
};

static int still_alive(struct mctx *m)
{
    if (m->dead == NULL && m->alive != NULL)
        m->dead = m->alive(m->alive_arg);
    return m->dead == NULL;
}

static void add(struct mctx *m, const char *key, double v)
{
    ufrpc_bench_results_add(m->r, m->ep->client, m->ep->mode, key, v);
}

static void fail(struct mctx *m, const char *key, const char *why)
{
    m->failed = 1;
    ufrpc_bench_results_fail(m->r, m->ep->client, m->ep->mode, key,
                             m->dead ? m->dead : why);
}

static void label(struct mctx *m, const char *what)
{
    char base[192];
    snprintf(base, sizeof(base), "%s", m->prog ? m->prog->label : "");
    char *sep = strstr(base, " | ");
    if (sep)
        *sep = '\0';
    ufrpc_bench_progress_label(m->prog, "%s | %s", base, what);
}

static int mem(struct mctx *m, long *hwm)
{
    long rss;
    return m->ep->pid > 0 && ufrpc_bench_proc_mem(m->ep->pid, &rss, hwm) == 0;
}

static void idle_memory(struct mctx *m)
{
    long hwm;
    if (m->ep->pid <= 0)
        return;
    ufrpc_bench_loop_sleep(m->loop, m->o->quick ? 200 : 1000);
    if (still_alive(m) && mem(m, &hwm))
        add(m, "rss_idle_kib", (double)hwm);
    else
        fail(m, "rss_idle_kib", "cannot read /proc status");
}

static void held_connections(struct mctx *m)
{
    if (m->ep->pid <= 0)
        return;
    if (!still_alive(m)) {
        fail(m, "rss_conns_kib", "ended");
        return;
    }
    label(m, "idle connections");
    ufrpc_bench_hold_t *h = NULL;
    int est = 0;
    int rc = ufrpc_bench_hold_open(m->loop, (struct sockaddr *)&m->ep->tcp, m->o->idle_conns,
                                   60.0, m->prog, &h, &est);
    long hwm;
    if (rc == 0) {
        ufrpc_bench_loop_sleep(m->loop, m->o->quick ? 100 : 500);
        if (still_alive(m) && mem(m, &hwm)) {
            add(m, "rss_conns_kib", (double)hwm);
            ufrpc_bench_progress_done(m->prog, "%d held, peak RSS %ld KiB", est, hwm);
        } else {
            fail(m, "rss_conns_kib", "cannot read /proc status");
        }
    } else {
        char why[UFRPC_BENCH_NOTE_LEN];
        snprintf(why, sizeof(why), "only %d of %d idle connections established", est,
                 m->o->idle_conns);
        fail(m, "rss_conns_kib", why);
        ufrpc_bench_progress_done(m->prog, "%s", why);
    }
    ufrpc_bench_hold_close(h);
}

static void setup_latency(struct mctx *m)
{
    if (!still_alive(m)) {
        fail(m, "setup_p50_us", "ended");
        fail(m, "setup_p90_us", "ended");
        fail(m, "setup_p99_us", "ended");
        return;
    }
    label(m, "setup latency");
    int n = m->o->latency_conns;
    double *samples = calloc((size_t)n, sizeof(double));
    if (samples == NULL) {
        fail(m, "setup_p50_us", "out of memory");
        return;
    }
    int ok = 0, bad = 0;
    double limit = m->o->quick ? 30.0 : 120.0;
    ufrpc_bench_setup_latency(m->loop, (struct sockaddr *)&m->ep->tcp, n, limit, m->prog, samples,
                              &ok, &bad);
    /* percentiles need enough samples; failures beyond 1% spoil the figure */
    if (ok >= n / 2 && bad <= n / 100 + 1) {
        ufrpc_bench_sort(samples, (size_t)ok);
        double p50 = ufrpc_bench_percentile(samples, (size_t)ok, 50);
        double p90 = ufrpc_bench_percentile(samples, (size_t)ok, 90);
        double p99 = ufrpc_bench_percentile(samples, (size_t)ok, 99);
        add(m, "setup_p50_us", p50);
        add(m, "setup_p90_us", p90);
        add(m, "setup_p99_us", p99);
        ufrpc_bench_progress_done(m->prog, "%d connections: p50 %.0f us  p90 %.0f us  p99 %.0f us%s",
                                  ok, p50, p90, p99, bad ? "  (some failed)" : "");
        if (bad)
            ufrpc_bench_results_note(m->r, "%s %s: %d of %d setup-latency connections failed",
                                     m->ep->client, m->ep->mode, bad, n);
    } else {
        char why[UFRPC_BENCH_NOTE_LEN];
        snprintf(why, sizeof(why), "%d of %d connections failed, %d succeeded", bad, n, ok);
        fail(m, "setup_p50_us", why);
        fail(m, "setup_p90_us", why);
        fail(m, "setup_p99_us", why);
        ufrpc_bench_progress_done(m->prog, "FAILED: %s", why);
    }
    free(samples);
}

/* One throughput scenario; adds the bytes moved to *bytes. */
static void throughput(struct mctx *m, const char *key, const char *what, enum ufrpc_bench_dir dir,
                       int conns, uint64_t *bytes)
{
    if (!still_alive(m)) {
        fail(m, key, "ended");
        return;
    }
    label(m, what);
    ufrpc_bench_bulk_result_t res;
    double c0 = 0, c1 = 0, s0 = 0, s1 = 0;
    int have_c = m->ep->pid > 0 && ufrpc_bench_proc_cpu(m->ep->pid, &c0) == 0;
    int have_s = m->ep->server_pid > 0 && ufrpc_bench_proc_cpu(m->ep->server_pid, &s0) == 0;
    uint64_t t0 = ufrpc_bench_now_ns();
    int rc = ufrpc_bench_bulk(m->loop, (struct sockaddr *)&m->ep->tcp, dir, conns, m->o->duration,
                              m->prog, &res);
    double wall = (double)(ufrpc_bench_now_ns() - t0) / 1e9;
    *bytes += res.bytes;
    /* CPU use of the client and server during the scenario: tells which side limits */
    char cpu[96] = "";
    have_c = have_c && ufrpc_bench_proc_cpu(m->ep->pid, &c1) == 0;
    have_s = have_s && ufrpc_bench_proc_cpu(m->ep->server_pid, &s1) == 0;
    if (have_c && have_s && wall > 0)
        snprintf(cpu, sizeof(cpu), ", CPU client %.0f%% server %.0f%%", 100 * (c1 - c0) / wall,
                 100 * (s1 - s0) / wall);
    else if (have_c && wall > 0)
        snprintf(cpu, sizeof(cpu), ", CPU client %.0f%%", 100 * (c1 - c0) / wall);
    if (rc == 0) {
        double mbs = (double)res.bytes / 1e6 / res.seconds;
        add(m, key, mbs);
        ufrpc_bench_progress_done(m->prog, "%.1f MB/s (%.1f MB in %.2f s%s)", mbs,
                                  (double)res.bytes / 1e6, res.seconds, cpu);
    } else {
        char why[UFRPC_BENCH_NOTE_LEN];
        snprintf(why, sizeof(why), "%d of %d connections failed (%s)", res.failed, conns,
                 ufrpc_strerror(rc));
        fail(m, key, why);
        ufrpc_bench_progress_done(m->prog, "FAILED: %s", why);
    }
}

static void http(struct mctx *m, int keepalive)
{
    const char *k_rps = keepalive ? "http_keepalive_rps" : "http_close_rps";
    const char *k_p50 = keepalive ? "http_keepalive_p50_us" : "http_close_p50_us";
    const char *k_p99 = keepalive ? "http_keepalive_p99_us" : "http_close_p99_us";
    if (!m->ep->have_http) {
        const char *why = m->ep->http_na ? m->ep->http_na : "n/a: no http endpoint";
        ufrpc_bench_results_fail(m->r, m->ep->client, m->ep->mode, k_rps, why);
        ufrpc_bench_results_fail(m->r, m->ep->client, m->ep->mode, k_p50, why);
        ufrpc_bench_results_fail(m->r, m->ep->client, m->ep->mode, k_p99, why);
        return;
    }
    if (!still_alive(m)) {
        fail(m, k_rps, "ended");
        fail(m, k_p50, "ended");
        fail(m, k_p99, "ended");
        return;
    }
    label(m, keepalive ? "http keep-alive" : "http new connections");
    ufrpc_bench_http_result_t res;
    int rc = ufrpc_bench_http(m->loop, (struct sockaddr *)&m->ep->http, m->ep->http_host,
                              m->o->http_conns, keepalive, m->o->duration, m->prog, &res);
    /* a few errors out of many requests do not spoil the rate; many do */
    if (res.requests > 0 && res.seconds > 0 && res.errors * 100 <= res.requests) {
        double rps = (double)res.requests / res.seconds;
        add(m, k_rps, rps);
        add(m, k_p50, res.p50_us);
        add(m, k_p99, res.p99_us);
        ufrpc_bench_progress_done(m->prog, "%.0f req/s  p50 %.0f us  p99 %.0f us  %llu errors", rps,
                                  res.p50_us, res.p99_us, (unsigned long long)res.errors);
        if (rc != 0 && res.errors > 0)
            ufrpc_bench_results_note(m->r, "%s %s http%s: %llu errors in %llu requests",
                                     m->ep->client, m->ep->mode, keepalive ? " keep-alive" : "",
                                     (unsigned long long)res.errors,
                                     (unsigned long long)res.requests);
    } else {
        char why[UFRPC_BENCH_NOTE_LEN];
        snprintf(why, sizeof(why), "%llu errors, %llu requests",
                 (unsigned long long)res.errors, (unsigned long long)res.requests);
        fail(m, k_rps, why);
        fail(m, k_p50, why);
        fail(m, k_p99, why);
        ufrpc_bench_progress_done(m->prog, "FAILED: %s", why);
    }
}

int ufrpc_bench_measure(uv_loop_t *loop, const ufrpc_bench_opts_t *o,
                        const ufrpc_bench_endpoint_t *ep, ufrpc_bench_results_t *r,
                        ufrpc_bench_progress_t *prog, ufrpc_bench_alive_fn alive, void *alive_arg)
{
    struct mctx m = {loop, o, ep, r, prog, alive, alive_arg, NULL, 0};
    idle_memory(&m);
    held_connections(&m);
    setup_latency(&m);

    double cpu0 = 0, cpu1 = 0;
    int have_cpu = ep->pid > 0 && ufrpc_bench_proc_cpu(ep->pid, &cpu0) == 0;
    uint64_t bytes = 0;
    char what[64];
    throughput(&m, "tput_up_1", "upload x1", UFRPC_BENCH_UP, 1, &bytes);
    throughput(&m, "tput_down_1", "download x1", UFRPC_BENCH_DOWN, 1, &bytes);
    snprintf(what, sizeof(what), "download x%d", o->parallel[0]);
    throughput(&m, "tput_down_16", what, UFRPC_BENCH_DOWN, o->parallel[0], &bytes);
    snprintf(what, sizeof(what), "download x%d", o->parallel[1]);
    throughput(&m, "tput_down_128", what, UFRPC_BENCH_DOWN, o->parallel[1], &bytes);
    if (ep->pid > 0) {
        if (have_cpu && still_alive(&m) && ufrpc_bench_proc_cpu(ep->pid, &cpu1) == 0 && bytes > 0)
            add(&m, "cpu_s_per_gb", (cpu1 - cpu0) / ((double)bytes / 1e9));
        else
            fail(&m, "cpu_s_per_gb", "no bytes moved or /proc unreadable");
    }

    http(&m, 1);
    http(&m, 0);

    long hwm;
    if (ep->pid > 0) {
        if (still_alive(&m) && mem(&m, &hwm))
            add(&m, "rss_load_kib", (double)hwm);
        else
            fail(&m, "rss_load_kib", "cannot read /proc status");
    }
    label(&m, "");
    return m.failed ? UFRPC_ERR_IO : 0;
}
