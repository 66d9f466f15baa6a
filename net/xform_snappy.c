/* ufrpc — snappy framed-stream filter codec (proto/snappy.h) for net/xform.c. */
#include "net/xform_snappy.h"

#include <stdlib.h>
#include <string.h>

#include "net/xform.h"
#include "proto/error.h"
#include "proto/snappy.h"

struct snap {
    ufrpc_snappy_encoder_t enc;
    ufrpc_snappy_decoder_t *dec;
};

static size_t snap_bound(void *ctx, size_t len)
{
    struct snap *s = ctx;
    return ufrpc_snappy_encoder_bound(&s->enc, len);
}

static int snap_encode(void *ctx, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                       size_t *out_len)
{
    struct snap *s = ctx;
    if (len == 0) {
        *out_len = 0;
        return 0;
    }
    return ufrpc_snappy_encoder_write(&s->enc, in, len, out, cap, out_len);
}

/* Feeds input until one decoded chunk has been copied out (out is empty and holds
 * UFRPC_XFORM_OUT_BUF >= UFRPC_SNAPPY_MAX_BLOCK bytes, so any chunk fits) or the
 * input is used up. */
static int snap_decode(void *ctx, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                       size_t *consumed, size_t *produced)
{
    struct snap *s = ctx;
    size_t used = 0;
    *produced = 0;
    while (used < len) {
        size_t c = 0;
        const uint8_t *data = NULL;
        size_t dlen = 0;
        int rc = ufrpc_snappy_decoder_feed(s->dec, in + used, len - used, &c, &data, &dlen);
        if (rc < 0)
            return rc;
        used += c;
        if (dlen > 0) {
            if (dlen > cap)
                return UFRPC_ERR_SNAPPY_TOO_LARGE;
            memcpy(out, data, dlen);
            *produced = dlen;
            break;
        }
        if (c == 0)
            break;
    }
    *consumed = used;
    return 0;
}

static int snap_finish(void *ctx)
{
    struct snap *s = ctx;
    return ufrpc_snappy_decoder_finish(s->dec);
}

static void snap_free(void *ctx)
{
    struct snap *s = ctx;
    ufrpc_snappy_decoder_free(s->dec);
    free(s);
}

static const struct ufrpc_xform_ops snap_ops = {
    .enc_bound = snap_bound,
    .encode = snap_encode,
    .decode = snap_decode,
    .finish = snap_finish,
    .free = snap_free,
};

struct ufrpc_stream *ufrpc_xform_snappy_new(struct ufrpc_stream *lower, int *err)
{
    struct snap *s = calloc(1, sizeof *s);
    if (s == NULL || ufrpc_snappy_decoder_new(&s->dec) < 0) {
        free(s);
        *err = UFRPC_ERR_NOMEM;
        ufrpc_stream_close(lower, NULL);
        return NULL;
    }
    ufrpc_snappy_encoder_init(&s->enc);
    return ufrpc_xform_filter_new(lower, &snap_ops, s, err);
}
