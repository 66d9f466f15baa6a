/* ufrpc — OIDC client-credentials tokens on the loop (contracts in oidc.h). */
#include "client/core/oidc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#include "llhttp.h"
#include "net/dial.h"
#include "net/dial_error.h"
#include "net/tls.h"
#include "proto/error.h"
#include "proto/oauth.h"

#define REQ_MAX 8192u
#define BODY_MAX 65536u       /* a token answer is small; more is refused */
#define FETCH_TIMEOUT_MS 30000u
#define EXPIRY_DELTA_MS 10000u /* x/oauth2: a token is refreshed 10 s before it expires */
#define MAX_PARAMS 32

/* One HTTP exchange; freed when its stream has closed. */
struct fetch {
    ufrpc_oidc_t *o;
    ufrpc_dial_t *dial;
    struct ufrpc_stream *s;
    struct ufrpc_stream_write w;
    uv_buf_t b;
    char req[REQ_MAX];
    size_t req_len;
    llhttp_t parser;
    int status;
    char reason[64]; /* the status line's text, as the server wrote it */
    size_t reason_len;
    int done;
    char *body;
    size_t body_len;
    int body_over;
};

struct ufrpc_oidc {
    uv_loop_t *loop;
    struct ufrpc_url url;
    char *client_id, *client_secret, *audience, *scope, *proxy_url;
    struct ufrpc_oauth_param params[MAX_PARAMS];
    size_t nparams;
    ufrpc_tls_ctx_t *tls;
    llhttp_settings_t settings;
    int creds_in_body; /* the server refused the Basic header once */
    uv_timer_t timer;  /* the fetch's deadline, and deferred callbacks */
    struct fetch *cur;
    int tried_body;    /* this get already fell back to credentials in the body */
    ufrpc_oidc_cb cb;
    void *cb_data;
    int pending;
    /* result of a finished fetch waiting for the timer to report it */
    int result;
    char err[600];
    char *token;
    uint64_t expires_at_ms; /* 0: no expiry known (never cached) */
    int freeing;
    int open; /* fetch streams not yet closed + the timer */
};

static char *dup_wiped(const char *s)
{
    return strdup(s != NULL ? s : "");
}

static void wipe_free(char *s)
{
    if (s != NULL) {
        mbedtls_platform_zeroize(s, strlen(s));
        free(s);
    }
}

static void maybe_free(ufrpc_oidc_t *o)
{
    if (!o->freeing || o->open > 0)
        return;
    wipe_free(o->client_id);
    wipe_free(o->client_secret);
    free(o->audience);
    free(o->scope);
    free(o->proxy_url);
    for (size_t i = 0; i < o->nparams; i++) {
        free((char *)o->params[i].key);
        free((char *)o->params[i].value);
    }
    wipe_free(o->token);
    ufrpc_tls_ctx_free(o->tls);
    free(o);
}

static void on_timer_closed(uv_handle_t *h)
{
    ufrpc_oidc_t *o = h->data;
    o->open--;
    maybe_free(o);
}

static int body_cb(llhttp_t *p, const char *at, size_t len)
{
    struct fetch *f = p->data;
    if (f->body_over || len > BODY_MAX - f->body_len) {
        f->body_over = 1;
        return 0;
    }
    memcpy(f->body + f->body_len, at, len);
    f->body_len += len;
    return 0;
}

static int status_cb(llhttp_t *p, const char *at, size_t len)
{
    struct fetch *f = p->data;
    size_t room = sizeof f->reason - 1 - f->reason_len;
    if (len > room)
        len = room;
    memcpy(f->reason + f->reason_len, at, len);
    f->reason_len += len;
    f->reason[f->reason_len] = '\0';
    return 0;
}

static int headers_cb(llhttp_t *p)
{
    struct fetch *f = p->data;
    int code = llhttp_get_status_code(p);
    if (code >= 100 && code < 200) {
        f->reason_len = 0; /* an interim response: the final one's text follows */
        return 0;
    }
    f->status = code;
    return 0;
}

static int complete_cb(llhttp_t *p)
{
    struct fetch *f = p->data;
    if (f->status >= 200)
        f->done = 1;
    return HPE_PAUSED;
}

static void on_fetch_closed(struct ufrpc_stream *s)
{
    struct fetch *f = s->data;
    ufrpc_oidc_t *o = f->o;
    free(f->body);
    mbedtls_platform_zeroize(f->req, sizeof f->req);
    free(f);
    o->open--;
    maybe_free(o);
}

