/* client/health: tcp and http health checks against in-test listeners on
 * loopback, with millisecond intervals: up -> down after maxFailed consecutive
 * failures -> up again; exact request bytes; 1xx skipped; timeouts; malformed
 * responses; stop while a check is in flight and from inside the callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/core/health.h"
#include "net/nettest.h"
#include "net/tcp.h"
#include "proto/error.h"
#include "testutil.h"

/* ---- event recorder ------------------------------------------------------------- */
struct rec {
    int n;
    int ev[16];
    int err[16];
    int stop_on; /* stop the monitor from inside the callback of event #stop_on (1-based) */
    int closed;
    int fails;             /* on_fail calls */
    char fail_text[4][160]; /* the first ones' texts */
};

static void on_fail(ufrpc_health_t *h, int err, void *data)
{
    struct rec *r = data;
    if (r->fails < 4)
        ufrpc_health_failure_text(h, err, r->fail_text[r->fails], sizeof r->fail_text[0]);
    r->fails++;
}

static void on_event(ufrpc_health_t *h, enum ufrpc_health_event e, int err, void *data)
{
    struct rec *r = data;
    assert_true(r->n < 16);
    r->ev[r->n] = (int)e;
    r->err[r->n] = err;
    r->n++;
    if (r->stop_on == r->n)
        ufrpc_health_stop(h, NULL);
}

struct want_n {
    struct rec *r;
    int n;
};

static int have_n(void *arg)
{
    struct want_n *w = arg;
    return w->r->n >= w->n;
}

static void on_closed(void *data)
{
    ((struct rec *)data)->closed = 1;
}

static int is_closed(void *arg)
{
    return ((struct rec *)arg)->closed;
}

/* ---- a scripted server ------------------------------------------------------------ */
struct conn {
    struct srv *sv;
    struct ufrpc_stream *s;
    char in[4096];
    size_t in_len;
    int answered;
    struct ufrpc_stream_write w;
    uv_buf_t b;
    struct conn *next;
};

struct srv {
    ufrpc_tcp_listener_t *l;
    uint16_t port;
    int http;           /* 0: tcp (close at once) */
    const char **script; /* responses in turn; NULL entry = stay silent */
    int nscript, next;
    int accepted;
    char first_req[4096];
    char last_req[4096];
    struct conn *conns;
};

static void conn_closed(struct ufrpc_stream *s)
{
    struct conn *c = s->data;
    struct conn **pp = &c->sv->conns;
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    free(c);
}

static void resp_written(struct ufrpc_stream_write *w, int status)
{
    struct conn *c = w->data;
    (void)status;
    ufrpc_stream_close(c->s, conn_closed);
}

static void srv_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *d,
                     size_t n)
{
    struct conn *c = s->data;
    (void)buf;
    if (status < 0) {
        ufrpc_stream_read_stop(s);
        return;
    }
    if (c->answered)
        return;
    if (n > sizeof c->in - 1 - c->in_len)
        n = sizeof c->in - 1 - c->in_len;
    memcpy(c->in + c->in_len, d, n);
    c->in_len += n;
    c->in[c->in_len] = '\0';
    if (strstr(c->in, "\r\n\r\n") == NULL)
        return;
    c->answered = 1;
    struct srv *sv = c->sv;
    if (sv->first_req[0] == '\0')
        snprintf(sv->first_req, sizeof sv->first_req, "%s", c->in);
    snprintf(sv->last_req, sizeof sv->last_req, "%s", c->in);
    const char *resp = sv->next < sv->nscript ? sv->script[sv->next] : sv->script[sv->nscript - 1];
    sv->next++;
    if (resp == NULL)
        return; /* silent: keep the connection open */
    c->b = uv_buf_init((char *)(uintptr_t)resp, (unsigned)strlen(resp));
    c->w.data = c;
    assert_int_equal(ufrpc_stream_write(s, &c->w, &c->b, 1, resp_written), 0);
}

static void srv_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *s)
{
    struct srv *sv = ufrpc_tcp_listener_data(l);
    if (status < 0)
        return;
    sv->accepted++;
    struct conn *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->sv = sv;
    c->s = s;
    s->data = c;
    c->next = sv->conns;
    sv->conns = c;
    if (!sv->http) {
        ufrpc_stream_close(s, conn_closed);
        return;
    }
    assert_int_equal(ufrpc_stream_read_start(s, srv_read), 0);
}

