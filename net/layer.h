/* ufrpc — lifecycle of a stream layered over another one (TLS, websocket, the
 * transform filter, the prefix stream): one home for what every such layer does
 * alike, so that each file keeps only its own protocol.
 *
 * Contract (loop thread only):
 * - The layered stream's object begins with its struct ufrpc_stream (as every
 *   stream does) and holds a struct ufrpc_layer anywhere in it.
 * - ufrpc_layer_init makes the layer own the lower stream: lower->data points to
 *   the layer from then on (ufrpc_layer_up(lower) gives the layered stream back
 *   in the lower stream's callbacks).
 * - ufrpc_layer_read keeps lower_reading true exactly while the lower stream
 *   delivers to the layer; the layer's own code only reads that flag, except
 *   that it clears it when a read callback ends the lower reads (status < 0).
 * - ufrpc_layer_close closes the given libuv handles (they must be initialised;
 *   their `data` is taken over, so their callbacks must not run after it -- libuv
 *   guarantees that for closed handles) and the lower stream. When the lower
 *   stream's close has completed (its pending write and shutdown callbacks have
 *   run), lower_closed runs (optional); once every handle is closed too, the
 *   layered stream's close callback runs, then destroy frees the object. Nothing
 *   of the layer may be used after destroy.
 */
#ifndef UFRPC_NET_LAYER_H
#define UFRPC_NET_LAYER_H

#include <uv.h>

#include "net/stream.h"

typedef void (*ufrpc_layer_fn)(struct ufrpc_stream *up);

struct ufrpc_layer {
    struct ufrpc_stream *up;    /* the layered stream */
    struct ufrpc_stream *lower; /* owned: closed by ufrpc_layer_close */
    int lower_reading;          /* the lower stream delivers to the layer */
    /* private */
    unsigned open;              /* during close: lower stream + handles still open */
    ufrpc_layer_fn lower_closed;
    ufrpc_layer_fn destroy;
};

/* Sets up's vt, loop (the lower stream's) and data, and takes ownership of
 * lower. destroy (required) frees up's object; lower_closed may be NULL. */
void ufrpc_layer_init(struct ufrpc_layer *l, struct ufrpc_stream *up,
                      const struct ufrpc_stream_vt *vt, void *data, struct ufrpc_stream *lower,
                      ufrpc_layer_fn lower_closed, ufrpc_layer_fn destroy);

/* The layered stream that owns lower (in the lower stream's callbacks). */
static inline struct ufrpc_stream *ufrpc_layer_up(const struct ufrpc_stream *lower)
{
    return ((const struct ufrpc_layer *)lower->data)->up;
}

/* Starts (want != 0, delivering to cb) or stops the lower stream's reads, unless
 * they already are so. 0, or the error of a start the lower stream refused
 * (lower_reading stays 0). */
int ufrpc_layer_read(struct ufrpc_layer *l, int want, ufrpc_stream_read_cb cb);

/* Closes handles[0..n-1] and the lower stream (see the contract above). The
 * layered stream's vt->close calls it once. */
void ufrpc_layer_close(struct ufrpc_layer *l, uv_handle_t *const handles[], unsigned n);

#endif
