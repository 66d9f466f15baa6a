/* ufrpc-bench results store, JSON and table: see results.h (charts: chart.c). */
#include "bench/results.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bench/stats.h"
#include "proto/error.h"

static const ufrpc_bench_figure_def_t FIGURES[] = {
    {"tput_up_1", "throughput", "MB/s", "upload, 1 connection", 1},
    {"tput_down_1", "throughput", "MB/s", "download, 1 connection", 1},
    {"tput_down_16", "throughput", "MB/s", "download, 16 connections", 1},
    {"tput_down_128", "throughput", "MB/s", "download, 128 connections", 1},
    {"setup_p50_us", "latency", "us", "connect to first echo p50", 0},
    {"setup_p90_us", "latency", "us", "connect to first echo p90", 0},
    {"setup_p99_us", "latency", "us", "connect to first echo p99", 0},
    {"http_keepalive_rps", "http_rate", "req/s", "http keep-alive rate", 1},
    {"http_close_rps", "http_rate", "req/s", "http new-connection rate", 1},
    {"http_keepalive_p50_us", "http_latency", "us", "http keep-alive p50", 0},
    {"http_keepalive_p99_us", "http_latency", "us", "http keep-alive p99", 0},
    {"http_close_p50_us", "http_latency", "us", "http new-connection p50", 0},
    {"http_close_p99_us", "http_latency", "us", "http new-connection p99", 0},
    {"cpu_s_per_gb", "cpu", "s/GB", "client CPU per GB moved", 0},
    {"rss_idle_kib", "memory", "KiB", "peak RSS idle, proxies up", 0},
    {"rss_conns_kib", "memory", "KiB", "peak RSS, idle connections held", 0},
    {"rss_load_kib", "memory", "KiB", "peak RSS after load", 0},
    {"binary_bytes", "size", "bytes", "stripped binary size", 0},
};

const ufrpc_bench_figure_def_t *ufrpc_bench_figures(size_t *count)
{
    *count = sizeof(FIGURES) / sizeof(FIGURES[0]);
    return FIGURES;
}

const ufrpc_bench_figure_def_t *ufrpc_bench_figure(const char *key)
{
    for (size_t i = 0; i < sizeof(FIGURES) / sizeof(FIGURES[0]); i++)
        if (strcmp(FIGURES[i].key, key) == 0)
            return &FIGURES[i];
    return NULL;
}

void ufrpc_bench_results_init(ufrpc_bench_results_t *r)
{
    memset(r, 0, sizeof(*r));
}

void ufrpc_bench_results_free(ufrpc_bench_results_t *r)
{
    free(r->entries);
    memset(r, 0, sizeof(*r));
}

static void copy_name(char *dst, const char *src)
{
    snprintf(dst, UFRPC_BENCH_NAME_LEN, "%s", src);
}

void ufrpc_bench_results_client(ufrpc_bench_results_t *r, const char *client)
{
    for (int i = 0; i < r->nclients; i++)
        if (strcmp(r->clients[i], client) == 0)
            return;
    if (r->nclients < (int)(sizeof(r->clients) / sizeof(r->clients[0])))
        copy_name(r->clients[r->nclients++], client);
}

const ufrpc_bench_entry_t *ufrpc_bench_results_find(const ufrpc_bench_results_t *r,
                                                    const char *client, const char *mode,
                                                    const char *key)
{
    for (size_t i = 0; i < r->n; i++) {
        const ufrpc_bench_entry_t *e = &r->entries[i];
        if (strcmp(e->client, client) == 0 && strcmp(e->mode, mode) == 0 &&
            strcmp(e->fig->key, key) == 0)
            return e;
    }
    return NULL;
}

static int get_entry(ufrpc_bench_results_t *r, const char *client, const char *mode,
                     const char *key, ufrpc_bench_entry_t **out)
{
    const ufrpc_bench_figure_def_t *fig = ufrpc_bench_figure(key);
    if (fig == NULL)
        return UFRPC_ERR_NOT_FOUND;
    ufrpc_bench_entry_t *e = (ufrpc_bench_entry_t *)ufrpc_bench_results_find(r, client, mode, key);
    if (e == NULL) {
        if (r->n == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 64;
            if (cap > 65536)
                return UFRPC_ERR_LIMIT;
            ufrpc_bench_entry_t *ne = realloc(r->entries, cap * sizeof(*ne));
            if (ne == NULL)
                return UFRPC_ERR_NOMEM;
            r->entries = ne;
            r->cap = cap;
        }
        e = &r->entries[r->n++];
        memset(e, 0, sizeof(*e));
        copy_name(e->client, client);
        copy_name(e->mode, mode);
        e->fig = fig;
        ufrpc_bench_results_client(r, client);
    }
    *out = e;
    return 0;
}

