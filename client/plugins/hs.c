/* ufrpc — HTTP/1.1 server side of the HTTP plugins (see client/plugins/hs.h). */
#include "client/plugins/hs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

static void drive(struct hs *h);
static void teardown(struct hs *h, bool graceful);

/* ---- refcount and teardown ----------------------------------------------------- */

void ufrpc_hs_ref(struct hs *h)
{
    h->refs++;
}

void ufrpc_hs_unref(struct hs *h)
{
    if (--h->refs > 0)
        return;
    if (h->handler->destroy != NULL)
        h->handler->destroy(h);
    ufrpc_rbuf_unref(h->in_buf);
    ufrpc_http_reqhead_free(&h->head);
    ufrpc_pl_pconn_done(&h->base);
    free(h);
}

static void on_timer_closed(uv_handle_t *t)
{
    ufrpc_hs_unref(t->data);
}

static void on_down_closed(struct ufrpc_stream *s)
{
    struct hs *h = s->data;
    h->down = NULL;
    uv_close((uv_handle_t *)&h->timer, on_timer_closed);
    ufrpc_hs_unref(h);
}

static void on_shutdown_done(struct ufrpc_stream *s, int status)
{
    (void)status;
    ufrpc_stream_close(s, on_down_closed);
}

static void on_timer(uv_timer_t *t);

static void teardown(struct hs *h, bool graceful)
{
    if (h->closing) {
        if (!graceful && h->down != NULL)
            ufrpc_stream_close(h->down, on_down_closed); /* no-op when already closing */
        return;
    }
    h->closing = true;
    if (h->handler->on_teardown != NULL)
        h->handler->on_teardown(h);
    ufrpc_rbuf_unref(h->in_buf);
    h->in_buf = NULL;
    h->in_len = 0;
    if (h->down == NULL) { /* detached */
        uv_close((uv_handle_t *)&h->timer, on_timer_closed);
        ufrpc_hs_unref(h);
        return;
    }
    ufrpc_stream_read_stop(h->down);
    if (graceful && ufrpc_stream_shutdown(h->down, on_shutdown_done) == 0) {
        uv_timer_start(&h->timer, on_timer, 5000, 0); /* bound the flush */
        return;
    }
    uv_timer_stop(&h->timer);
    ufrpc_stream_close(h->down, on_down_closed);
}

void ufrpc_hs_fail(struct hs *h, int err, const char *fmt, ...)
{
    if (fmt != NULL && !h->closing) {
        char msg[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        ufrpc_pl_pconn_fail(&h->base, err, "%s", msg);
    }
    teardown(h, false);
}

void ufrpc_hs_end(struct hs *h)
{
    teardown(h, true);
}

static void hs_abort(struct pconn *c)
{
    teardown((struct hs *)c, false);
}

static void on_timer(uv_timer_t *t)
{
    struct hs *h = t->data;
    if (h->closing) {
        teardown(h, false);
        return;
    }
    if (h->head.len > 0 && !h->head_done)
        ufrpc_hs_fail(h, UFRPC_ERR_TIMEOUT, "HTTP request head not complete after %u ms",
                      (unsigned)h->base.plugin->idle_timeout_ms);
    else
        teardown(h, false); /* idle keep-alive connection */
}

/* ---- writes -------------------------------------------------------------------- */

bool ufrpc_hs_down_congested(const struct hs *h)
{
    return h->down != NULL && ufrpc_stream_queued(h->down) > HS_MAX_INFLIGHT;
}

static void on_down_written(void *arg, int status)
{
    struct hs *h = arg;
    if (status < 0 && !h->closing)
        teardown(h, false);
    else if (!h->closing && h->handler->on_drain != NULL &&
             ufrpc_stream_queued(h->down) <= HS_MAX_INFLIGHT / 2)
        h->handler->on_drain(h);
    ufrpc_hs_unref(h);
}

int ufrpc_hs_write(struct hs *h, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len)
{
    if (h->closing || h->down == NULL)
        return UFRPC_ERR_CLOSED;
    if (len == 0)
        return 0;
    h->resp_started = true;
    int rc = ufrpc_pl_write(h->down, buf, data, len, on_down_written, h);
    if (rc == 0)
        ufrpc_hs_ref(h);
    return rc;
}

void ufrpc_hs_simple_response(struct hs *h, int status, const char *reason,
                              const char *extra_headers, const char *body, bool close)
{
    char head[1024];
    size_t blen = body != NULL ? strlen(body) : 0;
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n%s%s\r\n",
                     status, reason, blen, extra_headers != NULL ? extra_headers : "",
                     close ? "Connection: close\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof head) {
        ufrpc_hs_fail(h, UFRPC_ERR_LIMIT, "response head too long");
        return;
    }
    int rc = ufrpc_hs_write(h, NULL, (const uint8_t *)head, (size_t)n);
    if (rc == 0 && blen > 0 && ufrpc_hs_method_id(h) != HTTP_HEAD)
        rc = ufrpc_hs_write(h, NULL, (const uint8_t *)body, blen);
    if (rc < 0) {
        ufrpc_hs_fail(h, rc, NULL);
        return;
    }
    ufrpc_hs_response_done(h, !close);
}

