/* client/core/webhook.c — see webhook.h. */
#include "client/core/webhook.h"

#include "client/core/oidc.h" /* UFRPC_SYSTEM_CA_BUNDLE */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llhttp.h"
#include "net/dial.h"
#include "net/dial_error.h"
#include "net/tls.h"
#include "proto/error.h"
#include "proto/oauth.h"

#define HEAD_MAX 2048u

struct item {
    char *body;
    size_t len;
    unsigned attempts;
};

/* One HTTP exchange; freed when its stream has closed. */
struct post {
    ufrpc_webhook_t *wh; /* NULL once dropped */
    ufrpc_dial_t *dial;
    struct ufrpc_stream *s;
    struct ufrpc_stream_write w;
    uv_buf_t b[2];
    char head[HEAD_MAX];
    llhttp_t parser;
    int status;
    int done;
};

struct ufrpc_webhook {
    uv_loop_t *loop;
    struct ufrpc_log *log;
    struct ufrpc_url url;
    ufrpc_tls_ctx_t *tls;
    llhttp_settings_t settings;
    struct item q[UFRPC_WEBHOOK_QUEUE];
    size_t head, count;
    struct post *cur;
    uv_timer_t timer; /* the request's deadline, or the wait before a retry */
    int waiting;      /* the timer is a retry wait */
    uint64_t delivered;
    int freeing;
    int open; /* the timer + posts not yet freed */
};

static void maybe_free(ufrpc_webhook_t *wh)
{
    if (!wh->freeing || wh->open > 0)
        return;
    ufrpc_tls_ctx_free(wh->tls);
    free(wh);
}

static void on_timer_closed(uv_handle_t *h)
{
    ufrpc_webhook_t *wh = h->data;
    wh->open--;
    maybe_free(wh);
}

static void on_post_closed(struct ufrpc_stream *s)
{
    struct post *p = s->data;
    ufrpc_webhook_t *wh = p->wh;
    free(p);
    if (wh != NULL) {
        wh->open--;
        maybe_free(wh);
    }
}

/* Ends the exchange in flight; its connection closes in the background. */
static void drop_post(ufrpc_webhook_t *wh)
{
    struct post *p = wh->cur;
    wh->cur = NULL;
    if (p == NULL)
        return;
    if (p->dial != NULL) {
        ufrpc_dial_t *d = p->dial;
        p->dial = NULL;
        p->wh = NULL; /* the dial callback frees it */
        wh->open--;
        ufrpc_dial_cancel(d);
    } else if (p->s != NULL) {
        ufrpc_stream_close(p->s, on_post_closed);
    } else {
        free(p);
        wh->open--;
    }
}

static void start(ufrpc_webhook_t *wh);

static void pop(ufrpc_webhook_t *wh)
{
    free(wh->q[wh->head].body);
    wh->q[wh->head].body = NULL;
    wh->head = (wh->head + 1) % UFRPC_WEBHOOK_QUEUE;
    wh->count--;
}

static void on_retry(uv_timer_t *t)
{
    ufrpc_webhook_t *wh = t->data;
    wh->waiting = 0;
    start(wh);
}

/* The attempt ended: delivered (ok) or not. Retries or moves on. */
static void finish(ufrpc_webhook_t *wh, int ok, const char *why)
{
    drop_post(wh);
    uv_timer_stop(&wh->timer);
    struct item *it = &wh->q[wh->head];
    if (ok) {
        wh->delivered++;
        pop(wh);
    } else if (it->attempts >= UFRPC_WEBHOOK_ATTEMPTS) {
        UFRPC_LOGW(wh->log, "alert webhook %s: giving up after %u attempts: %s", wh->url.hostport,
                   it->attempts, why);
        pop(wh);
    } else {
        UFRPC_LOGD(wh->log, "alert webhook %s: attempt %u failed: %s", wh->url.hostport,
                   it->attempts, why);
        wh->waiting = 1;
        uv_timer_start(&wh->timer, on_retry, 1000u << (it->attempts - 1), 0);
        return;
    }
    if (wh->count > 0)
        start(wh);
}

static int headers_cb(llhttp_t *p)
{
    struct post *x = p->data;
    int code = llhttp_get_status_code(p);
    if (code >= 200)
        x->status = code;
    return 0;
}

static int complete_cb(llhttp_t *p)
{
    struct post *x = p->data;
    if (x->status >= 200)
        x->done = 1;
    return HPE_PAUSED;
}

static void answered(ufrpc_webhook_t *wh, struct post *p)
{
    char why[64];
    snprintf(why, sizeof why, "answered %d", p->status);
    finish(wh, p->status >= 200 && p->status < 300, why);
}

static void on_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                    size_t len)
{
    (void)buf;
    struct post *p = s->data;
    ufrpc_webhook_t *wh = p->wh;
    if (wh == NULL || wh->cur != p)
        return;
    if (status < 0) {
        if (status == UFRPC_ERR_EOF && llhttp_finish(&p->parser) == HPE_OK && p->status >= 200)
            answered(wh, p);
        else
            finish(wh, 0, ufrpc_strerror(status));
        return;
    }
    llhttp_errno_t e = llhttp_execute(&p->parser, (const char *)data, len);
    if (p->done)
        answered(wh, p);
    else if (e != HPE_OK)
        finish(wh, 0, "malformed answer");
}

static void on_written(struct ufrpc_stream_write *w, int status)
{
    struct post *p = w->data;
    if (status < 0 && p->wh != NULL && p->wh->cur == p)
        finish(p->wh, 0, ufrpc_strerror(status));
}

