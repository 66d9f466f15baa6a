/* proto/promtext.c — Prometheus text format 0.0.4 writer. See promtext.h. */
#include "proto/promtext.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

void ufrpc_promtext_init(struct ufrpc_promtext *w, size_t limit)
{
    memset(w, 0, sizeof *w);
    w->limit = limit;
}

void ufrpc_promtext_free(struct ufrpc_promtext *w)
{
    free(w->p);
    w->p = NULL;
    w->len = w->cap = 0;
}

char *ufrpc_promtext_take(struct ufrpc_promtext *w, size_t *len)
{
    char *p = w->err ? NULL : w->p;
    if (len)
        *len = p ? w->len : 0;
    if (p == NULL)
        free(w->p);
    w->p = NULL;
    w->len = w->cap = 0;
    return p;
}

int ufrpc_promtext_error(const struct ufrpc_promtext *w)
{
    return w->err;
}

void ufrpc_promtext_reserve(struct ufrpc_promtext *w, size_t n)
{
    if (w->err || w->len + n + 1 <= w->cap)
        return;
    if (w->limit && w->len + n > w->limit)
        n = w->limit - w->len;
    char *np = realloc(w->p, w->len + n + 1);
    if (np == NULL) {
        w->err = UFRPC_ERR_NOMEM;
        return;
    }
    w->p = np;
    w->cap = w->len + n + 1;
}

static void add(struct ufrpc_promtext *w, const char *s, size_t n)
{
    if (w->err)
        return;
    if (w->limit && w->len + n > w->limit) {
        w->err = UFRPC_ERR_LIMIT;
        return;
    }
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n + 1)
            cap *= 2;
        char *np = realloc(w->p, cap);
        if (np == NULL) {
            w->err = UFRPC_ERR_NOMEM;
            return;
        }
        w->p = np;
        w->cap = cap;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
    w->p[w->len] = '\0';
}

static void adds(struct ufrpc_promtext *w, const char *s)
{
    add(w, s, strlen(s));
}

static void add_u64(struct ufrpc_promtext *w, uint64_t v)
{
    char b[24];
    size_t i = sizeof b;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    add(w, b + i, sizeof b - i);
}

static int name_ok(const char *s, int colon)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (const char *c = s; *c; c++) {
        int alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
                    (colon && *c == ':');
        if (!alpha && !(c > s && *c >= '0' && *c <= '9'))
            return 0;
    }
    return 1;
}

/* HELP escapes \ and newline; label values also escape ". */
static void add_escaped(struct ufrpc_promtext *w, const char *s, int quote)
{
    const char *run = s;
    for (const char *c = s;; c++) {
        const char *rep = NULL;
        if (*c == '\\')
            rep = "\\\\";
        else if (*c == '\n')
            rep = "\\n";
        else if (quote && *c == '"')
            rep = "\\\"";
        else if (*c != '\0')
            continue;
        add(w, run, (size_t)(c - run));
        if (*c == '\0')
            return;
        adds(w, rep);
        run = c + 1;
    }
}

void ufrpc_promtext_family(struct ufrpc_promtext *w, const char *name, enum ufrpc_prom_type type,
                           const char *help)
{
    static const char *const types[] = {"counter", "gauge", "histogram", "untyped"};
    if (!name_ok(name, 1) || (unsigned)type > UFRPC_PROM_UNTYPED) {
        if (!w->err)
            w->err = UFRPC_ERR_INVAL;
        return;
    }
    adds(w, "# HELP ");
    adds(w, name);
    adds(w, " ");
    add_escaped(w, help ? help : "", 0);
    adds(w, "\n# TYPE ");
    adds(w, name);
    adds(w, " ");
    adds(w, types[type]);
    adds(w, "\n");
}

/* Writes `{l="v",...,` (escaped, without the closing brace) into out; returns its
 * length, 0 when there are no labels, or (size_t)-1 on a bad label name or when
 * it does not fit. */
static size_t label_block(const struct ufrpc_prom_label *labels, size_t nlabels, char *out,
                          size_t cap, int *bad)
{
    size_t o = 0;
    *bad = 0;
    for (size_t i = 0; i < nlabels; i++) {
        if (!name_ok(labels[i].name, 0) || strncmp(labels[i].name, "__", 2) == 0) {
            *bad = 1;
            return (size_t)-1;
        }
        size_t nl = strlen(labels[i].name);
        if (o + nl + 3 >= cap)
            return (size_t)-1;
        out[o++] = i == 0 ? '{' : ',';
        memcpy(out + o, labels[i].name, nl);
        o += nl;
        out[o++] = '=';
        out[o++] = '"';
        for (const char *c = labels[i].value ? labels[i].value : ""; *c; c++) {
            if (o + 3 >= cap)
                return (size_t)-1;
            if (*c == '\\' || *c == '"' || *c == '\n') {
                out[o++] = '\\';
                out[o++] = *c == '\n' ? 'n' : *c;
            } else {
                out[o++] = *c;
            }
        }
        if (o + 2 >= cap)
            return (size_t)-1;
        out[o++] = '"';
    }
    return o;
}

static int check_name(struct ufrpc_promtext *w, const char *name)
{
    if (w->name_ok == name)
        return 1;
    if (!name_ok(name, 1)) {
        if (!w->err)
            w->err = UFRPC_ERR_INVAL;
        return 0;
    }
    w->name_ok = name;
    return 1;
}

