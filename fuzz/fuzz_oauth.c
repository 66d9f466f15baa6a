/* libFuzzer: proto/oauth's readers of outside text: the token endpoint's answer
 * (network input) and the token URL (config). The first byte picks which; the
 * rest is the text. Properties: the token parse returns 0 with a non-empty access
 * token and expires_in >= 0, or UFRPC_ERR_JSON / _NOT_FOUND with nothing kept;
 * accepted JSON has nothing but white space after the value. The URL parse
 * returns 0 with a non-empty host, a path starting with '/' and a non-zero port,
 * or UFRPC_ERR_INVAL / _LIMIT; a parsed URL makes a request that starts with its
 * path and names its Host. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "proto/error.h"
#include "proto/oauth.h"

static void check_token(const char *s, size_t n)
{
    struct ufrpc_oauth_token t;
    int rc = ufrpc_oauth_parse_token(s, n, &t);
    CHECK(rc == 0 || rc == UFRPC_ERR_JSON || rc == UFRPC_ERR_NOT_FOUND);
    if (rc != 0) {
        CHECK(t.access_token == NULL);
        return;
    }
    CHECK(t.access_token != NULL && t.access_token[0] != '\0' && t.expires_in >= 0);
    size_t last = n;
    while (last > 0 && (s[last - 1] == ' ' || s[last - 1] == '\t' || s[last - 1] == '\r' ||
                        s[last - 1] == '\n'))
        last--;
    CHECK(last > 0 && s[last - 1] == '}');
    ufrpc_oauth_token_free(&t);
    CHECK(t.access_token == NULL);
}

static void check_url(const char *s, size_t n)
{
    char *z = malloc(n + 1);
    CHECK(z != NULL);
    memcpy(z, s, n);
    z[n] = '\0';
    struct ufrpc_url u;
    int rc = ufrpc_url_parse(z, &u);
    CHECK(rc == 0 || rc == UFRPC_ERR_INVAL || rc == UFRPC_ERR_LIMIT);
    if (rc == 0) {
        CHECK(memchr(u.host, '\0', sizeof u.host) && memchr(u.hostport, '\0', sizeof u.hostport) &&
              memchr(u.path, '\0', sizeof u.path));
        CHECK(u.host[0] != '\0' && u.path[0] == '/' && u.port != 0);
        struct ufrpc_oauth_param p = {"k", "v w"};
        struct ufrpc_oauth_req r = {.url = &u, .client_id = "id", .client_secret = "s:x",
                                    .scope = "", .audience = "a", .params = &p, .nparams = 1};
        char out[4096];
        size_t len = 0;
        int b = ufrpc_oauth_build_request(&r, out, sizeof out, &len);
        CHECK(b == 0 || b == UFRPC_ERR_LIMIT);
        if (b == 0) {
            CHECK(len < sizeof out && strncmp(out, "POST ", 5) == 0);
            CHECK(strncmp(out + 5, u.path, strlen(u.path)) == 0);
            char host[300];
            snprintf(host, sizeof host, "\r\nHost: %s\r\n", u.hostport);
            out[len] = '\0';
            CHECK(strstr(out, host) != NULL);
        }
    }
    free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    const char *s = (const char *)data + 1;
    if (data[0] & 1)
        check_url(s, size - 1);
    else
        check_token(s, size - 1);
    return 0;
}
