/* toml_suite: runs toml-test's TOML 1.0.0 cases through the toml-test-decoder
 * program the way toml-test itself does: each case's TOML is written to the
 * decoder's stdin; a valid case must exit 0 with nothing on stderr and print
 * tagged JSON on stdout, which is parsed (keys and strings with their lengths, so
 * "\u0000" and "" are two keys) and compared with the case's .json as toml-test's
 * CompareJSON does: the same key sets, arrays of the same length, scalar types
 * equal, floats numerically (nan equals nan whatever its sign), the four date/time
 * kinds as points in time (offsets applied, fractions to the nanosecond), bools
 * case-insensitively, everything else (integers, strings) byte for byte. An
 * invalid case must exit 1 with a "<stdin>:line:col: message" error on stderr
 * (stricter than toml-test, which takes any stderr output with exit 0 or 1, so
 * that a sanitizer report or a crash never counts as a rejection).
 *
 * Usage: toml_suite [-v] DECODER [case-substring]
 * toml-test's cases are found through UFRPC_TEST_DATA (tests/testutil.h):
 * tests/data/toml-test/tests/files-toml-1.0.0 lists them. Then ufrpc's own
 * cases in the same layout run the same way: tests/data/toml/files
 * lists them (U+0000 in keys and strings and the like). Exit 0 only if every valid
 * case matches and every invalid case is rejected.
 *
 * Every case is also parsed in this process with the decoder's own functions
 * (ufrpc_toml_parse, ufrpc_toml_tagged_json), and the result must equal the
 * decoder's: the same verdict and, for valid cases, byte-identical output. Under
 * LeakSanitizer that gives every case's paths one leak check, at this program's
 * exit, so the decoder children run with detect_leaks=0 appended to ASAN_OPTIONS
 * (a leak check per child cost ~115 ms, two minutes over the suite). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/json_reader.h"
#include "config/toml.h"
#include "config/tools/toml_tagged.h"
#include "proto/error.h"
#include "testutil.h"

extern char **environ;

#define DECODER_TIMEOUT_MS 20000             /* generous: sanitizer builds are slow */
#define DECODER_MAX_OUTPUT (64u * 1024 * 1024) /* per stream */

/* ------------------------------------------------------------ running the decoder */

struct obuf {
    char *data;
    size_t len, cap;
};

static int obuf_put(struct obuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > DECODER_MAX_OUTPUT)
        return UFRPC_ERR_LIMIT;
    if (b->cap - b->len <= n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len <= n)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (d == NULL)
            return UFRPC_ERR_NOMEM;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

struct run {
    struct obuf out, err;
    int status; /* from waitpid */
    bool timed_out;
};

static void run_free(struct run *r)
{
    free(r->out.data);
    free(r->err.data);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs `decoder` with `in` on its stdin, collecting stdout and stderr. 0 when the
 * process ran (whatever its exit status), or a negative ufrpc error (the harness
 * itself failed: then r holds nothing useful). */
/* The decoder children's environment: ours, with ASAN_OPTIONS extended by
 * detect_leaks=0 (see the top of the file). Built once by main; NULL-terminated. */
struct child_env {
    char **envp;
    char *asan; /* the replaced ASAN_OPTIONS entry, owned */
};

static int child_env_init(struct child_env *ce)
{
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    ce->envp = calloc(n + 2, sizeof *ce->envp);
    if (ce->envp == NULL)
        return UFRPC_ERR_NOMEM;
    const char *old = getenv("ASAN_OPTIONS");
    size_t al = strlen("ASAN_OPTIONS=:detect_leaks=0") + (old ? strlen(old) : 0) + 1;
    ce->asan = malloc(al);
    if (ce->asan == NULL) {
        free(ce->envp);
        return UFRPC_ERR_NOMEM;
    }
    snprintf(ce->asan, al, "ASAN_OPTIONS=%s%sdetect_leaks=0", old ? old : "", old && *old ? ":" : "");
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "ASAN_OPTIONS=", 13) != 0)
            ce->envp[k++] = environ[i];
    ce->envp[k++] = ce->asan;
    ce->envp[k] = NULL;
    return 0;
}

