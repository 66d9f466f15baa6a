/* config/template.c — the part of Go's text/template that frp configs use, applied to
 * the raw file before any parsing (frp pkg/config/load.go RenderWithTemplate):
 *   {{ .Envs.NAME }}  {{ $.Envs.NAME }}          environment (missing → "<no value>",
 *                                                  as Go prints it; a warning is added)
 *   {{ range $i, $v := parseNumberRange "1000-1002,2000" }} … {{ $v }} … {{ end }}
 *   {{ range $v := parseNumberRangePair "1-3" "11-13" }} {{ $v.First }} {{ $v.Second }}
 *   {{ range … }} … {{ else }} … {{ end }}, {{ . }}, {{ .First }}, comment actions,
 *   "{{- " and " -}}" whitespace trimming, string and integer literals.
 * Anything else (if, with, pipes, other functions) is an error naming the line, like
 * Go's "function not defined". Limits: 32 nested ranges, 65536 numbers per range,
 * 64 MiB of output. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_internal.h"
#include "proto/error.h"

#define MAX_DEPTH 32
#define MAX_NUMBERS 65536
#define MAX_OUTPUT (64u << 20)
#define MAX_VARS 64

enum vkind { V_NOVALUE, V_ROOT, V_ENVS, V_STR, V_INT, V_PAIR, V_INTS, V_PAIRS };

struct tval {
    enum vkind kind;
    const char *s; /* V_STR (borrowed: points into input or env) */
    size_t slen;
    int64_t i, j;   /* V_INT (i), V_PAIR (i, j) */
    int64_t *arr;   /* V_INTS (n), V_PAIRS (2n): owned by the range that made it */
    size_t n;
};

struct var {
    const char *name;
    size_t len;
    struct tval v;
};

struct tctx {
    const char *in;
    size_t len;
    const char *file;
    const char *const *envp;
    struct ufrpc_cfg_diag *diag;
    char *out;
    size_t olen, ocap;
    struct var vars[MAX_VARS];
    size_t nvars;
    size_t *nl; /* offsets of every '\n', for line numbers */
    size_t nnl;
    int err; /* first error code */
};

/* An action: the text between {{ and }}, with trim flags. */
struct action {
    size_t start, end;      /* of "{{" and one past "}}" */
    size_t cstart, cend;    /* the content, trimmed of markers and spaces */
    bool trim_left, trim_right;
    uint32_t line;
};

static uint32_t line_of(const struct tctx *t, size_t off)
{
    size_t lo = 0, hi = t->nnl; /* number of newlines before off */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->nl[mid] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint32_t)(lo + 1);
}

static int fail(struct tctx *t, uint32_t line, const char *fmt, const char *arg, size_t arglen)
{
    if (t->err == 0) {
        char msg[200];
        snprintf(msg, sizeof msg, fmt, (int)(arglen > 60 ? 60 : arglen), arg);
        if (ufrpc_cfg_diag_add(t->diag, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_TEMPLATE, t->file, line,
                               "template: %s", msg) != 0)
            t->err = UFRPC_ERR_NOMEM;
        else
            t->err = UFRPC_ERR_CONFIG_TEMPLATE;
    }
    return t->err;
}

static int emit(struct tctx *t, const char *s, size_t n)
{
    if (t->err)
        return t->err;
    if (n > MAX_OUTPUT || t->olen + n > MAX_OUTPUT)
        return fail(t, 0, "output larger than 64 MiB%.*s", "", 0);
    if (t->olen + n + 1 > t->ocap) {
        size_t cap = t->ocap ? t->ocap : 256;
        while (cap < t->olen + n + 1)
            cap *= 2;
        char *o = realloc(t->out, cap);
        if (o == NULL)
            return t->err = UFRPC_ERR_NOMEM;
        t->out = o;
        t->ocap = cap;
    }
    memcpy(t->out + t->olen, s, n);
    t->olen += n;
    t->out[t->olen] = '\0';
    return 0;
}

/* Finds the next action at or after off; false if none. Quoted strings inside the
 * action may contain "}}". */