/* Ends the fetch in flight (its connection closes in the background). */
static void drop_fetch(ufrpc_oidc_t *o)
{
    struct fetch *f = o->cur;
    o->cur = NULL;
    if (f == NULL)
        return;
    if (f->dial != NULL) {
        ufrpc_dial_t *d = f->dial;
        f->dial = NULL;
        f->o = NULL;   /* the dial callback frees it */
        o->open--;
        ufrpc_dial_cancel(d);
        return;
    }
    if (f->s != NULL)
        ufrpc_stream_close(f->s, on_fetch_closed);
    else {
        free(f->body);
        free(f);
        o->open--;
    }
}

static void report(ufrpc_oidc_t *o)
{
    ufrpc_oidc_cb cb = o->cb;
    o->pending = 0;
    o->cb = NULL;
    uv_timer_stop(&o->timer);
    if (cb != NULL)
        cb(o->cb_data, o->result, o->result == 0 ? o->token : NULL, o->err);
    /* a token without expiry is used once (frp fetches one per use) */
    if (o->result == 0 && o->expires_at_ms == 0) {
        wipe_free(o->token);
        o->token = NULL;
    }
}

static void on_report_timer(uv_timer_t *t)
{
    report(t->data);
}

static void finish(ufrpc_oidc_t *o, int result)
{
    drop_fetch(o);
    o->result = result;
    uv_timer_start(&o->timer, on_report_timer, 0, 0);
}

static void fail(ufrpc_oidc_t *o, int rc, const char *fmt, const char *detail)
{
    char what[520];
    snprintf(what, sizeof what, fmt, detail);
    snprintf(o->err, sizeof o->err, "couldn't generate OIDC token for login: %s", what);
    finish(o, rc);
}

static void start_fetch(ufrpc_oidc_t *o);

/* The whole answer is in: a token, or x/oauth2's error (then, once, a retry with
 * the credentials in the body, as its auto-detection does). */
static void on_answer(ufrpc_oidc_t *o, struct fetch *f)
{
    if (f->status < 200 || f->status > 299) {
        if (!o->creds_in_body && !o->tried_body) {
            o->tried_body = 1;
            o->creds_in_body = 1; /* kept if this works (x/oauth2 remembers the style) */
            drop_fetch(o);
            start_fetch(o);
            return;
        }
        if (o->tried_body && o->creds_in_body)
            o->creds_in_body = 0; /* neither worked: try the header first next time */
        char detail[400];
        /* x/oauth2 prints the response's Status, i.e. the server's own words */
        int n = snprintf(detail, sizeof detail, "oauth2: cannot fetch token: %d %s\nResponse: ",
                         f->status, f->reason);
        if (n > 0 && (size_t)n < sizeof detail)
            snprintf(detail + n, sizeof detail - (size_t)n, "%.*s",
                     (int)(f->body_len < 200 ? f->body_len : 200), f->body ? f->body : "");
        fail(o, UFRPC_ERR_OIDC_TOKEN, "%s", detail);
        return;
    }
    struct ufrpc_oauth_token t;
    int rc = f->body_over ? UFRPC_ERR_LIMIT : ufrpc_oauth_parse_token(f->body, f->body_len, &t);
    if (rc == UFRPC_ERR_NOT_FOUND) {
        fail(o, UFRPC_ERR_OIDC_TOKEN, "%s", "oauth2: server response missing access_token");
        return;
    }
    if (rc < 0) {
        fail(o, rc, "oauth2: cannot parse json: %s", ufrpc_strerror(rc));
        return;
    }
    wipe_free(o->token);
    o->token = t.access_token;
    t.access_token = NULL;
    o->expires_at_ms = t.expires_in > 0 ? uv_now(o->loop) + (uint64_t)t.expires_in * 1000u : 0;
    finish(o, 0);
}

static void on_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                    size_t len)
{
    (void)buf;
    struct fetch *f = s->data;
    ufrpc_oidc_t *o = f->o;
    if (o == NULL || o->cur != f)
        return;
    if (status < 0) {
        /* an answer delimited by EOF ends here */
        if (status == UFRPC_ERR_EOF && llhttp_finish(&f->parser) == HPE_OK && f->status >= 200) {
            on_answer(o, f);
            return;
        }
        fail(o, status, "oauth2: cannot fetch token: %s", ufrpc_strerror(status));
        return;
    }
    llhttp_errno_t e = llhttp_execute(&f->parser, (const char *)data, len);
    if (f->done) {
        on_answer(o, f);
        return;
    }
    if (e != HPE_OK)
        fail(o, UFRPC_ERR_HTTP, "oauth2: cannot fetch token: malformed answer (%s)",
             llhttp_errno_name(e));
}