int ufrpc_bench_results_add(ufrpc_bench_results_t *r, const char *client, const char *mode,
                            const char *key, double value)
{
    ufrpc_bench_entry_t *e;
    int rc = get_entry(r, client, mode, key, &e);
    if (rc != 0)
        return rc;
    if (e->nruns >= UFRPC_BENCH_MAX_RUNS)
        return UFRPC_ERR_LIMIT;
    e->runs[e->nruns++] = value;
    return 0;
}

int ufrpc_bench_results_fail(ufrpc_bench_results_t *r, const char *client, const char *mode,
                             const char *key, const char *note)
{
    ufrpc_bench_entry_t *e;
    int rc = get_entry(r, client, mode, key, &e);
    if (rc != 0)
        return rc;
    if (strncmp(note, "n/a", 3) != 0)
        e->failures++;
    snprintf(e->note, sizeof(e->note), "%s", note);
    return 0;
}

void ufrpc_bench_results_note(ufrpc_bench_results_t *r, const char *fmt, ...)
{
    if (r->nnotes >= (int)(sizeof(r->notes) / sizeof(r->notes[0])))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->notes[r->nnotes++], sizeof(r->notes[0]), fmt, ap);
    va_end(ap);
}

/* Any entry of figure key in mode (NULL if none). */
static const ufrpc_bench_entry_t *find_mode(const ufrpc_bench_results_t *r,
                                                                const char *key, const char *mode)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->entries[i].fig->key, key) == 0 && strcmp(r->entries[i].mode, mode) == 0)
            return &r->entries[i];
    return NULL;
}

/* The denominator entry for a ratio: same mode, or the mode-less one ("direct"). */
static const ufrpc_bench_entry_t *find_den(const ufrpc_bench_results_t *r, const char *den,
                                           const ufrpc_bench_entry_t *num)
{
    const ufrpc_bench_entry_t *e = ufrpc_bench_results_find(r, den, num->mode, num->fig->key);
    if (e == NULL)
        e = ufrpc_bench_results_find(r, den, "-", num->fig->key);
    return e;
}

static double entry_median(const ufrpc_bench_entry_t *e)
{
    double med, mn, mx;
    ufrpc_bench_summary(e->runs, (size_t)e->nruns, &med, &mn, &mx);
    return med;
}

/* ---- JSON */

json_object *ufrpc_bench_json_number(double v)
{
    char buf[64];
    if (!isfinite(v))
        return NULL;
    if (fabs(v) >= 1e15)
        snprintf(buf, sizeof(buf), "%.6e", v);
    else
        snprintf(buf, sizeof(buf), "%.3f", v);
    /* trim trailing zeros of the fraction: 12.500 -> 12.5, 3.000 -> 3 */
    char *dot = strchr(buf, '.');
    if (dot != NULL && strchr(buf, 'e') == NULL) {
        char *end = buf + strlen(buf) - 1;
        while (end > dot && *end == '0')
            *end-- = '\0';
        if (end == dot)
            *end = '\0';
    }
    return json_object_new_double_s(v, buf);
}

static json_object *entry_json(const ufrpc_bench_entry_t *e)
{
    json_object *o = json_object_new_object();
    if (o == NULL)
        return NULL;
    json_object_object_add(o, "client", json_object_new_string(e->client));
    json_object_object_add(o, "mode", json_object_new_string(e->mode));
    json_object_object_add(o, "figure", json_object_new_string(e->fig->key));
    json_object_object_add(o, "group", json_object_new_string(e->fig->group));
    json_object_object_add(o, "unit", json_object_new_string(e->fig->unit));
    json_object_object_add(o, "label", json_object_new_string(e->fig->label));
    json_object_object_add(o, "higher_is_better", json_object_new_boolean(e->fig->higher_better));
    json_object *runs = json_object_new_array();
    for (int i = 0; i < e->nruns; i++)
        json_object_array_add(runs, ufrpc_bench_json_number(e->runs[i]));
    json_object_object_add(o, "runs", runs);
    json_object_object_add(o, "failures", json_object_new_int(e->failures));
    if (e->nruns > 0) {
        double med, mn, mx;
        ufrpc_bench_summary(e->runs, (size_t)e->nruns, &med, &mn, &mx);
        json_object_object_add(o, "median", ufrpc_bench_json_number(med));
        json_object_object_add(o, "min", ufrpc_bench_json_number(mn));
        json_object_object_add(o, "max", ufrpc_bench_json_number(mx));
    } else {
        json_object_object_add(o, "median", NULL);
        json_object_object_add(o, "min", NULL);
        json_object_object_add(o, "max", NULL);
    }
    json_object_object_add(o, "note", e->note[0] ? json_object_new_string(e->note) : NULL);
    return o;
}

