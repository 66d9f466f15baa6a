/* ufrpc — tcp/http health checks on one uv_timer (contracts in client/core/health.h). */
#include "client/core/health.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llhttp.h"
#include "net/dial.h"
#include "net/dial_error.h"
#include "net/stream.h"
#include "proto/error.h"

#define REQ_MAX 16384u
#define LOC_MAX 2048u     /* longest Location followed */
#define HOST_MAX 256u
#define MAX_REDIRECTS 10  /* Go's http.Client: "stopped after 10 redirects" */

/* One check's connection state; freed when its stream has closed (so that a
 * write still pending in the stream never outlives its request struct). */
struct check {
    ufrpc_health_t *h;
    struct ufrpc_stream *conn;
    struct ufrpc_stream_write w;
    uv_buf_t b;
    llhttp_t parser;
    int status; /* final status code, 0 until the headers are complete */
    char *req;  /* a redirect's request (owned), or NULL: h->request */
    size_t req_len;
    /* the Location header of the response (for redirects) */
    char field[16];
    size_t field_len;
    int in_loc, loc_bad;
    char loc[LOC_MAX];
    size_t loc_len;
};

struct ufrpc_health {
    uv_loop_t *loop;
    enum ufrpc_health_type type;
    char *host;
    uint16_t port;
    char *request; /* http only */
    size_t request_len;
    size_t tail_off;  /* where the headers after the Host line start in request */
    char *host_value; /* the Host header of request */
    /* the running check's target: the monitored address, or a redirect's */
    char cur_host[HOST_MAX];
    uint16_t cur_port;
    char cur_path[LOC_MAX];
    int hops;
    uint64_t interval_ms, timeout_ms;
    int max_failed;
    ufrpc_health_cb cb;
    ufrpc_health_fail_cb on_fail;
    void *data;

    uv_timer_t timer; /* next check, or the running check's deadline */
    llhttp_settings_t settings;
    ufrpc_dial_t *dial;
    struct check *cur;
    int running;
    int open_conns; /* check streams not yet closed */
    int timer_closed;
    int stopping;
    void (*closed_cb)(void *data);

    struct ufrpc_health_stats st;
};

static void maybe_free(ufrpc_health_t *h)
{
    if (!h->stopping || !h->timer_closed || h->open_conns > 0)
        return;
    if (h->closed_cb != NULL)
        h->closed_cb(h->data);
    free(h->host);
    free(h->request);
    free(h->host_value);
    free(h);
}

static void check_free(struct check *c)
{
    free(c->req);
    free(c);
}

static void on_conn_closed(struct ufrpc_stream *s)
{
    struct check *c = s->data;
    ufrpc_health_t *h = c->h;
    check_free(c);
    h->open_conns--;
    maybe_free(h);
}

static void drop_check(ufrpc_health_t *h)
{
    struct check *c = h->cur;
    h->cur = NULL;
    if (c == NULL)
        return;
    if (c->conn != NULL)
        ufrpc_stream_close(c->conn, on_conn_closed); /* frees c */
    else
        check_free(c);
}

static void on_timer(uv_timer_t *t);

/* Ends the running check with result (0 = healthy). */
static void finish(ufrpc_health_t *h, int result)
{
    if (!h->running)
        return;
    h->running = 0;
    uv_timer_stop(&h->timer);
    if (h->dial != NULL) {
        ufrpc_dial_t *d = h->dial;
        h->dial = NULL;
        ufrpc_dial_cancel(d); /* its callback sees !running and only cleans up */
    }
    drop_check(h);
    h->st.checks++;
    h->st.last_err = result;
    int event = -1;
    if (result == 0) {
        h->st.consecutive_failures = 0;
        if (!h->st.up) {
            h->st.up = 1;
            event = UFRPC_HEALTH_UP;
        }
    } else {
        h->st.failures++;
        h->st.consecutive_failures++;
        if (h->st.up && h->st.consecutive_failures >= h->max_failed) {
            h->st.up = 0;
            event = UFRPC_HEALTH_DOWN;
        }
    }
    if (result != 0 && h->on_fail != NULL && !h->stopping)
        h->on_fail(h, result, h->data);
    if (event >= 0 && !h->stopping)
        h->cb(h, (enum ufrpc_health_event)event, result, h->data);
    if (!h->stopping)
        uv_timer_start(&h->timer, on_timer, h->interval_ms, 0);
}

