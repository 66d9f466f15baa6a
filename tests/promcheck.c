/* tests/promcheck.c — see promcheck.h. Written from the exposition format's
 * description, independently of proto/promtext.c. */
#include "promcheck.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXFAM 512
#define MAXSERIES 20000
#define MAXHIST 1024

struct fam {
    char name[128];
    char type[16];
    int help, typed, closed, has_samples;
};

struct hist_series {
    char key[2400]; /* family + labels without le */
    double last_bucket;
    int has_inf;
    double inf;
    int has_count;
    double count;
};

struct st {
    struct fam fams[MAXFAM];
    size_t nfam;
    char **series;
    size_t nseries;
    struct hist_series *hs;
    size_t nhs;
    int current; /* index of the family whose samples are being read, -1 */
    char *err;
    size_t cap;
    int line;
};

static int bad(struct st *s, const char *fmt, ...)
{
    char m[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    snprintf(s->err, s->cap, "line %d: %s", s->line, m);
    return -1;
}

static int is_name_char(char c, int first, int colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':'))
        return 1;
    return !first && c >= '0' && c <= '9';
}

/* Reads a name at *p; returns its length (0 = none). */
static size_t read_name(const char *p, int colon)
{
    size_t n = 0;
    while (is_name_char(p[n], n == 0, colon))
        n++;
    return n;
}

static struct fam *find_fam(struct st *s, const char *name, size_t n)
{
    for (size_t i = 0; i < s->nfam; i++)
        if (strlen(s->fams[i].name) == n && memcmp(s->fams[i].name, name, n) == 0)
            return &s->fams[i];
    return NULL;
}

static struct fam *add_fam(struct st *s, const char *name, size_t n)
{
    struct fam *f = find_fam(s, name, n);
    if (f || s->nfam == MAXFAM || n >= sizeof f->name)
        return f;
    f = &s->fams[s->nfam++];
    memset(f, 0, sizeof *f);
    memcpy(f->name, name, n);
    return f;
}

static int parse_value(const char *p, const char **end, double *v)
{
    if (strncmp(p, "+Inf", 4) == 0 || strncmp(p, "Inf", 3) == 0) {
        *v = INFINITY;
        *end = p + (p[0] == '+' ? 4 : 3);
        return 0;
    }
    if (strncmp(p, "-Inf", 4) == 0) {
        *v = -INFINITY;
        *end = p + 4;
        return 0;
    }
    if (strncmp(p, "NaN", 3) == 0) {
        *v = NAN;
        *end = p + 3;
        return 0;
    }
    char *e;
    *v = strtod(p, &e);
    if (e == p || (strchr("0123456789+-.", *p) == NULL))
        return -1;
    *end = e;
    return 0;
}

static int comment(struct st *s, const char *l, size_t n)
{
    char buf[4096];
    if (n >= sizeof buf)
        return bad(s, "comment too long");
    memcpy(buf, l, n);
    buf[n] = '\0';
    int help = strncmp(buf, "# HELP ", 7) == 0, type = strncmp(buf, "# TYPE ", 7) == 0;
    if (!help && !type)
        return 0; /* a plain comment */
    const char *p = buf + 7;
    size_t nl = read_name(p, 1);
    if (nl == 0)
        return bad(s, "bad metric name in %.6s", buf + 2);
    if (p[nl] != ' ' && !(help && p[nl] == '\0'))
        return bad(s, "no space after the metric name");
    struct fam *f = add_fam(s, p, nl);
    if (f == NULL)
        return bad(s, "too many families");
    if (f->has_samples)
        return bad(s, "%s for %s after its samples", help ? "HELP" : "TYPE", f->name);
    const char *rest = p[nl] ? p + nl + 1 : p + nl;
    if (help) {
        if (f->help)
            return bad(s, "second HELP for %s", f->name);
        f->help = 1;
        for (const char *c = rest; *c; c++)
            if (*c == '\\' && c[1] != '\\' && c[1] != 'n')
                return bad(s, "bad escape in HELP of %s", f->name);
            else if (*c == '\\')
                c++;
    } else {
        if (f->typed)
            return bad(s, "second TYPE for %s", f->name);
        if (strcmp(rest, "counter") && strcmp(rest, "gauge") && strcmp(rest, "histogram") &&
            strcmp(rest, "summary") && strcmp(rest, "untyped"))
            return bad(s, "unknown type '%s'", rest);
        f->typed = 1;
        snprintf(f->type, sizeof f->type, "%.15s", rest); /* one of the five above */
    }
    return 0;
}

