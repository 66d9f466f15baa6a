/* bench_smoke_check: validates a ufrpc-bench JSON document (schema "ufrpc-bench/1",
 * bench/README.md).
 *
 * usage: bench_smoke_check FILE [--direct] [--tunnel NAME]... [--tunnel-values NAME]...
 *   always:          schema, top-level keys, every figure entry complete, every run
 *                    value finite and > 0, min <= median <= max, ratios > 0;
 *   --direct:        "direct" has a value for every throughput, latency and http figure;
 *   --tunnel NAME:   NAME has an entry (value or reason) for every figure, in every
 *                    mode listed in meta.settings.modes;
 *   --tunnel-values NAME: as --tunnel, and every throughput, latency, cpu and memory
 *                    figure has a value (http may be "n/a").
 * Prints every problem found; exits 0 only when there is none. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#define MAX_PROBLEMS 50

struct check {
    int problems;
};

static void problem(struct check *c, const char *fmt, const char *a, const char *b, const char *d)
{
    if (c->problems++ < MAX_PROBLEMS) {
        fputs("bench_smoke_check: ", stderr);
        fprintf(stderr, fmt, a, b, d);
        fputc('\n', stderr);
    }
}

static const char *const FIGURE_KEYS[] = {"client", "mode", "figure", "group", "unit", "label",
                                          "higher_is_better", "runs", "failures", "median",
                                          "min", "max", "note"};

static const char *const DIRECT_FIGS[] = {
    "tput_up_1", "tput_down_1", "tput_down_16", "tput_down_128", "setup_p50_us", "setup_p90_us",
    "setup_p99_us", "http_keepalive_rps", "http_close_rps", "http_keepalive_p50_us",
    "http_keepalive_p99_us", "http_close_p50_us", "http_close_p99_us"};

/* figures a tunnel client has per mode; the first 11 must carry values with
 * --tunnel-values, the http ones may be "n/a" */
static const char *const TUNNEL_FIGS[] = {
    "tput_up_1", "tput_down_1", "tput_down_16", "tput_down_128", "setup_p50_us",
    "setup_p90_us", "setup_p99_us", "cpu_s_per_gb", "rss_idle_kib", "rss_conns_kib",
    "rss_load_kib", "http_keepalive_rps", "http_close_rps", "http_keepalive_p50_us",
    "http_keepalive_p99_us", "http_close_p50_us", "http_close_p99_us"};
#define TUNNEL_VALUE_FIGS 11

static const char *str(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int is_number(json_object *v)
{
    return json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
}

static void check_entry(struct check *c, json_object *e)
{
    const char *client = str(e, "client"), *mode = str(e, "mode"), *fig = str(e, "figure");
    if (client == NULL || mode == NULL || fig == NULL) {
        problem(c, "figure entry without client/mode/figure strings%s%s%s", "", "", "");
        return;
    }
    for (size_t i = 0; i < sizeof(FIGURE_KEYS) / sizeof(FIGURE_KEYS[0]); i++)
        if (!json_object_object_get_ex(e, FIGURE_KEYS[i], NULL))
            problem(c, "%s %s: key '%s' missing", client, fig, FIGURE_KEYS[i]);
    json_object *runs, *med, *mn, *mx;
    if (!json_object_object_get_ex(e, "runs", &runs) || !json_object_is_type(runs, json_type_array)) {
        problem(c, "%s %s %s: runs is not an array", client, mode, fig);
        return;
    }
    size_t n = json_object_array_length(runs);
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(runs, i);
        if (!is_number(v) || !isfinite(json_object_get_double(v)) || json_object_get_double(v) <= 0)
            problem(c, "%s %s %s: a run value is not a positive number", client, mode, fig);
    }
    json_object_object_get_ex(e, "median", &med);
    json_object_object_get_ex(e, "min", &mn);
    json_object_object_get_ex(e, "max", &mx);
    if (n == 0) {
        if (med != NULL || mn != NULL || mx != NULL)
            problem(c, "%s %s %s: median/min/max must be null without runs", client, mode, fig);
        if (str(e, "note") == NULL)
            problem(c, "%s %s %s: no runs and no note saying why", client, mode, fig);
        return;
    }
    if (!is_number(med) || !is_number(mn) || !is_number(mx)) {
        problem(c, "%s %s %s: median/min/max are not numbers", client, mode, fig);
        return;
    }
    double dmed = json_object_get_double(med), dmin = json_object_get_double(mn),
           dmax = json_object_get_double(mx);
    if (!(dmin > 0 && dmin <= dmed && dmed <= dmax))
        problem(c, "%s %s %s: not 0 < min <= median <= max", client, mode, fig);
}

static json_object *find(json_object *figs, const char *client, const char *mode, const char *fig)
{
    size_t n = json_object_array_length(figs);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(figs, i);
        const char *c = str(e, "client"), *m = str(e, "mode"), *f = str(e, "figure");
        if (c && m && f && strcmp(c, client) == 0 && strcmp(m, mode) == 0 && strcmp(f, fig) == 0)
            return e;
    }
    return NULL;
}

