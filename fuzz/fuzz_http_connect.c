/* libFuzzer: proto/http_connect's reply parser. The result is the head's length
 * (ending in CRLFCRLF, within the input), UFRPC_ERR_AGAIN or
 * UFRPC_ERR_PROXY_PROTOCOL; a head found at length r is found again in its own r
 * bytes with the same status; every proper prefix of it says "need more" or, once
 * the status line is complete, gives the same answer as the whole. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "proto/error.h"
#include "proto/http_connect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2048)
        return 0;
    int st = -1;
    long r = ufrpc_http_connect_parse_reply(data, size, &st);
    CHECK(r == UFRPC_ERR_AGAIN || r == UFRPC_ERR_PROXY_PROTOCOL || (r >= 4 && (size_t)r <= size));
    if (r > 0) {
        CHECK(st >= 0 && st <= 999);
        CHECK(memcmp(data + r - 4, "\r\n\r\n", 4) == 0);
        int st2 = -1;
        CHECK(ufrpc_http_connect_parse_reply(data, (size_t)r, &st2) == r && st2 == st);
    }
    size_t upto = r > 0 ? (size_t)r : size;
    for (size_t i = 0; i < upto; i++) {
        int s3 = -1;
        long p = ufrpc_http_connect_parse_reply(data, i, &s3);
        CHECK(p == UFRPC_ERR_AGAIN || (r == UFRPC_ERR_PROXY_PROTOCOL && p == r));
    }
    return 0;
}