static bool next_action(struct tctx *t, size_t off, struct action *a, int *err)
{
    const char *in = t->in;
    size_t n = t->len;
    *err = 0;
    for (size_t i = off; i + 1 < n; i++) {
        if (in[i] != '{' || in[i + 1] != '{')
            continue;
        a->start = i;
        a->line = line_of(t, i);
        size_t p = i + 2;
        a->trim_left = (p + 1 < n && in[p] == '-' && (in[p + 1] == ' ' || in[p + 1] == '\t' ||
                                                       in[p + 1] == '\n' || in[p + 1] == '\r'));
        if (a->trim_left)
            p++;
        char quote = 0;
        for (size_t k = p; k + 1 < n; k++) {
            char ch = in[k];
            if (quote) {
                if (ch == '\\' && quote == '"') {
                    k++;
                    continue;
                }
                if (ch == quote)
                    quote = 0;
                else if (ch == '\n' && quote == '"') {
                    *err = fail(t, a->line, "unterminated quoted string%.*s", "", 0);
                    return false;
                }
                continue;
            }
            if (ch == '"' || ch == '`') {
                quote = ch;
                continue;
            }
            if (ch == '}' && in[k + 1] == '}') {
                size_t ce = k;
                a->trim_right = (ce >= p + 2 && in[ce - 1] == '-' &&
                                 (in[ce - 2] == ' ' || in[ce - 2] == '\t' || in[ce - 2] == '\n' ||
                                  in[ce - 2] == '\r'));
                if (a->trim_right)
                    ce--;
                a->end = k + 2;
                while (p < ce && isspace((unsigned char)in[p]))
                    p++;
                while (ce > p && isspace((unsigned char)in[ce - 1]))
                    ce--;
                a->cstart = p;
                a->cend = ce;
                return true;
            }
        }
        *err = fail(t, a->line, "unclosed action%.*s", "", 0);
        return false;
    }
    return false;
}

/* ---- tokens inside an action --------------------------------------------- */

struct tok {
    const char *p;
    size_t n;
};

static size_t tokenize(const char *s, size_t n, struct tok *toks, size_t max)
{
    size_t k = 0, i = 0;
    while (i < n && k < max) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i >= n)
            break;
        size_t b = i;
        if (s[i] == '"' || s[i] == '`') {
            char q = s[i++];
            while (i < n && s[i] != q) {
                if (q == '"' && s[i] == '\\')
                    i++;
                i++;
            }
            i++;
            if (i > n)
                i = n;
        } else if (s[i] == ',' || s[i] == '|' || s[i] == '(' || s[i] == ')') {
            i++;
        } else if (s[i] == ':' && i + 1 < n && s[i + 1] == '=') {
            i += 2;
        } else {
            while (i < n && !isspace((unsigned char)s[i]) && s[i] != ',' && s[i] != '|' &&
                   s[i] != '(' && s[i] != ')' && !(s[i] == ':' && i + 1 < n && s[i + 1] == '='))
                i++;
        }
        toks[k++] = (struct tok){s + b, i - b};
    }
    return k;
}

static bool tok_is(const struct tok *t, const char *w)
{
    return t->n == strlen(w) && memcmp(t->p, w, t->n) == 0;
}

/* Unquotes a string literal into a malloc'd buffer. */
static char *unquote(struct tctx *t, const struct tok *k, uint32_t line, size_t *len)
{
    if (k->n < 2 || k->p[k->n - 1] != k->p[0]) {
        fail(t, line, "unterminated quoted string %.*s", k->p, k->n);
        return NULL;
    }
    char *o = malloc(k->n);
    if (o == NULL) {
        t->err = UFRPC_ERR_NOMEM;
        return NULL;
    }
    size_t w = 0;
    for (size_t i = 1; i + 1 < k->n; i++) {
        char ch = k->p[i];
        if (k->p[0] == '"' && ch == '\\' && i + 2 < k->n) {
            char e = k->p[++i];
            ch = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
        }
        o[w++] = ch;
    }
    o[w] = '\0';
    *len = w;
    return o;
}

