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

/* name{l="v",...,extra="ev"} — extra may be NULL. */
static void head(struct ufrpc_promtext *w, const char *name, const char *suffix,
                 const struct ufrpc_prom_label *labels, size_t nlabels, const char *extra,
                 const char *extra_value)
{
    if (!name_ok(name, 1)) {
        if (!w->err)
            w->err = UFRPC_ERR_INVAL;
        return;
    }
    adds(w, name);
    if (suffix)
        adds(w, suffix);
    if (nlabels == 0 && extra == NULL)
        return;
    adds(w, "{");
    for (size_t i = 0; i < nlabels; i++) {
        if (!name_ok(labels[i].name, 0) || strncmp(labels[i].name, "__", 2) == 0) {
            if (!w->err)
                w->err = UFRPC_ERR_INVAL;
            return;
        }
        if (i > 0)
            adds(w, ",");
        adds(w, labels[i].name);
        adds(w, "=\"");
        add_escaped(w, labels[i].value ? labels[i].value : "", 1);
        adds(w, "\"");
    }
    if (extra) {
        if (nlabels > 0)
            adds(w, ",");
        adds(w, extra);
        adds(w, "=\"");
        adds(w, extra_value);
        adds(w, "\"");
    }
    adds(w, "}");
}

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
    /* the shortest %g precision that reads back to the same double */
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

void ufrpc_promtext_u64(struct ufrpc_promtext *w, const char *name,
                        const struct ufrpc_prom_label *labels, size_t nlabels, uint64_t value)
{
    char num[32];
    head(w, name, NULL, labels, nlabels, NULL, NULL);
    snprintf(num, sizeof num, " %llu\n", (unsigned long long)value);
    adds(w, num);
}

void ufrpc_promtext_double(struct ufrpc_promtext *w, const char *name,
                           const struct ufrpc_prom_label *labels, size_t nlabels, double value)
{
    char num[40];
    head(w, name, NULL, labels, nlabels, NULL, NULL);
    adds(w, " ");
    ufrpc_promtext_format_double(value, num, sizeof num);
    adds(w, num);
    adds(w, "\n");
}

void ufrpc_promtext_histogram(struct ufrpc_promtext *w, const char *name,
                              const struct ufrpc_prom_label *labels, size_t nlabels,
                              const double *bounds, const uint64_t *counts, size_t n,
                              double sum)
{
    for (size_t i = 0; i < n; i++)
        if (isnan(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
            if (!w->err)
                w->err = UFRPC_ERR_INVAL;
            return;
        }
    uint64_t cum = 0;
    char le[40], num[40];
    for (size_t i = 0; i <= n; i++) {
        cum += counts[i];
        if (i < n)
            ufrpc_promtext_format_double(bounds[i], le, sizeof le);
        else
            snprintf(le, sizeof le, "+Inf");
        head(w, name, "_bucket", labels, nlabels, "le", le);
        snprintf(num, sizeof num, " %llu\n", (unsigned long long)cum);
        adds(w, num);
    }
    head(w, name, "_sum", labels, nlabels, NULL, NULL);
    adds(w, " ");
    ufrpc_promtext_format_double(sum, num, sizeof num);
    adds(w, num);
    adds(w, "\n");
    head(w, name, "_count", labels, nlabels, NULL, NULL);
    snprintf(num, sizeof num, " %llu\n", (unsigned long long)cum);
    adds(w, num);
}
