/* ufrpc — lifecycle of a layered stream (see layer.h). */
#include "net/layer.h"

void ufrpc_layer_init(struct ufrpc_layer *l, struct ufrpc_stream *up,
                      const struct ufrpc_stream_vt *vt, void *data, struct ufrpc_stream *lower,
                      ufrpc_layer_fn lower_closed, ufrpc_layer_fn destroy)
{
    up->vt = vt;
    up->loop = lower->loop;
    up->data = data;
    l->up = up;
    l->lower = lower;
    l->lower_reading = 0;
    l->open = 0;
    l->lower_closed = lower_closed;
    l->destroy = destroy;
    lower->data = l;
}

int ufrpc_layer_read(struct ufrpc_layer *l, int want, ufrpc_stream_read_cb cb)
{
    if (want && !l->lower_reading) {
        l->lower_reading = 1; /* first: a delivery from inside may end it */
        int rc = ufrpc_stream_read_start(l->lower, cb);
        if (rc < 0) {
            l->lower_reading = 0;
            return rc;
        }
    } else if (!want && l->lower_reading) {
        l->lower_reading = 0;
        ufrpc_stream_read_stop(l->lower);
    }
    return 0;
}

static void closed_one(struct ufrpc_layer *l)
{
    if (--l->open > 0)
        return;
    struct ufrpc_stream *up = l->up;
    if (up->close_cb != NULL)
        up->close_cb(up);
    l->destroy(up);
}

static void on_handle_closed(uv_handle_t *h)
{
    closed_one(h->data);
}

static void on_lower_closed(struct ufrpc_stream *lower)
{
    struct ufrpc_layer *l = lower->data;
    if (l->lower_closed != NULL)
        l->lower_closed(l->up);
    closed_one(l);
}

void ufrpc_layer_close(struct ufrpc_layer *l, uv_handle_t *const handles[], unsigned n)
{
    l->open = n + 1;
    for (unsigned i = 0; i < n; i++) {
        handles[i]->data = l;
        uv_close(handles[i], on_handle_closed);
    }
    ufrpc_stream_close(l->lower, on_lower_closed);
}