static void on_delay(uv_timer_t *t)
{
    struct hs *h = t->data;
    if (h->closing || h->delayed.status == 0)
        return;
    int st = h->delayed.status;
    h->delayed.status = 0;
    ufrpc_hs_simple_response(h, st, h->delayed.reason, h->delayed.extra, h->delayed.body,
                             h->delayed.close);
    ufrpc_hs_resume(h);
}

int ufrpc_hs_delayed_response(struct hs *h, uint32_t delay_ms, int status, const char *reason,
                              const char *extra_headers, const char *body, bool close)
{
    h->delayed.status = status;
    h->delayed.reason = reason;
    h->delayed.extra = extra_headers;
    h->delayed.body = body;
    h->delayed.close = close;
    uv_timer_start(&h->timer, on_delay, delay_ms, 0);
    return HS_PAUSE;
}

/* ---- exchange sequencing ---------------------------------------------------------- */

static void next_request(struct hs *h)
{
    h->req_done = false;
    h->head_done = false;
    h->resp_done = false;
    h->resp_started = false;
    ufrpc_http_reqhead_reset(&h->head);
    uv_timer_start(&h->timer, on_timer, h->base.plugin->idle_timeout_ms, 0);
    if (!h->in_drive)
        drive(h);
}

static void finish_exchange(struct hs *h)
{
    if (h->must_close || !h->req_keep_alive || h->down_eof)
        ufrpc_hs_end(h);
    else
        next_request(h);
}

void ufrpc_hs_response_done(struct hs *h, bool keep_alive)
{
    if (h->closing)
        return;
    h->resp_done = true;
    if (!keep_alive)
        h->must_close = true;
    if (h->req_done)
        finish_exchange(h);
    else if (h->must_close)
        ufrpc_hs_end(h); /* the rest of the request body is not wanted */
}

void ufrpc_hs_resume(struct hs *h)
{
    if (!h->paused || h->closing)
        return;
    h->paused = false;
    h->poke = true;
    if (!h->in_drive)
        drive(h);
}

void ufrpc_hs_kick(struct hs *h)
{
    if (!h->closing && !h->in_drive)
        drive(h);
}

/* ---- llhttp callbacks ----------------------------------------------------------- */

/* The head store's answer as an llhttp callback's: its refusals are answered 431
 * (limits) or 503 (no memory) by bad_request. */
static int head_rc(struct hs *h, int rc)
{
    if (rc == 0)
        return 0;
    h->head_error = rc == UFRPC_ERR_LIMIT ? 431 : 503;
    return -1;
}

static int cb_message_begin(llhttp_t *p)
{
    struct hs *h = p->data;
    ufrpc_http_reqhead_reset(&h->head);
    h->head_done = false;
    return 0;
}

static int cb_url(llhttp_t *p, const char *at, size_t len)
{
    struct hs *h = p->data;
    return head_rc(h, ufrpc_http_reqhead_url(&h->head, at, len));
}

static int cb_field(llhttp_t *p, const char *at, size_t len)
{
    struct hs *h = p->data;
    return head_rc(h, ufrpc_http_reqhead_field(&h->head, at, len));
}

static int cb_value(llhttp_t *p, const char *at, size_t len)
{
    struct hs *h = p->data;
    return head_rc(h, ufrpc_http_reqhead_value(&h->head, at, len));
}

static int cb_headers_complete(llhttp_t *p)
{
    struct hs *h = p->data;
    uv_timer_stop(&h->timer);
    h->head_done = true;
    h->req_keep_alive = llhttp_should_keep_alive(p) != 0;
    if (p->method == HTTP_CONNECT)
        return 0; /* llhttp ends the message and reports HPE_PAUSED_UPGRADE */
    int r = h->handler->on_head(h);
    if (h->closing || r < 0)
        return -1;
    if (r == HS_PAUSE) {
        h->paused = true;
        return HPE_PAUSED;
    }
    return 0;
}