int ufrpc_bench_results_write_json(const ufrpc_bench_results_t *r, json_object *meta,
                                   const char *num, const char *den, const char *path)
{
    json_object *root = json_object_new_object();
    if (root == NULL)
        return UFRPC_ERR_NOMEM;
    json_object_object_add(root, "schema", json_object_new_string("ufrpc-bench/1"));
    json_object_object_add(root, "meta", meta ? json_object_get(meta) : json_object_new_object());
    json_object *clients = json_object_new_array();
    for (int i = 0; i < r->nclients; i++)
        json_object_array_add(clients, json_object_new_string(r->clients[i]));
    json_object_object_add(root, "clients", clients);
    json_object *figs = json_object_new_array();
    for (size_t i = 0; i < r->n; i++)
        json_object_array_add(figs, entry_json(&r->entries[i]));
    json_object_object_add(root, "figures", figs);
    json_object *ratios = json_object_new_array();
    for (size_t i = 0; den != NULL && i < r->n; i++) {
        const ufrpc_bench_entry_t *e = &r->entries[i];
        if (strcmp(e->client, num) != 0 || e->nruns == 0)
            continue;
        const ufrpc_bench_entry_t *d = find_den(r, den, e);
        if (d == NULL || d->nruns == 0 || entry_median(d) == 0)
            continue;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "figure", json_object_new_string(e->fig->key));
        json_object_object_add(o, "mode", json_object_new_string(e->mode));
        json_object_object_add(o, "numerator", json_object_new_string(num));
        json_object_object_add(o, "denominator", json_object_new_string(den));
        json_object_object_add(o, "ratio", ufrpc_bench_json_number(entry_median(e) / entry_median(d)));
        json_object_array_add(ratios, o);
    }
    json_object_object_add(root, "ratios", ratios);
    json_object *notes = json_object_new_array();
    for (int i = 0; i < r->nnotes; i++)
        json_object_array_add(notes, json_object_new_string(r->notes[i]));
    json_object_object_add(root, "notes", notes);
    int rc = json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY |
                                                     JSON_C_TO_STRING_SPACED |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE);
    json_object_put(root);
    return rc == 0 ? 0 : UFRPC_ERR_IO;
}

/* ---- table */

static void fmt_value(char *buf, size_t len, double v)
{
    double a = fabs(v);
    if (a >= 100)
        snprintf(buf, len, "%.0f", v);
    else if (a >= 10)
        snprintf(buf, len, "%.1f", v);
    else
        snprintf(buf, len, "%.2f", v);
}

static void fmt_cell(char *buf, size_t len, const ufrpc_bench_entry_t *e)
{
    if (e == NULL) {
        snprintf(buf, len, "-");
        return;
    }
    if (e->nruns == 0) {
        snprintf(buf, len, "%s", strncmp(e->note, "n/a", 3) == 0 ? "n/a" : "FAILED");
        return;
    }
    double med, mn, mx;
    char a[32], b[32], c[32];
    ufrpc_bench_summary(e->runs, (size_t)e->nruns, &med, &mn, &mx);
    fmt_value(a, sizeof(a), med);
    if (e->nruns == 1) {
        snprintf(buf, len, "%s%s", a, e->failures ? "*" : "");
        return;
    }
    fmt_value(b, sizeof(b), mn);
    fmt_value(c, sizeof(c), mx);
    snprintf(buf, len, "%s [%s-%s]%s", a, b, c, e->failures ? "*" : "");
}

/* Modes of one figure, in the order modes first appear in the whole store (so
 * every figure lists them alike, whichever entry was created first). */
int ufrpc_bench_results_modes(const ufrpc_bench_results_t *r, const char *key, const char *modes[],
                              int max)
{
    int n = 0;
    for (size_t i = 0; i < r->n && n < max; i++) {
        const char *mode = r->entries[i].mode;
        int seen = 0;
        for (int j = 0; j < n; j++)
            seen |= strcmp(modes[j], mode) == 0;
        if (seen || find_mode(r, key, mode) == NULL)
            continue;
        modes[n++] = mode;
    }
    /* a mode-less row ("-") only matters when nothing else has this figure */
    if (n > 1) {
        int k = 0;
        for (int j = 0; j < n; j++)
            if (strcmp(modes[j], "-") != 0)
                modes[k++] = modes[j];
        n = k;
    }
    return n;
}