static int has_value(json_object *e)
{
    json_object *runs;
    return e != NULL && json_object_object_get_ex(e, "runs", &runs) &&
           json_object_is_type(runs, json_type_array) && json_object_array_length(runs) > 0;
}

static void check_tunnel(struct check *c, json_object *root, json_object *figs, const char *name,
                         int need_values)
{
    json_object *meta, *set, *modes;
    if (!json_object_object_get_ex(root, "meta", &meta) ||
        !json_object_object_get_ex(meta, "settings", &set) ||
        !json_object_object_get_ex(set, "modes", &modes) ||
        json_object_array_length(modes) == 0) {
        problem(c, "meta.settings.modes missing or empty%s%s%s", "", "", "");
        return;
    }
    if (!has_value(find(figs, name, "-", "binary_bytes")))
        problem(c, "%s: no binary_bytes value%s%s", name, "", "");
    for (size_t m = 0; m < json_object_array_length(modes); m++) {
        const char *mode = json_object_get_string(json_object_array_get_idx(modes, m));
        for (size_t i = 0; i < sizeof(TUNNEL_FIGS) / sizeof(TUNNEL_FIGS[0]); i++) {
            json_object *e = find(figs, name, mode, TUNNEL_FIGS[i]);
            if (e == NULL)
                problem(c, "%s %s: figure %s missing", name, mode, TUNNEL_FIGS[i]);
            else if (need_values && i < TUNNEL_VALUE_FIGS && !has_value(e))
                problem(c, "%s %s: figure %s has no value", name, mode, TUNNEL_FIGS[i]);
        }
    }
}

int main(int argc, char **argv)
{
    struct check c = {0};
    if (argc < 2) {
        fprintf(stderr, "usage: bench_smoke_check FILE [--direct] [--tunnel NAME] "
                        "[--tunnel-values NAME]\n");
        return 2;
    }
    json_object *root = json_object_from_file(argv[1]);
    if (root == NULL) {
        fprintf(stderr, "bench_smoke_check: %s: missing or not JSON\n", argv[1]);
        return 1;
    }
    const char *schema = str(root, "schema");
    if (schema == NULL || strcmp(schema, "ufrpc-bench/1") != 0)
        problem(&c, "schema is not ufrpc-bench/1%s%s%s", "", "", "");
    static const char *const top[][2] = {{"meta", "object"}, {"clients", "array"},
                                         {"figures", "array"}, {"ratios", "array"},
                                         {"notes", "array"}};
    json_object *figs = NULL;
    for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
        json_object *v;
        json_type want = strcmp(top[i][1], "array") == 0 ? json_type_array : json_type_object;
        if (!json_object_object_get_ex(root, top[i][0], &v) || !json_object_is_type(v, want))
            problem(&c, "top-level '%s' missing or not an %s%s", top[i][0], top[i][1], "");
        else if (strcmp(top[i][0], "figures") == 0)
            figs = v;
    }
    if (figs == NULL) {
        json_object_put(root);
        return 1;
    }
    if (json_object_array_length(figs) == 0)
        problem(&c, "no figures at all%s%s%s", "", "", "");
    for (size_t i = 0; i < json_object_array_length(figs); i++)
        check_entry(&c, json_object_array_get_idx(figs, i));
    json_object *ratios;
    if (json_object_object_get_ex(root, "ratios", &ratios) &&
        json_object_is_type(ratios, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(ratios); i++) {
            json_object *r = json_object_array_get_idx(ratios, i), *v;
            if (!json_object_object_get_ex(r, "ratio", &v) || !is_number(v) ||
                !(json_object_get_double(v) > 0) || str(r, "figure") == NULL ||
                str(r, "numerator") == NULL || str(r, "denominator") == NULL)
                problem(&c, "ratio entry incomplete or not positive%s%s%s", "", "", "");
        }
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--direct") == 0) {
            for (size_t k = 0; k < sizeof(DIRECT_FIGS) / sizeof(DIRECT_FIGS[0]); k++)
                if (!has_value(find(figs, "direct", "-", DIRECT_FIGS[k])))
                    problem(&c, "direct: figure %s has no value%s%s", DIRECT_FIGS[k], "", "");
        } else if ((strcmp(argv[i], "--tunnel") == 0 || strcmp(argv[i], "--tunnel-values") == 0) &&
                   i + 1 < argc) {
            check_tunnel(&c, root, figs, argv[i + 1], strcmp(argv[i], "--tunnel-values") == 0);
            i++;
        } else {
            fprintf(stderr, "bench_smoke_check: unknown argument %s\n", argv[i]);
            json_object_put(root);
            return 2;
        }
    }
    json_object_put(root);
    if (c.problems > 0) {
        fprintf(stderr, "bench_smoke_check: %d problem(s)\n", c.problems);
        return 1;
    }
    printf("bench_smoke_check: %s is sane\n", argv[1]);
    return 0;
}
