/* libFuzzer: the shared text decoders that read request bytes (proto/text.h's
 * percent-decoding and Go ParseBool, proto/base64.h, the admin API's path and
 * query readers in client/admin/admin_json.c). The first byte picks the small output
 * capacity used for the truncation checks; the rest is the text. Properties:
 * base64 decoding is strict (what decodes encodes back to the input without its
 * CR/LF) and encoding round-trips; percent-decoding never grows the text, fails
 * only on a bad escape, NUL-terminates, truncates to a prefix of the full result,
 * and re-encoding its output decodes back to it; the path reader agrees with it;
 * ParseBool accepts exactly Go's twelve spellings; %q output is terminated and
 * quoted. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin/admin_internal.h"
#include "fuzz_check.h"
#include "proto/base64.h"
#include "proto/error.h"
#include "proto/text.h"

static void check_base64(const char *s, size_t n)
{
    uint8_t *dec = malloc(ufrpc_base64_decoded_max(n) + 1);
    char *enc = malloc(ufrpc_base64_encoded_len(n) + 1);
    char *stripped = malloc(n + 1);
    CHECK(dec != NULL && enc != NULL && stripped != NULL);
    long d = ufrpc_base64_decode(s, n, dec);
    CHECK(d == UFRPC_ERR_BASE64 || (d >= 0 && (size_t)d <= ufrpc_base64_decoded_max(n)));
    if (d >= 0) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i] != '\r' && s[i] != '\n')
                stripped[m++] = s[i];
        char *back = malloc(ufrpc_base64_encoded_len((size_t)d) + 1);
        CHECK(back != NULL);
        size_t bl = ufrpc_base64_encode(dec, (size_t)d, back);
        CHECK(bl == m && memcmp(back, stripped, m) == 0);
        free(back);
    }
    /* the input as bytes: encode, then decode */
    size_t el = ufrpc_base64_encode((const uint8_t *)s, n, enc);
    CHECK(el == ufrpc_base64_encoded_len(n) && enc[el] == '\0');
    uint8_t *again = malloc(ufrpc_base64_decoded_max(el) + 1);
    CHECK(again != NULL);
    CHECK(ufrpc_base64_decode(enc, el, again) == (long)n && memcmp(again, s, n) == 0);
    free(again);
    free(dec);
    free(enc);
    free(stripped);
}

static bool bad_escape(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '%' && (i + 2 >= n || ufrpc_hexval((unsigned char)s[i + 1]) < 0 ||
                            ufrpc_hexval((unsigned char)s[i + 2]) < 0))
            return true;
    return false;
}

static void check_pct(const char *s, size_t n, size_t small, bool plus)
{
    char *out = malloc(n + 1);
    CHECK(out != NULL);
    long r = ufrpc_pct_decode(s, n, plus, out, n + 1);
    if (bad_escape(s, n)) {
        CHECK(r == UFRPC_ERR_INVAL);
        free(out);
        return;
    }
    CHECK(r >= 0 && (size_t)r <= n && out[r] == '\0');
    /* re-encoded (every byte as %XX) it decodes to the same bytes */
    char *enc = malloc((size_t)r * 3 + 1), *dec = malloc((size_t)r + 1);
    CHECK(enc != NULL && dec != NULL);
    static const char hex[] = "0123456789ABCDEF";
    for (long i = 0; i < r; i++) {
        enc[i * 3] = '%';
        enc[i * 3 + 1] = hex[(unsigned char)out[i] >> 4];
        enc[i * 3 + 2] = hex[(unsigned char)out[i] & 15];
    }
    CHECK(ufrpc_pct_decode(enc, (size_t)r * 3, plus, dec, (size_t)r + 1) == r);
    CHECK(memcmp(dec, out, (size_t)r) == 0);
    /* a small buffer: LIMIT with a terminated prefix, or the whole */
    char *cut = malloc(small + 1);
    CHECK(cut != NULL);
    long c = ufrpc_pct_decode(s, n, plus, cut, small);
    if ((size_t)r + 1 <= small) {
        CHECK(c == r && memcmp(cut, out, (size_t)r + 1) == 0);
    } else {
        CHECK(c == UFRPC_ERR_LIMIT);
        if (small > 0) {
            CHECK(memchr(cut, '\0', small) != NULL);
            size_t cl = strlen(cut);
            CHECK(cl < small && memcmp(cut, out, cl) == 0);
        }
    }
    if (!plus) {
        char *path = malloc(n + 1);
        CHECK(path != NULL);
        bool ok = ufrpc_admin_path_decode(s, n, path, n + 1);
        CHECK(ok == (memchr(out, '\0', (size_t)r) == NULL));
        if (ok)
            CHECK(strcmp(path, out) == 0);
        free(path);
    }
    free(cut);
    free(enc);
    free(dec);
    free(out);
}

static void check_bool(const char *s, size_t n)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
    int want = -1;
    for (size_t i = 0; i < 6; i++) {
        if (strlen(yes[i]) == n && memcmp(yes[i], s, n) == 0)
            want = 1;
        if (strlen(no[i]) == n && memcmp(no[i], s, n) == 0)
            want = 0;
    }
    bool v = false, ok = ufrpc_parse_go_bool(s, n, &v);
    CHECK(ok == (want >= 0));
    if (ok)
        CHECK(v == (want == 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    size_t small = data[0] % 64;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    check_base64(s, n);
    check_pct(s, n, small, false);
    check_pct(s, n, small, true);
    check_bool(s, n);
    /* C-string readers: the text up to its first NUL */
    char *z = malloc(n + 1);
    CHECK(z != NULL);
    memcpy(z, s, n);
    z[n] = '\0';
    char q[64];
    ufrpc_go_quote(q, small < 3 ? 3 : small, z);
    CHECK(q[0] == '"' && memchr(q, '\0', small < 3 ? 3 : small) != NULL);
    char val[32];
    if (ufrpc_admin_query_get(z, "strictConfig", val, sizeof val))
        CHECK(memchr(val, '\0', sizeof val) != NULL);
    free(z);
    return 0;
}
