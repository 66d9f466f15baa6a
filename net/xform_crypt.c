/* ufrpc — AES-128-CFB filter codec (proto/cfb.h) plugged into net/xform.c. */
#include "net/xform_crypt.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "net/xform.h"
#include "proto/error.h"

struct crypt {
    ufrpc_cfb_writer_t w;
    ufrpc_cfb_reader_t r;
};

static size_t crypt_bound(void *ctx, size_t len)
{
    (void)ctx;
    return len + UFRPC_CFB_IV_LEN;
}

static int crypt_encode(void *ctx, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                        size_t *out_len)
{
    struct crypt *c = ctx;
    return ufrpc_cfb_writer_write(&c->w, in, len, out, cap, out_len);
}

static int crypt_decode(void *ctx, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                        size_t *consumed, size_t *produced)
{
    struct crypt *c = ctx;
    size_t n = len < cap ? len : cap;
    *consumed = n;
    return ufrpc_cfb_reader_decrypt(&c->r, in, n, out, produced);
}

static void crypt_free(void *ctx)
{
    struct crypt *c = ctx;
    ufrpc_cfb_writer_free(&c->w);
    ufrpc_cfb_reader_free(&c->r);
    free(c);
}

static const struct ufrpc_xform_ops crypt_ops = {
    .enc_bound = crypt_bound,
    .encode = crypt_encode,
    .decode = crypt_decode,
    .finish = NULL,
    .free = crypt_free,
};

int ufrpc_xform_getrandom(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

struct ufrpc_stream *ufrpc_xform_crypt_new(struct ufrpc_stream *lower,
                                           const uint8_t key[UFRPC_CFB_KEY_LEN],
                                           ufrpc_rng_fn rng, void *rng_ctx, int *err)
{
    struct crypt *c = calloc(1, sizeof *c);
    if (c == NULL) {
        *err = UFRPC_ERR_NOMEM;
        ufrpc_stream_close(lower, NULL);
        return NULL;
    }
    if (rng == NULL)
        rng = ufrpc_xform_getrandom;
    int rc = ufrpc_cfb_writer_init_rng(&c->w, key, rng, rng_ctx);
    if (rc < 0) {
        free(c);
        *err = rc;
        ufrpc_stream_close(lower, NULL);
        return NULL;
    }
    rc = ufrpc_cfb_reader_init(&c->r, key);
    if (rc < 0) {
        ufrpc_cfb_writer_free(&c->w);
        free(c);
        *err = rc;
        ufrpc_stream_close(lower, NULL);
        return NULL;
    }
    return ufrpc_xform_filter_new(lower, &crypt_ops, c, err);
}