static int call_range_fn(struct tctx *t, const struct tok *k, size_t nk, uint32_t line, struct tval *out)
{
    bool pair = tok_is(&k[0], "parseNumberRangePair");
    size_t want = pair ? 3 : 2;
    if (nk != want)
        return fail(t, line, "wrong number of args for %.*s", k[0].p, k[0].n);
    int64_t *nums[2] = {NULL, NULL};
    size_t cnt[2] = {0, 0};
    for (size_t a = 1; a < want; a++) {
        if (k[a].p[0] != '"' && k[a].p[0] != '`') {
            free(nums[0]);
            return fail(t, line, "expected a quoted string argument, got %.*s", k[a].p, k[a].n);
        }
        size_t sl;
        char *s = unquote(t, &k[a], line, &sl);
        if (s == NULL) {
            free(nums[0]);
            return t->err;
        }
        char em[160];
        int rc = ufrpc_cfg_parse_range_numbers(s, sl, MAX_NUMBERS, &nums[a - 1], &cnt[a - 1], em,
                                               sizeof em);
        free(s);
        if (rc != 0) {
            free(nums[0]);
            if (rc == UFRPC_ERR_NOMEM)
                return t->err = rc;
            return fail(t, line, "error calling parseNumberRange: %.*s", em, strlen(em));
        }
    }
    if (!pair) {
        *out = (struct tval){.kind = V_INTS, .arr = nums[0], .n = cnt[0]};
        return 0;
    }
    if (cnt[0] != cnt[1]) {
        free(nums[0]);
        free(nums[1]);
        return fail(t, line, "error calling parseNumberRangePair: %.*s",
                    "first and second range numbers are not in pairs", 47);
    }
    int64_t *pairs = malloc((cnt[0] ? cnt[0] : 1) * 2 * sizeof *pairs);
    if (pairs == NULL) {
        free(nums[0]);
        free(nums[1]);
        return t->err = UFRPC_ERR_NOMEM;
    }
    for (size_t i = 0; i < cnt[0]; i++) {
        pairs[2 * i] = nums[0][i];
        pairs[2 * i + 1] = nums[1][i];
    }
    free(nums[0]);
    free(nums[1]);
    *out = (struct tval){.kind = V_PAIRS, .arr = pairs, .n = cnt[0]};
    return 0;
}

static bool is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Evaluates a field chain such as ".Envs.HOME", "$v.First", "$", "." */
static int eval_chain(struct tctx *t, const struct tok *k, uint32_t line, const struct tval *dot,
                      struct tval *out)
{
    const char *s = k->p;
    size_t n = k->n, i = 0;
    struct tval cur;
    if (s[0] == '$') {
        i = 1;
        while (i < n && is_ident_char(s[i]))
            i++;
        if (i == 1) {
            cur = (struct tval){.kind = V_ROOT};
        } else {
            size_t vi = t->nvars;
            while (vi-- > 0)
                if (t->vars[vi].len == i - 1 && memcmp(t->vars[vi].name, s + 1, i - 1) == 0)
                    break;
            if (vi == (size_t)-1)
                return fail(t, line, "undefined variable: %.*s", s, i);
            cur = t->vars[vi].v;
        }
    } else if (s[0] == '.') {
        cur = *dot;
    } else {
        return fail(t, line, "function %.*s not defined", s, n);
    }
    while (i < n) {
        if (s[i] != '.')
            return fail(t, line, "bad character in %.*s", s, n);
        size_t b = ++i;
        while (i < n && is_ident_char(s[i]))
            i++;
        if (i == b) {
            if (b == 1 && n == 1) /* "." alone */
                break;
            return fail(t, line, "bad field in %.*s", s, n);
        }
        const char *f = s + b;
        size_t fl = i - b;
        if (cur.kind == V_ROOT && fl == 4 && memcmp(f, "Envs", 4) == 0) {
            cur = (struct tval){.kind = V_ENVS};
        } else if (cur.kind == V_ENVS) {
            const char *v = ufrpc_cfg_getenv(t->envp, f, fl);
            if (v == NULL) {
                if (ufrpc_cfg_diag_add(t->diag, UFRPC_CFG_WARNING, UFRPC_ERR_CONFIG_TEMPLATE, t->file,
                                       line,
                                       "template: environment variable %.*s is not set "
                                       "(rendered as \"<no value>\", as frpc does)",
                                       (int)(fl > 60 ? 60 : fl), f) != 0)
                    return t->err = UFRPC_ERR_NOMEM;
                cur = (struct tval){.kind = V_NOVALUE};
            } else {
                cur = (struct tval){.kind = V_STR, .s = v, .slen = strlen(v)};
            }
        } else if (cur.kind == V_PAIR && fl == 5 && memcmp(f, "First", 5) == 0) {
            cur = (struct tval){.kind = V_INT, .i = cur.i};
        } else if (cur.kind == V_PAIR && fl == 6 && memcmp(f, "Second", 6) == 0) {
            cur = (struct tval){.kind = V_INT, .i = cur.j};
        } else {
            return fail(t, line, "can't evaluate field %.*s", f, fl);
        }
    }
    *out = cur;
    return 0;
}

