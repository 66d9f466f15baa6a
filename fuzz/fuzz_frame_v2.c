/* libFuzzer: v2 magic check, frame decoder and message split. Input: one chunk-size
 * byte, then the stream (optionally starting with the magic). Chunked and one-shot
 * feeding must agree; feed never over-reads; decoded frames re-encode identically. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/frame.h"
#include "proto/frame_v2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 32

struct result {
    size_t n;
    uint16_t types[MAX_FRAMES];
    size_t lens[MAX_FRAMES];
    int split[MAX_FRAMES];
    int err;
    size_t err_pos;
};

static void run(struct ufrpc_frame_v2_decoder *dec, const uint8_t *in, size_t len, size_t chunk,
                struct result *r)
{
    memset(r, 0, sizeof *r);
    ufrpc_frame_v2_decoder_init(dec);
    size_t pos = 0;
    while (pos < len && r->n < MAX_FRAMES) {
        size_t avail = len - pos < chunk ? len - pos : chunk;
        struct ufrpc_frame_v2 fr;
        size_t used = 0;
        int rc = ufrpc_frame_v2_decoder_feed(dec, in + pos, avail, &used, &fr);
        if (used > avail)
            __builtin_trap();
        pos += used;
        if (rc < 0) {
            r->err = rc;
            r->err_pos = pos;
            return;
        }
        if (rc == 1) {
            if (fr.payload_len > UFRPC_FRAME_V2_MAX_PAYLOAD)
                __builtin_trap();
            uint8_t t;
            const char *json;
            size_t jl;
            int s = ufrpc_frame_v2_split_message(&fr, &t, &json, &jl);
            if (s == 0 && (!ufrpc_frame_type_known(t) || jl + 2 != fr.payload_len))
                __builtin_trap();
            r->types[r->n] = fr.type;
            r->lens[r->n] = fr.payload_len;
            r->split[r->n] = s;
            r->n++;
        } else if (used != avail) {
            __builtin_trap();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] * 7 % 300 + 1;
    data++;
    size--;
    int m = ufrpc_frame_v2_magic_check(data, size);
    if (m != 0 && m != 1 && m != UFRPC_ERR_V2_MAGIC)
        __builtin_trap();
    if (m == 1) {
        data += UFRPC_FRAME_V2_MAGIC_LEN;
        size -= UFRPC_FRAME_V2_MAGIC_LEN;
    }
    struct ufrpc_frame_v2_decoder *dec = malloc(sizeof *dec);
    struct result *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    if (dec == NULL || a == NULL || b == NULL)
        goto out;
    run(dec, data, size, size ? size : 1, a);
    run(dec, data, size, chunk, b);
    if (a->n != b->n || a->err != b->err || a->err_pos != b->err_pos)
        __builtin_trap();
    for (size_t i = 0; i < a->n; i++)
        if (a->types[i] != b->types[i] || a->lens[i] != b->lens[i] || a->split[i] != b->split[i])
            __builtin_trap();
    if (a->n > 0) {
        struct ufrpc_frame_v2 fr;
        size_t used;
        ufrpc_frame_v2_decoder_init(dec);
        if (ufrpc_frame_v2_decoder_feed(dec, data, size, &used, &fr) == 1) {
            uint8_t *out = malloc(used);
            size_t out_len;
            if (out == NULL)
                goto out;
            if (ufrpc_frame_v2_encode(fr.type, fr.payload, fr.payload_len, out, used, &out_len) != 0 ||
                out_len != used || memcmp(out, data, used) != 0)
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