/* ---- http response ------------------------------------------------------------- */
static int on_headers_complete(llhttp_t *p)
{
    struct check *c = p->data;
    int code = llhttp_get_status_code(p);
    if (code >= 100 && code < 200) {
        c->loc_len = 0; /* interim response: keep parsing */
        c->loc_bad = 0;
        return 0;
    }
    c->status = code;
    return HPE_PAUSED;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct check *c = p->data;
    if (c->field_len + len < sizeof c->field) {
        memcpy(c->field + c->field_len, at, len);
        c->field_len += len;
    } else {
        c->field_len = sizeof c->field; /* too long to be "Location" */
    }
    return 0;
}

static int on_header_field_complete(llhttp_t *p)
{
    struct check *c = p->data;
    c->in_loc = c->field_len == 8 && strncasecmp(c->field, "location", 8) == 0;
    c->field_len = 0;
    if (c->in_loc) { /* Go's Header.Get: the first value */
        if (c->loc_len > 0 || c->loc_bad)
            c->in_loc = 0;
    }
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct check *c = p->data;
    if (!c->in_loc)
        return 0;
    if (c->loc_len + len < sizeof c->loc) {
        memcpy(c->loc + c->loc_len, at, len);
        c->loc_len += len;
    } else {
        c->loc_bad = 1;
    }
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    struct check *c = p->data;
    if (c->in_loc)
        c->loc[c->loc_len] = '\0';
    c->in_loc = 0;
    return 0;
}