/* Evaluates a command (function call, chain or literal). Lists it returns are owned
 * by the caller (free(out->arr)). Literal strings point into the input. */
static int eval_cmd(struct tctx *t, const struct tok *k, size_t nk, uint32_t line, const struct tval *dot,
                    struct tval *out)
{
    if (nk == 0)
        return fail(t, line, "missing value for command%.*s", "", 0);
    for (size_t i = 0; i < nk; i++)
        if (tok_is(&k[i], "|") || tok_is(&k[i], "(") || tok_is(&k[i], ")"))
            return fail(t, line, "pipelines are not supported: %.*s", k[i].p, k[i].n);
    if (tok_is(&k[0], "parseNumberRange") || tok_is(&k[0], "parseNumberRangePair"))
        return call_range_fn(t, k, nk, line, out);
    if (nk != 1)
        return fail(t, line, "function %.*s not defined", k[0].p, k[0].n);
    char c0 = k[0].p[0];
    if (c0 == '"' || c0 == '`') {
        if (k[0].n < 2 || k[0].p[k[0].n - 1] != c0)
            return fail(t, line, "unterminated quoted string %.*s", k[0].p, k[0].n);
        /* escapes are rare here: print the raw body */
        *out = (struct tval){.kind = V_STR, .s = k[0].p + 1, .slen = k[0].n - 2};
        return 0;
    }
    if (isdigit((unsigned char)c0) || c0 == '-') {
        char buf[32];
        if (k[0].n >= sizeof buf)
            return fail(t, line, "bad number %.*s", k[0].p, k[0].n);
        memcpy(buf, k[0].p, k[0].n);
        buf[k[0].n] = '\0';
        char *e;
        long long v = strtoll(buf, &e, 10);
        if (*e != '\0')
            return fail(t, line, "bad number %.*s", k[0].p, k[0].n);
        *out = (struct tval){.kind = V_INT, .i = v};
        return 0;
    }
    return eval_chain(t, &k[0], line, dot, out);
}

static int print_val(struct tctx *t, const struct tval *v, uint32_t line)
{
    char buf[64];
    switch (v->kind) {
    case V_NOVALUE:
        return emit(t, "<no value>", 10);
    case V_STR:
        return emit(t, v->s, v->slen);
    case V_INT:
        snprintf(buf, sizeof buf, "%lld", (long long)v->i);
        return emit(t, buf, strlen(buf));
    case V_PAIR:
        snprintf(buf, sizeof buf, "{%lld %lld}", (long long)v->i, (long long)v->j);
        return emit(t, buf, strlen(buf));
    case V_INTS:
    case V_PAIRS:
        emit(t, "[", 1);
        for (size_t i = 0; i < v->n && !t->err; i++) {
            if (v->kind == V_INTS)
                snprintf(buf, sizeof buf, "%s%lld", i ? " " : "", (long long)v->arr[i]);
            else
                snprintf(buf, sizeof buf, "%s{%lld %lld}", i ? " " : "", (long long)v->arr[2 * i],
                         (long long)v->arr[2 * i + 1]);
            emit(t, buf, strlen(buf));
        }
        return emit(t, "]", 1);
    default:
        return fail(t, line, "cannot print this value%.*s", "", 0);
    }
}