static struct hist_series *hist_of(struct st *s, const char *key)
{
    for (size_t i = 0; i < s->nhs; i++)
        if (strcmp(s->hs[i].key, key) == 0)
            return &s->hs[i];
    if (s->nhs == MAXHIST)
        return NULL;
    struct hist_series *h = &s->hs[s->nhs++];
    memset(h, 0, sizeof *h);
    snprintf(h->key, sizeof h->key, "%s", key);
    h->last_bucket = -1;
    return h;
}

static int sample(struct st *s, const char *l, size_t n)
{
    char buf[4096];
    if (n >= sizeof buf)
        return bad(s, "sample line too long");
    memcpy(buf, l, n);
    buf[n] = '\0';
    size_t nl = read_name(buf, 1);
    if (nl == 0)
        return bad(s, "bad metric name");
    char name[128];
    if (nl >= sizeof name)
        return bad(s, "metric name too long");
    memcpy(name, buf, nl);
    name[nl] = '\0';
    /* labels: keep a canonical copy without le for histogram bookkeeping */
    char labels[2048] = "", le[1100] = "";
    int has_le = 0;
    const char *p = buf + nl;
    if (*p == '{') {
        p++;
        size_t lo = 0;
        char seen[32][128];
        int nseen = 0;
        while (*p != '}') {
            size_t ln = read_name(p, 0);
            if (ln == 0)
                return bad(s, "bad label name");
            char lname[128];
            if (ln >= sizeof lname)
                return bad(s, "label name too long");
            memcpy(lname, p, ln);
            lname[ln] = '\0';
            for (int i = 0; i < nseen; i++)
                if (strcmp(seen[i], lname) == 0)
                    return bad(s, "label %s twice", lname);
            if (nseen < 32)
                snprintf(seen[nseen++], sizeof seen[0], "%s", lname);
            p += ln;
            if (p[0] != '=' || p[1] != '"')
                return bad(s, "label %s: expected =\"", lname);
            p += 2;
            char val[1024];
            size_t vn = 0;
            while (*p != '"') {
                if (*p == '\0' || *p == '\n')
                    return bad(s, "unterminated label value");
                if (*p == '\\') {
                    if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
                        return bad(s, "bad escape in label value");
                    if (vn + 2 < sizeof val)
                        val[vn++] = p[0], val[vn++] = p[1];
                    p += 2;
                    continue;
                }
                if (vn + 1 < sizeof val)
                    val[vn++] = *p;
                p++;
            }
            val[vn] = '\0';
            p++;
            if (strcmp(lname, "le") == 0) {
                has_le = 1;
                snprintf(le, sizeof le, "%s", val);
            } else {
                lo += (size_t)snprintf(labels + lo, sizeof labels - lo, "%s=\"%s\",", lname, val);
                if (lo >= sizeof labels)
                    return bad(s, "labels too long");
            }
            if (*p == ',')
                p++;
            else if (*p != '}')
                return bad(s, "expected , or } in labels");
        }
        p++;
    }
    if (*p != ' ')
        return bad(s, "expected a space before the value");
    p++;
    double v;
    const char *e;
    if (parse_value(p, &e, &v) != 0)
        return bad(s, "bad value '%s'", p);
    if (*e == ' ') {
        char *te;
        (void)strtoll(e + 1, &te, 10);
        if (te == e + 1 || *te != '\0')
            return bad(s, "bad timestamp");
    } else if (*e != '\0') {
        return bad(s, "junk after the value");
    }

    /* the family: the name itself, or for _bucket/_sum/_count a histogram/summary */
    struct fam *f = find_fam(s, name, nl);
    const char *suffix = "";
    if (f == NULL || strcmp(f->type, "histogram") == 0) {
        static const char *const sfx[] = {"_bucket", "_sum", "_count"};
        for (size_t i = 0; i < 3 && (f == NULL || !*suffix); i++) {
            size_t sl = strlen(sfx[i]);
            if (nl > sl && strcmp(name + nl - sl, sfx[i]) == 0) {
                struct fam *g = find_fam(s, name, nl - sl);
                if (g && (strcmp(g->type, "histogram") == 0 || strcmp(g->type, "summary") == 0)) {
                    f = g;
                    suffix = sfx[i];
                }
            }
        }
    }
    if (f == NULL || !f->typed)
        return bad(s, "sample %s before its TYPE", name);
    if (strcmp(f->type, "histogram") == 0 && !*suffix)
        return bad(s, "histogram %s: sample without _bucket/_sum/_count", name);
    if (f->closed)
        return bad(s, "samples of %s interleaved with another family", f->name);
    int idx = (int)(f - s->fams);
    if (s->current >= 0 && s->current != idx)
        s->fams[s->current].closed = 1;
    s->current = idx;
    f->has_samples = 1;
    if (strcmp(f->type, "counter") == 0 && (v < 0 || isnan(v)))
        return bad(s, "counter %s is %g", name, v);

    /* duplicates */
    char key[3400];
    snprintf(key, sizeof key, "%s{%sle=%s}", name, labels, le);
    for (size_t i = 0; i < s->nseries; i++)
        if (strcmp(s->series[i], key) == 0)
            return bad(s, "duplicate series %s", key);
    if (s->nseries == MAXSERIES)
        return bad(s, "too many series");
    s->series[s->nseries] = strdup(key);
    if (s->series[s->nseries] == NULL)
        return bad(s, "out of memory");
    s->nseries++;

    if (strcmp(f->type, "histogram") == 0) {
        char hk[2300];
        snprintf(hk, sizeof hk, "%s{%s}", f->name, labels);
        struct hist_series *h = hist_of(s, hk);
        if (h == NULL)
            return bad(s, "too many histograms");
        if (strcmp(suffix, "_bucket") == 0) {
            if (!has_le)
                return bad(s, "bucket without le");
            double b;
            if (parse_value(le, &e, &b) != 0 || *e)
                return bad(s, "bad le \"%s\"", le);
            if (h->has_inf)
                return bad(s, "bucket after le=\"+Inf\"");
            if (v < h->last_bucket)
                return bad(s, "buckets of %s are not cumulative", hk);
            h->last_bucket = v;
            if (isinf(b) && b > 0)
                h->has_inf = 1, h->inf = v;
        } else {
            if (has_le)
                return bad(s, "le on %s", name);
            if (strcmp(suffix, "_count") == 0)
                h->has_count = 1, h->count = v;
        }
    } else if (has_le && strcmp(f->type, "summary") != 0) {
        /* le is an ordinary label elsewhere; fine */
    }
    return 0;
}