static const ufrpc_bench_entry_t *cell_entry(const ufrpc_bench_results_t *r, const char *client,
                                             const char *mode, const char *key)
{
    const ufrpc_bench_entry_t *e = ufrpc_bench_results_find(r, client, mode, key);
    if (e == NULL)
        e = ufrpc_bench_results_find(r, client, "-", key);
    return e;
}

/* Entry notes, one line per client and distinct text, with the modes it hit. */
static void print_notes(const ufrpc_bench_results_t *r, FILE *out)
{
    for (size_t i = 0; i < r->n; i++) {
        const ufrpc_bench_entry_t *e = &r->entries[i];
        if (!e->note[0])
            continue;
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(r->entries[j].client, e->client) == 0 &&
                   strcmp(r->entries[j].note, e->note) == 0;
        if (seen)
            continue;
        char modes[128] = "";
        size_t mlen = 0;
        int count = 0;
        for (size_t j = i; j < r->n; j++) {
            const ufrpc_bench_entry_t *o = &r->entries[j];
            if (strcmp(o->client, e->client) != 0 || strcmp(o->note, e->note) != 0)
                continue;
            count++;
            int dup = 0;
            for (size_t k = i; k < j && !dup; k++)
                dup = strcmp(r->entries[k].client, e->client) == 0 &&
                      strcmp(r->entries[k].note, e->note) == 0 &&
                      strcmp(r->entries[k].mode, o->mode) == 0;
            if (!dup && mlen + strlen(o->mode) + 2 < sizeof(modes)) {
                mlen += (size_t)snprintf(modes + mlen, sizeof(modes) - mlen, "%s%s",
                                         mlen ? "," : "", o->mode);
            }
        }
        if (count == 1)
            fprintf(out, "note: %s %s %s: %s\n", e->client, e->mode, e->fig->key, e->note);
        else
            fprintf(out, "note: %s [%s] %s (%d figures)\n", e->client, modes, e->note, count);
    }
}

void ufrpc_bench_results_print_table(const ufrpc_bench_results_t *r, FILE *out, const char *num,
                                     const char *den)
{
    size_t nfig;
    const ufrpc_bench_figure_def_t *figs = ufrpc_bench_figures(&nfig);
    int show_ratio = den != NULL && num != NULL;
    int cw[8];
    char cell[128];
    for (int c = 0; c < r->nclients; c++)
        cw[c] = (int)strlen(r->clients[c]);
    /* first pass: column widths */
    for (size_t f = 0; f < nfig; f++) {
        const char *modes[16];
        int nm = ufrpc_bench_results_modes(r, figs[f].key, modes, 16);
        for (int m = 0; m < nm; m++)
            for (int c = 0; c < r->nclients; c++) {
                fmt_cell(cell, sizeof(cell), cell_entry(r, r->clients[c], modes[m], figs[f].key));
                if ((int)strlen(cell) > cw[c])
                    cw[c] = (int)strlen(cell);
            }
    }
    char ratio_title[40];
    snprintf(ratio_title, sizeof(ratio_title), "%s/%s", num ? num : "", den ? den : "");
    fprintf(out, "\n%-33s %-10s %-6s", "figure", "mode", "unit");
    for (int c = 0; c < r->nclients; c++)
        fprintf(out, "  %-*s", cw[c], r->clients[c]);
    if (show_ratio)
        fprintf(out, "  %s", ratio_title);
    fputc('\n', out);
    for (size_t f = 0; f < nfig; f++) {
        const char *modes[16];
        int nm = ufrpc_bench_results_modes(r, figs[f].key, modes, 16);
        for (int m = 0; m < nm; m++) {
            fprintf(out, "%-33s %-10s %-6s", figs[f].label, modes[m], figs[f].unit);
            for (int c = 0; c < r->nclients; c++) {
                fmt_cell(cell, sizeof(cell), cell_entry(r, r->clients[c], modes[m], figs[f].key));
                fprintf(out, "  %-*s", cw[c], cell);
            }
            if (show_ratio) {
                const ufrpc_bench_entry_t *a = cell_entry(r, num, modes[m], figs[f].key);
                const ufrpc_bench_entry_t *b = a ? find_den(r, den, a) : NULL;
                if (a && b && a->nruns > 0 && b->nruns > 0 && entry_median(b) != 0)
                    fprintf(out, "  %.2fx", entry_median(a) / entry_median(b));
                else
                    fprintf(out, "  -");
            }
            fputc('\n', out);
        }
    }
    fprintf(out, "\nmedian [min-max] of the runs; * = some runs failed (see notes); "
                 "n/a = does not apply\n");
    print_notes(r, out);
    for (int i = 0; i < r->nnotes; i++)
        fprintf(out, "note: %s\n", r->notes[i]);
}
