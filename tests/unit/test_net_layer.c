/* net/layer: the lifecycle every layered stream shares. A fake lower stream (its
 * close completes from the loop, after a pending shutdown callback runs with
 * UFRPC_ERR_CANCELED, as net/stream.h says) under a minimal layered stream with
 * one timer handle. Checks: init wires the streams; reads start and stop once and
 * report a refused start; close runs lower_closed after the lower stream's
 * pending callbacks, then the close callback, then destroy, each once, and only
 * when the lower stream and every handle are closed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/layer.h"
#include "net/nettest.h"
#include "proto/error.h"

#define MAX_EV 16

struct fx {
    uv_loop_t loop;
    const char *ev[MAX_EV];
    int nev;
    int shut_status;
};

static void ev(struct fx *f, const char *what)
{
    assert_true(f->nev < MAX_EV);
    f->ev[f->nev++] = what;
}

/* ---- the fake lower stream ---------------------------------------------------------- */
struct fake {
    struct ufrpc_stream s;
    struct fx *f;
    uv_idle_t idle;
    int starts, stops, start_rc;
    int shut_pending;
};

static int fake_read_start(struct ufrpc_stream *s)
{
    struct fake *k = (struct fake *)s;
    if (k->start_rc < 0)
        return k->start_rc;
    k->starts++;
    return 0;
}
static int fake_read_stop(struct ufrpc_stream *s)
{
    ((struct fake *)s)->stops++;
    return 0;
}
static int fake_shutdown(struct ufrpc_stream *s)
{
    ((struct fake *)s)->shut_pending = 1; /* completes only through close */
    return 0;
}
static void fake_freed(uv_handle_t *h)
{
    struct fake *k = h->data;
    ev(k->f, "lower close_cb");
    k->s.close_cb(&k->s);
    free(k);
}
static void fake_close_later(uv_idle_t *i)
{
    struct fake *k = i->data;
    uv_idle_stop(i);
    if (k->shut_pending)
        k->s.shutdown_cb(&k->s, UFRPC_ERR_CANCELED);
    uv_close((uv_handle_t *)i, fake_freed);
}
static void fake_close(struct ufrpc_stream *s)
{
    struct fake *k = (struct fake *)s;
    uv_idle_start(&k->idle, fake_close_later);
}
static const struct ufrpc_stream_vt fake_vt = {
    .read_start = fake_read_start,
    .read_stop = fake_read_stop,
    .shutdown = fake_shutdown,
    .close = fake_close,
};

static struct fake *fake_new(struct fx *f)
{
    struct fake *k = calloc(1, sizeof *k);
    assert_non_null(k);
    k->s.vt = &fake_vt;
    k->s.loop = &f->loop;
    k->f = f;
    uv_idle_init(&f->loop, &k->idle);
    k->idle.data = k;
    return k;
}

/* ---- the layered stream ------------------------------------------------------------- */
struct up {
    struct ufrpc_stream s;
    struct ufrpc_layer layer;
    uv_timer_t timer;
};

static void up_close(struct ufrpc_stream *s)
{
    struct up *u = (struct up *)s;
    uv_handle_t *const hs[] = {(uv_handle_t *)&u->timer};
    ufrpc_layer_close(&u->layer, hs, 1);
}
static const struct ufrpc_stream_vt up_vt = {.close = up_close};

static void up_lower_closed(struct ufrpc_stream *s)
{
    ev(s->data, "lower_closed");
}
static void up_destroy(struct ufrpc_stream *s)
{
    ev(s->data, "destroy");
    free(s);
}
static void up_closed(struct ufrpc_stream *s)
{
    ev(s->data, "close_cb");
}
static void on_lower_shut(struct ufrpc_stream *l, int status)
{
    struct ufrpc_stream *s = ufrpc_layer_up(l); /* still the layer's during close */
    struct fx *f = s->data;
    f->shut_status = status;
    ev(f, "lower shutdown_cb");
}
static void on_read(struct ufrpc_stream *l, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                    size_t len)
{
    (void)l, (void)status, (void)buf, (void)data, (void)len;
    fail_msg("no delivery expected");
}
static void on_tick(uv_timer_t *t)
{
    (void)t;
    fail_msg("a closed handle's callback ran");
}