static int cb_body(llhttp_t *p, const char *at, size_t len)
{
    struct hs *h = p->data;
    if (h->handler->on_body != NULL)
        h->handler->on_body(h, h->cur_buf, (const uint8_t *)at, len);
    return h->closing ? -1 : 0;
}

static int cb_message_complete(llhttp_t *p)
{
    struct hs *h = p->data;
    if (p->method == HTTP_CONNECT)
        return 0;
    h->req_done = true;
    if (h->handler->on_end != NULL)
        h->handler->on_end(h);
    if (h->closing)
        return -1;
    if (llhttp_get_upgrade(p)) {
        h->must_close = true; /* upgrades are not forwarded: no more requests */
        return 0;
    }
    if (h->resp_done)
        finish_exchange(h);
    return h->closing ? -1 : HPE_PAUSED;
}

/* ---- input --------------------------------------------------------------------- */

static bool up_congested(const struct hs *h)
{
    return h->up != NULL && ufrpc_stream_queued(h->up) > HS_MAX_INFLIGHT;
}

static void on_down_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                         size_t len);

static void update_reading(struct hs *h)
{
    if (h->closing || h->down == NULL)
        return;
    bool want = !h->paused && !h->req_done && h->in_len == 0 && !h->down_eof && !up_congested(h);
    if (want && !h->down_reading) {
        h->down_reading = true;
        if (ufrpc_stream_read_start(h->down, on_down_read) < 0)
            ufrpc_hs_fail(h, UFRPC_ERR_IO, NULL);
    } else if (!want && h->down_reading) {
        h->down_reading = false;
        ufrpc_stream_read_stop(h->down);
    }
}

static void bad_request(struct hs *h, llhttp_errno_t e)
{
    int status = h->head_error ? h->head_error : 400;
    const char *text = status == 431   ? "Request Header Fields Too Large"
                       : status == 503 ? "Service Unavailable"
                                       : "Bad Request";
    if (status == 431)
        ufrpc_pl_pconn_fail(&h->base, UFRPC_ERR_LIMIT,
                            "HTTP request head over %u bytes or %u fields",
                            (unsigned)UFRPC_PLUGIN_MAX_HEAD, (unsigned)UFRPC_PLUGIN_MAX_HEADERS);
    else
        ufrpc_pl_pconn_fail(&h->base, UFRPC_ERR_HTTP, "malformed HTTP request: %s (%s)",
                            llhttp_errno_name(e), llhttp_get_error_reason(&h->parser));
    if (h->resp_started) {
        teardown(h, false);
        return;
    }
    h->must_close = true;
    char body[64];
    snprintf(body, sizeof body, "%d %s\n", status, text);
    h->req_done = true;
    ufrpc_hs_simple_response(h, status, text, NULL, body, true);
}

static void drive(struct hs *h)
{
    h->in_drive = true;
    while (!h->closing && !h->paused && !h->req_done && (h->in_len > 0 || h->poke) &&
           !up_congested(h)) {
        /* poke: after a pause in on_headers_complete, llhttp still has to run
         * the steps that need no input (end of a body-less message) */
        h->poke = false;
        h->cur_buf = h->in_buf;
        const char *d = h->in_len > 0 ? (const char *)h->in_data : "";
        llhttp_errno_t e = llhttp_execute(&h->parser, d, h->in_len);
        h->cur_buf = NULL;
        if (h->closing)
            break;
        size_t used = h->in_len;
        if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
            used = (size_t)(llhttp_get_error_pos(&h->parser) - d);
            if (e == HPE_PAUSED)
                llhttp_resume(&h->parser);
        } else if (e != HPE_OK) {
            bad_request(h, e);
            break;
        }
        h->in_data += used;
        h->in_len -= used;
        if (e == HPE_PAUSED_UPGRADE) {
            if (h->parser.method == HTTP_CONNECT && h->handler->on_connect != NULL) {
                h->in_drive = false;
                h->paused = true; /* the tunnel takes the pending bytes */
                update_reading(h);
                h->handler->on_connect(h);
                return;
            }
            if (h->parser.method == HTTP_CONNECT) {
                h->req_done = true;
                ufrpc_hs_simple_response(h, 405, "Method Not Allowed", NULL,
                                         "CONNECT not allowed\n", true);
                break;
            }
            if (h->handler->upgrades) {
                h->paused = true; /* the handler decides when its response arrives */
                break;
            }
            /* bytes after an Upgrade request are not HTTP: drop them */
            h->in_len = 0;
            break;
        }
    }
    if (h->in_len == 0 && h->in_buf != NULL) {
        ufrpc_rbuf_unref(h->in_buf);
        h->in_buf = NULL;
    }
    h->in_drive = false;
    update_reading(h);
}

