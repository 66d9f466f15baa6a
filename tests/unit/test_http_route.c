/* proto/http_route.h: the client-side path router's sans-I/O core — target
 * normalisation, segment-boundary matching, prefix strip, the response head
 * reader (fed byte by byte too) and the Location / Content-Location /
 * Set-Cookie rewrite; hostile input refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/error.h"
#include "proto/http_route.h"

static const char *norm(const char *t, char *out, size_t cap, size_t *pl)
{
    long n = ufrpc_http_route_normalize(t, strlen(t), out, cap, pl);
    return n < 0 ? NULL : out;
}

static void test_normalize(void **state)
{
    (void)state;
    char b[256];
    size_t pl = 0;
    assert_string_equal(norm("/api/users?id=1", b, sizeof b, &pl), "/api/users?id=1");
    assert_int_equal(pl, 10);
    assert_string_equal(norm("http://h.example/api?x", b, sizeof b, &pl), "/api?x");
    assert_int_equal(pl, 4);
    assert_string_equal(norm("HTTPS://h", b, sizeof b, &pl), "/");
    assert_string_equal(norm("http://h?q=1", b, sizeof b, &pl), "/?q=1");
    /* unreserved escapes decoded, reserved ones kept; the query is left alone */
    assert_string_equal(norm("/%61pi/%7Ex%2Fy?%61=1", b, sizeof b, &pl), "/api/~x%2Fy?%61=1");
    assert_int_equal(pl, 11);
    assert_string_equal(norm("/a#frag", b, sizeof b, &pl), "/a");
    /* dots inside names are fine */
    assert_string_equal(norm("/a/.well-known/x..y/...", b, sizeof b, &pl), "/a/.well-known/x..y/...");
    /* hostile: dot segments (also encoded), bad escapes, no leading slash, NUL */
    const char *bad[] = {"/api/../admin", "/api/%2e%2e/admin", "/api/.%2E", "/./x", "/a/.",
                         "/%zz",          "/%4",               "api",       "*",    "",
                         "http:///x",     "/a?.."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long n = ufrpc_http_route_normalize(bad[i], strlen(bad[i]), b, sizeof b, &pl);
        if (strcmp(bad[i], "/a?..") == 0)
            assert_true(n > 0); /* dots in the query are not segments */
        else
            assert_int_equal(n, UFRPC_ERR_HTTP);
    }
    assert_int_equal(ufrpc_http_route_normalize("/a\0b", 4, b, sizeof b, &pl), UFRPC_ERR_HTTP);
    assert_int_equal(ufrpc_http_route_normalize("/abcdef", 7, b, 4, &pl), UFRPC_ERR_LIMIT);
    assert_int_equal(ufrpc_http_route_normalize("/abc", 4, b, 5, &pl), 4);
}

static void test_covers_and_match(void **state)
{
    (void)state;
#define C(loc, p) ufrpc_http_route_covers(loc, p, strlen(p))
    assert_true(C("/api", "/api"));
    assert_true(C("/api", "/api/"));
    assert_true(C("/api", "/api/x"));
    assert_false(C("/api", "/apiary"));
    assert_false(C("/api", "/ap"));
    assert_false(C("/api", "/API"));
    assert_true(C("/api/", "/api"));
    assert_true(C("/api/", "/api/v1"));
    assert_true(C("/", "/anything"));
    assert_true(C("/", "/"));
    assert_false(C("api", "/api"));
    assert_false(C("/api", ""));
#undef C
    const char *locs[] = {"/api", "/admin", "/", "/api/v2"};
#define M(p) ufrpc_http_route_match(locs, 4, p, strlen(p))
    assert_int_equal(M("/api/users"), 0);
    assert_int_equal(M("/api"), 0);
    assert_int_equal(M("/apiary"), 2);
    assert_int_equal(M("/api/v2/x"), 3);
    assert_int_equal(M("/api/v20"), 0);
    assert_int_equal(M("/admin"), 1);
    assert_int_equal(M("/"), 2);
#undef M
    const char *only[] = {"/api"};
    assert_int_equal(ufrpc_http_route_match(only, 1, "/web", 4), -1);
    assert_int_equal(ufrpc_http_route_match(only, 0, "/api", 4), -1);
}

static const char *strip(const char *loc, const char *t, char *out, size_t cap)
{
    long n = ufrpc_http_route_strip(loc, t, strlen(t), out, cap);
    return n < 0 ? NULL : out;
}