static void child_env_free(struct child_env *ce)
{
    free(ce->envp);
    free(ce->asan);
}

static int run_decoder(const char *decoder, char *const *envp, const uint8_t *in, size_t in_len,
                       struct run *r)
{
    memset(r, 0, sizeof *r);
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    int rc = UFRPC_ERR_IO;
    pid_t pid = -1;
    posix_spawn_file_actions_t fa;
    bool fa_ok = false;
    if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0 || pipe2(perr, O_CLOEXEC) != 0)
        goto out;
    if (posix_spawn_file_actions_init(&fa) != 0)
        goto out;
    fa_ok = true;
    if (posix_spawn_file_actions_adddup2(&fa, pin[0], 0) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, pout[1], 1) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, perr[1], 2) != 0)
        goto out;
    char *argv[] = {(char *)decoder, NULL};
    if (posix_spawn(&pid, decoder, &fa, NULL, argv, envp) != 0) {
        pid = -1;
        goto out;
    }
    close(pin[0]), pin[0] = -1;
    close(pout[1]), pout[1] = -1;
    close(perr[1]), perr[1] = -1;
    if (fcntl(pin[1], F_SETFL, O_NONBLOCK) != 0)
        goto out;
    if (in_len == 0)
        close(pin[1]), pin[1] = -1;

    size_t sent = 0;
    int64_t deadline = now_ms() + DECODER_TIMEOUT_MS;
    rc = 0;
    while (pout[0] >= 0 || perr[0] >= 0) {
        struct pollfd fds[3];
        int nf = 0, iw = -1, io = -1, ie = -1;
        if (pin[1] >= 0)
            iw = nf, fds[nf++] = (struct pollfd){pin[1], POLLOUT, 0};
        if (pout[0] >= 0)
            io = nf, fds[nf++] = (struct pollfd){pout[0], POLLIN, 0};
        if (perr[0] >= 0)
            ie = nf, fds[nf++] = (struct pollfd){perr[0], POLLIN, 0};
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            r->timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        int n = poll(fds, (nfds_t)nf, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = UFRPC_ERR_IO;
            kill(pid, SIGKILL);
            break;
        }
        if (iw >= 0 && fds[iw].revents != 0) {
            ssize_t w = write(pin[1], in + sent, in_len - sent);
            if (w > 0)
                sent += (size_t)w;
            /* EPIPE: the decoder stopped reading; what it prints decides */
            if (sent == in_len || (w < 0 && errno != EAGAIN && errno != EINTR))
                close(pin[1]), pin[1] = -1;
        }
        int *fdp[2] = {&pout[0], &perr[0]};
        int idx[2] = {io, ie};
        struct obuf *bufs[2] = {&r->out, &r->err};
        for (int k = 0; k < 2; k++) {
            if (idx[k] < 0 || fds[idx[k]].revents == 0)
                continue;
            char chunk[65536];
            ssize_t got = read(*fdp[k], chunk, sizeof chunk);
            if (got > 0) {
                int prc = obuf_put(bufs[k], chunk, (size_t)got);
                if (prc != 0) {
                    rc = prc;
                    kill(pid, SIGKILL);
                    close(*fdp[k]), *fdp[k] = -1;
                }
            } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(*fdp[k]), *fdp[k] = -1;
            }
        }
        if (rc != 0)
            break;
    }
out:
    if (pid > 0) {
        while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
            ;
    }
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    int *all[] = {&pin[0], &pin[1], &pout[0], &pout[1], &perr[0], &perr[1]};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        if (*all[k] >= 0)
            close(*all[k]);
    if (rc != 0)
        run_free(r);
    return rc;
}

/* ------------------------------------------------------------ toml-test's comparison */

/* Printable form of a key path / value for messages (controls as \uXXXX). */
static void printable(char *out, size_t cap, const char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 7 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
}

struct cmp {
    char key[512]; /* dotted path of the key being compared, printable */
    char why[1400];
};

static bool failf(struct cmp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool failf(struct cmp *c, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->why, sizeof c->why, "key '%s': %s", c->key, msg);
    return false;
}

