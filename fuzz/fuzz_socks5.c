/* libFuzzer: proto/socks5's parsers. Input: one selector byte, then the bytes a
 * peer sent. Properties, for each parser: the result is a length within the
 * input, UFRPC_ERR_AGAIN, or a documented error; a message found at length r is
 * found again, with the same fields, in exactly its own r bytes; every proper
 * prefix of it says "need more"; and more input never turns "need more" into a
 * different answer than the full input gives. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "proto/error.h"
#include "proto/socks5.h"

static long run(unsigned which, const uint8_t *b, size_t n, uint8_t fields[300])
{
    memset(fields, 0, 300);
    long r = 0;
    switch (which % 5) {
    case 0: r = ufrpc_socks5_parse_pair(b, n, 5, &fields[0]); break;
    case 1: r = ufrpc_socks5_parse_pair(b, n, 0, &fields[0]); break;
    case 2: {
        const uint8_t *m = NULL;
        size_t nm = 0;
        r = ufrpc_socks5_parse_greeting(b, n, &m, &nm);
        if (r > 0) {
            CHECK(m == b + 2 && nm + 2 == (size_t)r);
            fields[0] = (uint8_t)nm;
        }
        break;
    }
    case 3: {
        const uint8_t *u = NULL, *p = NULL;
        size_t ul = 0, pl = 0;
        r = ufrpc_socks5_parse_userpass(b, n, &u, &ul, &p, &pl);
        if (r > 0) {
            CHECK(u == b + 2 && p == u + ul + 1 && 3 + ul + pl == (size_t)r);
            fields[0] = (uint8_t)ul;
            fields[1] = (uint8_t)pl;
        }
        break;
    }
    default: {
        struct ufrpc_socks5_addr_msg m;
        r = ufrpc_socks5_parse_addr_msg(b, n, &m);
        if (r > 0) {
            CHECK(strlen(m.host) < sizeof m.host);
            CHECK(m.atyp != UFRPC_SOCKS5_ATYP_DOMAIN || strlen(m.host) <= m.name_len);
            fields[0] = m.code;
            fields[1] = m.atyp;
            fields[2] = (uint8_t)(m.port >> 8);
            fields[3] = (uint8_t)m.port;
            memcpy(fields + 4, m.host, strlen(m.host) + 1);
        }
        break;
    }
    }
    CHECK(r == UFRPC_ERR_AGAIN || r == UFRPC_ERR_PROXY_PROTOCOL || r == UFRPC_ERR_UNSUPPORTED ||
          (r > 0 && (size_t)r <= n));
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 600)
        return 0;
    unsigned which = data[0];
    const uint8_t *b = data + 1;
    size_t n = size - 1;
    uint8_t full[300], again[300];
    long r = run(which, b, n, full);
    size_t upto = r > 0 ? (size_t)r : n;
    if (r > 0)
        CHECK(run(which, b, (size_t)r, again) == r && memcmp(full, again, sizeof full) == 0);
    for (size_t i = 0; i < upto; i++) {
        long p = run(which, b, i, again);
        CHECK(p == UFRPC_ERR_AGAIN || (r < 0 && p == r));
    }
    return 0;
}
