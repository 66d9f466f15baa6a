/* libufrpc thread mode (see client/lib/ufrpc_internal.h). */
#include <stdlib.h>

#include "client/lib/ufrpc_internal.h"
#include "proto/error.h"

struct cmd {
    ufrpc__op_fn op;
    ufrpc_client *c;
    void *arg;
    int rc;
    int done;
    struct cmd *next;
};

struct ufrpc__thread {
    uv_loop_t loop;
    uv_async_t async;
    uv_thread_t tid;
    uv_mutex_t mu; /* guards everything below */
    uv_cond_t cond;
    struct cmd *head, *tail;
    int closed;     /* async handle closing: no more commands */
    int tid_known;  /* loop_tid set (by the thread itself) */
    int go;         /* 1: run the loop, -1: the start failed, end at once */
    uv_thread_t loop_tid;
    ufrpc_client *c;
    void (*on_closed)(ufrpc_client *c);
};

/* Completes every queued command with rc (under the lock). */
static void finish_all(struct ufrpc__thread *t, int rc)
{
    for (struct cmd *q = t->head; q; q = q->next) {
        q->rc = rc;
        q->done = 1;
    }
    t->head = t->tail = NULL;
    uv_cond_broadcast(&t->cond);
}

static void on_async(uv_async_t *a)
{
    struct ufrpc__thread *t = a->data;
    for (;;) {
        uv_mutex_lock(&t->mu);
        struct cmd *q = t->head;
        if (q) {
            t->head = q->next;
            if (!t->head)
                t->tail = NULL;
        }
        uv_mutex_unlock(&t->mu);
        if (!q)
            return;
        int rc = q->op(q->c, q->arg); /* may close the handle (a stop): fine */
        uv_mutex_lock(&t->mu);
        q->rc = rc;
        q->done = 1;
        uv_cond_broadcast(&t->cond);
        uv_mutex_unlock(&t->mu);
    }
}

static void thread_main(void *arg)
{
    struct ufrpc__thread *t = arg;
    uv_mutex_lock(&t->mu);
    while (t->go == 0)
        uv_cond_wait(&t->cond, &t->mu);
    int go = t->go;
    if (go > 0) {
        t->loop_tid = uv_thread_self();
        t->tid_known = 1;
    }
    uv_mutex_unlock(&t->mu);
    if (go > 0)
        uv_run(&t->loop, UV_RUN_DEFAULT);
}

static void release(struct ufrpc__thread *t, int go)
{
    uv_mutex_lock(&t->mu);
    t->go = go;
    uv_cond_broadcast(&t->cond);
    uv_mutex_unlock(&t->mu);
}

int ufrpc__thread_start(ufrpc_client *c, int (*init)(ufrpc_client *c, uv_loop_t *loop),
                        struct ufrpc__thread **out)
{
    struct ufrpc__thread *t = calloc(1, sizeof *t);
    if (!t)
        return UFRPC_ERR_NOMEM;
    t->c = c;
    if (uv_loop_init(&t->loop) != 0) {
        free(t);
        return UFRPC_ERR_IO;
    }
    if (uv_mutex_init(&t->mu) != 0) {
        uv_loop_close(&t->loop);
        free(t);
        return UFRPC_ERR_IO;
    }
    if (uv_cond_init(&t->cond) != 0) {
        uv_mutex_destroy(&t->mu);
        uv_loop_close(&t->loop);
        free(t);
        return UFRPC_ERR_IO;
    }
    /* the thread exists before init puts anything on the loop, and waits for it: a
     * thread that cannot be created leaves nothing behind */
    int rc = uv_async_init(&t->loop, &t->async, on_async) ? UFRPC_ERR_IO : 0;
    t->async.data = t;
    if (!rc && uv_thread_create(&t->tid, thread_main, t) != 0) {
        uv_close((uv_handle_t *)&t->async, NULL);
        rc = UFRPC_ERR_IO;
    } else if (!rc) {
        *out = t;
        rc = init(c, &t->loop); /* fails before it leaves anything on the loop */
        release(t, rc ? -1 : 1);
        if (rc) {
            uv_thread_join(&t->tid);
            uv_close((uv_handle_t *)&t->async, NULL);
        }
    }
    if (rc) {
        *out = NULL;
        uv_run(&t->loop, UV_RUN_DEFAULT); /* the async handle's close */
        uv_loop_close(&t->loop);
        uv_cond_destroy(&t->cond);
        uv_mutex_destroy(&t->mu);
        free(t);
    }
    return rc;
}

int ufrpc__thread_call(struct ufrpc__thread *t, ufrpc__op_fn op, ufrpc_client *c, void *arg,
                       int *ran)
{
    struct cmd q = {.op = op, .c = c, .arg = arg};
    uv_mutex_lock(&t->mu);
    if (t->tid_known) {
        uv_thread_t self = uv_thread_self();
        if (uv_thread_equal(&self, &t->loop_tid)) {
            uv_mutex_unlock(&t->mu);
            *ran = 0;
            return 0;
        }
    }
    *ran = 1;
    if (t->closed) {
        uv_mutex_unlock(&t->mu);
        return UFRPC_ERR_STATE;
    }
    if (t->tail)
        t->tail->next = &q;
    else
        t->head = &q;
    t->tail = &q;
    uv_async_send(&t->async);
    while (!q.done)
        uv_cond_wait(&t->cond, &t->mu);
    uv_mutex_unlock(&t->mu);
    return q.rc;
}

static void on_async_closed(uv_handle_t *h)
{
    struct ufrpc__thread *t = h->data;
    if (t->on_closed)
        t->on_closed(t->c);
}

void ufrpc__thread_close(struct ufrpc__thread *t, void (*cb)(ufrpc_client *c))
{
    uv_mutex_lock(&t->mu);
    t->closed = 1;
    finish_all(t, UFRPC_ERR_STATE);
    uv_mutex_unlock(&t->mu);
    t->on_closed = cb;
    uv_close((uv_handle_t *)&t->async, on_async_closed);
}

void ufrpc__thread_join(struct ufrpc__thread *t)
{
    if (!t)
        return;
    uv_thread_join(&t->tid);
    if (uv_loop_close(&t->loop) != 0) { /* (nothing should be left: close what is) */
        uv_run(&t->loop, UV_RUN_DEFAULT);
        uv_loop_close(&t->loop);
    }
    uv_cond_destroy(&t->cond);
    uv_mutex_destroy(&t->mu);
    free(t);
}
