/* ufrpc-bench charts: one gnuplot histogram (median bars, min-max error bars) per
 * figure group. See ufrpc_bench_results_charts in results.h. */
#include "bench/results.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/proc.h"
#include "bench/stats.h"
#include "bench/util.h"
#include "proto/error.h"

static const struct {
    const char *group;
    const char *title;
} GROUPS[] = {
    {"throughput", "Bulk throughput (MB/s, higher is better)"},
    {"latency", "Connection setup: connect to first echoed byte (us, lower is better)"},
    {"http_rate", "HTTP requests per second (higher is better)"},
    {"http_latency", "HTTP request latency (us, lower is better)"},
    {"cpu", "Client CPU seconds per GB moved (lower is better)"},
    {"memory", "Client peak RSS (KiB, lower is better)"},
    {"size", "Stripped client binary (bytes, lower is better)"},
};

static int find_gnuplot(char *out, size_t len)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/bin:/bin";
    const char *p = path;
    for (int i = 0; i < 64 && *p; i++) {
        const char *colon = strchr(p, ':');
        size_t dl = colon ? (size_t)(colon - p) : strlen(p);
        if (dl > 0 && ufrpc_bench_fmt(out, len, "%.*s/gnuplot", (int)dl, p) == 0 &&
            access(out, X_OK) == 0)
            return 0;
        if (colon == NULL)
            break;
        p = colon + 1;
    }
    return UFRPC_ERR_NOT_FOUND;
}

/* Single quotes cannot appear in gnuplot single-quoted strings: refuse them. */
static int safe_path(const char *s)
{
    return strchr(s, '\'') == NULL && strchr(s, '\n') == NULL;
}

static int write_group(const ufrpc_bench_results_t *r, const char *group, const char *title,
                       const char *dir, const char *workdir, int runs, const char *gnuplot)
{
    char dat[4096], gp[4096], png[4096], log[4096];
    if (ufrpc_bench_fmt(dat, sizeof(dat), "%s/chart-%s.dat", workdir, group) != 0 ||
        ufrpc_bench_fmt(gp, sizeof(gp), "%s/chart-%s.gp", workdir, group) != 0 ||
        ufrpc_bench_fmt(log, sizeof(log), "%s/gnuplot.log", workdir) != 0 ||
        ufrpc_bench_fmt(png, sizeof(png), "%s/ufrpc-bench-%s.png", dir, group) != 0)
        return UFRPC_ERR_LIMIT;
    /* which clients have data in this group */
    int has[8] = {0};
    int any = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->entries[i].fig->group, group) != 0 || r->entries[i].nruns == 0)
            continue;
        for (int c = 0; c < r->nclients; c++)
            if (strcmp(r->clients[c], r->entries[i].client) == 0)
                has[c] = any = 1;
    }
    if (!any)
        return 0;
    FILE *f = fopen(dat, "we");
    if (f == NULL)
        return UFRPC_ERR_IO;
    /* rows: figure x mode (the mode-less "direct" value repeats on every row) */
    size_t nfig;
    const ufrpc_bench_figure_def_t *figs = ufrpc_bench_figures(&nfig);
    int rows = 0;
    for (size_t fi = 0; fi < nfig; fi++) {
        if (strcmp(figs[fi].group, group) != 0)
            continue;
        const char *modes[16];
        int nm = ufrpc_bench_results_modes(r, figs[fi].key, modes, 16);
        if (nm == 0)
            modes[nm++] = "-";
        for (int m = 0; m < nm; m++) {
            if (strcmp(modes[m], "-") == 0)
                fprintf(f, "\"%s\"", figs[fi].key);
            else
                fprintf(f, "\"%s %s\"", figs[fi].key, modes[m]);
            for (int c = 0; c < r->nclients; c++) {
                if (!has[c])
                    continue;
                const ufrpc_bench_entry_t *e =
                    ufrpc_bench_results_find(r, r->clients[c], modes[m], figs[fi].key);
                if (e == NULL)
                    e = ufrpc_bench_results_find(r, r->clients[c], "-", figs[fi].key);
                if (e == NULL || e->nruns == 0) {
                    fprintf(f, " ? ? ?");
                    continue;
                }
                double med, mn, mx;
                ufrpc_bench_summary(e->runs, (size_t)e->nruns, &med, &mn, &mx);
                fprintf(f, " %g %g %g", med, mn, mx);
            }
            fputc('\n', f);
            rows++;
        }
    }
    if (fclose(f) != 0)
        return UFRPC_ERR_IO;
    if (rows == 0)
        return 0;
    f = fopen(gp, "we");
    if (f == NULL)
        return UFRPC_ERR_IO;
    fprintf(f,
            "set terminal pngcairo size %d,600 noenhanced font ',10'\n"
            "set output '%s'\n"
            "set title '%s, median of %d run%s, bars min-max'\n"
            "set datafile missing '?'\n"
            "set style data histograms\n"
            "set style histogram errorbars gap 2 lw 1\n"
            "set style fill solid 0.75 border -1\n"
            "set boxwidth 0.9\n"
            "set xtics rotate by -25 scale 0\n"
            "set grid ytics\n"
            "set yrange [0:*]\n"
            "set key outside top right\n",
            rows > 10 ? 1400 : 1000, png, title, runs, runs == 1 ? "" : "s");
    int col = 2;
    int first = 1;
    fprintf(f, "plot ");
    for (int c = 0; c < r->nclients; c++) {
        if (!has[c])
            continue;
        fprintf(f, "%s'%s' using %d:%d:%d%s title '%s'", first ? "" : ", ", dat, col, col + 1,
                col + 2, first ? ":xtic(1)" : "", r->clients[c]);
        col += 3;
        first = 0;
    }
    fputc('\n', f);
    if (fclose(f) != 0)
        return UFRPC_ERR_IO;
    char *argv[] = {(char *)gnuplot, gp, NULL};
    if (ufrpc_bench_run_command(argv, log, 30000) != 0)
        return UFRPC_ERR_IO;
    return 1;
}

int ufrpc_bench_results_charts(const ufrpc_bench_results_t *r, const char *dir,
                               const char *workdir, int runs, ufrpc_bench_progress_t *prog)
{
    char gnuplot[4096];
    if (find_gnuplot(gnuplot, sizeof(gnuplot)) != 0) {
        ufrpc_bench_progress_note(prog, "charts skipped: gnuplot not found "
                                        "(Debian: apt-get install gnuplot-nox)");
        return UFRPC_ERR_NOT_FOUND;
    }
    if (!safe_path(dir) || !safe_path(workdir))
        return UFRPC_ERR_INVAL;
    if (mkdir(dir, 0755) != 0 && access(dir, W_OK) != 0)
        return UFRPC_ERR_IO;
    int written = 0;
    for (size_t g = 0; g < sizeof(GROUPS) / sizeof(GROUPS[0]); g++) {
        int rc = write_group(r, GROUPS[g].group, GROUPS[g].title, dir, workdir, runs, gnuplot);
        if (rc < 0) {
            ufrpc_bench_progress_note(prog, "chart %s failed: %s (see %s/gnuplot.log)",
                                      GROUPS[g].group, ufrpc_strerror(rc), workdir);
            continue;
        }
        written += rc;
    }
    return written;
}