static void on_down_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                         size_t len)
{
    struct hs *h = s->data;
    if (status < 0) {
        h->down_reading = false;
        if (status != UFRPC_ERR_EOF) {
            ufrpc_hs_fail(h, status, NULL);
            return;
        }
        h->down_eof = true;
        if (h->head_done && !h->req_done) {
            /* a body delimited by EOF does not exist for requests */
            ufrpc_hs_fail(h, UFRPC_ERR_HTTP, "client closed in the middle of a request body");
        } else if (!h->head_done && h->head.len > 0) {
            ufrpc_hs_fail(h, UFRPC_ERR_HTTP, "client closed in the middle of a request head");
        } else if (!h->head_done) {
            teardown(h, true); /* idle: done */
        }
        /* else: waiting for the response; end after it */
        return;
    }
    if (len == 0)
        return;
    ufrpc_rbuf_ref(buf);
    h->in_buf = buf;
    h->in_data = data;
    h->in_len = len;
    drive(h);
}

/* ---- head accessors -------------------------------------------------------------- */

const char *ufrpc_hs_method(struct hs *h)
{
    return llhttp_method_name((llhttp_method_t)h->parser.method);
}

int ufrpc_hs_method_id(struct hs *h)
{
    return h->parser.method;
}

const char *ufrpc_hs_header(struct hs *h, const char *name, size_t *len)
{
    return ufrpc_http_reqhead_get(&h->head, name, len);
}

bool ufrpc_hs_auth_ok(struct hs *h, const char *header)
{
    const struct ufrpc_plugin_config *c = h->base.plugin->cfg;
    bool need = (c->http_user != NULL && c->http_user[0] != '\0') ||
                (c->http_password != NULL && c->http_password[0] != '\0');
    if (!need)
        return true;
    size_t len;
    const char *v = ufrpc_hs_header(h, header, &len);
    return ufrpc_pl_basic_auth_ok(v, len, c->http_user, c->http_password);
}

struct ufrpc_stream *ufrpc_hs_detach(struct hs *h, ufrpc_rbuf_t **buf, const uint8_t **data,
                                     size_t *len)
{
    struct ufrpc_stream *s = h->down;
    if (h->down_reading)
        ufrpc_stream_read_stop(s);
    h->down_reading = false;
    *buf = h->in_buf;
    *data = h->in_data;
    *len = h->in_len;
    h->in_buf = NULL;
    h->in_len = 0;
    h->down = NULL;
    s->data = NULL;
    teardown(h, false);
    return s;
}

/* ---- start ------------------------------------------------------------------------ */

int ufrpc_hs_start(ufrpc_plugin_t *p, struct ufrpc_stream *down, const struct hs_handler *handler,
                   void *ctx, const char *src_addr, bool tls)
{
    struct hs *h = calloc(1, sizeof *h);
    if (h == NULL) {
        if (handler->destroy != NULL) {
            struct hs tmp = {.ctx = ctx};
            handler->destroy(&tmp);
        }
        ufrpc_stream_close(down, NULL);
        return UFRPC_ERR_NOMEM;
    }
    h->handler = handler;
    h->ctx = ctx;
    h->down = down;
    h->tls = tls;
    down->data = h;
    snprintf(h->src_addr, sizeof h->src_addr, "%s", src_addr != NULL ? src_addr : "");
    ufrpc_http_reqhead_init(&h->head, NULL, UFRPC_PLUGIN_MAX_HEAD, UFRPC_PLUGIN_MAX_HEADERS, 0);
    llhttp_settings_init(&h->settings);
    h->settings.on_message_begin = cb_message_begin;
    h->settings.on_url = cb_url;
    h->settings.on_header_field = cb_field;
    h->settings.on_header_value = cb_value;
    h->settings.on_headers_complete = cb_headers_complete;
    h->settings.on_body = cb_body;
    h->settings.on_message_complete = cb_message_complete;
    llhttp_init(&h->parser, HTTP_REQUEST, &h->settings);
    h->parser.data = h;
    uv_timer_init(p->loop, &h->timer);
    h->timer.data = h;
    h->refs = 2; /* down stream, timer */
    ufrpc_pl_pconn_add(p, &h->base, hs_abort);
    uv_timer_start(&h->timer, on_timer, p->idle_timeout_ms, 0);
    update_reading(h);
    return 0;
}