/* name[suffix] + labels (lb/lbn from label_block) + optional extra label + "} " or " ". */
static void head_lb(struct ufrpc_promtext *w, const char *name, const char *suffix, const char *lb,
                    size_t lbn, const char *extra, const char *extra_value)
{
    adds(w, name);
    if (suffix)
        adds(w, suffix);
    if (lbn == 0 && extra == NULL) {
        add(w, " ", 1);
        return;
    }
    if (lbn > 0)
        add(w, lb, lbn);
    if (extra) {
        add(w, lbn > 0 ? "," : "{", 1);
        adds(w, extra);
        add(w, "=\"", 2);
        adds(w, extra_value);
        add(w, "\"", 1);
    }
    add(w, "} ", 2);
}

/* Escapes the labels into a stack buffer, or fails the writer. */
#define LABELS_OR_FAIL(w, labels, nlabels, lb, lbn)                                           \
    char lb[2048];                                                                             \
    size_t lbn;                                                                                \
    do {                                                                                       \
        int bad_;                                                                              \
        lbn = label_block(labels, nlabels, lb, sizeof lb, &bad_);                              \
        if (lbn == (size_t)-1) {                                                               \
            if (!(w)->err)                                                                     \
                (w)->err = bad_ ? UFRPC_ERR_INVAL : UFRPC_ERR_LIMIT;                            \
            return;                                                                            \
        }                                                                                      \
    } while (0)

void ufrpc_promtext_format_double(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == (double)(int64_t)v && v > -1e15 && v < 1e15) { /* integral: exact */
        snprintf(out, cap, "%lld", (long long)v);
        return;
    }
    /* k / 10^6 (what microsecond and millisecond counters become): the decimal with
     * six places reads back to the same double, as both are k / 10^6 correctly
     * rounded; trailing zeros are dropped. No printf of a double needed. */
    if (v > -1e9 && v < 1e9 && cap >= 32) {
        double k = round(v * 1e6);
        if (k / 1e6 == v) {
            long long q = (long long)k;
            unsigned long long a = (unsigned long long)(q < 0 ? -q : q);
            int n = snprintf(out, cap, "%s%llu.%06llu", q < 0 ? "-" : "", a / 1000000u,
                             a % 1000000u);
            while (n > 0 && out[n - 1] == '0')
                out[--n] = '\0';
            if (n > 0 && out[n - 1] == '.')
                out[--n] = '\0';
            return;
        }
    }
    /* the shortest %g precision that reads back to the same double */
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static void add_double(struct ufrpc_promtext *w, double v)
{
    char num[40];
    if (v >= 0 && v < 1e15 && v == (double)(uint64_t)v) {
        add_u64(w, (uint64_t)v);
        return;
    }
    ufrpc_promtext_format_double(v, num, sizeof num);
    adds(w, num);
}

void ufrpc_promtext_u64(struct ufrpc_promtext *w, const char *name,
                        const struct ufrpc_prom_label *labels, size_t nlabels, uint64_t value)
{
    if (w->err || !check_name(w, name))
        return;
    LABELS_OR_FAIL(w, labels, nlabels, lb, lbn);
    head_lb(w, name, NULL, lb, lbn, NULL, NULL);
    add_u64(w, value);
    add(w, "\n", 1);
}

void ufrpc_promtext_double(struct ufrpc_promtext *w, const char *name,
                           const struct ufrpc_prom_label *labels, size_t nlabels, double value)
{
    if (w->err || !check_name(w, name))
        return;
    LABELS_OR_FAIL(w, labels, nlabels, lb, lbn);
    head_lb(w, name, NULL, lb, lbn, NULL, NULL);
    add_double(w, value);
    add(w, "\n", 1);
}

void ufrpc_promtext_histogram(struct ufrpc_promtext *w, const char *name,
                              const struct ufrpc_prom_label *labels, size_t nlabels,
                              const double *bounds, const uint64_t *counts, size_t n,
                              double sum)
{
    if (w->err || !check_name(w, name))
        return;
    for (size_t i = 0; i < n; i++)
        if (isnan(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
            if (!w->err)
                w->err = UFRPC_ERR_INVAL;
            return;
        }
    LABELS_OR_FAIL(w, labels, nlabels, lb, lbn);
    /* the le texts of the same bounds are formatted once per writer */
    int cached = w->le_bounds == bounds && w->le_n == n && n <= sizeof w->le / sizeof w->le[0];
    if (!cached && n <= sizeof w->le / sizeof w->le[0]) {
        for (size_t i = 0; i < n; i++)
            ufrpc_promtext_format_double(bounds[i], w->le[i], sizeof w->le[i]);
        w->le_bounds = bounds, w->le_n = n, cached = 1;
    }
    uint64_t cum = 0;
    char le[32];
    for (size_t i = 0; i <= n; i++) {
        cum += counts[i];
        const char *l = "+Inf";
        if (i < n && cached)
            l = w->le[i];
        else if (i < n)
            ufrpc_promtext_format_double(bounds[i], le, sizeof le), l = le;
        head_lb(w, name, "_bucket", lb, lbn, "le", l);
        add_u64(w, cum);
        add(w, "\n", 1);
    }
    head_lb(w, name, "_sum", lb, lbn, NULL, NULL);
    add_double(w, sum);
    add(w, "\n", 1);
    head_lb(w, name, "_count", lb, lbn, NULL, NULL);
    add_u64(w, cum);
    add(w, "\n", 1);
}