static void test_strip(void **state)
{
    (void)state;
    char b[128];
    assert_string_equal(strip("/api", "/api/users?id=1", b, sizeof b), "/users?id=1");
    assert_string_equal(strip("/api", "/api", b, sizeof b), "/");
    assert_string_equal(strip("/api", "/api/", b, sizeof b), "/");
    assert_string_equal(strip("/api", "/api?x=/y", b, sizeof b), "/?x=/y");
    assert_string_equal(strip("/api/", "/api/v1", b, sizeof b), "/v1");
    assert_string_equal(strip("/", "/x?y", b, sizeof b), "/x?y");
    assert_string_equal(strip("/a/b", "/a/b/c/d", b, sizeof b), "/c/d");
    assert_null(strip("/api", "/apiary", b, sizeof b));
    assert_int_equal(ufrpc_http_route_strip("/api", "/apiary", 7, b, sizeof b), UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_http_route_strip("/api", "/api/long", 9, b, 5), UFRPC_ERR_LIMIT);
    assert_int_equal(ufrpc_http_route_prefix_len("/api//"), 4);
    assert_int_equal(ufrpc_http_route_prefix_len("/"), 0);
}

static const char RESP[] = "HTTP/1.1 302 Found\r\n"
                           "Location: /login?next=%2F\r\n"
                           "Content-Length: 0\r\n"
                           "\r\n"
                           "BODY";

static void test_head_reader_pieces(void **state)
{
    (void)state;
    size_t head_len = strlen(RESP) - 4;
    /* every split: byte by byte, and in two pieces at each position */
    for (size_t split = 0; split <= strlen(RESP); split++) {
        struct ufrpc_http_head_reader r;
        ufrpc_http_head_reader_init(&r, NULL, 4096);
        size_t fed = 0;
        const uint8_t *d = (const uint8_t *)RESP;
        /* nothing yet: an empty read takes nothing (the buffer is not allocated) */
        assert_int_equal(ufrpc_http_head_reader_feed(&r, d, 0), 0);
        if (split == 0) { /* byte by byte */
            while (!r.done) {
                long n = ufrpc_http_head_reader_feed(&r, d + fed, 1);
                assert_int_equal(n, 1);
                fed++;
            }
        } else {
            long n = ufrpc_http_head_reader_feed(&r, d, split);
            assert_true(n >= 0);
            fed = (size_t)n;
            if (!r.done) {
                assert_int_equal(fed, split);
                n = ufrpc_http_head_reader_feed(&r, d + fed, strlen(RESP) - fed);
                assert_true(n >= 0);
                fed += (size_t)n;
            }
        }
        assert_true(r.done);
        assert_int_equal(fed, head_len);
        assert_int_equal(r.len, head_len);
        assert_memory_equal(r.buf, RESP, head_len);
        assert_int_equal(ufrpc_http_head_reader_feed(&r, d + fed, 4), 0); /* done: takes nothing */
        ufrpc_http_head_reader_reset(&r);
        assert_false(r.done);
        ufrpc_http_head_reader_free(&r);
    }
}

static void test_head_reader_limits(void **state)
{
    (void)state;
    struct ufrpc_http_head_reader r;
    ufrpc_http_head_reader_init(&r, NULL, 64);
    /* leading blank lines do not end the head; bare LF LF does */
    long n = ufrpc_http_head_reader_feed(&r, (const uint8_t *)"\r\n\nHTTP/1.1 200 OK\n\nx", 21);
    assert_int_equal(n, 20);
    assert_true(r.done);
    ufrpc_http_head_reader_reset(&r);
    /* a head that never ends hits the bound instead of growing */
    char big[100];
    memset(big, 'a', sizeof big);
    size_t total = 0;
    for (;;) {
        n = ufrpc_http_head_reader_feed(&r, (const uint8_t *)big, 10);
        if (n < 0)
            break;
        total += (size_t)n;
        assert_true(total <= 64);
    }
    assert_int_equal(n, UFRPC_ERR_LIMIT);
    assert_true(r.cap <= 64);
    ufrpc_http_head_reader_free(&r);
}

static char *rewrite(const char *prefix, const char *head, bool *changed)
{
    const char *hosts[] = {"apps.example.com", "127.0.0.1:9001"};
    struct ufrpc_http_rewrite rw = {prefix, hosts, 2};
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = ufrpc_http_route_rewrite_head(&rw, (const uint8_t *)head, strlen(head), NULL, &out,
                                           &len, changed);
    assert_int_equal(rc, 0);
    char *s = malloc(len + 1);
    assert_non_null(s);
    memcpy(s, out, len);
    s[len] = '\0';
    free(out);
    return s;
}

