/* libFuzzer: v1 frame decoder. The first input byte picks a chunk size; the rest is
 * the stream. Checks that chunked feeding yields exactly the frames (and error) of
 * one-shot feeding, and that feed never claims more bytes than it was given. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 64

struct result {
    size_t n;
    uint8_t types[MAX_FRAMES];
    size_t lens[MAX_FRAMES];
    uint32_t sums[MAX_FRAMES];
    int err;
    size_t err_pos;
};

static uint32_t checksum(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

static void run(struct ufrpc_frame_decoder *dec, const uint8_t *in, size_t len, size_t chunk,
                struct result *r)
{
    memset(r, 0, sizeof *r);
    ufrpc_frame_decoder_init(dec);
    size_t pos = 0;
    while (pos < len && r->n < MAX_FRAMES) {
        size_t avail = len - pos < chunk ? len - pos : chunk;
        struct ufrpc_frame fr;
        size_t used = 0;
        int rc = ufrpc_frame_decoder_feed(dec, in + pos, avail, &used, &fr);
        if (used > avail)
            __builtin_trap();
        pos += used;
        if (rc < 0) {
            r->err = rc;
            r->err_pos = pos;
            return;
        }
        if (rc == 1) {
            if (fr.body_len > UFRPC_FRAME_MAX_BODY || !ufrpc_frame_type_known(fr.type) ||
                fr.body[fr.body_len] != '\0')
                __builtin_trap();
            r->types[r->n] = fr.type;
            r->lens[r->n] = fr.body_len;
            r->sums[r->n] = checksum(fr.body, fr.body_len);
            r->n++;
        } else if (used != avail) {
            __builtin_trap(); /* incomplete must mean everything was taken */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] % 32 + 1;
    data++;
    size--;
    struct ufrpc_frame_decoder *dec = malloc(sizeof *dec);
    struct result *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    if (dec == NULL || a == NULL || b == NULL)
        goto out;
    run(dec, data, size, size ? size : 1, a);
    run(dec, data, size, chunk, b);
    if (a->n != b->n || a->err != b->err || a->err_pos != b->err_pos)
        __builtin_trap();
    for (size_t i = 0; i < a->n; i++)
        if (a->types[i] != b->types[i] || a->lens[i] != b->lens[i] || a->sums[i] != b->sums[i])
            __builtin_trap();
    /* Re-encoding a decoded frame gives back the same bytes. */
    if (a->n > 0) {
        struct ufrpc_frame fr;
        size_t used;
        ufrpc_frame_decoder_init(dec);
        if (ufrpc_frame_decoder_feed(dec, data, size, &used, &fr) == 1) {
            uint8_t *out;
            size_t out_len;
            if (ufrpc_frame_encode_alloc(fr.type, fr.body, fr.body_len, &out, &out_len) != 0)
                __builtin_trap();
            if (out_len != used || memcmp(out, data, used) != 0)
                __builtin_trap();
            free(out);
        }
    }
out:
    free(dec);
    free(a);
    free(b);
    return 0;
}