static void srv_listen(uv_loop_t *loop, struct srv *sv, uint16_t port)
{
    int err;
    sv->l = ufrpc_tcp_listen(loop, "127.0.0.1", port, srv_accept, sv, &err);
    if (sv->l == NULL)
        fail_msg("listen on %u: %s", port, ufrpc_strerror(err));
    sv->port = ufrpc_tcp_listener_port(sv->l);
}

static void srv_unlisten(struct srv *sv)
{
    ufrpc_tcp_listener_close(sv->l, NULL);
    sv->l = NULL;
}

static void srv_close_all(struct srv *sv)
{
    if (sv->l != NULL)
        srv_unlisten(sv);
    for (struct conn *c = sv->conns; c != NULL; c = c->next)
        ufrpc_stream_close(c->s, conn_closed);
}

static void finish_loop(uv_loop_t *loop)
{
    uv_walk(loop, nt_walk_close, NULL);
    assert_true(nt_loop_drain(loop));
    assert_int_equal(uv_loop_close(loop), 0);
}

/* ---- tests -------------------------------------------------------------------------- */
static void test_tcp_up_down_up(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv sv = {0};
    srv_listen(&loop, &sv, 0);
    struct rec r = {0};
    struct ufrpc_health_opts o = {.type = UFRPC_HEALTH_TCP, .host = "127.0.0.1", .port = sv.port,
                                  .interval_ms = 10, .timeout_ms = 1000, .max_failed = 3};
    ufrpc_health_t *h;
    assert_int_equal(ufrpc_health_start(&loop, &o, on_event, &r, &h), 0);
    assert_null(ufrpc_health_request(h));
    struct want_n w1 = {&r, 1};
    assert_true(nt_run_until(&loop, have_n, &w1, 5000));
    assert_int_equal(r.ev[0], UFRPC_HEALTH_UP);
    assert_int_equal(r.err[0], 0);
    assert_true(sv.accepted >= 1);

    srv_unlisten(&sv);
    struct want_n w2 = {&r, 2};
    assert_true(nt_run_until(&loop, have_n, &w2, 5000));
    assert_int_equal(r.ev[1], UFRPC_HEALTH_DOWN);
    if (ufrpc_test_so_error_untranslated())
        /* qemu-user for mips(el) reports the host errno (testutil.h) */
        assert_true(r.err[1] < 0);
    else
        assert_int_equal(r.err[1], UFRPC_ERR_CONNECT_REFUSED);
    struct ufrpc_health_stats st;
    ufrpc_health_get_stats(h, &st);
    assert_int_equal(st.consecutive_failures, 3); /* exactly maxFailed before DOWN */
    assert_int_equal(st.up, 0);

    srv_listen(&loop, &sv, sv.port);
    struct want_n w3 = {&r, 3};
    assert_true(nt_run_until(&loop, have_n, &w3, 5000));
    assert_int_equal(r.ev[2], UFRPC_HEALTH_UP);
    ufrpc_health_get_stats(h, &st);
    assert_int_equal(st.consecutive_failures, 0);
    assert_int_equal(st.up, 1);
    assert_true(st.failures >= 3);

    ufrpc_health_stop(h, on_closed);
    assert_true(nt_run_until(&loop, is_closed, &r, 5000));
    srv_close_all(&sv);
    finish_loop(&loop);
}

static const char *http_script[] = {
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.0 204 No Content\r\n\r\n",
};

