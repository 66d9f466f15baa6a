/* libFuzzer: message JSON decoding for all 18 types. Input: one byte selecting the
 * type, then the JSON body. Whatever decodes must encode to JSON that decodes again,
 * and encoding reaches a fixed point after one decode/encode round (the first round
 * may normalise invalid UTF-8 to U+FFFD). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char types[] = "o1p2cwrsv3h4uinm56";

static char *reencode(uint8_t type, const char *json, size_t len, size_t *out_len)
{
    struct ufrpc_msg m;
    if (ufrpc_msg_decode(type, json, len, &m) != 0)
        __builtin_trap(); /* our own output must decode */
    char *out = NULL;
    int rc = ufrpc_msg_encode_json(&m, &out, out_len);
    ufrpc_msg_free(&m);
    if (rc != 0 && rc != UFRPC_ERR_NOMEM)
        __builtin_trap();
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t type = (uint8_t)types[data[0] % 18];
    struct ufrpc_msg m;
    int rc = ufrpc_msg_decode(type, (const char *)data + 1, size - 1, &m);
    if (rc != 0) {
        if (rc != UFRPC_ERR_JSON && rc != UFRPC_ERR_JSON_TYPE && rc != UFRPC_ERR_JSON_RANGE &&
            rc != UFRPC_ERR_BASE64 && rc != UFRPC_ERR_NOMEM)
            __builtin_trap();
        return 0;
    }
    char *e1 = NULL;
    size_t l1, l2, l3;
    rc = ufrpc_msg_encode_json(&m, &e1, &l1);
    ufrpc_msg_free(&m);
    if (rc != 0)
        return 0;
    char *e2 = reencode(type, e1, l1, &l2);
    char *e3 = e2 ? reencode(type, e2, l2, &l3) : NULL;
    if (e2 != NULL && e3 != NULL && (l2 != l3 || memcmp(e2, e3, l2) != 0))
        __builtin_trap();
    free(e1);
    free(e2);
    free(e3);
    return 0;
}