static void send_request(ufrpc_webhook_t *wh, struct post *p)
{
    struct item *it = &wh->q[wh->head];
    p->s->data = p;
    int n = snprintf(p->head, sizeof p->head,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ufrpc\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     wh->url.path, wh->url.hostport, it->len);
    p->b[0] = uv_buf_init(p->head, (unsigned)n);
    p->b[1] = uv_buf_init(it->body, (unsigned)it->len);
    p->w.data = p;
    int rc = ufrpc_stream_write(p->s, &p->w, p->b, 2, on_written);
    if (rc == 0)
        rc = ufrpc_stream_read_start(p->s, on_read);
    if (rc < 0)
        finish(wh, 0, ufrpc_strerror(rc));
}

static void on_handshake(struct ufrpc_stream *s, int status)
{
    struct post *p = s->data;
    ufrpc_webhook_t *wh = p->wh;
    if (wh == NULL || wh->cur != p)
        return;
    if (status < 0)
        finish(wh, 0, ufrpc_strerror(status));
    else
        send_request(wh, p);
}

static void on_dialed(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data)
{
    (void)d;
    struct post *p = data;
    ufrpc_webhook_t *wh = p->wh;
    p->dial = NULL;
    if (wh == NULL) { /* dropped while dialing */
        if (s != NULL)
            ufrpc_stream_close(s, NULL);
        free(p);
        return;
    }
    if (status < 0) {
        char why[400];
        ufrpc_dial_error_text(wh->url.host, wh->url.port, status, why, sizeof why);
        finish(wh, 0, why);
        return;
    }
    if (!wh->url.https) {
        p->s = s;
        send_request(wh, p);
        return;
    }
    struct ufrpc_tls_conn_opts to = {.server_name = wh->url.host, .handshake_timeout_ms = 10000};
    int err = 0;
    p->s = ufrpc_tls_client_new(wh->tls, s, &to, on_handshake, p, &err);
    if (p->s == NULL)
        finish(wh, 0, ufrpc_strerror(err ? err : UFRPC_ERR_TLS));
}

static void on_deadline(uv_timer_t *t)
{
    ufrpc_webhook_t *wh = t->data;
    if (wh->cur != NULL)
        finish(wh, 0, "timed out");
}

static void start(ufrpc_webhook_t *wh)
{
    if (wh->freeing || wh->cur != NULL || wh->waiting || wh->count == 0)
        return;
    struct post *p = calloc(1, sizeof *p);
    wh->q[wh->head].attempts++;
    if (p == NULL) {
        finish(wh, 0, ufrpc_strerror(UFRPC_ERR_NOMEM));
        return;
    }
    p->wh = wh;
    llhttp_init(&p->parser, HTTP_RESPONSE, &wh->settings);
    p->parser.data = p;
    wh->cur = p;
    wh->open++;
    struct ufrpc_dial_opts o = {.host = wh->url.host, .port = wh->url.port, .timeout_ms = 10000};
    int rc = ufrpc_dial(wh->loop, &o, on_dialed, p, &p->dial);
    if (rc < 0) {
        p->dial = NULL;
        finish(wh, 0, ufrpc_strerror(rc));
        return;
    }
    uv_timer_start(&wh->timer, on_deadline, UFRPC_WEBHOOK_TIMEOUT_MS, 0);
}

int ufrpc_webhook_post(ufrpc_webhook_t *wh, const char *json, size_t len)
{
    if (wh->count == UFRPC_WEBHOOK_QUEUE) {
        UFRPC_LOGW(wh->log, "alert webhook %s: queue full (%d), alert dropped", wh->url.hostport,
                   UFRPC_WEBHOOK_QUEUE);
        return UFRPC_ERR_LIMIT;
    }
    char *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return UFRPC_ERR_NOMEM;
    memcpy(copy, json, len);
    struct item *it = &wh->q[(wh->head + wh->count) % UFRPC_WEBHOOK_QUEUE];
    *it = (struct item){copy, len, 0};
    wh->count++;
    start(wh);
    return 0;
}

uint64_t ufrpc_webhook_delivered(const ufrpc_webhook_t *wh)
{
    return wh ? wh->delivered : 0;
}

int ufrpc_webhook_new(uv_loop_t *loop, const char *url, struct ufrpc_log *log,
                      ufrpc_webhook_t **out)
{
    ufrpc_webhook_t *wh = calloc(1, sizeof *wh);
    if (wh == NULL)
        return UFRPC_ERR_NOMEM;
    wh->loop = loop;
    wh->log = log;
    int rc = ufrpc_url_parse(url, &wh->url);
    if (rc == 0 && wh->url.https) {
        struct ufrpc_tls_client_opts to = {.ca_file = UFRPC_SYSTEM_CA_BUNDLE,
                                           .ca_bundle = true};
        rc = ufrpc_tls_client_ctx_new(&to, &wh->tls);
    }
    if (rc == 0 && uv_timer_init(loop, &wh->timer) != 0)
        rc = UFRPC_ERR_IO;
    if (rc < 0) {
        ufrpc_tls_ctx_free(wh->tls);
        free(wh);
        return rc;
    }
    wh->timer.data = wh;
    wh->open = 1;
    llhttp_settings_init(&wh->settings);
    wh->settings.on_headers_complete = headers_cb;
    wh->settings.on_message_complete = complete_cb;
    *out = wh;
    return 0;
}

void ufrpc_webhook_free(ufrpc_webhook_t *wh)
{
    if (wh == NULL || wh->freeing)
        return;
    wh->freeing = 1;
    drop_post(wh);
    while (wh->count > 0)
        pop(wh);
    uv_timer_stop(&wh->timer);
    uv_close((uv_handle_t *)&wh->timer, on_timer_closed);
}