static void test_rewrite(void **state)
{
    (void)state;
    bool ch = false;
    char *s = rewrite("/api",
                      "HTTP/1.1 302 Found\r\n"
                      "Location: /login?next=%2F\r\n"
                      "content-location:   /doc/1  \r\n"
                      "Set-Cookie: sid=abc; Path=/; HttpOnly\r\n"
                      "Set-Cookie: pref=1; path=/ui; Secure\r\n"
                      "Set-Cookie: nopath=1; Max-Age=10\r\n"
                      "X-Other: /keep\r\n"
                      "\r\n",
                      &ch);
    assert_true(ch);
    assert_string_equal(s, "HTTP/1.1 302 Found\r\n"
                           "Location: /api/login?next=%2F\r\n"
                           "content-location:   /api/doc/1  \r\n"
                           "Set-Cookie: sid=abc; Path=/api; HttpOnly\r\n"
                           "Set-Cookie: pref=1; path=/api/ui; Secure\r\n"
                           "Set-Cookie: nopath=1; Max-Age=10\r\n"
                           "X-Other: /keep\r\n"
                           "\r\n");
    free(s);

    /* absolute URLs: same host (either authority) rewritten, others kept */
    s = rewrite("/api", "HTTP/1.1 301 Moved\r\nLocation: https://APPS.example.com/x?y\r\n\r\n", &ch);
    assert_string_equal(s, "HTTP/1.1 301 Moved\r\nLocation: https://APPS.example.com/api/x?y\r\n\r\n");
    free(s);
    s = rewrite("/api", "HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:9001\r\n\r\n", &ch);
    assert_string_equal(s, "HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:9001/api\r\n\r\n");
    free(s);
    s = rewrite("/api", "HTTP/1.1 301 Moved\r\nLocation: //apps.example.com/z\r\n\r\n", &ch);
    assert_string_equal(s, "HTTP/1.1 301 Moved\r\nLocation: //apps.example.com/api/z\r\n\r\n");
    free(s);
    const char *same[] = {
        "HTTP/1.1 301 Moved\r\nLocation: https://other.example.com/x\r\n\r\n",
        "HTTP/1.1 301 Moved\r\nLocation: relative/x\r\n\r\n",
        "HTTP/1.1 301 Moved\r\nLocation: https://apps.example.com.evil/x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nLocationX: /x\r\nSet-Cookie: path=/notattr\r\n\r\n",
        "HTTP/1.1 200 OK\nLocation:\n\n", /* empty value, bare LF */
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        s = rewrite("/api", same[i], &ch);
        assert_string_equal(s, same[i]);
        assert_false(ch);
        free(s);
    }
    /* the status line is never a field, even with a colon in the reason */
    s = rewrite("/api", "HTTP/1.1 200 Location: /x\r\n\r\n", &ch);
    assert_string_equal(s, "HTTP/1.1 200 Location: /x\r\n\r\n");
    free(s);
    /* no prefix: nothing to do */
    s = rewrite("", "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n", &ch);
    assert_string_equal(s, "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n");
    assert_false(ch);
    free(s);
}

static void test_rewrite_hostile(void **state)
{
    (void)state;
    const char *hosts[] = {"h"};
    struct ufrpc_http_rewrite rw = {"/a-long-prefix", hosts, 1};
    uint8_t *out = NULL;
    size_t len = 0;
    bool ch;
    assert_int_equal(ufrpc_http_route_rewrite_head(&rw, (const uint8_t *)"x", 1, NULL, &out, &len, &ch),
                     UFRPC_ERR_HTTP);
    assert_int_equal(ufrpc_http_route_rewrite_head(&rw, (const uint8_t *)"", 0, NULL, &out, &len, &ch),
                     UFRPC_ERR_HTTP);
    /* worst case growth stays inside the computed bound (ASan checks the writes):
     * many cookies with many Path attributes, many Location lines */
    char head[8192];
    size_t o = (size_t)snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(head + o, sizeof head - o, "Set-Cookie: a=1;Path=/;path=/;PATH=/x;p\r\n");
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(head + o, sizeof head - o, "Location: /\r\nLocation: http://h\r\n");
    o += (size_t)snprintf(head + o, sizeof head - o, "\r\n");
    assert_int_equal(ufrpc_http_route_rewrite_head(&rw, (const uint8_t *)head, o, NULL, &out, &len, &ch), 0);
    assert_true(ch);
    assert_non_null(strstr((const char *)out, "Set-Cookie: a=1;Path=/a-long-prefix;path=/a-long-prefix;"
                                              "PATH=/a-long-prefix/x;p\r\n"));
    assert_non_null(strstr((const char *)out, "Location: http://h/a-long-prefix\r\n"));
    free(out);
    /* random bytes never crash or overrun */
    uint32_t x = 12345;
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + (size_t)(round * 7 % 200);
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            static const char alpha[] = "\r\n:;/= PathLocationSet-Cookiehttp://h?";
            head[i] = alpha[(x >> 16) % (sizeof alpha - 1)];
        }
        head[n] = '\n';
        if (ufrpc_http_route_rewrite_head(&rw, (const uint8_t *)head, n + 1, NULL, &out, &len, &ch) == 0)
            free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),        cmocka_unit_test(test_covers_and_match),
        cmocka_unit_test(test_strip),            cmocka_unit_test(test_head_reader_pieces),
        cmocka_unit_test(test_head_reader_limits), cmocka_unit_test(test_rewrite),
        cmocka_unit_test(test_rewrite_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
