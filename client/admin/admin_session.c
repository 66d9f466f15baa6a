/* client/admin/admin_session.c — HTTP/1.1 request parsing (llhttp) and response framing for
 * the admin API. See admin_session.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/platform_util.h>

#include "llhttp.h"

#include "client/admin/admin_internal.h"
#include "client/admin/admin_session.h"
#include "proto/error.h"
#include "proto/http_reqhead.h"

struct ufrpc_admin_session {
    const struct ufrpc_admin_session_cfg *cfg;
    llhttp_t parser;
    llhttp_settings_t settings;

    /* the request being parsed: target and headers within UFRPC_ADMIN_MAX_HEADER_BYTES,
     * counting ": " and CRLF per header */
    struct ufrpc_http_reqhead head;
    struct ufrpc_admin_buf url;  /* the target, NUL-terminated */
    struct ufrpc_admin_buf auth; /* first Authorization value, NUL-terminated */
    struct ufrpc_admin_buf body;
    bool have_auth, expect_continue;
    size_t body_seen; /* body bytes of this request so far */
    int error_status; /* 431 / 413 (limits), 500 (memory) when a callback refused */

    /* a config-file job: held until taken, then awaited (no input meanwhile) */
    struct ufrpc_admin_file_job *job;
    bool job_waiting, job_head, job_keep;

    /* output */
    struct ufrpc_admin_buf out;
    uint32_t out_delay_ms;
    bool done;
    bool stop;
};

static struct ufrpc_admin_session *from(llhttp_t *p) { return p->data; }

static void reset_request(struct ufrpc_admin_session *s)
{
    ufrpc_http_reqhead_reset(&s->head);
    s->url.len = s->auth.len = s->body.len = 0;
    s->url.failed = s->auth.failed = s->body.failed = false;
    s->have_auth = s->expect_continue = false;
    s->body_seen = 0;
}

/* The head store's answer as an llhttp callback's (431 beyond the limit, else 500). */
static int head_rc(struct ufrpc_admin_session *s, int rc)
{
    if (rc == 0)
        return 0;
    if (rc == UFRPC_ERR_LIMIT)
        s->error_status = 431;
    return HPE_USER;
}

static int on_message_begin(llhttp_t *p)
{
    reset_request(from(p));
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct ufrpc_admin_session *s = from(p);
    return head_rc(s, ufrpc_http_reqhead_url(&s->head, at, len));
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct ufrpc_admin_session *s = from(p);
    return head_rc(s, ufrpc_http_reqhead_field(&s->head, at, len));
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct ufrpc_admin_session *s = from(p);
    return head_rc(s, ufrpc_http_reqhead_value(&s->head, at, len));
}

/* The headers the API reads: the first Authorization, the last Expect. */
static void read_headers(struct ufrpc_admin_session *s)
{
    const struct ufrpc_http_reqhead *h = &s->head;
    for (size_t i = 0; i < h->nf; i++) {
        const char *v = ufrpc_http_reqhead_str(h, h->f[i].voff);
        size_t vlen = h->f[i].vlen;
        if (!s->have_auth && ufrpc_http_reqhead_is(h, i, "authorization")) {
            ufrpc_admin_buf_add(&s->auth, v, vlen);
            s->have_auth = true;
        } else if (ufrpc_http_reqhead_is(h, i, "expect")) {
            s->expect_continue = vlen == 12 && strncasecmp(v, "100-continue", 12) == 0;
        }
    }
}

static int on_headers_complete(llhttp_t *p)
{
    struct ufrpc_admin_session *s = from(p);
    read_headers(s);
    if (s->auth.failed) {
        s->error_status = 500;
        return -1;
    }
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > UFRPC_ADMIN_MAX_BODY) {
        s->error_status = 413;
        return -1; /* llhttp: error (reported as HPE_CB_HEADERS_COMPLETE) */
    }
    if (s->expect_continue && p->http_major == 1 && p->http_minor >= 1)
        ufrpc_admin_buf_str(&s->out, "HTTP/1.1 100 Continue\r\n\r\n");
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct ufrpc_admin_session *s = from(p);
    if (len > UFRPC_ADMIN_MAX_BODY - s->body_seen) {
        s->error_status = 413;
        return HPE_USER;
    }
    s->body_seen += len;
    /* only PUT (/api/config, /api/store/...) and POST (/api/store/...) use a body:
     * others are counted, not kept */
    if (p->method == HTTP_PUT || p->method == HTTP_POST)
        ufrpc_admin_buf_add(&s->body, at, len);
    return s->body.failed ? HPE_USER : 0;
}

static const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    default: return "Unknown";
    }
}