static void on_written(struct ufrpc_stream_write *w, int status)
{
    struct fetch *f = w->data;
    if (status < 0 && f->o != NULL && f->o->cur == f)
        fail(f->o, status, "oauth2: cannot fetch token: %s", ufrpc_strerror(status));
}

/* The connection (plain, or TLS after its handshake) is ready: send the request. */
static void send_request(ufrpc_oidc_t *o, struct fetch *f)
{
    f->s->data = f;
    f->b = uv_buf_init(f->req, (unsigned)f->req_len);
    f->w.data = f;
    int rc = ufrpc_stream_write(f->s, &f->w, &f->b, 1, on_written);
    if (rc == 0)
        rc = ufrpc_stream_read_start(f->s, on_read);
    if (rc < 0)
        fail(o, rc, "oauth2: cannot fetch token: %s", ufrpc_strerror(rc));
}

static void on_handshake(struct ufrpc_stream *s, int status)
{
    struct fetch *f = s->data;
    ufrpc_oidc_t *o = f->o;
    if (o == NULL || o->cur != f)
        return;
    if (status < 0) {
        struct ufrpc_tls_failure tf;
        char why[400] = "";
        if (ufrpc_tls_get_failure(s, &tf) == 0)
            ufrpc_tls_failure_text(&tf, why, sizeof why);
        fail(o, status, "oauth2: cannot fetch token: tls: %s",
             why[0] ? why : ufrpc_strerror(status));
        return;
    }
    send_request(o, f);
}

static void on_dialed(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data)
{
    (void)d;
    struct fetch *f = data;
    ufrpc_oidc_t *o = f->o;
    f->dial = NULL;
    if (o == NULL) { /* dropped while dialing */
        if (s != NULL)
            ufrpc_stream_close(s, NULL);
        free(f->body);
        free(f);
        return;
    }
    if (status < 0) {
        char why[400];
        ufrpc_dial_error_text(o->url.host, o->url.port, status, why, sizeof why);
        fail(o, status, "oauth2: cannot fetch token: %s", why);
        return;
    }
    if (!o->url.https) {
        f->s = s;
        send_request(o, f);
        return;
    }
    struct ufrpc_tls_conn_opts to = {.server_name = o->url.host, .handshake_timeout_ms = 10000};
    int err = 0;
    f->s = ufrpc_tls_client_new(o->tls, s, &to, on_handshake, f, &err);
    if (f->s == NULL)
        fail(o, err ? err : UFRPC_ERR_TLS, "oauth2: cannot fetch token: tls: %s",
             ufrpc_strerror(err ? err : UFRPC_ERR_TLS));
}

static void on_deadline(uv_timer_t *t)
{
    ufrpc_oidc_t *o = t->data;
    if (o->cur != NULL)
        fail(o, UFRPC_ERR_TIMEOUT, "oauth2: cannot fetch token: %s", "timed out");
}

static void start_fetch(ufrpc_oidc_t *o)
{
    struct fetch *f = calloc(1, sizeof *f);
    char *body = f != NULL ? malloc(BODY_MAX) : NULL;
    if (body == NULL) {
        free(f);
        fail(o, UFRPC_ERR_NOMEM, "%s", ufrpc_strerror(UFRPC_ERR_NOMEM));
        return;
    }
    f->o = o;
    f->body = body;
    struct ufrpc_oauth_req r = {
        .url = &o->url,
        .client_id = o->client_id,
        .client_secret = o->client_secret,
        .scope = o->scope,
        .audience = o->audience,
        .params = o->params,
        .nparams = o->nparams,
        .creds_in_body = o->creds_in_body != 0,
    };
    int rc = ufrpc_oauth_build_request(&r, f->req, sizeof f->req, &f->req_len);
    llhttp_init(&f->parser, HTTP_RESPONSE, &o->settings);
    f->parser.data = f;
    o->cur = f;
    o->open++;
    if (rc == 0) {
        struct ufrpc_dial_opts d = {.host = o->url.host,
                                    .port = o->url.port,
                                    .timeout_ms = 10000,
                                    .proxy_url = o->proxy_url};
        rc = ufrpc_dial(o->loop, &d, on_dialed, f, &f->dial);
    }
    if (rc < 0) {
        f->dial = NULL;
        fail(o, rc, "oauth2: cannot fetch token: %s", ufrpc_strerror(rc));
        return;
    }
    uv_timer_start(&o->timer, on_deadline, FETCH_TIMEOUT_MS, 0);
}