static int p_destroyed(void *x)
{
    struct fx *f = x;
    return f->nev > 0 && strcmp(f->ev[f->nev - 1], "destroy") == 0;
}

static void test_layer_lifecycle(void **state)
{
    (void)state;
    struct fx f;
    memset(&f, 0, sizeof f);
    assert_int_equal(uv_loop_init(&f.loop), 0);
    struct fake *k = fake_new(&f);
    struct up *u = calloc(1, sizeof *u);
    assert_non_null(u);
    ufrpc_layer_init(&u->layer, &u->s, &up_vt, &f, &k->s, up_lower_closed, up_destroy);
    assert_ptr_equal(u->s.vt, &up_vt);
    assert_ptr_equal(u->s.loop, &f.loop);
    assert_ptr_equal(u->s.data, &f);
    assert_ptr_equal(u->layer.lower, &k->s);
    assert_ptr_equal(ufrpc_layer_up(&k->s), &u->s);
    uv_timer_init(&f.loop, &u->timer);
    u->timer.data = u;
    uv_timer_start(&u->timer, on_tick, 1, 0); /* active when closed: must not fire */

    /* reads: started and stopped once each, however often asked */
    assert_int_equal(ufrpc_layer_read(&u->layer, 1, on_read), 0);
    assert_int_equal(ufrpc_layer_read(&u->layer, 1, on_read), 0);
    assert_int_equal(k->starts, 1);
    assert_true(u->layer.lower_reading);
    assert_int_equal(ufrpc_layer_read(&u->layer, 0, NULL), 0);
    assert_int_equal(ufrpc_layer_read(&u->layer, 0, NULL), 0);
    assert_int_equal(k->stops, 1);
    assert_false(u->layer.lower_reading);
    /* a start the lower stream refuses */
    k->start_rc = UFRPC_ERR_STATE;
    assert_int_equal(ufrpc_layer_read(&u->layer, 1, on_read), UFRPC_ERR_STATE);
    assert_false(u->layer.lower_reading);

    /* close with a lower shutdown pending */
    assert_int_equal(ufrpc_stream_shutdown(&k->s, on_lower_shut), 0);
    ufrpc_stream_close(&u->s, up_closed);
    assert_int_equal(f.nev, 0); /* nothing from inside close */
    assert_true(nt_run_until(&f.loop, p_destroyed, &f, 2000));
    static const char *const want[] = {"lower shutdown_cb", "lower close_cb", "lower_closed",
                                       "close_cb", "destroy"};
    assert_int_equal(f.nev, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(f.ev[i], want[i]);
    assert_int_equal(f.shut_status, UFRPC_ERR_CANCELED);
    assert_int_equal(uv_run(&f.loop, UV_RUN_NOWAIT), 0);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

/* No handles and no lower_closed hook: the lower stream alone gates the end. */
static void test_layer_no_handles(void **state)
{
    (void)state;
    struct fx f;
    memset(&f, 0, sizeof f);
    assert_int_equal(uv_loop_init(&f.loop), 0);
    struct fake *k = fake_new(&f);
    struct ufrpc_stream *u = calloc(1, sizeof(struct up));
    assert_non_null(u);
    struct up *up = (struct up *)u;
    ufrpc_layer_init(&up->layer, u, &up_vt, &f, &k->s, NULL, up_destroy);
    ufrpc_layer_close(&up->layer, NULL, 0);
    assert_true(nt_run_until(&f.loop, p_destroyed, &f, 2000));
    assert_int_equal(f.nev, 2);
    assert_string_equal(f.ev[0], "lower close_cb");
    assert_string_equal(f.ev[1], "destroy");
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_lifecycle),
        cmocka_unit_test(test_layer_no_handles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
