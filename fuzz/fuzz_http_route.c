/* libFuzzer: proto/http_route (the path router's core). Input: a request target,
 * a NUL byte, then a response head. Properties: a normalised target starts with
 * '/', has no dot segment and normalises to itself; a matched location covers it
 * and no longer location does; a strip result starts with '/' and is never longer
 * than the target; the head reader takes the same bytes fed in one piece or byte
 * by byte; the rewrite never fails on a head it collected and without a prefix
 * gives the head back unchanged. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "proto/error.h"
#include "proto/http_route.h"

static const char *const locs[] = {"/", "/api", "/api/v2/", "/a/b", "/%41"};
#define NLOCS (sizeof locs / sizeof locs[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul != NULL ? (size_t)(nul - data) : size;
    const uint8_t *head = nul != NULL ? nul + 1 : data + size;
    size_t hlen = nul != NULL ? size - tlen - 1 : 0;

    char n1[1024], n2[1024], st[1024];
    size_t pl = 0, pl2 = 0;
    long n = ufrpc_http_route_normalize((const char *)data, tlen, n1, sizeof n1, &pl);
    CHECK(n == UFRPC_ERR_HTTP || n == UFRPC_ERR_LIMIT || (n > 0 && (size_t)n < sizeof n1));
    if (n > 0) {
        CHECK(n1[0] == '/' && pl <= (size_t)n && strlen(n1) == (size_t)n);
        long m = ufrpc_http_route_normalize(n1, (size_t)n, n2, sizeof n2, &pl2);
        CHECK(m == n && pl2 == pl && memcmp(n1, n2, (size_t)n) == 0);
        long i = ufrpc_http_route_match(locs, NLOCS, n1, pl);
        CHECK(i >= 0); /* "/" covers everything */
        for (size_t j = 0; j < NLOCS; j++)
            if (ufrpc_http_route_covers(locs[j], n1, pl))
                CHECK(ufrpc_http_route_prefix_len(locs[j]) <= ufrpc_http_route_prefix_len(locs[i]));
        long s = ufrpc_http_route_strip(locs[i], n1, (size_t)n, st, sizeof st);
        CHECK(s > 0 && st[0] == '/' && s <= n + 1);
    }

    struct ufrpc_http_head_reader a, b;
    ufrpc_http_head_reader_init(&a, NULL, 2048);
    ufrpc_http_head_reader_init(&b, NULL, 2048);
    long ra = ufrpc_http_head_reader_feed(&a, head, hlen);
    size_t fed = 0;
    long rb = 0;
    while (fed < hlen && !b.done) {
        rb = ufrpc_http_head_reader_feed(&b, head + fed, 1);
        if (rb < 0)
            break;
        fed += (size_t)rb;
    }
    if (ra >= 0 && rb >= 0) {
        CHECK(a.done == b.done && (size_t)ra == fed && a.len == b.len);
        CHECK(a.len == 0 || memcmp(a.buf, b.buf, a.len) == 0);
    }
    if (ra > 0 && a.done) {
        const char *hosts[] = {"h.example", "127.0.0.1:80"};
        struct ufrpc_http_rewrite rw = {"/pre", hosts, 2};
        uint8_t *out = NULL;
        size_t olen = 0;
        bool changed = false;
        int rc = ufrpc_http_route_rewrite_head(&rw, a.buf, a.len, NULL, &out, &olen, &changed);
        CHECK(rc == 0 && olen >= a.len && (changed || (olen == a.len && memcmp(out, a.buf, olen) == 0)));
        free(out);
        struct ufrpc_http_rewrite none = {NULL, hosts, 2};
        rc = ufrpc_http_route_rewrite_head(&none, a.buf, a.len, NULL, &out, &olen, &changed);
        CHECK(rc == 0 && !changed && olen == a.len && memcmp(out, a.buf, olen) == 0);
        free(out);
    }
    ufrpc_http_head_reader_free(&a);
    ufrpc_http_head_reader_free(&b);
    return 0;
}
