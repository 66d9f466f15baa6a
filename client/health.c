/* ufrpc — tcp/http health checks on one uv_timer (contracts in client/health.h). */
#include "client/health.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llhttp.h"
#include "net/dial.h"
#include "net/stream.h"
#include "proto/error.h"

#define REQ_MAX 16384u

/* One check's connection state; freed when its stream has closed (so that a
 * write still pending in the stream never outlives its request struct). */
struct check {
    ufrpc_health_t *h;
    struct ufrpc_stream *conn;
    struct ufrpc_stream_write w;
    uv_buf_t b;
    llhttp_t parser;
    int status; /* final status code, 0 until the headers are complete */
};

struct ufrpc_health {
    uv_loop_t *loop;
    enum ufrpc_health_type type;
    char *host;
    uint16_t port;
    char *request; /* http only */
    size_t request_len;
    uint64_t interval_ms, timeout_ms;
    int max_failed;
    ufrpc_health_cb cb;
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
    free(h);
}

static void on_conn_closed(struct ufrpc_stream *s)
{
    struct check *c = s->data;
    ufrpc_health_t *h = c->h;
    free(c);
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
        free(c);
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
    if (code >= 100 && code < 200)
        return 0; /* interim response: keep parsing */
    c->status = code;
    return HPE_PAUSED;
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
    c->b = uv_buf_init(h->request, (unsigned)h->request_len);
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
    struct ufrpc_dial_opts o = {
        .host = h->host, .port = h->port, .timeout_ms = (uint32_t)h->timeout_ms};
    ufrpc_dial_t *d = NULL;
    int rc = ufrpc_dial(h->loop, &o, on_dial, h, &d);
    if (rc < 0) {
        finish(h, rc);
        return;
    }
    if (h->running && h->cur == c)
        h->dial = d;
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
        if (len >= REQ_MAX) {
            rc = UFRPC_ERR_LIMIT;
            free(req);
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
