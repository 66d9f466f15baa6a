/* proto/http_reqhead.h: the request head store shared by the admin API and the HTTP
 * plugins — pieces split anywhere give the same head, limits in bytes (with a
 * per-header overhead) and in headers, lookups, wipe, allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failmem.h"
#include "proto/error.h"
#include "proto/http_reqhead.h"

enum piece { URL, FIELD, VALUE };

/* Feeds "GET /p?q" with headers A: 1, Host: h.example, a: 2, each piece cut into
 * chunks of at most `chunk` bytes. Returns the first non-zero answer, or 0. */
static int feed(struct ufrpc_http_reqhead *h, size_t chunk)
{
    static const struct {
        enum piece kind;
        const char *s;
    } pieces[] = {{URL, "/p?q"},  {FIELD, "A"},           {VALUE, "1"},
                  {FIELD, "Host"}, {VALUE, "h.example"}, {FIELD, "a"},
                  {VALUE, "2"}};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        const char *s = pieces[i].s;
        size_t len = strlen(s);
        for (size_t off = 0; off < len; off += chunk) {
            size_t n = len - off < chunk ? len - off : chunk;
            int rc = pieces[i].kind == URL     ? ufrpc_http_reqhead_url(h, s + off, n)
                     : pieces[i].kind == FIELD ? ufrpc_http_reqhead_field(h, s + off, n)
                                               : ufrpc_http_reqhead_value(h, s + off, n);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

static void check_head(const struct ufrpc_http_reqhead *h)
{
    assert_int_equal(h->url_len, 4);
    assert_memory_equal(ufrpc_http_reqhead_str(h, h->url_off), "/p?q", 4);
    assert_int_equal(h->nf, 3);
    size_t len = 99;
    const char *v = ufrpc_http_reqhead_get(h, "host", &len);
    assert_non_null(v);
    assert_int_equal(len, 9);
    assert_memory_equal(v, "h.example", 9);
    v = ufrpc_http_reqhead_get(h, "a", &len); /* the first of two, any case */
    assert_int_equal(len, 1);
    assert_memory_equal(v, "1", 1);
    assert_true(ufrpc_http_reqhead_is(h, 2, "A"));
    assert_false(ufrpc_http_reqhead_is(h, 1, "Hos"));
    assert_false(ufrpc_http_reqhead_is(h, 3, "a")); /* past the end */
    assert_null(ufrpc_http_reqhead_get(h, "missing", &len));
    assert_int_equal(len, 0);
}

static void test_pieces_split_anywhere(void **state)
{
    (void)state;
    for (size_t chunk = 1; chunk <= 10; chunk++) {
        struct ufrpc_http_reqhead h;
        ufrpc_http_reqhead_init(&h, NULL, 1024, 16, 0);
        assert_int_equal(feed(&h, chunk), 0);
        check_head(&h);
        /* reset: the next request starts empty and reuses the buffer */
        ufrpc_http_reqhead_reset(&h);
        assert_int_equal(h.nf, 0);
        assert_int_equal(h.url_len, 0);
        assert_int_equal(feed(&h, chunk), 0);
        check_head(&h);
        ufrpc_http_reqhead_free(&h);
    }
}

static void test_limits(void **state)
{
    (void)state;
    /* kept bytes: 4 + 1+1 + 4+9 + 1+1 = 21 */
    struct ufrpc_http_reqhead h;
    ufrpc_http_reqhead_init(&h, NULL, 21, 16, 0);
    assert_int_equal(feed(&h, 3), 0);
    ufrpc_http_reqhead_free(&h);
    ufrpc_http_reqhead_init(&h, NULL, 20, 16, 0);
    assert_int_equal(feed(&h, 3), UFRPC_ERR_LIMIT);
    ufrpc_http_reqhead_free(&h);
    /* with 4 bytes counted per header: 21 + 3 * 4 = 33 */
    ufrpc_http_reqhead_init(&h, NULL, 33, 16, 4);
    assert_int_equal(feed(&h, 2), 0);
    ufrpc_http_reqhead_free(&h);
    ufrpc_http_reqhead_init(&h, NULL, 32, 16, 4);
    assert_int_equal(feed(&h, 2), UFRPC_ERR_LIMIT);
    ufrpc_http_reqhead_free(&h);
    /* headers */
    ufrpc_http_reqhead_init(&h, NULL, 1024, 3, 0);
    assert_int_equal(feed(&h, 5), 0);
    ufrpc_http_reqhead_free(&h);
    ufrpc_http_reqhead_init(&h, NULL, 1024, 2, 0);
    assert_int_equal(feed(&h, 5), UFRPC_ERR_LIMIT);
    assert_int_equal(h.nf, 2);
    ufrpc_http_reqhead_free(&h);
    /* a value before any name is not a parser's */
    ufrpc_http_reqhead_init(&h, NULL, 1024, 2, 0);
    assert_int_equal(ufrpc_http_reqhead_value(&h, "x", 1), UFRPC_ERR_INVAL);
    ufrpc_http_reqhead_free(&h);
}

static void test_wipe(void **state)
{
    (void)state;
    struct ufrpc_http_reqhead h;
    ufrpc_http_reqhead_init(&h, NULL, 1024, 16, 0);
    assert_int_equal(ufrpc_http_reqhead_field(&h, "Authorization", 13), 0);
    assert_int_equal(ufrpc_http_reqhead_value(&h, "Basic c2VjcmV0", 14), 0);
    ufrpc_http_reqhead_wipe(&h);
    assert_int_equal(h.nf, 0);
    for (size_t i = 0; i < h.cap; i++)
        assert_int_equal(h.buf[i], 0);
    ufrpc_http_reqhead_free(&h);
    assert_null(h.buf);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    for (long n = 1;; n++) {
        struct failmem fm;
        failmem_init(&fm, n);
        struct ufrpc_http_reqhead h;
        ufrpc_http_reqhead_init(&h, &fm.mem, 1024, 16, 0);
        int rc = feed(&h, 2);
        if (fm.failed)
            assert_int_equal(rc, UFRPC_ERR_NOMEM);
        else
            check_head(&h);
        ufrpc_http_reqhead_free(&h);
        assert_int_equal(fm.live, 0);
        if (!fm.failed)
            break;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pieces_split_anywhere),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_wipe),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
