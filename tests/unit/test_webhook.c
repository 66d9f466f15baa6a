/* client/core/webhook.h: delivery in order to a small HTTP server on the loop, a retry
 * after a 500, the bounded queue, and freeing with a request in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "client/core/webhook.h"
#include "proto/error.h"

/* The server: answers each request (one per connection) with 500 for the first
 * `fail_first`, then 204, and records the bodies' first bytes. */
struct srv {
    uv_tcp_t tcp;
    int port;
    int fail_first, seen;
    char bodies[8][64];
    int nbodies;
};

struct sconn {
    uv_tcp_t tcp;
    struct srv *s;
    char buf[4096];
    size_t len;
    uv_write_t w;
    int answered;
};

static void on_sclosed(uv_handle_t *h) { free(h->data); }

static void s_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)sz;
    struct sconn *c = h->data;
    *b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - 1 - c->len));
}

static void on_swritten(uv_write_t *w, int st)
{
    (void)st;
    struct sconn *c = w->data;
    uv_close((uv_handle_t *)&c->tcp, on_sclosed);
}

static void s_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    struct sconn *c = st->data;
    if (n < 0) {
        if (!c->answered)
            uv_close((uv_handle_t *)&c->tcp, on_sclosed);
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    char *body = strstr(c->buf, "\r\n\r\n");
    const char *cl = strstr(c->buf, "Content-Length: ");
    if (c->answered || body == NULL || cl == NULL)
        return;
    size_t want = (size_t)atoi(cl + 16);
    if (strlen(body + 4) < want)
        return;
    c->answered = 1;
    uv_read_stop(st);
    struct srv *s = c->s;
    s->seen++;
    int ok = s->seen > s->fail_first;
    if (ok && s->nbodies < 8)
        snprintf(s->bodies[s->nbodies++], sizeof s->bodies[0], "%s", body + 4);
    static const char r500[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
    static const char r204[] = "HTTP/1.1 204 No Content\r\n\r\n";
    uv_buf_t out = ok ? uv_buf_init((char *)r204, sizeof r204 - 1)
                      : uv_buf_init((char *)r500, sizeof r500 - 1);
    c->w.data = c;
    uv_write(&c->w, st, &out, 1, on_swritten);
}

static void on_conn(uv_stream_t *l, int st)
{
    assert_int_equal(st, 0);
    struct sconn *c = calloc(1, sizeof *c);
    c->s = l->data;
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    assert_int_equal(uv_accept(l, (uv_stream_t *)&c->tcp), 0);
    uv_read_start((uv_stream_t *)&c->tcp, s_alloc, s_read);
}

static void srv_start(uv_loop_t *loop, struct srv *s)
{
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(loop, &s->tcp);
    s->tcp.data = s;
    assert_int_equal(uv_tcp_bind(&s->tcp, (const struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->tcp, 16, on_conn), 0);
    struct sockaddr_in got;
    int len = sizeof got;
    uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&got, &len);
    s->port = ntohs(got.sin_port);
}

/* Runs the loop until cond or ~20 s of loop time. */
static void run_until(uv_loop_t *loop, int (*cond)(void *), void *arg)
{
    uint64_t end = uv_now(loop) + 20000;
    while (!cond(arg) && uv_now(loop) < end)
        uv_run(loop, UV_RUN_ONCE);
}

static ufrpc_webhook_t *g_wh;
static int delivered3(void *a)
{
    (void)a;
    return ufrpc_webhook_delivered(g_wh) >= 3;
}

static void test_delivery_and_retry(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv s = {.fail_first = 1};
    srv_start(&loop, &s);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", s.port);
    assert_int_equal(ufrpc_webhook_new(&loop, url, NULL, &g_wh), 0);
    assert_int_equal(ufrpc_webhook_post(g_wh, "{\"n\":1}", 7), 0);
    assert_int_equal(ufrpc_webhook_post(g_wh, "{\"n\":2}", 7), 0);
    assert_int_equal(ufrpc_webhook_post(g_wh, "{\"n\":3}", 7), 0);
    run_until(&loop, delivered3, NULL);
    assert_int_equal(ufrpc_webhook_delivered(g_wh), 3);
    assert_int_equal(s.seen, 4); /* the first refused, then retried (after 1 s) */
    assert_string_equal(s.bodies[0], "{\"n\":1}");
    assert_string_equal(s.bodies[1], "{\"n\":2}");
    assert_string_equal(s.bodies[2], "{\"n\":3}");
    ufrpc_webhook_free(g_wh);
    uv_close((uv_handle_t *)&s.tcp, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_bounded_and_free(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    ufrpc_webhook_t *wh;
    assert_int_equal(ufrpc_webhook_new(&loop, "ftp://x/", NULL, &wh), UFRPC_ERR_INVAL);
    /* a port nobody listens on: everything stays queued */
    assert_int_equal(ufrpc_webhook_new(&loop, "http://127.0.0.1:1/", NULL, &wh), 0);
    for (int i = 0; i < UFRPC_WEBHOOK_QUEUE; i++)
        assert_int_equal(ufrpc_webhook_post(wh, "{}", 2), 0);
    assert_int_equal(ufrpc_webhook_post(wh, "{}", 2), UFRPC_ERR_LIMIT);
    uv_run(&loop, UV_RUN_NOWAIT); /* the first attempt is under way */
    ufrpc_webhook_free(wh);       /* with a request in flight and 64 queued */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_delivery_and_retry),
                                       cmocka_unit_test(test_bounded_and_free)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