static void test_http_200_500_200(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv sv = {.http = 1, .script = http_script, .nscript = 4};
    srv_listen(&loop, &sv, 0);
    struct rec r = {0};
    struct ufrpc_cfg_kv hdrs[] = {
        {"x-multi-word", "a"}, {"x-check", "yes"}, {"X-MULTI-WORD", "b"}, {"Host", "ignored"}};
    struct ufrpc_health_opts o = {.type = UFRPC_HEALTH_HTTP, .host = "127.0.0.1", .port = sv.port,
                                  .path = "health?x=1", .headers = hdrs, .nheaders = 4,
                                  .interval_ms = 10, .timeout_ms = 1000, .max_failed = 2,
                                  .on_fail = on_fail};
    ufrpc_health_t *h;
    assert_int_equal(ufrpc_health_start(&loop, &o, on_event, &r, &h), 0);
    char want[512];
    snprintf(want, sizeof want,
             "GET /health?x=1 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUser-Agent: Go-http-client/1.1\r\n"
             "X-Check: yes\r\nX-Multi-Word: b\r\nAccept-Encoding: gzip\r\n\r\n",
             sv.port);
    assert_string_equal(ufrpc_health_request(h), want);

    struct want_n w3 = {&r, 3};
    assert_true(nt_run_until(&loop, have_n, &w3, 5000));
    assert_string_equal(sv.first_req, want);
    assert_int_equal(r.ev[0], UFRPC_HEALTH_UP);
    assert_int_equal(r.ev[1], UFRPC_HEALTH_DOWN);
    assert_int_equal(r.err[1], UFRPC_ERR_HTTP);
    assert_int_equal(r.ev[2], UFRPC_HEALTH_UP);
    struct ufrpc_health_stats st;
    ufrpc_health_get_stats(h, &st);
    assert_int_equal(st.last_status, 204);
    assert_int_equal(st.failures, 2);
    /* each failed check is reported, in frpc's words, before the DOWN it causes */
    assert_int_equal(r.fails, 2);
    assert_string_equal(r.fail_text[0], "do http health check, StatusCode is [500] not 2xx");
    assert_int_equal(st.checks, 4);

    ufrpc_health_stop(h, on_closed);
    assert_true(nt_run_until(&loop, is_closed, &r, 5000));
    srv_close_all(&sv);
    finish_loop(&loop);
}

/* A responder that answers once, then accepts and never answers: the check times
 * out (DOWN with UFRPC_ERR_TIMEOUT, maxFailed 1); stopping while the next check
 * waits on the silent server cleans everything up. Custom Host and User-Agent. */
static const char *silent_script[] = {"HTTP/1.1 299 Fine\r\n\r\n", NULL};

static void test_http_timeout_and_stop(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv sv = {.http = 1, .script = silent_script, .nscript = 2};
    srv_listen(&loop, &sv, 0);
    struct rec r = {0};
    struct ufrpc_cfg_kv hdrs[] = {{"user-agent", "probe/1"}};
    struct ufrpc_health_opts o = {.type = UFRPC_HEALTH_HTTP, .host = "127.0.0.1", .port = sv.port,
                                  .path = "/", .headers = hdrs, .nheaders = 1,
                                  .host_header = "svc.example", .interval_ms = 5,
                                  .timeout_ms = 60, .max_failed = 0};
    ufrpc_health_t *h;
    assert_int_equal(ufrpc_health_start(&loop, &o, on_event, &r, &h), 0);
    assert_string_equal(ufrpc_health_request(h),
                        "GET / HTTP/1.1\r\nHost: svc.example\r\nUser-Agent: probe/1\r\n"
                        "Accept-Encoding: gzip\r\n\r\n");
    struct want_n w2 = {&r, 2};
    assert_true(nt_run_until(&loop, have_n, &w2, 5000));
    assert_int_equal(r.ev[0], UFRPC_HEALTH_UP);
    assert_int_equal(r.ev[1], UFRPC_HEALTH_DOWN);
    assert_int_equal(r.err[1], UFRPC_ERR_TIMEOUT);
    /* wait until a further check is connected and waiting, then stop */
    int before = sv.accepted;
    while (sv.accepted == before)
        uv_run(&loop, UV_RUN_ONCE);
    ufrpc_health_stop(h, on_closed);
    assert_true(nt_run_until(&loop, is_closed, &r, 5000));
    assert_int_equal(r.n, 2); /* no callback after stop */
    srv_close_all(&sv);
    finish_loop(&loop);
}

/* Malformed response -> failure; stop from inside the DOWN callback. */
static const char *bad_script[] = {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                                   "HTTP/1.1 2x0 What\r\n\r\n"};