static bool is_str(const ufrpc_cv *v)
{
    return v != NULL && v->type == UFRPC_CV_STRING;
}

static bool str_eq(const ufrpc_cv *v, const char *lit)
{
    return is_str(v) && v->u.s.len == strlen(lit) && memcmp(v->u.s.ptr, lit, v->u.s.len) == 0;
}

/* toml-test's isValue: an object of exactly two members, "type" and "value". */
static bool is_value(const ufrpc_cv *t)
{
    return t->type == UFRPC_CV_TABLE && t->u.t.len == 2 && ufrpc_cv_getn(t, "type", 4) != NULL &&
           ufrpc_cv_getn(t, "value", 5) != NULL;
}

/* Lower-cases into out (cap bytes incl. NUL); false if it holds a NUL or is too long. */
static bool lower(const ufrpc_cv *v, char *out, size_t cap)
{
    if (v->u.s.len >= cap || memchr(v->u.s.ptr, '\0', v->u.s.len) != NULL)
        return false;
    for (size_t i = 0; i < v->u.s.len; i++)
        out[i] = (char)tolower((unsigned char)v->u.s.ptr[i]);
    out[v->u.s.len] = '\0';
    return true;
}

/* Go's strconv.ParseFloat for what toml-test feeds it: the whole text must be a
 * number (decimal, hex, inf/infinity with a sign). */
