/* libFuzzer target: the empty-Name certificate rewrite (proto/x509_name.h).
 * Input: any bytes, taken as one DER certificate. Checks the contract: the
 * output fits in len + UFRPC_X509_FILL_GROWTH, a cap-0 probe answers LIMIT
 * exactly when a full call rewrites, too small a cap is refused whole, the
 * rewrite is final (a second pass leaves it alone), and Mbed TLS (through
 * net/x509_fill) parses whatever comes out without crashing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "fuzz_check.h"
#include "proto/error.h"
#include "proto/x509_name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cap = size + UFRPC_X509_FILL_GROWTH;
    uint8_t *out = malloc(cap);
    uint8_t *again = malloc(cap + UFRPC_X509_FILL_GROWTH);
    if (out == NULL || again == NULL) {
        free(out);
        free(again);
        return 0;
    }
    size_t olen = 1, plen = 1;
    int probe = ufrpc_x509_fill_empty_names(data, size, NULL, 0, &plen);
    int rc = ufrpc_x509_fill_empty_names(data, size, out, cap, &olen);
    CHECK(rc == 0);
    CHECK(plen == 0);
    CHECK(olen <= cap);
    CHECK((probe == UFRPC_ERR_LIMIT) == (olen > 0));
    CHECK(probe == 0 || probe == UFRPC_ERR_LIMIT);
    if (olen > 0) {
        size_t slen = 1;
        CHECK(ufrpc_x509_fill_empty_names(data, size, again, olen - 1, &slen) ==
              UFRPC_ERR_LIMIT);
        CHECK(slen == 0);
        CHECK(ufrpc_x509_fill_empty_names(out, olen, again, cap + UFRPC_X509_FILL_GROWTH,
                                          &slen) == 0);
        CHECK(slen == 0);
    }
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    (void)mbedtls_x509_crt_parse_der(&crt, data, size);
    mbedtls_x509_crt_free(&crt);
    free(out);
    free(again);
    return 0;
}