/* Executes [off, limit) and returns where it stopped: at limit, or at an
 * {{ end }} / {{ else }} action (*stop = the action, *stop_kind = 1 end, 2 else). */
static size_t exec_block(struct tctx *t, size_t off, bool trim_first, const struct tval *dot,
                         int depth, bool skip, struct action *stop, int *stop_kind);

static bool content_is(const struct tctx *t, const struct action *a, const char *w)
{
    size_t n = a->cend - a->cstart;
    return n == strlen(w) && memcmp(t->in + a->cstart, w, n) == 0;
}

static size_t exec_range(struct tctx *t, const struct action *a, const struct tval *dot, int depth,
                         bool skip)
{
    struct tok toks[16];
    size_t nk = tokenize(t->in + a->cstart + 5, a->cend - a->cstart - 5, toks, 16);
    size_t body = a->end;
    /* variables */
    const struct tok *vars[2] = {NULL, NULL};
    size_t nv = 0, ci = 0;
    for (size_t i = 0; i < nk; i++)
        if (tok_is(&toks[i], ":=")) {
            if (i == 1 && toks[0].p[0] == '$')
                vars[nv++] = &toks[0];
            else if (i == 3 && toks[0].p[0] == '$' && tok_is(&toks[1], ",") && toks[2].p[0] == '$') {
                vars[nv++] = &toks[0];
                vars[nv++] = &toks[2];
            } else {
                fail(t, a->line, "bad range variable declaration%.*s", "", 0);
                return t->len;
            }
            ci = i + 1;
            break;
        }
    struct tval list = {.kind = V_NOVALUE};
    if (!skip && eval_cmd(t, toks + ci, nk - ci, a->line, dot, &list) != 0)
        return t->len;
    if (!skip && list.kind != V_INTS && list.kind != V_PAIRS) {
        fail(t, a->line, "range can't iterate over this value%.*s", "", 0);
        return t->len;
    }
    if (depth >= MAX_DEPTH) {
        free(list.arr);
        fail(t, a->line, "ranges nested more than 32 deep%.*s", "", 0);
        return t->len;
    }
    struct action stop;
    int kind = 0;
    size_t after = 0;
    size_t saved_vars = t->nvars;
    size_t count = skip ? 0 : list.n;
    /* run the body once even when empty (skip=true) to find its end */
    if (count == 0) {
        after = exec_block(t, body, a->trim_right, dot, depth + 1, true, &stop, &kind);
        if (kind == 2 && !t->err)
            after = exec_block(t, stop.end, stop.trim_right, dot, depth + 1, skip, &stop, &kind);
    } else {
        for (size_t i = 0; i < count && !t->err; i++) {
            struct tval elem = list.kind == V_INTS
                                   ? (struct tval){.kind = V_INT, .i = list.arr[i]}
                                   : (struct tval){.kind = V_PAIR, .i = list.arr[2 * i],
                                                   .j = list.arr[2 * i + 1]};
            t->nvars = saved_vars;
            if (t->nvars + 2 > MAX_VARS) {
                fail(t, a->line, "too many variables%.*s", "", 0);
                break;
            }
            if (nv == 1)
                t->vars[t->nvars++] = (struct var){vars[0]->p + 1, vars[0]->n - 1, elem};
            else if (nv == 2) {
                t->vars[t->nvars++] =
                    (struct var){vars[0]->p + 1, vars[0]->n - 1, {.kind = V_INT, .i = (int64_t)i}};
                t->vars[t->nvars++] = (struct var){vars[1]->p + 1, vars[1]->n - 1, elem};
            }
            after = exec_block(t, body, a->trim_right, &elem, depth + 1, false, &stop, &kind);
        }
        if (kind == 2 && !t->err) /* skip the else branch */
            after = exec_block(t, stop.end, stop.trim_right, dot, depth + 1, true, &stop, &kind);
    }
    t->nvars = saved_vars;
    free(list.arr);
    if (!t->err && kind != 1)
        fail(t, a->line, "unexpected EOF: range has no matching {{end}}%.*s", "", 0);
    return after;
}