static bool parse_float(const char *s, double *out)
{
    if (*s == '\0' || isspace((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return *end == '\0' && !(errno == ERANGE && isinf(*out));
}

static bool cmp_floats(struct cmp *c, const ufrpc_cv *want, const ufrpc_cv *have)
{
    char w[128], h[128];
    if (!lower(want, w, sizeof w))
        return failf(c, "expected float value is not readable");
    if (!lower(have, h, sizeof h))
        return failf(c, "decoder float value is not readable");
    size_t wl = strlen(w), hl = strlen(h);
    if ((wl >= 3 && strcmp(w + wl - 3, "nan") == 0) || (hl >= 3 && strcmp(h + hl - 3, "nan") == 0)) {
        const char *a = w + strspn(w, "+-"), *b = h + strspn(h, "+-");
        return strcmp(a, b) == 0 ? true : failf(c, "want float %s, got %s", w, h);
    }
    double x, y;
    if (!parse_float(w, &x))
        return failf(c, "cannot read expected float '%s'", w);
    if (!parse_float(h, &y))
        return failf(c, "decoder float '%s' is not a number", h);
    return x == y ? true : failf(c, "want float %s (%.17g), got %s (%.17g)", w, x, h, y);
}

/* ---- date/time as toml-test reads it: Go's time.Parse with the layouts
 * RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02", "15:04:05" after
 * ' ' and 't' became 'T' and 'z' became 'Z'; compared with time.Equal. */

struct instant {
    int64_t sec; /* seconds since 1970-01-01T00:00:00Z (local kinds: as if UTC) */
    int32_t nsec;
};

static bool digits(const char *s, size_t *i, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (!isdigit((unsigned char)s[*i]))
            return false;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return true;
}

static bool lit(const char *s, size_t *i, char ch)
{
    if (s[*i] != ch)
        return false;
    (*i)++;
    return true;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool parse_date(const char *s, size_t *i, int64_t *days)
{
    int y, m, d;
    if (!digits(s, i, 4, &y) || !lit(s, i, '-') || !digits(s, i, 2, &m) || !lit(s, i, '-') ||
        !digits(s, i, 2, &d))
        return false;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
        return false;
    *days = days_from_civil(y, m, d);
    return true;
}

/* hh:mm:ss with an optional fraction (Go accepts one after the seconds even when
 * the layout has none; digits past the ninth are dropped). */
static bool parse_time(const char *s, size_t *i, int64_t *secs, int32_t *nsec)
{
    int h, mi, se;
    if (!digits(s, i, 2, &h) || !lit(s, i, ':') || !digits(s, i, 2, &mi) || !lit(s, i, ':') ||
        !digits(s, i, 2, &se))
        return false;
    if (h > 23 || mi > 59 || se > 59)
        return false;
    *nsec = 0;
    if (s[*i] == '.') {
        (*i)++;
        int n = 0;
        int32_t ns = 0;
        while (isdigit((unsigned char)s[*i])) {
            if (n < 9)
                ns = ns * 10 + (s[*i] - '0');
            n++;
            (*i)++;
        }
        if (n == 0)
            return false;
        for (int k = n; k < 9; k++)
            ns *= 10;
        *nsec = ns;
    }
    *secs = (int64_t)h * 3600 + mi * 60 + se;
    return true;
}

static bool parse_datetime(const char *kind, const ufrpc_cv *v, struct instant *t)
{
    char s[128];
    if (v->u.s.len >= sizeof s || memchr(v->u.s.ptr, '\0', v->u.s.len) != NULL)
        return false;
    for (size_t k = 0; k <= v->u.s.len; k++) {
        char ch = v->u.s.ptr[k];
        s[k] = ch == ' ' || ch == 't' ? 'T' : ch == 'z' ? 'Z' : ch;
    }
    size_t i = 0;
    int64_t days = 0, secs = 0;
    int32_t nsec = 0;
    if (strcmp(kind, "time-local") == 0) {
        if (!parse_time(s, &i, &secs, &nsec))
            return false;
    } else {
        if (!parse_date(s, &i, &days))
            return false;
        if (strcmp(kind, "date-local") != 0) {
            if (!lit(s, &i, 'T') || !parse_time(s, &i, &secs, &nsec))
                return false;
            if (strcmp(kind, "datetime") == 0) {
                if (s[i] == 'Z') {
                    i++;
                } else if (s[i] == '+' || s[i] == '-') {
                    int sign = s[i++] == '-' ? -1 : 1, oh, om;
                    if (!digits(s, &i, 2, &oh) || !lit(s, &i, ':') || !digits(s, &i, 2, &om) ||
                        oh > 23 || om > 59)
                        return false;
                    secs -= sign * ((int64_t)oh * 3600 + om * 60);
                } else {
                    return false;
                }
            }
        }
    }
    if (s[i] != '\0')
        return false;
    t->sec = days * 86400 + secs;
    t->nsec = nsec;
    return true;
}

static bool cmp_datetimes(struct cmp *c, const char *kind, const ufrpc_cv *want, const ufrpc_cv *have)
{
    struct instant a, b;
    char w[128], h[128];
    printable(w, sizeof w, want->u.s.ptr, want->u.s.len);
    printable(h, sizeof h, have->u.s.ptr, have->u.s.len);
    if (!parse_datetime(kind, want, &a))
        return failf(c, "cannot read expected %s '%s'", kind, w);
    if (!parse_datetime(kind, have, &b))
        return failf(c, "decoder %s '%s' is not a %s", kind, h, kind);
    if (a.sec != b.sec || a.nsec != b.nsec)
        return failf(c, "want %s %s, got %s", kind, w, h);
    return true;
}

static bool cmp_json(struct cmp *c, const ufrpc_cv *want, const ufrpc_cv *have);

static bool cmp_arrays(struct cmp *c, const ufrpc_cv *want, const ufrpc_cv *have)
{
    if (want->type != UFRPC_CV_ARRAY)
        return failf(c, "expected JSON has no array here");
    if (have->type != UFRPC_CV_ARRAY)
        return failf(c, "decoder gave %s where an array belongs", ufrpc_cv_type_name(have->type));
    if (want->u.a.len != have->u.a.len)
        return failf(c, "array length: want %zu, got %zu", want->u.a.len, have->u.a.len);
    for (size_t i = 0; i < want->u.a.len; i++)
        if (!cmp_json(c, want->u.a.items[i], have->u.a.items[i]))
            return false;
    return true;
}

static bool cmp_values(struct cmp *c, const ufrpc_cv *want, const ufrpc_cv *have)
{
    const ufrpc_cv *wt = ufrpc_cv_getn(want, "type", 4), *ht = ufrpc_cv_getn(have, "type", 4);
    const ufrpc_cv *wv = ufrpc_cv_getn(want, "value", 5), *hv = ufrpc_cv_getn(have, "value", 5);
    if (!is_str(wt))
        return failf(c, "expected 'type' is not a string");
    if (!is_str(ht))
        return failf(c, "decoder 'type' is not a string");
    if (wt->u.s.len != ht->u.s.len || memcmp(wt->u.s.ptr, ht->u.s.ptr, wt->u.s.len) != 0) {
        char a[64], b[64];
        printable(a, sizeof a, wt->u.s.ptr, wt->u.s.len);
        printable(b, sizeof b, ht->u.s.ptr, ht->u.s.len);
        return failf(c, "type: want %s, got %s", a, b);
    }
    if (str_eq(wt, "array")) /* toml-test's older form {"type":"array","value":[...]} */
        return cmp_arrays(c, wv, hv);
    if (!is_str(wv))
        return failf(c, "expected 'value' is not a string");
    if (!is_str(hv))
        return failf(c, "decoder 'value' is %s, not a string", ufrpc_cv_type_name(hv->type));
    if (str_eq(wt, "float"))
        return cmp_floats(c, wv, hv);
    if (str_eq(wt, "datetime") || str_eq(wt, "datetime-local") || str_eq(wt, "date-local") ||
        str_eq(wt, "time-local"))
        return cmp_datetimes(c, wt->u.s.ptr, wv, hv);
    if (str_eq(wt, "bool")) {
        char a[16], b[16];
        if (!lower(wv, a, sizeof a) || !lower(hv, b, sizeof b) || strcmp(a, b) != 0)
            return failf(c, "bool values differ");
        return true;
    }
    if (wv->u.s.len != hv->u.s.len || memcmp(wv->u.s.ptr, hv->u.s.ptr, wv->u.s.len) != 0) {
        char a[256], b[256];
        printable(a, sizeof a, wv->u.s.ptr, wv->u.s.len);
        printable(b, sizeof b, hv->u.s.ptr, hv->u.s.len);
        return failf(c, "want \"%s\" (%zu bytes), got \"%s\" (%zu bytes)", a, wv->u.s.len, b,
                     hv->u.s.len);
    }
    return true;
}

/* c->key = old key + "." + k (printable), restored by the caller. */
static void key_push(struct cmp *c, const char *k, size_t kl)
{
    size_t n = strlen(c->key);
    if (n > 0 && n + 1 < sizeof c->key)
        c->key[n++] = '.';
    printable(c->key + n, sizeof c->key - n, k, kl);
}

static bool cmp_tables(struct cmp *c, const ufrpc_cv *want, const ufrpc_cv *have)
{
    if (have->type != UFRPC_CV_TABLE)
        return failf(c, "decoder gave %s where a table belongs", ufrpc_cv_type_name(have->type));
    bool wval = is_value(want), hval = is_value(have);
    if (wval && !hval)
        return failf(c, "should be a value, the decoder reports a table");
    if (!wval && hval)
        return failf(c, "should be a table, the decoder reports a value");
    if (wval)
        return cmp_values(c, want, have);
    size_t saved = strlen(c->key);
    for (size_t i = 0; i < want->u.t.len; i++) {
        const ufrpc_cv_member *m = &want->u.t.items[i];
        if (ufrpc_cv_getn(have, m->key, m->key_len) == NULL) {
            key_push(c, m->key, m->key_len);
            return failf(c, "missing in the decoder output");
        }
    }
    for (size_t i = 0; i < have->u.t.len; i++) {
        const ufrpc_cv_member *m = &have->u.t.items[i];
        if (ufrpc_cv_getn(want, m->key, m->key_len) == NULL) {
            key_push(c, m->key, m->key_len);
            return failf(c, "not in the expected output");
        }
    }
    for (size_t i = 0; i < want->u.t.len; i++) {
        const ufrpc_cv_member *m = &want->u.t.items[i];
        key_push(c, m->key, m->key_len);
        if (!cmp_json(c, m->value, ufrpc_cv_getn(have, m->key, m->key_len)))
            return false;
        c->key[saved] = '\0';
    }
    return true;
}

static bool cmp_json(struct cmp *c, const ufrpc_cv *want, const ufrpc_cv *have)
{
    if (want->type == UFRPC_CV_TABLE)
        return cmp_tables(c, want, have);
    if (want->type == UFRPC_CV_ARRAY)
        return cmp_arrays(c, want, have);
    return failf(c, "expected output holds a %s, not a table or an array",
                 ufrpc_cv_type_name(want->type));
}

/* ------------------------------------------------------------ one case */

/* Returns true if the case passes; otherwise prints why. */
static bool run_case(const char *decoder, char *const *envp, const char *dir, const char *name,
                     bool valid, bool verbose)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint8_t *text = NULL;
    size_t len = 0;
    if (ufrpc_test_read_file(path, &text, &len) != 0) {
        printf("FAIL %s: cannot read %s\n", name, path);
        return false;
    }
    struct run r;
    int rc = run_decoder(decoder, envp, text, len, &r);
    /* the same case in this process (the top of the file says why) */
    ufrpc_cv *root = NULL;
    struct ufrpc_cfg_error te = {0};
    char *twin = NULL;
    size_t twin_len = 0;
    int twin_rc = ufrpc_toml_parse((const char *)text, len, "<stdin>", &root, &te);
    if (twin_rc == 0)
        twin_rc = ufrpc_toml_tagged_json(root, &twin, &twin_len);
    ufrpc_cv_free(root);
    free(text);
    if (rc != 0) {
        printf("FAIL %s: running %s: %s\n", name, decoder, ufrpc_strerror(rc));
        free(twin);
        return false;
    }
    bool ok = false;
    bool exited = WIFEXITED(r.status);
    int code = exited ? WEXITSTATUS(r.status) : -1;
    char err_line[300];
    size_t el = r.err.len;
    while (el > 0 && (r.err.data[el - 1] == '\n' || r.err.data[el - 1] == '\r'))
        el--;
    printable(err_line, sizeof err_line, r.err.data ? r.err.data : "", el);
    if (r.timed_out) {
        printf("FAIL %s: decoder timed out after %d ms\n", name, DECODER_TIMEOUT_MS);
    } else if (!exited) {
        printf("FAIL %s: decoder killed by signal %d\n", name,
               WIFSIGNALED(r.status) ? WTERMSIG(r.status) : -1);
    } else if (!valid) {
        if (code != 1)
            printf("FAIL %s: accepted invalid input (exit %d)\n", name, code);
        else if (r.err.len < 9 || memcmp(r.err.data, "<stdin>:", 8) != 0)
            printf("FAIL %s: exit 1 without a positioned error: %s\n", name, err_line);
        else if (twin_rc == 0)
            printf("FAIL %s: the decoder rejected it, ufrpc_toml_parse in-process did not\n", name);
        else
            ok = true;
        if (ok && verbose)
            printf("ok   %s: %s\n", name, err_line);
    } else if (code != 0 || r.err.len > 0) {
        printf("FAIL %s: exit %d: %s\n", name, code, err_line);
    } else {
        char jpath[1024];
        snprintf(jpath, sizeof jpath, "%.*s.json", (int)(strlen(path) - 5), path);
        uint8_t *jtext = NULL;
        size_t jlen = 0;
        ufrpc_cv *want = NULL, *have = NULL;
        struct ufrpc_cfg_error e = {0};
        char msg[600];
        if (ufrpc_test_read_file(jpath, &jtext, &jlen) != 0) {
            printf("FAIL %s: cannot read %s\n", name, jpath);
        } else if (ufrpc_json_read((const char *)jtext, jlen, "expected", &want, &e) != 0) {
            printf("FAIL %s: expected JSON: %s\n", name, ufrpc_cfg_error_format(&e, msg, sizeof msg));
        } else if (ufrpc_json_read(r.out.data ? r.out.data : "", r.out.len, "stdout", &have, &e) != 0) {
            printf("FAIL %s: decoder output is not JSON: %s\n", name,
                   ufrpc_cfg_error_format(&e, msg, sizeof msg));
        } else {
            struct cmp c = {0};
            ok = cmp_json(&c, want, have);
            if (!ok)
                printf("FAIL %s: %s\n", name, c.why);
            else if (twin_rc != 0 || twin_len != r.out.len || memcmp(twin, r.out.data, twin_len) != 0)
                ok = false, printf("FAIL %s: in-process output differs from the decoder's (%s)\n",
                                   name, twin_rc ? ufrpc_strerror(twin_rc) : "bytes");
            else if (verbose)
                printf("ok   %s\n", name);
        }
        ufrpc_cv_free(want);
        ufrpc_cv_free(have);
        free(jtext);
    }
    run_free(&r);
    free(twin);
    return ok;
}

struct tally {
    int valid_n, valid_ok, invalid_n, invalid_ok;
};

/* Runs every case named in the list file `dir`/`list` (one "valid/..." or
 * "invalid/..." .toml path a line, relative to dir). false if the list is
 * unreadable. */
static bool run_list(const char *decoder, char *const *envp, const char *dir, const char *list,
                     const char *filter, bool verbose, struct tally *t)
{
    char list_path[1024];
    snprintf(list_path, sizeof list_path, "%s/%s", dir, list);
    uint8_t *text;
    size_t text_len;
    if (ufrpc_test_read_file(list_path, &text, &text_len) != 0) {
        fprintf(stderr, "toml_suite: cannot read %s\n", list_path);
        return false;
    }
    char *save = NULL;
    for (char *line = strtok_r((char *)text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t l = strlen(line);
        if (l < 5 || strcmp(line + l - 5, ".toml") != 0)
            continue;
        if (filter != NULL && strstr(line, filter) == NULL)
            continue;
        bool valid = strncmp(line, "valid/", 6) == 0;
        bool ok = run_case(decoder, envp, dir, line, valid, verbose);
        if (valid) {
            t->valid_n++;
            t->valid_ok += ok;
        } else {
            t->invalid_n++;
            t->invalid_ok += ok;
        }
    }
    free(text);
    return true;
}

static bool tally_ok(const struct tally *t)
{
    return t->valid_ok == t->valid_n && t->invalid_ok == t->invalid_n;
}

int main(int argc, char **argv)
{
    int a = 1;
    bool verbose = argc > a && strcmp(argv[a], "-v") == 0;
    if (verbose)
        a++;
    if (argc <= a) {
        fprintf(stderr, "usage: toml_suite [-v] DECODER [case-substring]\n");
        return 2;
    }
    const char *decoder = argv[a++];
    const char *filter = argc > a ? argv[a] : NULL;
    if (access(decoder, X_OK) != 0) {
        fprintf(stderr, "toml_suite: decoder %s is not executable\n", decoder);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN); /* a decoder that stops reading must not kill the runner */
    struct child_env ce;
    if (child_env_init(&ce) != 0) {
        fprintf(stderr, "toml_suite: out of memory\n");
        return 1;
    }

    /* toml-test's own cases (tests/data/toml-test) */
    struct tally tt = {0}, own = {0};
    char *dir = ufrpc_test_data_path("toml-test/tests");
    bool read = dir != NULL && run_list(decoder, ce.envp, dir, "files-toml-1.0.0", filter, verbose, &tt);
    free(dir);
    if (!read) {
        child_env_free(&ce);
        return 1;
    }
    printf("toml-test: valid %d/%d passed, invalid %d/%d rejected\n", tt.valid_ok, tt.valid_n,
           tt.invalid_ok, tt.invalid_n);

    /* ufrpc's own cases in the same layout (U+0000 in keys and strings, ...) */
    char *own_dir = ufrpc_test_data_path("toml");
    read = own_dir != NULL && run_list(decoder, ce.envp, own_dir, "files", filter, verbose, &own);
    free(own_dir);
    child_env_free(&ce);
    if (!read)
        return 1;
    printf("ufrpc toml cases: valid %d/%d passed, invalid %d/%d rejected\n", own.valid_ok,
           own.valid_n, own.invalid_ok, own.invalid_n);

    bool any = tt.valid_n + tt.invalid_n + own.valid_n + own.invalid_n > 0;
    return tally_ok(&tt) && tally_ok(&own) && any ? 0 : 1;
}
