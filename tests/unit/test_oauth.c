/* proto/oauth: URLs, the client-credentials request as x/oauth2 writes it, and the
 * token answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/error.h"
#include "proto/oauth.h"

static void test_url(void **state)
{
    (void)state;
    struct ufrpc_url u;
    assert_int_equal(ufrpc_url_parse("https://idp.example.com/oauth2/token?x=1#frag", &u), 0);
    assert_true(u.https);
    assert_string_equal(u.host, "idp.example.com");
    assert_int_equal(u.port, 443);
    assert_string_equal(u.hostport, "idp.example.com");
    assert_string_equal(u.path, "/oauth2/token?x=1");
    assert_int_equal(ufrpc_url_parse("http://[::1]:8080", &u), 0);
    assert_false(u.https);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 8080);
    assert_string_equal(u.hostport, "[::1]:8080");
    assert_string_equal(u.path, "/");
    assert_int_equal(ufrpc_url_parse("http://h?q", &u), 0);
    assert_string_equal(u.path, "/?q");
    const char *bad[] = {"ftp://h/", "http://", "http://:80/", "http://h:0/", "http://h:99999/",
                         "http://h:8x/", "http://u:p@h/", "http://[::1/", "h/token", NULL};
    for (int i = 0; bad[i]; i++)
        if (ufrpc_url_parse(bad[i], &u) != UFRPC_ERR_INVAL)
            fail_msg("%s accepted", bad[i]);
}

static void test_request(void **state)
{
    (void)state;
    struct ufrpc_url u;
    assert_int_equal(ufrpc_url_parse("http://127.0.0.1:9000/t", &u), 0);
    struct ufrpc_oauth_param p[] = {{"resource", "https://x/"}, {"b", "1 2"}};
    struct ufrpc_oauth_req r = {.url = &u, .client_id = "client!", .client_secret = "s3cr:t",
                                .scope = "", .audience = "frps", .params = p, .nparams = 2};
    char out[2048];
    size_t n = 0;
    assert_int_equal(ufrpc_oauth_build_request(&r, out, sizeof out, &n), 0);
    const char *body = "audience=frps&b=1+2&grant_type=client_credentials&"
                       "resource=https%3A%2F%2Fx%2F&scope=";
    char want[1024];
    snprintf(want, sizeof want,
             "POST /t HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nUser-Agent: Go-http-client/1.1\r\n"
             "Content-Length: %zu\r\nAuthorization: Basic Y2xpZW50JTIxOnMzY3IlM0F0\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n%s",
             strlen(body), body);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    /* credentials in the body instead (x/oauth2's fallback) */
    r.creds_in_body = true;
    assert_int_equal(ufrpc_oauth_build_request(&r, out, sizeof out, &n), 0);
    out[n] = '\0';
    assert_null(strstr(out, "Authorization"));
    assert_non_null(strstr(out, "\r\n\r\naudience=frps&b=1+2&client_id=client%21&client_secret="
                                "s3cr%3At&grant_type=client_credentials&resource="));
    /* no secret: client_secret is left out, as x/oauth2 does */
    r.client_secret = "";
    assert_int_equal(ufrpc_oauth_build_request(&r, out, sizeof out, &n), 0);
    out[n] = '\0';
    assert_null(strstr(out, "client_secret"));
    /* too small */
    assert_int_equal(ufrpc_oauth_build_request(&r, out, 40, &n), UFRPC_ERR_LIMIT);
    r.url = NULL;
    assert_int_equal(ufrpc_oauth_build_request(&r, out, sizeof out, &n), UFRPC_ERR_INVAL);
}

static void test_token(void **state)
{
    (void)state;
    struct ufrpc_oauth_token t;
    const char *a = "{\"access_token\":\"eyJ.x.y\",\"token_type\":\"Bearer\",\"expires_in\":300}";
    assert_int_equal(ufrpc_oauth_parse_token(a, strlen(a), &t), 0);
    assert_string_equal(t.access_token, "eyJ.x.y");
    assert_int_equal(t.expires_in, 300);
    ufrpc_oauth_token_free(&t);
    assert_null(t.access_token);
    const char *b = "{\"access_token\":\"k\",\"expires_in\":\"60\"}";
    assert_int_equal(ufrpc_oauth_parse_token(b, strlen(b), &t), 0);
    assert_int_equal(t.expires_in, 60);
    ufrpc_oauth_token_free(&t);
    const char *c = "{\"access_token\":\"k\"}";
    assert_int_equal(ufrpc_oauth_parse_token(c, strlen(c), &t), 0);
    assert_int_equal(t.expires_in, 0); /* no expiry: not cached */
    ufrpc_oauth_token_free(&t);
    const char *d = "{\"access_token\":\"\"}";
    assert_int_equal(ufrpc_oauth_parse_token(d, strlen(d), &t), UFRPC_ERR_NOT_FOUND);
    const char *e = "{\"error\":\"x\"}";
    assert_int_equal(ufrpc_oauth_parse_token(e, strlen(e), &t), UFRPC_ERR_NOT_FOUND);
    /* Go's json.Unmarshal refuses comments and trailing commas too */
    const char *bad[] = {"",
                         "[1]",
                         "not json",
                         "{\"access_token\":\"k\"",
                         "{} trailing",
                         "{\"access_token\":\"k\"} // comment",
                         "{\"access_token\":\"k\"}\n//1:8\n\n", /* found by fuzz_oauth */
                         "{\"access_token\":\"k\",}",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        int rc = ufrpc_oauth_parse_token(bad[i], strlen(bad[i]), &t);
        if (rc != UFRPC_ERR_JSON)
            fail_msg("'%s': %d", bad[i], rc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