static size_t exec_block(struct tctx *t, size_t off, bool trim_first, const struct tval *dot,
                         int depth, bool skip, struct action *stop, int *stop_kind)
{
    *stop_kind = 0;
    bool trim_next = trim_first;
    while (!t->err) {
        struct action a;
        int err;
        bool found = next_action(t, off, &a, &err);
        if (err)
            return t->len;
        size_t text_end = found ? a.start : t->len;
        size_t tb = off, te = text_end;
        if (trim_next)
            while (tb < te && isspace((unsigned char)t->in[tb]))
                tb++;
        if (found && a.trim_left)
            while (te > tb && isspace((unsigned char)t->in[te - 1]))
                te--;
        if (!skip && te > tb)
            emit(t, t->in + tb, te - tb);
        if (!found)
            return t->len;
        trim_next = a.trim_right;
        off = a.end;
        size_t cn = a.cend - a.cstart;
        const char *cs = t->in + a.cstart;
        if (cn >= 4 && memcmp(cs, "/*", 2) == 0 && memcmp(cs + cn - 2, "*/", 2) == 0)
            continue;
        if (content_is(t, &a, "end") || content_is(t, &a, "else")) {
            if (depth == 0) {
                fail(t, a.line, "unexpected {{%.*s}}", cs, cn);
                return t->len;
            }
            *stop = a;
            *stop_kind = content_is(t, &a, "end") ? 1 : 2;
            return a.end;
        }
        if (cn >= 5 && memcmp(cs, "range", 5) == 0 && (cn == 5 || isspace((unsigned char)cs[5]))) {
            off = exec_range(t, &a, dot, depth, skip);
            /* the range's {{end}} may carry a right trim marker */
            if (!t->err && off >= 2) {
                size_t e = off - 2;
                trim_next = e >= 2 && t->in[e - 1] == '-' && isspace((unsigned char)t->in[e - 2]);
            }
            continue;
        }
        static const char *const unsupported[] = {"if", "with", "define", "template", "block", "break",
                                                  "continue"};
        for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++) {
            size_t l = strlen(unsupported[i]);
            if (cn >= l && memcmp(cs, unsupported[i], l) == 0 &&
                (cn == l || isspace((unsigned char)cs[l]))) {
                fail(t, a.line, "{{%.*s}} is not supported by ufrpc's template renderer", cs, l);
                return t->len;
            }
        }
        if (skip)
            continue;
        struct tok toks[16];
        size_t nk = tokenize(cs, cn, toks, 16);
        struct tval v;
        if (eval_cmd(t, toks, nk, a.line, dot, &v) != 0)
            return t->len;
        print_val(t, &v, a.line);
        if (v.kind == V_INTS || v.kind == V_PAIRS)
            free(v.arr);
    }
    return t->len;
}

int ufrpc_cfg_template_render(const char *in, size_t len, const char *file, const char *const *envp,
                              struct ufrpc_cfg_diag *diag, char **out, size_t *out_len)
{
    struct tctx t = {.in = in, .len = len, .file = file, .envp = envp, .diag = diag};
    *out = NULL;
    *out_len = 0;
    /* fast path: nothing to render */
    if (len < 2 || memmem(in, len, "{{", 2) == NULL) {
        t.out = malloc(len + 1);
        if (t.out == NULL)
            return UFRPC_ERR_NOMEM;
        memcpy(t.out, in, len);
        t.out[len] = '\0';
        *out = t.out;
        *out_len = len;
        return 0;
    }
    for (size_t i = 0; i < len; i++)
        if (in[i] == '\n')
            t.nnl++;
    t.nl = malloc((t.nnl ? t.nnl : 1) * sizeof *t.nl);
    if (t.nl == NULL)
        return UFRPC_ERR_NOMEM;
    for (size_t i = 0, k = 0; i < len; i++)
        if (in[i] == '\n')
            t.nl[k++] = i;
    struct tval root = {.kind = V_ROOT};
    struct action stop;
    int kind;
    exec_block(&t, 0, false, &root, 0, false, &stop, &kind);
    free(t.nl);
    if (t.err == 0 && t.out == NULL)
        emit(&t, "", 0);
    if (t.err != 0) {
        free(t.out);
        return t.err;
    }
    *out = t.out;
    *out_len = t.olen;
    return 0;
}