static void write_response(struct ufrpc_admin_session *s, const struct ufrpc_admin_resp *r,
                           bool head, bool close)
{
    struct ufrpc_admin_buf *o = &s->out;
    ufrpc_admin_buf_printf(o, "HTTP/1.1 %d %s\r\n", r->status, reason(r->status));
    if (r->content_type != NULL)
        ufrpc_admin_buf_printf(o, "Content-Type: %s\r\n", r->content_type);
    if (r->location != NULL)
        ufrpc_admin_buf_printf(o, "Location: %s\r\n", r->location);
    if (r->www_authenticate)
        ufrpc_admin_buf_str(o, "WWW-Authenticate: Basic realm=\"Restricted\"\r\n");
    if (r->nosniff)
        ufrpc_admin_buf_str(o, "X-Content-Type-Options: nosniff\r\n");
    ufrpc_admin_buf_printf(o, "Content-Length: %zu\r\n", r->body.len);
    if (close)
        ufrpc_admin_buf_str(o, "Connection: close\r\n");
    ufrpc_admin_buf_str(o, "\r\n");
    if (!head && r->body.len > 0)
        ufrpc_admin_buf_add(o, r->body.p, r->body.len);
    if (r->delay_ms > s->out_delay_ms)
        s->out_delay_ms = r->delay_ms;
}

/* A whole-connection error answer (malformed request, limits): then close. */
static void fail(struct ufrpc_admin_session *s, int status)
{
    struct ufrpc_admin_resp r = {.status = status, .content_type = "text/plain; charset=utf-8"};
    ufrpc_admin_buf_printf(&r.body, "%d %s", status, reason(status));
    write_response(s, &r, false, true);
    ufrpc_admin_buf_free(&r.body);
    s->done = true;
}

static int on_message_complete(llhttp_t *p)
{
    struct ufrpc_admin_session *s = from(p);
    const char *method = llhttp_method_name((llhttp_method_t)p->method);
    const struct ufrpc_http_reqhead *h = &s->head;
    ufrpc_admin_buf_add(&s->url, ufrpc_http_reqhead_str(h, h->url_off), h->url_len); /* + NUL */
    if (s->url.failed || s->url.p == NULL) {
        fail(s, 500);
        return HPE_PAUSED;
    }
    /* origin-form "/p?q", or absolute-form "http://host/p?q" */
    const char *u = s->url.p;
    if (strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0) {
        u = strchr(strstr(u, "//") + 2, '/');
        if (u == NULL)
            u = "/";
    }
    if (u[0] != '/') {
        fail(s, 400);
        return HPE_PAUSED;
    }
    size_t plen = strcspn(u, "?#");
    const char *query = u[plen] == '?' ? u + plen + 1 : "";
    char *qcopy = NULL;
    if (query[0] != '\0') {
        size_t ql = strcspn(query, "#");
        qcopy = malloc(ql + 1);
        if (qcopy != NULL) {
            memcpy(qcopy, query, ql);
            qcopy[ql] = '\0';
        }
    }
    char *path = malloc(plen + 1);
    if (path == NULL || (query[0] != '\0' && qcopy == NULL)) {
        free(path);
        free(qcopy);
        fail(s, 500);
        return HPE_PAUSED;
    }
    if (!ufrpc_admin_path_decode(u, plen, path, plen + 1)) {
        free(path);
        free(qcopy);
        fail(s, 400);
        return HPE_PAUSED;
    }
    ufrpc_admin_buf_add(&s->auth, "", 0);
    struct ufrpc_admin_req req = {
        .method = method,
        .path = path,
        .query = qcopy ? qcopy : "",
        .authorization = s->have_auth ? (s->auth.p ? s->auth.p : "") : NULL,
        .body = (const uint8_t *)s->body.p,
        .body_len = s->body.len,
    };
    struct ufrpc_admin_resp resp = {0};
    ufrpc_admin_route(s->cfg, &req, &resp);
    bool keep = llhttp_should_keep_alive(p) != 0;
    if (resp.job != NULL) {
        /* answered when the job comes back (ufrpc_admin_session_file_done) */
        s->job = resp.job;
        s->job_head = p->method == HTTP_HEAD;
        s->job_keep = keep;
    } else {
        write_response(s, &resp, p->method == HTTP_HEAD, !keep);
        if (!keep)
            s->done = true;
    }
    if (resp.stop)
        s->stop = true;
    ufrpc_admin_buf_free(&resp.body);
    free(path);
    free(qcopy);
    /* credentials are not kept beyond their request */
    if (s->auth.p != NULL)
        mbedtls_platform_zeroize(s->auth.p, s->auth.cap);
    ufrpc_http_reqhead_wipe(&s->head);
    s->body.len = 0;
    if (s->body.cap > 64 * 1024) {
        ufrpc_admin_buf_free(&s->body);
    }
    return HPE_PAUSED;
}