const char *ufrpc_oidc_cached(const ufrpc_oidc_t *o)
{
    if (o == NULL || o->token == NULL || o->expires_at_ms == 0)
        return NULL;
    return uv_now(o->loop) + EXPIRY_DELTA_MS < o->expires_at_ms ? o->token : NULL;
}

int ufrpc_oidc_get(ufrpc_oidc_t *o, ufrpc_oidc_cb cb, void *data)
{
    if (o->pending || o->freeing)
        return UFRPC_ERR_STATE;
    o->pending = 1;
    o->cb = cb;
    o->cb_data = data;
    o->err[0] = '\0';
    o->tried_body = 0;
    if (ufrpc_oidc_cached(o) != NULL) {
        o->result = 0;
        uv_timer_start(&o->timer, on_report_timer, 0, 0);
        return 0;
    }
    start_fetch(o);
    return 0;
}

int ufrpc_oidc_new(uv_loop_t *loop, const struct ufrpc_config *cfg, ufrpc_oidc_t **out,
                   char *err, size_t errcap)
{
    ufrpc_oidc_t *o = calloc(1, sizeof *o);
    if (o == NULL)
        return UFRPC_ERR_NOMEM;
    o->loop = loop;
    const char *url = ufrpc_cfg_str(cfg->auth.oidc.token_endpoint_url);
    int rc = ufrpc_url_parse(url, &o->url);
    if (rc < 0)
        snprintf(err, errcap, "auth.oidc.tokenEndpointURL \"%s\": not an http:// or https:// URL",
                 url);
    o->client_id = dup_wiped(cfg->auth.oidc.client_id);
    o->client_secret = dup_wiped(cfg->auth.oidc.client_secret);
    o->audience = strdup(ufrpc_cfg_str(cfg->auth.oidc.audience));
    o->scope = strdup(ufrpc_cfg_str(cfg->auth.oidc.scope));
    o->proxy_url = strdup(ufrpc_cfg_str(cfg->auth.oidc.proxy_url));
    if (rc == 0 && (!o->client_id || !o->client_secret || !o->audience || !o->scope ||
                    !o->proxy_url))
        rc = UFRPC_ERR_NOMEM;
    const struct ufrpc_cfg_map *m = &cfg->auth.oidc.additional_endpoint_params;
    for (size_t i = 0; rc == 0 && i < m->len; i++) {
        if (o->nparams >= MAX_PARAMS) {
            snprintf(err, errcap, "auth.oidc.additionalEndpointParams: more than %d", MAX_PARAMS);
            rc = UFRPC_ERR_LIMIT;
            break;
        }
        char *k = strdup(m->items[i].key), *v = strdup(m->items[i].value);
        o->params[o->nparams].key = k;
        o->params[o->nparams].value = v;
        o->nparams++;
        if (!k || !v)
            rc = UFRPC_ERR_NOMEM;
    }
    if (rc == 0 && o->url.https) {
        const char *ca = ufrpc_cfg_str(cfg->auth.oidc.trusted_ca_file);
        struct ufrpc_tls_client_opts to = {0};
        if (!cfg->auth.oidc.insecure_skip_verify) {
            /* as Go: the given CA, else the system's roots */
            to.ca_file = ca[0] ? ca : UFRPC_SYSTEM_CA_BUNDLE;
            to.ca_bundle = ca[0] == '\0';
        }
        rc = ufrpc_tls_client_ctx_new(&to, &o->tls);
        if (rc < 0)
            snprintf(err, errcap, "auth.oidc: cannot load the CA certificates from %s",
                     to.ca_file ? to.ca_file : "(none)");
    }
    if (rc == 0 && uv_timer_init(loop, &o->timer) != 0)
        rc = UFRPC_ERR_IO;
    if (rc < 0) {
        o->freeing = 1;
        maybe_free(o);
        return rc;
    }
    o->timer.data = o;
    o->open = 1;
    llhttp_settings_init(&o->settings);
    o->settings.on_headers_complete = headers_cb;
    o->settings.on_status = status_cb;
    o->settings.on_body = body_cb;
    o->settings.on_message_complete = complete_cb;
    *out = o;
    return 0;
}

void ufrpc_oidc_free(ufrpc_oidc_t *o)
{
    if (o == NULL || o->freeing)
        return;
    o->freeing = 1;
    o->cb = NULL;
    drop_fetch(o);
    uv_close((uv_handle_t *)&o->timer, on_timer_closed);
}
