/* v2 control channel (AEAD stream of v2 Message frames), see v2chan.h. */
#include "proto/v2chan.h"

#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/frame_v2.h"
#include "proto/v2msg.h"

struct ufrpc_v2chan {
    ufrpc_aead_writer_t w;
    ufrpc_aead_reader_t r;
    const uint8_t *plain; /* decrypted bytes not yet given to the message reader */
    size_t plain_len;
    int err;
    struct ufrpc_v2msg_reader msgs;
};

int ufrpc_v2chan_new(const struct ufrpc_v2chan_opts *o, struct ufrpc_v2chan **out)
{
    if (o == NULL || out == NULL || o->write_key == NULL || o->read_key == NULL ||
        (o->write_nonce == NULL && o->rng == NULL) || ufrpc_aead_nonce_len(o->alg) == 0)
        return UFRPC_ERR_INVAL;
    *out = NULL;
    struct ufrpc_v2chan *ch = calloc(1, sizeof *ch);
    if (ch == NULL)
        return UFRPC_ERR_NOMEM;
    int rc = o->write_nonce != NULL
                 ? ufrpc_aead_writer_init(&ch->w, o->alg, o->write_key, o->write_nonce)
                 : ufrpc_aead_writer_init_rng(&ch->w, o->alg, o->write_key, o->rng, o->rng_ctx);
    if (rc != 0) {
        free(ch);
        return rc;
    }
    rc = ufrpc_aead_reader_init(&ch->r, o->alg, o->read_key);
    if (rc != 0) {
        ufrpc_aead_writer_free(&ch->w);
        free(ch);
        return rc;
    }
    ufrpc_v2msg_reader_init(&ch->msgs, false);
    *out = ch;
    return 0;
}

void ufrpc_v2chan_free(struct ufrpc_v2chan *ch)
{
    if (ch == NULL)
        return;
    ufrpc_aead_writer_free(&ch->w);
    ufrpc_aead_reader_free(&ch->r);
    free(ch);
}

/* Appends the records of one write of in[0..n) to out at *off (cap checked). */
static int seal_into(struct ufrpc_v2chan *ch, const uint8_t *in, size_t n, uint8_t *out,
                     size_t cap, size_t *off)
{
    size_t produced = 0;
    int rc = ufrpc_aead_writer_write(&ch->w, in, n, out + *off, cap - *off, &produced);
    if (rc == 0)
        *off += produced;
    return rc;
}

int ufrpc_v2chan_seal(struct ufrpc_v2chan *ch, const uint8_t *in, size_t in_len, uint8_t **out,
                      size_t *len)
{
    if (ch == NULL || out == NULL || len == NULL || (in == NULL && in_len > 0))
        return UFRPC_ERR_INVAL;
    size_t cap = ufrpc_aead_writer_bound(&ch->w, in_len);
    uint8_t *buf = malloc(cap > 0 ? cap : 1);
    if (buf == NULL)
        return UFRPC_ERR_NOMEM;
    size_t off = 0;
    int rc = seal_into(ch, in, in_len, buf, cap, &off);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = off;
    return 0;
}

int ufrpc_v2chan_encode(struct ufrpc_v2chan *ch, const struct ufrpc_msg *m, uint8_t **out,
                        size_t *len)
{
    if (ch == NULL || m == NULL || out == NULL || len == NULL)
        return UFRPC_ERR_INVAL;
    uint8_t *frame;
    size_t frame_len;
    int rc = ufrpc_msg_encode_frame_v2(m, &frame, &frame_len);
    if (rc != 0)
        return rc;
    const size_t h = UFRPC_FRAME_V2_HEADER_LEN;
    /* the nonce (if not sent yet) is counted by the first bound only */
    size_t cap = ufrpc_aead_writer_bound(&ch->w, h) + ufrpc_aead_writer_bound(&ch->w, frame_len - h);
    uint8_t *buf = malloc(cap);
    size_t off = 0;
    if (buf == NULL)
        rc = UFRPC_ERR_NOMEM;
    if (rc == 0)
        rc = seal_into(ch, frame, h, buf, cap, &off);
    if (rc == 0)
        rc = seal_into(ch, frame + h, frame_len - h, buf, cap, &off);
    free(frame);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = off;
    return 0;
}

int ufrpc_v2chan_feed_frame(struct ufrpc_v2chan *ch, const uint8_t *in, size_t len,
                            size_t *consumed, struct ufrpc_frame *out)
{
    if (consumed != NULL)
        *consumed = 0;
    if (ch == NULL || consumed == NULL || out == NULL || (in == NULL && len > 0))
        return UFRPC_ERR_INVAL;
    if (ch->err != 0)
        return ch->err;
    size_t off = 0;
    for (;;) {
        /* decrypted bytes first: they come before any new ciphertext */
        while (ch->plain_len > 0) {
            size_t used = 0;
            int rc = ufrpc_v2msg_reader_feed_frame(&ch->msgs, ch->plain, ch->plain_len, &used, out);
            ch->plain += used;
            ch->plain_len -= used;
            if (rc != 0) {
                if (rc < 0)
                    ch->err = rc;
                return rc;
            }
        }
        if (off >= len)
            return 0;
        size_t used = 0;
        const uint8_t *data = NULL;
        size_t data_len = 0;
        int rc = ufrpc_aead_reader_feed(&ch->r, in + off, len - off, &used, &data, &data_len);
        off += used;
        *consumed = off;
        if (rc < 0) {
            ch->err = rc;
            return rc;
        }
        ch->plain = data;
        ch->plain_len = data_len;
        if (used == 0 && data_len == 0)
            return 0; /* no progress possible (should not happen) */
    }
}

int ufrpc_v2chan_feed(struct ufrpc_v2chan *ch, const uint8_t *in, size_t len, size_t *consumed,
                      struct ufrpc_msg *out)
{
    if (out == NULL) {
        if (consumed != NULL)
            *consumed = 0;
        return UFRPC_ERR_INVAL;
    }
    struct ufrpc_frame f;
    int rc = ufrpc_v2chan_feed_frame(ch, in, len, consumed, &f);
    if (rc != 1)
        return rc;
    rc = ufrpc_msg_decode(f.type, f.body, f.body_len, out);
    if (rc != 0)
        ch->err = rc;
    return rc == 0 ? 1 : rc;
}

int ufrpc_v2chan_finish(const struct ufrpc_v2chan *ch)
{
    if (ch->err != 0)
        return ch->err;
    int rc = ufrpc_aead_reader_finish(&ch->r);
    if (rc != 0)
        return rc;
    if (ch->plain_len > 0 || ufrpc_v2msg_reader_pending(&ch->msgs))
        return UFRPC_ERR_V2_FRAME;
    return 0;
}