static void test_http_malformed_stop_in_cb(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv sv = {.http = 1, .script = bad_script, .nscript = 2};
    srv_listen(&loop, &sv, 0);
    struct rec r = {.stop_on = 2};
    struct ufrpc_health_opts o = {.type = UFRPC_HEALTH_HTTP, .host = "127.0.0.1", .port = sv.port,
                                  .path = "/x", .interval_ms = 5, .timeout_ms = 1000,
                                  .max_failed = 1};
    ufrpc_health_t *h;
    assert_int_equal(ufrpc_health_start(&loop, &o, on_event, &r, &h), 0);
    struct want_n w2 = {&r, 2};
    assert_true(nt_run_until(&loop, have_n, &w2, 5000));
    assert_int_equal(r.ev[1], UFRPC_HEALTH_DOWN);
    assert_int_equal(r.err[1], UFRPC_ERR_HTTP);
    /* stopped inside the callback: nothing more happens */
    uv_run(&loop, UV_RUN_NOWAIT);
    int accepted = sv.accepted;
    for (int i = 0; i < 20; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(sv.accepted, accepted);
    assert_int_equal(r.n, 2);
    srv_close_all(&sv);
    finish_loop(&loop);
}

/* Unreachable from the start: stays DOWN silently (no event: it never was UP). */
static void test_never_up(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv sv = {0};
    srv_listen(&loop, &sv, 0);
    uint16_t port = sv.port;
    srv_unlisten(&sv);
    struct rec r = {0};
    struct ufrpc_health_opts o = {.type = UFRPC_HEALTH_TCP, .host = "127.0.0.1", .port = port,
                                  .interval_ms = 2, .timeout_ms = 500, .max_failed = 1,
                                  .on_fail = on_fail};
    ufrpc_health_t *h;
    assert_int_equal(ufrpc_health_start(&loop, &o, on_event, &r, &h), 0);
    struct ufrpc_health_stats st = {0};
    for (int i = 0; i < 2000 && st.failures < 5; i++) {
        uv_run(&loop, UV_RUN_ONCE);
        ufrpc_health_get_stats(h, &st);
    }
    assert_true(st.failures >= 5);
    assert_int_equal(r.n, 0); /* never up: no state change */
    /* but every failure is reported (frpc logs each one), in Go's words */
    assert_int_equal((uint64_t)r.fails, st.failures);
    char want[128];
    snprintf(want, sizeof want, "dial tcp 127.0.0.1:%u: connect: connection refused", port);
    /* qemu-user for mips(el) reports the host errno (testutil.h) */
    if (!ufrpc_test_so_error_untranslated()) {
        assert_string_equal(r.fail_text[0], want);
        assert_string_equal(r.fail_text[3], want);
    }
    ufrpc_health_stop(h, on_closed);
    assert_true(nt_run_until(&loop, is_closed, &r, 5000));
    finish_loop(&loop);
}

/* Redirects are followed as Go's http.Client (frpc's check) does: relative and
 * absolute Locations, dot segments and fragments resolved, headers kept (but
 * Authorization not across hosts), at most 10 redirects, https not followed. */
static int have_checks(void *arg)
{
    struct ufrpc_health_stats st;
    ufrpc_health_get_stats(arg, &st);
    return st.checks >= 1;
}

static void test_http_redirects(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    /* second server, reached through an absolute Location */
    static const char *ok_script[] = {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"};
    struct srv sv2 = {.http = 1, .script = ok_script, .nscript = 1};
    srv_listen(&loop, &sv2, 0);
    static char abs_resp[256];
    snprintf(abs_resp, sizeof abs_resp,
             "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://localhost:%u/there?y=2\r\n"
             "Content-Length: 0\r\n\r\n",
             sv2.port);
    const char *script[] = {
        "HTTP/1.1 301 Moved Permanently\r\nLocation: /a/b/../c/./d?x=1#frag\r\n"
        "Content-Length: 0\r\n\r\n",
        "HTTP/1.1 302 Found\r\nContent-Length: 0\r\nLocation: e\r\nLocation: /ignored\r\n\r\n",
        abs_resp,
    };
    struct srv sv = {.http = 1, .script = script, .nscript = 3};
    srv_listen(&loop, &sv, 0);
    struct rec r = {0};
    struct ufrpc_cfg_kv hdrs[] = {{"Authorization", "Basic eDp5"}, {"X-Keep", "1"}};
    struct ufrpc_health_opts o = {.type = UFRPC_HEALTH_HTTP, .host = "127.0.0.1", .port = sv.port,
                                  .path = "/start", .headers = hdrs, .nheaders = 2,
                                  .interval_ms = 100000, .timeout_ms = 3000};
    ufrpc_health_t *h;
    assert_int_equal(ufrpc_health_start(&loop, &o, on_event, &r, &h), 0);
    struct want_n w1 = {&r, 1};
    assert_true(nt_run_until(&loop, have_n, &w1, 5000));
    assert_int_equal(r.ev[0], UFRPC_HEALTH_UP);
    assert_int_equal(sv.accepted, 3);
    assert_int_equal(sv2.accepted, 1);
    char want[512];
    /* the second hop: dot segments removed, fragment dropped, headers kept */
    snprintf(want, sizeof want,
             "GET /a/c/e HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUser-Agent: Go-http-client/1.1\r\n"
             "Authorization: Basic eDp5\r\nX-Keep: 1\r\nAccept-Encoding: gzip\r\n\r\n",
             sv.port);
    assert_string_equal(sv.last_req, want);
    /* another host: its Host, and no Authorization */
    snprintf(want, sizeof want,
             "GET /there?y=2 HTTP/1.1\r\nHost: localhost:%u\r\n"
             "User-Agent: Go-http-client/1.1\r\nX-Keep: 1\r\nAccept-Encoding: gzip\r\n\r\n",
             sv2.port);
    assert_string_equal(sv2.last_req, want);
    struct ufrpc_health_stats st;
    ufrpc_health_get_stats(h, &st);
    assert_int_equal(st.last_status, 200);
    ufrpc_health_stop(h, on_closed);
    assert_true(nt_run_until(&loop, is_closed, &r, 5000));
    srv_close_all(&sv);
    srv_close_all(&sv2);

    /* a redirect loop: 1 request + 10 redirects, then the check fails */
    const char *loop_script[] = {
        "HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n"};
    struct srv sv3 = {.http = 1, .script = loop_script, .nscript = 1};
    srv_listen(&loop, &sv3, 0);
    struct rec r3 = {0};
    o.port = sv3.port;
    o.nheaders = 0;
    assert_int_equal(ufrpc_health_start(&loop, &o, on_event, &r3, &h), 0);
    assert_true(nt_run_until(&loop, have_checks, h, 5000));
    ufrpc_health_get_stats(h, &st);
    assert_int_equal(st.last_err, UFRPC_ERR_HTTP);
    assert_int_equal(st.up, 0);
    assert_int_equal(sv3.accepted, 11);
    assert_int_equal(r3.n, 0);
    ufrpc_health_stop(h, on_closed);
    assert_true(nt_run_until(&loop, is_closed, &r3, 5000));
    srv_close_all(&sv3);

    /* https is not followed; a 3xx without Location is a plain failure */
    const char *tls_script[] = {
        "HTTP/1.1 301 Moved\r\nLocation: https://127.0.0.1/\r\nContent-Length: 0\r\n\r\n"};
    const char *noloc_script[] = {"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n"};
    const char **scripts[] = {tls_script, noloc_script};
    const int want_err[] = {UFRPC_ERR_UNSUPPORTED, UFRPC_ERR_HTTP};
    for (int i = 0; i < 2; i++) {
        struct srv sv4 = {.http = 1, .script = scripts[i], .nscript = 1};
        srv_listen(&loop, &sv4, 0);
        struct rec r4 = {0};
        o.port = sv4.port;
        assert_int_equal(ufrpc_health_start(&loop, &o, on_event, &r4, &h), 0);
        assert_true(nt_run_until(&loop, have_checks, h, 5000));
        ufrpc_health_get_stats(h, &st);
        assert_int_equal(st.last_err, want_err[i]);
        assert_int_equal(st.last_status, i == 0 ? 301 : 302);
        assert_int_equal(sv4.accepted, 1);
        ufrpc_health_stop(h, on_closed);
        assert_true(nt_run_until(&loop, is_closed, &r4, 5000));
        srv_close_all(&sv4);
    }
    finish_loop(&loop);
}

static void test_invalid_opts(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct rec r = {0};
    ufrpc_health_t *h = NULL;
    struct ufrpc_health_opts o = {.type = UFRPC_HEALTH_HTTP, .host = "127.0.0.1", .port = 80};
    assert_int_equal(ufrpc_health_start(&loop, &o, on_event, &r, &h), UFRPC_ERR_INVAL); /* path */
    o.path = "/a\r\nb";
    assert_int_equal(ufrpc_health_start(&loop, &o, on_event, &r, &h), UFRPC_ERR_INVAL);
    o.path = "/ok";
    struct ufrpc_cfg_kv bad_value[] = {{"X-A", "v\r\nInjected: 1"}};
    o.headers = bad_value;
    o.nheaders = 1;
    assert_int_equal(ufrpc_health_start(&loop, &o, on_event, &r, &h), UFRPC_ERR_INVAL);
    struct ufrpc_cfg_kv bad_name[] = {{"X A", "v"}};
    o.headers = bad_name;
    assert_int_equal(ufrpc_health_start(&loop, &o, on_event, &r, &h), UFRPC_ERR_INVAL);
    o.headers = NULL;
    o.nheaders = 0;
    o.port = 0;
    assert_int_equal(ufrpc_health_start(&loop, &o, on_event, &r, &h), UFRPC_ERR_INVAL);
    o.port = 80;
    o.type = (enum ufrpc_health_type)7;
    assert_int_equal(ufrpc_health_start(&loop, &o, on_event, &r, &h), UFRPC_ERR_INVAL);
    assert_null(h);
    finish_loop(&loop);
}

static void test_opts_from_config(void **state)
{
    (void)state;
    struct ufrpc_proxy_config pc;
    memset(&pc, 0, sizeof pc);
    struct ufrpc_health_opts o;
    pc.local_port = 8080;
    assert_int_equal(ufrpc_health_opts_from_config(&pc, &o), UFRPC_ERR_NOT_FOUND); /* off */
    pc.health_check.type = "tcp";
    pc.local_port = 0; /* plugin: no local port, no check (as frpc) */
    assert_int_equal(ufrpc_health_opts_from_config(&pc, &o), UFRPC_ERR_NOT_FOUND);
    pc.local_port = 8080;
    assert_int_equal(ufrpc_health_opts_from_config(&pc, &o), 0);
    assert_int_equal(o.type, UFRPC_HEALTH_TCP);
    assert_string_equal(o.host, "127.0.0.1");
    assert_int_equal(o.port, 8080);
    assert_int_equal(o.interval_ms, 0); /* defaults applied by start */
    pc.health_check.type = "http";
    pc.local_ip = "10.0.0.2";
    pc.health_check.path = "/status";
    pc.health_check.interval_seconds = 7;
    pc.health_check.timeout_seconds = 2;
    pc.health_check.max_failed = 4;
    struct ufrpc_cfg_kv kv[] = {{"x-a", "1"}};
    pc.health_check.http_headers.items = kv;
    pc.health_check.http_headers.len = 1;
    assert_int_equal(ufrpc_health_opts_from_config(&pc, &o), 0);
    assert_int_equal(o.type, UFRPC_HEALTH_HTTP);
    assert_string_equal(o.host, "10.0.0.2");
    assert_string_equal(o.path, "/status");
    assert_int_equal(o.interval_ms, 7000);
    assert_int_equal(o.timeout_ms, 2000);
    assert_int_equal(o.max_failed, 4);
    assert_int_equal(o.nheaders, 1);
    pc.health_check.type = "udp";
    assert_int_equal(ufrpc_health_opts_from_config(&pc, &o), UFRPC_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_up_down_up),
        cmocka_unit_test(test_http_200_500_200),
        cmocka_unit_test(test_http_timeout_and_stop),
        cmocka_unit_test(test_http_malformed_stop_in_cb),
        cmocka_unit_test(test_never_up),
        cmocka_unit_test(test_http_redirects),
        cmocka_unit_test(test_invalid_opts),
        cmocka_unit_test(test_opts_from_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