int promcheck_validate(const char *text, size_t len, char *err, size_t cap)
{
    struct st *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -1;
    s->series = calloc(MAXSERIES, sizeof *s->series);
    s->hs = calloc(MAXHIST, sizeof *s->hs);
    s->current = -1;
    s->err = err;
    s->cap = cap;
    int rc = 0;
    if (s->series == NULL || s->hs == NULL) {
        snprintf(err, cap, "out of memory");
        rc = -1;
    }
    if (rc == 0 && len > 0 && text[len - 1] != '\n')
        rc = bad(s, "text does not end with a newline");
    for (size_t off = 0; rc == 0 && off < len;) {
        const char *nlp = memchr(text + off, '\n', len - off);
        size_t n = (size_t)(nlp - (text + off));
        s->line++;
        if (memchr(text + off, '\0', n))
            rc = bad(s, "NUL byte");
        else if (n == 0)
            ; /* empty lines are allowed */
        else if (text[off] == '#')
            rc = comment(s, text + off, n);
        else
            rc = sample(s, text + off, n);
        off += n + 1;
    }
    for (size_t i = 0; rc == 0 && i < s->nhs; i++) {
        struct hist_series *h = &s->hs[i];
        if (!h->has_inf)
            rc = bad(s, "histogram %s has no le=\"+Inf\" bucket", h->key);
        else if (!h->has_count || h->count != h->inf)
            rc = bad(s, "histogram %s: _count differs from the +Inf bucket", h->key);
    }
    for (size_t i = 0; s->series && i < s->nseries; i++)
        free(s->series[i]);
    free(s->series);
    free(s->hs);
    free(s);
    return rc;
}

int promcheck_value(const char *text, const char *series, double *out)
{
    size_t sl = strlen(series);
    for (const char *l = text; l && *l;) {
        if (strncmp(l, series, sl) == 0 && l[sl] == ' ') {
            const char *e;
            return parse_value(l + sl + 1, &e, out);
        }
        l = strchr(l, '\n');
        if (l)
            l++;
    }
    return -1;
}