/* ---- redirects (Go's http.Client, which frpc's http check uses, follows them) ---- */
static int is_redirect(int code)
{
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

/* RFC 3986 5.2.4 on the path part of path (it starts with '/'; a query is kept). */
static int remove_dots(char *path, size_t cap)
{
    char out[LOC_MAX];
    const char *q = strchr(path, '?');
    size_t plen = q != NULL ? (size_t)(q - path) : strlen(path);
    size_t o = 0;
    for (size_t i = 0; i < plen;) {
        size_t j = i + 1;
        while (j < plen && path[j] != '/')
            j++;
        const char *seg = path + i + 1;
        size_t sl = j - i - 1;
        int last = j >= plen;
        if (sl == 1 && seg[0] == '.') {
            if (last)
                out[o++] = '/';
        } else if (sl == 2 && seg[0] == '.' && seg[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
            if (last)
                out[o++] = '/';
        } else {
            out[o++] = '/';
            memcpy(out + o, seg, sl);
            o += sl;
        }
        i = j;
    }
    if (o == 0)
        out[o++] = '/';
    size_t ql = q != NULL ? strlen(q) : 0;
    if (o + ql + 1 > cap || o + ql + 1 > sizeof out)
        return UFRPC_ERR_LIMIT;
    memcpy(out + o, q != NULL ? q : "", ql + 1);
    memcpy(path, out, o + ql + 1);
    return 0;
}

/* Resolves Location loc against the running check's URL into the next target.
 * *abs_out = 1 when loc names an authority (then host_out[:port] is the Host).
 * 0, UFRPC_ERR_UNSUPPORTED (https or another scheme), UFRPC_ERR_HTTP (malformed). */
static int resolve_location(const ufrpc_health_t *h, const char *loc, char *host_out,
                            uint16_t *port_out, char *authority, char *path_out, int *abs_out)
{
    char buf[LOC_MAX];
    size_t n = strcspn(loc, "#"); /* the fragment is never sent */
    while (n > 0 && (loc[n - 1] == ' ' || loc[n - 1] == '\t'))
        n--; /* Go's Header.Get value has no trailing blanks */
    if (n == 0 || n >= sizeof buf)
        return UFRPC_ERR_HTTP;
    memcpy(buf, loc, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] >= 0x7f)
            return UFRPC_ERR_HTTP;
    const char *rest = NULL, *auth = NULL;
    if (strncasecmp(buf, "http://", 7) == 0)
        auth = buf + 7;
    else if (buf[0] == '/' && buf[1] == '/')
        auth = buf + 2;
    else {
        size_t sc = strspn(buf, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
        if (sc > 0 && buf[sc] == ':')
            return UFRPC_ERR_UNSUPPORTED; /* https:, or another scheme */
    }
    *abs_out = auth != NULL;
    if (auth != NULL) {
        size_t al = strcspn(auth, "/?");
        rest = auth + al;
        if (al == 0 || al >= HOST_MAX || memchr(auth, '@', al) != NULL)
            return UFRPC_ERR_HTTP;
        memcpy(authority, auth, al);
        authority[al] = '\0';
        const char *hs = authority, *he, *ps = NULL;
        if (authority[0] == '[') {
            hs = authority + 1;
            he = strchr(hs, ']');
            if (he == NULL || (he[1] != '\0' && he[1] != ':'))
                return UFRPC_ERR_HTTP;
            if (he[1] == ':')
                ps = he + 2;
        } else {
            he = strchr(authority, ':');
            if (he != NULL)
                ps = he + 1;
            else
                he = authority + al;
        }
        if (he == hs)
            return UFRPC_ERR_HTTP;
        memcpy(host_out, hs, (size_t)(he - hs));
        host_out[he - hs] = '\0';
        unsigned long port = 80;
        if (ps != NULL && *ps != '\0') {
            char *end = NULL;
            port = strtoul(ps, &end, 10);
            if (*end != '\0' || port == 0 || port > 65535)
                return UFRPC_ERR_HTTP;
        }
        *port_out = (uint16_t)port;
        if (rest[0] == '/')
            snprintf(path_out, LOC_MAX, "%s", rest);
        else
            snprintf(path_out, LOC_MAX, "/%s", rest); /* "" or "?q" */
    } else {
        snprintf(host_out, HOST_MAX, "%s", h->cur_host);
        *port_out = h->cur_port;
        authority[0] = '\0';
        if (buf[0] == '/') {
            snprintf(path_out, LOC_MAX, "%s", buf);
        } else {
            /* relative to the current path: its directory, or its path for "?q" */
            size_t base = strcspn(h->cur_path, "?");
            if (buf[0] != '?')
                while (base > 0 && h->cur_path[base - 1] != '/')
                    base--;
            if (base + n + 1 > LOC_MAX)
                return UFRPC_ERR_HTTP;
            memcpy(path_out, h->cur_path, base);
            memcpy(path_out + base, buf, n + 1);
        }
    }
    return remove_dots(path_out, LOC_MAX) < 0 ? UFRPC_ERR_HTTP : 0;
}

/* Header lines Go drops when a redirect leaves the original host. */
static int sensitive_line(const char *line)
{
    static const char *const names[] = {"Authorization:", "Www-Authenticate:", "Cookie:",
                                        "Cookie2:"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strncmp(line, names[i], strlen(names[i])) == 0)
            return 1;
    return 0;
}

static void on_dial(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data);

/* Dials the running check's current target for check c (h->cur). */
static void dial_current(ufrpc_health_t *h, struct check *c)
{
    struct ufrpc_dial_opts o = {
        .host = h->cur_host, .port = h->cur_port, .timeout_ms = (uint32_t)h->timeout_ms};
    ufrpc_dial_t *d = NULL;
    int rc = ufrpc_dial(h->loop, &o, on_dial, h, &d);
    if (rc < 0) {
        finish(h, rc);
        return;
    }
    if (h->running && h->cur == c)
        h->dial = d;
}

/* The response of check c is a redirect to c->loc: the next request, on a new
 * connection, within the same deadline. */
static void follow(ufrpc_health_t *h, struct check *c)
{
    char host[HOST_MAX], authority[HOST_MAX], path[LOC_MAX];
    uint16_t port = 0;
    int abs = 0;
    if (h->hops >= MAX_REDIRECTS) {
        finish(h, UFRPC_ERR_HTTP);
        return;
    }
    int rc = resolve_location(h, c->loc, host, &port, authority, path, &abs);
    if (rc < 0) {
        finish(h, rc);
        return;
    }
    /* Go keeps a caller's Host through a relative redirect, else the URL's */
    const char *hostv = abs ? authority : h->host_value;
    int other_host = strcasecmp(host, h->host) != 0;
    struct check *n = calloc(1, sizeof *n);
    char *req = n != NULL ? malloc(REQ_MAX) : NULL;
    if (req == NULL) {
        free(n);
        finish(h, UFRPC_ERR_NOMEM);
        return;
    }
    int k = snprintf(req, REQ_MAX, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, hostv);
    size_t len = k < 0 ? REQ_MAX : (size_t)k;
    for (const char *line = h->request + h->tail_off; *line != '\0' && len < REQ_MAX;) {
        const char *eol = strstr(line, "\r\n");
        size_t ll = eol != NULL ? (size_t)(eol - line) + 2 : strlen(line);
        if (!(other_host && sensitive_line(line))) {
            if (len + ll >= REQ_MAX) {
                len = REQ_MAX;
                break;
            }
            memcpy(req + len, line, ll);
            len += ll;
        }
        line += ll;
    }
    if (len >= REQ_MAX) {
        free(req);
        free(n);
        finish(h, UFRPC_ERR_LIMIT);
        return;
    }
    req[len] = '\0';
    h->hops++;
    snprintf(h->cur_host, sizeof h->cur_host, "%s", host);
    h->cur_port = port;
    snprintf(h->cur_path, sizeof h->cur_path, "%s", path);
    drop_check(h); /* closes c's connection; frees c */
    n->h = h;
    n->req = req;
    n->req_len = len;
    h->cur = n;
    dial_current(h, n);
}

static void on_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                    size_t len)
{
    struct check *c = s->data;
    ufrpc_health_t *h = c->h;
    (void)buf;
    if (h->cur != c)
        return;
    if (status < 0) {
        finish(h, status == UFRPC_ERR_EOF ? UFRPC_ERR_HTTP : status);
        return;
    }
    llhttp_errno_t e = llhttp_execute(&c->parser, (const char *)data, len);
    if (e == HPE_PAUSED && c->status != 0) {
        h->st.last_status = c->status;
        if (is_redirect(c->status) && c->loc_len > 0 && !c->loc_bad) {
            follow(h, c);
            return;
        }
        finish(h, c->status >= 200 && c->status < 300 ? 0 : UFRPC_ERR_HTTP);
        return;
    }
    if (e != HPE_OK)
        finish(h, UFRPC_ERR_HTTP);
}

static void on_dial(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data)
{
    ufrpc_health_t *h = data;
    (void)d;
    if (h->dial == d)
        h->dial = NULL;
    if (!h->running || h->stopping) {
        /* canceled by finish/stop, or a late success: just clean up */
        if (s != NULL) {
            struct check *c = calloc(1, sizeof *c);
            if (c == NULL) {
                ufrpc_stream_close(s, NULL);
                return;
            }
            c->h = h;
            s->data = c;
            h->open_conns++;
            ufrpc_stream_close(s, on_conn_closed);
        }
        return;
    }
    if (status < 0) {
        finish(h, status);
        return;
    }
    struct check *c = h->cur;
    c->conn = s;
    s->data = c;
    h->open_conns++;
    if (h->type == UFRPC_HEALTH_TCP) {
        finish(h, 0);
        return;
    }
    llhttp_init(&c->parser, HTTP_RESPONSE, &h->settings);
    c->parser.data = c;
    c->b = c->req != NULL ? uv_buf_init(c->req, (unsigned)c->req_len)
                          : uv_buf_init(h->request, (unsigned)h->request_len);
    int rc = ufrpc_stream_write(s, &c->w, &c->b, 1, NULL);
    if (rc == 0)
        rc = ufrpc_stream_read_start(s, on_read);
    if (rc < 0)
        finish(h, rc);
}

static void on_deadline(uv_timer_t *t)
{
    finish(t->data, UFRPC_ERR_TIMEOUT);
}

static void on_timer(uv_timer_t *t)
{
    ufrpc_health_t *h = t->data;
    if (h->stopping || h->running)
        return;
    struct check *c = calloc(1, sizeof *c);
    if (c == NULL) {
        uv_timer_start(&h->timer, on_timer, h->interval_ms, 0);
        return;
    }
    c->h = h;
    h->cur = c;
    h->running = 1;
    uv_timer_start(&h->timer, on_deadline, h->timeout_ms, 0);
    snprintf(h->cur_host, sizeof h->cur_host, "%s", h->host);
    h->cur_port = h->port;
    h->hops = 0;
    dial_current(h, c);
}

/* ---- request building ------------------------------------------------------------- */
struct hdr {
    char *name;
    const char *value;
};

static int has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

/* Go's textproto.CanonicalMIMEHeaderKey for valid token names. */
static void canonical(char *s)
{
    int upper = 1;
    for (; *s; s++) {
        *s = (char)(upper ? toupper((unsigned char)*s) : tolower((unsigned char)*s));
        upper = *s == '-';
    }
}

static int cmp_hdr(const void *a, const void *b)
{
    return strcmp(((const struct hdr *)a)->name, ((const struct hdr *)b)->name);
}

static int valid_token(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= 32 || ch >= 127 || strchr("()<>@,;:\\\"/[]?={}", ch) != NULL)
            return 0;
    }
    return 1;
}