struct ufrpc_admin_session *ufrpc_admin_session_new(const struct ufrpc_admin_session_cfg *cfg)
{
    struct ufrpc_admin_session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->cfg = cfg;
    ufrpc_http_reqhead_init(&s->head, NULL, UFRPC_ADMIN_MAX_HEADER_BYTES, SIZE_MAX, 4);
    llhttp_settings_init(&s->settings);
    s->settings.on_message_begin = on_message_begin;
    s->settings.on_url = on_url;
    s->settings.on_header_field = on_header_field;
    s->settings.on_header_value = on_header_value;
    s->settings.on_headers_complete = on_headers_complete;
    s->settings.on_body = on_body;
    s->settings.on_message_complete = on_message_complete;
    llhttp_init(&s->parser, HTTP_REQUEST, &s->settings);
    s->parser.data = s;
    return s;
}

void ufrpc_admin_session_free(struct ufrpc_admin_session *s)
{
    if (s == NULL)
        return;
    if (s->auth.p != NULL)
        mbedtls_platform_zeroize(s->auth.p, s->auth.cap);
    ufrpc_http_reqhead_free(&s->head);
    ufrpc_admin_buf_free(&s->url);
    ufrpc_admin_buf_free(&s->auth);
    ufrpc_admin_buf_free(&s->body);
    ufrpc_admin_buf_free(&s->out);
    ufrpc_admin_file_job_finish(s->job); /* an untaken store change is undone */
    ufrpc_admin_file_job_free(s->job);
    free(s);
}

size_t ufrpc_admin_session_feed(struct ufrpc_admin_session *s, const uint8_t *data, size_t len)
{
    if (s->done || len == 0 || s->job != NULL || s->job_waiting)
        return 0;
    llhttp_errno_t e = llhttp_execute(&s->parser, (const char *)data, len);
    switch (e) {
    case HPE_OK: return len;
    case HPE_PAUSED: {
        size_t used = (size_t)((const uint8_t *)llhttp_get_error_pos(&s->parser) - data);
        llhttp_resume(&s->parser);
        return used <= len ? used : len;
    }
    case HPE_PAUSED_UPGRADE:
        /* answered like any request; no protocol switch: close afterwards */
        s->done = true;
        return len;
    default:
        /* limits hit in a callback (431/413), allocation failures (500), else 400 */
        fail(s, s->error_status ? s->error_status : e == HPE_USER ? 500 : 400);
        return len;
    }
}

bool ufrpc_admin_session_take_output(struct ufrpc_admin_session *s, uint8_t **buf, size_t *len,
                                     uint32_t *delay_ms)
{
    *buf = NULL;
    *len = 0;
    *delay_ms = 0;
    if (s->out.failed) {
        /* could not build the answer: give up on the connection */
        ufrpc_admin_buf_free(&s->out);
        s->out.failed = false;
        s->done = true;
        return false;
    }
    if (s->out.len == 0)
        return false;
    *buf = (uint8_t *)s->out.p;
    *len = s->out.len;
    *delay_ms = s->out_delay_ms;
    s->out.p = NULL;
    s->out.len = s->out.cap = 0;
    s->out_delay_ms = 0;
    return true;
}

bool ufrpc_admin_session_done(const struct ufrpc_admin_session *s) { return s->done; }

bool ufrpc_admin_session_take_stop(struct ufrpc_admin_session *s)
{
    bool r = s->stop;
    s->stop = false;
    return r;
}

void ufrpc_admin_session_eof(struct ufrpc_admin_session *s) { s->done = true; }

struct ufrpc_admin_file_job *ufrpc_admin_session_take_file_job(struct ufrpc_admin_session *s)
{
    struct ufrpc_admin_file_job *j = s->job;
    if (j != NULL) {
        s->job = NULL;
        s->job_waiting = true;
    }
    return j;
}

void ufrpc_admin_session_file_done(struct ufrpc_admin_session *s,
                                   struct ufrpc_admin_file_job *job)
{
    s->job_waiting = false;
    if (job->metrics) /* rendered here, on the loop; proc only when it was read */
        ufrpc_admin_metrics_answer(s->cfg, job->metrics, job->ran ? &job->proc : NULL,
                                   &job->resp);
    else if (job->store != NULL) /* a store change: applied or undone, then answered */
        ufrpc_admin_file_job_finish(job);
    else if (!job->ran) /* handed back unrun: answer as if the file could not be reached */
        job->resp = (struct ufrpc_admin_resp){.status = 500};
    ufrpc_admin_log_response(s->cfg->log, job->url_path, &job->resp);
    write_response(s, &job->resp, s->job_head, !s->job_keep);
    if (!s->job_keep)
        s->done = true;
    ufrpc_admin_file_job_free(job);
}