static int build_request(ufrpc_health_t *h, const struct ufrpc_health_opts *o)
{
    if (o->path == NULL || o->path[0] == '\0' || has_crlf(o->path) || strchr(o->path, ' '))
        return UFRPC_ERR_INVAL;
    if (o->host_header != NULL && has_crlf(o->host_header))
        return UFRPC_ERR_INVAL;
    struct hdr *hs = NULL;
    size_t n = 0;
    int rc = 0;
    if (o->nheaders > 0 && (hs = calloc(o->nheaders, sizeof *hs)) == NULL)
        return UFRPC_ERR_NOMEM;
    for (size_t i = 0; i < o->nheaders && rc == 0; i++) {
        const char *name = o->headers[i].key, *value = o->headers[i].value;
        if (name == NULL || value == NULL || !valid_token(name) || has_crlf(value)) {
            rc = UFRPC_ERR_INVAL;
            break;
        }
        char *cn = strdup(name);
        if (cn == NULL) {
            rc = UFRPC_ERR_NOMEM;
            break;
        }
        canonical(cn);
        size_t j = 0;
        while (j < n && strcmp(hs[j].name, cn) != 0)
            j++;
        if (j < n) { /* Header.Set: the last value wins */
            free(cn);
            hs[j].value = value;
        } else {
            hs[n].name = cn;
            hs[n].value = value;
            n++;
        }
    }
    char *req = NULL;
    if (rc == 0 && (req = malloc(REQ_MAX)) == NULL)
        rc = UFRPC_ERR_NOMEM;
    if (rc == 0) {
        if (n > 1)
            qsort(hs, n, sizeof *hs, cmp_hdr);
        size_t len = 0;
        int k;
        char hostbuf[300];
        const char *host = o->host_header;
        if (host == NULL || host[0] == '\0') {
            int v6 = strchr(h->host, ':') != NULL;
            snprintf(hostbuf, sizeof hostbuf, v6 ? "[%s]:%u" : "%s:%u", h->host, h->port);
            host = hostbuf;
        }
        k = snprintf(req, REQ_MAX, "GET %s%s HTTP/1.1\r\nHost: %s\r\n",
                     o->path[0] == '/' ? "" : "/", o->path, host);
        len = k < 0 ? REQ_MAX : (size_t)k;
        h->tail_off = len;
        snprintf(h->cur_path, sizeof h->cur_path, "%s%s", o->path[0] == '/' ? "" : "/",
                 o->path);
        if ((h->host_value = strdup(host)) == NULL)
            rc = UFRPC_ERR_NOMEM;
        int have_ua = 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp(hs[i].name, "User-Agent") == 0)
                have_ua = 1;
        if (!have_ua && len < REQ_MAX) {
            k = snprintf(req + len, REQ_MAX - len, "User-Agent: Go-http-client/1.1\r\n");
            len += k < 0 ? REQ_MAX : (size_t)k;
        }
        for (size_t i = 0; i < n && len < REQ_MAX; i++) {
            if (strcmp(hs[i].name, "Host") == 0)
                continue; /* Go sends req.Host, never Header["Host"] */
            k = snprintf(req + len, REQ_MAX - len, "%s: %s\r\n", hs[i].name, hs[i].value);
            len += k < 0 ? REQ_MAX : (size_t)k;
        }
        if (len < REQ_MAX) {
            k = snprintf(req + len, REQ_MAX - len, "Accept-Encoding: gzip\r\n\r\n");
            len += k < 0 ? REQ_MAX : (size_t)k;
        }
        if (len >= REQ_MAX || rc < 0) {
            rc = rc < 0 ? rc : UFRPC_ERR_LIMIT;
            free(req);
            free(h->host_value);
            h->host_value = NULL;
        } else {
            h->request = req;
            h->request_len = len;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(hs[i].name);
    free(hs);
    return rc;
}

/* ---- public ------------------------------------------------------------------------- */
static uint32_t secs_to_ms(int64_t s)
{
    if (s <= 0)
        return 0;
    return s > 4000000 ? 4000000000u : (uint32_t)(s * 1000); /* cap: ~46 days */
}

int ufrpc_health_opts_from_config(const struct ufrpc_proxy_config *pc,
                                  struct ufrpc_health_opts *o)
{
    const struct ufrpc_health_check *hc = &pc->health_check;
    memset(o, 0, sizeof *o);
    if (hc->type == NULL || hc->type[0] == '\0' || pc->local_port <= 0)
        return UFRPC_ERR_NOT_FOUND;
    if (strcmp(hc->type, "tcp") == 0)
        o->type = UFRPC_HEALTH_TCP;
    else if (strcmp(hc->type, "http") == 0)
        o->type = UFRPC_HEALTH_HTTP;
    else
        return UFRPC_ERR_INVAL;
    if (pc->local_port > 65535)
        return UFRPC_ERR_INVAL;
    o->host = pc->local_ip != NULL && pc->local_ip[0] != '\0' ? pc->local_ip : "127.0.0.1";
    o->port = (uint16_t)pc->local_port;
    o->path = hc->path;
    o->headers = hc->http_headers.items;
    o->nheaders = hc->http_headers.len;
    o->interval_ms = secs_to_ms(hc->interval_seconds);
    o->timeout_ms = secs_to_ms(hc->timeout_seconds);
    o->max_failed = hc->max_failed > 0 && hc->max_failed < 1000000 ? (int)hc->max_failed : 0;
    return 0;
}

int ufrpc_health_start(uv_loop_t *loop, const struct ufrpc_health_opts *o, ufrpc_health_cb cb,
                       void *data, ufrpc_health_t **out)
{
    if (o == NULL || cb == NULL || o->host == NULL || o->host[0] == '\0' || o->port == 0 ||
        (o->type != UFRPC_HEALTH_TCP && o->type != UFRPC_HEALTH_HTTP))
        return UFRPC_ERR_INVAL;
    ufrpc_health_t *h = calloc(1, sizeof *h);
    if (h == NULL)
        return UFRPC_ERR_NOMEM;
    h->loop = loop;
    h->type = o->type;
    h->port = o->port;
    h->interval_ms = o->interval_ms ? o->interval_ms : 10000;
    h->timeout_ms = o->timeout_ms ? o->timeout_ms : 3000;
    h->max_failed = o->max_failed > 0 ? o->max_failed : 1;
    h->cb = cb;
    h->on_fail = o->on_fail;
    h->data = data;
    h->host = strdup(o->host);
    int rc = h->host == NULL ? UFRPC_ERR_NOMEM : 0;
    if (rc == 0 && h->type == UFRPC_HEALTH_HTTP)
        rc = build_request(h, o);
    if (rc < 0) {
        free(h->host);
        free(h);
        return rc;
    }
    llhttp_settings_init(&h->settings);
    h->settings.on_headers_complete = on_headers_complete;
    h->settings.on_header_field = on_header_field;
    h->settings.on_header_field_complete = on_header_field_complete;
    h->settings.on_header_value = on_header_value;
    h->settings.on_header_value_complete = on_header_value_complete;
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    uv_timer_start(&h->timer, on_timer, 0, 0);
    *out = h;
    return 0;
}

static void on_timer_closed(uv_handle_t *t)
{
    ufrpc_health_t *h = t->data;
    h->timer_closed = 1;
    maybe_free(h);
}

void ufrpc_health_stop(ufrpc_health_t *h, void (*closed)(void *data))
{
    if (h == NULL || h->stopping)
        return;
    h->stopping = 1;
    h->closed_cb = closed;
    if (h->running) {
        h->running = 0;
        if (h->dial != NULL) {
            ufrpc_dial_t *d = h->dial;
            h->dial = NULL;
            ufrpc_dial_cancel(d);
        }
        drop_check(h);
    }
    uv_close((uv_handle_t *)&h->timer, on_timer_closed);
}

void ufrpc_health_get_stats(const ufrpc_health_t *h, struct ufrpc_health_stats *st)
{
    *st = h->st;
}

const char *ufrpc_health_request(const ufrpc_health_t *h)
{
    return h->request;
}

void ufrpc_health_failure_text(const ufrpc_health_t *h, int err, char *out, size_t cap)
{
    if (cap == 0)
        return;
    const char *host = h->cur_host[0] ? h->cur_host : h->host;
    uint16_t port = h->cur_host[0] ? h->cur_port : h->port;
    if (h->type == UFRPC_HEALTH_HTTP && err == UFRPC_ERR_HTTP && h->st.last_status > 0) {
        snprintf(out, cap, "do http health check, StatusCode is [%d] not 2xx", h->st.last_status);
        return;
    }
    char dial[400];
    if (err == UFRPC_ERR_CONNECT_REFUSED || err == UFRPC_ERR_CONNECT || err == UFRPC_ERR_DNS ||
        (err == UFRPC_ERR_TIMEOUT && h->type == UFRPC_HEALTH_TCP))
        ufrpc_dial_error_text(host, port, err, dial, sizeof dial);
    else if (err == UFRPC_ERR_TIMEOUT)
        snprintf(dial, sizeof dial, "context deadline exceeded");
    else
        snprintf(dial, sizeof dial, "%s", ufrpc_strerror(err));
    if (h->type == UFRPC_HEALTH_HTTP) {
        const char *path = h->cur_path[0] ? h->cur_path : "/";
        if (strchr(host, ':') != NULL)
            snprintf(out, cap, "Get \"http://[%s]:%u%s\": %s", host, (unsigned)port, path, dial);
        else
            snprintf(out, cap, "Get \"http://%s:%u%s\": %s", host, (unsigned)port, path, dial);
    } else {
        snprintf(out, cap, "%s", dial);
    }
}
